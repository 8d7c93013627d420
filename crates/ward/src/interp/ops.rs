//! The out-of-line work of the handlers that reach the store: globals, tables, bulk memory,
//! accesses through side-table memargs, calls that leave the current module or need the store's
//! function table, returns across instances, and exception unwinding.
//!
//! This file and `gc_ops`/`atomic_ops` are the handlers' one interface to the runtime: handlers in
//! `fast` never name a field of `StoreInner`. Each operation takes the activation ([`Calls`]),
//! reads the store through it, and tells the handler how to go on ([`Flow`]) or returns a value or
//! a trap kind. What needs the embedder (`Store<T>`) is not done here but requested from the driver
//! (`exec::run`) with a [`Request`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::bytecode::{
    CallSiteIndex, FuncIndex, Instr, LaneWidth, MemArgIndex, Pc, Slot, V128ReplaceOp,
};
use super::stack::{Current, Frame};
use super::translate::CompiledFunc;
use crate::handle::ExnRef;
use crate::runtime::gc::ObjectKind;
use crate::runtime::memory::range_in;
use crate::runtime::store::{FuncKind, GlobalEntity, StoreInner};
use crate::trap::TrapKind;
use crate::types::slot_count;
use crate::{Error, Result};

/// What a handler asks of the activation's driver (`exec::run`) when it returns
/// `Exit::REQUEST`: the things that need the embedder's `Store<T>` (host functions, the resource
/// limiter, the epoch callback) or that move the value stack. The handler has changed nothing it
/// would change again when its instruction is retried.
#[derive(Debug, Default)]
pub(crate) enum Request {
    #[default]
    None,
    /// Call host function `callee` (a store function index) with its arguments at slot `fp`; with
    /// `tail`, then return its results from the current function. Continue after the instruction.
    HostCall { callee: u32, fp: usize, tail: bool },
    /// Make at least `needed` slots usable (or trap with a stack overflow), then run the
    /// instruction again.
    GrowStack { needed: usize },
    /// `memory.grow` of store memory `memory` by `delta` pages: the old size (or -1) goes to
    /// `dst` of the current frame. Continue after the instruction.
    GrowMemory {
        memory: usize,
        delta: u64,
        dst: Slot,
    },
    /// `table.grow` of store table `table` by `delta` elements of `init`: the old size (or -1)
    /// goes to `dst`. Continue after the instruction.
    GrowTable {
        table: usize,
        delta: u64,
        init: u64,
        dst: Slot,
    },
    /// Make room in the GC heap for `words` more words, then run the instruction again (or trap
    /// with `GcHeapExhausted`).
    GrowHeap { words: usize },
    /// The epoch deadline passed, the store was interrupted or the wall clock ran out: ask the
    /// embedder (`interruption::decide`). Continue after the instruction or trap.
    Interrupt,
    /// Run the current function's machine code (`Instr::EnterNative`), then return from it.
    RunNative,
    /// The current function is hot: queue it for compilation (`Strategy::Auto`). Continue after
    /// the instruction.
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    TierUp,
    /// At a loop header of a function that has machine code by now: run the machine code
    /// compiled to enter at this loop (on-stack replacement) and return from the function, or
    /// queue compiling it, or go on (`Strategy::Auto`).
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    LoopEntry,
    /// The activation ends with this error (an exception no handler caught, a failed lazy
    /// translation).
    Error(crate::Error),
}

/// The activation as the threaded handlers see it (passed to each handler as a pointer): the call
/// stack, the function being run, the store, and the request slot. Owned by `exec::run`, which
/// nothing else uses while handlers run.
pub(crate) struct Calls {
    /// The suspended callers (the activation's frame records).
    pub frames: *mut Vec<Frame>,
    /// The activation's value slots, `slots_len` of them.
    pub slots: *mut u64,
    pub slots_len: usize,
    /// At most this many frame records (`Config::max_wasm_stack`).
    pub max_frames: usize,
    /// `max_frames` or the frame records' capacity, whichever is smaller: a call with fewer
    /// records than this pushes one without growing them or overflowing (one comparison on the
    /// threaded call path). Kept by [`Calls::refresh_frame_room`] wherever the records may grow.
    pub frame_room: usize,
    /// The function being run and the slot index of its frame.
    pub cur: Current,
    pub fp: usize,
    /// The store the activation runs in: handlers reach instances, memories, tables, globals and
    /// the GC heap through it (only through `ops` and `gc_ops`/`atomic_ops`).
    pub store: *mut StoreInner,
    /// The current instance's global map (module global index → store global index) and the
    /// store's globals, for `global_value` (two loads fewer per `global.get`/`global.set` than
    /// going through the store's instances). Derived for each run by [`Calls::derive_globals`]:
    /// the store's globals may have moved since the last (a host function can make new ones), and
    /// every switch to another instance goes back to the driver first.
    pub global_map: *const u32,
    pub globals: *mut GlobalEntity,
    /// Set by a handler that returns `Exit::REQUEST`.
    pub request: Request,
}

