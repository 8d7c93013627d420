//! Translation of the threads proposal's operators (atomic loads, stores, read-modify-writes,
//! compare-exchanges, `memory.atomic.wait/notify`, `atomic.fence`) and of ordinary loads and stores
//! to shared memories into `Instr::Atomic`, with the immediates in the function's side tables
//! (`AtomicSite`). Part of the translator (`super`).
//!
//! Sharedness is known when a function is translated, so accesses to unshared memories keep their
//! fast instructions and pay nothing for threads; every access to a shared memory runs through
//! `Instr::Atomic`, whose handler touches the memory only through word-sized atomics (see
//! `runtime/memory/shared.rs`).

use wasmparser::{MemArg, Operator};

use super::Translator;
use crate::Result;
use crate::interp::bytecode::{AtomicOp, AtomicSite, AtomicSiteIndex, Extend, Instr, RmwOp, Slot};

/// What an operator does, for the operators this module translates: the access and the number of
/// operands it takes.
fn classify(op: &Operator<'_>) -> Option<(MemArg, AtomicOp, u32)> {
    use AtomicOp as A;
    use Extend::*;
    use Operator as O;
    use RmwOp::*;
    let load = |size, extend| A::Load { size, extend };
    let store = |size| A::Store { size };
    let rmw = |size, op| A::Rmw { size, op };
    Some(match *op {
        // Ordinary accesses, when their memory is shared (checked by the caller).
        O::I32Load { memarg } | O::F32Load { memarg } => (memarg, load(4, Zero), 1),
        O::I64Load { memarg } | O::F64Load { memarg } => (memarg, load(8, Zero), 1),
        O::I32Load8S { memarg } => (memarg, load(1, Signed32), 1),
        O::I32Load8U { memarg } | O::I64Load8U { memarg } => (memarg, load(1, Zero), 1),
        O::I32Load16S { memarg } => (memarg, load(2, Signed32), 1),
        O::I32Load16U { memarg } | O::I64Load16U { memarg } => (memarg, load(2, Zero), 1),
        O::I64Load8S { memarg } => (memarg, load(1, Signed64), 1),
        O::I64Load16S { memarg } => (memarg, load(2, Signed64), 1),
        O::I64Load32S { memarg } => (memarg, load(4, Signed64), 1),
        O::I64Load32U { memarg } => (memarg, load(4, Zero), 1),
        O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
            (memarg, store(4), 2)
        }
        O::I64Store { memarg } | O::F64Store { memarg } => (memarg, store(8), 2),
        O::I32Store8 { memarg } | O::I64Store8 { memarg } => (memarg, store(1), 2),
        O::I32Store16 { memarg } | O::I64Store16 { memarg } => (memarg, store(2), 2),
        O::V128Load { memarg } => (memarg, A::LoadV128, 1),
        O::V128Store { memarg } => (memarg, A::StoreV128, 2),

        // Atomics, on any memory.
        O::I32AtomicLoad { memarg } => (memarg, A::AtomicLoad { size: 4 }, 1),
        O::I64AtomicLoad { memarg } => (memarg, A::AtomicLoad { size: 8 }, 1),
        O::I32AtomicLoad8U { memarg } | O::I64AtomicLoad8U { memarg } => {
            (memarg, A::AtomicLoad { size: 1 }, 1)
        }
        O::I32AtomicLoad16U { memarg } | O::I64AtomicLoad16U { memarg } => {
            (memarg, A::AtomicLoad { size: 2 }, 1)
        }
        O::I64AtomicLoad32U { memarg } => (memarg, A::AtomicLoad { size: 4 }, 1),
        O::I32AtomicStore { memarg } | O::I64AtomicStore32 { memarg } => {
            (memarg, A::AtomicStore { size: 4 }, 2)
        }
        O::I64AtomicStore { memarg } => (memarg, A::AtomicStore { size: 8 }, 2),
        O::I32AtomicStore8 { memarg } | O::I64AtomicStore8 { memarg } => {
            (memarg, A::AtomicStore { size: 1 }, 2)
        }
        O::I32AtomicStore16 { memarg } | O::I64AtomicStore16 { memarg } => {
            (memarg, A::AtomicStore { size: 2 }, 2)
        }
        O::I32AtomicRmwAdd { memarg } | O::I64AtomicRmw32AddU { memarg } => {
            (memarg, rmw(4, Add), 2)
        }
        O::I64AtomicRmwAdd { memarg } => (memarg, rmw(8, Add), 2),
        O::I32AtomicRmw8AddU { memarg } | O::I64AtomicRmw8AddU { memarg } => {
            (memarg, rmw(1, Add), 2)
        }
        O::I32AtomicRmw16AddU { memarg } | O::I64AtomicRmw16AddU { memarg } => {
            (memarg, rmw(2, Add), 2)
        }
        O::I32AtomicRmwSub { memarg } | O::I64AtomicRmw32SubU { memarg } => {
            (memarg, rmw(4, Sub), 2)
        }
        O::I64AtomicRmwSub { memarg } => (memarg, rmw(8, Sub), 2),
        O::I32AtomicRmw8SubU { memarg } | O::I64AtomicRmw8SubU { memarg } => {
            (memarg, rmw(1, Sub), 2)
        }
        O::I32AtomicRmw16SubU { memarg } | O::I64AtomicRmw16SubU { memarg } => {
            (memarg, rmw(2, Sub), 2)
        }
        O::I32AtomicRmwAnd { memarg } | O::I64AtomicRmw32AndU { memarg } => {
            (memarg, rmw(4, And), 2)
        }
        O::I64AtomicRmwAnd { memarg } => (memarg, rmw(8, And), 2),
        O::I32AtomicRmw8AndU { memarg } | O::I64AtomicRmw8AndU { memarg } => {
            (memarg, rmw(1, And), 2)
        }
        O::I32AtomicRmw16AndU { memarg } | O::I64AtomicRmw16AndU { memarg } => {
            (memarg, rmw(2, And), 2)
        }
        O::I32AtomicRmwOr { memarg } | O::I64AtomicRmw32OrU { memarg } => (memarg, rmw(4, Or), 2),
        O::I64AtomicRmwOr { memarg } => (memarg, rmw(8, Or), 2),
        O::I32AtomicRmw8OrU { memarg } | O::I64AtomicRmw8OrU { memarg } => (memarg, rmw(1, Or), 2),
        O::I32AtomicRmw16OrU { memarg } | O::I64AtomicRmw16OrU { memarg } => {
            (memarg, rmw(2, Or), 2)
        }
        O::I32AtomicRmwXor { memarg } | O::I64AtomicRmw32XorU { memarg } => {
            (memarg, rmw(4, Xor), 2)
        }
        O::I64AtomicRmwXor { memarg } => (memarg, rmw(8, Xor), 2),
        O::I32AtomicRmw8XorU { memarg } | O::I64AtomicRmw8XorU { memarg } => {
            (memarg, rmw(1, Xor), 2)
        }
        O::I32AtomicRmw16XorU { memarg } | O::I64AtomicRmw16XorU { memarg } => {
            (memarg, rmw(2, Xor), 2)
        }
        O::I32AtomicRmwXchg { memarg } | O::I64AtomicRmw32XchgU { memarg } => {
            (memarg, rmw(4, Xchg), 2)
        }
        O::I64AtomicRmwXchg { memarg } => (memarg, rmw(8, Xchg), 2),
        O::I32AtomicRmw8XchgU { memarg } | O::I64AtomicRmw8XchgU { memarg } => {
            (memarg, rmw(1, Xchg), 2)
        }
        O::I32AtomicRmw16XchgU { memarg } | O::I64AtomicRmw16XchgU { memarg } => {
            (memarg, rmw(2, Xchg), 2)
        }
        O::I32AtomicRmwCmpxchg { memarg } | O::I64AtomicRmw32CmpxchgU { memarg } => {
            (memarg, A::Cmpxchg { size: 4 }, 3)
        }
        O::I64AtomicRmwCmpxchg { memarg } => (memarg, A::Cmpxchg { size: 8 }, 3),
        O::I32AtomicRmw8CmpxchgU { memarg } | O::I64AtomicRmw8CmpxchgU { memarg } => {
            (memarg, A::Cmpxchg { size: 1 }, 3)
        }
        O::I32AtomicRmw16CmpxchgU { memarg } | O::I64AtomicRmw16CmpxchgU { memarg } => {
            (memarg, A::Cmpxchg { size: 2 }, 3)
        }
        O::MemoryAtomicWait32 { memarg } => (memarg, A::Wait { size: 4 }, 3),
        O::MemoryAtomicWait64 { memarg } => (memarg, A::Wait { size: 8 }, 3),
        O::MemoryAtomicNotify { memarg } => (memarg, A::Notify, 2),
        _ => return None,
    })
}

