//! Typed component values and calls: [`ComponentType`], [`Lift`] and [`Lower`] for Rust types
//! (`bool`, the integers, `f32`/`f64`, `char`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`,
//! tuples and [`ResourceAny`]), [`TypedFunc`] made by `Instance::get_typed_func`, and the
//! parameter and result lists ([`ComponentParams`], [`ComponentResults`]) that `func_wrap` host
//! functions take and return.
//!
//! Records, variants, enums and flags get these traits from the derive macros of crate
//! `ward-component-macro` (re-exported here), whose expansions call `derived`.
//!
//! For now a typed value is converted through the dynamic [`Val`] on its way to and from the
//! canonical ABI, so a typed call costs what a dynamic one does; its type is checked once, when
//! the `TypedFunc` is made. Used by `instance` (`get_typed_func`, `func_wrap`).

use std::marker::PhantomData;

use super::func::Func;
use super::resources::ResourceAny;
use super::types::{FuncType, Type};
use super::val::Val;
use crate::store::AsContextMut;
use crate::{Error, Result};

fn mismatch(rust: &str, ty: &Type) -> Error {
    Error::Usage(format!(
        "type mismatch: {rust} is not the component type {ty}"
    ))
}

fn wrong_value(rust: &str, value: &Val) -> Error {
    Error::Usage(format!("expected a value for {rust}, got {value:?}"))
}

/// A Rust type that stands for a component value type.
///
/// Records, variants and enums get it, with [`Lift`] and [`Lower`], from the derive macros of
/// the same names, told which kind of type they stand for by `#[component(record)]`,
/// `#[component(variant)]` or `#[component(enum)]`; `flags` types are defined with
/// [`flags!`](super::flags!). A field, case or flag has the component name of its Rust
/// identifier as written, unless `#[component(name = "...")]` gives another. Names and their
/// order must match the component's type exactly; `get_typed_func` checks them.
///
/// ```
/// use ward::component::{ComponentType, Lift, Lower, flags};
///
/// #[derive(ComponentType, Lift, Lower, Debug, PartialEq)]
/// #[component(record)]
/// struct Point {
///     x: i32,
///     #[component(name = "y-coordinate")]
///     y: i32,
/// }
///
/// #[derive(ComponentType, Lift, Lower, Debug, PartialEq)]
/// #[component(variant)]
/// enum Shape {
///     #[component(name = "dot")]
///     Dot(Point),
///     #[component(name = "nothing")]
///     Nothing,
/// }
///
/// #[derive(ComponentType, Lift, Lower, Debug, PartialEq)]
/// #[component(enum)]
/// enum Level {
///     #[component(name = "low")]
///     Low,
///     #[component(name = "high")]
///     High,
/// }
///
/// flags! {
///     Access {
///         #[component(name = "read")]
///         const READ;
///         #[component(name = "write")]
///         const WRITE;
///     }
/// }
///
/// let shape = Shape::Dot(Point { x: 1, y: -1 });
/// assert_eq!(Shape::lift(shape.lower())?, shape);
/// let access = Access::READ | Access::WRITE;
/// assert_eq!(Access::lift(access.lower())?, access);
/// assert_eq!(Level::lift(Level::High.lower())?, Level::High);
/// # Ok::<(), ward::Error>(())
/// ```
pub trait ComponentType: Sized {
    /// Checks that `ty` is this Rust type's component type.
    fn typecheck(ty: &Type) -> Result<()>;

    /// Checks an optional payload type (of a `result` case): a value type must be there, except
    /// for `()`, which stands for no payload.
    #[doc(hidden)]
    fn typecheck_payload(ty: Option<&Type>) -> Result<()> {
        match ty {
            Some(ty) => Self::typecheck(ty),
            None => Err(Error::Usage(format!(
                "type mismatch: {} is not an absent payload",
                std::any::type_name::<Self>()
            ))),
        }
    }
}

