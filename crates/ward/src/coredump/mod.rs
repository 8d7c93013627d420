//! Wasm core dumps: what a trapping program left behind, in the format of the WebAssembly
//! tool conventions (`Coredump.md`) that `wasm-tools` and `wasmgdb` read.
//!
//! With [`Config::coredump_on_trap`](crate::Config::coredump_on_trap), a trap that ends a call
//! into Wasm carries a [`WasmCoreDump`]: the Wasm frames at the trap and handles to the store's
//! instances, modules, memories and globals. Serializing it reads their contents then, as
//! Wasmtime's does, so a dump is cheap to make and costs nothing until it is written.

use std::sync::Arc;

mod serialize;

use crate::handle::{Global, Instance, Memory};
use crate::module::Module;
use crate::runtime::store::StoreInner;
use crate::trap::{Error, FrameInfo, Trap};

/// A core dump of a store at a trap (see the [module docs](self)).
///
/// ```
/// use ward::{Config, Engine, Instance, Module, Store, WasmCoreDump};
///
/// let mut config = Config::new();
/// config.coredump_on_trap(true);
/// let engine = Engine::new(&config)?;
/// let module = Module::new(&engine, r#"(module (memory (export "m") 1)
///     (func (export "crash") (i32.store (i32.const 16) (i32.const 7)) unreachable))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let crash = instance.get_typed_func::<(), ()>(&store, "crash")?;
/// let err = crash.call(&mut store, ()).unwrap_err();
/// let dump = err.downcast_ref::<WasmCoreDump>().expect("a dump is attached");
/// assert_eq!(dump.frames().len(), 1);
/// assert_eq!(dump.memories().len(), 1);
/// let bytes = dump.serialize(&mut store, "crash.wasm");
/// assert_eq!(&bytes[..4], b"\0asm"); // a Wasm module holding the dump
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Clone)]
pub struct WasmCoreDump {
    frames: Vec<FrameInfo>,
    modules: Vec<Module>,
    /// Index into `modules` of each instance's module.
    instance_modules: Vec<u32>,
    instances: Vec<Instance>,
    memories: Vec<Memory>,
    globals: Vec<Global>,
}

impl WasmCoreDump {
    /// The dump of `store` for a trap with these frames (innermost first).
    fn capture(store: &StoreInner, frames: &[FrameInfo]) -> WasmCoreDump {
        let mut modules: Vec<Module> = Vec::new();
        let instance_modules = store
            .instances
            .iter()
            .map(|instance| {
                let known = modules
                    .iter()
                    .position(|m| Arc::ptr_eq(&m.inner, &instance.module.inner));
                let at = known.unwrap_or_else(|| {
                    modules.push(instance.module.clone());
                    modules.len() - 1
                });
                at as u32
            })
            .collect();
        let count = |n: usize| 0..u32::try_from(n).unwrap_or(u32::MAX);
        WasmCoreDump {
            frames: frames.to_vec(),
            modules,
            instance_modules,
            instances: count(store.instances.len())
                .map(|index| Instance {
                    store: store.id,
                    index,
                })
                .collect(),
            memories: count(store.memories.len())
                .map(|index| Memory {
                    store: store.id,
                    index,
                })
                .collect(),
            globals: count(store.globals.len())
                .map(|index| Global {
                    store: store.id,
                    index,
                })
                .collect(),
        }
    }

    /// The Wasm frames live at the trap, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The modules of the store's instances, each once.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The store's instances.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The store's globals.
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// The store's memories.
    pub fn memories(&self) -> &[Memory] {
        &self.memories
    }
}

impl std::fmt::Debug for WasmCoreDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "wasm core dump:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let name = frame.func_name().unwrap_or("<unnamed>");
            writeln!(f, "  frame {i}: func {} ({name})", frame.func_index())?;
        }
        write!(
            f,
            "  {} instances, {} memories, {} globals",
            self.instances.len(),
            self.memories.len(),
            self.globals.len()
        )
    }
}

impl std::fmt::Display for WasmCoreDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Trap {
    /// The core dump taken at this trap, if the engine makes them
    /// ([`Config::coredump_on_trap`](crate::Config::coredump_on_trap)).
    pub fn coredump(&self) -> Option<&WasmCoreDump> {
        self.coredump_any()?.downcast_ref()
    }
}

/// `err` with a core dump attached, when it is a trap, the engine makes dumps and none is
/// attached yet (a trap passing out through a host function and outer Wasm frames keeps the dump
/// of where it happened).
pub(crate) fn attach(store: &StoreInner, err: Error) -> Error {
    match err {
        Error::Trap(mut trap) if store.engine.config().coredump_on_trap && !trap.has_coredump() => {
            let dump = WasmCoreDump::capture(store, trap.backtrace().frames());
            trap.set_coredump(Arc::new(dump));
            Error::Trap(trap)
        }
        other => other,
    }
}
