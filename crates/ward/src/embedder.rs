//! The embedder's side of the executor: `Store<T>` implements `interp::host::Embedder`, through
//! which running Wasm calls host functions (with a [`Caller`] and [`Val`]s), asks the resource
//! limiter to grow memories, tables and the GC heap, and runs the epoch deadline callback. The
//! executor itself names no API type.
//!
//! Called by `interp::exec`.

use std::sync::Arc;

use crate::func::Caller;
use crate::interp::host::Embedder;
use crate::limits::UpdateDeadline;
use crate::runtime::store::{FuncKind, StoreInner};
use crate::store::Store;
use crate::types::{ValType, slot_width};
use crate::values::{Val, vals_from_slots};
use crate::{Error, Result};

impl<T> Embedder for Store<T> {
    #[inline(always)]
    fn inner(&mut self) -> &mut StoreInner {
        &mut self.inner
    }

    unsafe fn call_host(
        &mut self,
        func: u32,
        slots: *mut u64,
        width: usize,
        instance: Option<u32>,
    ) -> Result<()> {
        // SAFETY: the caller's contract is `call_host`'s.
        unsafe { call_host(self, func, slots, width, instance) }
    }

    fn grow_memory(&mut self, index: usize, delta: u64) -> Result<Option<u64>> {
        Store::grow_memory(self, index, delta)
    }

    fn grow_table(&mut self, index: usize, delta: u64, init: u64) -> Result<Option<u64>> {
        Store::grow_table(self, index, delta, init)
    }

    fn gc_heap_growing(&mut self, current: usize, desired: usize) -> Result<bool> {
        Store::gc_heap_growing(self, current, desired)
    }

    fn epoch_deadline_reached(&mut self) -> Option<Result<UpdateDeadline>> {
        let mut callback = self.epoch_deadline_callback.take()?;
        // A panicking callback leaves the store as a returning one does: callback back in place.
        let update =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&mut *self)));
        // Like Wasmtime, the callback stays installed even if it changed the store's behaviour
        // itself.
        self.epoch_deadline_callback = Some(callback);
        Some(update.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    }
}

/// Host functions with at most this many parameters and results are called without heap allocation.
const INLINE_HOST_VALUES: usize = 8;

/// Calls host function `func` with arguments in the first of the `width` slots at `slots`, writing
/// results to the first slots (two per `v128`).
///
/// Host-call-heavy code spends most of its time here, so the common case (few parameters and results)
/// keeps its `Val`s in arrays on the stack and does not clone the signature: the `hostcall` benchmark
/// measured three heap allocations and two reference-count round trips per call before.
///
/// The slots are a raw pointer, not a `&mut [u64]`: a reference held across the host call would
/// assert exclusive access while the collector reads the same slots as roots (see
/// `gc::SuspendedStack`). Slices over them exist only while the arguments are read and while the
/// results are written.
///
/// # Safety
/// `slots..slots + width` is valid for reads and writes, holds the arguments, is wide enough for the
/// results, and is not written by anything else until this returns.
unsafe fn call_host<T>(
    store: &mut Store<T>,
    func: u32,
    slots: *mut u64,
    width: usize,
    instance: Option<u32>,
) -> Result<()> {
    let entity = &store.inner.funcs[func as usize];
    let FuncKind::Host { index } = entity.kind else {
        unreachable!("call_host on a Wasm function")
    };
    let (n_params, n_results) = (entity.sig.params().len(), entity.sig.results().len());
    // The references decoded for the host are rooted for this call only: once it returns, its
    // results are in the slots (roots of the caller's activation).
    let roots = store.inner.host_roots_mark();
    let outcome = if n_params > INLINE_HOST_VALUES || n_results > INLINE_HOST_VALUES {
        // SAFETY: the caller's contract is the callee's.
        unsafe { call_host_large(store, func, slots, width, instance) }
    } else if n_params <= 4 && n_results <= 4 {
        // Most host functions take few values: smaller buffers are cheaper to initialise.
        // SAFETY: as above.
        unsafe { call_host_inline::<T, 4>(store, func, index, slots, width, instance) }
    } else {
        // SAFETY: as above.
        unsafe {
            call_host_inline::<T, INLINE_HOST_VALUES>(store, func, index, slots, width, instance)
        }
    };
    store.inner.release_host_roots(roots);
    outcome
}

