//! The threaded executor: runs straight-line and branching code that needs nothing but the frame's
//! slots and memory 0, one small handler function per instruction.
//!
//! Each handler decodes its instruction, does its work and ends by calling the handler of the next
//! instruction (looked up by the instruction's tag in [`HANDLERS`]) with the same six registers:
//! instruction pointer, frame pointer, memory-0 base and length, the handler table and the call
//! stack. Branch targets are relative to the branch. In optimized builds those calls are sibling calls (`jmp`), so the executor's
//! state stays in machine registers and every instruction ends in its own indirect jump, which the
//! branch predictor learns per instruction. That is about half the dispatch cost of one big `match`
//! (callgrind: 8 instructions per dispatch there, with the memory registers spilled to the stack).
//!
//! Every instruction has exactly one handler here, including calls, returns, globals, tables, bulk
//! memory, GC, exceptions, fuel and interruption checks. Handlers that reach the store do so
//! through `ops` (and `gc_ops`/`atomic_ops`), never through `StoreInner`'s fields; what needs the
//! embedder's `Store<T>` (host calls, the resource limiter, the epoch callback, growing the value
//! stack) they ask of the driver `exec::run` by returning [`Exit::REQUEST`] with a
//! [`Request`](super::ops::Request) in the activation. A trap also returns, with its kind.
//!
//! Sibling calls are an optimization LLVM makes, not a language guarantee. `build.rs` sets
//! `ward_tail_calls` only for optimized builds on targets where LLVM performs them; elsewhere every
//! handler returns to the loop in [`run`] instead ([`Exit::CONTINUE`]), which is slower but never
//! grows the host stack. The test `handlers_do_not_grow_the_stack` runs every handler in a long loop
//! on a small thread stack, so a handler that stopped compiling to a jump fails the build's tests.
//!
//! Called by `exec::run`.

use super::bytecode::{INSTR_COUNT, Instr, InstrTable, Slot, handler_table};
use super::float::{
    canonical_f32, canonical_f32x4, canonical_f64, canonical_f64x2, fmax32, fmax64, fmin32, fmin64,
    round32, round64,
};
use super::ops::{self, Flow};
use super::ops::{Calls, Request};
use super::simd;
use super::stack::FRAME_SLACK;
use crate::trap::TrapKind;
use std::sync::atomic::Ordering;

/// Why the threaded executor returned, and where.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exit {
    /// With [`Exit::REQUEST`]: where to go on once the request is served. With a trap status: the
    /// instruction after the one that trapped.
    pub ip: *const Instr,
    /// [`Exit::REQUEST`], [`Exit::DONE`], [`Exit::CONTINUE`] or a trap ([`Exit::trap_kind`]).
    pub status: usize,
}

/// Every trap kind, in declaration order: a trap's status is its kind's discriminant plus one
/// (the test `trap_statuses_round_trip` checks the order).
const TRAPS: [TrapKind; 25] = [
    TrapKind::Unreachable,
    TrapKind::MemoryOutOfBounds,
    TrapKind::TableOutOfBounds,
    TrapKind::UndefinedElement,
    TrapKind::UninitializedElement,
    TrapKind::IndirectCallTypeMismatch,
    TrapKind::IntegerDivisionByZero,
    TrapKind::IntegerOverflow,
    TrapKind::BadConversionToInteger,
    TrapKind::NullReference,
    TrapKind::NullFunctionReference,
    TrapKind::StackOverflow,
    TrapKind::OutOfBoundsSegmentAccess,
    TrapKind::OutOfFuel,
    TrapKind::Interrupt,
    TrapKind::MemoryLimitExceeded,
    TrapKind::TableLimitExceeded,
    TrapKind::NullStructReference,
    TrapKind::NullArrayReference,
    TrapKind::NullI31Reference,
    TrapKind::ArrayOutOfBounds,
    TrapKind::CastFailure,
    TrapKind::GcHeapExhausted,
    TrapKind::UnalignedAtomic,
    TrapKind::AtomicWaitOnUnsharedMemory,
];

impl Exit {
    /// The handler asks the driver for something (`Calls::request`), then to go on at `ip`.
    pub(crate) const REQUEST: usize = 0;
    /// The activation's outermost function returned.
    pub(crate) const DONE: usize = usize::MAX - 1;
    /// Only without sibling calls: the handler finished, continue at `ip`.
    #[cfg_attr(ward_tail_calls, allow(dead_code))]
    const CONTINUE: usize = usize::MAX;

    /// The status of a trap of `kind`.
    #[inline(always)]
    fn trap(ip: *const Instr, kind: TrapKind) -> Exit {
        Exit {
            ip,
            status: kind as usize + 1,
        }
    }

    /// The trap this exit reports, if it reports one.
    pub(crate) fn trap_kind(self) -> Option<TrapKind> {
        match self.status {
            Exit::REQUEST | Exit::DONE | Exit::CONTINUE => None,
            status => TRAPS.get(status - 1).copied(),
        }
    }
}

/// A handler: `(ip, frame, memory-0 base, memory-0 length, handler table, call stack)`. The table
/// travels in a register because reading it from its `static` took a load through the GOT per
/// dispatch; branch targets are relative, so no register holds the function's first instruction.
/// `extern "C"` pins the calling convention, so that every handler passes the five registers the
/// same way and a call from one to the next can be a jump.
type Handler =
    unsafe extern "C" fn(*const Instr, *mut u64, *mut u8, u64, *const Entry, *mut Calls) -> Exit;

/// An entry of the handler table (a struct so that the handler type can name its own table).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Entry(Handler);

/// Runs threaded code from `ip` until a handler asks the driver (`exec::run`) for something, the
/// activation's outermost function returns, or an instruction traps.
///
/// # Safety
/// `ip` points into the code of a translated function (`calls.cur`) whose frame of `frame_size`
/// slots is at `frame`; `mem..mem + mem_len` is memory 0 of the function's instance
/// (or `mem_len` is 0); `calls` describes the activation's stack, with `calls.cur` and `calls.fp`
/// the function and frame being run.
#[inline]
pub(crate) unsafe fn run(
    ip: *const Instr,
    frame: *mut u64,
    mem: *mut u8,
    mem_len: u64,
    calls: *mut Calls,
) -> Exit {
    let table: *const Entry = HANDLERS.as_ptr();
    let (mut ip, mut frame) = (ip, frame);
    loop {
        // SAFETY: the caller's contract is each handler's contract; a handler returning
        // `CONTINUE` leaves `ip` at the next instruction.
        let exit = unsafe { handler(table, ip)(ip, frame, mem, mem_len, table, calls) };
        if exit.status != Exit::CONTINUE {
            return exit;
        }
        ip = exit.ip;
        // A call or return may have switched frames: the call stack records the current one
        // (`Exit` carries only the instruction pointer). Memory 0 stays: handlers that switch to
        // another instance, or grow a memory, return to the driver instead.
        if !calls.is_null() {
            // SAFETY: `calls` is `exec::run`'s call stack, whose `fp` is the frame of the
            // function `ip` belongs to, in bounds of its slots.
            frame = unsafe { (*calls).slots.add((*calls).fp) };
        }
    }
}

/// The handler of the instruction at `ip`.
///
/// # Safety
/// `ip` points to an instruction.
#[inline(always)]
unsafe fn handler(table: *const Entry, ip: *const Instr) -> Handler {
    // SAFETY: `table` is `HANDLERS`; `Instr` is `repr(u16)`, so its first two bytes are the tag,
    // which is below `INSTR_COUNT`, the table's length.
    unsafe { (*table.add(*(ip as *const u16) as usize)).0 }
}

/// Zeroes slots `from..to` of `frame` (a callee's declared locals), in chunks of four slots.
///
/// Volatile stores: as a plain loop LLVM turns this into a `memset` call, and a call anywhere in a
/// handler makes it save and restore registers on every run (callgrind: 64 instructions per `call`
/// on `fib` with it, most of them the call's overhead).
///
/// # Safety
/// `frame + to + FRAME_SLACK - 1` must be inside the value stack (a frame of at least `to` slots
/// that fits in the usable slots; the executor allocates `FRAME_SLACK` more).
#[inline(always)]
unsafe fn zero_locals(frame: *mut u64, from: u32, to: u32) {
    let mut at = from as usize;
    while at < to as usize {
        // SAFETY: `at + 3 <= to + FRAME_SLACK - 1` (the caller's contract). Four separate stores:
        // one 32-byte volatile store went through a stack temporary.
        unsafe {
            let p = frame.add(at);
            p.write_volatile(0);
            p.add(1).write_volatile(0);
            p.add(2).write_volatile(0);
            p.add(3).write_volatile(0);
        }
        at += FRAME_SLACK;
    }
}

/// The 64-bit value of a sign-extended 32-bit immediate.
#[inline(always)]
fn sext(imm: u32) -> u64 {
    imm as i32 as i64 as u64
}

/// The exit of an out-of-line handler whose operation said `flow`; `ip` is the instruction after
/// the one run. A switch to another function (a call or return through the store, a landing pad)
/// goes back to the driver, which derives the frame and memory registers again.
fn go_on(flow: Flow, ip: *const Instr, calls: *mut Calls) -> Exit {
    let set_request = |request: Request| {
        // SAFETY: the driver's `Calls`, which nothing else uses while handlers run.
        unsafe { (*calls).request = request };
    };
    match flow {
        Flow::Next => Exit {
            ip,
            status: Exit::CONTINUE,
        },
        Flow::Jump { at } | Flow::Switch { at } => {
            set_request(Request::None);
            Exit {
                // SAFETY: `ops` left an instruction index of the (new) current function.
                ip: unsafe { (*calls).cur.code.add(at as usize) },
                status: Exit::REQUEST,
            }
        }
        Flow::Trap(kind) => Exit::trap(ip, kind),
        Flow::Request(request) => {
            set_request(request);
            Exit {
                ip,
                status: Exit::REQUEST,
            }
        }
        Flow::Retry(request) => {
            set_request(request);
            Exit {
                // SAFETY: `ip` is one past the instruction that asks.
                ip: unsafe { ip.sub(1) },
                status: Exit::REQUEST,
            }
        }
        Flow::Done => Exit {
            ip,
            status: Exit::DONE,
        },
    }
}

/// The rare cases of `Call` and `CallIndirect` (an imported callee, another instance, a host
/// function, a subtype, a trap, a callee not translated yet, a stack that must grow or overflows,
/// frame records that must grow) and every `ReturnCall`: through the store's function table
/// (`ops::call`).
///
/// # Safety
/// As for a handler, with `ip` pointing to the `Call` or `ReturnCall` itself.
unsafe extern "C" fn call_general(
    ip: *const Instr,
    frame: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    table: *const Entry,
    calls: *mut Calls,
) -> Exit {
    // SAFETY: every function ends in a return, so the next instruction exists.
    let next = unsafe { ip.add(1) };
    // SAFETY: the driver's `Calls`, which nothing else uses while handlers run.
    let c = unsafe { &mut *calls };
    // SAFETY: the caller's contract.
    let (callee, base, tail) = match unsafe { *ip } {
        Instr::Call { func, base } => (ops::func_of_instance(c, func), base, false),
        Instr::ReturnCall { func, base } => (ops::func_of_instance(c, func), base, true),
        Instr::CallIndirect { index, base, site } => {
            // SAFETY: `index` is a slot of the current frame, in bounds.
            let index = unsafe { *frame.add(index.index()) };
            match ops::indirect_target(c, index, site) {
                Ok(callee) => (callee, base, false),
                Err(kind) => return go_on(Flow::Trap(kind), next, calls),
            }
        }
        _ => unreachable!("call_general runs calls"),
    };
    let fp = c.fp + base.index();
    let flow = ops::call(c, callee, fp, tail, next);
    let _ = (frame, mem_base, mem_len, table);
    go_on(flow, next, calls)
}

