//! The activation driver: runs ward bytecode on a value stack of untyped 64-bit slots.
//!
//! Every instruction runs in the threaded handlers of `fast` (one per instruction, chained by
//! sibling calls). This file starts an activation ([`invoke`]), runs the handlers ([`run`]) and
//! serves what they ask for (`ops::Request`): host calls, `memory.grow`/`table.grow` and GC heap
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

use super::fast::{self, Exit};
use super::gc_ops;
use super::host::Embedder;
use super::interruption::{self, Verdict};
use super::ops::{self, Flow};
use super::ops::{Calls, Request};
use super::stack::{Current, ExecStack, Frame};
use crate::runtime::gc::SuspendedStack;
use crate::runtime::store::{FuncKind, HostCallSite, StoreInner};
use crate::trap::{FrameInfo, Trap, TrapKind, WasmBacktrace};
use crate::types::slot_count;
use crate::{Error, Result};

/// Most nested activations (host → Wasm → host → …) before calls into Wasm trap with `StackOverflow`.
const MAX_ACTIVATIONS: u32 = 500;

/// Calls store function `func` with raw arguments (two slots per `v128`); returns its raw results.
pub(crate) fn invoke<E: Embedder>(store: &mut E, func: u32, args: &[u64]) -> Result<Vec<u64>> {
    match start(store, func, args, Mode::SYNC)? {
        Outcome::Done(results) => Ok(results),
        Outcome::Paused(_) => unreachable!("only a pausable activation pauses"),
    }
}

/// [`invoke`], except that running out of fuel pauses the activation instead of trapping: the
/// outcome then holds everything needed to go on ([`resume`]). Called only from outside any
/// activation (a host function's native frame cannot be paused).
pub(crate) fn invoke_pausable<E: Embedder>(
    store: &mut E,
    func: u32,
    args: &[u64],
    mode: Mode,
) -> Result<Outcome> {
    debug_assert_eq!(store.inner().activations, 0);
    start(store, func, args, mode)
}

/// What makes an activation pause instead of trapping or failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    /// Running out of fuel and interruption points pause.
    pub pause: bool,
    /// A call of an async host function pauses, for the async driver to await it.
    pub async_hosts: bool,
}

impl Mode {
    /// Nothing pauses: `Func::call`.
    pub const SYNC: Mode = Mode {
        pause: false,
        async_hosts: false,
    };
    /// Fuel and interruption pause: `Func::call_resumable`.
    pub const RESUMABLE: Mode = Mode {
        pause: true,
        async_hosts: false,
    };
    /// Everything pauses: `Func::call_async`.
    pub const ASYNC: Mode = Mode {
        pause: true,
        async_hosts: true,
    };
}

/// How a pausable activation ended.
pub(crate) enum Outcome {
    /// The entry function returned these raw results.
    Done(Vec<u64>),
    /// Fuel ran out, or an interruption point fired.
    Paused(Box<Paused>),
}

/// A paused activation: its stack, frame records and registers, owned by no store. Plain data; the
/// store's instances and modules it names must be the ones of the store it resumes in (the snapshot
/// code checks that for restored ones).
pub(crate) struct Paused {
    pub stack: ExecStack,
    /// The store function the activation was entered with (its results are returned at the end).
    pub entry: u32,
    pub cur: Current,
    /// Frame pointer of the current function.
    pub fp: usize,
    /// Instruction index in the current function to go on at: the metering instruction that
    /// found too little fuel, or the one after the interruption point that fired.
    pub ip: u32,
    pub reason: PauseReason,
}

impl Paused {
    /// The trap the activation would have ended with had it not been pausable.
    pub(crate) fn trap(&self, store: &StoreInner) -> Trap {
        // A backtrace names the instruction before the position it is given: one past the
        // metering instruction, or the position after the interruption point.
        let (kind, at) = match self.reason {
            PauseReason::OutOfFuel => (TrapKind::OutOfFuel, self.ip + 1),
            PauseReason::Interrupt | PauseReason::HostCall { .. } => (TrapKind::Interrupt, self.ip),
        };
        Trap::new(kind, backtrace(store, (&self.cur, at), self.stack.frames()))
    }
}

/// Goes on with a paused activation (after fuel was added); pauses again if fuel runs out again.
pub(crate) fn resume<E: Embedder>(store: &mut E, paused: Paused, mode: Mode) -> Result<Outcome> {
    resume_with(store, paused, mode, None)
}

