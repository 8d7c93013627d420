//! The standard WebAssembly C API (`wasm.h`, vendored in `wasm-c-api/include`) over ward's
//! embedding API.
//!
//! Built as `libward_c.so`/`libward_c.a` (install or symlink it as `libward.so`); C programs include
//! the unmodified `wasm.h`. Each `wasm.h` concept has its module here: `vec` (the `wasm_*_vec_t`
//! helpers), `types` (value, function, global, table, memory, extern, import and export types),
//! `store` (config, engine, store), `object` (the reference objects behind `wasm_ref_t` and host
//! info), `val` (`wasm_val_t`), `trap` (traps and frames), `module`, `func`, `externs` (globals,
//! tables, memories, externs) and `instance`; `extras` implements ward's own `ward.h`
//! (`include/ward.h`: WASI with preopens, fuel, epochs, error messages).
//!
//! # Safety at the boundary
//!
//! Every entry point is `unsafe extern "C"`: its contract is `wasm.h`'s — pointers are valid and
//! point to objects this library made (or, for vectors and values, to memory laid out as the
//! header says), `own` arguments are handed over, and a store and everything in it is used from one
//! thread at a time. Within that contract: a null pointer where one is possible returns null, false,
//! zero or an empty vector instead of crashing; no Rust panic crosses `extern "C"` (every entry point
//! that can panic runs inside [`guard`]); and using an object with the wrong store, or a value of
//! the wrong type, is reported (a trap, `false`, or null) rather than undefined.
//!
//! # Ownership model
//!
//! A `wasm_store_t` is a reference-counted context (`store::StoreCtx`). Every handle to an object
//! in a store (function, global, table, memory, instance, reference value) holds a count, so the
//! ward store and its host-function environments live until `wasm_store_delete` *and* the last such
//! handle is deleted; finalizers of host info attached to store objects and of
//! `wasm_func_new_with_env` environments run then. Modules, traps and foreign objects are their own
//! reference-counted objects; their host info is finalized when the last handle goes.
#![warn(missing_docs)]
#![allow(non_camel_case_types)]
// Every entry point is `unsafe` with `wasm.h` as its safety contract (see the crate docs).
#![allow(clippy::missing_safety_doc)]

mod externs;
mod extras;
mod func;
mod instance;
mod module;
mod object;
mod store;
mod trap;
mod types;
mod val;
mod vec;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`, returning what `fallback` makes instead if it panics, so that no panic unwinds
/// into C.
///
/// A panic here is a bug in this crate or in ward (the `wasm.h` contract violations this crate can
/// detect are handled without panicking); the panic hook has already printed it. The fallback is
/// only made after a panic, so it may allocate (a trap) without leaking on the normal path.
pub(crate) fn guard<R>(fallback: impl FnOnce() -> R, body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| fallback())
}

/// Defines the `extern "C"` entry point `$name`: its body runs inside [`guard`], with the given
/// fallback value (evaluated only after a panic).
macro_rules! entry {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $fallback:expr; $body:block) => {
        $(#[$attr])*
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            $crate::guard(|| $fallback, move || $body)
        }
    };
}
pub(crate) use entry;

pub use externs::*;
pub use extras::*;
pub use func::*;
pub use instance::*;
pub use module::*;
pub use object::*;
pub use store::*;
pub use trap::*;
pub use types::*;
pub use val::*;
pub use vec::*;
