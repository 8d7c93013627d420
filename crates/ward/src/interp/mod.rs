//! The interpreter tier: Wasm function bodies translated into ward's register-style bytecode
//! (`bytecode`, `translate`) and run by threaded handlers (`fast`) under an executor that owns the
//! activation and runs the instructions needing the store (`exec`), deciding at interruption points
//! whether running code stops (`interruption`).

mod atomic_ops;
pub(crate) mod bytecode;
pub(crate) mod cast;
pub(crate) mod exec;
pub(crate) mod fast;
mod float;
mod gc_ops;
mod interruption;
pub(crate) mod operator_names;
mod simd;
pub(crate) mod translate;

impl crate::Module {
    /// The interpreter bytecode of every defined function, one instruction per line, for looking at
    /// what the translator made of a module (`ward` tooling and benchmarks; the format is not stable).
    #[doc(hidden)]
    pub fn disassemble(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for index in 0..self.inner.code.len() {
            // Translates the functions a lazily translated module has not run yet.
            let func = match self.inner.compiled(index as u32) {
                Ok(func) => func,
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "func {}: {e}",
                        self.inner.num_imported_funcs as usize + index
                    );
                    continue;
                }
            };
            let _ = writeln!(
                out,
                "func {} (params {}, locals {}, frame {}):",
                self.inner.num_imported_funcs as usize + index,
                func.num_params,
                func.num_locals,
                func.frame_size
            );
            for (at, instr) in func.code.iter().enumerate() {
                let _ = writeln!(out, "  {at:5}  {instr:?}");
            }
        }
        out
    }
}
