//! The executor: runs ward bytecode on a value stack of untyped 64-bit slots.
//!
//! Most instructions run in the threaded code of `fast` (one handler per instruction, chained by
//! sibling calls); `run` below owns the activation and executes in its `match` the instructions that
//! need the store (host and cross-instance calls, globals, tables, bulk memory, GC, exceptions, fuel
//! and interruption), handing every other instruction back to `fast::run`.
//!
//! One activation runs a whole chain of Wasm calls: a call pushes a small [`Frame`] record and switches
//! the registers (code, instruction pointer, frame pointer) to the callee, so host stack use does not
//! grow with Wasm call depth and runaway recursion ends in a `StackOverflow` trap. The callee's frame
//! starts where the caller placed the arguments, so arguments and results are never copied. Traps come
//! back as values with a backtrace built from the frame records.
//!
//! Exceptions unwind the same frame records: `unwind` searches each function's handler table (see
//! `bytecode::Handler`) from the innermost frame outwards and resumes at a landing pad, or leaves the
//! activation as `Error::Exception`. Exception and GC instructions run out of line in `gc_ops`;
//! allocation collects first when the heap's threshold is reached, with this activation's slots up
//! to the top of the current frame and the slots of activations suspended in host calls as roots.
//!
//! Called by `func` (`Func::call`) and `instance` (start functions); calls back into the host through the
//! store's host functions.

use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::atomic_ops;
use super::bytecode::LaneWidth;
use super::bytecode::{Instr, Slot};
use super::fast;
use super::gc_ops::{self, GcFrame, Outcome};
use super::interruption::{self, Verdict};
use super::simd;
use super::translate::CompiledFunc;
use crate::exception::ExnRef;
use crate::func::Caller;
use crate::gc::{ObjectKind, SuspendedStack};
use crate::module::ModuleInner;
use crate::store::{FuncKind, Store, StoreInner};
use crate::trap::{FrameInfo, Trap, TrapKind, WasmBacktrace};
use crate::values::{Val, push_slots, slot_count, slot_width, vals_from_slots};
use crate::{Error, Result};

/// Most nested activations (host → Wasm → host → …) before calls into Wasm trap with `StackOverflow`.
const MAX_ACTIVATIONS: u32 = 500;

/// A suspended caller: its registers, so that returning needs no lookups in the store.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    /// The caller's instruction index to resume at.
    pub ip: u32,
    pub fp: usize,
    pub cur: Current,
}

/// The value slots and frame records of one activation.
///
/// While an activation runs, every access to its slots goes through pointers derived from one
/// `slots.as_mut_ptr()` taken when it starts (`run`); no reference to the slots is created then,
/// except short-lived ones over a range no live pointer is used on meanwhile. (A `Vec` rather than a
/// boxed slice: `Vec::as_mut_ptr` creates no intermediate reference, so moving the `Vec` or reading
/// its length invalidates nothing.)
///
/// The slots start small and grow on demand, up to `Config::max_wasm_stack`: allocating (and zeroing)
/// the whole limit for every activation cost each nested host → Wasm call 8 MiB. Growing moves the
/// slots, so it happens only where the executor can re-derive every pointer into them (entering a
/// frame in `run`, and before `run` in `invoke`); threaded code hands a call that does not fit back
/// to `run`.
pub(crate) struct ExecStack {
    slots: Vec<u64>,
    frames: Vec<Frame>,
    max_frames: usize,
    /// Most usable slots (`Config::max_wasm_stack` / 8).
    max_slots: usize,
}

/// Usable slots a new stack starts with (64 KiB).
const INITIAL_SLOTS: usize = 8 * 1024;

impl ExecStack {
    fn new(max_bytes: usize) -> Self {
        let max_slots = max_bytes / 8;
        ExecStack {
            // `fast::FRAME_SLACK` slots past the usable end let a call zero locals in whole chunks.
            slots: vec![0u64; INITIAL_SLOTS.min(max_slots) + fast::FRAME_SLACK],
            frames: Vec::with_capacity(64),
            max_frames: max_bytes / 32,
            max_slots,
        }
    }

    /// Usable slots now.
    fn usable(&self) -> usize {
        self.slots.len() - fast::FRAME_SLACK
    }

    /// Grows the slots so that at least `needed` are usable (doubling, up to the limit); false if the
    /// limit does not allow it. Moves the slots: pointers into them must be derived again.
    fn grow_to(&mut self, needed: usize) -> bool {
        if needed > self.max_slots {
            return false;
        }
        let usable = needed
            .max(self.usable().saturating_mul(2))
            .min(self.max_slots);
        self.slots.resize(usable + fast::FRAME_SLACK, 0);
        true
    }
}

/// Calls store function `func` with raw arguments (two slots per `v128`); returns its raw results.
pub(crate) fn invoke<T>(store: &mut Store<T>, func: u32, args: &[u64]) -> Result<Vec<u64>> {
    let n_results = slot_count(store.inner.funcs[func as usize].sig.results());
    let (instance, index) = match store.inner.funcs[func as usize].kind {
        FuncKind::Host { .. } => {
            let mut buffer = args.to_vec();
            buffer.resize(args.len().max(n_results), 0);
            // SAFETY: the buffer is a local this call owns, `buffer.len()` slots long.
            unsafe { call_host(store, func, buffer.as_mut_ptr(), buffer.len(), None) }?;
            buffer.truncate(n_results);
            return Ok(buffer);
        }
        FuncKind::Wasm { instance, index } => (instance, index),
    };
    if store.inner.activations >= MAX_ACTIVATIONS {
        return Err(Trap::new(TrapKind::StackOverflow, WasmBacktrace::default()).into());
    }
    // A lazily translated function is translated here at its first call (which may fail only on a
    // compile limit).
    let frame_size = store.inner.instances[instance as usize]
        .module
        .inner
        .compiled(index)?
        .frame_size;
    let max_stack = store.inner.engine.config().max_wasm_stack;
    let mut stack = store
        .inner
        .stacks
        .pop()
        .unwrap_or_else(|| ExecStack::new(max_stack));
    let needed = (frame_size as usize).max(args.len());
    let result = if needed > stack.usable() && !stack.grow_to(needed) {
        Err(Trap::new(TrapKind::StackOverflow, WasmBacktrace::default()).into())
    } else {
        stack.slots[..args.len()].copy_from_slice(args);
        stack.frames.clear();
        let suspended = store.inner.suspended_stacks.len();
        store.inner.activations += 1;
        // A host function may panic, and an embedder may catch that panic (servers do) and go on
        // using the store. The per-call state is therefore restored on the way out whether `run`
        // returns or unwinds: the activation count, the deadline, and above all the GC roots that
        // host calls of this activation registered, which name `stack` and must not outlive it.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(store, &mut stack, func)));
        store.inner.activations -= 1;
        if store.inner.activations == 0 {
            // A wall-clock deadline covers one outermost call (see `limits`).
            store.inner.wall_clock.disarm();
        }
        match outcome {
            Ok(result) => result.map(|()| stack.slots[..n_results].to_vec()),
            Err(panic) => {
                store.inner.suspended_stacks.truncate(suspended);
                store.inner.stacks.push(stack);
                std::panic::resume_unwind(panic);
            }
        }
    };
    store.inner.stacks.push(stack);
    result
}

