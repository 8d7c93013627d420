//! Component value types as ward represents them ([`Type`], [`FuncType`]), converted once from the
//! types wasmparser's validator found, so that lifting, lowering and [`Val`](super::Val) checks never
//! consult the validator again.
//!
//! Types are trees with shared subtrees (`Arc`): the validator bounds a type's effective size, and the
//! conversion memoises each defined type, so a type used many times is converted once. Used by
//! `parse` (while walking a component) and `abi` (sizes, alignments, flattening).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use wasmparser::PrimitiveValType;
use wasmparser::component_types::{
    ComponentDefinedType, ComponentDefinedTypeId, ComponentFuncTypeId, ComponentValType,
};
use wasmparser::types::TypesRef;

use super::kebab::Names;
use crate::{Error, Result};

/// The type of a component value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    Float32,
    /// `f64`
    Float64,
    /// `char`: a Unicode scalar value.
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(Arc<Type>),
    /// `map<K, V>`: key-value pairs in order (duplicates kept), laid out as
    /// `list<tuple<K, V>>`.
    Map(Arc<(Type, Type)>),
    /// `record { name: T, … }`
    Record(Arc<[(String, Type)]>),
    /// `tuple<T, …>`
    Tuple(Arc<[Type]>),
    /// `variant { case(T)?, … }`
    Variant(Arc<[(String, Option<Type>)]>),
    /// `enum { case, … }`
    Enum(Arc<[String]>),
    /// `option<T>`
    Option(Arc<Type>),
    /// `result<T?, E?>`
    Result {
        /// The `ok` payload, if any.
        ok: Option<Arc<Type>>,
        /// The `error` payload, if any.
        err: Option<Arc<Type>>,
    },
    /// `flags { name, … }`
    Flags(Arc<[String]>),
    /// `own<R>`: an owned handle to a resource.
    Own(ResourceType),
    /// `borrow<R>`: a borrowed handle to a resource.
    Borrow(ResourceType),
}

/// A resource type as the component's definitions name it (not yet a runtime type: each
/// instantiation of a component defining a resource makes a fresh one).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceType(pub(crate) wasmparser::component_types::ResourceId);

impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("resource")
    }
}

/// The type of a component function: named parameters and at most one result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncType {
    pub(crate) params: Arc<[(String, Type)]>,
    pub(crate) result: Option<Type>,
    /// Marked `async`: a synchronous task may not call it before it returns (it might block).
    pub(crate) is_async: bool,
}

impl FuncType {
    /// The parameters, with their names.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &Type)> + '_ {
        self.params.iter().map(|(name, ty)| (name.as_str(), ty))
    }

    /// The result type, if the function returns one.
    pub fn result(&self) -> Option<&Type> {
        self.result.as_ref()
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &mut dyn Iterator<Item = String>| {
            let items: Vec<String> = items.collect();
            f.write_str(&items.join(", "))
        };
        match self {
            Type::Bool => f.write_str("bool"),
            Type::S8 => f.write_str("s8"),
            Type::U8 => f.write_str("u8"),
            Type::S16 => f.write_str("s16"),
            Type::U16 => f.write_str("u16"),
            Type::S32 => f.write_str("s32"),
            Type::U32 => f.write_str("u32"),
            Type::S64 => f.write_str("s64"),
            Type::U64 => f.write_str("u64"),
            Type::Float32 => f.write_str("f32"),
            Type::Float64 => f.write_str("f64"),
            Type::Char => f.write_str("char"),
            Type::String => f.write_str("string"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Map(kv) => write!(f, "map<{}, {}>", kv.0, kv.1),
            Type::Record(fields) => {
                f.write_str("record { ")?;
                list(f, &mut fields.iter().map(|(n, t)| format!("{n}: {t}")))?;
                f.write_str(" }")
            }
            Type::Tuple(types) => {
                f.write_str("tuple<")?;
                list(f, &mut types.iter().map(|t| t.to_string()))?;
                f.write_str(">")
            }
            Type::Variant(cases) => {
                f.write_str("variant { ")?;
                list(
                    f,
                    &mut cases.iter().map(|(n, t)| match t {
                        Some(t) => format!("{n}({t})"),
                        None => n.clone(),
                    }),
                )?;
                f.write_str(" }")
            }
            Type::Enum(cases) => write!(f, "enum {{ {} }}", cases.join(", ")),
            Type::Option(t) => write!(f, "option<{t}>"),
            Type::Result { ok, err } => {
                let part =
                    |t: &Option<Arc<Type>>| t.as_ref().map_or("_".to_string(), |t| t.to_string());
                write!(f, "result<{}, {}>", part(ok), part(err))
            }
            Type::Flags(names) => write!(f, "flags {{ {} }}", names.join(", ")),
            Type::Own(_) => f.write_str("own<resource>"),
            Type::Borrow(_) => f.write_str("borrow<resource>"),
        }
    }
}

/// Converts the validator's component types into [`Type`]s, remembering each defined type it has
/// converted.
pub(crate) struct TypeConverter {
    defined: HashMap<ComponentDefinedTypeId, Type>,
    /// Whether the validator saw the component's names or encoded ones (see `kebab`).
    names: Names,
}

/// Why a type cannot be used by ward yet: the async ABI's types, and the proposals ward does not
/// implement. Reported as [`Error::Unsupported`] at `offset`.
fn unsupported(feature: &str, offset: usize) -> Error {
    Error::Unsupported {
        feature: feature.to_string(),
        offset,
    }
}

