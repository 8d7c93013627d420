//! Running compiled code: the `#[repr(C)]` context it reads ([`VmContext`]), the libcalls it
//! makes into ward, and [`enter`], which the executor's driver calls to run a compiled function on
//! its interpreter stub's frame.
//!
//! A context lives on the host stack for one entry into compiled code (an interpreted caller, or a
//! host call through `Func::call`, enters through the function's stub). Compiled code of the same
//! module calls itself directly with the same context; a call that leaves the module's compiled
//! code (an import, an interpreted function, `call_indirect`) goes through a libcall, which runs
//! the callee through the store and, if that callee is compiled, enters it again with a context of
//! its own. What can change while ward code runs — memory 0's base and length, where the store's
//! globals are — is read again after every libcall that may run code ([`refresh`]).

use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;

use ward_cranelift::TrapCode;

use super::abi::{FailureState, MemoryView, NativeFn, VmContext};

use crate::Error;
use crate::interp::exec;
use crate::interp::host::Embedder;
use crate::interp::interruption::{self, Verdict};
use crate::runtime::memory::range_in;
use crate::runtime::store::{FuncKind, StoreInner};
use crate::trap::{FrameInfo, TrapKind, WasmBacktrace};
use crate::types::slot_count;

/// Bytes of native stack kept free below the limit compiled code checks in its prologue: room
/// for one compiled frame (bounded by `ward_cranelift::MAX_LOCALS` and `MAX_BODY_BYTES`) and for
/// the libcall, executor and host frames a call out of compiled code needs.
const STACK_MARGIN: usize = 256 << 10;

/// Buffers of the contexts of entries that have returned on this thread, for the next entries:
/// code that crosses between the tiers enters compiled code at every such call, and allocating a
/// context's two buffers each time was about a tenth of a mixed program's time (SQLite's first
/// run under tier-up).
type SpareBuffers = (Vec<*mut u64>, Vec<MemoryView>);