/// The code of a function that has run or is running (so is translated).
fn compiled(store: &StoreInner, instance: u32, index: u32) -> &CompiledFunc {
    store.instances[instance as usize]
        .module
        .inner
        .translated(index)
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
    if n_params > INLINE_HOST_VALUES || n_results > INLINE_HOST_VALUES {
        // SAFETY: the caller's contract is the callee's.
        return unsafe { call_host_large(store, func, slots, width, instance) };
    }
    // Most host functions take few values: smaller buffers are cheaper to initialise.
    if n_params <= 4 && n_results <= 4 {
        // SAFETY: as above.
        unsafe { call_host_inline::<T, 4>(store, func, index, slots, width, instance) }
    } else {
        // SAFETY: as above.
        unsafe {
            call_host_inline::<T, INLINE_HOST_VALUES>(store, func, index, slots, width, instance)
        }
    }
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
    let id = store.inner.id;
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
    let mut at = 0;
    for (i, (val, ty)) in results[..n_results].iter().zip(sig.results()).enumerate() {
        if !val.matches(&store.inner, *ty) {
            return Err(Error::Usage(format!(
                "host function result {i} does not have type {ty}"
            )));
        }
        let raw = val.to_raw(id)?;
        slots[at] = raw as u64;
        if slot_width(*ty) == 2 {
            slots[at + 1] = (raw >> 64) as u64;
        }
        at += slot_width(*ty);
    }
    Ok(())
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
    let id = store.inner.id;
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
    let mut raw = Vec::with_capacity(width);
    for (i, (val, ty)) in results.iter().zip(sig.results()).enumerate() {
        if !val.matches(&store.inner, *ty) {
            return Err(Error::Usage(format!(
                "host function result {i} does not have type {ty}"
            )));
        }
        push_slots(&mut raw, val.to_raw(id)?, *ty);
    }
    // SAFETY: the caller's contract; the host has returned, so nothing else uses the slots now.
    let slots = unsafe { std::slice::from_raw_parts_mut(slots_ptr, width) };
    slots[..raw.len()].copy_from_slice(&raw);
    Ok(())
}

/// [`call_host`] from a running activation whose value stack starts at `slots`, with the
/// arguments in the `width` slots from `args_at`: the stack up to the end of the arguments is
/// registered as GC roots while the host runs. Out of line to keep `run`'s loop small.
///
/// # Safety
/// `slots` is the base pointer of the running activation's stack and `args_at + width` slots from
/// it are in bounds.
#[inline(never)]
unsafe fn call_host_suspended<T>(
    store: &mut Store<T>,
    func: u32,
    slots: NonNull<u64>,
    args_at: usize,
    width: usize,
    instance: Option<u32>,
) -> Result<()> {
    store.inner.suspended_stacks.push(SuspendedStack {
        slots,
        live: args_at + width,
    });
    // SAFETY: the slots are in bounds (the caller's contract) and belong to this activation, which
    // does not run until the host returns; nested activations run on other stacks, and the
    // collector only reads this one through the entry pushed above.
    let outcome = unsafe { call_host(store, func, slots.as_ptr().add(args_at), width, instance) };
    store.inner.suspended_stacks.pop();
    outcome
}

/// The registers of the function being executed.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    pub instance: u32,
    /// Index of the function among its module's defined functions.
    pub index: u32,
    /// The first instruction of the function's code (which is never empty: it ends in a return).
    pub code: *const Instr,
    pub module: *const ModuleInner,
}

// SAFETY: `code` and `module` point into a `ModuleInner` (which is `Send + Sync`) kept alive by an
// `Arc` in the instance; a `Current` is only dereferenced while the executor runs with the store
// borrowed, and frames left over from an earlier activation are cleared before reuse. Moving one to
// another thread therefore shares nothing that is not already shareable.
unsafe impl Send for Current {}

impl Current {
    /// The registers of store function `func` (a Wasm function), which is translated first if it
    /// was not yet (see `module::lazy`).
    fn of(store: &StoreInner, func: u32) -> Result<Current> {
        let FuncKind::Wasm { instance, index } = store.funcs[func as usize].kind else {
            unreachable!("Current::of a host function")
        };
        let module: &Arc<ModuleInner> = &store.instances[instance as usize].module.inner;
        Current::defined(instance, index, module)
    }

    /// The registers of defined function `index` of `module` in `instance`, which is translated
    /// first if it was not yet.
    #[inline(always)]
    pub(crate) fn defined(instance: u32, index: u32, module: &ModuleInner) -> Result<Current> {
        Ok(Current {
            instance,
            index,
            code: module.compiled(index)?.code.as_ptr(),
            module,
        })
    }

    /// The function's compiled code and frame layout.
    #[inline(always)]
    fn compiled(&self) -> &CompiledFunc {
        // SAFETY: the module outlives the activation (see `Current`'s `Send` note); `index` is a
        // defined function of it.
        let module = unsafe { &*self.module };
        module.translated(self.index)
    }
}

/// The backtrace of the activation: the current function at `ip`, then the suspended callers from
/// the innermost outwards. Only the frames the backtrace keeps are looked up (see
/// `WasmBacktrace::capture`), so a trap at a depth of 200,000 frames costs no more than one at 100.
fn backtrace(store: &StoreInner, current: (&Current, u32), frames: &[Frame]) -> WasmBacktrace {
    WasmBacktrace::capture(frames.len() + 1, |depth| {
        let (cur, ip) = match depth.checked_sub(1) {
            None => current,
            Some(outwards) => {
                let frame = &frames[frames.len() - 1 - outwards];
                (&frame.cur, frame.ip)
            }
        };
        let module = &store.instances[cur.instance as usize].module.inner;
        let compiled = module.translated(cur.index);
        let func_index = module.num_imported_funcs + cur.index;
        let at = (ip as usize).saturating_sub(1);
        FrameInfo {
            func_index,
            func_name: module.func_name(func_index).map(str::to_string),
            module_name: module.name.clone(),
            module_offset: compiled.offsets.get(at).map(|o| *o as usize),
        }
    })
}

