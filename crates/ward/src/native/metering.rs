//! The metering plan of a compiled function, read from its interpreter code: where the
//! interpreter's translator placed `ConsumeFuel` and `CheckInterrupt` instructions, with their
//! amounts and offsets. Compiled code meters by this plan (`ward_cranelift::Metering`), so fuel is
//! identical in both tiers by construction: there is one plan, the interpreter's, and the compiler
//! copies it rather than deriving its own.
//!
//! Used by `native::compile_module`; reads `interp::translate::CompiledFunc`.

use ward_cranelift::{MeterPoint, Metering};

use crate::interp::bytecode::Instr;
use crate::interp::translate::CompiledFunc;

/// The plan of `compiled`, a function translated with the engine's metering settings.
///
/// The translator begins a run at the function's entry (its first instructions, named by the
/// offset it starts with) and right after `loop`, `else` and `end` (named by that operator's
/// offset, which every instruction of the run's metering carries). The interpreter reports a trap
/// of a metering instruction at its offset, which the point keeps for compiled code's backtrace.
pub(crate) fn plan_of(compiled: &CompiledFunc) -> Metering {
    let mut plan = Metering::default();
    let Some(&entry_offset) = compiled.offsets.first() else {
        return plan;
    };
    let mut in_entry = true;
    for (at, instr) in compiled.code.iter().enumerate() {
        let (fuel, check) = match instr {
            Instr::ConsumeFuel { amount } => (Some(*amount), false),
            Instr::CheckInterrupt {} => (None, true),
            // Tier-up points come first at an entry or loop header and meter nothing.
            Instr::TierUpEntry {} | Instr::TierUpLoop {} => continue,
            _ => {
                in_entry = false;
                continue;
            }
        };
        let offset = compiled.offsets[at];
        // The entry's metering is the leading run of metering instructions with the entry's
        // offset (a `loop` first in the body meters right after, with its own offset).
        in_entry &= offset == entry_offset;
        let point = if in_entry {
            plan.entry.get_or_insert(MeterPoint {
                trap_offset: offset,
                ..MeterPoint::default()
            })
        } else {
            plan.after.entry(offset).or_insert(MeterPoint {
                trap_offset: offset,
                ..MeterPoint::default()
            })
        };
        if let Some(fuel) = fuel {
            point.fuel = Some(fuel);
        }
        point.check_interrupt |= check;
    }
    plan
}