thread_local! {
    static SPARE: std::cell::RefCell<Vec<SpareBuffers>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Spare buffers kept per thread at most (one per nested entry).
const MAX_SPARE: usize = 16;

fn take_buffers() -> SpareBuffers {
    SPARE
        .try_with(|spare| spare.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give_back_buffers(ctx: &mut VmContext) {
    let mut buffers = (
        std::mem::take(&mut ctx.global_ptrs),
        std::mem::take(&mut ctx.memory_views),
    );
    buffers.0.clear();
    buffers.1.clear();
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < MAX_SPARE {
            spare.push(buffers);
        }
    });
}

/// How a compiled function failed.
pub(crate) enum Failure {
    /// A trap: its kind, and its backtrace from the innermost frame to the compiled function that
    /// was entered (the entry's callers are the executor's to add).
    Trap {
        kind: TrapKind,
        backtrace: WasmBacktrace,
    },
    /// An error to pass on unchanged.
    Error(Error),
}

/// Runs defined function `index` of store instance `instance`, which has machine code, with its
/// arguments in `slots` (where its results go); with `loop_offset`, runs the code that enters it
/// at that loop (compiled by `tier_up::loop_entry`), with all its locals in `slots`.
///
/// # Safety
/// `slots` is valid for reads and writes of `max(params, results)` slots of the function's type
/// (with `loop_offset`: of `max(locals, results)` slots, the locals' values in the first) and not
/// otherwise accessed until this returns.
pub(crate) unsafe fn enter<E: Embedder>(
    store: &mut E,
    instance: u32,
    index: u32,
    slots: *mut u64,
    loop_offset: Option<u32>,
) -> std::result::Result<(), Failure> {
    let module = store.inner().instances[instance as usize].module.clone();
    let native = module
        .inner
        .native
        .as_ref()
        .expect("a function has a native stub only in a module with native code");
    let func_index = module.inner.num_imported_funcs + index;
    // Code that enters at a loop takes the loop's offset where the slot entry takes the
    // function's index (`Compiler::compile_loop_entry`).
    let (code, argument) = match loop_offset {
        None => (native.func(func_index), func_index),
        Some(at) => (
            native
                .loop_code(index, at)
                .expect("loop-entry code is run only once it is compiled for that loop"),
            at,
        ),
    };
    let max_wasm_stack = store.inner().engine.config().max_wasm_stack;
    let epoch = store.inner().engine.inner.epoch.as_ptr().cast_const();
    let interrupt_flag = store.inner().interrupt.as_ptr().cast_const().cast::<u8>();
    let (global_ptrs, memory_views) = take_buffers();
    let mut ctx = VmContext {
        memory_base: std::ptr::null_mut(),
        memory_length: 0,
        globals: std::ptr::null(),
        funcs: native.funcs_ptr(),
        direct_funcs: native.direct_ptr(),
        memories: std::ptr::null(),
        stack_limit: stack_limit(max_wasm_stack),
        libcalls: [
            trap_libcall as *const (),
            frame_libcall as *const (),
            call_indirect_libcall::<E> as *const (),
            memory_grow_libcall::<E> as *const (),
            memory_fill_libcall::<E> as *const (),
            memory_copy_libcall::<E> as *const (),
            interrupt_libcall::<E> as *const (),
            resolve_indirect_libcall::<E> as *const (),
        ],
        fuel: 0,
        epoch_deadline: 0,
        clock_countdown: 0,
        epoch,
        interrupt_flag,
        call: call_libcall::<E>,
        store: std::ptr::null_mut(),
        instance,
        global_ptrs,
        globals_at: std::ptr::null(),
        memory_views,
        failure: FailureState::default(),
    };
    refresh(&mut ctx, store.inner());
    load_limits(&mut ctx, store.inner());
    ctx.store = (store as *mut E).cast();
    // SAFETY: `code` is the machine code of function `func_index`, compiled for this module with
    // the native signature `NativeFn` and the layout of `VmContext`; the context is complete (its
    // store pointer names `store`, which is not used here until the call returns), and `slots`
    // is wide enough (the caller's contract).
    let status = unsafe {
        super::guard::call(
            code,
            &mut ctx,
            slots,
            argument,
            guarded_memory(store.inner(), instance),
            &native.code_map,
        )
    };
    // Compiled code has returned: nothing reads the context's globals or memories any more.
    give_back_buffers(&mut ctx);
    if let Some(panic) = ctx.failure.panic.take() {
        // The store's limits are the libcall's, which panicked: newer than the context's.
        std::panic::resume_unwind(panic);
    }
    save_limits(&ctx, store.inner());
    if status == 0 {
        return Ok(());
    }
    let failure = std::mem::take(&mut ctx.failure);
    if let Some(error) = failure.error {
        return Err(Failure::Error(error));
    }
    let kind = failure
        .kind
        .expect("compiled code fails only after a trap or an error was recorded");
    let frames = &failure.frames;
    let here = WasmBacktrace::from_frames(frames.len(), |depth| {
        let (func_index, offset) = frames[depth];
        // Compiled code calls only functions of its own instance.
        let body_start = func_index
            .checked_sub(module.inner.num_imported_funcs)
            .and_then(|defined| module.inner.body_starts.get(defined as usize));
        FrameInfo {
            func_index,
            func_name: module.inner.func_name(func_index).map(str::to_string),
            module_name: module.inner.name.clone(),
            module_offset: Some(offset as usize),
            instance: Some(instance),
            func_offset: body_start
                .and_then(|start| (offset as usize).checked_sub(*start as usize)),
        }
    });
    let backtrace = match failure.inner {
        Some(inner) => inner.join(here),
        None => here,
    };
    Err(Failure::Trap { kind, backtrace })
}

/// The address range of the reservation of `instance`'s memory 0 when compiled code relies on
/// its guard region (faults there are traps, see `guard`); empty otherwise.
fn guarded_memory(store: &StoreInner, instance: u32) -> std::ops::Range<usize> {
    let guard = store.engine.memory_guard();
    let memory = store.instances[instance as usize]
        .memories
        .first()
        .map(|&m| &store.memories[m as usize]);
    match memory {
        Some(memory) if guard > 0 && memory.reserved_bytes() as u64 >= (4 << 30) + guard => {
            let base = memory.base() as usize;
            base..base + memory.reserved_bytes()
        }
        _ => 0..0,
    }
}

/// Reads again what may have changed while ward code ran: memory 0's base and length, and the
/// pointers to the globals' values if the store's globals moved.
fn refresh(ctx: &mut VmContext, store: &mut StoreInner) {
    let instance = &store.instances[ctx.instance as usize];
    ctx.memory_views.clear();
    for &m in instance.memories.iter() {
        let memory = &store.memories[m as usize];
        // Compiled code accesses only unshared memories; a length of 0 would make any stray
        // access trap.
        let length = if memory.shared().is_some() {
            0
        } else {
            memory.size_bytes()
        };
        ctx.memory_views.push(MemoryView {
            base: memory.base(),
            length,
        });
    }
    ctx.memories = ctx.memory_views.as_ptr();
    if let Some(view) = ctx.memory_views.first() {
        ctx.memory_base = view.base;
        ctx.memory_length = view.length;
    }
    if ctx.globals_at != store.globals.as_ptr().cast::<()>()
        || ctx.global_ptrs.len() != instance.globals.len()
    {
        let base = store.globals.as_mut_ptr();
        ctx.global_ptrs.clear();
        for &g in instance.globals.iter() {
            assert!((g as usize) < store.globals.len(), "instance globals exist");
            // SAFETY: `g` indexes the store's globals (checked above); the pointer is to the
            // value's first 8 bytes, its low half on the little-endian hosts the tier supports.
            let value = unsafe { &raw mut (*base.add(g as usize)).value };
            ctx.global_ptrs.push(value.cast::<u64>());
        }
        ctx.globals_at = store.globals.as_ptr().cast::<()>();
    }
    ctx.globals = ctx.global_ptrs.as_ptr();
}

/// Copies the store's fuel, epoch deadline and clock countdown into the context, for compiled code
/// (at its entry, and after a libcall that may have run ward code or the embedder's).
fn load_limits(ctx: &mut VmContext, store: &StoreInner) {
    ctx.fuel = store.fuel;
    ctx.epoch_deadline = store.epoch_deadline;
    ctx.clock_countdown = store.wall_clock.countdown();
}

/// Copies what compiled code changed of the store's limits back (before a libcall, and when
/// compiled code returns).
fn save_limits(ctx: &VmContext, store: &mut StoreInner) {
    store.fuel = ctx.fuel;
    store.wall_clock.set_countdown(ctx.clock_countdown);
}

/// The limit compiled code's prologue checks the stack pointer against: `max_wasm_stack` below
/// the entry, but never closer than [`STACK_MARGIN`] to the end of the thread's stack.
fn stack_limit(max_wasm_stack: usize) -> usize {
    let marker = 0u8;
    let sp = std::ptr::addr_of!(marker).addr();
    let floor = thread_stack_low().map_or(0, |low| low.saturating_add(STACK_MARGIN));
    // Without the thread's bounds, allow at most 512 KiB (less than any thread stack ward runs on).
    let budget = if floor == 0 {
        max_wasm_stack.min(512 << 10)
    } else {
        max_wasm_stack
    };
    floor.max(sp.saturating_sub(budget))
}

/// The lowest address of the current thread's stack, if the platform says.
fn thread_stack_low() -> Option<usize> {
    thread_local! {
        static LOW: Option<usize> = query_thread_stack_low();
    }
    LOW.with(|low| *low)
}

#[cfg(target_os = "linux")]
fn query_thread_stack_low() -> Option<usize> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is read and destroyed once;
    // the out-pointers are locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (got == 0 && !addr.is_null()).then(|| addr.addr())
    }
}