/// Unwinds for exception `exn` (its heap handle) from the frame `(registers, fp, ip)` (`ip`: index after the throwing instruction): searches that
/// function's handlers (unless `skip_current`: a host function reached by a tail call threw, so the
/// calling frame is already gone) and then each suspended caller's, innermost first, for a clause
/// matching the exception's tag. On a match the caught values are written to the handler's slots and
/// the landing pad's `(registers, fp, instruction index)` is returned; otherwise the exception leaves the activation.
/// Kept out of line so `run`'s registers are not disturbed by this rare path.
///
/// # Safety
/// `fp` and every frame record's `fp` must be frames the executor entered on `slots` (so a handler's
/// destination slots, below its function's frame size, are in bounds).
#[inline(never)]
unsafe fn unwind(
    store: &StoreInner,
    frames: &mut Vec<Frame>,
    slots: *mut u64,
    (mut cur, mut fp, mut ip): (Current, usize, usize),
    exn: u64,
    skip_current: bool,
) -> Result<(Current, usize, usize)> {
    let exn_tag = match store.gc.get(exn).map(|o| o.kind) {
        Some(ObjectKind::Exception { tag }) => tag,
        // Only a reference the host kept after it was collected can get here.
        _ => {
            return Err(Error::Usage(
                "thrown exception reference is no longer valid".into(),
            ));
        }
    };
    let mut skip = skip_current;
    loop {
        if !skip {
            let (instance, index) = (cur.instance, cur.index);
            let handlers = &compiled(store, instance, index).handlers;
            let pc = (ip as u32).wrapping_sub(1);
            let tags = &store.instances[instance as usize].tags;
            // A legacy `delegate` catches everything in its range and restarts the search among the
            // handlers of its label's block and those around it.
            let mut max_depth = u32::MAX;
            let found = loop {
                let hit = handlers
                    .iter()
                    .filter(|h| h.start <= pc && pc < h.end && h.depth <= max_depth)
                    .find_map(|h| match h.delegate {
                        Some(depth) => Some(Err(depth)),
                        None => h
                            .catches
                            .iter()
                            .find(|c| c.tag.is_none_or(|t| tags[t as usize] == exn_tag))
                            .map(|c| Ok((h.dst, *c))),
                    });
                match hit {
                    Some(Err(depth)) => max_depth = depth,
                    Some(Ok(caught)) => break Some(caught),
                    None => break None,
                }
            };
            if let Some((dst, clause)) = found {
                if clause.exn_below {
                    // SAFETY: a legacy handler's `dst` is above the slot it keeps the `exnref` in,
                    // inside the frame (translator invariant); the frame is in bounds (the
                    // caller's contract).
                    unsafe { *slots.add(fp + dst as usize - 1) = exn };
                }
                let mut at = fp + dst as usize;
                if clause.tag.is_some() {
                    let object = store.gc.get(exn).expect("checked above");
                    for value in object.words.iter() {
                        // SAFETY: the handler's slots lie in the frame (translator invariant) and
                        // the frame is in bounds (the caller's contract).
                        unsafe { *slots.add(at) = *value };
                        at += 1;
                    }
                }
                if clause.with_ref {
                    // SAFETY: as above.
                    unsafe { *slots.add(at) = exn };
                }
                return Ok((cur, fp, clause.pad as usize));
            }
        }
        skip = false;
        match frames.pop() {
            None => {
                return Err(Error::Exception(ExnRef {
                    store: store.id,
                    raw: exn,
                }));
            }
            Some(frame) => {
                cur = frame.cur;
                fp = frame.fp;
                ip = frame.ip as usize;
            }
        }
    }
}

/// The base and size in bytes of memory 0 of `instance` (null and 0 without a memory): the memory
/// registers of the executor.
#[inline(always)]
fn memory_zero(store: &StoreInner, instance: u32) -> (*mut u8, u64) {
    match store.instances[instance as usize].memories.first() {
        Some(&m) => {
            let memory = &store.memories[m as usize];
            // A shared memory is never accessed through the registers (the translator sends its
            // accesses to `Instr::Atomic`); a length of 0 makes any stray access trap.
            let len = if memory.shared().is_some() {
                0
            } else {
                memory.size_bytes()
            };
            (memory.base(), len)
        }
        None => (std::ptr::null_mut(), 0),
    }
}

/// Effective address of an access of `size` bytes, if it lies inside a memory of `len` bytes.
#[inline(always)]
fn effective(addr: u64, offset: u64, size: u64, len: u64) -> Option<usize> {
    let start = addr.checked_add(offset)?;
    let end = start.checked_add(size)?;
    if end <= len {
        Some(start as usize)
    } else {
        None
    }
}

/// Checks that `[start, start + len)` lies within `size`; returns the range as `usize`s.
#[inline]
fn range_in(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end <= size {
        Some(start as usize..end as usize)
    } else {
        None
    }
}

/// Up to 16 bytes as a little-endian number.
fn le_bytes(bytes: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(buf)
}

/// The lane replacement that writes a lane of `width`.
fn lane_replace_op(width: LaneWidth) -> super::bytecode::V128ReplaceOp {
    use super::bytecode::V128ReplaceOp as R;
    match width {
        LaneWidth::B8 => R::I8x16,
        LaneWidth::B16 => R::I16x8,
        LaneWidth::B32 => R::I32x4,
        LaneWidth::B64 => R::I64x2,
    }
}

