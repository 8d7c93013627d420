//! `#[derive(ComponentType, Lift, Lower)]`: reads the `#[component(...)]` attributes of a struct
//! or enum into a [`Shape`] (a record's fields, a variant's cases, an enum's cases, each with its
//! component name) and expands one of the three traits for it. The expansion calls the helpers of
//! `ward::component::__internal`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Error, Fields, Ident, LitStr, Result, Token};

/// The trait a derive expands.
#[derive(Clone, Copy)]
pub enum Trait {
    ComponentType,
    Lift,
    Lower,
}

/// What `#[component(...)]` on the item says it is.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Record,
    Variant,
    Enum,
}

/// A record field, or a variant's or enum's case, with its component name.
struct Member {
    ident: Ident,
    name: LitStr,
    /// The field's type, or a variant case's payload type.
    ty: Option<syn::Type>,
}

/// The item's component shape.
enum Shape {
    Record(Vec<Member>),
    Variant(Vec<Member>),
    Enum(Vec<Member>),
}

mod kw {
    syn::custom_keyword!(record);
    syn::custom_keyword!(variant);
    syn::custom_keyword!(name);
    syn::custom_keyword!(flags);
}

pub fn expand(input: TokenStream, which: Trait) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match expand_derive(&input, which) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The style the item's `#[component(record | variant | enum)]` attribute names.
fn style(input: &DeriveInput) -> Result<Style> {
    let mut found = None;
    for attribute in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("component"))
    {
        let style = attribute.parse_args_with(|parser: ParseStream<'_>| {
            let lookahead = parser.lookahead1();
            if lookahead.peek(kw::record) {
                parser.parse::<kw::record>()?;
                Ok(Style::Record)
            } else if lookahead.peek(kw::variant) {
                parser.parse::<kw::variant>()?;
                Ok(Style::Variant)
            } else if lookahead.peek(Token![enum]) {
                parser.parse::<Token![enum]>()?;
                Ok(Style::Enum)
            } else if parser.peek(kw::flags) {
                Err(parser.error(
                    "`flags` types are defined with `ward::component::flags!`, not a derive",
                ))
            } else {
                Err(lookahead.error())
            }
        })?;
        if found.replace(style).is_some() {
            return Err(Error::new_spanned(
                attribute,
                "more than one `#[component(...)]` style attribute",
            ));
        }
    }
    found.ok_or_else(|| {
        Error::new(
            Span::call_site(),
            "add `#[component(record)]`, `#[component(variant)]` or `#[component(enum)]` to say \
             which component type this is",
        )
    })
}