impl Calls {
    /// Sets `global_map` and `globals` for the current instance, from `store`.
    #[inline]
    pub(super) fn derive_globals(&mut self) {
        // SAFETY: the store pointer is valid while the driver runs handlers (see `store`).
        let store = unsafe { &mut *self.store };
        self.global_map = store.instances[self.cur.instance as usize].globals.as_ptr();
        // (`Vec::as_mut_ptr` makes no reference to the elements, so writes through the pointer
        // stay valid beside later borrows of the store.)
        self.globals = store.globals.as_mut_ptr();
    }

    /// Sets `frame_room` from the frame records `frames` points at (after they may have grown).
    #[inline]
    pub(super) fn refresh_frame_room(&mut self) {
        // SAFETY: `exec::run` points `frames` at its frame records before running handlers.
        let capacity = unsafe { (*self.frames).capacity() };
        self.frame_room = self.max_frames.min(capacity);
    }
}

/// How a handler goes on after an operation.
pub(super) enum Flow {
    /// With the next instruction.
    Next,
    /// At instruction index `at` of the current function (a branch).
    Jump { at: u32 },
    /// In the function and frame now in `calls.cur` and `calls.fp`, at instruction index `at`
    /// (a call, a return, a landing pad): frame and memory registers are to be derived again.
    Switch { at: u32 },
    /// With a trap.
    Trap(TrapKind),
    /// By asking the driver, then going on after the instruction.
    Request(Request),
    /// By asking the driver, then running the instruction again (it changed nothing).
    Retry(Request),
    /// The activation's outermost function returned; its results are at slot 0.
    Done,
}

/// The store of the activation. (The `&mut` comes from the raw pointer in `calls`, not from the
/// shared borrow of `calls`: hence the lint exception.) Each call makes a new reference that
/// invalidates the previous ones: an operation computes its indices first (`memory_index`, …) and
/// then holds one store reference (Miri checks this).
#[inline(always)]
#[allow(clippy::mut_from_ref)]
fn store(calls: &Calls) -> &mut StoreInner {
    // SAFETY: `exec::run` points `store` at its store before running handlers and does not use the
    // store itself until they return; one handler holds one such reference at a time.
    unsafe { &mut *calls.store }
}