/// Runs store function `entry` (a Wasm function) whose arguments are in `stack.slots[0..]`; leaves its
/// results in `stack.slots[0..]`.
fn run<T>(store: &mut Store<T>, stack: &mut ExecStack, entry: u32) -> Result<()> {
    let mut slots_len = stack.usable();
    // The one base pointer every slot access of this activation is derived from (see `ExecStack`),
    // taken again only when the stack grows (`grow_stack!`).
    let mut slots_base =
        NonNull::new(stack.slots.as_mut_ptr()).expect("a Vec's pointer is not null");
    let mut slots = slots_base.as_ptr();
    let mut cur = Current::of(&store.inner, entry)?;
    let engine = store.inner.engine.clone();
    let interrupt = store.inner.interrupt.clone();
    let mut fp: usize = 0;
    // `slots + fp`, kept alongside `fp` so that a slot access is one addition, not two.
    let mut frame: *mut u64 = slots;
    // The instruction pointer is a raw pointer into the current function's code rather than an index:
    // fetching then needs no bounds check and no reload of the code slice.
    let mut ip: *const Instr = cur.code;
    // Zero the entry function's declared locals (through `slots`: indexing `stack.slots` would
    // create a reference that invalidates it).
    let entry = cur.compiled();
    for local in entry.num_params..entry.num_locals {
        // SAFETY: `num_locals <= frame_size <= slots_len` (checked by `invoke`).
        unsafe { *slots.add(local as usize) = 0 };
    }

    // Cached base and size of memory 0 of the current instance.
    let mut mem_base: *mut u8;
    let mut mem_len: u64;

    // Re-reads them: needed after anything that can move or resize a memory (`memory.grow`, host
    // calls, a switch to another instance). Threaded code relies on them, so `fast::run` below
    // checks them first in debug builds.
    macro_rules! refresh_memory {
        () => {{
            (mem_base, mem_len) = memory_zero(&store.inner, cur.instance);
        }};
    }
    refresh_memory!();

    // Index of the next instruction within the current function.
    macro_rules! ip_index {
        () => {
            // SAFETY: `ip` always points into (or one past an instruction of) the code `cur.code`
            // starts, so both lie in one allocation.
            unsafe { ip.offset_from(cur.code) as u32 }
        };
    }
    // Continue at instruction index `target` of the current function (a return address).
    macro_rules! jump {
        ($target:expr) => {
            // SAFETY: branch targets are instruction indices inside the function (translator
            // invariant: every target is patched to a position of the same code).
            ip = unsafe { cur.code.add($target as usize) }
        };
    }
    macro_rules! trap {
        ($kind:expr) => {{
            let bt = backtrace(&store.inner, (&cur, ip_index!()), &stack.frames);
            return Err(Error::Trap(Trap::new($kind, bt)));
        }};
    }
    // SAFETY (all slot accesses): `fp + cur.frame_size <= slots_len` is checked whenever a frame is
    // entered, and the translator only emits slots below the frame size of their function.
    macro_rules! get {
        ($slot:expr) => {{
            let s: Slot = $slot;
            debug_assert!(s < cur.compiled().frame_size);
            // SAFETY: `s` is below the frame size (see above).
            unsafe { *frame.add(s as usize) }
        }};
    }
    macro_rules! set {
        ($slot:expr, $value:expr) => {{
            let s: Slot = $slot;
            let v: u64 = $value;
            debug_assert!(s < cur.compiled().frame_size);
            // SAFETY: `s` is below the frame size (see above).
            unsafe { *frame.add(s as usize) = v }
        }};
    }
    // Two-slot (v128) values: low half in the first slot.
    macro_rules! get128 {
        ($slot:expr) => {{
            let s: Slot = $slot;
            (get!(s) as u128) | ((get!(s + 1) as u128) << 64)
        }};
    }
    macro_rules! set128 {
        ($slot:expr, $value:expr) => {{
            let s: Slot = $slot;
            let v: u128 = $value;
            set!(s, v as u64);
            set!(s + 1, (v >> 64) as u64);
        }};
    }
    // The current function's side tables (immediates too large for its instructions).
    macro_rules! side_tables {
        () => {
            cur.compiled().side_tables()
        };
    }
    macro_rules! module {
        () => {
            // SAFETY: the module is kept alive by its instance, which the store never drops while it
            // lives, and `store` outlives this call.
            unsafe { &*cur.module }
        };
    }
    macro_rules! instance {
        () => {
            &store.inner.instances[cur.instance as usize]
        };
    }
    // Loads and stores through a side-table memarg (any memory, 64-bit offsets).
    macro_rules! load_x {
        ($dst:expr, $addr:expr, $memarg:expr, $n:literal, |$b:ident| $e:expr) => {{
            let (memory, offset) = side_tables!().memargs[$memarg as usize];
            let memory = &store.inner.memories[instance!().memories[memory as usize] as usize];
            let Some(at) = effective(get!($addr), offset, $n, memory.size_bytes()) else {
                trap!(TrapKind::MemoryOutOfBounds)
            };
            let $b: [u8; $n] = memory.data()[at..at + $n].try_into().expect("range has length $n");
            set!($dst, $e)
        }};
    }
    macro_rules! store_x {
        ($addr:expr, $value:expr, $memarg:expr, $n:literal, |$v:ident| $e:expr) => {{
            let (memory, offset) = side_tables!().memargs[$memarg as usize];
            let memory_index = instance!().memories[memory as usize] as usize;
            let memory = &mut store.inner.memories[memory_index];
            let Some(at) = effective(get!($addr), offset, $n, memory.size_bytes()) else {
                trap!(TrapKind::MemoryOutOfBounds)
            };
            let $v = get!($value);
            let bytes: [u8; $n] = $e;
            memory.data_mut()[at..at + $n].copy_from_slice(&bytes);
        }};
    }

    // Makes at least `$needed` slots usable, or traps with a stack overflow at the limit. Growing
    // moves the slots: every pointer into them is derived again from the new base (`frame` by the
    // caller, which sets it anyway when it enters a frame; nothing else
    // holds one while this loop runs: threaded code has returned, and this activation's stack is
    // registered as GC roots only while it is suspended in a host call; threaded code is given the
    // new base when it is entered next).
    macro_rules! grow_stack {
        ($needed:expr) => {{
            if !stack.grow_to($needed) {
                trap!(TrapKind::StackOverflow);
            }
            slots_len = stack.usable();
            slots_base =
                NonNull::new(stack.slots.as_mut_ptr()).expect("a Vec's pointer is not null");
            slots = slots_base.as_ptr();
        }};
    }

    // Enters the Wasm function `$next` with its frame at `$new_fp`; for a tail call the current frame
    // is replaced instead of suspended.
    macro_rules! enter {
        ($next:expr, $new_fp:expr, $tail:expr) => {{
            let next: Current = $next;
            let new_fp: usize = $new_fp;
            let callee = next.compiled();
            let frame_fp = if $tail {
                // SAFETY: both ranges lie in the current frame (arguments were placed by the
                // translator below the frame size); `copy` allows overlap.
                unsafe {
                    std::ptr::copy(slots.add(new_fp), slots.add(fp), callee.num_params as usize)
                };
                fp
            } else {
                new_fp
            };
            if !$tail && stack.frames.len() >= stack.max_frames {
                trap!(TrapKind::StackOverflow);
            }
            if frame_fp + callee.frame_size as usize > slots_len {
                grow_stack!(frame_fp + callee.frame_size as usize);
            }
            if !$tail {
                stack.frames.push(Frame { ip: ip_index!(), fp, cur });
            }
            let same_instance = next.instance == cur.instance;
            // Declared locals start at zero. Guarded: LLVM turns the loop into a libc `memset` call,
            // which callgrind showed costing every call on `fib` even with nothing to clear.
            if callee.num_locals > callee.num_params {
                for local in callee.num_params..callee.num_locals {
                    // SAFETY: `frame_fp + next.frame_size <= slots_len` was checked above and
                    // `num_locals <= frame_size`.
                    unsafe { *slots.add(frame_fp + local as usize) = 0 };
                }
            }
            cur = next;
            fp = frame_fp;
            // SAFETY: `frame_fp + next.frame_size <= slots_len` was checked above.
            frame = unsafe { slots.add(fp) };
            ip = cur.code;
            if !same_instance {
                refresh_memory!();
            }
        }};
    }
    // Throws exception `$exn` (its heap handle) from the current frame; see `unwind`. With no match
    // in this activation the exception leaves `run` as `Error::Exception`.
    macro_rules! throw {
        ($exn:expr, $skip_current:expr) => {{
            let at = ip_index!() as usize;
            // SAFETY: the frame records and `fp` describe entered frames of this stack (see `unwind`).
            match unsafe {
                unwind(&store.inner, &mut stack.frames, slots, (cur, fp, at), $exn, $skip_current)
            } {
                Ok((next, new_fp, pad)) => {
                    cur = next;
                    fp = new_fp;
                    // SAFETY: `fp` is a frame the executor entered (see `unwind`).
                    frame = unsafe { slots.add(fp) };
                    // SAFETY: landing pads are instruction indices of the function.
                    ip = unsafe { cur.code.add(pad) };
                    refresh_memory!();
                }
                Err(e) => return Err(e),
            }
        }};
    }

    // Enters store function `$callee` with its frame at `$new_fp`; for a tail call the current frame is
    // replaced instead of suspended.
    macro_rules! call {
        ($callee:expr, $new_fp:expr, $tail:expr) => {{
            let callee: u32 = $callee;
            let new_fp: usize = $new_fp;
            match store.inner.funcs[callee as usize].kind {
                FuncKind::Wasm { .. } => {
                    let next = Current::of(&store.inner, callee)?;
                    enter!(next, new_fp, $tail);
                }
                FuncKind::Host { .. } => {
                    let sig = &store.inner.funcs[callee as usize].sig;
                    let n_results = slot_count(sig.results());
                    let width = slot_count(sig.params()).max(n_results);
                    if new_fp + width > slots_len {
                        grow_stack!(new_fp + width);
                        // SAFETY: `fp` is the current frame, inside the (larger) stack.
                        frame = unsafe { slots.add(fp) };
                    }
                    // SAFETY: `slots_base` is this activation's stack and `new_fp + width <= slots_len`.
                    match unsafe {
                        call_host_suspended(
                            store,
                            callee,
                            slots_base,
                            new_fp,
                            width,
                            Some(cur.instance),
                        )
                    } {
                        Ok(()) => {
                            refresh_memory!();
                            if $tail {
                                // SAFETY: both ranges lie inside the current frame.
                                unsafe {
                                    std::ptr::copy(slots.add(new_fp), slots.add(fp), n_results)
                                };
                                do_return!();
                            }
                        }
                        Err(Error::Exception(exn)) if exn.store == store.inner.id => {
                            // `throw!` refreshes the memory cache for the frame it lands in.
                            throw!(exn.raw, $tail);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }};
    }
    // Returns from the current function; results are already in `slots[fp..]`.
    macro_rules! do_return {
        () => {{
            match stack.frames.pop() {
                None => return Ok(()),
                Some(caller) => {
                    let instance = cur.instance;
                    cur = caller.cur;
                    fp = caller.fp;
                    // SAFETY: the caller's frame was in bounds when it was suspended.
                    frame = unsafe { slots.add(fp) };
                    jump!(caller.ip);
                    // Within one instance the cached memory registers are already current: a
                    // `memory.grow` refreshes them, and so does every host call.
                    if cur.instance != instance {
                        refresh_memory!();
                    }
                }
            }
        }};
    }
    macro_rules! indirect_target {
        ($index:expr, $site:expr) => {{
            let (type_index, table) = side_tables!().call_sites[$site as usize];
            let expected = module!().type_ids[type_index as usize];
            let table = &store.inner.tables[instance!().tables[table as usize] as usize];
            let index = get!($index);
            let Some(&raw) = usize::try_from(index)
                .ok()
                .and_then(|i| table.elements.get(i))
            else {
                trap!(TrapKind::UndefinedElement)
            };
            if raw == 0 {
                trap!(TrapKind::UninitializedElement);
            }
            let callee = (raw - 1) as u32;
            let actual = store.inner.funcs[callee as usize].ty;
            if actual != expected && !store.inner.engine.id_is_subtype(actual, expected) {
                trap!(TrapKind::IndirectCallTypeMismatch);
            }
            callee
        }};
    }
    macro_rules! ref_target {
        ($func:expr) => {{
            let raw = get!($func);
            if raw == 0 {
                trap!(TrapKind::NullFunctionReference);
            }
            (raw - 1) as u32
        }};
    }

    let mut calls = fast::Calls {
        frames: std::ptr::null_mut(),
        slots,
        slots_len,
        max_frames: stack.max_frames,
        cur,
        fp,
    };

    loop {
        // SAFETY: the module outlives the call (see `module!`); `ip` stays inside the code because every
        // function ends in a return or jump and branch targets are instruction indices of the function.
        // Matched through a reference: the arms read their fields straight from the code instead
        // of from a 16-byte copy of the instruction (callgrind: the copy cost ~5 instructions per
        // dispatch).
        let instr = unsafe { &*ip };
        // SAFETY: as above; at worst this points one past the last instruction, never read.
        ip = unsafe { ip.add(1) };
        use Instr as I;
        match *instr {
            I::ConsumeFuel { amount } => {
                let fuel = &mut store.inner.fuel;
                if *fuel < amount as u64 {
                    trap!(TrapKind::OutOfFuel)
                }
                *fuel -= amount as u64;
            }
            I::CheckInterrupt {} => {
                if engine.current_epoch() >= store.inner.epoch_deadline
                    || interrupt.load(Ordering::Relaxed)
                    || store.inner.wall_clock.tick()
                {
                    let live = fp + cur.compiled().frame_size as usize;
                    match interruption::decide(store, slots_base, live)? {
                        Verdict::Continue => refresh_memory!(),
                        Verdict::Interrupt => trap!(TrapKind::Interrupt),
                    }
                }
            }
            // ----- fused compare and branch -----
            I::Return {} => do_return!(),
            I::ReturnOne { src } => {
                set!(0, get!(src));
                do_return!();
            }
            I::ReturnSpan { src, len } => {
                // SAFETY: the span lies inside the frame (translator invariant).
                unsafe {
                    std::ptr::copy(slots.add(fp + src as usize), slots.add(fp), len as usize)
                };
                do_return!();
            }
            // A call of a function the module defines stays in this instance: its registers come
            // straight from the module's code, skipping the store's function table.
            I::Call { func, base } => match func.checked_sub(module!().num_imported_funcs) {
                Some(index) => {
                    enter!(
                        Current::defined(cur.instance, index, module!())?,
                        fp + base as usize,
                        false
                    )
                }
                None => {
                    let callee = instance!().funcs[func as usize];
                    call!(callee, fp + base as usize, false);
                }
            },
            I::ReturnCall { func, base } => match func.checked_sub(module!().num_imported_funcs) {
                Some(index) => {
                    enter!(
                        Current::defined(cur.instance, index, module!())?,
                        fp + base as usize,
                        true
                    )
                }
                None => {
                    let callee = instance!().funcs[func as usize];
                    call!(callee, fp + base as usize, true);
                }
            },
            I::CallIndirect { index, base, site } => {
                let callee = indirect_target!(index, site);
                call!(callee, fp + base as usize, false);
            }
            I::ReturnCallIndirect { index, base, site } => {
                let callee = indirect_target!(index, site);
                call!(callee, fp + base as usize, true);
            }
            I::CallRef { func, base } => {
                let callee = ref_target!(func);
                call!(callee, fp + base as usize, false);
            }
            I::ReturnCallRef { func, base } => {
                let callee = ref_target!(func);
                call!(callee, fp + base as usize, true);
            }
            I::GlobalGet { dst, global } => {
                let g = instance!().globals[global as usize];
                set!(dst, store.inner.globals[g as usize].value as u64)
            }
            I::GlobalSet { src, global } => {
                let g = instance!().globals[global as usize];
                store.inner.globals[g as usize].value = get!(src) as u128;
            }
            I::MemorySize { dst, memory } => {
                let m = instance!().memories[memory as usize];
                set!(dst, store.inner.memories[m as usize].pages())
            }
            I::MemoryGrow { dst, delta, memory } => {
                let m = instance!().memories[memory as usize] as usize;
                let delta = get!(delta);
                let failed = if store.inner.memories[m].ty().memory64 {
                    u64::MAX
                } else {
                    u32::MAX as u64
                };
                let result = match store.grow_memory(m, delta) {
                    Ok(grown) => grown.unwrap_or(failed),
                    Err(Error::Trap(t)) => trap!(t.kind()),
                    Err(e) => return Err(e),
                };
                set!(dst, result);
                refresh_memory!();
            }
            I::MemoryFill { memory, base } => {
                let (dst, value, len) = (get!(base), get!(base + 1) as u8, get!(base + 2));
                let m = instance!().memories[memory as usize] as usize;
                let entity = &mut store.inner.memories[m];
                let Some(range) = range_in(dst, len, entity.size_bytes()) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                match entity.shared() {
                    // SAFETY: the range lies inside the memory (checked just above).
                    Some(shared) => unsafe { shared.fill(range.start, range.len(), value) },
                    None => entity.data_mut()[range].fill(value),
                }
            }
            I::MemoryCopy {
                dst_memory,
                src_memory,
                base,
            } => {
                let (dst, src, len) = (get!(base), get!(base + 1), get!(base + 2));
                let dm = instance!().memories[dst_memory as usize] as usize;
                let sm = instance!().memories[src_memory as usize] as usize;
                let memories = &mut store.inner.memories;
                let (Some(d), Some(s)) = (
                    range_in(dst, len, memories[dm].size_bytes()),
                    range_in(src, len, memories[sm].size_bytes()),
                ) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                if memories[dm].shared().is_some() || memories[sm].shared().is_some() {
                    atomic_ops::copy_with_shared(memories, dm, sm, d, s);
                } else if dm == sm {
                    memories[dm].data_mut().copy_within(s, d.start);
                } else {
                    let (dst_ptr, src_ptr) = (memories[dm].base(), memories[sm].base());
                    // SAFETY: both ranges were checked against their memories' committed sizes, and
                    // distinct memories do not overlap.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            src_ptr.add(s.start),
                            dst_ptr.add(d.start),
                            s.len(),
                        )
                    };
                }
            }
            I::MemoryInit { memory, data, base } => {
                let (dst, src, len) = (get!(base), get!(base + 1), get!(base + 2));
                let bytes = instance!().data[data as usize].clone();
                let m = instance!().memories[memory as usize] as usize;
                let entity = &mut store.inner.memories[m];
                let (Some(d), Some(s)) = (
                    range_in(dst, len, entity.size_bytes()),
                    range_in(src, len, bytes.len() as u64),
                ) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                match entity.shared() {
                    // SAFETY: the range lies inside the memory (checked just above).
                    Some(shared) => unsafe { shared.write_bytes(d.start, &bytes[s]) },
                    None => entity.data_mut()[d].copy_from_slice(&bytes[s]),
                }
            }
            I::DataDrop { data } => {
                let instance = cur.instance as usize;
                store.inner.instances[instance].data[data as usize] = Arc::new([]);
            }
            I::TableGet { dst, index, table } => {
                let t = instance!().tables[table as usize] as usize;
                let Some(&value) = usize::try_from(get!(index))
                    .ok()
                    .and_then(|i| store.inner.tables[t].elements.get(i))
                else {
                    trap!(TrapKind::TableOutOfBounds)
                };
                set!(dst, value)
            }
            I::TableSet { table, base } => {
                let (index, value) = (get!(base), get!(base + 1));
                let t = instance!().tables[table as usize] as usize;
                let Some(slot) = usize::try_from(index)
                    .ok()
                    .and_then(|i| store.inner.tables[t].elements.get_mut(i))
                else {
                    trap!(TrapKind::TableOutOfBounds)
                };
                *slot = value;
            }
            I::TableSize { dst, table } => {
                let t = instance!().tables[table as usize] as usize;
                set!(dst, store.inner.tables[t].size())
            }
            I::TableGrow { table, base } => {
                let (init, delta) = (get!(base), get!(base + 1));
                let t = instance!().tables[table as usize] as usize;
                let failed = if store.inner.tables[t].ty.table64 {
                    u64::MAX
                } else {
                    u32::MAX as u64
                };
                let result = match store.grow_table(t, delta, init) {
                    Ok(grown) => grown.unwrap_or(failed),
                    Err(Error::Trap(t)) => trap!(t.kind()),
                    Err(e) => return Err(e),
                };
                set!(base, result);
            }
            I::TableFill { table, base } => {
                let (index, value, len) = (get!(base), get!(base + 1), get!(base + 2));
                let t = instance!().tables[table as usize] as usize;
                let entity = &mut store.inner.tables[t];
                let Some(range) = range_in(index, len, entity.size()) else {
                    trap!(TrapKind::TableOutOfBounds)
                };
                entity.elements[range].fill(value);
            }
            I::TableCopy {
                dst_table,
                src_table,
                base,
            } => {
                let (dst, src, len) = (get!(base), get!(base + 1), get!(base + 2));
                let dt = instance!().tables[dst_table as usize] as usize;
                let st = instance!().tables[src_table as usize] as usize;
                let tables = &mut store.inner.tables;
                let (Some(d), Some(s)) = (
                    range_in(dst, len, tables[dt].size()),
                    range_in(src, len, tables[st].size()),
                ) else {
                    trap!(TrapKind::TableOutOfBounds)
                };
                if dt == st {
                    tables[dt].elements.copy_within(s, d.start);
                } else {
                    let items = tables[st].elements[s].to_vec();
                    tables[dt].elements[d].copy_from_slice(&items);
                }
            }
            I::TableInit { table, elem, base } => {
                let (dst, src, len) = (get!(base), get!(base + 1), get!(base + 2));
                let items = instance!().elems[elem as usize].clone();
                let t = instance!().tables[table as usize] as usize;
                let entity = &mut store.inner.tables[t];
                let (Some(d), Some(s)) = (
                    range_in(dst, len, entity.size()),
                    range_in(src, len, items.len() as u64),
                ) else {
                    trap!(TrapKind::TableOutOfBounds)
                };
                entity.elements[d].copy_from_slice(&items[s]);
            }
            I::ElemDrop { elem } => {
                let instance = cur.instance as usize;
                store.inner.instances[instance].elems[elem as usize] = Arc::new([]);
            }
            I::RefFunc { dst, func } => set!(dst, instance!().funcs[func as usize] as u64 + 1),
            // Exception and GC instructions run out of line: inlined here they made the compiler
            // spill `ip` and `fp` in every arm (measured with callgrind: +35% instructions on a
            // scalar loop).
            I::Throw { .. }
            | I::ThrowRef { .. }
            | I::RefEq { .. }
            | I::RefI31 { .. }
            | I::I31GetS { .. }
            | I::I31GetU { .. }
            | I::AnyConvertExtern { .. }
            | I::ExternConvertAny { .. }
            | I::ArrayLen { .. }
            | I::Gc { .. }
            | I::RefTest { .. }
            | I::RefCast { .. }
            | I::BrOnCast { .. }
            | I::BrOnCastFail { .. } => {
                let compiled = cur.compiled();
                let frame = GcFrame {
                    slots,
                    fp,
                    frame_size: compiled.frame_size as usize,
                };
                let side_tables = compiled.side_tables();
                // The instruction is passed by reference: passing it by value made every dispatch
                // copy it to the stack.
                // SAFETY: `ip` was advanced past this instruction, inside the function's code.
                let at = unsafe { &*ip.sub(1) };
                // SAFETY: `fp + cur.frame_size <= slots_len` (checked on frame entry) and the
                // translator keeps every operand slot below the frame size.
                match unsafe {
                    gc_ops::execute(&mut store.inner, side_tables, cur.instance, frame, at)
                } {
                    Outcome::Next => {}
                    Outcome::Jump(target) => {
                        // SAFETY: branch targets are offsets from the branch (`ip - 1`) to an
                        // instruction of the same function.
                        ip = unsafe { ip.sub(1).offset(target as i32 as isize) }
                    }
                    Outcome::Throw(exn) => throw!(exn, false),
                    Outcome::Trap(kind) => trap!(kind),
                    Outcome::GrowHeap { words } => {
                        // SAFETY: as for `execute` above; the collector only reads the slots.
                        let live = unsafe {
                            std::slice::from_raw_parts(slots, frame.fp + frame.frame_size)
                        };
                        match gc_ops::make_room(store, live, words) {
                            // SAFETY: `ip - 1` is this instruction, which runs again (it changed
                            // nothing before asking).
                            Ok(true) => ip = unsafe { ip.sub(1) },
                            Ok(false) => trap!(TrapKind::GcHeapExhausted),
                            Err(Error::Trap(t)) => trap!(t.kind()),
                            Err(e) => return Err(e),
                        }
                    }
                }
            }

            I::Atomic { .. } | I::AtomicFence {} => {
                let compiled = cur.compiled();
                let frame = GcFrame {
                    slots,
                    fp,
                    frame_size: compiled.frame_size as usize,
                };
                // SAFETY: as for the GC instructions above.
                let at = unsafe { &*ip.sub(1) };
                // SAFETY: as for the GC instructions above.
                let done = unsafe {
                    atomic_ops::execute(
                        &mut store.inner,
                        compiled.side_tables(),
                        cur.instance,
                        frame,
                        at,
                    )
                };
                if let Err(kind) = done {
                    trap!(kind)
                }
            }

            // ----- loads and stores -----
            I::I32LoadX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 4, |b| u32::from_le_bytes(b) as u64)
            }
            I::I64LoadX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 8, |b| u64::from_le_bytes(b))
            }
            I::F32LoadX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 4, |b| u32::from_le_bytes(b) as u64)
            }
            I::F64LoadX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 8, |b| u64::from_le_bytes(b))
            }
            I::I32Load8SX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 1, |b| b[0] as i8 as i32 as u32 as u64)
            }
            I::I32Load8UX { dst, addr, memarg } => load_x!(dst, addr, memarg, 1, |b| b[0] as u64),
            I::I32Load16SX { dst, addr, memarg } => {
                load_x!(
                    dst,
                    addr,
                    memarg,
                    2,
                    |b| i16::from_le_bytes(b) as i32 as u32 as u64
                )
            }
            I::I32Load16UX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 2, |b| u16::from_le_bytes(b) as u64)
            }
            I::I64Load8SX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 1, |b| b[0] as i8 as i64 as u64)
            }
            I::I64Load8UX { dst, addr, memarg } => load_x!(dst, addr, memarg, 1, |b| b[0] as u64),
            I::I64Load16SX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 2, |b| i16::from_le_bytes(b) as i64
                    as u64)
            }
            I::I64Load16UX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 2, |b| u16::from_le_bytes(b) as u64)
            }
            I::I64Load32SX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 4, |b| i32::from_le_bytes(b) as i64
                    as u64)
            }
            I::I64Load32UX { dst, addr, memarg } => {
                load_x!(dst, addr, memarg, 4, |b| u32::from_le_bytes(b) as u64)
            }
            I::I32StoreX {
                addr,
                value,
                memarg,
            } => store_x!(addr, value, memarg, 4, |v| (v as u32).to_le_bytes()),
            I::I64StoreX {
                addr,
                value,
                memarg,
            } => store_x!(addr, value, memarg, 8, |v| v.to_le_bytes()),
            I::F32StoreX {
                addr,
                value,
                memarg,
            } => store_x!(addr, value, memarg, 4, |v| (v as u32).to_le_bytes()),
            I::F64StoreX {
                addr,
                value,
                memarg,
            } => store_x!(addr, value, memarg, 8, |v| v.to_le_bytes()),
            I::I32Store8X {
                addr,
                value,
                memarg,
            }
            | I::I64Store8X {
                addr,
                value,
                memarg,
            } => {
                store_x!(addr, value, memarg, 1, |v| [v as u8])
            }
            I::I32Store16X {
                addr,
                value,
                memarg,
            }
            | I::I64Store16X {
                addr,
                value,
                memarg,
            } => {
                store_x!(addr, value, memarg, 2, |v| (v as u16).to_le_bytes())
            }
            I::I64Store32X {
                addr,
                value,
                memarg,
            } => store_x!(addr, value, memarg, 4, |v| (v as u32).to_le_bytes()),

            // ----- v128 -----
            I::GlobalGet2 { dst, global } => {
                let g = instance!().globals[global as usize];
                set128!(dst, store.inner.globals[g as usize].value)
            }
            I::GlobalSet2 { src, global } => {
                let g = instance!().globals[global as usize];
                store.inner.globals[g as usize].value = get128!(src);
            }
            I::V128Shuffle { dst, base, mask } => {
                let mask = side_tables!().v128_consts[mask as usize];
                set128!(dst, simd::shuffle(get128!(base), get128!(base + 2), mask))
            }
            I::V128LoadX {
                op,
                dst,
                addr,
                memarg,
            } => {
                let n = op.bytes();
                let (memory, offset) = side_tables!().memargs[memarg as usize];
                let memory = &store.inner.memories[instance!().memories[memory as usize] as usize];
                let Some(at) = effective(get!(addr), offset, n as u64, memory.size_bytes()) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let raw = le_bytes(&memory.data()[at..at + n]);
                set128!(dst, simd::finish_load(op, raw))
            }
            I::V128StoreX {
                addr,
                value,
                memarg,
            } => {
                let (memory, offset) = side_tables!().memargs[memarg as usize];
                let memory_index = instance!().memories[memory as usize] as usize;
                let memory = &mut store.inner.memories[memory_index];
                let Some(at) = effective(get!(addr), offset, 16, memory.size_bytes()) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let bytes = get128!(value).to_le_bytes();
                memory.data_mut()[at..at + 16].copy_from_slice(&bytes);
            }
            I::V128LoadLane {
                width,
                dst,
                base,
                memarg,
                lane,
            } => {
                let n = width.bytes();
                let (memory, offset) = side_tables!().memargs[memarg as usize];
                let memory = &store.inner.memories[instance!().memories[memory as usize] as usize];
                let Some(at) = effective(get!(base), offset, n as u64, memory.size_bytes()) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let value = le_bytes(&memory.data()[at..at + n]) as u64;
                let vector = get128!(base + 1);
                set128!(
                    dst,
                    simd::replace_lane(lane_replace_op(width), vector, value, lane)
                )
            }
            I::V128StoreLane {
                width,
                base,
                memarg,
                lane,
            } => {
                let n = width.bytes();
                let (memory, offset) = side_tables!().memargs[memarg as usize];
                let memory_index = instance!().memories[memory as usize] as usize;
                let memory = &mut store.inner.memories[memory_index];
                let Some(at) = effective(get!(base), offset, n as u64, memory.size_bytes()) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let bytes = (get128!(base + 1) >> (lane as u32 * n as u32 * 8)).to_le_bytes();
                memory.data_mut()[at..at + n].copy_from_slice(&bytes[..n]);
            }

            // ----- comparisons -----

            // ----- integer arithmetic -----
            // ----- register-immediate forms -----

            // ----- float arithmetic -----

            // ----- unary -----

            // Everything else runs in threaded code until an instruction needs this loop again.
            _ => {
                // SAFETY: `ip` was advanced past this instruction, inside the function's code.
                let at = unsafe { ip.sub(1) };
                debug_assert!(
                    (mem_base, mem_len) == memory_zero(&store.inner, cur.instance),
                    "stale memory-0 registers: a memory moved or grew without `refresh_memory!`"
                );
                calls.frames = &mut stack.frames;
                calls.cur = cur;
                calls.fp = fp;
                // The stack may have grown (and moved) since the last time.
                calls.slots = slots;
                calls.slots_len = slots_len;
                // SAFETY: `at` is an instruction of the code at `cur.code`, whose frame is at `frame`
                // (entered with `frame_size` slots in bounds), and `mem_base..+mem_len` is memory 0
                // of the current instance (re-read after everything that can move or grow it, and
                // checked above in debug builds).
                let exit = unsafe { fast::run(at, frame, mem_base, mem_len, &mut calls) };
                // Threaded code may have called or returned.
                cur = calls.cur;
                fp = calls.fp;
                // SAFETY: `fp` is a frame the threaded code entered (in bounds) or the current one.
                frame = unsafe { slots.add(fp) };
                ip = exit.ip;
                if let Some(kind) = exit.trap_kind() {
                    trap!(kind)
                }
                // A slow instruction without an arm above would come straight back here forever.
                assert!(ip != at, "no executor for {:?}", *instr);
            }
        }
    }
}
