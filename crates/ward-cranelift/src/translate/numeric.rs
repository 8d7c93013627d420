//! The numeric operators (constants, comparisons, arithmetic, conversions) of the four scalar
//! types: one Cranelift instruction each, except integer division and float-to-int truncation,
//! which check for Wasm's traps first. Called by `translate_operator` for every operator it does
//! not handle itself; anything else here is unsupported.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

use super::{FuncTranslator, unsupported};
use crate::{CompileError, TrapCode};

impl<'b> FuncTranslator<'_, 'b> {
    /// Translates numeric operator `op`; any other operator is unsupported.
    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        match op {
            O::I32Const { value } => {
                let v = self.builder.ins().iconst(types::I32, *value as i64);
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.builder.ins().iconst(types::I64, *value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => self.unary(|b, a| b.ins().clz(a)),
            O::I32Ctz | O::I64Ctz => self.unary(|b, a| b.ins().ctz(a)),
            O::I32Popcnt | O::I64Popcnt => self.unary(|b, a| b.ins().popcnt(a)),
            O::I32Add | O::I64Add => self.binary(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS => self.div_rem(types::I32, true, false),
            O::I32DivU => self.div_rem(types::I32, false, false),
            O::I32RemS => self.div_rem(types::I32, true, true),
            O::I32RemU => self.div_rem(types::I32, false, true),
            O::I64DivS => self.div_rem(types::I64, true, false),
            O::I64DivU => self.div_rem(types::I64, false, false),
            O::I64RemS => self.div_rem(types::I64, true, true),
            O::I64RemU => self.div_rem(types::I64, false, true),
            O::I32And | O::I64And => self.binary(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(|b, x, y| b.ins().bxor(x, y)),
            // Cranelift's shifts and rotates take the amount modulo the width, as Wasm does.
            O::I32Shl | O::I64Shl => self.binary(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binary(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binary(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binary(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(|b, x, y| b.ins().rotr(x, y)),

            O::F32Abs | O::F64Abs => self.unary(|b, a| b.ins().fabs(a)),
            O::F32Neg | O::F64Neg => self.unary(|b, a| b.ins().fneg(a)),
            O::F32Ceil | O::F64Ceil => self.unary(|b, a| b.ins().ceil(a)),
            O::F32Floor | O::F64Floor => self.unary(|b, a| b.ins().floor(a)),
            O::F32Trunc | O::F64Trunc => self.unary(|b, a| b.ins().trunc(a)),
            O::F32Nearest | O::F64Nearest => self.unary(|b, a| b.ins().nearest(a)),
            O::F32Sqrt | O::F64Sqrt => self.unary(|b, a| b.ins().sqrt(a)),
            O::F32Add | O::F64Add => self.binary(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(|b, x, y| b.ins().fdiv(x, y)),
            // Cranelift's `fmin`/`fmax` are Wasm's: NaN if either operand is, and -0 < +0.
            O::F32Min | O::F64Min => self.binary(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binary(|b, x, y| b.ins().fcopysign(x, y)),

            O::I32WrapI64 => self.unary(|b, a| b.ins().ireduce(types::I32, a)),
            O::I64ExtendI32S => self.unary(|b, a| b.ins().sextend(types::I64, a)),
            O::I64ExtendI32U => self.unary(|b, a| b.ins().uextend(types::I64, a)),
            O::I32Extend8S => self.unary(|b, a| {
                let n = b.ins().ireduce(types::I8, a);
                b.ins().sextend(types::I32, n)
            }),
            O::I32Extend16S => self.unary(|b, a| {
                let n = b.ins().ireduce(types::I16, a);
                b.ins().sextend(types::I32, n)
            }),
            O::I64Extend8S => self.unary(|b, a| {
                let n = b.ins().ireduce(types::I8, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend16S => self.unary(|b, a| {
                let n = b.ins().ireduce(types::I16, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend32S => self.unary(|b, a| {
                let n = b.ins().ireduce(types::I32, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I32TruncF32S | O::I32TruncF64S => self.trunc_checked(types::I32, true),
            O::I32TruncF32U | O::I32TruncF64U => self.trunc_checked(types::I32, false),
            O::I64TruncF32S | O::I64TruncF64S => self.trunc_checked(types::I64, true),
            O::I64TruncF32U | O::I64TruncF64U => self.trunc_checked(types::I64, false),
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(|b, a| b.ins().fcvt_to_sint_sat(types::I32, a))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(|b, a| b.ins().fcvt_to_uint_sat(types::I32, a))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(|b, a| b.ins().fcvt_to_sint_sat(types::I64, a))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(|b, a| b.ins().fcvt_to_uint_sat(types::I64, a))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(|b, a| b.ins().fcvt_from_sint(types::F32, a))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(|b, a| b.ins().fcvt_from_uint(types::F32, a))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(|b, a| b.ins().fcvt_from_sint(types::F64, a))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(|b, a| b.ins().fcvt_from_uint(types::F64, a))
            }
            O::F32DemoteF64 => self.unary(|b, a| b.ins().fdemote(types::F32, a)),
            O::F64PromoteF32 => self.unary(|b, a| b.ins().fpromote(types::F64, a)),
            O::I32ReinterpretF32 => {
                self.unary(|b, a| b.ins().bitcast(types::I32, MemFlagsData::new(), a))
            }
            O::I64ReinterpretF64 => {
                self.unary(|b, a| b.ins().bitcast(types::I64, MemFlagsData::new(), a))
            }
            O::F32ReinterpretI32 => {
                self.unary(|b, a| b.ins().bitcast(types::F32, MemFlagsData::new(), a))
            }
            O::F64ReinterpretI64 => {
                self.unary(|b, a| b.ins().bitcast(types::F64, MemFlagsData::new(), a))
            }
            other => return self.translate_simd(other),
        }
        Ok(())
    }

    fn icmp(&mut self, cc: IntCC) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().icmp(cc, a, b);
        let c = self.builder.ins().uextend(types::I32, c);
        self.push(c);
    }

    fn fcmp(&mut self, cc: FloatCC) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().fcmp(cc, a, b);
        let c = self.builder.ins().uextend(types::I32, c);
        self.push(c);
    }

    fn eqz(&mut self) {
        let a = self.pop();
        let c = self.builder.ins().icmp_imm_s(IntCC::Equal, a, 0);
        let c = self.builder.ins().uextend(types::I32, c);
        self.push(c);
    }

    fn binary(&mut self, f: impl FnOnce(&mut FunctionBuilder<'b>, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let r = f(&mut self.builder, a, b);
        self.push(r);
    }

    fn unary(&mut self, f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value) {
        let a = self.pop();
        let r = f(&mut self.builder, a);
        self.push(r);
    }

    /// Integer division and remainder with Wasm's traps, checked before the operation.
    fn div_rem(&mut self, ty: Type, signed: bool, rem: bool) {
        let (a, b) = self.pop2();
        let zero = self.builder.ins().icmp_imm_s(IntCC::Equal, b, 0);
        self.trap_if(zero, TrapCode::IntegerDivisionByZero, true);
        let r = if signed {
            let min = if ty == types::I32 {
                i32::MIN as i64
            } else {
                i64::MIN
            };
            let minus_one = self.builder.ins().icmp_imm_s(IntCC::Equal, b, -1);
            if rem {
                // `MIN % -1` is 0 in Wasm but faults on x86: divide by 1 instead.
                let one = self.builder.ins().iconst(ty, 1);
                let divisor = self.builder.ins().select(minus_one, one, b);
                self.builder.ins().srem(a, divisor)
            } else {
                let is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, a, min);
                let overflow = self.builder.ins().band(is_min, minus_one);
                self.trap_if(overflow, TrapCode::IntegerOverflow, true);
                self.builder.ins().sdiv(a, b)
            }
        } else if rem {
            self.builder.ins().urem(a, b)
        } else {
            self.builder.ins().udiv(a, b)
        };
        self.push(r);
    }

    /// Float-to-int truncation with Wasm's traps: NaN, then out of range, checked on the value
    /// truncated toward zero against the target's bounds (powers of two, exact in both float
    /// types).
    fn trunc_checked(&mut self, to: Type, signed: bool) {
        let x = self.pop();
        let from = self.builder.func.dfg.value_type(x);
        let nan = self.builder.ins().fcmp(FloatCC::Unordered, x, x);
        self.trap_if(nan, TrapCode::BadConversionToInteger, true);
        let t = self.builder.ins().trunc(x);
        let bits = to.bits() as i32;
        let (lo, hi) = if signed {
            (-(2f64.powi(bits - 1)), 2f64.powi(bits - 1))
        } else {
            (-1.0, 2f64.powi(bits))
        };
        let (lo, hi) = if from == types::F32 {
            (
                self.builder.ins().f32const(lo as f32),
                self.builder.ins().f32const(hi as f32),
            )
        } else {
            (
                self.builder.ins().f64const(lo),
                self.builder.ins().f64const(hi),
            )
        };
        let lo_cc = if signed {
            FloatCC::GreaterThanOrEqual
        } else {
            FloatCC::GreaterThan
        };
        let above = self.builder.ins().fcmp(lo_cc, t, lo);
        let below = self.builder.ins().fcmp(FloatCC::LessThan, t, hi);
        let in_range = self.builder.ins().band(above, below);
        let out = self.builder.ins().icmp_imm_s(IntCC::Equal, in_range, 0);
        self.trap_if(out, TrapCode::IntegerOverflow, true);
        // In range, the saturating conversion is the exact one (and has no trap of its own).
        let r = if signed {
            self.builder.ins().fcvt_to_sint_sat(to, t)
        } else {
            self.builder.ins().fcvt_to_uint_sat(to, t)
        };
        self.push(r);
    }
}

/// The error for an operator the tier does not compile, naming it.
pub(super) fn operator_unsupported(op: &Operator<'_>) -> CompileError {
    let name = format!("{op:?}");
    let name = name
        .split([' ', '{', '('])
        .next()
        .unwrap_or("?")
        .to_string();
    unsupported(format!("the `{name}` operator"))
}
