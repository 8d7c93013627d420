//! Memory faults of compiled code as traps: the guard region behind memory 0.
//!
//! When the engine has a guard region (`Engine::memory_guard`), a 32-bit memory 0 owns a
//! reservation of at least 4 GiB plus the guard, and every byte past its length faults. Compiled
//! code then accesses memory without an explicit bounds check when the access's static offset
//! plus size fits in the guard (`ward_cranelift::Memory0::guard_bytes`). An out-of-bounds access
//! raises `SIGSEGV`; this module makes that the same `MemoryOutOfBounds` trap, with the same
//! backtrace, that an explicit check gives:
//!
//! 1. [`call`] enters compiled code through a small assembly trampoline that saves the host's
//!    callee-saved registers and stack pointer, and registers the entry (an [`Activation`]) in a
//!    thread-local.
//! 2. The `SIGSEGV` handler checks that this thread is inside an activation and that the faulting
//!    address lies in its memory 0's reservation; it records the faulting instruction and frame
//!    pointer and resumes the thread in [`fault_hook`] (on the same stack, below the faulting
//!    frame). Any other fault goes to the handler that was installed before (Rust's stack
//!    overflow report, or the default action).
//! 3. [`fault_hook`], now outside the signal handler, looks the instruction up among the heap
//!    accesses the compiler recorded (`CodeSites::heap_traps`): anything else is a fault in
//!    ward's own code and aborts the process. It records the trap and one frame per compiled
//!    function on the stack, walking the frame-pointer chain (Cranelift keeps frame records) and
//!    naming each caller by its call's return address (`CodeSites::calls`), exactly the frames
//!    the status protocol records; then it returns status 1 from the trampoline, dropping the
//!    compiled frames (they own nothing).
//!
//! Compiled code has no other faulting instructions: every other check is explicit.

use std::sync::Mutex;

use ward_cranelift::{CodeSites, Libcall, TrapCode};

use super::abi::{NativeFn, VmContext};

/// One piece of a module's machine code that holds Wasm functions' code: where it is mapped and
/// what its sites are.
pub(crate) struct CodeRange {
    pub start: usize,
    pub len: usize,
    /// The module function index (imports first) of the code.
    pub func_index: u32,
    pub sites: CodeSites,
}

/// The code ranges of a module, for the fault hook.
#[derive(Default)]
pub(crate) struct CodeMap {
    ranges: Mutex<Vec<CodeRange>>,
}

impl CodeMap {
    pub fn add(&self, range: CodeRange) {
        self.ranges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(range);
    }

    /// `f` of the range that holds `pc`, and `pc`'s offset in it.
    fn with_range<R>(&self, pc: usize, f: impl FnOnce(&CodeRange, u32) -> Option<R>) -> Option<R> {
        let ranges = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        let range = ranges
            .iter()
            .find(|r| pc >= r.start && pc - r.start < r.len)?;
        f(range, u32::try_from(pc - range.start).ok()?)
    }

    /// The sites of the code that starts at `start`, if any.
    pub fn sites_at(&self, start: usize) -> Option<CodeSites> {
        let ranges = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        ranges
            .iter()
            .find(|r| r.start == start)
            .map(|r| r.sites.clone())
    }
}

/// One entry into compiled code on this thread.
#[repr(C)]
struct Activation {
    /// The trampoline's stack pointer after it saved the host's registers (written by the
    /// trampoline; offset 0).
    saved_sp: usize,
    /// Memory 0's reservation: faults at these addresses are the activation's.
    memory: std::ops::Range<usize>,
    /// Written by the signal handler.
    fault_pc: usize,
    fault_fp: usize,
    handling: bool,
    ctx: *mut VmContext,
    code: *const CodeMap,
}

#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
mod platform {
    use std::cell::Cell;
    use std::sync::OnceLock;

    use super::super::abi::{NativeFn, VmContext};
    use super::Activation;

    thread_local! {
        /// The innermost activation of compiled code on this thread (null outside compiled code).
        pub(super) static ACTIVE: Cell<*mut Activation> = const { Cell::new(std::ptr::null_mut()) };
    }