/// The base and size in bytes of memory 0 of `instance` (null and 0 without a memory): the memory
/// registers of the handlers.
#[inline]
pub(super) fn memory_zero(store: &StoreInner, instance: u32) -> (*mut u8, u64) {
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

/// The code of a function that has run or is running (so is translated).
fn compiled(store: &StoreInner, instance: u32, index: u32) -> &CompiledFunc {
    store.instances[instance as usize]
        .module
        .inner
        .translated(index)
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

/// The store index of memory `memory` of the current instance.
fn memory_index(calls: &Calls, memory: u32) -> usize {
    store(calls).instances[calls.cur.instance as usize].memories[memory as usize] as usize
}

/// The store index of table `table` of the current instance.
fn table_index(calls: &Calls, table: u32) -> usize {
    store(calls).instances[calls.cur.instance as usize].tables[table as usize] as usize
}

// ----- globals -----

/// Where global `global` of the current instance keeps its value (all of it: a `v128` global's
/// too), for `global.get` and `global.set`. On their hot path (C code reads and writes its stack
/// pointer global in most function prologues), so inlined, without bounds checks and without
/// anything that keeps the handler from chaining.
///
/// # Safety
/// `global` is a global index of the current function's module (validation checks it).
#[inline(always)]
pub(super) unsafe fn global_value(calls: &Calls, global: u32) -> *mut u128 {
    // SAFETY: `global_map` is the current instance's map (`Calls::derive_globals`), which has an
    // entry for every global index of its module; the entry is a store global, and `globals`
    // points at the store's globals, which have not moved since they were derived.
    unsafe {
        let g = *calls.global_map.add(global as usize);
        std::ptr::addr_of_mut!((*calls.globals.add(g as usize)).value)
    }
}

/// `ref.func`: the reference to function `func` of the current instance.
pub(super) fn ref_func(calls: &Calls, func: FuncIndex) -> u64 {
    store(calls).instances[calls.cur.instance as usize].funcs[func.0 as usize] as u64 + 1
}

// ----- memories -----

/// `memory.size` in pages.
pub(super) fn memory_size(calls: &Calls, memory: u32) -> u64 {
    let m = memory_index(calls, memory);
    store(calls).memories[m].pages()
}

/// `memory.grow`: asked of the driver (the resource limiter belongs to the embedder).
pub(super) fn memory_grow(calls: &Calls, memory: u32, delta: u64, dst: Slot) -> Flow {
    Flow::Request(Request::GrowMemory {
        memory: memory_index(calls, memory),
        delta,
        dst,
    })
}

/// `memory.fill`.
pub(super) fn memory_fill(calls: &Calls, memory: u32, dst: u64, value: u8, len: u64) -> Flow {
    let m = memory_index(calls, memory);
    let entity = &mut store(calls).memories[m];
    let Some(range) = range_in(dst, len, entity.size_bytes()) else {
        return Flow::Trap(TrapKind::MemoryOutOfBounds);
    };
    match entity.shared() {
        // SAFETY: the range lies inside the memory (checked just above).
        Some(shared) => unsafe { shared.fill(range.start, range.len(), value) },
        None => entity.data_mut()[range].fill(value),
    }
    Flow::Next
}

/// `memory.copy` between memories `dst_memory` and `src_memory` of the current instance.
pub(super) fn memory_copy(
    calls: &Calls,
    (dst_memory, src_memory): (u32, u32),
    (dst, src, len): (u64, u64, u64),
) -> Flow {
    let (dm, sm) = (
        memory_index(calls, dst_memory),
        memory_index(calls, src_memory),
    );
    let memories = &mut store(calls).memories;
    let (Some(d), Some(s)) = (
        range_in(dst, len, memories[dm].size_bytes()),
        range_in(src, len, memories[sm].size_bytes()),
    ) else {
        return Flow::Trap(TrapKind::MemoryOutOfBounds);
    };
    if memories[dm].shared().is_some() || memories[sm].shared().is_some() {
        super::atomic_ops::copy_with_shared(memories, dm, sm, d, s);
    } else if dm == sm {
        memories[dm].data_mut().copy_within(s, d.start);
    } else {
        let (dst_ptr, src_ptr) = (memories[dm].base(), memories[sm].base());
        // SAFETY: both ranges were checked against their memories' committed sizes, and distinct
        // memories do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(src_ptr.add(s.start), dst_ptr.add(d.start), s.len())
        };
    }
    Flow::Next
}

/// `memory.init` from data segment `data`.
pub(super) fn memory_init(
    calls: &Calls,
    (memory, data): (u32, u32),
    (dst, src, len): (u64, u64, u64),
) -> Flow {
    let bytes = store(calls).instances[calls.cur.instance as usize].data[data as usize].clone();
    let m = memory_index(calls, memory);
    let entity = &mut store(calls).memories[m];
    let (Some(d), Some(s)) = (
        range_in(dst, len, entity.size_bytes()),
        range_in(src, len, bytes.len() as u64),
    ) else {
        return Flow::Trap(TrapKind::MemoryOutOfBounds);
    };
    match entity.shared() {
        // SAFETY: the range lies inside the memory (checked just above).
        Some(shared) => unsafe { shared.write_bytes(d.start, &bytes[s]) },
        None => entity.data_mut()[d].copy_from_slice(&bytes[s]),
    }
    Flow::Next
}

/// `data.drop`.
pub(super) fn data_drop(calls: &Calls, data: u32) {
    store(calls).instances[calls.cur.instance as usize].data[data as usize] = Arc::new([]);
}

/// Reads `n` (at most 16) bytes at `addr + offset` of the memory and offset of side-table memarg
/// `memarg` of the current function, as a little-endian number.
pub(super) fn load_memarg(
    calls: &Calls,
    memarg: MemArgIndex,
    addr: u64,
    n: usize,
) -> Result<u128, TrapKind> {
    let (memory, offset) = calls.cur.compiled().side_tables().memargs[memarg.index()];
    let m = memory_index(calls, memory);
    let memory = &store(calls).memories[m];
    let Some(at) = effective(addr, offset, n as u64, memory.size_bytes()) else {
        return Err(TrapKind::MemoryOutOfBounds);
    };
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&memory.data()[at..at + n]);
    Ok(u128::from_le_bytes(buf))
}

