//! The tier interface: what the engine and the runtime know of the code a tier made of a module's
//! defined functions. `ModuleInner` holds each tier's code behind it; the interpreter
//! (`interp::code::InterpCode`) has every function's code, and the Cranelift tier's machine code
//! (`native::NativeCode`, with the `cranelift` feature) implements the same trait beside it for
//! the functions it compiled. Entering a function is the tier's own business (the interpreter's
//! executor reads its code directly), as is describing its frames for backtraces.

/// A tier's code of one module's defined functions (indices count defined functions only).
pub(crate) trait TierCode: Send + Sync {
    /// How many defined functions the module has.
    fn functions(&self) -> usize;

    /// Whether defined function `index` has code in this tier now (a lazily compiled function
    /// gets it at its first call).
    fn has_code(&self, index: u32) -> bool;
}
