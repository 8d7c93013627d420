//! The store's internals: [`StoreInner`], the part of a store that does not depend on the host data
//! type, and the entities the public handles index: functions ([`FuncEntity`]), instances
//! ([`InstanceEntity`]), globals ([`GlobalEntity`]) and tags ([`TagEntity`]). Memories and tables,
//! which have more to them, are in `memory` and `table`; the GC heap is in `gc`.
//!
//! A public handle (`Func`, `Global`, …) is the store's [`StoreId`] plus an index into one of the
//! vectors here; the handles and the `Store<T>` that wraps this are in the public API files above
//! (`store`, `func`, `global`, …), which make handles of indices. The executor reads and writes the
//! fields directly.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::engine::Engine;
use crate::handle::StoreId;
use crate::interp::stack::ExecStack;
use crate::limits::WallClockDeadline;
use crate::module::Module;
use crate::runtime::memory::MemoryEntity;
use crate::runtime::table::TableEntity;
use crate::type_registry::RegisteredTypes;
use crate::types::{FuncType, GlobalType, HeapType, TypeId, ValType};
use crate::{Error, Result};

/// What a store function runs.
pub(crate) enum FuncKind {
    /// Defined function `index` (among defined functions) of instance `instance`.
    Wasm { instance: u32, index: u32 },
    /// Host function `index` of the store's host function list.
    Host { index: u32 },
    /// Async host function `index` of the store's async host function list: only
    /// `Func::call_async` can call it (the activation pauses while its future runs).
    AsyncHost { index: u32 },
}

/// Where an activation suspended in a (synchronous) host call called the host: its frame records
/// (a pointer into the activation's own list, which does not change until the host returns),
/// the calling function and the call's return address. Read by `WasmBacktrace::capture`.
pub(crate) struct HostCallSite {
    pub frames: *const crate::interp::stack::Frame,
    pub n_frames: usize,
    pub cur: crate::interp::stack::Current,
    /// The current function's frame pointer.
    pub fp: usize,
    pub ip: u32,
    /// The activation's value stack (read-only while the host runs) and how much of it is live:
    /// up to the end of the host call's arguments or of the current frame, whichever is later.
    pub slots: *const u64,
    pub live: usize,
    /// The host function called, where its arguments are, and whether it was a tail call.
    pub callee: u32,
    pub args_fp: usize,
    pub tail: bool,
    /// The store function the activation was entered with.
    pub entry: u32,
}

// SAFETY: an entry is only read through the `StoreInner` that owns the list, while the activation
// it names is suspended on the same thread's host stack; moving the store to another thread moves
// no access to the frames with it.
unsafe impl Send for HostCallSite {}

/// The value stack of an activation paused in an async host call, kept in the store while the
/// host's future runs so that the collector sees its references. `alive` is cleared when the call
/// is dropped before the host finished; the store then drops the stack (`StoreInner::purge_parked`).
pub(crate) struct ParkedStack {
    pub stack: ExecStack,
    /// Slots in use: up to the end of the host call's arguments.
    pub live: usize,
    pub alive: Arc<std::sync::atomic::AtomicBool>,
}

/// A function in the store: its signature and what it runs.
pub(crate) struct FuncEntity {
    /// Canonical signature id.
    pub ty: TypeId,
    pub sig: FuncType,
    pub kind: FuncKind,
}

/// An instance in the store: its module and where its index spaces point in the store.
pub(crate) struct InstanceEntity {
    pub module: Module,
    /// Module index → store index, for each index space.
    pub funcs: Box<[u32]>,
    pub tables: Box<[u32]>,
    pub memories: Box<[u32]>,
    pub globals: Box<[u32]>,
    pub tags: Box<[u32]>,
    /// Data segments; a dropped segment is empty.
    pub data: Vec<Arc<[u8]>>,
    /// Element segments as encoded references; a dropped segment is empty.
    pub elems: Vec<Arc<[u64]>>,
}

/// A global in the store: its type and value.
pub(crate) struct GlobalEntity {
    /// Encoded value (see `values`); `v128` uses all 128 bits.
    pub value: u128,
    pub ty: GlobalType,
}

/// A tag in the store: the signature of the payload its exceptions carry.
pub(crate) struct TagEntity {
    /// Canonical id of the tag's function type (its params are the payload; it has no results).
    pub ty: TypeId,
    pub sig: FuncType,
}