/// Goes on with an activation paused at a call of an async host function, whose outcome the async
/// driver brings (its results already written to the callee's slots).
pub(crate) fn resume_after_host<E: Embedder>(
    store: &mut E,
    paused: Paused,
    outcome: Result<()>,
    mode: Mode,
) -> Result<Outcome> {
    let PauseReason::HostCall { callee, fp, tail } = paused.reason else {
        unreachable!("resume_after_host of a call paused elsewhere")
    };
    let n_results = slot_count(store.inner().funcs[callee as usize].sig.results());
    let host = HostReturn {
        fp,
        tail,
        n_results,
        outcome,
    };
    resume_with(store, paused, mode, Some(host))
}

fn resume_with<E: Embedder>(
    store: &mut E,
    paused: Paused,
    mode: Mode,
    host: Option<HostReturn>,
) -> Result<Outcome> {
    debug_assert_eq!(store.inner().activations, 0);
    let Paused {
        stack,
        entry,
        cur,
        fp,
        ip,
        reason: _,
    } = paused;
    let n_results = slot_count(store.inner().funcs[entry as usize].sig.results());
    let start = Start::Resume { cur, fp, ip, host };
    activate(store, stack, entry, start, mode, n_results)
}

/// Starts an activation of store function `func`.
fn start<E: Embedder>(store: &mut E, func: u32, args: &[u64], mode: Mode) -> Result<Outcome> {
    let n_results = slot_count(store.inner().funcs[func as usize].sig.results());
    let (instance, index) = match store.inner().funcs[func as usize].kind {
        FuncKind::Host { .. } => {
            let mut buffer = args.to_vec();
            buffer.resize(args.len().max(n_results), 0);
            // SAFETY: the buffer is a local this call owns, `buffer.len()` slots long.
            unsafe { store.call_host(func, buffer.as_mut_ptr(), buffer.len(), None) }?;
            buffer.truncate(n_results);
            return Ok(Outcome::Done(buffer));
        }
        FuncKind::AsyncHost { .. } => {
            return Err(Error::Usage(
                "an async host function cannot be called synchronously (use `call_async`)".into(),
            ));
        }
        FuncKind::Wasm { instance, index } => (instance, index),
    };
    if store.inner().activations >= MAX_ACTIVATIONS {
        return Err(Trap::new(TrapKind::StackOverflow, WasmBacktrace::default()).into());
    }
    // A lazily translated function is translated here at its first call (which may fail only on a
    // compile limit).
    let frame_size = store.inner().instances[instance as usize]
        .module
        .inner
        .compiled(index)?
        .frame_size;
    let max_stack = store.inner().engine.config().max_wasm_stack;
    let mut stack = store
        .inner()
        .stacks
        .pop()
        .unwrap_or_else(|| ExecStack::new(max_stack));
    let needed = (frame_size as usize).max(args.len());
    if needed > stack.usable() && !stack.grow_to(needed) {
        store.inner().stacks.push(stack);
        return Err(Trap::new(TrapKind::StackOverflow, WasmBacktrace::default()).into());
    }
    stack.slots[..args.len()].copy_from_slice(args);
    stack.frames.clear();
    activate(store, stack, func, Start::Entry, mode, n_results)
}

/// Runs an activation on `stack` and accounts for it in the store: the stack goes back to the
/// store's pool unless the activation paused (then the outcome owns it).
fn activate<E: Embedder>(
    store: &mut E,
    mut stack: ExecStack,
    entry: u32,
    start: Start,
    mode: Mode,
    n_results: usize,
) -> Result<Outcome> {
    let suspended = store.inner().suspended_stacks.len();
    let host_calls = store.inner().host_calls.len();
    store.inner().activations += 1;
    // A host function may panic, and an embedder may catch that panic (servers do) and go on
    // using the store. The per-call state is therefore restored on the way out whether `run`
    // returns or unwinds: the activation count, the deadline, and above all the GC roots that
    // host calls of this activation registered, which name `stack` and must not outlive it.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run(store, &mut stack, entry, start, mode)
    }));
    store.inner().activations -= 1;
    if store.inner().activations == 0 {
        // A wall-clock deadline covers one outermost call (see `limits`).
        store.inner().wall_clock.disarm();
    }
    match outcome {
        Ok(Ok(RunEnd::Done)) => {
            let results = stack.slots[..n_results].to_vec();
            store.inner().stacks.push(stack);
            Ok(Outcome::Done(results))
        }
        Ok(Ok(RunEnd::Paused {
            cur,
            fp,
            ip,
            reason,
        })) => Ok(Outcome::Paused(Box::new(Paused {
            stack,
            entry,
            cur,
            fp,
            ip,
            reason,
        }))),
        Ok(Err(e)) => {
            store.inner().stacks.push(stack);
            Err(e)
        }
        Err(panic) => {
            store.inner().suspended_stacks.truncate(suspended);
            store.inner().host_calls.truncate(host_calls);
            store.inner().stacks.push(stack);
            std::panic::resume_unwind(panic);
        }
    }
}

