//! Derive macros for ward's typed component values, shaped like Wasmtime's so that its users
//! recognise them: `#[derive(ComponentType, Lift, Lower)]` on a struct marked
//! `#[component(record)]` or an enum marked `#[component(variant)]` or `#[component(enum)]`, and
//! the [`flags!`] macro for `flags` types. A field, case or flag takes the component name of its
//! Rust identifier, as written, unless `#[component(name = "kebab-name")]` renames it.
//!
//! The generated code calls the hidden helpers in `ward::component::__internal`, which check a
//! component type against the Rust shape and convert values through `ward::component::Val`; this
//! crate is re-exported from `ward::component` and not meant to be used on its own.
//! `derive` reads the attributes and the item, `flags` parses and expands `flags!`.

mod derive;
mod flags;

use proc_macro::TokenStream;

/// Derives `ward::component::ComponentType` for a `#[component(record)]` struct, a
/// `#[component(variant)]` enum or a `#[component(enum)]` enum.
#[proc_macro_derive(ComponentType, attributes(component))]
pub fn derive_component_type(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::ComponentType)
}

/// Derives `ward::component::Lift`: values of the type can be received from components.
#[proc_macro_derive(Lift, attributes(component))]
pub fn derive_lift(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::Lift)
}

/// Derives `ward::component::Lower`: values of the type can be passed to components.
#[proc_macro_derive(Lower, attributes(component))]
pub fn derive_lower(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::Lower)
}

/// Defines a `flags` type: a `Copy` struct with one associated constant per flag, set
/// operations, and `ComponentType`, `Lift` and `Lower`. See `ward::component::flags!`.
#[proc_macro]
pub fn flags(input: TokenStream) -> TokenStream {
    flags::expand(input)
}