/// A Rust value that can be passed to a component.
pub trait Lower: ComponentType {
    /// The value as a dynamic [`Val`].
    fn lower(&self) -> Val;

    /// The value as an optional payload (`()` is none).
    #[doc(hidden)]
    fn lower_payload(&self) -> Option<Val> {
        Some(self.lower())
    }
}

/// A Rust value that can be received from a component.
pub trait Lift: ComponentType {
    /// The value of a dynamic [`Val`] of this type.
    fn lift(value: Val) -> Result<Self>;

    /// The value of an optional payload (`()` takes none).
    #[doc(hidden)]
    fn lift_payload(value: Option<Val>) -> Result<Self> {
        match value {
            Some(value) => Self::lift(value),
            None => Err(Error::Usage("a payload is missing".into())),
        }
    }
}

macro_rules! primitives {
    ($($rust:ty => $case:ident),* $(,)?) => {$(
        impl ComponentType for $rust {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::$case => Ok(()),
                    _ => Err(mismatch(stringify!($rust), ty)),
                }
            }
        }
        impl Lower for $rust {
            fn lower(&self) -> Val {
                Val::$case(self.clone())
            }
        }
        impl Lift for $rust {
            fn lift(value: Val) -> Result<Self> {
                match value {
                    Val::$case(x) => Ok(x),
                    other => Err(wrong_value(stringify!($rust), &other)),
                }
            }
        }
    )*};
}

primitives! {
    bool => Bool, i8 => S8, u8 => U8, i16 => S16, u16 => U16, i32 => S32, u32 => U32,
    i64 => S64, u64 => U64, f32 => Float32, f64 => Float64, char => Char, String => String,
}

impl<T: ComponentType> ComponentType for Vec<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::List(element) => T::typecheck(element),
            _ => Err(mismatch("Vec", ty)),
        }
    }
}

impl<T: Lower> Lower for Vec<T> {
    fn lower(&self) -> Val {
        Val::List(self.iter().map(Lower::lower).collect())
    }
}

impl<T: Lift> Lift for Vec<T> {
    fn lift(value: Val) -> Result<Self> {
        match value {
            Val::List(items) => items.into_iter().map(T::lift).collect(),
            other => Err(wrong_value("Vec", &other)),
        }
    }
}

impl<T: ComponentType> ComponentType for Option<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Option(inner) => T::typecheck(inner),
            _ => Err(mismatch("Option", ty)),
        }
    }
}

impl<T: Lower> Lower for Option<T> {
    fn lower(&self) -> Val {
        Val::Option(self.as_ref().map(|v| Box::new(v.lower())))
    }
}

impl<T: Lift> Lift for Option<T> {
    fn lift(value: Val) -> Result<Self> {
        match value {
            Val::Option(inner) => inner.map(|v| T::lift(*v)).transpose(),
            other => Err(wrong_value("Option", &other)),
        }
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for std::result::Result<T, E> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Result { ok, err } => {
                T::typecheck_payload(ok.as_deref())?;
                E::typecheck_payload(err.as_deref())
            }
            _ => Err(mismatch("Result", ty)),
        }
    }
}

impl<T: Lower, E: Lower> Lower for std::result::Result<T, E> {
    fn lower(&self) -> Val {
        Val::Result(match self {
            Ok(v) => Ok(v.lower_payload().map(Box::new)),
            Err(e) => Err(e.lower_payload().map(Box::new)),
        })
    }
}

impl<T: Lift, E: Lift> Lift for std::result::Result<T, E> {
    fn lift(value: Val) -> Result<Self> {
        match value {
            Val::Result(Ok(v)) => Ok(Ok(T::lift_payload(v.map(|v| *v))?)),
            Val::Result(Err(e)) => Ok(Err(E::lift_payload(e.map(|e| *e))?)),
            other => Err(wrong_value("Result", &other)),
        }
    }
}