/// Writes the low `n` (at most 16) bytes of `value`, little-endian, at `addr + offset` of the
/// memory and offset of side-table memarg `memarg`.
pub(super) fn store_memarg(
    calls: &Calls,
    memarg: MemArgIndex,
    addr: u64,
    value: u128,
    n: usize,
) -> Result<(), TrapKind> {
    let (memory, offset) = calls.cur.compiled().side_tables().memargs[memarg.index()];
    let m = memory_index(calls, memory);
    let memory = &mut store(calls).memories[m];
    let Some(at) = effective(addr, offset, n as u64, memory.size_bytes()) else {
        return Err(TrapKind::MemoryOutOfBounds);
    };
    memory.data_mut()[at..at + n].copy_from_slice(&value.to_le_bytes()[..n]);
    Ok(())
}

/// The lane replacement that writes a lane of `width`.
pub(super) fn lane_replace_op(width: LaneWidth) -> V128ReplaceOp {
    match width {
        LaneWidth::B8 => V128ReplaceOp::I8x16,
        LaneWidth::B16 => V128ReplaceOp::I16x8,
        LaneWidth::B32 => V128ReplaceOp::I32x4,
        LaneWidth::B64 => V128ReplaceOp::I64x2,
    }
}

// ----- tables -----

/// `table.get`.
pub(super) fn table_get(calls: &Calls, table: u32, index: u64) -> Result<u64, TrapKind> {
    let t = table_index(calls, table);
    usize::try_from(index)
        .ok()
        .and_then(|i| store(calls).tables[t].elements.get(i).copied())
        .ok_or(TrapKind::TableOutOfBounds)
}

/// `table.set`.
pub(super) fn table_set(calls: &Calls, table: u32, index: u64, value: u64) -> Flow {
    let t = table_index(calls, table);
    match usize::try_from(index)
        .ok()
        .and_then(|i| store(calls).tables[t].elements.get_mut(i))
    {
        Some(slot) => {
            *slot = value;
            Flow::Next
        }
        None => Flow::Trap(TrapKind::TableOutOfBounds),
    }
}

/// `table.size`.
pub(super) fn table_size(calls: &Calls, table: u32) -> u64 {
    let t = table_index(calls, table);
    store(calls).tables[t].size()
}

/// `table.grow`: asked of the driver (the resource limiter belongs to the embedder).
pub(super) fn table_grow(calls: &Calls, table: u32, init: u64, delta: u64, dst: Slot) -> Flow {
    Flow::Request(Request::GrowTable {
        table: table_index(calls, table),
        delta,
        init,
        dst,
    })
}

/// `table.fill`.
pub(super) fn table_fill(calls: &Calls, table: u32, index: u64, value: u64, len: u64) -> Flow {
    let t = table_index(calls, table);
    let entity = &mut store(calls).tables[t];
    let Some(range) = range_in(index, len, entity.size()) else {
        return Flow::Trap(TrapKind::TableOutOfBounds);
    };
    entity.elements[range].fill(value);
    Flow::Next
}

/// `table.copy`.
pub(super) fn table_copy(
    calls: &Calls,
    (dst_table, src_table): (u32, u32),
    (dst, src, len): (u64, u64, u64),
) -> Flow {
    let (dt, st) = (table_index(calls, dst_table), table_index(calls, src_table));
    let tables = &mut store(calls).tables;
    let (Some(d), Some(s)) = (
        range_in(dst, len, tables[dt].size()),
        range_in(src, len, tables[st].size()),
    ) else {
        return Flow::Trap(TrapKind::TableOutOfBounds);
    };
    if dt == st {
        tables[dt].elements.copy_within(s, d.start);
    } else {
        let items = tables[st].elements[s].to_vec();
        tables[dt].elements[d].copy_from_slice(&items);
    }
    Flow::Next
}

