//! The activation driver: runs ward bytecode on a value stack of untyped 64-bit slots.
//!
//! Every instruction runs in the threaded handlers of `fast` (one per instruction, chained by
//! sibling calls). This file starts an activation ([`invoke`]), runs the handlers ([`run`]) and
//! serves what they ask for (`stack::Request`): host calls, `memory.grow`/`table.grow` and GC heap
//! growth (the embedder's resource limiter), interruption (the embedder's epoch callback), a larger
//! value stack; and it turns traps into `Trap`s with a backtrace built from the frame records.
//!
//! One activation runs a whole chain of Wasm calls: a call pushes a small `Frame` record and
//! switches the registers (code, instruction pointer, frame pointer) to the callee, so host stack
//! use does not grow with Wasm call depth and runaway recursion ends in a `StackOverflow` trap. The
//! callee's frame starts where the caller placed the arguments, so arguments and results are never
//! copied. Because no Wasm frame lives on the host stack, the driver could also suspend an
//! activation between two requests.
//!
//! Exceptions unwind the same frame records (`ops::unwind`). Allocation collects first when the
//! heap's threshold is reached, with this activation's slots up to the top of the current frame and
//! the slots of activations suspended in host calls as roots.
//!
//! Called by `func` (`Func::call`) and `instance` (start functions); calls back into the host through the
//! store's host functions.

use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;
use std::sync::Arc;

use super::fast::{self, Exit};
use super::gc_ops;
use super::interruption::{self, Verdict};
use super::ops::{self, Flow};
pub(crate) use super::stack::ExecStack;
use super::stack::{Calls, Current, Frame, Request};
use crate::func::Caller;
use crate::gc::SuspendedStack;
use crate::store::{FuncKind, Store, StoreInner};
use crate::trap::{FrameInfo, Trap, TrapKind, WasmBacktrace};
use crate::values::{Val, push_slots, slot_count, slot_width, vals_from_slots};
use crate::{Error, Result};

/// Most nested activations (host → Wasm → host → …) before calls into Wasm trap with `StackOverflow`.
const MAX_ACTIVATIONS: u32 = 500;

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