/// The rare cases of `Return*`: out of the activation, or to a caller in another instance.
///
/// # Safety
/// As for a handler, with `ip` pointing to the return instruction itself.
unsafe extern "C" fn return_general(
    ip: *const Instr,
    frame: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    table: *const Entry,
    calls: *mut Calls,
) -> Exit {
    // SAFETY: `ip` is a return instruction (the caller's contract).
    match unsafe { *ip } {
        Instr::Return {} => {}
        // SAFETY: results lie in the frame (translator invariant).
        Instr::ReturnOne { src } => unsafe { *frame = *frame.add(src.index()) },
        // SAFETY: as above; `copy` allows overlap.
        Instr::ReturnSpan { src, len } => unsafe {
            std::ptr::copy(frame.add(src.index()), frame, len as usize)
        },
        _ => unreachable!("return_general runs returns"),
    }
    // SAFETY: the driver's `Calls`, which nothing else uses while handlers run.
    let flow = ops::return_to_caller(unsafe { &mut *calls });
    let _ = (mem_base, mem_len, table);
    // The instruction after a return exists (or is never run: `Done` does not dispatch it, and
    // `Switch` replaces it).
    // SAFETY: `ip` is the return instruction.
    go_on(flow, unsafe { ip.add(1) }, calls)
}

/// Effective address of an access of `size` (at most 16) bytes at `addr + offset` in a 32-bit memory
/// of `len` bytes, if it lies inside. The address is the low 32 bits of its slot (an `i32`), so the
/// sum cannot overflow and one comparison checks it. (The translator uses the memory-0 forms only
/// for a 32-bit memory 0.)
#[inline(always)]
fn effective(addr: u64, offset: u32, size: u64, len: u64) -> Option<usize> {
    within(addr as u32 as u64 + offset as u64 + size, size, len)
}

/// Effective address of an access of `size` bytes that ends at `addr + end`, for the instructions
/// whose immediate is the memarg offset plus the width (`Instr::I32Load`'s `end`): one addition
/// fewer than [`effective`] on the path from the address to the check. The translator emits only
/// `end >= size` (as it emits only slots inside the frame), so the start does not wrap.
#[inline(always)]
fn effective_end(addr: u64, end: u32, size: u64, len: u64) -> Option<usize> {
    within(addr as u32 as u64 + end as u64, size, len)
}

/// The start of an access of `size` bytes ending at `end` (at least `size`) if it lies inside
/// `len` bytes.
#[inline(always)]
fn within(end: u64, size: u64, len: u64) -> Option<usize> {
    // Only the end stays live past the check: the start is `end - size`, which folds into the
    // access's addressing mode. (Computing the start first kept both in registers, and a load
    // handler then had to save a callee-saved register: 19 instructions instead of 15.)
    #[allow(unused_mut)]
    let mut end = end;
    if end > len {
        return None;
    }
    // An empty `asm!` hides how `end` was computed, so LLVM takes the start from it instead of
    // recomputing `addr + offset` (which kept both live). (Miri cannot run inline assembly.)
    // (One-byte accesses compare the start directly, which needs no more registers.)
    #[cfg(all(not(miri), any(target_arch = "x86_64", target_arch = "aarch64")))]
    if size > 1 {
        // SAFETY: the assembly is a comment: no instructions; `end` passes through unchanged.
        unsafe {
            std::arch::asm!("/* {0} */", inout(reg) end, options(pure, nomem, nostack, preserves_flags))
        };
    }
    Some((end - size) as usize)
}

/// Truncates `x` to an integer in `[min, max_exclusive)` or reports the trap.
#[inline]
fn trunc_checked(x: f64, min: f64, max_exclusive: f64) -> Result<f64, TrapKind> {
    if x.is_nan() {
        return Err(TrapKind::BadConversionToInteger);
    }
    let t = x.trunc();
    if t >= min && t < max_exclusive {
        Ok(t)
    } else {
        Err(TrapKind::IntegerOverflow)
    }
}

/// Reads `n` (1, 2, 4, 8 or 16) bytes at `ptr` as a little-endian number.
///
/// # Safety
/// `ptr..ptr + n` must be readable.
#[inline(always)]
unsafe fn read_le(ptr: *const u8, n: usize) -> u128 {
    // SAFETY: (each arm) the caller guarantees `n` readable bytes at `ptr`; reads are unaligned.
    unsafe {
        match n {
            16 => u128::from_le_bytes(std::ptr::read_unaligned(ptr as *const [u8; 16])),
            8 => u64::from_le_bytes(std::ptr::read_unaligned(ptr as *const [u8; 8])) as u128,
            4 => u32::from_le_bytes(std::ptr::read_unaligned(ptr as *const [u8; 4])) as u128,
            2 => u16::from_le_bytes(std::ptr::read_unaligned(ptr as *const [u8; 2])) as u128,
            _ => *ptr as u128,
        }
    }
}

const TWO_31: f64 = 2147483648.0;
const TWO_32: f64 = 4294967296.0;
const TWO_63: f64 = 9223372036854775808.0;
const TWO_64: f64 = 18446744073709551616.0;