#[cfg(not(target_os = "linux"))]
fn query_thread_stack_low() -> Option<usize> {
    None
}

fn trap_kind(code: u32) -> TrapKind {
    match TrapCode::from_u32(code) {
        Some(TrapCode::Unreachable) => TrapKind::Unreachable,
        Some(TrapCode::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(TrapCode::IntegerDivisionByZero) => TrapKind::IntegerDivisionByZero,
        Some(TrapCode::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(TrapCode::BadConversionToInteger) => TrapKind::BadConversionToInteger,
        Some(TrapCode::OutOfFuel) => TrapKind::OutOfFuel,
        Some(TrapCode::StackOverflow) | None => TrapKind::StackOverflow,
    }
}

/// `Libcall::Trap`.
///
/// # Safety
/// `ctx` is the context compiled code was entered with.
unsafe extern "C" fn trap_libcall(ctx: *mut VmContext, code: u32) {
    // SAFETY: the caller's contract; compiled code holds no reference into the context.
    let ctx = unsafe { &mut *ctx };
    ctx.failure.kind = Some(trap_kind(code));
}

/// `Libcall::Frame`.
///
/// # Safety
/// As for [`trap_libcall`].
unsafe extern "C" fn frame_libcall(ctx: *mut VmContext, func: u32, offset: u32) {
    // SAFETY: the caller's contract.
    let ctx = unsafe { &mut *ctx };
    // An error passing through records no Wasm frames (as in the interpreter).
    if ctx.failure.error.is_none() {
        ctx.failure.frames.push((func, offset));
    }
}

/// Runs `f` with the context and the store of a libcall of `enter::<E>`; a panic is kept for
/// `enter` to resume (it must not unwind through compiled frames) and gives `on_panic`.
///
/// # Safety
/// `ctx` is the context `enter::<E>` made, whose store pointer is a `*mut E`.
unsafe fn with_store<E: Embedder, R>(
    ctx: *mut VmContext,
    on_panic: R,
    f: impl FnOnce(&mut VmContext, &mut E) -> R,
) -> R {
    // SAFETY: the caller's contract: the context is live and names the store, which `enter`
    // does not use while compiled code runs.
    let (context, store) = unsafe { (&mut *ctx, &mut *(*ctx).store.cast::<E>()) };
    // The store's limits are compiled code's while the libcall runs (which may run ward code, the
    // host or the epoch callback), and compiled code's again when it returns.
    let run = || {
        save_limits(context, store.inner());
        let result = f(context, store);
        load_limits(context, store.inner());
        result
    };
    match std::panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(panic) => {
            // SAFETY: as above; the references of the closure are gone.
            unsafe { (*ctx).failure.panic = Some(panic) };
            on_panic
        }
    }
}

/// Calls function `index` of the context's instance through the store.
///
/// # Safety
/// `ctx` is a context made by `enter::<E>`; `slots` holds the arguments and has room for
/// `max(params, results)` slots of the callee's type.
unsafe extern "C" fn call_libcall<E: Embedder>(
    ctx: *mut VmContext,
    slots: *mut u64,
    index: u32,
) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, 1, |ctx, store| {
            let func = store.inner().instances[ctx.instance as usize].funcs[index as usize];
            call_store_func(ctx, store, func, slots)
        })
    }
}

