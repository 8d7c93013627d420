//! The interpreter tier: Wasm function bodies translated into ward's register-style bytecode
//! (`bytecode`, `translate`) and run by one dispatch loop (`exec`).

pub(crate) mod bytecode;
pub(crate) mod cast;
pub(crate) mod exec;
pub(crate) mod fast;
mod float;
mod gc_ops;
mod simd;
pub(crate) mod translate;
