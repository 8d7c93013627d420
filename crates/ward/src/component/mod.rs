//! The component model: [`Component`]s, compiled from binary or text and validated with
//! wasmparser's component-model validator, shaped like Wasmtime's `wasmtime::component`.
//!
//! - `compiled`: [`Component`], what `Component::new` returns.
//! - `parse` walks a component binary into a `ComponentDef` (`definition`): its definitions in
//!   order, nested core modules compiled with [`Module`](crate::Module), outer aliases of what
//!   enclosing components define resolved; `cancel_flag` first reads the async builtins'
//!   `cancellable` byte, which the pinned wasmparser does not know yet; `kebab` gives wasmparser
//!   a copy with renamed labels when it mistakes names differing by a hyphen for a clash.
//! - `types`: ward's view of component value types ([`Type`], [`FuncType`]); `val`: [`Val`].
//! - `instance`: [`Linker`] and [`Instance`]: instantiation replays the definitions in a store,
//!   with each instance's canonical-ABI state in `state` and its builtins made by `builtins`.
//! - `func`: [`Func`] and its calls, through the canonical ABI: `abi` (lifting and lowering),
//!   `layout` (sizes, alignments, flattening), `strings`, `number_lists` (lists of numbers as
//!   blocks of bytes), `guest` (memory and `realloc`), and
//!   `resources` (handle tables, [`ResourceAny`]); typed host resources ([`Resource`],
//!   [`ResourceTable`]) in `host_resources`.
//! - `typed`: typed values and calls ([`ComponentType`], [`Lift`], [`Lower`], [`TypedFunc`]), for
//!   now converted through [`Val`]; the derive macros `ComponentType`, `Lift` and `Lower` (for
//!   records, variants and enums) and [`flags!`] come from crate `ward-component-macro`, and their
//!   expansions call the helpers of `derived`.
//! - `errors`: [`AbiTrap`] and the unsupported-async error.
//!
//! The async ABI runs only where nothing waits: an `async` lower calls its callee to completion
//! (status `RETURNED`), an `async` lift without `callback` returns what its `task.return` gave.
//! A component with `stream`, `future` or `error-context` in a function type is valid but fails
//! to compile with [`Error::Unsupported`](crate::Error::Unsupported) whose feature starts with
//! `async` ([`is_unsupported_async`]); calling a function lifted with a `callback`, a call that
//! would have to wait, and the other async builtins (`waitable-set.new`, …) fail with that error
//! when called; `context.get`/`set` and `backpressure.inc`/`dec` work. Depends on
//! `module`, `engine`, `func` and `store`.
//!
//! ```
//! use ward::Engine;
//! use ward::component::Component;
//!
//! let engine = Engine::default();
//! let component = Component::new(&engine, r#"
//!     (component
//!       (core module $m (func (export "answer") (result i32) i32.const 42))
//!       (core instance $i (instantiate $m))
//!       (func (export "answer") (result u32) (canon lift (core func $i "answer"))))
//! "#)?;
//! assert_eq!(component.exports().collect::<Vec<_>>(), ["answer"]);
//! # Ok::<(), ward::Error>(())
//! ```

mod abi;
#[cfg(test)]
mod abi_properties;
mod builtins;
mod cancel_flag;
mod compiled;
mod definition;
mod derived;
mod errors;
mod func;
mod guest;
mod host_resources;
mod instance;
mod kebab;
mod layout;
mod number_lists;
mod parse;
mod resources;
mod state;
mod strings;
mod typed;
mod types;
mod val;

pub use compiled::Component;
pub use errors::{AbiTrap, is_unsupported_async};
pub use func::Func;
pub use host_resources::{Resource, ResourceTable, ResourceTableError};
pub use instance::{Instance, Linker, LinkerInstance};
pub use resources::{HostResource, ResourceAny};
pub use typed::{ComponentParams, ComponentResults, ComponentType, Lift, Lower, TypedFunc};
pub use types::{FuncType, ResourceType, Type};
pub use val::Val;
pub use ward_component_macro::{ComponentType, Lift, Lower, flags};

/// What the expansions of the derive macros and [`flags!`] call; not a stable API.
#[doc(hidden)]
pub mod __internal {
    pub use super::derived::*;
}
