//! The native calling convention and the `#[repr(C)]` context of compiled code: what the
//! compiler (through [`layout`]) and the code memory's function table need, apart from running it
//! (`context`), so that compiling a module does not depend on the executor.

use std::any::Any;

use ward_cranelift::{ContextLayout, Libcall};

use crate::Error;
use crate::trap::{TrapKind, WasmBacktrace};

/// The native signature of every compiled function and of [`call_shim`]: context, argument and
/// result slots, the callee's function index (see `ward_cranelift`).
pub(crate) type NativeFn = unsafe extern "C" fn(*mut VmContext, *mut u64, u32) -> u32;

/// The context of one entry into compiled code. The fields up to `libcalls` are read by compiled
/// code at the offsets [`layout`] gives the compiler; the rest only by ward.
#[repr(C)]
pub(crate) struct VmContext {
    pub(super) memory_base: *mut u8,
    pub(super) memory_length: u64,
    pub(super) globals: *const *mut u64,
    pub(super) funcs: *const NativeFn,
    /// The direct table: each function's code with its type's direct signature (null for a
    /// function whose type the tier does not compile).
    pub(super) direct_funcs: *const *const u8,
    /// Each memory of the instance (imports first): its base and length (`memory_views`).
    pub(super) memories: *const MemoryView,
    pub(super) stack_limit: usize,
    pub(super) libcalls: [*const (); Libcall::COUNT],
    /// The store's fuel, its epoch deadline and its clock countdown, copied in when compiled code
    /// is entered and kept in step with the store around every libcall (`context::with_store`).
    pub(super) fuel: u64,
    pub(super) epoch_deadline: u64,
    pub(super) clock_countdown: u32,
    /// The engine's epoch counter (an `AtomicU64`) and the store's interrupt flag (an
    /// `AtomicBool`), which other threads set: compiled code reads them in place.
    pub(super) epoch: *const u64,
    pub(super) interrupt_flag: *const u8,
    /// `call_libcall::<E>`, for [`call_shim`] (the function table is per module, not per
    /// embedder type).
    pub(super) call: NativeFn,
    /// The embedder's store (`*mut E`), used only by the libcalls `enter::<E>` installed.
    pub(super) store: *mut (),
    pub(super) instance: u32,
    /// Pointers to the values of the instance's globals, and where the store's globals were when
    /// they were taken (a `*const GlobalEntity`, kept untyped so this file names nothing of the
    /// runtime).
    pub(super) global_ptrs: Vec<*mut u64>,
    pub(super) globals_at: *const (),
    /// What `memories` points to, kept current by `context::refresh`.
    pub(super) memory_views: Vec<MemoryView>,
    pub(super) failure: FailureState,
}

/// One memory as compiled code sees it (`ContextLayout::memories`): a shared memory, which the
/// tier does not compile, has length 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct MemoryView {
    pub(super) base: *mut u8,
    pub(super) length: u64,
}

/// Why compiled code returned a non-zero status.
#[derive(Default)]
pub(super) struct FailureState {
    /// A trap, with the frames compiled code recorded (innermost first) and, when it happened in
    /// a callee run by the executor, the callee's backtrace (innermost part).
    pub(super) kind: Option<TrapKind>,
    pub(super) frames: Vec<(u32, u32)>,
    pub(super) inner: Option<WasmBacktrace>,
    /// An error that passes through unchanged (a host function's error, an exception).
    pub(super) error: Option<Error>,
    /// A panic in a libcall, resumed once compiled code has returned.
    pub(super) panic: Option<Box<dyn Any + Send>>,
}

/// The context's layout, for the compiler.
pub(crate) fn layout() -> ContextLayout {
    let at = |offset: usize| i32::try_from(offset).expect("the context is small");
    ContextLayout {
        memory_base: at(std::mem::offset_of!(VmContext, memory_base)),
        memory_length: at(std::mem::offset_of!(VmContext, memory_length)),
        globals: at(std::mem::offset_of!(VmContext, globals)),
        funcs: at(std::mem::offset_of!(VmContext, funcs)),
        direct_funcs: at(std::mem::offset_of!(VmContext, direct_funcs)),
        memories: at(std::mem::offset_of!(VmContext, memories)),
        stack_limit: at(std::mem::offset_of!(VmContext, stack_limit)),
        libcalls: at(std::mem::offset_of!(VmContext, libcalls)),
        fuel: at(std::mem::offset_of!(VmContext, fuel)),
        epoch: at(std::mem::offset_of!(VmContext, epoch)),
        epoch_deadline: at(std::mem::offset_of!(VmContext, epoch_deadline)),
        interrupt_flag: at(std::mem::offset_of!(VmContext, interrupt_flag)),
        clock_countdown: at(std::mem::offset_of!(VmContext, clock_countdown)),
    }
}

/// The entry compiled code calls an import or an interpreted function through (the function
/// table's entry for them): forwards to the context's `call_libcall::<E>`.
///
/// # Safety
/// As for [`call_libcall`].
pub(crate) unsafe extern "C" fn call_shim(ctx: *mut VmContext, slots: *mut u64, index: u32) -> u32 {
    // SAFETY: `ctx` is a live context (the caller's contract), whose `call` matches its store.
    unsafe { ((*ctx).call)(ctx, slots, index) }
}