/// Calls store function `func` with its arguments in `slots`, its results written back; the
/// status compiled code sees.
fn call_store_func<E: Embedder>(
    ctx: &mut VmContext,
    store: &mut E,
    func: u32,
    slots: *mut u64,
) -> u32 {
    if let Some((code, func_index)) = same_instance_code(ctx, store.inner(), func) {
        // The callee is compiled code of this context's instance: it runs on this context,
        // without an activation. Libcalls it makes reach the store through a pointer derived
        // from `store` (restored after), as the pointers the libcall that called this one had.
        let outer = std::mem::replace(&mut ctx.store, (store as *mut E).cast());
        load_limits(ctx, store.inner());
        let context: *mut VmContext = ctx;
        // SAFETY: `code` is compiled code of the context's module with the native signature,
        // `context` is a complete context of that module's instance whose store pointer is valid
        // until the call returns (neither `ctx` nor `store` is used meanwhile), and `slots` is
        // wide enough for the callee's type (this function's contract).
        let status = unsafe { code(context, slots, func_index) };
        ctx.store = outer;
        if ctx.failure.panic.is_none() {
            save_limits(ctx, store.inner());
        }
        return status;
    }
    let entity = &store.inner().funcs[func as usize];
    // In slots: a `v128` takes two.
    let (n_params, n_results) = (
        slot_count(entity.sig.params()),
        slot_count(entity.sig.results()),
    );
    let is_host = matches!(entity.kind, FuncKind::Host { .. });
    let is_wasm = matches!(entity.kind, FuncKind::Wasm { .. });
    let outcome = if is_host {
        // SAFETY: compiled code made `slots` wide enough for the callee's type (its call slots
        // fit the module's widest signature, and an import has one of its types); nothing else
        // uses them until the host returns.
        unsafe { store.call_host(func, slots, n_params.max(n_results), Some(ctx.instance)) }
    } else {
        // SAFETY: as above, `n_params` argument slots are readable; they are the compiled
        // caller's call slots, in its frame, which nothing writes until `invoke` returns (the
        // callee runs on the executor's stack and on frames of its own).
        let args = unsafe { std::slice::from_raw_parts(slots, n_params) };
        exec::invoke(store, func, args).map(|results| {
            let n = results.len().min(n_results);
            // SAFETY: as above, `n_results` result slots are writable.
            unsafe { std::ptr::copy_nonoverlapping(results.as_ptr(), slots, n) };
        })
    };
    refresh(ctx, store.inner());
    match outcome {
        Ok(()) => 0,
        Err(Error::Trap(trap)) if is_wasm => {
            ctx.failure.kind = Some(trap.kind());
            ctx.failure.inner = Some(trap.backtrace().clone());
            1
        }
        Err(e) => {
            ctx.failure.error = Some(e);
            1
        }
    }
}

