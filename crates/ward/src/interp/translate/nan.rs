//! `Config::deterministic`: after each operator that may produce a NaN, an instruction that replaces
//! a NaN result with the canonical NaN (`float::CANONICAL_F32_NAN`/`CANONICAL_F64_NAN`), lane by lane
//! for SIMD. Which NaN an operator produces otherwise depends on the host CPU (x86 makes a negative
//! NaN from `0/0`, Arm a positive one; both pass an operand's payload on differently).
//!
//! Operators that only move bits (`abs`, `neg`, `copysign`, `pmin`/`pmax`, lane moves, loads,
//! `reinterpret`) keep their operands' bits, as Wasm requires, and get no instruction. The
//! instruction follows the operator, so the operator's own fusions (`f64` pairs, op+store) do not
//! form in this mode; a `local.set` still retargets the result into the local.

use wasmparser::Operator;

use super::Translator;
use crate::interp::bytecode::Instr;

/// The shape of a float result to canonicalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NanShape {
    F32,
    F64,
    F32x4,
    F64x2,
}

/// The shape of `op`'s result if it may be a NaN the operator made (not one it copied bit for bit).
pub(super) fn result_shape(op: &Operator<'_>) -> Option<NanShape> {
    use Operator as O;
    Some(match op {
        O::F32Add
        | O::F32Sub
        | O::F32Mul
        | O::F32Div
        | O::F32Min
        | O::F32Max
        | O::F32Ceil
        | O::F32Floor
        | O::F32Trunc
        | O::F32Nearest
        | O::F32Sqrt
        | O::F32DemoteF64 => NanShape::F32,
        O::F64Add
        | O::F64Sub
        | O::F64Mul
        | O::F64Div
        | O::F64Min
        | O::F64Max
        | O::F64Ceil
        | O::F64Floor
        | O::F64Trunc
        | O::F64Nearest
        | O::F64Sqrt
        | O::F64PromoteF32 => NanShape::F64,
        O::F32x4Add
        | O::F32x4Sub
        | O::F32x4Mul
        | O::F32x4Div
        | O::F32x4Min
        | O::F32x4Max
        | O::F32x4Ceil
        | O::F32x4Floor
        | O::F32x4Trunc
        | O::F32x4Nearest
        | O::F32x4Sqrt
        | O::F32x4DemoteF64x2Zero
        | O::F32x4RelaxedMin
        | O::F32x4RelaxedMax
        | O::F32x4RelaxedMadd
        | O::F32x4RelaxedNmadd => NanShape::F32x4,
        O::F64x2Add
        | O::F64x2Sub
        | O::F64x2Mul
        | O::F64x2Div
        | O::F64x2Min
        | O::F64x2Max
        | O::F64x2Ceil
        | O::F64x2Floor
        | O::F64x2Trunc
        | O::F64x2Nearest
        | O::F64x2Sqrt
        | O::F64x2PromoteLowF32x4
        | O::F64x2RelaxedMin
        | O::F64x2RelaxedMax
        | O::F64x2RelaxedMadd
        | O::F64x2RelaxedNmadd => NanShape::F64x2,
        _ => return None,
    })
}

impl Translator<'_, '_> {
    /// Canonicalizes the NaN result on top of the operand stack, just pushed by its operator.
    pub(super) fn canonicalize_nan(&mut self, shape: NanShape) {
        let src = self.pop_slot();
        let dst = match shape {
            NanShape::F32 | NanShape::F64 => self.push_temp(),
            NanShape::F32x4 | NanShape::F64x2 => self.push_temp_wide(),
        };
        self.emit_result(match shape {
            NanShape::F32 => Instr::F32CanonNan { dst, src },
            NanShape::F64 => Instr::F64CanonNan { dst, src },
            NanShape::F32x4 => Instr::F32x4CanonNan { dst, src },
            NanShape::F64x2 => Instr::F64x2CanonNan { dst, src },
        });
    }
}
