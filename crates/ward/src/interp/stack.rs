//! The data of a running activation, shared by the threaded handlers (`fast`), their out-of-line
//! operations (`ops`) and the activation driver (`exec`): the value stack and frame records
//! ([`ExecStack`]) and the registers of the function being run ([`Current`], [`Frame`]). The
//! context handlers receive is `ops::Calls`.
//!
//! Plain data and its invariants: nothing here executes instructions or names the store (the
//! store's pool of stacks holds `ExecStack`s).

use super::bytecode::Instr;
use super::translate::CompiledFunc;
use crate::Result;
use crate::module::ModuleInner;

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

    /// A stack with no slots, standing in for one that is elsewhere for a while (an async call's
    /// stack parked in the store while its host function runs). Allocates nothing.
    pub(crate) fn placeholder() -> Self {
        ExecStack {
            slots: Vec::new(),
            frames: Vec::new(),
            max_frames: 0,
            max_slots: 0,
        }
    }

    /// The usable slots, writable.
    pub(crate) fn slots_mut(&mut self) -> &mut [u64] {
        let usable = self.usable();
        &mut self.slots[..usable]
    }

    /// The frame records of the activation's suspended callers, outermost first.
    pub(crate) fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The usable slots.
    pub(crate) fn slots(&self) -> &[u64] {
        &self.slots[..self.usable()]
    }

    /// A stack holding `slots` (from slot 0) and the frame records `frames`, for an activation
    /// restored from a snapshot; `None` if they exceed the limits of `max_bytes`.
    pub(crate) fn with_contents(
        max_bytes: usize,
        slots: &[u64],
        frames: Vec<Frame>,
    ) -> Option<Self> {
        let mut stack = ExecStack::new(max_bytes);
        if frames.len() > stack.max_frames
            || (slots.len() > stack.usable() && !stack.grow_to(slots.len()))
        {
            return None;
        }
        stack.slots[..slots.len()].copy_from_slice(slots);
        stack.frames = frames;
        Some(stack)
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
    pub(crate) fn compiled(&self) -> &CompiledFunc {
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