/// The machine code and module function index of store function `func` if it is a compiled
/// function of the context's own instance (a `call_indirect` within the module).
fn same_instance_code(ctx: &VmContext, store: &StoreInner, func: u32) -> Option<(NativeFn, u32)> {
    let FuncKind::Wasm { instance, index } = store.funcs[func as usize].kind else {
        return None;
    };
    if instance != ctx.instance {
        return None;
    }
    let module = &store.instances[instance as usize].module.inner;
    let native = module.native.as_ref()?;
    if !native.is_compiled(index) {
        return None;
    }
    let func_index = module.num_imported_funcs + index;
    Some((native.func(func_index), func_index))
}

/// `Libcall::ResolveIndirect`: the module function index of the function at `element` of table
/// `table` if it is a function of the context's own instance whose type is module type
/// `type_index` or a subtype of it, else `INDIRECT_MISS` (and `Libcall::CallIndirect` runs the
/// call, or reports its trap). Compiled code calls the index through its function table, as a
/// direct call: the callee's machine code, or the shim for an interpreted one. It only reads
/// the store (no ward code runs, so compiled code's fuel and limits stay in the context) and
/// cannot panic.
///
/// # Safety
/// `ctx` is a context made by `enter::<E>`, whose store is not otherwise used while this runs.
unsafe extern "C" fn resolve_indirect_libcall<E: Embedder>(
    ctx: *mut VmContext,
    table: u32,
    type_index: u32,
    element: u32,
) -> u32 {
    // SAFETY: the caller's contract: the context is live and names the store, which `enter` does
    // not use while compiled code runs.
    let (ctx, store) = unsafe { (&*ctx, &mut *(*ctx).store.cast::<E>()) };
    let inner = store.inner();
    let resolved = || {
        let instance = inner.instances.get(ctx.instance as usize)?;
        let t = *instance.tables.get(table as usize)?;
        let raw = *inner
            .tables
            .get(t as usize)?
            .elements
            .get(element as usize)?;
        let callee = inner.funcs.get(raw.checked_sub(1)? as usize)?;
        let FuncKind::Wasm {
            instance: owner,
            index,
        } = callee.kind
        else {
            return None;
        };
        let expected = *instance.module.inner.type_ids.get(type_index as usize)?;
        let type_matches = callee.ty == expected || inner.engine.id_is_subtype(callee.ty, expected);
        (owner == ctx.instance && type_matches)
            .then(|| instance.module.inner.num_imported_funcs + index)
    };
    resolved().unwrap_or(ward_cranelift::INDIRECT_MISS)
}

/// `Libcall::CallIndirect`: the checks of `call_indirect` (table bounds, null, signature), then
/// the call through the store.
///
/// # Safety
/// As for [`call_libcall`], for the signature of module type `type_index`.
unsafe extern "C" fn call_indirect_libcall<E: Embedder>(
    ctx: *mut VmContext,
    table: u32,
    type_index: u32,
    element: u32,
    slots: *mut u64,
) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, 1, |ctx, store| {
            let inner = store.inner();
            let instance = &inner.instances[ctx.instance as usize];
            let expected = instance.module.inner.type_ids[type_index as usize];
            let t = instance.tables[table as usize];
            let callee = match inner.tables[t as usize].elements.get(element as usize) {
                None => Err(TrapKind::UndefinedElement),
                Some(0) => Err(TrapKind::UninitializedElement),
                Some(&raw) => {
                    let callee = (raw - 1) as u32;
                    let actual = inner.funcs[callee as usize].ty;
                    if actual == expected || inner.engine.id_is_subtype(actual, expected) {
                        Ok(callee)
                    } else {
                        Err(TrapKind::IndirectCallTypeMismatch)
                    }
                }
            };
            match callee {
                Ok(callee) => call_store_func(ctx, store, callee, slots),
                Err(kind) => {
                    ctx.failure.kind = Some(kind);
                    1
                }
            }
        })
    }
}