impl ComponentType for ResourceAny {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Own(_) | Type::Borrow(_) => Ok(()),
            _ => Err(mismatch("ResourceAny", ty)),
        }
    }
}

impl Lower for ResourceAny {
    fn lower(&self) -> Val {
        Val::Resource(self.clone())
    }
}

impl Lift for ResourceAny {
    fn lift(value: Val) -> Result<Self> {
        match value {
            Val::Resource(r) => Ok(r),
            other => Err(wrong_value("ResourceAny", &other)),
        }
    }
}

/// The parameters of a typed function: a tuple of [`Lower`]/[`Lift`] values, one per
/// parameter (`()` for none).
pub trait ComponentParams: Sized {
    /// Checks the parameter types.
    fn typecheck_params(params: &[Type]) -> Result<()>;
    /// The parameters as dynamic values.
    fn lower_params(&self) -> Vec<Val>;
    /// The parameters of dynamic values.
    fn lift_params(values: &[Val]) -> Result<Self>;
}

/// The result of a typed function: `()` for none, or `(R,)` for one.
pub trait ComponentResults: Sized {
    /// Checks the result type.
    fn typecheck_result(result: Option<&Type>) -> Result<()>;
    /// The result as dynamic values (none or one).
    fn lower_results(&self) -> Vec<Val>;
    /// The result of dynamic values (none or one).
    fn lift_results(values: Vec<Val>) -> Result<Self>;
}

impl ComponentResults for () {
    fn typecheck_result(result: Option<&Type>) -> Result<()> {
        match result {
            None => Ok(()),
            Some(ty) => Err(mismatch("()", ty)),
        }
    }
    fn lower_results(&self) -> Vec<Val> {
        Vec::new()
    }
    fn lift_results(_: Vec<Val>) -> Result<Self> {
        Ok(())
    }
}

impl<R: Lower + Lift> ComponentResults for (R,) {
    fn typecheck_result(result: Option<&Type>) -> Result<()> {
        match result {
            Some(ty) => R::typecheck(ty),
            None => Err(Error::Usage(
                "type mismatch: the function has no result".into(),
            )),
        }
    }
    fn lower_results(&self) -> Vec<Val> {
        vec![self.0.lower()]
    }
    fn lift_results(values: Vec<Val>) -> Result<Self> {
        let value = values
            .into_iter()
            .next()
            .ok_or_else(|| Error::Usage("a result is missing".into()))?;
        Ok((R::lift(value)?,))
    }
}

/// 1, for counting a macro's repetitions.
macro_rules! one {
    ($x:tt) => {
        1usize
    };
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),*)),* $(,)?) => {$(
        impl<$($t: ComponentType),*> ComponentType for ($($t,)*) {
            fn typecheck(ty: &Type) -> Result<()> {
                let count = (0 $(+ one!($t))*);
                match ty {
                    Type::Tuple(types) if types.len() == count => {
                        $($t::typecheck(&types[$i])?;)*
                        let _ = types;
                        Ok(())
                    }
                    _ => Err(mismatch("a tuple", ty)),
                }
            }

            fn typecheck_payload(ty: Option<&Type>) -> Result<()> {
                match ty {
                    // `()` stands for an absent payload.
                    None if (0 $(+ one!($t))*) == 0 => Ok(()),
                    Some(ty) => Self::typecheck(ty),
                    None => Err(Error::Usage("type mismatch: a payload is absent".into())),
                }
            }
        }

        impl<$($t: Lower),*> Lower for ($($t,)*) {
            fn lower(&self) -> Val {
                Val::Tuple(vec![$(self.$i.lower()),*])
            }

            fn lower_payload(&self) -> Option<Val> {
                if (0 $(+ one!($t))*) == 0 { None } else { Some(self.lower()) }
            }
        }

        impl<$($t: Lift),*> Lift for ($($t,)*) {
            fn lift(value: Val) -> Result<Self> {
                match value {
                    Val::Tuple(items) if items.len() == (0 $(+ one!($t))*) => {
                        let mut items = items.into_iter();
                        let mut next = || {
                            items.next().ok_or_else(|| Error::Usage("a tuple is short".into()))
                        };
                        let _ = &mut next;
                        Ok(($($t::lift(next()?)?,)*))
                    }
                    other => Err(wrong_value("a tuple", &other)),
                }
            }

            fn lift_payload(value: Option<Val>) -> Result<Self> {
                match value {
                    None => Self::lift(Val::Tuple(Vec::new())),
                    Some(value) => Self::lift(value),
                }
            }
        }

        impl<$($t: Lower + Lift),*> ComponentParams for ($($t,)*) {
            fn typecheck_params(params: &[Type]) -> Result<()> {
                let count = (0 $(+ one!($t))*);
                if params.len() != count {
                    return Err(Error::Usage(format!(
                        "type mismatch: {count} parameters given for {}", params.len()
                    )));
                }
                $($t::typecheck(&params[$i])?;)*
                Ok(())
            }

            fn lower_params(&self) -> Vec<Val> {
                vec![$(self.$i.lower()),*]
            }

            fn lift_params(values: &[Val]) -> Result<Self> {
                let count = (0 $(+ one!($t))*);
                if values.len() != count {
                    return Err(Error::Usage(format!(
                        "expected {count} values, got {}", values.len()
                    )));
                }
                Ok(($($t::lift(values[$i].clone())?,)*))
            }
        }
    )*};
}