/// `table.init` from element segment `elem`.
pub(super) fn table_init(
    calls: &Calls,
    (table, elem): (u32, u32),
    (dst, src, len): (u64, u64, u64),
) -> Flow {
    let items = store(calls).instances[calls.cur.instance as usize].elems[elem as usize].clone();
    let t = table_index(calls, table);
    let entity = &mut store(calls).tables[t];
    let (Some(d), Some(s)) = (
        range_in(dst, len, entity.size()),
        range_in(src, len, items.len() as u64),
    ) else {
        return Flow::Trap(TrapKind::TableOutOfBounds);
    };
    entity.elements[d].copy_from_slice(&items[s]);
    Flow::Next
}

/// `elem.drop`.
pub(super) fn elem_drop(calls: &Calls, elem: u32) {
    store(calls).instances[calls.cur.instance as usize].elems[elem as usize] = Arc::new([]);
}

// ----- fuel and interruption -----

/// Charges `amount` fuel.
pub(super) fn consume_fuel(calls: &Calls, amount: u32) -> Flow {
    let fuel = &mut store(calls).fuel;
    if *fuel < amount as u64 {
        return Flow::Trap(TrapKind::OutOfFuel);
    }
    *fuel -= amount as u64;
    Flow::Next
}

/// A tier-up point (`Instr::TierUpEntry`/`TierUpLoop`, emitted only with `Strategy::Auto`): at
/// the entry, run the machine code the function has by now; else count toward compiling it.
pub(super) fn tier_up(calls: &Calls, entry: bool) -> Flow {
    #[cfg(feature = "cranelift")]
    if let Some(native) = &calls.cur.module().native {
        return match native.tier_up_point(calls.cur.index, entry) {
            crate::native::TierUpStep::Run => Flow::Request(Request::RunNative),
            crate::native::TierUpStep::Compile => Flow::Request(Request::TierUp),
            crate::native::TierUpStep::Loop => Flow::Request(Request::LoopEntry),
            crate::native::TierUpStep::Go => Flow::Next,
        };
    }
    let _ = (calls, entry);
    Flow::Next
}

/// Whether running code must stop and ask the embedder: the epoch deadline passed, the store was
/// interrupted, or the wall-clock deadline ran out.
pub(super) fn check_interrupt(calls: &Calls) -> Flow {
    let store = store(calls);
    if store.engine.current_epoch() >= store.epoch_deadline
        || store.interrupt.load(Ordering::Relaxed)
        || store.wall_clock.tick()
    {
        Flow::Request(Request::Interrupt)
    } else {
        Flow::Next
    }
}

// ----- calls and returns -----

/// The store function an instruction calls: function `func` of the current instance.
pub(super) fn func_of_instance(calls: &Calls, func: FuncIndex) -> u32 {
    store(calls).instances[calls.cur.instance as usize].funcs[func.0 as usize]
}

/// The callee of `call_indirect` through table entry `index` at call site `site`.
pub(super) fn indirect_target(
    calls: &Calls,
    index: u64,
    site: CallSiteIndex,
) -> Result<u32, TrapKind> {
    let (type_index, table) = calls.cur.compiled().side_tables().call_sites[site.index()];
    let expected = calls.cur.module().type_ids[type_index as usize];
    let t = table_index(calls, table);
    let store = store(calls);
    let table = &store.tables[t];
    let Some(&raw) = usize::try_from(index)
        .ok()
        .and_then(|i| table.elements.get(i))
    else {
        return Err(TrapKind::UndefinedElement);
    };
    if raw == 0 {
        return Err(TrapKind::UninitializedElement);
    }
    let callee = (raw - 1) as u32;
    let actual = store.funcs[callee as usize].ty;
    if actual != expected && !store.engine.id_is_subtype(actual, expected) {
        return Err(TrapKind::IndirectCallTypeMismatch);
    }
    Ok(callee)
}

