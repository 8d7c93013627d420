//! Constant expressions (global initialisers, segment offsets, element items), kept as a short list of
//! operations and evaluated at instantiation by `instance`.

use wasmparser::Operator;

use crate::{Error, Result};

/// One operation of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    GlobalGet(u32),
    RefNull,
    RefFunc(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    RefI31,
    AnyConvertExtern,
    ExternConvertAny,
    /// `struct.new` of a module type index.
    StructNew(u32),
    StructNewDefault(u32),
    ArrayNew(u32),
    ArrayNewDefault(u32),
    /// `array.new_fixed`: type index, element count.
    ArrayNewFixed(u32, u32),
}

/// A GC allocation requested by a constant expression; values are encoded slots (`v128` in full).
pub(crate) enum ConstAlloc<'a> {
    /// A struct of module type `ty` with these field values (`None`: all defaults).
    Struct { ty: u32, fields: Option<&'a [u128]> },
    /// An array of module type `ty` holding these elements.
    Array { ty: u32, elems: &'a [u128] },
    /// An array of module type `ty` with `len` copies of `init`.
    ArrayRepeat { ty: u32, init: u128, len: u32 },
}

/// A validated constant expression.
#[derive(Debug, Clone)]
pub(crate) struct ConstExpr {
    pub ops: Box<[ConstOp]>,
}

impl ConstExpr {
    pub fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
        let mut reader = expr.get_operators_reader();
        let mut ops = Vec::new();
        loop {
            let (op, offset) = reader.read_with_offset().map_err(Error::invalid)?;
            let op = match op {
                Operator::End => break,
                Operator::I32Const { value } => ConstOp::I32(value),
                Operator::I64Const { value } => ConstOp::I64(value),
                Operator::F32Const { value } => ConstOp::F32(value.bits()),
                Operator::F64Const { value } => ConstOp::F64(value.bits()),
                Operator::V128Const { value } => ConstOp::V128(value.i128() as u128),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::RefI31 => ConstOp::RefI31,
                Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
                Operator::ExternConvertAny => ConstOp::ExternConvertAny,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                other => {
                    let name = crate::interp::operator_names::text_name(&other);
                    return Err(Error::Unsupported {
                        feature: format!("constant expression instruction `{name}`"),
                        offset: offset as usize,
                    });
                }
            };
            ops.push(op);
        }
        Ok(ConstExpr { ops: ops.into() })
    }

    /// Evaluates the expression; `global` reads a global of the instance being built, `func_ref`
    /// encodes a reference to one of its functions, and `alloc` makes GC objects (given the number of
    /// struct fields of a module type) or fails.
    pub fn eval(
        &self,
        global: impl Fn(u32) -> u128,
        func_ref: impl Fn(u32) -> u64,
        alloc: &mut dyn FnMut(ConstAlloc<'_>) -> Result<u64>,
        field_count: &dyn Fn(u32) -> usize,
    ) -> Result<u128> {
        // Nearly every constant expression (global initialisers, segment offsets) is one constant,
        // `global.get` or `ref.func`; these need no operand stack, whose allocation was a fifth of
        // instantiating a small module's cost in user space.
        if let [op] = *self.ops
            && let Some(value) = Self::operand_free(op, &global, &func_ref)
        {
            return Ok(value);
        }
        let mut stack: Vec<u128> = Vec::with_capacity(4);
        for op in self.ops.iter() {
            let value = match *op {
                op @ (ConstOp::I32(_)
                | ConstOp::I64(_)
                | ConstOp::F32(_)
                | ConstOp::F64(_)
                | ConstOp::V128(_)
                | ConstOp::GlobalGet(_)
                | ConstOp::RefNull
                | ConstOp::RefFunc(_)) => Self::operand_free(op, &global, &func_ref)
                    .expect("the operators listed take no operands"),
                ConstOp::RefI31 => {
                    let v = stack.pop().expect("validated constant expression") as u64;
                    crate::gc_repr::i31_encode(v) as u128
                }
                ConstOp::AnyConvertExtern => {
                    let v = stack.pop().expect("validated constant expression") as u64;
                    crate::gc_repr::internalize(v) as u128
                }
                ConstOp::ExternConvertAny => {
                    let v = stack.pop().expect("validated constant expression") as u64;
                    crate::gc_repr::externalize(v) as u128
                }
                ConstOp::StructNew(ty) => {
                    let n = field_count(ty);
                    let fields = stack.split_off(stack.len() - n);
                    alloc(ConstAlloc::Struct {
                        ty,
                        fields: Some(&fields),
                    })? as u128
                }
                ConstOp::StructNewDefault(ty) => {
                    alloc(ConstAlloc::Struct { ty, fields: None })? as u128
                }
                ConstOp::ArrayNew(ty) => {
                    let len = stack.pop().expect("validated constant expression") as u32;
                    let init = stack.pop().expect("validated constant expression");
                    alloc(ConstAlloc::ArrayRepeat { ty, init, len })? as u128
                }
                ConstOp::ArrayNewDefault(ty) => {
                    let len = stack.pop().expect("validated constant expression") as u32;
                    alloc(ConstAlloc::ArrayRepeat { ty, init: 0, len })? as u128
                }
                ConstOp::ArrayNewFixed(ty, n) => {
                    let elems = stack.split_off(stack.len() - n as usize);
                    alloc(ConstAlloc::Array { ty, elems: &elems })? as u128
                }
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let b = stack.pop().expect("validated constant expression") as u32;
                    let a = stack.pop().expect("validated constant expression") as u32;
                    (match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    }) as u128
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let b = stack.pop().expect("validated constant expression") as u64;
                    let a = stack.pop().expect("validated constant expression") as u64;
                    (match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    }) as u128
                }
            };
            stack.push(value);
        }
        Ok(stack
            .pop()
            .expect("validated constant expression leaves one value"))
    }

    /// The value pushed by an operator that takes no operands and allocates nothing; `None` for
    /// other operators.
    fn operand_free(
        op: ConstOp,
        global: &impl Fn(u32) -> u128,
        func_ref: &impl Fn(u32) -> u64,
    ) -> Option<u128> {
        Some(match op {
            ConstOp::I32(v) => v as u32 as u128,
            ConstOp::I64(v) => v as u64 as u128,
            ConstOp::F32(v) => v as u128,
            ConstOp::F64(v) => v as u128,
            ConstOp::V128(v) => v,
            ConstOp::GlobalGet(g) => global(g),
            ConstOp::RefNull => 0,
            ConstOp::RefFunc(f) => func_ref(f) as u128,
            _ => return None,
        })
    }
}