/// The memory a memory argument names (`None` for the GC proposal's array targets).
fn memory_index(memarg: &MemArg) -> Option<u32> {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => Some(m),
        _ => None,
    }
}

impl Translator<'_, '_> {
    fn is_shared(&self, memory: u32) -> bool {
        self.env
            .shared_memories
            .get(memory as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Translates `op` if it is an atomic operator, or an access to a shared memory; `Ok(false)`
    /// leaves it to the other translators.
    pub(super) fn translate_threads(&mut self, op: &Operator<'_>) -> Result<bool> {
        if let Operator::AtomicFence { .. } = op {
            self.emit(Instr::AtomicFence {});
            return Ok(true);
        }
        let Some((memarg, atomic, operands)) = classify(op) else {
            return self.reject_shared_simd(op).map(|()| false);
        };
        let Some(memory) = memory_index(&memarg) else {
            return Ok(false);
        };
        if atomic.is_ordinary() && !self.is_shared(memory) {
            return Ok(false);
        }
        self.env.side_tables.atomic_sites.push(AtomicSite {
            memory,
            offset: memarg.offset,
            op: atomic,
        });
        let site = AtomicSiteIndex((self.env.side_tables.atomic_sites.len() - 1) as u32);
        let base = self.pop_span(operands);
        let instr = |dst| Instr::Atomic { dst, base, site };
        match atomic {
            AtomicOp::Store { .. } | AtomicOp::StoreV128 | AtomicOp::AtomicStore { .. } => {
                self.emit(instr(Slot(0)));
            }
            AtomicOp::LoadV128 => {
                let dst = self.push_temp_wide();
                self.emit_result(instr(dst));
            }
            _ => {
                let dst = self.push_temp();
                self.emit_result(instr(dst));
            }
        }
        Ok(true)
    }

    /// The SIMD memory operators other than `v128.load` and `v128.store` are not translated for
    /// shared memories yet: a clear compile error rather than a racy access.
    fn reject_shared_simd(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        let memarg = match *op {
            O::V128Load8x8S { memarg }
            | O::V128Load8x8U { memarg }
            | O::V128Load16x4S { memarg }
            | O::V128Load16x4U { memarg }
            | O::V128Load32x2S { memarg }
            | O::V128Load32x2U { memarg }
            | O::V128Load8Splat { memarg }
            | O::V128Load16Splat { memarg }
            | O::V128Load32Splat { memarg }
            | O::V128Load64Splat { memarg }
            | O::V128Load32Zero { memarg }
            | O::V128Load64Zero { memarg }
            | O::V128Load8Lane { memarg, .. }
            | O::V128Load16Lane { memarg, .. }
            | O::V128Load32Lane { memarg, .. }
            | O::V128Load64Lane { memarg, .. }
            | O::V128Store8Lane { memarg, .. }
            | O::V128Store16Lane { memarg, .. }
            | O::V128Store32Lane { memarg, .. }
            | O::V128Store64Lane { memarg, .. } => memarg,
            _ => return Ok(()),
        };
        if memory_index(&memarg).is_some_and(|m| self.is_shared(m)) {
            return Err(self.unsupported(
                "SIMD lane, splat, zero-extending and widening loads and stores on a shared memory",
            ));
        }
        Ok(())
    }
}
