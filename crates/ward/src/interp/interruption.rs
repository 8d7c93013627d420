//! What happens at an interruption point: the `CheckInterrupt` instruction the translator places at
//! function entries and loop headers when `Config::epoch_interruption` is on. The executor tests inline
//! whether anything might stop the code (an interrupt request, the epoch deadline, the wall-clock
//! countdown); only then does it call [`decide`] here, which takes the request, reads the clock, or
//! runs the store's epoch deadline callback. The semantics are documented in `limits`.
//!
//! Called by `exec::run` when a `CheckInterrupt` handler asks (`ops::Request::Interrupt`); uses the store's interruption state (`StoreInner::interrupt`,
//! `wall_clock`, `epoch_deadline`) and, through `Embedder`, `Store::epoch_deadline_callback`.

use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use super::host::Embedder;
use crate::Result;
use crate::limits::UpdateDeadline;

/// What running Wasm does after an interruption point fired.
pub(crate) enum Verdict {
    /// Nothing stops it (the clock was read early, or the epoch callback extended the deadline).
    Continue,
    /// Trap with `TrapKind::Interrupt`.
    Interrupt,
}

/// Decides an interruption point whose inline test fired. `slots[..live]` (from the activation's
/// base pointer) is the running activation's value stack up to the top of the current frame: it is
/// registered as GC roots while the epoch callback, which may call into Wasm, runs. Out of line to
/// keep the executor's loop small.
///
/// An interrupt request is consumed here by the trap it causes; a wall-clock deadline is not: it stays
/// armed until the outermost call into Wasm returns, so outer Wasm trap too when a host swallows the
/// trap of a nested call.
#[inline(never)]
pub(crate) fn decide<E: Embedder>(
    store: &mut E,
    slots: NonNull<u64>,
    live: usize,
) -> Result<Verdict> {
    let inner = store.inner();
    // First, so that a countdown that came due always restarts.
    if inner.wall_clock.passed_if_due() {
        return Ok(Verdict::Interrupt);
    }
    if inner.interrupt.swap(false, Ordering::Relaxed) {
        return Ok(Verdict::Interrupt);
    }
    if inner.engine.current_epoch() < inner.epoch_deadline {
        return Ok(Verdict::Continue);
    }
    inner
        .suspended_stacks
        .push(crate::runtime::gc::SuspendedStack { slots, live });
    let update = store.epoch_deadline_reached();
    store.inner().suspended_stacks.pop();
    match update {
        None => Ok(Verdict::Interrupt),
        Some(update) => match update? {
            UpdateDeadline::Continue(delta) => {
                let inner = store.inner();
                inner.epoch_deadline = inner.engine.current_epoch().saturating_add(delta);
                Ok(Verdict::Continue)
            }
            UpdateDeadline::Interrupt => Ok(Verdict::Interrupt),
        },
    }
}
