//! [`Val`]: a component value of any type, for dynamically typed calls (`Func::call`) and the spec
//! runner. Checked against a [`Type`] with [`Val::check`]. Used by `abi` (lifting and lowering) and
//! `instance` (calls).

use super::resources::ResourceAny;
use super::types::Type;
use crate::{Error, Result};

/// A component value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Val {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`
    Float32(f32),
    /// `f64`
    Float64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>`
    List(Vec<Val>),
    /// `map<K, V>`: key-value pairs in order.
    Map(Vec<(Val, Val)>),
    /// `record`: fields in the type's order, with their names.
    Record(Vec<(String, Val)>),
    /// `tuple`
    Tuple(Vec<Val>),
    /// `variant`: the case name and its payload.
    Variant(String, Option<Box<Val>>),
    /// `enum`: the case name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Val>>),
    /// `result<T, E>`
    Result(std::result::Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags`: the names of the flags that are set.
    Flags(Vec<String>),
    /// `own<R>` or `borrow<R>`: a resource.
    Resource(ResourceAny),
}

impl Val {
    /// Checks that the value has type `ty`; the error names the first mismatch.
    pub fn check(&self, ty: &Type) -> Result<()> {
        let mismatch = || Error::Usage(format!("expected a value of type {ty}, got {self:?}"));
        let ok = match (self, ty) {
            (Val::Bool(_), Type::Bool)
            | (Val::S8(_), Type::S8)
            | (Val::U8(_), Type::U8)
            | (Val::S16(_), Type::S16)
            | (Val::U16(_), Type::U16)
            | (Val::S32(_), Type::S32)
            | (Val::U32(_), Type::U32)
            | (Val::S64(_), Type::S64)
            | (Val::U64(_), Type::U64)
            | (Val::Float32(_), Type::Float32)
            | (Val::Float64(_), Type::Float64)
            | (Val::Char(_), Type::Char)
            | (Val::String(_), Type::String) => true,
            (Val::List(items), Type::List(element)) => {
                for item in items {
                    item.check(element)?;
                }
                true
            }
            (Val::Map(pairs), Type::Map(kv)) => {
                for (key, value) in pairs {
                    key.check(&kv.0)?;
                    value.check(&kv.1)?;
                }
                true
            }
            (Val::Record(values), Type::Record(fields)) => {
                if values.len() != fields.len() {
                    return Err(mismatch());
                }
                for ((name, value), (field, ty)) in values.iter().zip(fields.iter()) {
                    if name != field {
                        return Err(mismatch());
                    }
                    value.check(ty)?;
                }
                true
            }
            (Val::Tuple(values), Type::Tuple(types)) => {
                if values.len() != types.len() {
                    return Err(mismatch());
                }
                for (value, ty) in values.iter().zip(types.iter()) {
                    value.check(ty)?;
                }
                true
            }
            (Val::Variant(name, payload), Type::Variant(cases)) => {
                let Some((_, case)) = cases.iter().find(|(n, _)| n == name) else {
                    return Err(mismatch());
                };
                check_payload(payload.as_deref(), case.as_ref())?
            }
            (Val::Enum(name), Type::Enum(cases)) => cases.contains(name),
            (Val::Option(value), Type::Option(ty)) => match value {
                None => true,
                Some(value) => {
                    value.check(ty)?;
                    true
                }
            },
            (Val::Result(value), Type::Result { ok, err }) => match value {
                Ok(payload) => check_payload(payload.as_deref(), ok.as_deref())?,
                Err(payload) => check_payload(payload.as_deref(), err.as_deref())?,
            },
            (Val::Flags(set), Type::Flags(names)) => set.iter().all(|n| names.contains(n)),
            (Val::Resource(r), Type::Own(_)) => r.owned(),
            (Val::Resource(_), Type::Borrow(_)) => true,
            _ => false,
        };
        if ok { Ok(()) } else { Err(mismatch()) }
    }
}

fn check_payload(value: Option<&Val>, ty: Option<&Type>) -> Result<bool> {
    match (value, ty) {
        (None, None) => Ok(true),
        (Some(value), Some(ty)) => value.check(ty).map(|()| true),
        _ => Ok(false),
    }
}
