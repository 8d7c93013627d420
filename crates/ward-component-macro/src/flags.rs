//! `flags!`: parses `Name { #[component(name = "read")] const READ; … }` (as Wasmtime's macro
//! does) and expands a `Copy` struct over a `u32` bit set (the component model allows at most 32
//! flags), with one constant per flag, set operations, `Debug` listing the flags that are set,
//! and `ComponentType`, `Lift` and `Lower`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Error, Ident, LitStr, Result, Token, Visibility, braced};

/// The most flags a `flags` type has.
const MAX_FLAGS: usize = 32;

struct Flag {
    /// Attributes other than `#[component(...)]` (documentation), kept on the constant.
    attrs: Vec<Attribute>,
    ident: Ident,
    name: LitStr,
}

struct Flags {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    flags: Vec<Flag>,
}

mod kw {
    syn::custom_keyword!(name);
}

impl Parse for Flag {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut name = None;
        for attribute in attrs.iter().filter(|a| a.path().is_ident("component")) {
            let literal = attribute.parse_args_with(|parser: ParseStream<'_>| {
                parser.parse::<kw::name>()?;
                parser.parse::<Token![=]>()?;
                parser.parse::<LitStr>()
            })?;
            if name.replace(literal).is_some() {
                return Err(Error::new_spanned(
                    attribute,
                    "more than one name attribute",
                ));
            }
        }
        attrs.retain(|a| !a.path().is_ident("component"));
        input.parse::<Token![const]>()?;
        let ident: Ident = input.parse()?;
        let name = name.unwrap_or_else(|| LitStr::new(&ident.to_string(), Span::call_site()));
        Ok(Flag { attrs, ident, name })
    }
}

impl Parse for Flags {
    fn parse(input: ParseStream) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let flags: Vec<Flag> = content
            .parse_terminated(Flag::parse, Token![;])?
            .into_iter()
            .collect();
        if flags.is_empty() {
            return Err(Error::new(
                ident.span(),
                "a flags type needs at least one flag",
            ));
        }
        if flags.len() > MAX_FLAGS {
            return Err(Error::new(
                ident.span(),
                format!("a flags type has at most {MAX_FLAGS} flags"),
            ));
        }
        Ok(Flags {
            attrs,
            vis,
            ident,
            flags,
        })
    }
}

pub fn expand(input: TokenStream) -> TokenStream {
    let flags = syn::parse_macro_input!(input as Flags);
    let Flags {
        attrs,
        vis,
        ident,
        flags,
    } = flags;
    // Wasmtime's macro makes the type public; an explicit visibility narrows it.
    let vis = match vis {
        Visibility::Inherited => quote!(pub),
        vis => quote!(#vis),
    };
    let component = quote!(::ward::component);
    let internal = quote!(::ward::component::__internal);
    let rust_name = ident.to_string();
    let count = flags.len();
    let all_bits: u32 = if count == MAX_FLAGS {
        u32::MAX
    } else {
        (1u32 << count) - 1
    };
    let constants = flags.iter().enumerate().map(|(bit, flag)| {
        let (attrs, flag_ident) = (&flag.attrs, &flag.ident);
        let mask = 1u32 << bit;
        quote!(#(#attrs)* pub const #flag_ident: Self = Self { bits: #mask };)
    });
    let names: Vec<&LitStr> = flags.iter().map(|f| &f.name).collect();
    let rust_names = flags.iter().map(|f| f.ident.to_string());
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #vis struct #ident {
            bits: u32,
        }

        impl #ident {
            #(#constants)*

            /// No flag set.
            pub const fn empty() -> Self {
                Self { bits: 0 }
            }

            /// Every flag set.
            pub const fn all() -> Self {
                Self { bits: #all_bits }
            }

            /// The flags as bits, the first flag in the lowest bit.
            pub const fn bits(&self) -> u32 {
                self.bits
            }

            /// The flags of `bits`, ignoring bits beyond the last flag.
            pub const fn from_bits_truncate(bits: u32) -> Self {
                Self { bits: bits & #all_bits }
            }

            /// Whether no flag is set.
            pub const fn is_empty(&self) -> bool {
                self.bits == 0
            }

            /// Whether every flag of `other` is set in `self`.
            pub const fn contains(&self, other: Self) -> bool {
                self.bits & other.bits == other.bits
            }

            /// Whether `self` and `other` have a flag in common.
            pub const fn intersects(&self, other: Self) -> bool {
                self.bits & other.bits != 0
            }

            /// Sets the flags of `other`.
            pub fn insert(&mut self, other: Self) {
                self.bits |= other.bits;
            }

            /// Clears the flags of `other`.
            pub fn remove(&mut self, other: Self) {
                self.bits &= !other.bits;
            }
        }

        impl ::core::ops::BitOr for #ident {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self { bits: self.bits | rhs.bits }
            }
        }

        impl ::core::ops::BitOrAssign for #ident {
            fn bitor_assign(&mut self, rhs: Self) {
                self.bits |= rhs.bits;
            }
        }

        impl ::core::ops::BitAnd for #ident {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self { bits: self.bits & rhs.bits }
            }
        }

        impl ::core::ops::BitAndAssign for #ident {
            fn bitand_assign(&mut self, rhs: Self) {
                self.bits &= rhs.bits;
            }
        }

        impl ::core::ops::BitXor for #ident {
            type Output = Self;
            fn bitxor(self, rhs: Self) -> Self {
                Self { bits: self.bits ^ rhs.bits }
            }
        }

        impl ::core::ops::BitXorAssign for #ident {
            fn bitxor_assign(&mut self, rhs: Self) {
                self.bits ^= rhs.bits;
            }
        }

        impl ::core::ops::Sub for #ident {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self { bits: self.bits & !rhs.bits }
            }
        }

        impl ::core::ops::Not for #ident {
            type Output = Self;
            fn not(self) -> Self {
                Self { bits: !self.bits & #all_bits }
            }
        }

        impl ::core::fmt::Debug for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #internal::fmt_flags(f, #rust_name, &[#(#rust_names),*], self.bits)
            }
        }

        impl #component::ComponentType for #ident {
            fn typecheck(ty: &#component::Type) -> ::ward::Result<()> {
                #internal::typecheck_flags(ty, #rust_name, &[#(#names),*])
            }
        }

        impl #component::Lower for #ident {
            fn lower(&self) -> #component::Val {
                #internal::flags(&[#(#names),*], self.bits)
            }
        }

        impl #component::Lift for #ident {
            fn lift(value: #component::Val) -> ::ward::Result<Self> {
                #internal::flag_bits(value, #rust_name, &[#(#names),*]).map(|bits| Self { bits })
            }
        }
    }
    .into()
}