/// Defines one handler per listed instruction, and [`HANDLERS`]. Each body sees the instruction's
/// fields as locals and the slot, memory and branch macros defined here.
macro_rules! handlers {
    ($($(#[$mode:ident])? $name:ident { $($field:ident),* } => $body:block)*) => {
        $(
            #[allow(non_snake_case, unused_mut, unused_macros, unused_variables, unreachable_code, unused_assignments)]
            unsafe extern "C" fn $name(
                mut ip: *const Instr,
                mut frame: *mut u64,
                mut mem_base: *mut u8,
                mut mem_len: u64,
                table: *const Entry,
                calls: *mut Calls,
            ) -> Exit {
                // SAFETY: `ip` points to an instruction (the caller's contract), and the table
                // sends only this variant's tag here, so the `else` cannot be reached.
                let &Instr::$name { $($field),* } = (unsafe { &*ip }) else {
                    // SAFETY: as above.
                    unsafe { std::hint::unreachable_unchecked() }
                };
                // SAFETY: every function ends in a return, so the next instruction exists.
                ip = unsafe { ip.add(1) };
                handler_macros!(ip frame mem_base mem_len table calls $);
                $body
                handler_end!($($mode)?; ip frame mem_base mem_len table calls)
            }
        )*

        /// The threaded executor's side of the instruction table: its handler of every
        /// instruction.
        struct Threaded;

        #[allow(non_upper_case_globals)]
        impl InstrTable for Threaded {
            type Entry = Entry;
            $(const $name: Entry = Entry($name);)*
        }

        /// The handler of every instruction tag.
        static HANDLERS: [Entry; INSTR_COUNT] = handler_table::<Threaded>();

        /// Whether `instr`'s handler is out of line (returns to the loop in `run`).
        #[cfg(test)]
        fn is_out_of_line(instr: &Instr) -> bool {
            match instr {
                $(Instr::$name { .. } => is_out_of_line!($($mode)?),)*
            }
        }

        /// One instruction of every variant, with all fields zero.
        #[cfg(test)]
        fn samples() -> Vec<Instr> {
            // SAFETY: as for `HANDLERS`.
            vec![$(Instr::$name { $($field: unsafe { std::mem::zeroed() }),* }),*]
        }
    };
}

/// How a handler goes on to the next instruction: by a sibling call of its handler, or (marked
/// `#[out_of_line]`, and every handler without sibling calls) by returning to the loop in [`run`].
/// Out-of-line handlers call functions that take pointers to their locals (`Flow`, `Request`,
/// `GcFrame` are passed in memory), and LLVM makes no sibling call from a function whose local
/// memory escaped: chaining them would grow the host stack.
macro_rules! handler_end {
    (out_of_line; $ip:ident $frame:ident $mem_base:ident $mem_len:ident $table:ident $calls:ident) => {
        Exit {
            ip: $ip,
            status: Exit::CONTINUE,
        }
    };
    (; $ip:ident $frame:ident $mem_base:ident $mem_len:ident $table:ident $calls:ident) => {{
        #[cfg(ward_tail_calls)]
        {
            // SAFETY: `ip` is the next instruction of the same function (fall-through or a
            // branch target, which the translator keeps inside the function).
            unsafe { handler($table, $ip)($ip, $frame, $mem_base, $mem_len, $table, $calls) }
        }
        #[cfg(not(ward_tail_calls))]
        {
            Exit {
                ip: $ip,
                status: Exit::CONTINUE,
            }
        }
    }};
}

/// Whether a handler mode is `out_of_line` (for tests).
#[cfg(test)]
macro_rules! is_out_of_line {
    (out_of_line) => {
        true
    };
    () => {
        false
    };
}

/// The slot, branch, trap and memory macros of a handler body, over the handler's registers (passed
/// in so that they name the handler's parameters; `$d` is a `$` for the inner macros' variables).
macro_rules! handler_macros {
    ($ip:ident $frame:ident $mem_base:ident $mem_len:ident $table:ident $calls:ident $d:tt) => {
        // SAFETY: (all slot accesses) `exec::run` enters a frame only if `frame_size` slots fit, and
        // the translator only emits slots below the frame size of their function.
        macro_rules! get {
            ($d slot:expr) => {{
                let s: Slot = $d slot;
                // SAFETY: `s` is below the frame size (see above).
                unsafe { *$frame.add(s.index()) }
            }};
        }
        macro_rules! set {
            ($d slot:expr, $d value:expr) => {{
                let s: Slot = $d slot;
                let v: u64 = $d value;
                // SAFETY: `s` is below the frame size (see above).
                unsafe { *$frame.add(s.index()) = v }
            }};
        }
        // Two-slot (v128) values: low half in the first slot. On a little-endian target that is the
        // memory layout of a `u128`, and one 16-byte access lets LLVM keep the value in a vector
        // register (two 8-byte halves made it do lane arithmetic one lane at a time).
        macro_rules! get128 {
            ($d slot:expr) => {{
                let s: Slot = $d slot;
                #[cfg(target_endian = "little")]
                // SAFETY: a v128 operand's two slots lie in the frame (translator invariant).
                let v = unsafe { ($frame.add(s.index()) as *const u128).read_unaligned() };
                #[cfg(not(target_endian = "little"))]
                let v = (get!(s) as u128) | ((get!(s + 1) as u128) << 64);
                v
            }};
        }
        macro_rules! set128 {
            ($d slot:expr, $d value:expr) => {{
                let s: Slot = $d slot;
                let v: u128 = $d value;
                #[cfg(target_endian = "little")]
                // SAFETY: as in `get128!`.
                unsafe {
                    ($frame.add(s.index()) as *mut u128).write_unaligned(v)
                };
                #[cfg(not(target_endian = "little"))]
                {
                    set!(s, v as u64);
                    set!(s + 1, (v >> 64) as u64);
                }
            }};
        }
        // Jump to instruction index `target` of the current function.
        macro_rules! jump {
            ($d target:expr) => {{
                // An empty `asm!` keeps the branch a branch: without it LLVM may compute both
                // successors and pick one with `cmov`, which makes the next dispatch wait for the
                // comparison instead of following the branch predictor (`sieve` ran 1.4x slower
                // that way).
                // (Miri cannot run inline assembly; there it does not matter.)
                #[cfg(all(
                    not(miri),
                    any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")
                ))]
                // SAFETY: empty assembly: no instructions, no memory, stack or flags touched.
                unsafe {
                    std::arch::asm!("", options(nomem, nostack, preserves_flags))
                };
                // SAFETY: branch targets are offsets from the branch to an instruction of the same
                // function (translator invariant); `ip` is one past the branch.
                $ip = unsafe { $ip.sub(1).offset($d target.0 as isize) }
            }};
        }
        // Skip the next `n` instructions.
        macro_rules! skip {
            ($d n:expr) => {
                // SAFETY: the translator emits the instructions skipped over (see `BrTable`).
                $ip = unsafe { $ip.add($d n as usize) }
            };
        }
        // Index of the next instruction within the current function, from the call stack `calls`
        // (the `&mut Calls` the handler holds: reading through the raw pointer instead would
        // invalidate that reference).
        macro_rules! ip_index {
            ($d calls:expr) => {{
                let calls: &Calls = $d calls;
                // SAFETY: `ip` and `calls.cur.code` point into one function's code.
                unsafe { $ip.offset_from(calls.cur.code) as u32 }
            }};
        }
        macro_rules! frame {
            () => {
                $frame
            };
        }
        macro_rules! mem_base {
            () => {
                $mem_base
            };
        }
        macro_rules! mem_len {
            () => {
                $mem_len
            };
        }
        // Hand this instruction to `$d general`, a handler of the same registers for its rare cases
        // (this one has changed nothing yet): a sibling call, so the common path keeps its
        // registers free of what the rare one needs.
        macro_rules! general {
            ($d general:ident) => {
                // SAFETY: `ip` was advanced past this instruction; the general handler takes the
                // instruction itself and the same registers.
                return unsafe { $d general($ip.sub(1), $frame, $mem_base, $mem_len, $table, $calls) }
            };
        }
        // The instruction after this one (the return address of a call).
        macro_rules! next_ip {
            () => {
                $ip
            };
        }
        // A load through a side-table memarg: `n` bytes, then `$d v` (the bytes as a zero-extended
        // number) converted by `$d e`.
        macro_rules! load_x {
            ($d dst:expr, $d addr:expr, $d memarg:expr, $d n:expr, |$d v:ident| $d e:expr) => {
                match ops::load_memarg(calls!(), $d memarg, get!($d addr), $d n) {
                    Ok(raw) => {
                        let $d v = raw as u64;
                        set!($d dst, $d e)
                    }
                    Err(kind) => trap!(kind),
                }
            };
        }
        // A store of the low `n` bytes of `value` through a side-table memarg.
        macro_rules! store_x {
            ($d addr:expr, $d value:expr, $d memarg:expr, $d n:expr) => {
                if let Err(kind) = ops::store_memarg(calls!(), $d memarg, get!($d addr), $d value, $d n) {
                    trap!(kind)
                }
            };
        }
        // This instruction, run by `ops::heap_op` (exceptions, GC, atomics).
        macro_rules! heap {
            () => {{
                let calls = calls!();
                // SAFETY: `ip - 1` is this instruction, of the current function, whose frame is
                // entered and in bounds.
                let instr = unsafe { &*$ip.sub(1) };
                // SAFETY: as above.
                let flow = unsafe { ops::heap_op(calls, instr, $ip) };
                flow!(flow)
            }};
        }
        // Calls defined function `$d index` of the current module with its arguments at `base`:
        // the hot path of `call` and `call_indirect`. The rare cases (a callee not translated yet,
        // a stack that must grow or overflows, frame records that must grow) go to `call_general`.
        macro_rules! call_defined {
            ($d index:expr, $d base:expr) => {{
                let index: u32 = $d index;
                let base: Slot = $d base;
                let calls = calls!();
                let module = calls.cur.module();
                // SAFETY: validation checked the function index, so a defined function's index is below
                // the number of compiled functions.
                let callee = unsafe { &module.interp.funcs.get_unchecked(index as usize).call };
                // A callee not translated yet (lazy translation) has a frame size no stack can take, so
                // the check below sends its call to `call_general`, which translates it (see `CallEntry`).
                let frame_size = callee.frame_size.load(Ordering::Acquire);
                let fp = calls.fp + base.index();
                // SAFETY: the frame records are `exec::run`'s (see `ret!`).
                let frames = unsafe { &mut *calls.frames };
                // `call_general` raises a stack overflow, and grows the frame records (a call here would cost
                // every call the register saves around it).
                let depth = frames.len();
                if fp + frame_size as usize > calls.slots_len || depth >= calls.frame_room {
                    general!(call_general)
                }
                let at = ip_index!(calls);
                // SAFETY: `depth < frame_room <= capacity`, checked above. The fields are written
                // one by one (a whole `Frame` went through a stack temporary).
                unsafe {
                    let record = frames.as_mut_ptr().add(depth);
                    std::ptr::addr_of_mut!((*record).ip).write(at);
                    std::ptr::addr_of_mut!((*record).fp).write(calls.fp);
                    std::ptr::addr_of_mut!((*record).cur).write(calls.cur);
                    frames.set_len(depth + 1);
                }
                // SAFETY: the callee's frame fits (checked above), plus `FRAME_SLACK` slots beyond.
                unsafe {
                    zero_locals(
                        calls.slots.add(fp),
                        callee.num_params.load(Ordering::Relaxed),
                        callee.num_locals.load(Ordering::Relaxed),
                    )
                };
                // The callee is in the same instance and module: only its index and code change. (Writing
                // the whole `Current` made LLVM reload and store the instance, which it cannot assume
                // unchanged across the acquire load above: 2 instructions per call on `fib`.)
                enter_same_module!(index, callee.code.load(Ordering::Relaxed), fp);
            }};
        }
        // The three operands at `base`, `base + 1`, `base + 2` (bulk memory and table instructions).
        macro_rules! span3 {
            ($d base:expr) => {
                (get!($d base), get!($d base + 1), get!($d base + 2))
            };
        }
        // Calls the store function `$d callee` names (or traps with its error) with its arguments
        // at `base`, as a tail call with `$d tail`: through the store's function table.
        macro_rules! call_through_store {
            ($d callee:expr, $d base:expr, $d tail:expr) => {
                match $d callee {
                    Ok(callee) => {
                        let fp = calls!().fp + $d base.index();
                        flow!(ops::call(calls!(), callee, fp, $d tail, next_ip!()))
                    }
                    Err(kind) => trap!(kind),
                }
            };
        }
        // Goes on as an operation of `ops` says (in an out-of-line handler).
        macro_rules! flow {
            ($d flow:expr) => {
                match $d flow {
                    Flow::Next => {}
                    Flow::Jump { at } => {
                        let code = calls!().cur.code;
                        // SAFETY: `at` is an instruction index of the current function.
                        $ip = unsafe { code.add(at as usize) };
                    }
                    other => return go_on(other, $ip, $calls),
                }
            };
        }
        // The activation's call stack.
        macro_rules! calls {
            () => {
                // SAFETY: `exec::run` passes its `Calls`, which nothing else uses while threaded
                // code runs.
                unsafe { &mut *$calls }
            };
        }
        // Continue at the start of defined function `index` of the current module (so in the
        // same instance), whose code starts at `code`, with its frame at slot `fp`.
        macro_rules! enter_same_module {
            ($d index:expr, $d code:expr, $d fp:expr) => {{
                let calls = calls!();
                let code: *const Instr = $d code;
                calls.cur.index = $d index;
                calls.cur.code = code;
                calls.fp = $d fp;
                // SAFETY: `fp` is the start of a frame that fits in the slots (checked by the call).
                $frame = unsafe { calls.slots.add(calls.fp) };
                $ip = code;
            }};
        }
        // Return to the caller once the results are in place (`$d place` moves them), unless this
        // is the activation's outermost frame or the caller is in another instance (its memory
        // registers differ): `return_general` does those.
        macro_rules! ret {
            ($d place:block) => {{
                let calls = calls!();
                // SAFETY: `exec::run` points `frames` at its frame records before running threaded code.
                let frames = unsafe { &mut *calls.frames };
                let Some(depth) = frames.len().checked_sub(1) else { general!(return_general) };
                // SAFETY: `depth < len`. The record's fields are read one by one where they are
                // used, after the results are placed (reading it whole first kept every field in a
                // register across the copy: three more registers saved and restored per return).
                let caller = unsafe { frames.as_ptr().add(depth) };
                // SAFETY: as above.
                if unsafe { (*caller).cur.instance } != calls.cur.instance {
                    general!(return_general)
                }
                $d place
                // SAFETY: `depth < len`.
                unsafe { frames.set_len(depth) };
                // The caller is in the same instance, so in the same module: only its function
                // index and code change (as for a call, `enter_same_module!`).
                let calls = calls!();
                // SAFETY: `caller` is still allocated (`set_len` frees nothing), and nothing wrote it.
                let caller = unsafe { &*caller };
                let (index, code, fp, at) = (caller.cur.index, caller.cur.code, caller.fp, caller.ip);
                calls.cur.index = index;
                calls.cur.code = code;
                calls.fp = fp;
                // SAFETY: `fp` is the caller's frame, entered before (so it fits in the slots).
                $frame = unsafe { calls.slots.add(fp) };
                // SAFETY: `at` is an instruction index of the caller's code.
                $ip = unsafe { code.add(at as usize) };
            }};
        }
        macro_rules! trap {
            ($d kind:expr) => {
                return Exit::trap($ip, $d kind)
            };
        }
        macro_rules! br_cmp {
            ($d target:expr, $d cond:expr) => {{
                if $d cond {
                    jump!($d target)
                }
            }};
        }
        macro_rules! i32_bin {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = get!($d a) as u32;
                let $d y = get!($d b) as u32;
                set!($d dst, ($d e) as u32 as u64)
            }};
        }
        macro_rules! i32_imm {
            ($d dst:expr, $d a:expr, $d imm:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = get!($d a) as u32;
                let $d y: u32 = $d imm;
                set!($d dst, ($d e) as u32 as u64)
            }};
        }
        macro_rules! i64_imm {
            ($d dst:expr, $d a:expr, $d imm:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = get!($d a);
                let $d y: u64 = sext($d imm);
                set!($d dst, ($d e) as u64)
            }};
        }
        // A dedicated v128 binary instruction: `simd::binary` with a constant op folds to the lane code.
        macro_rules! simd_bin {
            ($d dst:expr, $d a:expr, $d b:expr, $d op:ident) => {{
                let r = simd::binary(
                    super::bytecode::V128BinaryOp::$d op,
                    get128!($d a),
                    get128!($d b),
                );
                set128!($d dst, r)
            }};
        }
        macro_rules! i64_bin {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = get!($d a);
                let $d y = get!($d b);
                set!($d dst, ($d e) as u64)
            }};
        }
        // `slot[d] = sum`, then jump to `target` if `cmp(sum, against)`.
        macro_rules! add_br {
            ($d d:expr, $d sum:expr, $d against:expr, $d target:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x: u32 = $d sum;
                let $d y: u32 = $d against;
                set!(Slot::from($d d), $d x as u64);
                if $d e {
                    jump!($d target)
                }
            }};
        }
        // `slot[d] = load`, then jump to `target` if `cmp(value, against)`.
        macro_rules! load_br {
            ($d d:expr, $d addr:expr, $d end:expr, $d n:literal, |$d b:ident| $d value:expr, $d against:expr, $d target:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let Some(at) = effective_end(get!(Slot::from($d addr)), $d end, $d n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d b: [u8; $d n] =
                    // SAFETY: `at + n <= mem_len`, the committed size of memory 0 at `mem_base`.
                    unsafe { std::ptr::read_unaligned($mem_base.add(at) as *const [u8; $d n]) };
                let $d x: u32 = $d value;
                let $d y: u32 = $d against;
                set!(Slot::from($d d), $d x as u64);
                if $d e {
                    jump!($d target)
                }
            }};
        }
        macro_rules! f64_pair {
            ($d dst:expr, $d a:expr, $d b:expr, $d c:expr, |$d x:ident, $d y:ident, $d z:ident| $d e:expr) => {{
                let $d x = f64::from_bits(get!(Slot::from($d a)));
                let $d y = f64::from_bits(get!(Slot::from($d b)));
                let $d z = f64::from_bits(get!(Slot::from($d c)));
                set!($d dst, f64::to_bits($d e))
            }};
        }
        macro_rules! f32_bin {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = f32::from_bits(get!($d a) as u32);
                let $d y = f32::from_bits(get!($d b) as u32);
                set!($d dst, f32::to_bits($d e) as u64)
            }};
        }
        macro_rules! f64_bin {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = f64::from_bits(get!($d a));
                let $d y = f64::from_bits(get!($d b));
                set!($d dst, f64::to_bits($d e))
            }};
        }
        macro_rules! f32_cmp {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = f32::from_bits(get!($d a) as u32);
                let $d y = f32::from_bits(get!($d b) as u32);
                set!($d dst, ($d e) as u64)
            }};
        }
        macro_rules! f64_cmp {
            ($d dst:expr, $d a:expr, $d b:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let $d x = f64::from_bits(get!($d a));
                let $d y = f64::from_bits(get!($d b));
                set!($d dst, ($d e) as u64)
            }};
        }
        macro_rules! un {
            ($d dst:expr, $d src:expr, |$d x:ident| $d e:expr) => {{
                let $d x = get!($d src);
                set!($d dst, $d e)
            }};
        }
        macro_rules! f32_un {
            ($d dst:expr, $d src:expr, |$d x:ident| $d e:expr) => {{
                let $d x = f32::from_bits(get!($d src) as u32);
                set!($d dst, f32::to_bits($d e) as u64)
            }};
        }
        macro_rules! f64_un {
            ($d dst:expr, $d src:expr, |$d x:ident| $d e:expr) => {{
                let $d x = f64::from_bits(get!($d src));
                set!($d dst, f64::to_bits($d e))
            }};
        }
        macro_rules! trunc {
            ($d dst:expr, $d src:expr, $d from:ty, $d min:expr, $d max:expr, $d to:ty) => {{
                let x = <$d from>::from_bits(get!($d src) as _) as f64;
                match trunc_checked(x, $d min, $d max) {
                    Ok(t) => set!($d dst, (t as $d to) as u64),
                    Err(kind) => trap!(kind),
                }
            }};
        }
        // Loads and stores through memory 0.
        macro_rules! load {
            ($d dst:expr, $d addr:expr, $d end:expr, $d n:literal, |$d b:ident| $d e:expr) => {{
                let Some(at) = effective_end(get!($d addr), $d end, $d n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d b: [u8; $d n] =
                    // SAFETY: `at + n <= mem_len`, the committed size of memory 0 at `mem_base`.
                    unsafe { std::ptr::read_unaligned($mem_base.add(at) as *const [u8; $d n]) };
                set!($d dst, $d e)
            }};
        }
        macro_rules! store_mem {
            ($d addr:expr, $d value:expr, $d end:expr, $d n:literal, |$d v:ident| $d e:expr) => {{
                let Some(at) = effective_end(get!($d addr), $d end, $d n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d v = get!($d value);
                let bytes: [u8; $d n] = $d e;
                // SAFETY: as in `load!`.
                unsafe { std::ptr::write_unaligned($mem_base.add(at) as *mut [u8; $d n], bytes) };
            }};
        }
        // Accesses at `(slot[a] + imm) mod 2^32` (an `i32.add` fused into the access).
        macro_rules! load_at {
            ($d dst:expr, $d a:expr, $d imm:expr, $d n:literal, |$d b:ident| $d e:expr) => {{
                let address = (get!($d a) as u32).wrapping_add($d imm) as u64;
                let Some(at) = effective(address, 0, $d n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d b: [u8; $d n] =
                    // SAFETY: as in `load!`.
                    unsafe { std::ptr::read_unaligned($mem_base.add(at) as *const [u8; $d n]) };
                set!($d dst, $d e)
            }};
        }
        macro_rules! store_at {
            ($d a:expr, $d value:expr, $d imm:expr, $d n:literal, |$d v:ident| $d e:expr) => {{
                let address = (get!($d a) as u32).wrapping_add($d imm) as u64;
                let Some(at) = effective(address, 0, $d n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d v = get!($d value);
                let bytes: [u8; $d n] = $d e;
                // SAFETY: as in `load!`.
                unsafe { std::ptr::write_unaligned($mem_base.add(at) as *mut [u8; $d n], bytes) };
            }};
        }
        macro_rules! f64_op_store {
            ($d a:expr, $d b:expr, $d addr:expr, $d end:expr, |$d x:ident, $d y:ident| $d e:expr) => {{
                let Some(at) = effective_end(get!(Slot::from($d addr)), $d end, 8, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                let $d x = f64::from_bits(get!(Slot::from($d a)));
                let $d y = f64::from_bits(get!(Slot::from($d b)));
                let bytes = f64::to_bits($d e).to_le_bytes();
                // SAFETY: as in `load!`.
                unsafe { std::ptr::write_unaligned($mem_base.add(at) as *mut [u8; 8], bytes) };
            }};
        }
        macro_rules! store_imm_at {
            ($d a:expr, $d imm:expr, $d bytes:expr) => {{
                let bytes = $d bytes;
                let address = (get!($d a) as u32).wrapping_add($d imm) as u64;
                let Some(at) = effective(address, 0, bytes.len() as u64, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                // SAFETY: as in `load!`.
                unsafe { std::ptr::write_unaligned($mem_base.add(at) as *mut _, bytes) };
            }};
        }
        macro_rules! store_imm {
            ($d addr:expr, $d end:expr, $d bytes:expr) => {{
                let bytes = $d bytes;
                let n = bytes.len() as u64;
                let Some(at) = effective_end(get!($d addr), $d end, n, $mem_len) else {
                    trap!(TrapKind::MemoryOutOfBounds)
                };
                // SAFETY: as in `load!`.
                unsafe { std::ptr::write_unaligned($mem_base.add(at) as *mut _, bytes) };
            }};
        }
    };
}

handlers! {
    I32LoadBrEq { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x == y) }
    I32LoadBrEqz { d, addr, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), 0, target, |x, y| x == y) }
    I32LoadBrNe { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x != y) }
    I32LoadBrNez { d, addr, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), 0, target, |x, y| x != y) }
    I32LoadBrLtS { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) < (y as i32)) }
    I32LoadBrLtU { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x < y) }
    I32LoadBrGtS { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) > (y as i32)) }
    I32LoadBrGtU { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x > y) }
    I32LoadBrLeS { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) <= (y as i32)) }
    I32LoadBrLeU { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x <= y) }
    I32LoadBrGeS { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) >= (y as i32)) }
    I32LoadBrGeU { d, addr, c, end, target } => { load_br!(d, addr, end, 4, |b| u32::from_le_bytes(b), get!(Slot::from(c)) as u32, target, |x, y| x >= y) }
    I32Load8UBrEq { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x == y) }
    I32Load8UBrEqz { d, addr, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, 0, target, |x, y| x == y) }
    I32Load8UBrNe { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x != y) }
    I32Load8UBrNez { d, addr, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, 0, target, |x, y| x != y) }
    I32Load8UBrLtS { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| (x as i32) < (y as i32)) }
    I32Load8UBrLtU { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x < y) }
    I32Load8UBrGtS { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| (x as i32) > (y as i32)) }
    I32Load8UBrGtU { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x > y) }
    I32Load8UBrLeS { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| (x as i32) <= (y as i32)) }
    I32Load8UBrLeU { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x <= y) }
    I32Load8UBrGeS { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| (x as i32) >= (y as i32)) }
    I32Load8UBrGeU { d, addr, c, end, target } => { load_br!(d, addr, end, 1, |b| b[0] as u32, get!(Slot::from(c)) as u32, target, |x, y| x >= y) }
    I32AddBrEq { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x == y) }
    I32AddImmBrEq { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x == y) }
    I32AddBrEqImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x == y) }
    I32AddImmBrEqImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x == y) }
    I32AddBrNe { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x != y) }
    I32AddImmBrNe { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x != y) }
    I32AddBrNeImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x != y) }
    I32AddImmBrNeImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x != y) }
    I32AddBrLtS { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) < (y as i32)) }
    I32AddImmBrLtS { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) < (y as i32)) }
    I32AddBrLtSImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| (x as i32) < (y as i32)) }
    I32AddImmBrLtSImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| (x as i32) < (y as i32)) }
    I32AddBrLtU { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x < y) }
    I32AddImmBrLtU { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x < y) }
    I32AddBrLtUImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x < y) }
    I32AddImmBrLtUImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x < y) }
    I32AddBrGtS { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) > (y as i32)) }
    I32AddImmBrGtS { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) > (y as i32)) }
    I32AddBrGtSImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| (x as i32) > (y as i32)) }
    I32AddImmBrGtSImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| (x as i32) > (y as i32)) }
    I32AddBrGtU { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x > y) }
    I32AddImmBrGtU { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x > y) }
    I32AddBrGtUImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x > y) }
    I32AddImmBrGtUImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x > y) }
    I32AddBrLeS { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) <= (y as i32)) }
    I32AddImmBrLeS { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) <= (y as i32)) }
    I32AddBrLeSImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| (x as i32) <= (y as i32)) }
    I32AddImmBrLeSImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| (x as i32) <= (y as i32)) }
    I32AddBrLeU { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x <= y) }
    I32AddImmBrLeU { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x <= y) }
    I32AddBrLeUImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x <= y) }
    I32AddImmBrLeUImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x <= y) }
    I32AddBrGeS { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) >= (y as i32)) }
    I32AddImmBrGeS { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| (x as i32) >= (y as i32)) }
    I32AddBrGeSImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| (x as i32) >= (y as i32)) }
    I32AddImmBrGeSImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| (x as i32) >= (y as i32)) }
    I32AddBrGeU { d, a, b, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), get!(Slot::from(c)) as u32, target, |x, y| x >= y) }
    I32AddImmBrGeU { d, imm, a, c, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(imm), get!(Slot::from(c)) as u32, target, |x, y| x >= y) }
    I32AddBrGeUImm { d, a, b, cmp, target } => { add_br!(d, (get!(Slot::from(a)) as u32).wrapping_add(get!(Slot::from(b)) as u32), cmp, target, |x, y| x >= y) }
    I32AddImmBrGeUImm { s, imm, cmp, target } => { add_br!(s, (get!(Slot::from(s)) as u32).wrapping_add(imm), cmp, target, |x, y| x >= y) }
    F64AddAddL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; t + z }) }
    F64AddAddR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; z + t }) }
    F64AddSubL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; t - z }) }
    F64AddSubR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; z - t }) }
    F64AddMulL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; t * z }) }
    F64AddMulR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x + y; z * t }) }
    F64SubAddL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; t + z }) }
    F64SubAddR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; z + t }) }
    F64SubSubL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; t - z }) }
    F64SubSubR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; z - t }) }
    F64SubMulL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; t * z }) }
    F64SubMulR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x - y; z * t }) }
    F64MulAddL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; t + z }) }
    F64MulAddR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; z + t }) }
    F64MulSubL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; t - z }) }
    F64MulSubR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; z - t }) }
    F64MulMulL { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; t * z }) }
    F64MulMulR { dst, a, b, c } => { f64_pair!(dst, a, b, c, |x, y, z| { let t = x * y; z * t }) }
    Unreachable {  } => { trap!(TrapKind::Unreachable) }
    Copy { dst, src } => { set!(dst, get!(src)) }
    CopyPair { d1, s1, d2, s2 } => {
        set!(Slot::from(d1), get!(Slot::from(s1)));
        set!(Slot::from(d2), get!(Slot::from(s2)));
    }
    I32AddShl { shift, dst, a, b } => {
        i32_bin!(dst, a, b, |x, y| (x << (shift & 31)).wrapping_add(y))
    }
    CopySpan { dst, src, len } => {
        // Ascending: the translator emits it only with `dst <= src` (values moving down the stack).
        for i in 0..len {
            set!(dst + i, get!(src + i))
        }
    }
    Const32 { dst, value } => { set!(dst, value as u64) }
    Const64 { dst, value } => { set!(dst, value) }
    SelectElse { dst, other, cond } => {
        if get!(cond) as u32 == 0 {
            set!(dst, get!(other))
        }
    }
    Br { target } => { jump!(target) }
    BrIfNez { cond, target } => {
        if get!(cond) as u32 != 0 {
            jump!(target)
        }
    }
    BrIfEqz { cond, target } => {
        if get!(cond) as u32 == 0 {
            jump!(target)
        }
    }
    BrTable { index, len, bias } => {
        let i = (get!(index) as u32).wrapping_add(bias).min(len);
        // `len + 1` `Br` instructions follow the `BrTable` (translator invariant): jump straight
        // to the target of entry `i` rather than dispatching the entry (one dispatch less per
        // `br_table`, the dispatch loop of every bytecode interpreter compiled to Wasm).
        skip!(i);
        // SAFETY: `ip` is entry `i`, an instruction of the table.
        if let Instr::Br { target } = unsafe { *next_ip!() } {
            // `jump!` is relative to the instruction after the branch.
            skip!(1);
            jump!(target)
        }
    }
    BrOnNull { src, target } => {
        if get!(src) == 0 {
            jump!(target)
        }
    }
    BrOnNonNull { src, target } => {
        if get!(src) != 0 {
            jump!(target)
        }
    }
    I64LtUHi { dst, a, hi } => { set!(dst, (get!(a) < (hi as u64) << 32) as u64) }
    I64GeUHi { dst, a, hi } => { set!(dst, (get!(a) >= (hi as u64) << 32) as u64) }
    I64EqHi { dst, a, hi } => { set!(dst, (get!(a) == (hi as u64) << 32) as u64) }
    I64NeHi { dst, a, hi } => { set!(dst, (get!(a) != (hi as u64) << 32) as u64) }
    I64AndHi { dst, a, hi } => { set!(dst, get!(a) & (hi as u64) << 32) }
    BrI64LtUHi { a, hi, target } => { br_cmp!(target, get!(a) < (hi as u64) << 32) }
    BrI64GeUHi { a, hi, target } => { br_cmp!(target, get!(a) >= (hi as u64) << 32) }
    BrI64EqHi { a, hi, target } => { br_cmp!(target, get!(a) == (hi as u64) << 32) }
    BrI64NeHi { a, hi, target } => { br_cmp!(target, get!(a) != (hi as u64) << 32) }
    BrI32AndNez { a, b, target } => { br_cmp!(target, (get!(a) as u32 & get!(b) as u32) != 0) }
    BrI32AndEqz { a, b, target } => { br_cmp!(target, (get!(a) as u32 & get!(b) as u32) == 0) }
    BrI32AndImmNez { a, imm, target } => { br_cmp!(target, (get!(a) as u32 & imm) != 0) }
    BrI32AndImmEqz { a, imm, target } => { br_cmp!(target, (get!(a) as u32 & imm) == 0) }
    BrI32Eq { a, b, target } => { br_cmp!(target, get!(a) as u32 == get!(b) as u32) }
    BrI32Ne { a, b, target } => { br_cmp!(target, get!(a) as u32 != get!(b) as u32) }
    BrI32LtS { a, b, target } => { br_cmp!(target, (get!(a) as i32) < get!(b) as i32) }
    BrI32LtU { a, b, target } => { br_cmp!(target, (get!(a) as u32) < get!(b) as u32) }
    BrI32GtS { a, b, target } => { br_cmp!(target, get!(a) as i32 > get!(b) as i32) }
    BrI32GtU { a, b, target } => { br_cmp!(target, get!(a) as u32 > get!(b) as u32) }
    BrI32LeS { a, b, target } => { br_cmp!(target, get!(a) as i32 <= get!(b) as i32) }
    BrI32LeU { a, b, target } => { br_cmp!(target, get!(a) as u32 <= get!(b) as u32) }
    BrI32GeS { a, b, target } => { br_cmp!(target, get!(a) as i32 >= get!(b) as i32) }
    BrI32GeU { a, b, target } => { br_cmp!(target, get!(a) as u32 >= get!(b) as u32) }
    BrI64Eq { a, b, target } => { br_cmp!(target, get!(a) == get!(b)) }
    BrI64Ne { a, b, target } => { br_cmp!(target, get!(a) != get!(b)) }
    BrI64LtS { a, b, target } => { br_cmp!(target, (get!(a) as i64) < get!(b) as i64) }
    BrI64LtU { a, b, target } => { br_cmp!(target, get!(a) < get!(b)) }
    BrI64GtS { a, b, target } => { br_cmp!(target, get!(a) as i64 > get!(b) as i64) }
    BrI64GtU { a, b, target } => { br_cmp!(target, get!(a) > get!(b)) }
    BrI64LeS { a, b, target } => { br_cmp!(target, get!(a) as i64 <= get!(b) as i64) }
    BrI64LeU { a, b, target } => { br_cmp!(target, get!(a) <= get!(b)) }
    BrI64GeS { a, b, target } => { br_cmp!(target, get!(a) as i64 >= get!(b) as i64) }
    BrI64GeU { a, b, target } => { br_cmp!(target, get!(a) >= get!(b)) }
    BrI32EqImm { a, imm, target } => { br_cmp!(target, get!(a) as u32 == imm) }
    BrI32NeImm { a, imm, target } => { br_cmp!(target, get!(a) as u32 != imm) }
    BrI32LtSImm { a, imm, target } => { br_cmp!(target, (get!(a) as i32) < imm as i32) }
    BrI32LtUImm { a, imm, target } => { br_cmp!(target, (get!(a) as u32) < imm) }
    BrI32GtSImm { a, imm, target } => { br_cmp!(target, get!(a) as i32 > imm as i32) }
    BrI32GtUImm { a, imm, target } => { br_cmp!(target, get!(a) as u32 > imm) }
    BrI32LeSImm { a, imm, target } => { br_cmp!(target, get!(a) as i32 <= imm as i32) }
    BrI32LeUImm { a, imm, target } => { br_cmp!(target, get!(a) as u32 <= imm) }
    BrI32GeSImm { a, imm, target } => { br_cmp!(target, get!(a) as i32 >= imm as i32) }
    BrI32GeUImm { a, imm, target } => { br_cmp!(target, get!(a) as u32 >= imm) }
    BrI64EqImm { a, imm, target } => { br_cmp!(target, get!(a) == sext(imm)) }
    BrI64NeImm { a, imm, target } => { br_cmp!(target, get!(a) != sext(imm)) }
    BrI64LtSImm { a, imm, target } => {
        br_cmp!(target, (get!(a) as i64) < imm as i32 as i64)
    }
    BrI64LtUImm { a, imm, target } => { br_cmp!(target, get!(a) < sext(imm)) }
    BrI64GtSImm { a, imm, target } => {
        br_cmp!(target, get!(a) as i64 > imm as i32 as i64)
    }
    BrI64GtUImm { a, imm, target } => { br_cmp!(target, get!(a) > sext(imm)) }
    BrI64LeSImm { a, imm, target } => {
        br_cmp!(target, get!(a) as i64 <= imm as i32 as i64)
    }
    BrI64LeUImm { a, imm, target } => { br_cmp!(target, get!(a) <= sext(imm)) }
    BrI64GeSImm { a, imm, target } => {
        br_cmp!(target, get!(a) as i64 >= imm as i32 as i64)
    }
    BrI64GeUImm { a, imm, target } => { br_cmp!(target, get!(a) >= sext(imm)) }
    RefAsNonNull { src } => {
        if get!(src) == 0 {
            trap!(TrapKind::NullReference)
        }
    }
    RefIsNull { dst, src } => { un!(dst, src, |x| (x == 0) as u64) }
    I32LoadShl { shift, dst, a, end } => {
        let address = ((get!(a) as u32) << (shift & 31)) as u64;
        let Some(at) = effective_end(address, end, 4, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        // SAFETY: `at + 4 <= mem_len`, the committed size of memory 0 at `mem_base`.
        let b = unsafe { std::ptr::read_unaligned(mem_base!().add(at) as *const [u8; 4]) };
        set!(dst, u32::from_le_bytes(b) as u64)
    }
    I32Load { dst, addr, end } => {
        load!(dst, addr, end, 4, |b| u32::from_le_bytes(b) as u64)
    }
    I64Load { dst, addr, end } => {
        load!(dst, addr, end, 8, |b| u64::from_le_bytes(b))
    }
    F32Load { dst, addr, end } => {
        load!(dst, addr, end, 4, |b| u32::from_le_bytes(b) as u64)
    }
    F64Load { dst, addr, end } => {
        load!(dst, addr, end, 8, |b| u64::from_le_bytes(b))
    }
    I32Load8S { dst, addr, end } => {
        load!(dst, addr, end, 1, |b| b[0] as i8 as i32 as u32 as u64)
    }
    I32Load8U { dst, addr, end } => { load!(dst, addr, end, 1, |b| b[0] as u64) }
    I32Load16S { dst, addr, end } => {
        load!(
            dst,
            addr,
            end,
            2,
            |b| i16::from_le_bytes(b) as i32 as u32 as u64
        )
    }
    I32Load16U { dst, addr, end } => {
        load!(dst, addr, end, 2, |b| u16::from_le_bytes(b) as u64)
    }
    I64Load8S { dst, addr, end } => {
        load!(dst, addr, end, 1, |b| b[0] as i8 as i64 as u64)
    }
    I64Load8U { dst, addr, end } => { load!(dst, addr, end, 1, |b| b[0] as u64) }
    I64Load16S { dst, addr, end } => {
        load!(dst, addr, end, 2, |b| i16::from_le_bytes(b) as i64
            as u64)
    }
    I64Load16U { dst, addr, end } => {
        load!(dst, addr, end, 2, |b| u16::from_le_bytes(b) as u64)
    }
    I64Load32S { dst, addr, end } => {
        load!(dst, addr, end, 4, |b| i32::from_le_bytes(b) as i64
            as u64)
    }
    I64Load32U { dst, addr, end } => {
        load!(dst, addr, end, 4, |b| u32::from_le_bytes(b) as u64)
    }
    I32LoadAt { dst, a, imm } => {
        load_at!(dst, a, imm, 4, |b| u32::from_le_bytes(b) as u64)
    }
    I64LoadAt { dst, a, imm } => { load_at!(dst, a, imm, 8, |b| u64::from_le_bytes(b)) }
    I32Load8UAt { dst, a, imm } => { load_at!(dst, a, imm, 1, |b| b[0] as u64) }
    I32Load8SAt { dst, a, imm } => {
        load_at!(dst, a, imm, 1, |b| b[0] as i8 as i32 as u32 as u64)
    }
    I32Load16UAt { dst, a, imm } => {
        load_at!(dst, a, imm, 2, |b| u16::from_le_bytes(b) as u64)
    }
    I32Load16SAt { dst, a, imm } => {
        load_at!(dst, a, imm, 2, |b| i16::from_le_bytes(b) as i32 as u32
            as u64)
    }
    I32StoreAt { a, value, imm } => {
        store_at!(a, value, imm, 4, |v| (v as u32).to_le_bytes())
    }
    I64StoreAt { a, value, imm } => { store_at!(a, value, imm, 8, |v| v.to_le_bytes()) }
    I32Store8At { a, value, imm } => { store_at!(a, value, imm, 1, |v| [v as u8]) }
    I32Store16At { a, value, imm } => {
        store_at!(a, value, imm, 2, |v| (v as u16).to_le_bytes())
    }
    StoreImm32 { addr, imm, end } => { store_imm!(addr, end, (imm).to_le_bytes()) }
    StoreImm8 { addr, imm, end } => { store_imm!(addr, end, [imm as u8]) }
    StoreImm16 { addr, imm, end } => {
        store_imm!(addr, end, (imm as u16).to_le_bytes())
    }
    StoreImm64 { addr, imm, end } => {
        store_imm!(addr, end, sext(imm).to_le_bytes())
    }
    I32Store { addr, value, end } => { store_mem!(addr, value, end, 4, |v| (v as u32).to_le_bytes()) }
    I64Store { addr, value, end } => { store_mem!(addr, value, end, 8, |v| v.to_le_bytes()) }
    F32Store { addr, value, end } => { store_mem!(addr, value, end, 4, |v| (v as u32).to_le_bytes()) }
    F64Store { addr, value, end } => { store_mem!(addr, value, end, 8, |v| v.to_le_bytes()) }
    I32Store8 { addr, value, end } => {
        store_mem!(addr, value, end, 1, |v| [v as u8])
    }
    I64Store8 { addr, value, end } => {
        store_mem!(addr, value, end, 1, |v| [v as u8])
    }
    I32Store16 { addr, value, end } => {
        store_mem!(addr, value, end, 2, |v| (v as u16).to_le_bytes())
    }
    I64Store16 { addr, value, end } => {
        store_mem!(addr, value, end, 2, |v| (v as u16).to_le_bytes())
    }
    I64Store32 { addr, value, end } => { store_mem!(addr, value, end, 4, |v| (v as u32).to_le_bytes()) }
    Copy2 { dst, src } => { set128!(dst, get128!(src)) }
    SelectElse2 { dst, other, cond } => {
        if get!(cond) as u32 == 0 {
            set128!(dst, get128!(other))
        }
    }
    SimdV128And { dst, a, b } => { simd_bin!(dst, a, b, V128And) }
    SimdV128Or { dst, a, b } => { simd_bin!(dst, a, b, V128Or) }
    SimdV128Xor { dst, a, b } => { simd_bin!(dst, a, b, V128Xor) }
    SimdI32x4Add { dst, a, b } => { simd_bin!(dst, a, b, I32x4Add) }
    SimdI32x4Sub { dst, a, b } => { simd_bin!(dst, a, b, I32x4Sub) }
    SimdF32x4Add { dst, a, b } => { simd_bin!(dst, a, b, F32x4Add) }
    SimdF32x4Sub { dst, a, b } => { simd_bin!(dst, a, b, F32x4Sub) }
    SimdF32x4Mul { dst, a, b } => { simd_bin!(dst, a, b, F32x4Mul) }
    SimdF64x2Add { dst, a, b } => { simd_bin!(dst, a, b, F64x2Add) }
    SimdF64x2Sub { dst, a, b } => { simd_bin!(dst, a, b, F64x2Sub) }
    SimdF64x2Mul { dst, a, b } => { simd_bin!(dst, a, b, F64x2Mul) }
    V128Binary { op, dst, a, b } => {
        set128!(dst, simd::binary(op, get128!(a), get128!(b)))
    }
    V128Unary { op, dst, src } => { set128!(dst, simd::unary(op, get128!(src))) }
    F32CanonNan { dst, src } => { un!(dst, src, |x| canonical_f32(x as u32) as u64) }
    F64CanonNan { dst, src } => { un!(dst, src, |x| canonical_f64(x)) }
    F32x4CanonNan { dst, src } => { set128!(dst, canonical_f32x4(get128!(src))) }
    F64x2CanonNan { dst, src } => { set128!(dst, canonical_f64x2(get128!(src))) }
    V128Test { op, dst, src } => { set!(dst, simd::test(op, get128!(src)) as u64) }
    V128Shift { op, dst, a, b } => {
        set128!(dst, simd::shift(op, get128!(a), get!(b) as u32))
    }
    V128Splat { op, dst, src } => { set128!(dst, simd::splat(op, get!(src))) }
    V128Ternary { op, dst, base } => {
        let (a, b, c) = (get128!(base), get128!(base + 2), get128!(base + 4));
        set128!(dst, simd::ternary(op, a, b, c))
    }
    V128ExtractLane { op, dst, src, lane } => {
        set!(dst, simd::extract_lane(op, get128!(src), lane))
    }
    V128ReplaceLane { op, dst, a, b, lane } => { set128!(dst, simd::replace_lane(op, get128!(a), get!(b), lane)) }
    V128LoadPlain { dst, addr, end } => {
        let Some(at) = effective_end(get!(addr), end, 16, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        // SAFETY: `at + 16 <= mem_len`, the committed size of memory 0 at `mem_base`.
        set128!(dst, unsafe { (mem_base!().add(at) as *const u128).read_unaligned() });
    }
    V128Load { op, dst, addr, offset } => {
        let n = op.bytes();
        let Some(at) = effective(get!(addr), offset, n as u64, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        // SAFETY: `at + n <= mem_len`, the committed size of memory 0 at `mem_base`.
        let raw = unsafe { read_le(mem_base!().add(at), n) };
        set128!(dst, simd::finish_load(op, raw))
    }
    V128LoadAt { dst, a, imm } => {
        let address = (get!(a) as u32).wrapping_add(imm) as u64;
        let Some(at) = effective(address, 0, 16, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        // SAFETY: `at + 16 <= mem_len`, the committed size of memory 0 at `mem_base`.
        set128!(dst, unsafe { (mem_base!().add(at) as *const u128).read_unaligned() });
    }
    V128StoreAt { a, value, imm } => {
        let address = (get!(a) as u32).wrapping_add(imm) as u64;
        let Some(at) = effective(address, 0, 16, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        let v = get128!(value);
        // SAFETY: as in `V128LoadAt`.
        unsafe { (mem_base!().add(at) as *mut u128).write_unaligned(v) };
    }
    V128ShiftImm { op, dst, a, count } => { set128!(dst, simd::shift(op, get128!(a), count)) }
    StoreImm8At { a, value, imm } => { store_imm_at!(a, imm, [value as u8]) }
    StoreImm16At { a, value, imm } => { store_imm_at!(a, imm, (value as u16).to_le_bytes()) }
    StoreImm32At { a, value, imm } => { store_imm_at!(a, imm, value.to_le_bytes()) }
    StoreImm64At { a, value, imm } => { store_imm_at!(a, imm, sext(value).to_le_bytes()) }
    F64AddStore { a, b, addr, end } => { f64_op_store!(a, b, addr, end, |x, y| x + y) }
    F64SubStore { a, b, addr, end } => { f64_op_store!(a, b, addr, end, |x, y| x - y) }
    F64MulStore { a, b, addr, end } => { f64_op_store!(a, b, addr, end, |x, y| x * y) }
    V128Const { dst, index } => {
        let cur = calls!().cur;
        // SAFETY: the module outlives the activation (its instance holds it).
        let module = unsafe { &*cur.module };
        // SAFETY: the running function's `CallEntry` was published before it ran, as this thread
        // saw (see `FuncCode::is_published`), so its `v128_consts` points to the constants, of
        // which `index` is one (translator invariant).
        let value = unsafe {
            let consts = module.interp.funcs.get_unchecked(cur.index as usize).call.v128_consts.load(Ordering::Relaxed);
            consts.add(index.index()).read()
        };
        set128!(dst, value)
    }
    V128Store { addr, value, end } => {
        let Some(at) = effective_end(get!(addr), end, 16, mem_len!()) else {
            trap!(TrapKind::MemoryOutOfBounds)
        };
        let bytes = get128!(value).to_le_bytes();
        // SAFETY: as in `store_mem!`.
        unsafe { std::ptr::write_unaligned(mem_base!().add(at) as *mut [u8; 16], bytes) };
    }
    I32Eq { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x == y) }
    I32Ne { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x != y) }
    I32LtS { dst, a, b } => { i32_bin!(dst, a, b, |x, y| (x as i32) < (y as i32)) }
    I32LtU { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x < y) }
    I32GtS { dst, a, b } => { i32_bin!(dst, a, b, |x, y| (x as i32) > (y as i32)) }
    I32GtU { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x > y) }
    I32LeS { dst, a, b } => { i32_bin!(dst, a, b, |x, y| (x as i32) <= (y as i32)) }
    I32LeU { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x <= y) }
    I32GeS { dst, a, b } => { i32_bin!(dst, a, b, |x, y| (x as i32) >= (y as i32)) }
    I32GeU { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x >= y) }
    I64Eq { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x == y) }
    I64Ne { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x != y) }
    I64LtS { dst, a, b } => { i64_bin!(dst, a, b, |x, y| (x as i64) < (y as i64)) }
    I64LtU { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x < y) }
    I64GtS { dst, a, b } => { i64_bin!(dst, a, b, |x, y| (x as i64) > (y as i64)) }
    I64GtU { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x > y) }
    I64LeS { dst, a, b } => { i64_bin!(dst, a, b, |x, y| (x as i64) <= (y as i64)) }
    I64LeU { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x <= y) }
    I64GeS { dst, a, b } => { i64_bin!(dst, a, b, |x, y| (x as i64) >= (y as i64)) }
    I64GeU { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x >= y) }
    F32Eq { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x == y) }
    F32Ne { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x != y) }
    F32Lt { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x < y) }
    F32Gt { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x > y) }
    F32Le { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x <= y) }
    F32Ge { dst, a, b } => { f32_cmp!(dst, a, b, |x, y| x >= y) }
    F64Eq { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x == y) }
    F64Ne { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x != y) }
    F64Lt { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x < y) }
    F64Gt { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x > y) }
    F64Le { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x <= y) }
    F64Ge { dst, a, b } => { f64_cmp!(dst, a, b, |x, y| x >= y) }
    I32AddImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.wrapping_add(y)) }
    I32MulImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.wrapping_mul(y)) }
    I32AndImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x & y) }
    I32OrImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x | y) }
    I32XorImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x ^ y) }
    I32ShlImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.wrapping_shl(y)) }
    I32ShrSImm { dst, a, imm } => {
        i32_imm!(dst, a, imm, |x, y| (x as i32).wrapping_shr(y))
    }
    I32ShrUImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.wrapping_shr(y)) }
    I32DivUImm { dst, a, imm } => {
        if imm == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        i32_imm!(dst, a, imm, |x, y| x / y)
    }
    I32RemUImm { dst, a, imm } => {
        if imm == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        i32_imm!(dst, a, imm, |x, y| x % y)
    }
    I32RotlImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.rotate_left(y % 32)) }
    I32RotrImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x.rotate_right(y % 32)) }
    I64RotlImm { dst, a, imm } => {
        i64_imm!(dst, a, imm, |x, y| x.rotate_left((y % 64) as u32))
    }
    I64RotrImm { dst, a, imm } => {
        i64_imm!(dst, a, imm, |x, y| x.rotate_right((y % 64) as u32))
    }
    I32EqImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x == y) }
    I32NeImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x != y) }
    I32LtSImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| (x as i32) < (y as i32)) }
    I32LtUImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x < y) }
    I32GtSImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| (x as i32) > (y as i32)) }
    I32GtUImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x > y) }
    I32LeSImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| (x as i32) <= (y as i32)) }
    I32LeUImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x <= y) }
    I32GeSImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| (x as i32) >= (y as i32)) }
    I32GeUImm { dst, a, imm } => { i32_imm!(dst, a, imm, |x, y| x >= y) }
    I64AddImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x.wrapping_add(y)) }
    I64MulImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x.wrapping_mul(y)) }
    I64AndImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x & y) }
    I64OrImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x | y) }
    I64XorImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x ^ y) }
    I64ShlImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x.wrapping_shl(y as u32)) }
    I64ShrSImm { dst, a, imm } => {
        i64_imm!(dst, a, imm, |x, y| (x as i64).wrapping_shr(y as u32))
    }
    I64ShrUImm { dst, a, imm } => {
        i64_imm!(dst, a, imm, |x, y| x.wrapping_shr(y as u32))
    }
    I64EqImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x == y) }
    I64NeImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x != y) }
    I64LtSImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| (x as i64) < (y as i64)) }
    I64LtUImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x < y) }
    I64GtSImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| (x as i64) > (y as i64)) }
    I64GtUImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x > y) }
    I64LeSImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| (x as i64) <= (y as i64)) }
    I64LeUImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x <= y) }
    I64GeSImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| (x as i64) >= (y as i64)) }
    I64GeUImm { dst, a, imm } => { i64_imm!(dst, a, imm, |x, y| x >= y) }
    I32Add { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.wrapping_add(y)) }
    I32Sub { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.wrapping_sub(y)) }
    I32Mul { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.wrapping_mul(y)) }
    I32DivS { dst, a, b } => {
        let (x, y) = (get!(a) as i32, get!(b) as i32);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        if x == i32::MIN && y == -1 {
            trap!(TrapKind::IntegerOverflow)
        }
        set!(dst, (x / y) as u32 as u64)
    }
    I32DivU { dst, a, b } => {
        let (x, y) = (get!(a) as u32, get!(b) as u32);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, (x / y) as u64)
    }
    I32RemS { dst, a, b } => {
        let (x, y) = (get!(a) as i32, get!(b) as i32);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, x.wrapping_rem(y) as u32 as u64)
    }
    I32RemU { dst, a, b } => {
        let (x, y) = (get!(a) as u32, get!(b) as u32);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, (x % y) as u64)
    }
    I32And { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x & y) }
    I32Or { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x | y) }
    I32Xor { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x ^ y) }
    I32Shl { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.wrapping_shl(y)) }
    I32ShrS { dst, a, b } => { i32_bin!(dst, a, b, |x, y| (x as i32).wrapping_shr(y)) }
    I32ShrU { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.wrapping_shr(y)) }
    I32Rotl { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.rotate_left(y % 32)) }
    I32Rotr { dst, a, b } => { i32_bin!(dst, a, b, |x, y| x.rotate_right(y % 32)) }
    I64Add { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.wrapping_add(y)) }
    I64Sub { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.wrapping_sub(y)) }
    I64Mul { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.wrapping_mul(y)) }
    I64DivS { dst, a, b } => {
        let (x, y) = (get!(a) as i64, get!(b) as i64);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        if x == i64::MIN && y == -1 {
            trap!(TrapKind::IntegerOverflow)
        }
        set!(dst, (x / y) as u64)
    }
    I64DivU { dst, a, b } => {
        let (x, y) = (get!(a), get!(b));
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, x / y)
    }
    I64RemS { dst, a, b } => {
        let (x, y) = (get!(a) as i64, get!(b) as i64);
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, x.wrapping_rem(y) as u64)
    }
    I64RemU { dst, a, b } => {
        let (x, y) = (get!(a), get!(b));
        if y == 0 {
            trap!(TrapKind::IntegerDivisionByZero)
        }
        set!(dst, x % y)
    }
    I64And { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x & y) }
    I64Or { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x | y) }
    I64Xor { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x ^ y) }
    I64Shl { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.wrapping_shl(y as u32)) }
    I64ShrS { dst, a, b } => {
        i64_bin!(dst, a, b, |x, y| (x as i64).wrapping_shr(y as u32))
    }
    I64ShrU { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.wrapping_shr(y as u32)) }
    I64Rotl { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.rotate_left((y % 64) as u32)) }
    I64Rotr { dst, a, b } => { i64_bin!(dst, a, b, |x, y| x.rotate_right((y % 64) as u32)) }
    // Wide arithmetic: a 128-bit value is two slots, low half first.
    I64Add128 { base } => {
        let x = get!(base) as u128 | (get!(base + 1) as u128) << 64;
        let y = get!(base + 2) as u128 | (get!(base + 3) as u128) << 64;
        let sum = x.wrapping_add(y);
        set!(base, sum as u64);
        set!(base + 1, (sum >> 64) as u64)
    }
    I64Sub128 { base } => {
        let x = get!(base) as u128 | (get!(base + 1) as u128) << 64;
        let y = get!(base + 2) as u128 | (get!(base + 3) as u128) << 64;
        let difference = x.wrapping_sub(y);
        set!(base, difference as u64);
        set!(base + 1, (difference >> 64) as u64)
    }
    I64MulWideS { base } => {
        let product = (get!(base) as i64 as i128).wrapping_mul(get!(base + 1) as i64 as i128);
        set!(base, product as u64);
        set!(base + 1, (product >> 64) as u64)
    }
    I64MulWideU { base } => {
        let product = (get!(base) as u128) * (get!(base + 1) as u128);
        set!(base, product as u64);
        set!(base + 1, (product >> 64) as u64)
    }
    F32Add { dst, a, b } => { f32_bin!(dst, a, b, |x, y| x + y) }
    F32Sub { dst, a, b } => { f32_bin!(dst, a, b, |x, y| x - y) }
    F32Mul { dst, a, b } => { f32_bin!(dst, a, b, |x, y| x * y) }
    F32Div { dst, a, b } => { f32_bin!(dst, a, b, |x, y| x / y) }
    F32Min { dst, a, b } => { f32_bin!(dst, a, b, |x, y| fmin32(x, y)) }
    F32Max { dst, a, b } => { f32_bin!(dst, a, b, |x, y| fmax32(x, y)) }
    F32Copysign { dst, a, b } => { f32_bin!(dst, a, b, |x, y| x.copysign(y)) }
    F64Add { dst, a, b } => { f64_bin!(dst, a, b, |x, y| x + y) }
    F64Sub { dst, a, b } => { f64_bin!(dst, a, b, |x, y| x - y) }
    F64Mul { dst, a, b } => { f64_bin!(dst, a, b, |x, y| x * y) }
    F64Div { dst, a, b } => { f64_bin!(dst, a, b, |x, y| x / y) }
    F64Min { dst, a, b } => { f64_bin!(dst, a, b, |x, y| fmin64(x, y)) }
    F64Max { dst, a, b } => { f64_bin!(dst, a, b, |x, y| fmax64(x, y)) }
    F64Copysign { dst, a, b } => { f64_bin!(dst, a, b, |x, y| x.copysign(y)) }
    I32Eqz { dst, src } => { un!(dst, src, |x| (x as u32 == 0) as u64) }
    I64Eqz { dst, src } => { un!(dst, src, |x| (x == 0) as u64) }
    I32Clz { dst, src } => { un!(dst, src, |x| (x as u32).leading_zeros() as u64) }
    I32Ctz { dst, src } => { un!(dst, src, |x| (x as u32).trailing_zeros() as u64) }
    I32Popcnt { dst, src } => { un!(dst, src, |x| (x as u32).count_ones() as u64) }
    I64Clz { dst, src } => { un!(dst, src, |x| x.leading_zeros() as u64) }
    I64Ctz { dst, src } => { un!(dst, src, |x| x.trailing_zeros() as u64) }
    I64Popcnt { dst, src } => { un!(dst, src, |x| x.count_ones() as u64) }
    F32Abs { dst, src } => { un!(dst, src, |x| x & 0x7fff_ffff) }
    F32Neg { dst, src } => { un!(dst, src, |x| (x as u32 ^ 0x8000_0000) as u64) }
    F32Ceil { dst, src } => { f32_un!(dst, src, |x| round32(x, f32::ceil)) }
    F32Floor { dst, src } => { f32_un!(dst, src, |x| round32(x, f32::floor)) }
    F32Trunc { dst, src } => { f32_un!(dst, src, |x| round32(x, f32::trunc)) }
    F32Nearest { dst, src } => { f32_un!(dst, src, |x| round32(x, f32::round_ties_even)) }
    F32Sqrt { dst, src } => { f32_un!(dst, src, |x| x.sqrt()) }
    F64Abs { dst, src } => { un!(dst, src, |x| x & 0x7fff_ffff_ffff_ffff) }
    F64Neg { dst, src } => { un!(dst, src, |x| x ^ 0x8000_0000_0000_0000) }
    F64Ceil { dst, src } => { f64_un!(dst, src, |x| round64(x, f64::ceil)) }
    F64Floor { dst, src } => { f64_un!(dst, src, |x| round64(x, f64::floor)) }
    F64Trunc { dst, src } => { f64_un!(dst, src, |x| round64(x, f64::trunc)) }
    F64Nearest { dst, src } => { f64_un!(dst, src, |x| round64(x, f64::round_ties_even)) }
    F64Sqrt { dst, src } => { f64_un!(dst, src, |x| x.sqrt()) }
    I32WrapI64 { dst, src } => { un!(dst, src, |x| x as u32 as u64) }
    I32TruncF32S { dst, src } => { trunc!(dst, src, f32, -TWO_31, TWO_31, i32) }
    I32TruncF32U { dst, src } => { trunc!(dst, src, f32, 0.0, TWO_32, u32) }
    I32TruncF64S { dst, src } => { trunc!(dst, src, f64, -TWO_31, TWO_31, i32) }
    I32TruncF64U { dst, src } => { trunc!(dst, src, f64, 0.0, TWO_32, u32) }
    I64TruncF32S { dst, src } => { trunc!(dst, src, f32, -TWO_63, TWO_63, i64) }
    I64TruncF32U { dst, src } => { trunc!(dst, src, f32, 0.0, TWO_64, u64) }
    I64TruncF64S { dst, src } => { trunc!(dst, src, f64, -TWO_63, TWO_63, i64) }
    I64TruncF64U { dst, src } => { trunc!(dst, src, f64, 0.0, TWO_64, u64) }
    I64ExtendI32S { dst, src } => { un!(dst, src, |x| x as u32 as i32 as i64 as u64) }
    I64ExtendI32U { dst, src } => { un!(dst, src, |x| x as u32 as u64) }
    F32ConvertI32S { dst, src } => {
        un!(dst, src, |x| (x as u32 as i32 as f32).to_bits() as u64)
    }
    F32ConvertI32U { dst, src } => { un!(dst, src, |x| (x as u32 as f32).to_bits() as u64) }
    F32ConvertI64S { dst, src } => { un!(dst, src, |x| (x as i64 as f32).to_bits() as u64) }
    F32ConvertI64U { dst, src } => { un!(dst, src, |x| (x as f32).to_bits() as u64) }
    F32DemoteF64 { dst, src } => {
        un!(dst, src, |x| (f64::from_bits(x) as f32).to_bits() as u64)
    }
    F64ConvertI32S { dst, src } => { un!(dst, src, |x| (x as u32 as i32 as f64).to_bits()) }
    F64ConvertI32U { dst, src } => { un!(dst, src, |x| (x as u32 as f64).to_bits()) }
    F64ConvertI64S { dst, src } => { un!(dst, src, |x| (x as i64 as f64).to_bits()) }
    F64ConvertI64U { dst, src } => { un!(dst, src, |x| (x as f64).to_bits()) }
    F64PromoteF32 { dst, src } => {
        un!(dst, src, |x| (f32::from_bits(x as u32) as f64).to_bits())
    }
    I32Extend8S { dst, src } => { un!(dst, src, |x| x as i8 as i32 as u32 as u64) }
    I32Extend16S { dst, src } => { un!(dst, src, |x| x as i16 as i32 as u32 as u64) }
    I64Extend8S { dst, src } => { un!(dst, src, |x| x as i8 as i64 as u64) }
    I64Extend16S { dst, src } => { un!(dst, src, |x| x as i16 as i64 as u64) }
    I64Extend32S { dst, src } => { un!(dst, src, |x| x as i32 as i64 as u64) }
    I32TruncSatF32S { dst, src } => {
        un!(dst, src, |x| f32::from_bits(x as u32) as i32 as u32 as u64)
    }
    I32TruncSatF32U { dst, src } => {
        un!(dst, src, |x| f32::from_bits(x as u32) as u32 as u64)
    }
    I32TruncSatF64S { dst, src } => {
        un!(dst, src, |x| f64::from_bits(x) as i32 as u32 as u64)
    }
    I32TruncSatF64U { dst, src } => { un!(dst, src, |x| f64::from_bits(x) as u32 as u64) }
    I64TruncSatF32S { dst, src } => {
        un!(dst, src, |x| f32::from_bits(x as u32) as i64 as u64)
    }
    I64TruncSatF32U { dst, src } => { un!(dst, src, |x| f32::from_bits(x as u32) as u64) }
    I64TruncSatF64S { dst, src } => { un!(dst, src, |x| f64::from_bits(x) as i64 as u64) }
    I64TruncSatF64U { dst, src } => { un!(dst, src, |x| f64::from_bits(x) as u64) }
    Call { func, base } => {
        let calls = calls!();
        // SAFETY: the module outlives the activation (its instance holds it).
        let module = unsafe { &*calls.cur.module };
        // Imported functions may be host functions or live in other instances: `call_general`.
        let Some(index) = func.0.checked_sub(module.num_imported_funcs) else { general!(call_general) };
        call_defined!(index, base);
    }
    #[out_of_line]
    ReturnCall { func, base } => { general!(call_general) }
    CallIndirect { index, base, site } => {
        // Calls within the module, of the expected type exactly, are entered here; everything
        // else (and every trap) goes through the store in `call_general`.
        let Some(index) = ops::indirect_same_module(calls!(), get!(index), site) else {
            general!(call_general)
        };
        call_defined!(index, base);
    }
    #[out_of_line]
    ReturnCallIndirect { index, base, site } => { call_through_store!(ops::indirect_target(calls!(), get!(index), site), base, true) }
    #[out_of_line]
    CallRef { func, base } => { call_through_store!(ops::ref_target(get!(func)), base, false) }
    #[out_of_line]
    ReturnCallRef { func, base } => { call_through_store!(ops::ref_target(get!(func)), base, true) }
    #[out_of_line]
    ConsumeFuel { amount } => { flow!(ops::consume_fuel(calls!(), amount)) }
    #[out_of_line]
    CheckInterrupt {} => { flow!(ops::check_interrupt(calls!())) }
    #[out_of_line]
    EnterNative {} => { flow!(Flow::Request(Request::RunNative)) }
    #[out_of_line]
    TierUpEntry {} => { flow!(ops::tier_up(calls!(), true)) }
    #[out_of_line]
    TierUpLoop {} => { flow!(ops::tier_up(calls!(), false)) }
    GlobalGet { dst, global } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        // SAFETY: the store's globals do not move while handlers run.
        set!(dst, unsafe { *value } as u64)
    }
    GlobalSet { src, global } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        let new = get!(src) as u128;
        // SAFETY: the store's globals do not move while handlers run.
        unsafe { *value = new }
    }
    GlobalAddImm { global, dst, imm } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        // SAFETY: the store's globals do not move while handlers run.
        let new = (unsafe { *value } as u32).wrapping_add(imm) as u64;
        // SAFETY: as above.
        unsafe { *value = new as u128 };
        set!(dst, new)
    }
    GlobalSetAddImm { global, a, imm } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        let new = (get!(a) as u32).wrapping_add(imm) as u64;
        // SAFETY: the store's globals do not move while handlers run.
        unsafe { *value = new as u128 }
    }
    #[out_of_line]
    GlobalGet2 { dst, global } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        // SAFETY: the store's globals do not move while handlers run.
        set128!(dst, unsafe { *value })
    }
    #[out_of_line]
    GlobalSet2 { src, global } => {
        let calls = calls!();
        // SAFETY: validation checked the global index.
        let value = unsafe { ops::global_value(calls, global) };
        let new = get128!(src);
        // SAFETY: the store's globals do not move while handlers run.
        unsafe { *value = new }
    }
    #[out_of_line]
    RefFunc { dst, func } => { set!(dst, ops::ref_func(calls!(), func)) }
    #[out_of_line]
    MemorySize { dst, memory } => { set!(dst, ops::memory_size(calls!(), memory)) }
    #[out_of_line]
    MemoryGrow { dst, delta, memory } => {
        flow!(ops::memory_grow(calls!(), memory, get!(delta), dst))
    }
    #[out_of_line]
    MemoryFill { memory, base } => {
        flow!(ops::memory_fill(calls!(), memory, get!(base), get!(base + 1) as u8, get!(base + 2)))
    }
    #[out_of_line]
    MemoryCopy { dst_memory, src_memory, base } => {
        let operands = span3!(base);
        flow!(ops::memory_copy(calls!(), (dst_memory, src_memory), operands))
    }
    #[out_of_line]
    MemoryInit { memory, data, base } => {
        let operands = span3!(base);
        flow!(ops::memory_init(calls!(), (memory, data), operands))
    }
    #[out_of_line]
    DataDrop { data } => { ops::data_drop(calls!(), data) }
    #[out_of_line]
    TableGet { dst, index, table } => {
        match ops::table_get(calls!(), table, get!(index)) {
            Ok(value) => set!(dst, value),
            Err(kind) => trap!(kind),
        }
    }
    #[out_of_line]
    TableSet { table, base } => { flow!(ops::table_set(calls!(), table, get!(base), get!(base + 1))) }
    #[out_of_line]
    TableSize { dst, table } => { set!(dst, ops::table_size(calls!(), table)) }
    #[out_of_line]
    TableGrow { table, base } => {
        flow!(ops::table_grow(calls!(), table, get!(base), get!(base + 1), base))
    }
    #[out_of_line]
    TableFill { table, base } => {
        flow!(ops::table_fill(calls!(), table, get!(base), get!(base + 1), get!(base + 2)))
    }
    #[out_of_line]
    TableCopy { dst_table, src_table, base } => {
        let operands = span3!(base);
        flow!(ops::table_copy(calls!(), (dst_table, src_table), operands))
    }
    #[out_of_line]
    TableInit { table, elem, base } => {
        let operands = span3!(base);
        flow!(ops::table_init(calls!(), (table, elem), operands))
    }
    #[out_of_line]
    ElemDrop { elem } => { ops::elem_drop(calls!(), elem) }
    #[out_of_line]
    I32LoadX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 4, |v| v) }
    #[out_of_line]
    I64LoadX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 8, |v| v) }
    #[out_of_line]
    F32LoadX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 4, |v| v) }
    #[out_of_line]
    F64LoadX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 8, |v| v) }
    #[out_of_line]
    I32Load8SX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 1, |v| v as i8 as i32 as u32 as u64) }
    #[out_of_line]
    I32Load8UX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 1, |v| v) }
    #[out_of_line]
    I32Load16SX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 2, |v| v as i16 as i32 as u32 as u64) }
    #[out_of_line]
    I32Load16UX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 2, |v| v) }
    #[out_of_line]
    I64Load8SX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 1, |v| v as i8 as i64 as u64) }
    #[out_of_line]
    I64Load8UX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 1, |v| v) }
    #[out_of_line]
    I64Load16SX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 2, |v| v as i16 as i64 as u64) }
    #[out_of_line]
    I64Load16UX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 2, |v| v) }
    #[out_of_line]
    I64Load32SX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 4, |v| v as i32 as i64 as u64) }
    #[out_of_line]
    I64Load32UX { dst, addr, memarg } => { load_x!(dst, addr, memarg, 4, |v| v) }
    #[out_of_line]
    I32StoreX { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 4) }
    #[out_of_line]
    I64StoreX { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 8) }
    #[out_of_line]
    F32StoreX { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 4) }
    #[out_of_line]
    F64StoreX { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 8) }
    #[out_of_line]
    I32Store8X { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 1) }
    #[out_of_line]
    I32Store16X { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 2) }
    #[out_of_line]
    I64Store8X { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 1) }
    #[out_of_line]
    I64Store16X { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 2) }
    #[out_of_line]
    I64Store32X { addr, value, memarg } => { store_x!(addr, get!(value) as u128, memarg, 4) }
    #[out_of_line]
    V128LoadX { op, dst, addr, memarg } => {
        match ops::load_memarg(calls!(), memarg, get!(addr), op.bytes()) {
            Ok(raw) => set128!(dst, simd::finish_load(op, raw)),
            Err(kind) => trap!(kind),
        }
    }
    #[out_of_line]
    V128StoreX { addr, value, memarg } => { store_x!(addr, get128!(value), memarg, 16) }
    #[out_of_line]
    V128LoadLane { width, lane, dst, base, memarg } => {
        match ops::load_memarg(calls!(), memarg, get!(base), width.bytes()) {
            Ok(raw) => {
                let vector = get128!(base + 1);
                set128!(dst, simd::replace_lane(ops::lane_replace_op(width), vector, raw as u64, lane))
            }
            Err(kind) => trap!(kind),
        }
    }
    #[out_of_line]
    V128StoreLane { width, base, memarg, lane } => {
        let n = width.bytes();
        store_x!(base, get128!(base + 1) >> (lane as u32 * n as u32 * 8), memarg, n)
    }
    #[out_of_line]
    V128Shuffle { dst, base, mask } => {
        let mask = calls!().cur.compiled().side_tables().v128_consts[mask.index()];
        set128!(dst, simd::shuffle(get128!(base), get128!(base + 2), mask))
    }
    // The exception, GC and atomic instructions run out of line, in `gc_ops` and `atomic_ops`.
    #[out_of_line]
    Throw { tag, base } => { heap!() }
    #[out_of_line]
    ThrowRef { src } => { heap!() }
    #[out_of_line]
    RefEq { dst, a, b } => { heap!() }
    #[out_of_line]
    RefI31 { dst, src } => { heap!() }
    #[out_of_line]
    I31GetS { dst, src } => { heap!() }
    #[out_of_line]
    I31GetU { dst, src } => { heap!() }
    #[out_of_line]
    AnyConvertExtern { dst, src } => { heap!() }
    #[out_of_line]
    ExternConvertAny { dst, src } => { heap!() }
    #[out_of_line]
    ArrayLen { dst, src } => { heap!() }
    #[out_of_line]
    Gc { op, dst, base, site } => { heap!() }
    #[out_of_line]
    RefTest { dst, src, cast } => { heap!() }
    #[out_of_line]
    RefCast { src, cast } => { heap!() }
    #[out_of_line]
    BrOnCast { src, cast, target } => { heap!() }
    #[out_of_line]
    BrOnCastFail { src, cast, target } => { heap!() }
    #[out_of_line]
    Atomic { dst, base, site } => { heap!() }
    #[out_of_line]
    AtomicFence {} => { heap!() }
    Return {} => {
        ret!({});
    }
    ReturnOne { src } => {
        ret!({ set!(Slot(0), get!(src)) });
    }
    ReturnSpan { src, len } => {
        ret!({
            // SAFETY: the span lies inside the frame (translator invariant); `copy` allows overlap.
            unsafe { std::ptr::copy(frame!().add(src.index()), frame!(), len as usize) }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::bytecode::BranchOffset;

    /// Every handler, run 100,000 times in a loop on a 256 KiB thread stack. With sibling calls the
    /// stack does not grow; a handler that LLVM compiled to a real call would overflow it (the test
    /// binary then aborts), and without `ward_tail_calls` the loop in `run` is exercised instead.
    #[test]
    fn handlers_do_not_grow_the_stack() {
        let thread = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut ran = 0;
                for instr in samples() {
                    // `Unreachable` always traps; calls, returns, globals and `V128Const` need a
                    // module and a call stack (tests/limits.rs runs calls and returns in a long loop
                    // on a small stack), and
                    // so do the out-of-line handlers, which return to `run` instead of chaining.
                    if is_out_of_line(&instr)
                        || matches!(
                            instr,
                            Instr::Unreachable {}
                                | Instr::Call { .. }
                                | Instr::CallIndirect { .. }
                                | Instr::GlobalGet { .. }
                                | Instr::GlobalSet { .. }
                                | Instr::GlobalAddImm { .. }
                                | Instr::GlobalSetAddImm { .. }
                                | Instr::Return { .. }
                                | Instr::ReturnOne { .. }
                                | Instr::ReturnSpan { .. }
                                | Instr::V128Const { .. }
                        )
                    {
                        continue;
                    }
                    let mut instr = instr.with_unit_immediate();
                    // Fall through to the counter update whether or not a branch is taken (targets
                    // are relative: the sample sits at index 4).
                    if let Some(target) = instr.branch_target_mut() {
                        *target = BranchOffset(1);
                    }
                    const COUNTER: Slot = Slot(10);
                    let code = [
                        // Operands: every slot the sample names (all fields are 0) holds 16, a valid
                        // address (also for an access whose `end` is 0: it ends at 16), divisor
                        // and float bit pattern.
                        Instr::Const64 {
                            dst: Slot(0),
                            value: 16,
                        },
                        Instr::Const64 {
                            dst: Slot(1),
                            value: 16,
                        },
                        Instr::Const64 {
                            dst: Slot(2),
                            value: 16,
                        },
                        Instr::Const64 {
                            dst: Slot(3),
                            value: 16,
                        },
                        instr,
                        Instr::I32AddImm {
                            dst: COUNTER,
                            a: COUNTER,
                            imm: -1i32 as u32,
                        },
                        Instr::BrI32NeImm {
                            a: COUNTER,
                            imm: 0,
                            target: BranchOffset(-6),
                        },
                        // Ends the run.
                        Instr::Unreachable {},
                    ];
                    let mut frame = [0u64; 16];
                    frame[COUNTER.index()] = 100_000;
                    let mut memory = [0u8; 64];
                    // SAFETY: the code ends in a trap, its slots lie below 16 and its memory
                    // accesses (address 16, offset or `end` 0, at most 16 bytes) inside `memory`.
                    let exit = unsafe {
                        run(
                            code.as_ptr(),
                            frame.as_mut_ptr(),
                            memory.as_mut_ptr(),
                            64,
                            std::ptr::null_mut(),
                        )
                    };
                    assert_eq!(
                        exit.trap_kind(),
                        Some(TrapKind::Unreachable),
                        "{instr:?} trapped: {exit:?}"
                    );
                    assert_eq!(exit.ip, code.as_ptr().wrapping_add(8), "{instr:?}");
                    assert_eq!(frame[COUNTER.index()], 0, "{instr:?}");
                    ran += 1;
                }
                ran
            })
            .expect("spawn");
        let ran = thread.join().expect("no handler grows the stack");
        assert!(ran > 250, "only {ran} handlers ran");
    }

    #[test]
    fn traps_report_their_kind_and_the_next_instruction() {
        let code = [
            Instr::Const64 {
                dst: Slot(0),
                value: 7,
            },
            Instr::Const64 {
                dst: Slot(1),
                value: 0,
            },
            Instr::I32DivU {
                dst: Slot(2),
                a: Slot(0),
                b: Slot(1),
            },
            Instr::Unreachable {},
        ];
        let mut frame = [0u64; 4];
        // SAFETY: slots below 4, no memory access, ends in a trap.
        let exit = unsafe {
            run(
                code.as_ptr(),
                frame.as_mut_ptr(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(exit.trap_kind(), Some(TrapKind::IntegerDivisionByZero));
        assert_eq!(exit.ip, &code[3] as *const Instr);
        assert_eq!(frame[..2], [7, 0]);
    }

    #[test]
    fn trap_statuses_round_trip() {
        for (i, kind) in TRAPS.iter().enumerate() {
            assert_eq!(*kind as usize, i, "TRAPS is in declaration order");
            let exit = Exit::trap(std::ptr::null(), *kind);
            assert_eq!(exit.trap_kind(), Some(*kind));
        }
        for status in [Exit::REQUEST, Exit::DONE, Exit::CONTINUE] {
            let exit = Exit {
                ip: std::ptr::null(),
                status,
            };
            assert_eq!(exit.trap_kind(), None);
        }
    }
}
