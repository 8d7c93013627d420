//! The `v128` operators of the fixed-width SIMD proposal, and the relaxed SIMD operators with the
//! deterministic results ward's interpreter gives them.
//!
//! Every `v128` value on the operand stack, in a local or a block parameter has the canonical type
//! `I8X16`. Cranelift's vector instructions are typed by lane shape, so each operator reinterprets
//! its operands as the shape it works on (`bitcast`, little-endian lane order, as in Wasm) and its
//! result back to `I8X16`. The reinterpretations are free in machine code.
//!
//! Relaxed operators (see the interpreter's `interp/simd.rs`): `relaxed_swizzle` is `swizzle`,
//! `relaxed_trunc*` the saturating `trunc_sat*`, `relaxed_madd`/`relaxed_nmadd` an unfused
//! `a * b + c` / `-(a * b) + c`, `relaxed_laneselect` `bitselect`, `relaxed_min`/`relaxed_max`
//! `min`/`max`, `relaxed_q15mulr_s` `q15mulr_sat_s`, and the relaxed dot products take both
//! operands' lanes as signed and wrap. As for the scalar float operators, a NaN result is some NaN
//! Wasm allows, not necessarily the one the interpreter computes.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value, types,
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

use super::FuncTranslator;
use crate::CompileError;

use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

/// Flags of a lane reinterpretation: little-endian lane order, as Wasm numbers lanes.
fn lane_order() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// `v` reinterpreted as a vector of type `ty`.
fn cast(b: &mut FunctionBuilder<'_>, ty: Type, v: Value) -> Value {
    if b.func.dfg.value_type(v) == ty {
        v
    } else {
        b.ins().bitcast(ty, lane_order(), v)
    }
}

