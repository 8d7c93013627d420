//! The interpreter tier: Wasm function bodies translated into ward's register-style bytecode
//! (`bytecode`, `translate`) and run by threaded handlers (`fast`) under an executor that owns the
//! activation and runs the instructions needing the store (`exec`), deciding at interruption points
//! whether running code stops (`interruption`).

mod atomic_ops;
pub(crate) mod bytecode;
pub(crate) mod cast;
pub(crate) mod code;
pub(crate) mod exec;
pub(crate) mod fast;
mod float;
mod fusion;
mod gc_ops;
pub(crate) mod host;
pub(crate) mod interruption;
pub(crate) mod operator_names;
mod ops;
mod simd;
pub(crate) mod stack;
pub(crate) mod translate;

use std::fmt::Write;

impl crate::Module {
    /// The interpreter bytecode of every defined function, one instruction per line, for looking at
    /// what the translator made of a module (`ward explore` and benchmarks; the format is not
    /// stable).
    ///
    /// With `wasm`, the binary module this one was compiled from, each instruction is preceded by
    /// the Wasm operators it was translated from (as comments with their byte offsets); operators
    /// that vanished into operands (`local.get`, constants) show above the instruction that uses
    /// them. Branch targets print as the absolute index of the instruction they jump to.
    #[doc(hidden)]
    pub fn disassemble(&self, wasm: Option<&[u8]>) -> String {
        let bodies = wasm.map(function_operators).unwrap_or_default();
        let mut out = String::new();
        for index in 0..self.inner.interp.funcs.len() {
            let func_index = self.inner.num_imported_funcs as usize + index;
            let name = self
                .inner
                .func_name(func_index as u32)
                .map(|n| format!(" ${n}"))
                .unwrap_or_default();
            // Translates the functions a lazily translated module has not run yet.
            let func = match self.inner.compiled(index as u32) {
                Ok(func) => func,
                Err(e) => {
                    let _ = writeln!(out, "func {func_index}{name}: {e}");
                    continue;
                }
            };
            let _ = writeln!(
                out,
                "func {func_index}{name} (params {}, locals {}, frame {} slots):",
                func.num_params, func.num_locals, func.frame_size
            );
            let mut operators = bodies.get(index).map(|ops| ops.iter().peekable());
            for (at, instr) in func.code.iter().enumerate() {
                if let (Some(ops), Some(&offset)) = (operators.as_mut(), func.offsets.get(at)) {
                    while let Some((op_offset, text)) = ops.next_if(|(o, _)| *o <= offset as usize)
                    {
                        let _ = writeln!(out, "         ;; {op_offset:#07x}  {text}");
                    }
                }
                let _ = write!(out, "  {at:5}  ");
                let _ = instr.display_at(at, &mut out);
                out.push('\n');
            }
            if let Some(ops) = operators {
                for (op_offset, text) in ops {
                    let _ = writeln!(out, "         ;; {op_offset:#07x}  {text}");
                }
            }
        }
        out
    }
}

/// The operators of every function body in a binary module, each with its byte offset and its text
/// (`local.get 0`), in code-section order. Empty if the bytes do not parse (they compiled, so they
/// do, unless the caller passed other bytes).
fn function_operators(wasm: &[u8]) -> Vec<Vec<(usize, String)>> {
    let mut bodies = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let mut ops: Vec<(usize, String)> = Vec::new();
        if let Ok(mut reader) = body.get_operators_reader() {
            while !reader.eof() {
                let Ok((op, offset)) = reader.read_with_offset() else {
                    break;
                };
                ops.push((offset as usize, operator_text(&op)));
            }
        }
        bodies.push(ops);
    }
    bodies
}

/// `op` as its text-format name followed by its immediates (`i32.load offset: 8, align: 2, …`).
fn operator_text(op: &wasmparser::Operator<'_>) -> String {
    let name = operator_names::text_name(op);
    let debug = format!("{op:?}");
    match debug.split_once(" { ") {
        Some((_, fields)) => format!("{name} {}", fields.strip_suffix(" }").unwrap_or(fields)),
        None => name,
    }
}