/// The hot path of `call_indirect`: the defined function index, in the current module, of the
/// callee in table entry `index` at call site `site`, if the entry holds a function of the same
/// instance whose type is exactly the expected one. Anything else (a trap, a subtype, an import, a
/// host function, another instance) is `None` and goes the general way ([`indirect_target`]).
#[inline(always)]
pub(super) fn indirect_same_module(calls: &Calls, index: u64, site: CallSiteIndex) -> Option<u32> {
    let (type_index, table) = *calls
        .cur
        .compiled()
        .side_tables()
        .call_sites
        .get(site.index())?;
    let module = calls.cur.module();
    let expected = *module.type_ids.get(type_index as usize)?;
    // SAFETY: the store pointer is valid while handlers run (see `store`).
    let store = unsafe { &*calls.store };
    let instance = store.instances.get(calls.cur.instance as usize)?;
    let table = store
        .tables
        .get(*instance.tables.get(table as usize)? as usize)?;
    let raw = *table.elements.get(usize::try_from(index).ok()?)?;
    let callee = store.funcs.get((raw as usize).checked_sub(1)?)?;
    match callee.kind {
        FuncKind::Wasm {
            instance,
            index: defined,
        } if instance == calls.cur.instance && callee.ty == expected => Some(defined),
        _ => None,
    }
}

/// The registers of store function `func` (a Wasm function), which is translated first if it
/// was not yet (see `interp::code`).
pub(super) fn current_of(store: &StoreInner, func: u32) -> Result<Current> {
    let FuncKind::Wasm { instance, index } = store.funcs[func as usize].kind else {
        unreachable!("current_of a host function")
    };
    let module = &store.instances[instance as usize].module.inner;
    Current::defined(instance, index, module)
}

/// The callee of `call_ref` of the reference `raw`.
pub(super) fn ref_target(raw: u64) -> Result<u32, TrapKind> {
    match raw {
        0 => Err(TrapKind::NullFunctionReference),
        raw => Ok((raw - 1) as u32),
    }
}

/// Calls store function `callee` with its arguments at slot `new_fp` of the activation; for a
/// tail call (`tail`) the current frame is replaced instead of suspended. `ip` is the instruction
/// after the call (the return address). A Wasm callee is entered here; a host callee is asked of
/// the driver.
pub(super) fn call(
    calls: &mut Calls,
    callee: u32,
    new_fp: usize,
    tail: bool,
    ip: *const Instr,
) -> Flow {
    let store = store(calls);
    if !matches!(store.funcs[callee as usize].kind, FuncKind::Wasm { .. }) {
        let sig = &store.funcs[callee as usize].sig;
        let width = slot_count(sig.params()).max(slot_count(sig.results()));
        if new_fp + width > calls.slots_len {
            return Flow::Retry(Request::GrowStack {
                needed: new_fp + width,
            });
        }
        return Flow::Request(Request::HostCall {
            callee,
            fp: new_fp,
            tail,
        });
    }
    let next = match current_of(store, callee) {
        Ok(next) => next,
        Err(e) => return Flow::Request(Request::Error(e)),
    };
    let callee = next.compiled();
    let frame_fp = if tail { calls.fp } else { new_fp };
    // SAFETY: `exec::run` points `frames` at its frame records before running handlers.
    let frames = unsafe { &mut *calls.frames };
    if !tail && frames.len() >= calls.max_frames {
        return Flow::Trap(TrapKind::StackOverflow);
    }
    let needed = frame_fp + callee.frame_size as usize;
    if needed > calls.slots_len {
        return Flow::Retry(Request::GrowStack { needed });
    }
    if tail {
        // SAFETY: both ranges lie in the current frame (arguments were placed by the translator
        // below the frame size); `copy` allows overlap.
        unsafe {
            std::ptr::copy(
                calls.slots.add(new_fp),
                calls.slots.add(frame_fp),
                callee.num_params as usize,
            )
        };
    } else {
        frames.push(Frame {
            // SAFETY: `ip` is an instruction of the current function.
            ip: unsafe { calls.cur.index_of(ip) },
            fp: calls.fp,
            cur: calls.cur,
        });
        calls.refresh_frame_room();
    }
    for local in callee.num_params..callee.num_locals {
        // SAFETY: `frame_fp + frame_size <= slots_len` was checked above and
        // `num_locals <= frame_size`.
        unsafe { *calls.slots.add(frame_fp + local as usize) = 0 };
    }
    calls.cur = next;
    calls.fp = frame_fp;
    Flow::Switch { at: 0 }
}

/// Returns from the current function, whose results are already at its frame's start: to the
/// suspended caller, or out of the activation.
pub(super) fn return_to_caller(calls: &mut Calls) -> Flow {
    // SAFETY: `exec::run` points `frames` at its frame records before running handlers.
    let frames = unsafe { &mut *calls.frames };
    match frames.pop() {
        None => Flow::Done,
        Some(caller) => {
            calls.cur = caller.cur;
            calls.fp = caller.fp;
            Flow::Switch { at: caller.ip }
        }
    }
}

