//! The threads proposal's instructions (`Instr::Atomic`, `Instr::AtomicFence`): atomic accesses to
//! any memory and ordinary accesses to shared memories, run out of line by their handlers (through
//! `ops::heap_op`) like the GC instructions (`gc_ops`).
//!
//! A shared memory's bytes are only touched through [`SharedMemoryInner`]'s word-atomic accessors
//! (the memory model is argued in `runtime/memory/shared.rs`): `Relaxed` for ordinary accesses, `SeqCst` for
//! the atomic instructions. An unshared memory belongs to this store alone, which the executor holds
//! exclusively, so atomics on it are plain accesses.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::bytecode::{AtomicOp, Extend, Instr, RmwOp, Slot};
use super::gc_ops::GcFrame;
use super::translate::SideTables;
use crate::runtime::memory::SharedMemoryInner;
use crate::runtime::store::StoreInner;
use crate::trap::TrapKind;

/// The low `size` bytes of `value`.
fn wrap(value: u64, size: usize) -> u64 {
    if size >= 8 {
        value
    } else {
        value & ((1u64 << (size * 8)) - 1)
    }
}

/// A loaded value of `size` bytes as a slot value.
fn extend(value: u64, size: usize, how: Extend) -> u64 {
    let bits = 64 - size as u32 * 8;
    match how {
        Extend::Zero => value,
        Extend::Signed32 => (((value << bits) as i64 >> bits) as u32) as u64,
        Extend::Signed64 => ((value << bits) as i64 >> bits) as u64,
    }
}

fn apply(op: RmwOp, old: u64, operand: u64) -> u64 {
    match op {
        RmwOp::Add => old.wrapping_add(operand),
        RmwOp::Sub => old.wrapping_sub(operand),
        RmwOp::And => old & operand,
        RmwOp::Or => old | operand,
        RmwOp::Xor => old ^ operand,
        RmwOp::Xchg => operand,
    }
}

/// Bytes an access moves.
fn access_size(op: AtomicOp) -> usize {
    match op {
        AtomicOp::Load { size, .. }
        | AtomicOp::Store { size }
        | AtomicOp::AtomicLoad { size }
        | AtomicOp::AtomicStore { size }
        | AtomicOp::Rmw { size, .. }
        | AtomicOp::Cmpxchg { size }
        | AtomicOp::Wait { size } => size as usize,
        AtomicOp::LoadV128 | AtomicOp::StoreV128 => 16,
        AtomicOp::Notify => 4,
    }
}

/// `memory.atomic.wait`'s timeout operand: nanoseconds, negative for none.
fn timeout(nanos: u64) -> Option<Duration> {
    let nanos = nanos as i64;
    (nanos >= 0).then(|| Duration::from_nanos(nanos as u64))
}

/// Executes an `Instr::Atomic` or `Instr::AtomicFence`.
///
/// # Safety
/// `frame.slots[..frame.fp + frame.frame_size]` must be valid for reads and writes, and every slot
/// operand of `instr` must lie below `frame.frame_size` (both hold for a frame the executor entered).
#[inline(never)]
pub(super) unsafe fn execute(
    store: &mut StoreInner,
    side_tables: &SideTables,
    instance: u32,
    frame: GcFrame,
    instr: &Instr,
) -> Result<(), TrapKind> {
    let Instr::Atomic { dst, base, site } = *instr else {
        std::sync::atomic::fence(Ordering::SeqCst);
        return Ok(());
    };
    // SAFETY: operand slots of an entered frame (the function's contract).
    let get = |s: Slot| unsafe { frame.get(s) };
    // SAFETY: as for `get`.
    let set = |s: Slot, v: u64| unsafe { frame.set(s, v) };
    let site = side_tables.atomic_sites[site.index()];
    let op = site.op;
    let memory = store.instances[instance as usize].memories[site.memory as usize] as usize;
    let entity = &mut store.memories[memory];
    let addr = get(base);
    let addr = if entity.ty().memory64 {
        addr
    } else {
        addr as u32 as u64
    };
    let size = access_size(op);
    let at = addr
        .checked_add(site.offset)
        .ok_or(TrapKind::MemoryOutOfBounds)?;
    if !op.is_ordinary() && !at.is_multiple_of(size as u64) {
        return Err(TrapKind::UnalignedAtomic);
    }
    if at
        .checked_add(size as u64)
        .is_none_or(|end| end > entity.size_bytes())
    {
        return Err(TrapKind::MemoryOutOfBounds);
    }
    let at = at as usize;
    let result = match entity.shared() {
        // SAFETY: `at + size` is within the memory's size (checked above; a shared memory never
        // shrinks) and atomic accesses are aligned (checked above).
        Some(shared) => unsafe { shared_access(shared, op, at, size, |i| get(base + i)) },
        None => {
            let bytes = &mut entity.data_mut()[at..at + size];
            plain_access(bytes, op, |i| get(base + i))
        }
    }?;
    match (op, result) {
        (AtomicOp::LoadV128, Some(value)) => {
            set(dst, value as u64);
            set(dst + 1, (value >> 64) as u64);
        }
        (_, Some(value)) => set(dst, value as u64),
        (_, None) => {}
    }
    Ok(())
}