    // The trampoline (System V x86-64):
    //   ward_native_call(code, ctx, slots, argument, activation) -> status
    // saves rbp, rbx, r12-r15, stores its stack pointer in `activation.saved_sp` and calls
    // `code(ctx, slots, argument)`. `ward_native_unwind(saved_sp)` returns 1 from it,
    // restoring the saved registers. `ward_native_fault_stub` is where the signal handler
    // resumes a faulting thread: it aligns the stack and calls the fault hook, which never
    // returns.
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl ward_native_call",
        ".hidden ward_native_call",
        ".type ward_native_call,@function",
        "ward_native_call:",
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "mov [r8], rsp",
        "mov rax, rdi",
        "mov rdi, rsi",
        "mov rsi, rdx",
        "mov edx, ecx",
        "call rax",
        ".globl ward_native_call_return",
        ".hidden ward_native_call_return",
        "ward_native_call_return:",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        ".size ward_native_call, .-ward_native_call",
        "",
        ".p2align 4",
        ".globl ward_native_unwind",
        ".hidden ward_native_unwind",
        ".type ward_native_unwind,@function",
        "ward_native_unwind:",
        "mov rsp, rdi",
        "mov eax, 1",
        "jmp ward_native_call_return",
        ".size ward_native_unwind, .-ward_native_unwind",
        "",
        ".p2align 4",
        ".globl ward_native_fault_stub",
        ".hidden ward_native_fault_stub",
        ".type ward_native_fault_stub,@function",
        "ward_native_fault_stub:",
        "and rsp, -16",
        "call {hook}",
        "ud2",
        ".size ward_native_fault_stub, .-ward_native_fault_stub",
        hook = sym super::fault_hook,
    );

    unsafe extern "C" {
        /// `code` is a `NativeFn`, `ctx` a `*mut VmContext`; `saved_sp` is the activation's first
        /// field.
        fn ward_native_call(
            code: *const (),
            ctx: *mut std::ffi::c_void,
            slots: *mut u64,
            argument: u32,
            saved_sp: *mut usize,
        ) -> u32;
        fn ward_native_call_return();
        pub(super) fn ward_native_unwind(saved_sp: usize) -> !;
        fn ward_native_fault_stub();
    }

    /// Where compiled code called by the trampoline returns to: the end of the frame walk.
    pub(super) fn trampoline_return() -> usize {
        ward_native_call_return as *const () as usize
    }

    /// Restores the previous activation when an entry ends, however it ends.
    struct Restore(*mut Activation);

    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(self.0));
        }
    }

    /// Runs `code` as the innermost activation of this thread.
    ///
    /// # Safety
    /// As for calling `code` directly; `activation` is not otherwise used until this returns.
    pub(super) unsafe fn call(
        code: NativeFn,
        ctx: *mut VmContext,
        slots: *mut u64,
        argument: u32,
        activation: *mut Activation,
    ) -> u32 {
        install();
        let _restore = Restore(ACTIVE.with(|a| a.replace(activation)));
        // SAFETY: the trampoline calls `code` with these arguments (the caller's contract) and
        // returns its status, or 1 through `ward_native_unwind` from the fault hook, which runs
        // only for a fault inside this activation.
        unsafe {
            ward_native_call(
                code as *const (),
                ctx.cast(),
                slots,
                argument,
                activation.cast(),
            )
        }
    }

    /// The `SIGSEGV` disposition before ward's, to pass on faults that are not Wasm's.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: a zeroed `sigaction` is a valid argument once its handler, flags and mask
            // are set; `sigaction` replaces this process's SIGSEGV disposition, keeping the old
            // one to chain to.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGSEGV, &action, &mut old) == 0 {
                    let _ = PREVIOUS.set(old);
                }
            }
        });
    }

    /// The `SIGSEGV` handler. Async-signal-safe: it reads a thread-local and the activation on
    /// this thread's stack, and edits the interrupted context.
    unsafe extern "C" fn on_fault(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        let active = ACTIVE.try_with(Cell::get).unwrap_or(std::ptr::null_mut());
        if !active.is_null() {
            // SAFETY: the kernel passes a valid `siginfo_t` and `ucontext_t`; `active` is this
            // thread's innermost activation, alive on its stack while compiled code runs, and
            // nothing else touches it while this thread is in the handler.
            unsafe {
                let address = (*info).si_addr() as usize;
                if !(*active).handling && (*active).memory.contains(&address) {
                    let gregs = &mut (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs;
                    (*active).fault_pc = gregs[libc::REG_RIP as usize] as usize;
                    (*active).fault_fp = gregs[libc::REG_RBP as usize] as usize;
                    (*active).handling = true;
                    // Resume in the stub, below the faulting frame and its red zone.
                    let sp = gregs[libc::REG_RSP as usize] as usize - 128;
                    gregs[libc::REG_RSP as usize] = sp as i64;
                    gregs[libc::REG_RIP as usize] = ward_native_fault_stub as *const () as i64;
                    return;
                }
            }
        }
        // SAFETY: the previous disposition was valid for SIGSEGV; calling it (or restoring it
        // so that the fault repeats under it) is what would have happened without ward.
        unsafe { chain(signal, info, context) }
    }

    unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let Some(previous) = PREVIOUS.get() else {
            return;
        };
        // SAFETY: see `on_fault`.
        unsafe {
            if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
                // The fault repeats when the handler returns, under the old disposition.
                libc::sigaction(signal, previous, std::ptr::null_mut());
            } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(previous.sa_sigaction);
                handler(signal, info, context);
            } else {
                let handler: extern "C" fn(libc::c_int) =
                    std::mem::transmute(previous.sa_sigaction);
                handler(signal);
            }
        }
    }
}

