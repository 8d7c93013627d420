//! The data of a running activation, shared by the threaded handlers (`fast`), their out-of-line
//! operations (`ops`) and the activation driver (`exec`): the value stack and frame records
//! ([`ExecStack`]), the registers of the function being run ([`Current`], [`Frame`]), and the
//! context handlers receive ([`Calls`]) with the [`Request`]s they hand to the driver.
//!
//! Plain data and its invariants: nothing here executes instructions.

use std::sync::Arc;

use super::bytecode::{Instr, Slot};
use super::translate::CompiledFunc;
use crate::Result;
use crate::module::ModuleInner;
use crate::store::{FuncKind, StoreInner};

/// Slots the executor allocates past the usable end of its value stack, so that a call may clear
/// its callee's locals in whole chunks (`fast::zero_locals`).
pub(crate) const FRAME_SLACK: usize = 4;

/// Usable slots a new stack starts with (64 KiB).
const INITIAL_SLOTS: usize = 8 * 1024;

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
/// `slots.as_mut_ptr()` taken when it starts (`exec::run`); no reference to the slots is created
/// then, except short-lived ones over a range no live pointer is used on meanwhile. (A `Vec` rather
/// than a boxed slice: `Vec::as_mut_ptr` creates no intermediate reference, so moving the `Vec` or
/// reading its length invalidates nothing.)
///
/// The slots start small and grow on demand, up to `Config::max_wasm_stack`: allocating (and zeroing)
/// the whole limit for every activation cost each nested host → Wasm call 8 MiB. Growing moves the
/// slots, so it happens only where the driver can re-derive every pointer into them
/// ([`Request::GrowStack`], and before the activation starts).
pub(crate) struct ExecStack {
    pub(super) slots: Vec<u64>,
    pub(super) frames: Vec<Frame>,
    pub(super) max_frames: usize,
    /// Most usable slots (`Config::max_wasm_stack` / 8).
    max_slots: usize,
}

impl ExecStack {
    pub(super) fn new(max_bytes: usize) -> Self {
        let max_slots = max_bytes / 8;
        ExecStack {
            // `FRAME_SLACK` slots past the usable end let a call zero locals in whole chunks.
            slots: vec![0u64; INITIAL_SLOTS.min(max_slots) + FRAME_SLACK],
            frames: Vec::with_capacity(64),
            max_frames: max_bytes / 32,
            max_slots,
        }
    }

    /// Usable slots now.
    pub(super) fn usable(&self) -> usize {
        self.slots.len() - FRAME_SLACK
    }

    /// Grows the slots so that at least `needed` are usable (doubling, up to the limit); false if the
    /// limit does not allow it. Moves the slots: pointers into them must be derived again.
    pub(super) fn grow_to(&mut self, needed: usize) -> bool {
        if needed > self.max_slots {
            return false;
        }
        let usable = needed
            .max(self.usable().saturating_mul(2))
            .min(self.max_slots);
        self.slots.resize(usable + FRAME_SLACK, 0);
        true
    }
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
    pub(super) fn of(store: &StoreInner, func: u32) -> Result<Current> {
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
    pub(super) fn compiled(&self) -> &CompiledFunc {
        // SAFETY: the module outlives the activation (see `Current`'s `Send` note); `index` is a
        // defined function of it.
        let module = unsafe { &*self.module };
        module.translated(self.index)
    }

    /// The function's module.
    #[inline(always)]
    pub(super) fn module(&self) -> &ModuleInner {
        // SAFETY: as in `compiled`.
        unsafe { &*self.module }
    }

    /// Index of the instruction at `ip` within this function's code.
    ///
    /// # Safety
    /// `ip` points into (or one past an instruction of) this function's code.
    #[inline(always)]
    pub(super) unsafe fn index_of(&self, ip: *const Instr) -> u32 {
        // SAFETY: the caller's contract: both point into one allocation.
        unsafe { ip.offset_from(self.code) as u32 }
    }
}

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
    /// The function being run and the slot index of its frame.
    pub cur: Current,
    pub fp: usize,
    /// The store the activation runs in: handlers reach instances, memories, tables, globals and
    /// the GC heap through it (only through `ops` and `gc_ops`/`atomic_ops`).
    pub store: *mut StoreInner,
    /// Set by a handler that returns `Exit::REQUEST`.
    pub request: Request,
}