/// Where `run` begins.
enum Start {
    /// At the entry function's first instruction, its arguments in the first slots.
    Entry,
    /// Where a paused activation stopped, with the outcome of the async host call it made.
    Resume {
        cur: Current,
        fp: usize,
        ip: u32,
        host: Option<HostReturn>,
    },
}

/// A host call that came back: its arguments' (and results') place, whether it was a tail call,
/// and how it ended.
struct HostReturn {
    fp: usize,
    tail: bool,
    n_results: usize,
    outcome: Result<()>,
}

/// How `run` ended without an error.
enum RunEnd {
    Done,
    Paused {
        cur: Current,
        fp: usize,
        ip: u32,
        reason: PauseReason,
    },
}

/// Why a pausable activation paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PauseReason {
    /// Fuel ran out at a metering point; nothing of the run it meters had executed.
    OutOfFuel,
    /// An interruption point fired (epoch deadline, interrupt request, wall-clock deadline).
    Interrupt,
    /// A call of async host function `callee`, its arguments in the slots from `fp`; `tail` for a
    /// tail call.
    HostCall { callee: u32, fp: usize, tail: bool },
}

/// [`call_host`] from a running activation whose value stack starts at `slots`, with the
/// arguments in the `width` slots from `args_at`: the stack up to the end of the arguments is
/// registered as GC roots while the host runs. Out of line to keep `run`'s loop small.
///
/// # Safety
/// `slots` is the base pointer of the running activation's stack and `args_at + width` slots from
/// it are in bounds.
#[inline(never)]
unsafe fn call_host_suspended<E: Embedder>(
    store: &mut E,
    func: u32,
    slots: NonNull<u64>,
    args_at: usize,
    width: usize,
    instance: Option<u32>,
) -> Result<()> {
    store.inner().suspended_stacks.push(SuspendedStack {
        slots,
        live: args_at + width,
    });
    // SAFETY: the slots are in bounds (the caller's contract) and belong to this activation, which
    // does not run until the host returns; nested activations run on other stacks, and the
    // collector only reads this one through the entry pushed above.
    let outcome = unsafe { store.call_host(func, slots.as_ptr().add(args_at), width, instance) };
    store.inner().suspended_stacks.pop();
    outcome
}

/// The backtrace of the Wasm code that called the host function running now: the innermost
/// activation suspended in a host call (`StoreInner::host_calls`), empty if there is none.
pub(crate) fn host_call_backtrace(store: &StoreInner) -> WasmBacktrace {
    let Some(site) = store.host_calls.last() else {
        return WasmBacktrace::default();
    };
    // SAFETY: an entry names the frame records of an activation suspended in a host call, which
    // neither moves nor changes them until the host returns and the entry is popped (see the
    // `Request::HostCall` arm of `run`); only shared access is made here.
    let frames = unsafe { std::slice::from_raw_parts(site.frames, site.n_frames) };
    backtrace(store, (&site.cur, site.ip), frames)
}

/// The backtrace of the activation: the current function at `ip`, then the suspended callers from
/// the innermost outwards. Only the frames the backtrace keeps are looked up (see
/// `WasmBacktrace::capture`), so a trap at a depth of 200,000 frames costs no more than one at 100.
fn backtrace(store: &StoreInner, current: (&Current, u32), frames: &[Frame]) -> WasmBacktrace {
    WasmBacktrace::from_frames(frames.len() + 1, |depth| {
        let (cur, ip) = match depth.checked_sub(1) {
            None => current,
            Some(outwards) => {
                let frame = &frames[frames.len() - 1 - outwards];
                (&frame.cur, frame.ip)
            }
        };
        frame_info(store, cur, ip)
    })
}