/// Calls compiled `code` with the slot signature as an activation whose memory 0 reservation is
/// `memory` (empty without a guard region) and whose code `code_map` names: a fault in
/// `memory` at a heap access of that code returns status 1 with the trap recorded in `ctx`.
///
/// # Safety
/// As for calling `code(ctx, slots, argument)`; `code_map` outlives the call.
pub(crate) unsafe fn call(
    code: NativeFn,
    ctx: *mut VmContext,
    slots: *mut u64,
    argument: u32,
    memory: std::ops::Range<usize>,
    code_map: &CodeMap,
) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
    if !memory.is_empty() {
        let mut activation = Activation {
            saved_sp: 0,
            memory,
            fault_pc: 0,
            fault_fp: 0,
            handling: false,
            ctx,
            code: code_map,
        };
        // SAFETY: the caller's contract; `activation` lives on this frame until the call ends.
        return unsafe { platform::call(code, ctx, slots, argument, &mut activation) };
    }
    let _ = (memory, code_map);
    // SAFETY: the caller's contract.
    unsafe { code(ctx, slots, argument) }
}

/// Where the signal handler resumes a thread whose compiled code touched memory 0's guard
/// region (through `ward_native_fault_stub`): records the trap and the compiled frames, then
/// unwinds to the trampoline, which returns status 1.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
extern "C" fn fault_hook() -> ! {
    let active = platform::ACTIVE.with(std::cell::Cell::get);
    // SAFETY: the handler resumes here only with `active` set to this thread's activation, whose
    // frame (in `call`) is above the compiled frames and this one.
    let saved_sp = unsafe {
        record_fault(&*active);
        (*active).saved_sp
    };
    // SAFETY: `saved_sp` is the trampoline's saved stack pointer of this activation, whose frame
    // is live; everything between here and it is compiled frames (which own nothing) and this
    // function's (which owns nothing at this point).
    unsafe { platform::ward_native_unwind(saved_sp) }
}

/// Records the trap of the fault `activation` saw, and its compiled frames, in its context.
///
/// # Safety
/// `activation` is the faulting thread's innermost activation; its compiled frames are intact
/// (this runs on the stack below them).
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
unsafe fn record_fault(activation: &Activation) {
    // SAFETY: the activation's code map outlives it (`call`'s contract).
    let code = unsafe { &*activation.code };
    let pc = activation.fault_pc;
    let Some((func, offset)) = code.with_range(pc, |range, at| {
        Some((range.func_index, range.sites.heap_trap_at(at)?))
    }) else {
        // Not a Wasm memory access: a fault in ward's own code, which must not pass for a trap.
        eprintln!("ward: fatal: memory fault at {pc:#x} in compiled code, not at a Wasm access");
        std::process::abort();
    };
    let ctx = activation.ctx;
    // SAFETY: `ctx` is the activation's live context; its libcall table holds `trap` and `frame`
    // with these signatures (`context::enter`).
    unsafe {
        let trap: unsafe extern "C" fn(*mut VmContext, u32) =
            std::mem::transmute((*ctx).libcalls[Libcall::Trap as usize]);
        let frame: unsafe extern "C" fn(*mut VmContext, u32, u32) =
            std::mem::transmute((*ctx).libcalls[Libcall::Frame as usize]);
        trap(ctx, TrapCode::MemoryOutOfBounds as u32);
        frame(ctx, func, offset);
        // The callers: each frame record holds the caller's frame pointer and the return address
        // into the caller. Compiled frames lie between the fault and the trampoline's saved stack
        // pointer; the walk ends at the return into the trampoline.
        let end = platform::trampoline_return();
        let mut fp = activation.fault_fp;
        while fp != 0 && fp.is_multiple_of(8) && fp < activation.saved_sp {
            let ret = *((fp + 8) as *const usize);
            if ret == end {
                break;
            }
            // Adapters' return addresses belong to no range and record nothing.
            if let Some((func, offset)) = code.with_range(ret, |range, at| {
                Some((range.func_index, range.sites.call_returning_to(at)?))
            }) {
                frame(ctx, func, offset);
            }
            let next = *(fp as *const usize);
            if next <= fp {
                break;
            }
            fp = next;
        }
    }
}