/// [`call_host`] with `N`-value buffers for the parameters and results of host function `index`
/// (store function `func`).
///
/// # Safety
/// As for [`call_host`].
#[inline(always)]
unsafe fn call_host_inline<T, const N: usize>(
    store: &mut Store<T>,
    func: u32,
    index: u32,
    slots_ptr: *mut u64,
    width: usize,
    instance: Option<u32>,
) -> Result<()> {
    let entity = &store.inner.funcs[func as usize];
    let (n_params, n_results) = (entity.sig.params().len(), entity.sig.results().len());
    // SAFETY: the caller's contract; the slice ends before the host runs.
    let slots = unsafe { std::slice::from_raw_parts(slots_ptr, width) };
    let mut params = [Val::I32(0); N];
    let mut at = 0;
    for (param, ty) in params.iter_mut().zip(entity.sig.params()) {
        let mut raw = slots[at] as u128;
        if slot_width(*ty) == 2 {
            raw |= (slots[at + 1] as u128) << 64;
        }
        at += slot_width(*ty);
        *param = Val::from_raw(raw, *ty, &store.inner);
    }
    let mut results = [Val::I32(0); N];
    for (result, ty) in results.iter_mut().zip(entity.sig.results()) {
        *result = Val::default_for(*ty).unwrap_or(Val::FuncRef(None));
    }
    let host = Arc::as_ptr(&store.hosts[index as usize]);
    // SAFETY: `store.hosts` only ever grows (`Store::push_host_func`), so the closure behind this `Arc`
    // lives until the store is dropped, which cannot happen while this call borrows the store.
    // Calling through the pointer instead of a clone of the `Arc` saves two atomic operations
    // per host call.
    unsafe {
        (*host)(
            Caller {
                store: &mut *store,
                instance,
            },
            &params[..n_params],
            &mut results[..n_results],
        )
    }?;
    let sig = &store.inner.funcs[func as usize].sig;
    // SAFETY: the caller's contract; the host has returned, so nothing else uses the slots now.
    let slots = unsafe { std::slice::from_raw_parts_mut(slots_ptr, width) };
    write_results(&store.inner, &results[..n_results], sig.results(), slots)
}

/// `call_host` for signatures too wide for its inline buffers.
///
/// # Safety
/// As for [`call_host`].
unsafe fn call_host_large<T>(
    store: &mut Store<T>,
    func: u32,
    slots_ptr: *mut u64,
    width: usize,
    instance: Option<u32>,
) -> Result<()> {
    let entity = &store.inner.funcs[func as usize];
    let FuncKind::Host { index } = entity.kind else {
        unreachable!("call_host on a Wasm function")
    };
    let sig = entity.sig.clone();
    let host = store.hosts[index as usize].clone();
    // SAFETY: the caller's contract; the slice ends before the host runs.
    let slots = unsafe { std::slice::from_raw_parts(slots_ptr, width) };
    let params = vals_from_slots(slots, sig.params(), &store.inner);
    let mut results: Vec<Val> = sig
        .results()
        .iter()
        .map(|ty| Val::default_for(*ty).unwrap_or(Val::FuncRef(None)))
        .collect();
    host(
        Caller {
            store: &mut *store,
            instance,
        },
        &params,
        &mut results,
    )?;
    // SAFETY: the caller's contract; the host has returned, so nothing else uses the slots now.
    let slots = unsafe { std::slice::from_raw_parts_mut(slots_ptr, width) };
    write_results(&store.inner, &results, sig.results(), slots)
}

/// Checks a host function's `results` against its result `types` and writes them to `slots` (two
/// slots per `v128`). A result of the wrong type is an error; the activation then ends, so the
/// results already written are never read.
#[inline(always)]
pub(crate) fn write_results(
    inner: &StoreInner,
    results: &[Val],
    types: &[ValType],
    slots: &mut [u64],
) -> Result<()> {
    let mut at = 0;
    for (i, (val, ty)) in results.iter().zip(types).enumerate() {
        if !val.matches(inner, *ty) {
            return Err(Error::Usage(format!(
                "host function result {i} does not have type {ty}"
            )));
        }
        let raw = val.to_raw(inner.id)?;
        slots[at] = raw as u64;
        if slot_width(*ty) == 2 {
            slots[at + 1] = (raw >> 64) as u64;
        }
        at += slot_width(*ty);
    }
    Ok(())
}