tuples! {
    (),
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
}

/// A component function with its parameter and result types checked once: call it with Rust
/// values. Made by [`Instance::get_typed_func`](super::Instance::get_typed_func).
pub struct TypedFunc<Params, Results> {
    func: Func,
    _types: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        TypedFunc {
            func: self.func.clone(),
            _types: PhantomData,
        }
    }
}

impl<Params: ComponentParams, Results: ComponentResults> TypedFunc<Params, Results> {
    /// `func` as a typed function, if its type is `Params -> Results`.
    pub(super) fn new(func: Func) -> Result<Self> {
        check_type::<Params, Results>(func.ty())?;
        Ok(TypedFunc {
            func,
            _types: PhantomData,
        })
    }

    /// Calls the function.
    pub fn call<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        params: Params,
    ) -> Result<Results> {
        let values = params.lower_params();
        let mut results = vec![Val::Bool(false); usize::from(self.func.ty().result.is_some())];
        self.func.call(store, &values, &mut results)?;
        Results::lift_results(results)
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

/// Checks that `ty` is `Params -> Results`.
pub(super) fn check_type<Params: ComponentParams, Results: ComponentResults>(
    ty: &FuncType,
) -> Result<()> {
    let params: Vec<Type> = ty.params.iter().map(|(_, t)| t.clone()).collect();
    Params::typecheck_params(&params)?;
    Results::typecheck_result(ty.result.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_round_trip_through_val() {
        let value: (u32, String, Vec<Option<char>>, std::result::Result<(), i64>) =
            (7, "héllo".into(), vec![Some('x'), None], Err(-3));
        let back =
            <(u32, String, Vec<Option<char>>, std::result::Result<(), i64>)>::lift(value.lower())
                .unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn unit_stands_for_an_absent_result_payload() {
        let ty = Type::Result {
            ok: None,
            err: Some(std::sync::Arc::new(Type::String)),
        };
        <std::result::Result<(), String>>::typecheck(&ty).unwrap();
        assert!(<std::result::Result<u32, String>>::typecheck(&ty).is_err());
        assert_eq!(
            <std::result::Result<(), String>>::lower(&Ok(())),
            Val::Result(Ok(None))
        );
    }

    #[test]
    fn a_value_of_another_type_is_an_error_not_a_panic() {
        assert!(u32::lift(Val::String("no".into())).is_err());
        assert!(<(u8, u8)>::lift(Val::Tuple(vec![Val::U8(1)])).is_err());
    }
}