/// `Libcall::Interrupt`: an interruption point's inline test fired; decides as the interpreter
/// does (`interp::interruption::decide`): go on, trap with `Interrupt`, or fail with the epoch
/// callback's error.
///
/// # Safety
/// `ctx` is a context made by `enter::<E>`.
unsafe extern "C" fn interrupt_libcall<E: Embedder>(ctx: *mut VmContext) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, 1, |ctx, store| {
            // Compiled frames hold no references; the activation that entered compiled code is
            // registered as GC roots by the executor (`exec::run_native`), so no slots here.
            let verdict = interruption::decide(store, NonNull::dangling(), 0);
            refresh(ctx, store.inner());
            match verdict {
                Ok(Verdict::Continue) => 0,
                Ok(Verdict::Interrupt) => {
                    ctx.failure.kind = Some(TrapKind::Interrupt);
                    1
                }
                Err(e) => {
                    ctx.failure.error = Some(e);
                    1
                }
            }
        })
    }
}

/// `Libcall::MemoryGrow` of memory `index` of the instance (through the embedder: the resource
/// limiter applies).
///
/// # Safety
/// `ctx` is a context made by `enter::<E>`, of an instance with a memory `index`.
unsafe extern "C" fn memory_grow_libcall<E: Embedder>(
    ctx: *mut VmContext,
    index: u32,
    delta: u64,
) -> i64 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, -2, |ctx, store| {
            let m = store.inner().instances[ctx.instance as usize].memories[index as usize];
            let result = match store.grow_memory(m as usize, delta) {
                Ok(Some(old)) => old as i64,
                Ok(None) => -1,
                Err(Error::Trap(trap)) => {
                    ctx.failure.kind = Some(trap.kind());
                    -2
                }
                Err(e) => {
                    ctx.failure.error = Some(e);
                    -2
                }
            };
            refresh(ctx, store.inner());
            result
        })
    }
}

/// `Libcall::MemoryFill` of memory `index` of the instance.
///
/// # Safety
/// As for [`memory_grow_libcall`].
unsafe extern "C" fn memory_fill_libcall<E: Embedder>(
    ctx: *mut VmContext,
    index: u32,
    dst: u64,
    value: u32,
    len: u64,
) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, 1, |ctx, store| {
            let inner = store.inner();
            let m = inner.instances[ctx.instance as usize].memories[index as usize];
            let memory = &mut inner.memories[m as usize];
            match range_in(dst, len, memory.size_bytes()) {
                Some(range) => {
                    memory.data_mut()[range].fill(value as u8);
                    0
                }
                None => {
                    ctx.failure.kind = Some(TrapKind::MemoryOutOfBounds);
                    1
                }
            }
        })
    }
}

/// `Libcall::MemoryCopy` from memory `src_index` of the instance to memory `dst_index`.
///
/// # Safety
/// As for [`memory_grow_libcall`].
unsafe extern "C" fn memory_copy_libcall<E: Embedder>(
    ctx: *mut VmContext,
    dst_index: u32,
    src_index: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        with_store::<E, _>(ctx, 1, |ctx, store| {
            let inner = store.inner();
            let memories = &inner.instances[ctx.instance as usize].memories;
            let (d, s) = (
                memories[dst_index as usize] as usize,
                memories[src_index as usize] as usize,
            );
            match (
                range_in(dst, len, inner.memories[d].size_bytes()),
                range_in(src, len, inner.memories[s].size_bytes()),
            ) {
                (Some(to), Some(from)) if d == s => {
                    inner.memories[d].data_mut().copy_within(from, to.start);
                    0
                }
                (Some(to), Some(from)) => {
                    // Two distinct memories: through a buffer, each borrowed in turn.
                    let bytes = inner.memories[s].data()[from].to_vec();
                    inner.memories[d].data_mut()[to].copy_from_slice(&bytes);
                    0
                }
                _ => {
                    ctx.failure.kind = Some(TrapKind::MemoryOutOfBounds);
                    1
                }
            }
        })
    }
}
