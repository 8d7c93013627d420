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
                other => {
                    let name = format!("{other:?}");
                    let name = name
                        .split([' ', '{', '('])
                        .next()
                        .unwrap_or("operator")
                        .to_string();
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
    /// encodes a reference to one of its functions.
    pub fn eval(&self, global: impl Fn(u32) -> u128, func_ref: impl Fn(u32) -> u64) -> u128 {
        let mut stack: Vec<u128> = Vec::with_capacity(4);
        for op in self.ops.iter() {
            let value = match *op {
                ConstOp::I32(v) => v as u32 as u128,
                ConstOp::I64(v) => v as u64 as u128,
                ConstOp::F32(v) => v as u128,
                ConstOp::F64(v) => v as u128,
                ConstOp::V128(v) => v,
                ConstOp::GlobalGet(g) => global(g),
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => func_ref(f) as u128,
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
        stack
            .pop()
            .expect("validated constant expression leaves one value")
    }
}