/// Runs store function `entry` (a Wasm function) whose arguments are in `stack.slots[0..]`; leaves its
/// results in `stack.slots[0..]`.
///
/// The handlers run until one traps, the outermost function returns, or a handler asks for
/// something (`Request`) that needs the embedder's store or moves the value stack; this loop
/// serves it and runs the handlers again.
fn run<T>(store: &mut Store<T>, stack: &mut ExecStack, entry: u32) -> Result<()> {
    let cur = Current::of(&store.inner, entry)?;
    // The one base pointer every slot access of this activation is derived from (see
    // `ExecStack`), taken again only when the stack grows.
    let mut slots_base =
        NonNull::new(stack.slots.as_mut_ptr()).expect("a Vec's pointer is not null");
    let mut calls = Calls {
        frames: &mut stack.frames,
        slots: slots_base.as_ptr(),
        slots_len: stack.usable(),
        max_frames: stack.max_frames,
        cur,
        fp: 0,
        store: std::ptr::null_mut(),
        request: Request::None,
    };
    // Zero the entry function's declared locals (through `calls.slots`: indexing `stack.slots`
    // would create a reference that invalidates it).
    let compiled = cur.compiled();
    for local in compiled.num_params..compiled.num_locals {
        // SAFETY: `num_locals <= frame_size <= slots_len` (checked by `invoke`).
        unsafe { *calls.slots.add(local as usize) = 0 };
    }
    let mut ip = cur.code;

    // Leaves the activation with a trap at the instruction before `$at`.
    macro_rules! trap {
        ($kind:expr, $at:expr) => {{
            let at: *const crate::interp::bytecode::Instr = $at;
            // SAFETY: `at` points into (or one past an instruction of) the current function.
            let index = unsafe { calls.cur.index_of(at) };
            let bt = backtrace(&store.inner, (&calls.cur, index), &stack.frames);
            return Err(Error::Trap(Trap::new($kind, bt)));
        }};
    }

    loop {
        // Pointers into the store and the frame records are derived again for every run: the
        // driver used both since the last one.
        calls.store = &mut store.inner;
        calls.frames = &mut stack.frames;
        // SAFETY: `calls.fp` is a frame entered on the slots, in bounds.
        let frame = unsafe { calls.slots.add(calls.fp) };
        let (mem_base, mem_len) = ops::memory_zero(&store.inner, calls.cur.instance);
        calls.store = &mut store.inner;
        // SAFETY: `ip` is an instruction of the code at `calls.cur.code`, whose frame is at `frame`
        // (entered with `frame_size` slots in bounds), and `mem_base..+mem_len` is memory 0 of the
        // current instance, read just above.
        let exit = unsafe { fast::run(ip, frame, mem_base, mem_len, &mut calls) };
        match exit.status {
            Exit::DONE => return Ok(()),
            Exit::REQUEST => {}
            _ => {
                let kind = exit
                    .trap_kind()
                    .expect("a handler exit is a request, done or a trap");
                trap!(kind, exit.ip)
            }
        }
        ip = exit.ip;
        match std::mem::take(&mut calls.request) {
            // Go on with fresh registers (without sibling calls, after a switch of function).
            Request::None => {}
            Request::Error(e) => return Err(e),
            Request::GrowStack { needed } => {
                if !stack.grow_to(needed) {
                    // SAFETY: `ip` is the instruction that asked; the trap is reported at it.
                    trap!(TrapKind::StackOverflow, unsafe { ip.add(1) })
                }
                // Growing moved the slots: every pointer into them is derived again (nothing
                // else holds one: the handlers have returned, and this activation's stack is
                // registered as GC roots only while it is suspended in a host call).
                slots_base =
                    NonNull::new(stack.slots.as_mut_ptr()).expect("a Vec's pointer is not null");
                calls.slots = slots_base.as_ptr();
                calls.slots_len = stack.usable();
            }
            Request::HostCall { callee, fp, tail } => {
                let sig = &store.inner.funcs[callee as usize].sig;
                let n_results = slot_count(sig.results());
                let width = slot_count(sig.params()).max(n_results);
                // SAFETY: `slots_base` is this activation's stack and `fp + width <= slots_len`
                // (checked by `ops::call`).
                let outcome = unsafe {
                    call_host_suspended(
                        store,
                        callee,
                        slots_base,
                        fp,
                        width,
                        Some(calls.cur.instance),
                    )
                };
                match outcome {
                    Ok(()) if tail => {
                        // SAFETY: both ranges lie inside the current frame.
                        unsafe {
                            std::ptr::copy(
                                calls.slots.add(fp),
                                calls.slots.add(calls.fp),
                                n_results,
                            )
                        };
                        calls.frames = &mut stack.frames;
                        match ops::return_to_caller(&mut calls) {
                            Flow::Done => return Ok(()),
                            Flow::Switch { at } => {
                                // SAFETY: the caller's return address is an instruction of it.
                                ip = unsafe { calls.cur.code.add(at as usize) };
                            }
                            _ => unreachable!("a return returns or is done"),
                        }
                    }
                    Ok(()) => {}
                    Err(Error::Exception(exn)) if exn.store == store.inner.id => {
                        calls.store = &mut store.inner;
                        calls.frames = &mut stack.frames;
                        match ops::throw(&mut calls, ip, exn.raw, tail) {
                            Flow::Switch { at } => {
                                // SAFETY: landing pads are instruction indices of the function.
                                ip = unsafe { calls.cur.code.add(at as usize) };
                            }
                            Flow::Request(Request::Error(e)) => return Err(e),
                            _ => unreachable!("unwinding lands or leaves"),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Request::GrowMemory { memory, delta, dst } => {
                let failed = if store.inner.memories[memory].ty().memory64 {
                    u64::MAX
                } else {
                    u32::MAX as u64
                };
                let result = match store.grow_memory(memory, delta) {
                    Ok(grown) => grown.unwrap_or(failed),
                    Err(Error::Trap(t)) => trap!(t.kind(), ip),
                    Err(e) => return Err(e),
                };
                // SAFETY: `dst` is a slot of the current frame, in bounds.
                unsafe { *calls.slots.add(calls.fp + dst as usize) = result };
            }
            Request::GrowTable {
                table,
                delta,
                init,
                dst,
            } => {
                let failed = if store.inner.tables[table].ty.table64 {
                    u64::MAX
                } else {
                    u32::MAX as u64
                };
                let result = match store.grow_table(table, delta, init) {
                    Ok(grown) => grown.unwrap_or(failed),
                    Err(Error::Trap(t)) => trap!(t.kind(), ip),
                    Err(e) => return Err(e),
                };
                // SAFETY: `dst` is a slot of the current frame, in bounds.
                unsafe { *calls.slots.add(calls.fp + dst as usize) = result };
            }
            Request::GrowHeap { words } => {
                let live_len = calls.fp + calls.cur.compiled().frame_size as usize;
                // SAFETY: the slots up to the end of the current frame are in bounds; nothing
                // writes them while the collector reads them.
                let live = unsafe { std::slice::from_raw_parts(calls.slots, live_len) };
                match gc_ops::make_room(store, live, words) {
                    // The instruction (at `ip`, which changed nothing before asking) runs again.
                    Ok(true) => {}
                    // SAFETY: `ip` is the instruction that asked; the trap is reported at it.
                    Ok(false) => trap!(TrapKind::GcHeapExhausted, unsafe { ip.add(1) }),
                    Err(Error::Trap(t)) => trap!(t.kind(), unsafe { ip.add(1) }),
                    Err(e) => return Err(e),
                }
            }
            Request::Interrupt => {
                let live = calls.fp + calls.cur.compiled().frame_size as usize;
                match interruption::decide(store, slots_base, live)? {
                    Verdict::Continue => {}
                    Verdict::Interrupt => trap!(TrapKind::Interrupt, ip),
                }
            }
        }
    }
}