/// The component name of a member: its `#[component(name = "...")]`, else its identifier.
fn member_name(attributes: &[Attribute], ident: &Ident) -> Result<LitStr> {
    let mut name = None;
    for attribute in attributes.iter().filter(|a| a.path().is_ident("component")) {
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
    let ident = ident.to_string();
    let ident = ident.strip_prefix("r#").unwrap_or(&ident);
    Ok(name.unwrap_or_else(|| LitStr::new(ident, Span::call_site())))
}

fn shape(input: &DeriveInput) -> Result<Shape> {
    let style = style(input)?;
    match (&input.data, style) {
        (Data::Struct(data), Style::Record) => {
            let Fields::Named(fields) = &data.fields else {
                return Err(Error::new(
                    input.ident.span(),
                    "a record is a struct with named fields",
                ));
            };
            let members = fields
                .named
                .iter()
                .map(|field| {
                    let ident = field.ident.clone().expect("named fields have identifiers");
                    Ok(Member {
                        name: member_name(&field.attrs, &ident)?,
                        ident,
                        ty: Some(field.ty.clone()),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if members.is_empty() {
                return Err(Error::new(
                    input.ident.span(),
                    "a record needs at least one field",
                ));
            }
            Ok(Shape::Record(members))
        }
        (Data::Enum(data), Style::Variant | Style::Enum) => {
            let mut members = Vec::new();
            for case in &data.variants {
                if let Some((_, discriminant)) = &case.discriminant {
                    return Err(Error::new_spanned(
                        discriminant,
                        "explicit discriminants are not allowed",
                    ));
                }
                let ty = match (&case.fields, style) {
                    (Fields::Unit, _) => None,
                    (Fields::Unnamed(fields), Style::Variant) if fields.unnamed.len() == 1 => {
                        Some(fields.unnamed[0].ty.clone())
                    }
                    (_, Style::Variant) => {
                        return Err(Error::new(
                            case.fields.span(),
                            "a variant case has no fields or one unnamed field",
                        ));
                    }
                    (_, _) => {
                        return Err(Error::new(
                            case.fields.span(),
                            "an enum's cases have no fields (use `#[component(variant)]` for \
                             payloads)",
                        ));
                    }
                };
                members.push(Member {
                    name: member_name(&case.attrs, &case.ident)?,
                    ident: case.ident.clone(),
                    ty,
                });
            }
            if members.is_empty() {
                return Err(Error::new(
                    input.ident.span(),
                    "a variant or enum needs at least one case",
                ));
            }
            Ok(match style {
                Style::Variant => Shape::Variant(members),
                _ => Shape::Enum(members),
            })
        }
        (Data::Struct(_), _) => Err(Error::new(
            input.ident.span(),
            "a struct is a `#[component(record)]`",
        )),
        (Data::Enum(_), _) => Err(Error::new(
            input.ident.span(),
            "an enum is a `#[component(variant)]` or a `#[component(enum)]`",
        )),
        (Data::Union(_), _) => Err(Error::new(
            input.ident.span(),
            "unions have no component type",
        )),
    }
}

fn expand_derive(input: &DeriveInput, which: Trait) -> Result<TokenStream2> {
    let shape = shape(input)?;
    let component = quote!(::ward::component);
    let trait_path = match which {
        Trait::ComponentType => quote!(#component::ComponentType),
        Trait::Lift => quote!(#component::Lift),
        Trait::Lower => quote!(#component::Lower),
    };
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#trait_path));
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;
    let rust_name = name.to_string();
    let body = match which {
        Trait::ComponentType => component_type_body(&shape, &rust_name),
        Trait::Lift => lift_body(&shape, &rust_name),
        Trait::Lower => lower_body(&shape),
    };
    Ok(quote! {
        impl #impl_generics #trait_path for #name #type_generics #where_clause {
            #body
        }
    })
}

fn component_type_body(shape: &Shape, rust_name: &str) -> TokenStream2 {
    let component = quote!(::ward::component);
    let internal = quote!(::ward::component::__internal);
    let check = |ty: &syn::Type| quote!(<#ty as #component::ComponentType>::typecheck as #internal::Typecheck);
    let call = match shape {
        Shape::Record(fields) => {
            let entries = fields.iter().map(|f| {
                let name = &f.name;
                let check = check(f.ty.as_ref().expect("record fields have types"));
                quote!((#name, #check))
            });
            quote!(#internal::typecheck_record(ty, #rust_name, &[#(#entries),*]))
        }
        Shape::Variant(cases) => {
            let entries = cases.iter().map(|c| {
                let name = &c.name;
                match &c.ty {
                    Some(ty) => {
                        let check = check(ty);
                        quote!((#name, ::core::option::Option::Some(#check)))
                    }
                    None => quote!((#name, ::core::option::Option::None)),
                }
            });
            quote!(#internal::typecheck_variant(ty, #rust_name, &[#(#entries),*]))
        }
        Shape::Enum(cases) => {
            let names = cases.iter().map(|c| &c.name);
            quote!(#internal::typecheck_enum(ty, #rust_name, &[#(#names),*]))
        }
    };
    quote! {
        fn typecheck(ty: &#component::Type) -> ::ward::Result<()> {
            #call
        }
    }
}

fn lower_body(shape: &Shape) -> TokenStream2 {
    let component = quote!(::ward::component);
    let internal = quote!(::ward::component::__internal);
    let value = match shape {
        Shape::Record(fields) => {
            let entries = fields.iter().map(|f| {
                let (name, ident) = (&f.name, &f.ident);
                quote!((#name, #component::Lower::lower(&self.#ident)))
            });
            quote!(#internal::record(::std::vec![#(#entries),*]))
        }
        Shape::Variant(cases) => {
            let arms = cases.iter().map(|c| {
                let (name, ident) = (&c.name, &c.ident);
                match &c.ty {
                    Some(_) => quote! {
                        Self::#ident(payload) => #internal::variant(
                            #name, ::core::option::Option::Some(#component::Lower::lower(payload)))
                    },
                    None => quote!(Self::#ident => #internal::variant(#name, ::core::option::Option::None)),
                }
            });
            quote!(match self { #(#arms,)* })
        }
        Shape::Enum(cases) => {
            let arms = cases.iter().map(|c| {
                let (name, ident) = (&c.name, &c.ident);
                quote!(Self::#ident => #internal::enum_case(#name))
            });
            quote!(match self { #(#arms,)* })
        }
    };
    quote! {
        fn lower(&self) -> #component::Val {
            #value
        }
    }
}

fn lift_body(shape: &Shape, rust_name: &str) -> TokenStream2 {
    let component = quote!(::ward::component);
    let internal = quote!(::ward::component::__internal);
    let value = match shape {
        Shape::Record(fields) => {
            let names = fields.iter().map(|f| &f.name);
            let locals: Vec<Ident> = (0..fields.len())
                .map(|i| format_ident!("field{i}"))
                .collect();
            let inits = fields.iter().zip(&locals).map(|(f, local)| {
                let (ident, ty) = (&f.ident, f.ty.as_ref().expect("record fields have types"));
                quote!(#ident: <#ty as #component::Lift>::lift(#local)?)
            });
            quote! {
                let [#(#locals),*] = #internal::record_fields(value, #rust_name, &[#(#names),*])?;
                ::core::result::Result::Ok(Self { #(#inits),* })
            }
        }
        Shape::Variant(cases) => {
            let arms = cases.iter().map(|c| {
                let (name, ident) = (&c.name, &c.ident);
                match &c.ty {
                    Some(ty) => quote! {
                        #name => ::core::result::Result::Ok(Self::#ident(
                            <#ty as #component::Lift>::lift(
                                #internal::payload(payload, #rust_name, #name)?)?))
                    },
                    None => quote! {
                        #name => {
                            #internal::no_payload(payload, #rust_name, #name)?;
                            ::core::result::Result::Ok(Self::#ident)
                        }
                    },
                }
            });
            quote! {
                let (case, payload) = #internal::variant_case(value, #rust_name)?;
                match case.as_str() {
                    #(#arms,)*
                    other => ::core::result::Result::Err(#internal::unknown_case(#rust_name, other)),
                }
            }
        }
        Shape::Enum(cases) => {
            let arms = cases.iter().map(|c| {
                let (name, ident) = (&c.name, &c.ident);
                quote!(#name => ::core::result::Result::Ok(Self::#ident))
            });
            quote! {
                let case = #internal::enum_name(value, #rust_name)?;
                match case.as_str() {
                    #(#arms,)*
                    other => ::core::result::Result::Err(#internal::unknown_case(#rust_name, other)),
                }
            }
        }
    };
    quote! {
        fn lift(value: #component::Val) -> ::ward::Result<Self> {
            #value
        }
    }
}