/// The part of a store that does not depend on the host data type.
pub(crate) struct StoreInner {
    pub id: StoreId,
    pub engine: Engine,
    pub funcs: Vec<FuncEntity>,
    pub instances: Vec<InstanceEntity>,
    pub memories: Vec<MemoryEntity>,
    pub tables: Vec<TableEntity>,
    pub globals: Vec<GlobalEntity>,
    pub externs: Vec<Box<dyn Any + Send + Sync>>,
    pub tags: Vec<TagEntity>,
    /// Canonical ids of the signatures of host functions and tags.
    pub host_types: std::collections::HashMap<FuncType, TypeId>,
    /// Types the host made things of (host signatures, host tables' and globals' defined types),
    /// kept registered in the engine while the store lives.
    pub held_types: std::collections::HashMap<TypeId, RegisteredTypes>,
    /// GC objects and thrown exceptions (see `gc`).
    pub gc: crate::runtime::gc::GcHeap,
    /// Value stacks of activations suspended in host calls: roots for the collector. An entry is
    /// pushed by the executor before a host call and popped after it returns, while the stack it
    /// names is kept alive and untouched by that suspended activation.
    pub suspended_stacks: Vec<crate::runtime::gc::SuspendedStack>,
    /// GC references handed to the host (as `AnyRef`/`ExnRef` values): roots for the collector,
    /// last in, first out. A host function call and a [`RootScope`](crate::RootScope) drop the
    /// ones made inside them when they end; the others stay until the store is dropped. Behind a
    /// lock only because values are decoded through `&StoreInner`; the executor and the collector
    /// reach it through `get_mut`, without locking.
    pub host_roots: std::sync::Mutex<Vec<u64>>,
    /// Roots held by `OwnedRooted` values: each lives while its flag has a strong reference (a
    /// clone of the `OwnedRooted`); the collector drops the dead ones.
    pub owned_roots: Vec<(std::sync::Weak<()>, u64)>,
    /// Execution stacks not in use, kept for reuse by later calls.
    pub stacks: Vec<ExecStack>,
    /// Activations suspended in host calls, innermost last (see [`HostCallSite`]).
    pub host_calls: Vec<HostCallSite>,
    /// Stacks of activations paused in async host calls (see [`ParkedStack`]).
    pub parked: Vec<ParkedStack>,
    /// Fuel held back from `fuel` by `Store::fuel_async_yield_interval` while an async call runs:
    /// the store's fuel is `fuel + fuel_reserve`.
    pub fuel_reserve: u64,
    /// How many executor activations are live (host → Wasm → host → … nesting).
    pub activations: u32,
    /// Fuel left (meaningful with `Config::consume_fuel`).
    pub fuel: u64,
    /// Engine epoch at which running code traps with `Interrupt`.
    pub epoch_deadline: u64,
    /// Set by an [`InterruptHandle`] to stop running code; cleared by the trap it causes.
    pub interrupt: Arc<AtomicBool>,
    /// Armed by `Store::set_wall_clock_deadline`; disarmed when the outermost call into Wasm returns.
    pub wall_clock: WallClockDeadline,
}

impl StoreInner {
    /// The canonical id of a host function's or tag's signature, kept registered while the store
    /// lives.
    pub fn host_func_type(&mut self, sig: &FuncType) -> Result<TypeId> {
        if let Some(id) = self.host_types.get(sig) {
            return Ok(*id);
        }
        let (id, registered) = self.engine.register_host_func_type(sig)?;
        self.host_types.insert(sig.clone(), id);
        self.held_types.entry(id).or_insert(registered);
        Ok(id)
    }

    /// Keeps the defined type `ty` names, if any, registered while the store lives: for tables and
    /// globals the host makes with a type taken from a module, which may be dropped.
    pub fn hold_type(&mut self, ty: ValType) -> Result<()> {
        let ValType::Ref(r) = ty else { return Ok(()) };
        let HeapType::Concrete(id) = r.heap else {
            return Ok(());
        };
        if !self.held_types.contains_key(&id) {
            let held = self.engine.inner.types.retain(id).ok_or_else(|| {
                Error::Usage(
                    "the type names a defined type that is no longer registered (its modules were dropped)"
                        .into(),
                )
            })?;
            self.held_types.insert(id, held);
        }
        Ok(())
    }
}

impl StoreInner {
    /// Roots the heap object `raw` names (if it names one) for the host: it was just handed out as
    /// an `AnyRef` or `ExnRef`.
    pub fn root_for_host(&self, raw: u64) {
        if raw != 0 && !crate::gc_repr::is_i31(raw) && !crate::gc_repr::is_host_any(raw) {
            let mut roots = self.host_roots.lock().unwrap_or_else(|e| e.into_inner());
            roots.push(raw);
        }
    }

    /// How many host roots there are: a scope's mark (see [`StoreInner::host_roots`]).
    pub fn host_roots_mark(&mut self) -> usize {
        self.host_roots
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Drops the host roots made since `mark`.
    pub fn release_host_roots(&mut self, mark: usize) {
        self.host_roots
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .truncate(mark);
    }

    /// Drops the stacks of async calls that were dropped while their host function ran.
    pub fn purge_parked(&mut self) {
        self.parked
            .retain(|p| p.alive.load(std::sync::atomic::Ordering::Relaxed));
    }
}

impl Drop for StoreInner {
    /// Gives the memories' address space back to the engine for later stores' memories.
    fn drop(&mut self) {
        let pool = &self.engine.inner.memory_pool;
        for memory in self.memories.drain(..) {
            memory.release_to(pool);
        }
    }
}