/// The backtrace frame of function `cur` at the instruction before `ip`.
fn frame_info(store: &StoreInner, cur: &Current, ip: u32) -> FrameInfo {
    let module = &store.instances[cur.instance as usize].module.inner;
    let compiled = module.translated(cur.index);
    let func_index = module.num_imported_funcs + cur.index;
    let at = (ip as usize).saturating_sub(1);
    let module_offset = compiled.offsets.get(at).map(|o| *o as usize);
    let body_start = module.body_starts.get(cur.index as usize);
    FrameInfo {
        func_index,
        func_name: module.func_name(func_index).map(str::to_string),
        module_name: module.name.clone(),
        module_offset,
        instance: Some(cur.instance),
        func_offset: module_offset
            .zip(body_start)
            .and_then(|(at, start)| at.checked_sub(*start as usize)),
    }
}

/// The backtrace of the suspended callers of the current function, innermost first (the frames
/// that follow the compiled code's own in the backtrace of a trap in compiled code).
#[cfg(feature = "cranelift")]
fn callers_backtrace(store: &StoreInner, frames: &[Frame]) -> WasmBacktrace {
    WasmBacktrace::from_frames(frames.len(), |depth| {
        let frame = &frames[frames.len() - 1 - depth];
        frame_info(store, &frame.cur, frame.ip)
    })
}

/// Runs the machine code of the current function on its frame: the function's code, for a
/// compiled function whose interpreter code is the stub `EnterNative` (see `native`) or a
/// tier-up entry, or with `loop_offset` the code that enters it at that loop header (on-stack
/// replacement: the frame's locals are in its first slots). The function then returns as from a
/// tail call of a host function (its results in the frame's first slots, or an error that
/// unwinds to its callers). A trap ends the activation: its backtrace is complete (the compiled
/// frames, then the activation's callers).
#[cfg(feature = "cranelift")]
fn run_native<E: Embedder>(
    store: &mut E,
    calls: &Calls,
    slots_base: NonNull<u64>,
    frames: &[Frame],
    loop_offset: Option<u32>,
) -> Result<HostReturn> {
    let (instance, index) = (calls.cur.instance, calls.cur.index);
    let frame_end = calls.fp + calls.cur.compiled().frame_size as usize;
    // The activation's slots are GC roots while compiled code runs: its callees may collect.
    store.inner().suspended_stacks.push(SuspendedStack {
        slots: slots_base,
        live: frame_end,
    });
    // SAFETY: the frame was entered with `frame_size` slots in bounds from `calls.fp`, at least
    // the function's parameters and results (a stub) or all its locals (full code); nothing else
    // touches them until compiled code returns.
    let outcome = unsafe {
        crate::native::context::enter(
            store,
            instance,
            index,
            slots_base.as_ptr().add(calls.fp),
            loop_offset,
        )
    };
    store.inner().suspended_stacks.pop();
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err(crate::native::context::Failure::Error(e)) => Err(e),
        Err(crate::native::context::Failure::Trap { kind, backtrace }) => {
            let callers = callers_backtrace(store.inner(), frames);
            return Err(Error::Trap(Trap::new(kind, backtrace.join(callers))));
        }
    };
    let module = calls.cur.module();
    let sig = &module.func_sigs[(module.num_imported_funcs + index) as usize];
    Ok(HostReturn {
        fp: calls.fp,
        tail: true,
        n_results: slot_count(sig.results()),
        outcome,
    })
}