impl<'b> FuncTranslator<'_, 'b> {
    /// A `v128` constant (in the canonical type).
    pub(super) fn v128_const(&mut self, bits: u128) -> Value {
        self.vconst(I8X16, bits)
    }

    /// A vector constant of type `ty` (lanes in little-endian order).
    fn vconst(&mut self, ty: Type, bits: u128) -> Value {
        let data = ConstantData::from(bits.to_le_bytes().to_vec());
        let handle = self.builder.func.dfg.constants.insert(data);
        self.builder.ins().vconst(ty, handle)
    }

    /// Pops a `v128` as a vector of type `ty`.
    fn pop_as(&mut self, ty: Type) -> Value {
        let v = self.pop();
        cast(&mut self.builder, ty, v)
    }

    /// Pushes vector `v` (of any lane shape) as a `v128`.
    fn push_v(&mut self, v: Value) {
        let v = cast(&mut self.builder, I8X16, v);
        self.push(v);
    }

    /// A `v128 → v128` operator on lanes of type `ty`.
    fn v_unary(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value) {
        let a = self.pop_as(ty);
        let r = f(&mut self.builder, a);
        self.push_v(r);
    }

    /// A `v128 × v128 → v128` operator on lanes of type `ty`.
    fn v_binary(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value, Value) -> Value,
    ) {
        let b = self.pop_as(ty);
        let a = self.pop_as(ty);
        let r = f(&mut self.builder, a, b);
        self.push_v(r);
    }

    fn v_icmp(&mut self, ty: Type, cc: IntCC) {
        self.v_binary(ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    fn v_fcmp(&mut self, ty: Type, cc: FloatCC) {
        self.v_binary(ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    /// A shift of lanes of type `ty` by an `i32` count taken modulo the lane width.
    fn v_shift(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value, Value) -> Value,
    ) {
        let count = self.pop();
        let bits = ty.lane_bits() as i64;
        let count = self.builder.ins().band_imm_u(count, bits - 1);
        let a = self.pop_as(ty);
        let r = f(&mut self.builder, a, count);
        self.push_v(r);
    }

    /// A `v128 → i32` reduction on lanes of type `ty` (whose result may be narrower).
    fn v_test(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value) {
        let a = self.pop_as(ty);
        let r = f(&mut self.builder, a);
        let r = if self.builder.func.dfg.value_type(r) == types::I32 {
            r
        } else {
            self.builder.ins().uextend(types::I32, r)
        };
        self.push(r);
    }

    /// `f32x4.pmin` and friends: lane `i` is `y` where `less(x, y)` says so, else `x`.
    fn v_pseudo_minmax(&mut self, ty: Type, min: bool) {
        let y = self.pop_as(ty);
        let x = self.pop_as(ty);
        // pmin: y < x ? y : x; pmax: x < y ? y : x.
        let mask = if min {
            self.builder.ins().fcmp(FloatCC::LessThan, y, x)
        } else {
            self.builder.ins().fcmp(FloatCC::LessThan, x, y)
        };
        let mask = cast(&mut self.builder, I8X16, mask);
        let x = cast(&mut self.builder, I8X16, x);
        let y = cast(&mut self.builder, I8X16, y);
        let r = self.builder.ins().bitselect(mask, y, x);
        self.push(r);
    }

    /// `min`/`max` of lanes of type `ty`: Cranelift's `fmin`/`fmax` are Wasm's (NaN-propagating,
    /// -0 below +0). Which NaN a lane with a NaN operand gets is unspecified (in Wasm, and between
    /// the tiers: the interpreter returns the NaN of `x + y`).
    fn v_min_max(&mut self, ty: Type, max: bool) {
        if max {
            self.v_binary(ty, |b, x, y| b.ins().fmax(x, y));
        } else {
            self.v_binary(ty, |b, x, y| b.ins().fmin(x, y));
        }
    }

    fn check_memarg(memarg: &MemArg) -> Result<(), CompileError> {
        Self::memory_of(memarg).map(|_| ())
    }

    /// A load of `size` bytes whose `v128` result `f` makes from the checked address.
    fn v_load(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value,
    ) -> Result<(), CompileError> {
        Self::check_memarg(memarg)?;
        let p = self.memory_address(Self::memory_of(memarg)?, memarg.offset, size)?;
        let v = f(&mut self.builder, p);
        self.after_load();
        self.push_v(v);
        Ok(())
    }

    /// `v128.loadN_lane`: lane `lane` of the vector operand (as `ty`) replaced from memory.
    fn v_load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        Self::check_memarg(memarg)?;
        let v = self.pop_as(ty);
        let p = self.memory_address(Self::memory_of(memarg)?, memarg.offset, ty.lane_bits() / 8)?;
        let x = self.builder.ins().load(ty.lane_type(), Self::heap(), p, 0);
        self.after_load();
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_v(r);
        Ok(())
    }

    /// `v128.storeN_lane`: lane `lane` of the vector operand (as `ty`) to memory.
    fn v_store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        Self::check_memarg(memarg)?;
        let v = self.pop_as(ty);
        let p = self.memory_address(Self::memory_of(memarg)?, memarg.offset, ty.lane_bits() / 8)?;
        let x = self.builder.ins().extractlane(v, lane);
        self.builder.ins().store(Self::heap(), x, p, 0);
        Ok(())
    }

    /// `extract_lane` of lanes of type `ty`; 8- and 16-bit lanes are extended to `i32` (signed
    /// when `signed`).
    fn v_extract(&mut self, ty: Type, lane: u8, signed: bool) {
        let v = self.pop_as(ty);
        let x = self.builder.ins().extractlane(v, lane);
        let x = match ty.lane_type() {
            types::I8 | types::I16 if signed => self.builder.ins().sextend(types::I32, x),
            types::I8 | types::I16 => self.builder.ins().uextend(types::I32, x),
            _ => x,
        };
        self.push(x);
    }

    /// `replace_lane` of lanes of type `ty` (an `i32` operand narrowed for 8- and 16-bit lanes).
    fn v_replace(&mut self, ty: Type, lane: u8) {
        let x = self.pop();
        let x = match ty.lane_type() {
            t @ (types::I8 | types::I16) => self.builder.ins().ireduce(t, x),
            _ => x,
        };
        let v = self.pop_as(ty);
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_v(r);
    }

    /// `splat` to lanes of type `ty` (an `i32` operand narrowed for 8- and 16-bit lanes).
    fn v_splat(&mut self, ty: Type) {
        let x = self.pop();
        let x = match ty.lane_type() {
            t @ (types::I8 | types::I16) => self.builder.ins().ireduce(t, x),
            _ => x,
        };
        let r = self.builder.ins().splat(ty, x);
        self.push_v(r);
    }

    /// Translates SIMD operator `op`; any other operator is unsupported.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        let f = Self::heap;
        match op {
            O::V128Const { value } => {
                let v = self.v128_const(u128::from_le_bytes(*value.bytes()));
                self.push(v);
            }
            O::V128Load { memarg } => {
                self.v_load(memarg, 16, |b, p| b.ins().load(I8X16, f(), p, 0))?
            }
            O::V128Load8x8S { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().sload8x8(f(), p, 0))?
            }
            O::V128Load8x8U { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().uload8x8(f(), p, 0))?
            }
            O::V128Load16x4S { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().sload16x4(f(), p, 0))?
            }
            O::V128Load16x4U { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().uload16x4(f(), p, 0))?
            }
            O::V128Load32x2S { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().sload32x2(f(), p, 0))?
            }
            O::V128Load32x2U { memarg } => {
                self.v_load(memarg, 8, |b, p| b.ins().uload32x2(f(), p, 0))?
            }
            O::V128Load8Splat { memarg } => self.v_load(memarg, 1, |b, p| {
                let x = b.ins().load(types::I8, f(), p, 0);
                b.ins().splat(I8X16, x)
            })?,
            O::V128Load16Splat { memarg } => self.v_load(memarg, 2, |b, p| {
                let x = b.ins().load(types::I16, f(), p, 0);
                b.ins().splat(I16X8, x)
            })?,
            O::V128Load32Splat { memarg } => self.v_load(memarg, 4, |b, p| {
                let x = b.ins().load(types::I32, f(), p, 0);
                b.ins().splat(I32X4, x)
            })?,
            O::V128Load64Splat { memarg } => self.v_load(memarg, 8, |b, p| {
                let x = b.ins().load(types::I64, f(), p, 0);
                b.ins().splat(I64X2, x)
            })?,
            O::V128Load32Zero { memarg } => self.v_load(memarg, 4, |b, p| {
                let x = b.ins().load(types::I32, f(), p, 0);
                b.ins().scalar_to_vector(I32X4, x)
            })?,
            O::V128Load64Zero { memarg } => self.v_load(memarg, 8, |b, p| {
                let x = b.ins().load(types::I64, f(), p, 0);
                b.ins().scalar_to_vector(I64X2, x)
            })?,
            O::V128Store { memarg } => {
                Self::check_memarg(memarg)?;
                self.store(memarg, 16, |b, v, p| {
                    b.ins().store(f(), v, p, 0);
                })?
            }
            O::V128Load8Lane { memarg, lane } => self.v_load_lane(memarg, I8X16, *lane)?,
            O::V128Load16Lane { memarg, lane } => self.v_load_lane(memarg, I16X8, *lane)?,
            O::V128Load32Lane { memarg, lane } => self.v_load_lane(memarg, I32X4, *lane)?,
            O::V128Load64Lane { memarg, lane } => self.v_load_lane(memarg, I64X2, *lane)?,
            O::V128Store8Lane { memarg, lane } => self.v_store_lane(memarg, I8X16, *lane)?,
            O::V128Store16Lane { memarg, lane } => self.v_store_lane(memarg, I16X8, *lane)?,
            O::V128Store32Lane { memarg, lane } => self.v_store_lane(memarg, I32X4, *lane)?,
            O::V128Store64Lane { memarg, lane } => self.v_store_lane(memarg, I64X2, *lane)?,

            O::I8x16Shuffle { lanes } => {
                let mask = ConstantData::from(lanes.to_vec());
                let mask = self.builder.func.dfg.immediates.push(mask);
                self.v_binary(I8X16, |b, x, y| b.ins().shuffle(x, y, mask));
            }
            O::I8x16Swizzle | O::I8x16RelaxedSwizzle => {
                self.v_binary(I8X16, |b, x, y| b.ins().swizzle(x, y))
            }
            O::I8x16ExtractLaneS { lane } => self.v_extract(I8X16, *lane, true),
            O::I8x16ExtractLaneU { lane } => self.v_extract(I8X16, *lane, false),
            O::I16x8ExtractLaneS { lane } => self.v_extract(I16X8, *lane, true),
            O::I16x8ExtractLaneU { lane } => self.v_extract(I16X8, *lane, false),
            O::I32x4ExtractLane { lane } => self.v_extract(I32X4, *lane, false),
            O::I64x2ExtractLane { lane } => self.v_extract(I64X2, *lane, false),
            O::F32x4ExtractLane { lane } => self.v_extract(F32X4, *lane, false),
            O::F64x2ExtractLane { lane } => self.v_extract(F64X2, *lane, false),
            O::I8x16ReplaceLane { lane } => self.v_replace(I8X16, *lane),
            O::I16x8ReplaceLane { lane } => self.v_replace(I16X8, *lane),
            O::I32x4ReplaceLane { lane } => self.v_replace(I32X4, *lane),
            O::I64x2ReplaceLane { lane } => self.v_replace(I64X2, *lane),
            O::F32x4ReplaceLane { lane } => self.v_replace(F32X4, *lane),
            O::F64x2ReplaceLane { lane } => self.v_replace(F64X2, *lane),
            O::I8x16Splat => self.v_splat(I8X16),
            O::I16x8Splat => self.v_splat(I16X8),
            O::I32x4Splat => self.v_splat(I32X4),
            O::I64x2Splat => self.v_splat(I64X2),
            O::F32x4Splat => self.v_splat(F32X4),
            O::F64x2Splat => self.v_splat(F64X2),

            O::I8x16Eq => self.v_icmp(I8X16, IntCC::Equal),
            O::I8x16Ne => self.v_icmp(I8X16, IntCC::NotEqual),
            O::I8x16LtS => self.v_icmp(I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => self.v_icmp(I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => self.v_icmp(I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => self.v_icmp(I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => self.v_icmp(I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => self.v_icmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => self.v_icmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => self.v_icmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.v_icmp(I16X8, IntCC::Equal),
            O::I16x8Ne => self.v_icmp(I16X8, IntCC::NotEqual),
            O::I16x8LtS => self.v_icmp(I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => self.v_icmp(I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => self.v_icmp(I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => self.v_icmp(I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => self.v_icmp(I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => self.v_icmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => self.v_icmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => self.v_icmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.v_icmp(I32X4, IntCC::Equal),
            O::I32x4Ne => self.v_icmp(I32X4, IntCC::NotEqual),
            O::I32x4LtS => self.v_icmp(I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => self.v_icmp(I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => self.v_icmp(I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => self.v_icmp(I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => self.v_icmp(I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => self.v_icmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => self.v_icmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => self.v_icmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.v_icmp(I64X2, IntCC::Equal),
            O::I64x2Ne => self.v_icmp(I64X2, IntCC::NotEqual),
            O::I64x2LtS => self.v_icmp(I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => self.v_icmp(I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => self.v_icmp(I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => self.v_icmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            O::F32x4Eq => self.v_fcmp(F32X4, FloatCC::Equal),
            O::F32x4Ne => self.v_fcmp(F32X4, FloatCC::NotEqual),
            O::F32x4Lt => self.v_fcmp(F32X4, FloatCC::LessThan),
            O::F32x4Gt => self.v_fcmp(F32X4, FloatCC::GreaterThan),
            O::F32x4Le => self.v_fcmp(F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => self.v_fcmp(F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => self.v_fcmp(F64X2, FloatCC::Equal),
            O::F64x2Ne => self.v_fcmp(F64X2, FloatCC::NotEqual),
            O::F64x2Lt => self.v_fcmp(F64X2, FloatCC::LessThan),
            O::F64x2Gt => self.v_fcmp(F64X2, FloatCC::GreaterThan),
            O::F64x2Le => self.v_fcmp(F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => self.v_fcmp(F64X2, FloatCC::GreaterThanOrEqual),

            O::V128Not => self.v_unary(I8X16, |b, a| b.ins().bnot(a)),
            O::V128And => self.v_binary(I8X16, |b, x, y| b.ins().band(x, y)),
            O::V128AndNot => self.v_binary(I8X16, |b, x, y| b.ins().band_not(x, y)),
            O::V128Or => self.v_binary(I8X16, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.v_binary(I8X16, |b, x, y| b.ins().bxor(x, y)),
            O::V128Bitselect
            | O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => {
                let c = self.pop_as(I8X16);
                let (x, y) = self.pop2();
                let r = self.builder.ins().bitselect(c, x, y);
                self.push(r);
            }
            O::V128AnyTrue => self.v_test(I8X16, |b, a| b.ins().vany_true(a)),
            O::I8x16AllTrue => self.v_test(I8X16, |b, a| b.ins().vall_true(a)),
            O::I16x8AllTrue => self.v_test(I16X8, |b, a| b.ins().vall_true(a)),
            O::I32x4AllTrue => self.v_test(I32X4, |b, a| b.ins().vall_true(a)),
            O::I64x2AllTrue => self.v_test(I64X2, |b, a| b.ins().vall_true(a)),
            O::I8x16Bitmask => self.v_test(I8X16, |b, a| b.ins().vhigh_bits(types::I32, a)),
            O::I16x8Bitmask => self.v_test(I16X8, |b, a| b.ins().vhigh_bits(types::I32, a)),
            O::I32x4Bitmask => self.v_test(I32X4, |b, a| b.ins().vhigh_bits(types::I32, a)),
            O::I64x2Bitmask => self.v_test(I64X2, |b, a| b.ins().vhigh_bits(types::I32, a)),

            O::I8x16Shl => self.v_shift(I8X16, |b, x, c| b.ins().ishl(x, c)),
            O::I8x16ShrS => self.v_shift(I8X16, |b, x, c| b.ins().sshr(x, c)),
            O::I8x16ShrU => self.v_shift(I8X16, |b, x, c| b.ins().ushr(x, c)),
            O::I16x8Shl => self.v_shift(I16X8, |b, x, c| b.ins().ishl(x, c)),
            O::I16x8ShrS => self.v_shift(I16X8, |b, x, c| b.ins().sshr(x, c)),
            O::I16x8ShrU => self.v_shift(I16X8, |b, x, c| b.ins().ushr(x, c)),
            O::I32x4Shl => self.v_shift(I32X4, |b, x, c| b.ins().ishl(x, c)),
            O::I32x4ShrS => self.v_shift(I32X4, |b, x, c| b.ins().sshr(x, c)),
            O::I32x4ShrU => self.v_shift(I32X4, |b, x, c| b.ins().ushr(x, c)),
            O::I64x2Shl => self.v_shift(I64X2, |b, x, c| b.ins().ishl(x, c)),
            O::I64x2ShrS => self.v_shift(I64X2, |b, x, c| b.ins().sshr(x, c)),
            O::I64x2ShrU => self.v_shift(I64X2, |b, x, c| b.ins().ushr(x, c)),

            O::I8x16Abs => self.v_unary(I8X16, |b, a| b.ins().iabs(a)),
            O::I16x8Abs => self.v_unary(I16X8, |b, a| b.ins().iabs(a)),
            O::I32x4Abs => self.v_unary(I32X4, |b, a| b.ins().iabs(a)),
            O::I64x2Abs => self.v_unary(I64X2, |b, a| b.ins().iabs(a)),
            O::I8x16Neg => self.v_unary(I8X16, |b, a| b.ins().ineg(a)),
            O::I16x8Neg => self.v_unary(I16X8, |b, a| b.ins().ineg(a)),
            O::I32x4Neg => self.v_unary(I32X4, |b, a| b.ins().ineg(a)),
            O::I64x2Neg => self.v_unary(I64X2, |b, a| b.ins().ineg(a)),
            O::I8x16Popcnt => self.v_unary(I8X16, |b, a| b.ins().popcnt(a)),

            O::I8x16Add => self.v_binary(I8X16, |b, x, y| b.ins().iadd(x, y)),
            O::I16x8Add => self.v_binary(I16X8, |b, x, y| b.ins().iadd(x, y)),
            O::I32x4Add => self.v_binary(I32X4, |b, x, y| b.ins().iadd(x, y)),
            O::I64x2Add => self.v_binary(I64X2, |b, x, y| b.ins().iadd(x, y)),
            O::I8x16Sub => self.v_binary(I8X16, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Sub => self.v_binary(I16X8, |b, x, y| b.ins().isub(x, y)),
            O::I32x4Sub => self.v_binary(I32X4, |b, x, y| b.ins().isub(x, y)),
            O::I64x2Sub => self.v_binary(I64X2, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Mul => self.v_binary(I16X8, |b, x, y| b.ins().imul(x, y)),
            O::I32x4Mul => self.v_binary(I32X4, |b, x, y| b.ins().imul(x, y)),
            O::I64x2Mul => self.v_binary(I64X2, |b, x, y| b.ins().imul(x, y)),
            O::I8x16AddSatS => self.v_binary(I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU => self.v_binary(I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS => self.v_binary(I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU => self.v_binary(I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            O::I16x8AddSatS => self.v_binary(I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I16x8AddSatU => self.v_binary(I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I16x8SubSatS => self.v_binary(I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I16x8SubSatU => self.v_binary(I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS => self.v_binary(I8X16, |b, x, y| b.ins().smin(x, y)),
            O::I8x16MinU => self.v_binary(I8X16, |b, x, y| b.ins().umin(x, y)),
            O::I8x16MaxS => self.v_binary(I8X16, |b, x, y| b.ins().smax(x, y)),
            O::I8x16MaxU => self.v_binary(I8X16, |b, x, y| b.ins().umax(x, y)),
            O::I16x8MinS => self.v_binary(I16X8, |b, x, y| b.ins().smin(x, y)),
            O::I16x8MinU => self.v_binary(I16X8, |b, x, y| b.ins().umin(x, y)),
            O::I16x8MaxS => self.v_binary(I16X8, |b, x, y| b.ins().smax(x, y)),
            O::I16x8MaxU => self.v_binary(I16X8, |b, x, y| b.ins().umax(x, y)),
            O::I32x4MinS => self.v_binary(I32X4, |b, x, y| b.ins().smin(x, y)),
            O::I32x4MinU => self.v_binary(I32X4, |b, x, y| b.ins().umin(x, y)),
            O::I32x4MaxS => self.v_binary(I32X4, |b, x, y| b.ins().smax(x, y)),
            O::I32x4MaxU => self.v_binary(I32X4, |b, x, y| b.ins().umax(x, y)),
            O::I8x16AvgrU => self.v_binary(I8X16, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8AvgrU => self.v_binary(I16X8, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8Q15MulrSatS | O::I16x8RelaxedQ15mulrS => {
                self.v_binary(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
            }

            O::I8x16NarrowI16x8S => self.v_binary(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            O::I8x16NarrowI16x8U => self.v_binary(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8NarrowI32x4S => self.v_binary(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            O::I16x8NarrowI32x4U => self.v_binary(I32X4, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8ExtendLowI8x16S => self.v_unary(I8X16, |b, a| b.ins().swiden_low(a)),
            O::I16x8ExtendHighI8x16S => self.v_unary(I8X16, |b, a| b.ins().swiden_high(a)),
            O::I16x8ExtendLowI8x16U => self.v_unary(I8X16, |b, a| b.ins().uwiden_low(a)),
            O::I16x8ExtendHighI8x16U => self.v_unary(I8X16, |b, a| b.ins().uwiden_high(a)),
            O::I32x4ExtendLowI16x8S => self.v_unary(I16X8, |b, a| b.ins().swiden_low(a)),
            O::I32x4ExtendHighI16x8S => self.v_unary(I16X8, |b, a| b.ins().swiden_high(a)),
            O::I32x4ExtendLowI16x8U => self.v_unary(I16X8, |b, a| b.ins().uwiden_low(a)),
            O::I32x4ExtendHighI16x8U => self.v_unary(I16X8, |b, a| b.ins().uwiden_high(a)),
            O::I64x2ExtendLowI32x4S => self.v_unary(I32X4, |b, a| b.ins().swiden_low(a)),
            O::I64x2ExtendHighI32x4S => self.v_unary(I32X4, |b, a| b.ins().swiden_high(a)),
            O::I64x2ExtendLowI32x4U => self.v_unary(I32X4, |b, a| b.ins().uwiden_low(a)),
            O::I64x2ExtendHighI32x4U => self.v_unary(I32X4, |b, a| b.ins().uwiden_high(a)),
            O::I16x8ExtAddPairwiseI8x16S | O::I32x4ExtAddPairwiseI16x8S => {
                let ty = if matches!(op, O::I16x8ExtAddPairwiseI8x16S) {
                    I8X16
                } else {
                    I16X8
                };
                self.v_unary(ty, |b, a| {
                    let (lo, hi) = (b.ins().swiden_low(a), b.ins().swiden_high(a));
                    b.ins().iadd_pairwise(lo, hi)
                })
            }
            O::I16x8ExtAddPairwiseI8x16U | O::I32x4ExtAddPairwiseI16x8U => {
                let ty = if matches!(op, O::I16x8ExtAddPairwiseI8x16U) {
                    I8X16
                } else {
                    I16X8
                };
                self.v_unary(ty, |b, a| {
                    let (lo, hi) = (b.ins().uwiden_low(a), b.ins().uwiden_high(a));
                    b.ins().iadd_pairwise(lo, hi)
                })
            }
            O::I16x8ExtMulLowI8x16S => self.extmul(I8X16, true, false),
            O::I16x8ExtMulHighI8x16S => self.extmul(I8X16, true, true),
            O::I16x8ExtMulLowI8x16U => self.extmul(I8X16, false, false),
            O::I16x8ExtMulHighI8x16U => self.extmul(I8X16, false, true),
            O::I32x4ExtMulLowI16x8S => self.extmul(I16X8, true, false),
            O::I32x4ExtMulHighI16x8S => self.extmul(I16X8, true, true),
            O::I32x4ExtMulLowI16x8U => self.extmul(I16X8, false, false),
            O::I32x4ExtMulHighI16x8U => self.extmul(I16X8, false, true),
            O::I64x2ExtMulLowI32x4S => self.extmul(I32X4, true, false),
            O::I64x2ExtMulHighI32x4S => self.extmul(I32X4, true, true),
            O::I64x2ExtMulLowI32x4U => self.extmul(I32X4, false, false),
            O::I64x2ExtMulHighI32x4U => self.extmul(I32X4, false, true),
            // Pairs of adjacent products, summed (wrapping: only `-0x8000 * -0x8000` twice
            // overflows).
            O::I32x4DotI16x8S => self.v_binary(I16X8, |b, x, y| {
                let lo = Self::widening_mul(b, x, y, true, false);
                let hi = Self::widening_mul(b, x, y, true, true);
                b.ins().iadd_pairwise(lo, hi)
            }),
            // The interpreter's choice: both operands signed, 16-bit sums wrap.
            O::I16x8RelaxedDotI8x16I7x16S => self.v_binary(I8X16, |b, x, y| {
                let lo = Self::widening_mul(b, x, y, true, false);
                let hi = Self::widening_mul(b, x, y, true, true);
                b.ins().iadd_pairwise(lo, hi)
            }),
            // Four adjacent products (each fits 16 bits) summed in 32 bits, plus the accumulator.
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let acc = self.pop_as(I32X4);
                let y = self.pop_as(I8X16);
                let x = self.pop_as(I8X16);
                let b = &mut self.builder;
                let mut sums = [x; 2];
                for (high, sum) in [false, true].into_iter().zip(sums.iter_mut()) {
                    let p = Self::widening_mul(b, x, y, true, high);
                    let (lo, hi) = (b.ins().swiden_low(p), b.ins().swiden_high(p));
                    *sum = b.ins().iadd_pairwise(lo, hi);
                }
                let quads = b.ins().iadd_pairwise(sums[0], sums[1]);
                let r = b.ins().iadd(quads, acc);
                self.push_v(r);
            }

            O::F32x4Ceil => self.v_unary(F32X4, |b, a| b.ins().ceil(a)),
            O::F32x4Floor => self.v_unary(F32X4, |b, a| b.ins().floor(a)),
            O::F32x4Trunc => self.v_unary(F32X4, |b, a| b.ins().trunc(a)),
            O::F32x4Nearest => self.v_unary(F32X4, |b, a| b.ins().nearest(a)),
            O::F32x4Abs => self.v_unary(F32X4, |b, a| b.ins().fabs(a)),
            O::F32x4Neg => self.v_unary(F32X4, |b, a| b.ins().fneg(a)),
            O::F32x4Sqrt => self.v_unary(F32X4, |b, a| b.ins().sqrt(a)),
            O::F64x2Ceil => self.v_unary(F64X2, |b, a| b.ins().ceil(a)),
            O::F64x2Floor => self.v_unary(F64X2, |b, a| b.ins().floor(a)),
            O::F64x2Trunc => self.v_unary(F64X2, |b, a| b.ins().trunc(a)),
            O::F64x2Nearest => self.v_unary(F64X2, |b, a| b.ins().nearest(a)),
            O::F64x2Abs => self.v_unary(F64X2, |b, a| b.ins().fabs(a)),
            O::F64x2Neg => self.v_unary(F64X2, |b, a| b.ins().fneg(a)),
            O::F64x2Sqrt => self.v_unary(F64X2, |b, a| b.ins().sqrt(a)),
            O::F32x4Add => self.v_binary(F32X4, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub => self.v_binary(F32X4, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul => self.v_binary(F32X4, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div => self.v_binary(F32X4, |b, x, y| b.ins().fdiv(x, y)),
            O::F64x2Add => self.v_binary(F64X2, |b, x, y| b.ins().fadd(x, y)),
            O::F64x2Sub => self.v_binary(F64X2, |b, x, y| b.ins().fsub(x, y)),
            O::F64x2Mul => self.v_binary(F64X2, |b, x, y| b.ins().fmul(x, y)),
            O::F64x2Div => self.v_binary(F64X2, |b, x, y| b.ins().fdiv(x, y)),
            O::F32x4Min | O::F32x4RelaxedMin => self.v_min_max(F32X4, false),
            O::F32x4Max | O::F32x4RelaxedMax => self.v_min_max(F32X4, true),
            O::F64x2Min | O::F64x2RelaxedMin => self.v_min_max(F64X2, false),
            O::F64x2Max | O::F64x2RelaxedMax => self.v_min_max(F64X2, true),
            O::F32x4PMin => self.v_pseudo_minmax(F32X4, true),
            O::F32x4PMax => self.v_pseudo_minmax(F32X4, false),
            O::F64x2PMin => self.v_pseudo_minmax(F64X2, true),
            O::F64x2PMax => self.v_pseudo_minmax(F64X2, false),
            // Unfused, each step rounded, as the interpreter computes them.
            O::F32x4RelaxedMadd
            | O::F64x2RelaxedMadd
            | O::F32x4RelaxedNmadd
            | O::F64x2RelaxedNmadd => {
                let ty = if matches!(op, O::F32x4RelaxedMadd | O::F32x4RelaxedNmadd) {
                    F32X4
                } else {
                    F64X2
                };
                let negate = matches!(op, O::F32x4RelaxedNmadd | O::F64x2RelaxedNmadd);
                let c = self.pop_as(ty);
                let y = self.pop_as(ty);
                let x = self.pop_as(ty);
                let p = self.builder.ins().fmul(x, y);
                let p = if negate {
                    self.builder.ins().fneg(p)
                } else {
                    p
                };
                let r = self.builder.ins().fadd(p, c);
                self.push_v(r);
            }

            O::I32x4TruncSatF32x4S | O::I32x4RelaxedTruncF32x4S => {
                self.v_unary(F32X4, |b, a| b.ins().fcvt_to_sint_sat(I32X4, a))
            }
            O::I32x4TruncSatF32x4U | O::I32x4RelaxedTruncF32x4U => {
                self.v_unary(F32X4, |b, a| b.ins().fcvt_to_uint_sat(I32X4, a))
            }
            O::I32x4TruncSatF64x2SZero | O::I32x4RelaxedTruncF64x2SZero => {
                // Cranelift lowers the pair (conversion to 64-bit lanes, narrowing with a zero
                // constant) as one; the 64-bit conversion alone has no x86-64 lowering.
                let zero = self.vconst(I64X2, 0);
                self.v_unary(F64X2, |b, a| {
                    let wide = b.ins().fcvt_to_sint_sat(I64X2, a);
                    b.ins().snarrow(wide, zero)
                })
            }
            O::I32x4TruncSatF64x2UZero | O::I32x4RelaxedTruncF64x2UZero => {
                let zero = self.vconst(I64X2, 0);
                self.v_unary(F64X2, |b, a| {
                    let wide = b.ins().fcvt_to_uint_sat(I64X2, a);
                    b.ins().uunarrow(wide, zero)
                })
            }
            O::F32x4ConvertI32x4S => self.v_unary(I32X4, |b, a| b.ins().fcvt_from_sint(F32X4, a)),
            O::F32x4ConvertI32x4U => self.v_unary(I32X4, |b, a| b.ins().fcvt_from_uint(F32X4, a)),
            O::F64x2ConvertLowI32x4S => self.v_unary(I32X4, |b, a| {
                let wide = b.ins().swiden_low(a);
                b.ins().fcvt_from_sint(F64X2, wide)
            }),
            O::F64x2ConvertLowI32x4U => self.v_unary(I32X4, |b, a| {
                let wide = b.ins().uwiden_low(a);
                b.ins().fcvt_from_uint(F64X2, wide)
            }),
            O::F32x4DemoteF64x2Zero => self.v_unary(F64X2, |b, a| b.ins().fvdemote(a)),
            O::F64x2PromoteLowF32x4 => self.v_unary(F32X4, |b, a| b.ins().fvpromote_low(a)),

            other => return Err(super::numeric::operator_unsupported(other)),
        }
        Ok(())
    }

    /// The products of the low (or `high`) halves of `x` and `y`, lanes widened to twice the
    /// width first (so no product overflows).
    fn widening_mul(
        b: &mut FunctionBuilder<'b>,
        x: Value,
        y: Value,
        signed: bool,
        high: bool,
    ) -> Value {
        let (x, y) = match (signed, high) {
            (true, false) => (b.ins().swiden_low(x), b.ins().swiden_low(y)),
            (true, true) => (b.ins().swiden_high(x), b.ins().swiden_high(y)),
            (false, false) => (b.ins().uwiden_low(x), b.ins().uwiden_low(y)),
            (false, true) => (b.ins().uwiden_high(x), b.ins().uwiden_high(y)),
        };
        b.ins().imul(x, y)
    }

    /// `extmul_{low,high}` of lanes of type `ty`.
    fn extmul(&mut self, ty: Type, signed: bool, high: bool) {
        self.v_binary(ty, |b, x, y| Self::widening_mul(b, x, y, signed, high));
    }
}