// ----- exceptions -----

/// Throws exception `exn` (its heap handle) from the instruction before `ip`: resumes at the
/// landing pad of the innermost matching handler, or leaves the activation with the exception.
/// With `skip_current` (a host function reached by a tail call threw) the current function's
/// handlers are not searched: its frame is already gone.
pub(super) fn throw(calls: &mut Calls, ip: *const Instr, exn: u64, skip_current: bool) -> Flow {
    // SAFETY: `ip` is an instruction of the current function.
    let at = unsafe { calls.cur.index_of(ip) } as usize;
    let (store, frames, slots) = (calls.store, calls.frames, calls.slots);
    // SAFETY: `exec::run` points `store` at its store and `frames` at its frame records;
    // `calls.fp` and every record's `fp` are frames entered on `calls.slots`.
    let found = unsafe {
        unwind(
            &*store,
            &mut *frames,
            slots,
            (calls.cur, calls.fp, at),
            exn,
            skip_current,
        )
    };
    match found {
        Ok((cur, fp, pad)) => {
            calls.cur = cur;
            calls.fp = fp;
            Flow::Switch { at: pad as u32 }
        }
        Err(e) => Flow::Request(Request::Error(e)),
    }
}

/// Unwinds for exception `exn` (its heap handle) from the frame `(registers, fp, ip)` (`ip`: index
/// after the throwing instruction): searches that function's handlers (unless `skip_current`) and
/// then each suspended caller's, innermost first, for a clause matching the exception's tag. On a
/// match the caught values are written to the handler's slots and the landing pad's
/// `(registers, fp, instruction index)` is returned; otherwise the exception leaves the activation.
///
/// # Safety
/// `fp` and every frame record's `fp` must be frames the executor entered on `slots` (so a handler's
/// destination slots, below its function's frame size, are in bounds).
#[inline(never)]
pub(super) unsafe fn unwind(
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
            let pc = Pc((ip as u32).wrapping_sub(1));
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
                    unsafe { *slots.add(fp + dst.index() - 1) = exn };
                }
                let mut at = fp + dst.index();
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
                return Ok((cur, fp, clause.pad.0 as usize));
            }
        }
        skip = false;
        match frames.pop() {
            None => {
                // It leaves Wasm for the host, which may keep it.
                store.root_for_host(exn);
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

/// The GC and exception instructions (`gc_ops::execute`) and the atomic ones
/// (`atomic_ops::execute`) of the current function, run on its frame `frame`.
///
/// # Safety
/// `instr` is the instruction just run of the current function, whose frame (in bounds) starts
/// at `frame`.
pub(super) unsafe fn heap_op(calls: &mut Calls, instr: &Instr, ip: *const Instr) -> Flow {
    use super::gc_ops::{self, GcFrame, Outcome};
    let compiled = calls.cur.compiled();
    let frame = GcFrame {
        slots: calls.slots,
        fp: calls.fp,
        frame_size: compiled.frame_size as usize,
    };
    let side_tables = compiled.side_tables();
    if let Instr::Atomic { .. } | Instr::AtomicFence {} = instr {
        // SAFETY: the caller's contract: the frame is entered and in bounds.
        let done = unsafe {
            super::atomic_ops::execute(store(calls), side_tables, calls.cur.instance, frame, instr)
        };
        return match done {
            Ok(()) => Flow::Next,
            Err(kind) => Flow::Trap(kind),
        };
    }
    // SAFETY: as above.
    match unsafe { gc_ops::execute(store(calls), side_tables, calls.cur.instance, frame, instr) } {
        Outcome::Next => Flow::Next,
        Outcome::Jump(target) => {
            // SAFETY: `ip` is one past this instruction; branch targets are offsets from the
            // branch to an instruction of the same function.
            let at = target.target_of(unsafe { calls.cur.index_of(ip) } as usize - 1);
            Flow::Jump { at: at as u32 }
        }
        Outcome::Throw(exn) => throw(calls, ip, exn, false),
        Outcome::Trap(kind) => Flow::Trap(kind),
        Outcome::GrowHeap { words } => Flow::Retry(Request::GrowHeap { words }),
    }
}