/// Runs store function `entry` (a Wasm function) whose arguments are in `stack.slots[0..]`; leaves its
/// results in `stack.slots[0..]`.
///
/// The handlers run until one traps, the outermost function returns, or a handler asks for
/// something (`Request`) that needs the embedder's store or moves the value stack; this loop
/// serves it and runs the handlers again.
fn run<E: Embedder>(
    store: &mut E,
    stack: &mut ExecStack,
    entry: u32,
    start: Start,
    mode: Mode,
) -> Result<RunEnd> {
    let entering = matches!(start, Start::Entry);
    let (cur, fp, at, mut returned) = match start {
        Start::Entry => (ops::current_of(store.inner(), entry)?, 0, 0, None),
        Start::Resume { cur, fp, ip, host } => (cur, fp, ip, host),
    };
    // The one base pointer every slot access of this activation is derived from (see
    // `ExecStack`), taken again only when the stack grows.
    let mut slots_base =
        NonNull::new(stack.slots.as_mut_ptr()).expect("a Vec's pointer is not null");
    let mut calls = Calls {
        frames: &mut stack.frames,
        slots: slots_base.as_ptr(),
        slots_len: stack.usable(),
        max_frames: stack.max_frames,
        frame_room: 0,
        cur,
        fp,
        store: std::ptr::null_mut(),
        global_map: std::ptr::null(),
        globals: std::ptr::null_mut(),
        request: Request::None,
    };
    if entering {
        // Zero the entry function's declared locals (through `calls.slots`: indexing
        // `stack.slots` would create a reference that invalidates it).
        let compiled = cur.compiled();
        for local in compiled.num_params..compiled.num_locals {
            // SAFETY: `num_locals <= frame_size <= slots_len` (checked by `start`).
            unsafe { *calls.slots.add(local as usize) = 0 };
        }
    }
    // SAFETY: `at` is an instruction index of the current function: 0, or where a paused
    // activation stopped (checked when it was restored from a snapshot).
    let mut ip = unsafe { cur.code.add(at as usize) };

    // Leaves the activation with a trap at the instruction before `$at`.
    macro_rules! trap {
        ($kind:expr, $at:expr) => {{
            let at: *const crate::interp::bytecode::Instr = $at;
            // SAFETY: `at` points into (or one past an instruction of) the current function.
            let index = unsafe { calls.cur.index_of(at) };
            let bt = backtrace(store.inner(), (&calls.cur, index), &stack.frames);
            return Err(Error::Trap(Trap::new($kind, bt)));
        }};
    }

    loop {
        // A host call came back (or, resuming, the async driver brought its outcome): the caller
        // goes on, returns for a tail call, or unwinds an exception the host threw.
        if let Some(HostReturn {
            fp,
            tail,
            n_results,
            outcome,
        }) = returned.take()
        {
            match outcome {
                Ok(()) if tail => {
                    // SAFETY: both ranges lie inside the current frame.
                    unsafe {
                        std::ptr::copy(calls.slots.add(fp), calls.slots.add(calls.fp), n_results)
                    };
                    calls.frames = &mut stack.frames;
                    match ops::return_to_caller(&mut calls) {
                        Flow::Done => return Ok(RunEnd::Done),
                        Flow::Switch { at } => {
                            // SAFETY: the caller's return address is an instruction of it.
                            ip = unsafe { calls.cur.code.add(at as usize) };
                        }
                        _ => unreachable!("a return returns or is done"),
                    }
                }
                Ok(()) => {}
                Err(Error::Exception(exn)) if exn.store == store.inner().id => {
                    calls.store = store.inner();
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
        // Pointers into the store and the frame records are derived again for every run (after
        // the last use of the store here): the driver used both since the last one.
        calls.frames = &mut stack.frames;
        calls.refresh_frame_room();
        // SAFETY: `calls.fp` is a frame entered on the slots, in bounds.
        let frame = unsafe { calls.slots.add(calls.fp) };
        let (mem_base, mem_len) = ops::memory_zero(store.inner(), calls.cur.instance);
        calls.store = store.inner();
        calls.derive_globals();
        // SAFETY: `ip` is an instruction of the code at `calls.cur.code`, whose frame is at `frame`
        // (entered with `frame_size` slots in bounds), and `mem_base..+mem_len` is memory 0 of the
        // current instance, read just above.
        let exit = unsafe { fast::run(ip, frame, mem_base, mem_len, &mut calls) };
        match exit.status {
            Exit::DONE => return Ok(RunEnd::Done),
            Exit::REQUEST => {}
            _ => {
                let kind = exit
                    .trap_kind()
                    .expect("a handler exit is a request, done or a trap");
                if mode.pause && kind == TrapKind::OutOfFuel {
                    // Only the metering instruction runs out of fuel, and it charges nothing when
                    // it does: going on at it again charges the run it meters.
                    // SAFETY: `exit.ip` is one past that instruction, in the current function.
                    let at = unsafe { calls.cur.index_of(exit.ip.sub(1)) };
                    return Ok(RunEnd::Paused {
                        cur: calls.cur,
                        fp: calls.fp,
                        ip: at,
                        reason: PauseReason::OutOfFuel,
                    });
                }
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
                    trap!(TrapKind::StackOverflow, ip.wrapping_add(1))
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
                let sig = &store.inner().funcs[callee as usize].sig;
                let n_results = slot_count(sig.results());
                let width = slot_count(sig.params()).max(n_results);
                if let FuncKind::AsyncHost { .. } = store.inner().funcs[callee as usize].kind {
                    if !mode.async_hosts {
                        return Err(Error::Usage(
                            "an async host function was called outside `call_async` (use \
                             `Func::call_async` or `TypedFunc::call_async`)"
                                .into(),
                        ));
                    }
                    // The caller goes on at `ip` once the async driver has the host's results.
                    // SAFETY: `ip` is the call's return address, in the current function.
                    let at = unsafe { calls.cur.index_of(ip) };
                    return Ok(RunEnd::Paused {
                        cur: calls.cur,
                        fp: calls.fp,
                        ip: at,
                        reason: PauseReason::HostCall { callee, fp, tail },
                    });
                }
                // Where the host is called from, for `WasmBacktrace::capture` in the host.
                // SAFETY: `ip` is the call's return address, in the current function.
                let at = unsafe { calls.cur.index_of(ip) };
                let frame_end = calls.fp + calls.cur.compiled().frame_size as usize;
                store.inner().host_calls.push(HostCallSite {
                    frames: stack.frames.as_ptr(),
                    n_frames: stack.frames.len(),
                    cur: calls.cur,
                    fp: calls.fp,
                    ip: at,
                    slots: slots_base.as_ptr(),
                    live: frame_end.max(fp + width),
                    callee,
                    args_fp: fp,
                    tail,
                    entry,
                });
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
                store.inner().host_calls.pop();
                returned = Some(HostReturn {
                    fp,
                    tail,
                    n_results,
                    outcome,
                });
            }
            Request::GrowMemory { memory, delta, dst } => {
                let failed = if store.inner().memories[memory].ty().memory64 {
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
                unsafe { *calls.slots.add(calls.fp + dst.index()) = result };
            }
            Request::GrowTable {
                table,
                delta,
                init,
                dst,
            } => {
                let failed = if store.inner().tables[table].ty.table64 {
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
                unsafe { *calls.slots.add(calls.fp + dst.index()) = result };
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
                    Ok(false) => trap!(TrapKind::GcHeapExhausted, ip.wrapping_add(1)),
                    Err(Error::Trap(t)) => trap!(t.kind(), ip.wrapping_add(1)),
                    Err(e) => return Err(e),
                }
            }
            #[cfg(feature = "cranelift")]
            Request::LoopEntry => {
                // SAFETY: `ip` is one past the `TierUpLoop` that asked, in the current function.
                let at = unsafe { calls.cur.index_of(ip.sub(1)) };
                let loop_offset = calls.cur.compiled().offsets[at as usize];
                let (instance, index) = (calls.cur.instance, calls.cur.index);
                if crate::native::tier_up::loop_entry(store.inner(), instance, index, loop_offset) {
                    returned = Some(run_native(
                        store,
                        &calls,
                        slots_base,
                        &stack.frames,
                        Some(loop_offset),
                    )?);
                }
            }
            #[cfg(not(feature = "cranelift"))]
            Request::LoopEntry => {}
            Request::RunNative => {
                #[cfg(feature = "cranelift")]
                {
                    returned = Some(run_native(store, &calls, slots_base, &stack.frames, None)?);
                }
                #[cfg(not(feature = "cranelift"))]
                return Err(Error::Usage(
                    "internal error: machine code in a build without the Cranelift tier".into(),
                ));
            }
            Request::TierUp => {
                #[cfg(feature = "cranelift")]
                crate::native::tier_up::request(store.inner(), calls.cur.instance, calls.cur.index);
            }
            Request::Interrupt => {
                let live = calls.fp + calls.cur.compiled().frame_size as usize;
                match interruption::decide(store, slots_base, live)? {
                    Verdict::Continue => {}
                    Verdict::Interrupt if mode.pause => {
                        // Going on after the interruption point is going on with the code.
                        // SAFETY: `ip` is one past the `CheckInterrupt` that asked.
                        let at = unsafe { calls.cur.index_of(ip) };
                        return Ok(RunEnd::Paused {
                            cur: calls.cur,
                            fp: calls.fp,
                            ip: at,
                            reason: PauseReason::Interrupt,
                        });
                    }
                    Verdict::Interrupt => trap!(TrapKind::Interrupt, ip),
                }
            }
        }
    }
}
