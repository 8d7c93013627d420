//! Wasmtime's spellings for preview1 (`wasmtime_wasi::p1`), so that embedding code written for
//! Wasmtime ports by renaming the crates: `p1::add_to_linker_sync(&mut linker, |t| t)?`,
//! `WasiP1Ctx`, and the builder's `inherit_args`, `inherit_env` and `build_p1`.
//!
//! ```
//! use ward::{Engine, Linker, Module, Store};
//! use ward_wasi::p1::{self, WasiP1Ctx};
//! use ward_wasi::WasiCtxBuilder;
//!
//! let engine = Engine::default();
//! let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
//! p1::add_to_linker_sync(&mut linker, |t| t)?;
//! let wasi = WasiCtxBuilder::new().inherit_stdio().inherit_args().build_p1();
//! let mut store = Store::new(&engine, wasi);
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!     (memory (export "memory") 1)
//!     (func (export "_start") (call $exit (i32.const 3))))"#)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! let err = start.call(&mut store, ()).unwrap_err();
//! assert!(matches!(err, ward::Error::Exit(3)));
//! # Ok::<(), ward::Error>(())
//! ```

use ward::Linker;

use crate::{WasiCtx, WasiCtxBuilder};

/// Wasmtime's name for the preview1 context: ward has one context type, [`WasiCtx`].
pub type WasiP1Ctx = WasiCtx;

/// Defines preview1 (and `wasi_unstable`) in `linker`: [`add_to_linker`](crate::add_to_linker)
/// under Wasmtime's name (ward's host functions are synchronous).
pub fn add_to_linker_sync<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> ward::Result<()> {
    crate::add_to_linker(linker, get)
}

impl WasiCtxBuilder {
    /// Passes the host process's arguments on to the guest (text that is not UTF-8 is converted
    /// lossily). Grants nothing else.
    pub fn inherit_args(&mut self) -> &mut Self {
        for arg in std::env::args_os() {
            // An OS argument never contains NUL, so this cannot fail.
            let _ = self.arg(&arg.to_string_lossy());
        }
        self
    }

    /// Passes the host process's whole environment on to the guest (lossily converted to UTF-8;
    /// names the builder refuses are skipped).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (key, value) in std::env::vars_os() {
            let _ = self.env(&key.to_string_lossy(), &value.to_string_lossy());
        }
        self
    }

    /// The context (Wasmtime's name; see [`WasiCtxBuilder::build`]).
    pub fn build_p1(&mut self) -> WasiP1Ctx {
        self.build()
    }
}
