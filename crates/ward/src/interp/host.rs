//! The executor's interface to the embedder's store ([`Embedder`]), a leaf of the interpreter:
//! the driver (`exec`), the collector's growth (`gc_ops::make_room`) and interruption points
//! (`interruption`) use it; `crate::embedder` implements it for `Store<T>`.

use crate::Result;
use crate::runtime::store::StoreInner;

/// What the executor needs from the embedder's store, `Store<T>`: the runtime state, and what
/// involves the embedder's data `T` (host functions, the resource limiter, the epoch deadline
/// callback). Implemented in `embedder.rs`; the executor names no API type.
pub(crate) trait Embedder {
    /// The store's runtime state.
    fn inner(&mut self) -> &mut StoreInner;

    /// Calls host function `func` (a store function index) with its arguments in the first of the
    /// `width` slots at `slots`, writing its results to the first slots (two per `v128`).
    /// `instance` is the calling instance (for `Caller::get_export`).
    ///
    /// # Safety
    /// `slots..slots + width` is valid for reads and writes, holds the arguments, is wide enough
    /// for the results, and is not written by anything else until this returns.
    unsafe fn call_host(
        &mut self,
        func: u32,
        slots: *mut u64,
        width: usize,
        instance: Option<u32>,
    ) -> Result<()>;

    /// `memory.grow` of store memory `index` (asks the resource limiter): the old size in pages,
    /// or `None` if it may not grow.
    fn grow_memory(&mut self, index: usize, delta: u64) -> Result<Option<u64>>;

    /// `table.grow` of store table `index` (asks the resource limiter).
    fn grow_table(&mut self, index: usize, delta: u64, init: u64) -> Result<Option<u64>>;

    /// Asks the resource limiter whether the GC heap may grow from `current` to `desired` bytes.
    fn gc_heap_growing(&mut self, current: usize, desired: usize) -> Result<bool>;

    /// Runs the epoch deadline callback, if one is installed (`None` if not).
    fn epoch_deadline_reached(&mut self) -> Option<Result<crate::limits::UpdateDeadline>>;
}