impl TypeConverter {
    pub(crate) fn new(names: Names) -> Self {
        TypeConverter {
            defined: HashMap::new(),
            names,
        }
    }

    /// The function type `id`; `offset` locates errors.
    pub(crate) fn func(
        &mut self,
        types: TypesRef<'_>,
        id: ComponentFuncTypeId,
        offset: usize,
    ) -> Result<FuncType> {
        let ty = types
            .get(id)
            .ok_or_else(|| internal("function type", offset))?;
        let params = ty
            .params
            .iter()
            .map(|(name, t)| Ok((self.names.restore(name), self.val(types, *t, offset)?)))
            .collect::<Result<Vec<_>>>()?;
        let result = ty.result.map(|t| self.val(types, t, offset)).transpose()?;
        Ok(FuncType {
            params: params.into(),
            result,
            is_async: ty.async_,
        })
    }

    /// The value type `ty`.
    pub(crate) fn val(
        &mut self,
        types: TypesRef<'_>,
        ty: ComponentValType,
        offset: usize,
    ) -> Result<Type> {
        match ty {
            ComponentValType::Primitive(p) => primitive(p, offset),
            ComponentValType::Type(id) => self.defined(types, id, offset),
        }
    }

    fn defined(
        &mut self,
        types: TypesRef<'_>,
        id: ComponentDefinedTypeId,
        offset: usize,
    ) -> Result<Type> {
        if let Some(done) = self.defined.get(&id) {
            return Ok(done.clone());
        }
        let def = types
            .get(id)
            .ok_or_else(|| internal("defined type", offset))?;
        let converted = match def {
            ComponentDefinedType::Primitive(p) => primitive(*p, offset)?,
            ComponentDefinedType::Record(record) => Type::Record(
                record
                    .fields
                    .iter()
                    .map(|(name, t)| Ok((self.names.restore(name), self.val(types, *t, offset)?)))
                    .collect::<Result<Vec<_>>>()?
                    .into(),
            ),
            ComponentDefinedType::Variant(variant) => Type::Variant(
                variant
                    .cases
                    .iter()
                    .map(|(name, case)| {
                        let ty = case.ty.map(|t| self.val(types, t, offset)).transpose()?;
                        Ok((self.names.restore(name), ty))
                    })
                    .collect::<Result<Vec<_>>>()?
                    .into(),
            ),
            ComponentDefinedType::List { element, .. } => {
                Type::List(Arc::new(self.val(types, *element, offset)?))
            }
            ComponentDefinedType::Tuple(tuple) => Type::Tuple(
                tuple
                    .types
                    .iter()
                    .map(|t| self.val(types, *t, offset))
                    .collect::<Result<Vec<_>>>()?
                    .into(),
            ),
            ComponentDefinedType::Flags(names) => {
                Type::Flags(names.iter().map(|n| self.names.restore(n)).collect())
            }
            ComponentDefinedType::Enum(names) => {
                Type::Enum(names.iter().map(|n| self.names.restore(n)).collect())
            }
            ComponentDefinedType::Option { ty, .. } => {
                Type::Option(Arc::new(self.val(types, *ty, offset)?))
            }
            ComponentDefinedType::Result { ok, err, .. } => Type::Result {
                ok: ok
                    .map(|t| self.val(types, t, offset).map(Arc::new))
                    .transpose()?,
                err: err
                    .map(|t| self.val(types, t, offset).map(Arc::new))
                    .transpose()?,
            },
            ComponentDefinedType::Own(resource) => Type::Own(ResourceType(resource.resource())),
            ComponentDefinedType::Borrow(resource) => {
                Type::Borrow(ResourceType(resource.resource()))
            }
            ComponentDefinedType::Future { .. } => {
                return Err(unsupported("async: the `future` type", offset));
            }
            ComponentDefinedType::Stream { .. } => {
                return Err(unsupported("async: the `stream` type", offset));
            }
            ComponentDefinedType::Map { key, value, .. } => Type::Map(Arc::new((
                self.val(types, *key, offset)?,
                self.val(types, *value, offset)?,
            ))),
            ComponentDefinedType::FixedLengthList { .. } => {
                return Err(unsupported("fixed-length lists", offset));
            }
        };
        self.defined.insert(id, converted.clone());
        Ok(converted)
    }
}

fn primitive(p: PrimitiveValType, offset: usize) -> Result<Type> {
    Ok(match p {
        PrimitiveValType::Bool => Type::Bool,
        PrimitiveValType::S8 => Type::S8,
        PrimitiveValType::U8 => Type::U8,
        PrimitiveValType::S16 => Type::S16,
        PrimitiveValType::U16 => Type::U16,
        PrimitiveValType::S32 => Type::S32,
        PrimitiveValType::U32 => Type::U32,
        PrimitiveValType::S64 => Type::S64,
        PrimitiveValType::U64 => Type::U64,
        PrimitiveValType::F32 => Type::Float32,
        PrimitiveValType::F64 => Type::Float64,
        PrimitiveValType::Char => Type::Char,
        PrimitiveValType::String => Type::String,
        PrimitiveValType::ErrorContext => {
            return Err(unsupported("async: the `error-context` type", offset));
        }
    })
}

pub(super) fn internal(what: &str, offset: usize) -> Error {
    Error::Invalid {
        message: format!("internal error: the validator has no {what} here"),
        offset,
    }
}