/// An access to a shared memory; the result, if the instruction has one. `operand(i)` is the
/// instruction's operand `i` (0 is the address).
///
/// # Safety
/// `at + size` is within the memory's size, and `at` is a multiple of `size` for the atomic
/// instructions.
unsafe fn shared_access(
    shared: &SharedMemoryInner,
    op: AtomicOp,
    at: usize,
    size: usize,
    operand: impl Fn(u32) -> u64,
) -> Result<Option<u128>, TrapKind> {
    // SAFETY: (every access below) the function's contract.
    let value = unsafe {
        match op {
            AtomicOp::Load { extend: how, .. } => {
                extend(shared.load(at, size, Ordering::Relaxed), size, how)
            }
            AtomicOp::Store { .. } => {
                shared.store(at, size, operand(1), Ordering::Relaxed);
                return Ok(None);
            }
            AtomicOp::LoadV128 => {
                let lo = shared.load(at, 8, Ordering::Relaxed);
                let hi = shared.load(at + 8, 8, Ordering::Relaxed);
                return Ok(Some(lo as u128 | (hi as u128) << 64));
            }
            AtomicOp::StoreV128 => {
                shared.store(at, 8, operand(1), Ordering::Relaxed);
                shared.store(at + 8, 8, operand(2), Ordering::Relaxed);
                return Ok(None);
            }
            AtomicOp::AtomicLoad { .. } => shared.load(at, size, Ordering::SeqCst),
            AtomicOp::AtomicStore { .. } => {
                shared.store(at, size, operand(1), Ordering::SeqCst);
                return Ok(None);
            }
            AtomicOp::Rmw { op: rmw, .. } => {
                let operand = operand(1);
                shared.update(at, size, |old| Some(apply(rmw, old, operand)))
            }
            AtomicOp::Cmpxchg { .. } => {
                let (expected, replacement) = (wrap(operand(1), size), operand(2));
                shared.update(at, size, |old| (old == expected).then_some(replacement))
            }
            AtomicOp::Wait { .. } => {
                let expected = wrap(operand(1), size);
                shared.wait(at, size, expected, timeout(operand(2))) as u64
            }
            AtomicOp::Notify => shared.notify(at as u64, operand(1) as u32) as u64,
        }
    };
    Ok(Some(value as u128))
}

/// An atomic instruction on an unshared memory (exclusively this store's): `bytes` are the `size`
/// bytes accessed.
fn plain_access(
    bytes: &mut [u8],
    op: AtomicOp,
    operand: impl Fn(u32) -> u64,
) -> Result<Option<u128>, TrapKind> {
    let size = bytes.len();
    let read = |bytes: &[u8]| {
        let mut word = [0u8; 8];
        word[..size.min(8)].copy_from_slice(&bytes[..size.min(8)]);
        u64::from_le_bytes(word)
    };
    let write = |bytes: &mut [u8], value: u64| {
        bytes.copy_from_slice(&value.to_le_bytes()[..size]);
    };
    let old = read(bytes);
    let value = match op {
        AtomicOp::AtomicLoad { .. } => old,
        AtomicOp::AtomicStore { .. } => {
            write(bytes, operand(1));
            return Ok(None);
        }
        AtomicOp::Rmw { op: rmw, .. } => {
            write(bytes, apply(rmw, old, operand(1)));
            old
        }
        AtomicOp::Cmpxchg { .. } => {
            if old == wrap(operand(1), size) {
                write(bytes, operand(2));
            }
            old
        }
        AtomicOp::Wait { .. } => return Err(TrapKind::AtomicWaitOnUnsharedMemory),
        // No thread can wait on an unshared memory.
        AtomicOp::Notify => 0,
        // The translator emits ordinary accesses as `Atomic` for shared memories only.
        AtomicOp::Load { .. }
        | AtomicOp::Store { .. }
        | AtomicOp::LoadV128
        | AtomicOp::StoreV128 => unreachable!("ordinary access to an unshared memory"),
    };
    Ok(Some(value as u128))
}

/// `memory.copy` where either memory is shared: memories `dm` (destination, range `d`) and `sm`
/// (source, range `s`) of the store, both ranges checked against their memories' sizes.
pub(super) fn copy_with_shared(
    memories: &mut [crate::runtime::memory::MemoryEntity],
    dm: usize,
    sm: usize,
    d: std::ops::Range<usize>,
    s: std::ops::Range<usize>,
) {
    let dst_shared = memories[dm].shared().cloned();
    let src_shared = memories[sm].shared().cloned();
    // SAFETY: (all accesses) both ranges lie inside their memories (the caller's contract), and
    // shared memories never shrink.
    unsafe {
        match (dst_shared, src_shared) {
            // Perhaps the same shared memory (through two entities): ranges may overlap.
            (Some(to), Some(from)) => {
                SharedMemoryInner::copy(&from, s.start, &to, d.start, s.len())
            }
            (Some(to), None) => to.write_bytes(d.start, &memories[sm].data()[s]),
            (None, Some(from)) => from.read_bytes(s.start, &mut memories[dm].data_mut()[d]),
            (None, None) => unreachable!("one of the memories is shared"),
        }
    }
}
