//! What the expansions of the derive macros and `flags!` (crate `ward-component-macro`) call,
//! re-exported as the hidden `ward::component::__internal`: checks of a component [`Type`]
//! against a derived Rust shape (names and order of a record's fields, a variant's, enum's or
//! flags type's cases), and conversions between [`Val`]s and derived values. Keeping this here
//! keeps each expansion small. Errors name the Rust type and the first difference; a value a
//! guest sent is checked again, so a mismatch is an error, never a panic. Depends on `types`
//! and `val`; used only by macro expansions.

use std::fmt;

use super::types::Type;
use super::val::Val;
use crate::{Error, Result};

/// The type check of a field's or payload's Rust type.
pub type Typecheck = fn(&Type) -> Result<()>;

fn mismatch(rust: &str, ty: &Type, why: impl fmt::Display) -> Error {
    Error::Usage(format!(
        "type mismatch: {rust} is not the component type {ty}: {why}"
    ))
}

fn wrong_value(rust: &str, value: &Val) -> Error {
    Error::Usage(format!("expected a value for {rust}, got {value:?}"))
}

/// Checks that names `actual` are `expected`, in order.
fn same_names<'a>(
    rust: &str,
    ty: &Type,
    what: &str,
    expected: impl ExactSizeIterator<Item = &'a str>,
    actual: impl ExactSizeIterator<Item = &'a str>,
) -> Result<()> {
    if expected.len() != actual.len() {
        return Err(mismatch(
            rust,
            ty,
            format!(
                "{} {what} in Rust, {} in the type",
                expected.len(),
                actual.len()
            ),
        ));
    }
    for (rust_name, type_name) in expected.zip(actual) {
        if rust_name != type_name {
            return Err(mismatch(
                rust,
                ty,
                format!("{what} `{rust_name}` in Rust, `{type_name}` in the type"),
            ));
        }
    }
    Ok(())
}

/// Checks a record type: the same field names in the same order, each of its Rust type.
pub fn typecheck_record(ty: &Type, rust: &str, fields: &[(&str, Typecheck)]) -> Result<()> {
    let Type::Record(types) = ty else {
        return Err(mismatch(rust, ty, "not a record"));
    };
    same_names(
        rust,
        ty,
        "fields",
        fields.iter().map(|(name, _)| *name),
        types.iter().map(|(name, _)| name.as_str()),
    )?;
    for ((_, check), (_, field)) in fields.iter().zip(types.iter()) {
        check(field)?;
    }
    Ok(())
}

/// Checks a variant type: the same case names in the same order, each with a payload exactly
/// when the Rust case has one, of its Rust type.
pub fn typecheck_variant(ty: &Type, rust: &str, cases: &[(&str, Option<Typecheck>)]) -> Result<()> {
    let Type::Variant(types) = ty else {
        return Err(mismatch(rust, ty, "not a variant"));
    };
    same_names(
        rust,
        ty,
        "cases",
        cases.iter().map(|(name, _)| *name),
        types.iter().map(|(name, _)| name.as_str()),
    )?;
    for ((name, check), (_, payload)) in cases.iter().zip(types.iter()) {
        match (check, payload) {
            (Some(check), Some(payload)) => check(payload)?,
            (None, None) => {}
            (Some(_), None) => {
                return Err(mismatch(rust, ty, format!("case `{name}` has no payload")));
            }
            (None, Some(_)) => {
                return Err(mismatch(rust, ty, format!("case `{name}` has a payload")));
            }
        }
    }
    Ok(())
}

/// Checks an enum type: the same case names in the same order.
pub fn typecheck_enum(ty: &Type, rust: &str, cases: &[&str]) -> Result<()> {
    let Type::Enum(names) = ty else {
        return Err(mismatch(rust, ty, "not an enum"));
    };
    same_names(
        rust,
        ty,
        "cases",
        cases.iter().copied(),
        names.iter().map(String::as_str),
    )
}

/// Checks a flags type: the same flag names in the same order.
pub fn typecheck_flags(ty: &Type, rust: &str, flags: &[&str]) -> Result<()> {
    let Type::Flags(names) = ty else {
        return Err(mismatch(rust, ty, "not a flags type"));
    };
    same_names(
        rust,
        ty,
        "flags",
        flags.iter().copied(),
        names.iter().map(String::as_str),
    )
}

/// A record value of named fields.
pub fn record(fields: Vec<(&str, Val)>) -> Val {
    Val::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

/// The field values of a record value, checked to have fields `names` in order.
pub fn record_fields<const N: usize>(
    value: Val,
    rust: &str,
    names: &[&str; N],
) -> Result<[Val; N]> {
    let Val::Record(fields) = value else {
        return Err(wrong_value(rust, &value));
    };
    let same = fields.len() == N && fields.iter().zip(names).all(|((a, _), b)| a == b);
    if !same {
        return Err(wrong_value(rust, &Val::Record(fields)));
    }
    let values: Vec<Val> = fields.into_iter().map(|(_, value)| value).collect();
    values
        .try_into()
        .map_err(|_| Error::Usage(format!("a record value for {rust} is short")))
}

/// A variant value of case `name`.
pub fn variant(name: &str, payload: Option<Val>) -> Val {
    Val::Variant(name.to_string(), payload.map(Box::new))
}

/// The case name and payload of a variant value.
pub fn variant_case(value: Val, rust: &str) -> Result<(String, Option<Val>)> {
    match value {
        Val::Variant(name, payload) => Ok((name, payload.map(|p| *p))),
        other => Err(wrong_value(rust, &other)),
    }
}

/// The payload of case `case`, which must have one.
pub fn payload(payload: Option<Val>, rust: &str, case: &str) -> Result<Val> {
    payload.ok_or_else(|| Error::Usage(format!("case `{case}` of {rust} has no payload")))
}

/// Checks that case `case` has no payload.
pub fn no_payload(payload: Option<Val>, rust: &str, case: &str) -> Result<()> {
    match payload {
        None => Ok(()),
        Some(_) => Err(Error::Usage(format!(
            "case `{case}` of {rust} has a payload"
        ))),
    }
}

/// The error for a case name the Rust type does not have.
pub fn unknown_case(rust: &str, case: &str) -> Error {
    Error::Usage(format!("{rust} has no case `{case}`"))
}

/// An enum value of case `name`.
pub fn enum_case(name: &str) -> Val {
    Val::Enum(name.to_string())
}

/// The case name of an enum value.
pub fn enum_name(value: Val, rust: &str) -> Result<String> {
    match value {
        Val::Enum(name) => Ok(name),
        other => Err(wrong_value(rust, &other)),
    }
}

/// The flags value of `bits` (bit `i` for `names[i]`).
pub fn flags(names: &[&str], bits: u32) -> Val {
    Val::Flags(
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, name)| name.to_string())
            .collect(),
    )
}

/// The bits of a flags value (bit `i` for `names[i]`); a flag the Rust type lacks is an error.
pub fn flag_bits(value: Val, rust: &str, names: &[&str]) -> Result<u32> {
    let Val::Flags(set) = value else {
        return Err(wrong_value(rust, &value));
    };
    let mut bits = 0u32;
    for flag in &set {
        let index = names
            .iter()
            .position(|name| name == flag)
            .filter(|i| *i < 32)
            .ok_or_else(|| Error::Usage(format!("{rust} has no flag `{flag}`")))?;
        bits |= 1 << index;
    }
    Ok(bits)
}

/// Formats flags as `Name(A | B)`.
pub fn fmt_flags(f: &mut fmt::Formatter<'_>, rust: &str, names: &[&str], bits: u32) -> fmt::Result {
    let set: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, name)| *name)
        .collect();
    write!(f, "{rust}({})", set.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_must_match_in_name_and_order() {
        let value = record(vec![("a", Val::U32(1)), ("b", Val::Bool(true))]);
        let [a, b] = record_fields(value.clone(), "R", &["a", "b"]).unwrap();
        assert_eq!((a, b), (Val::U32(1), Val::Bool(true)));
        assert!(record_fields(value.clone(), "R", &["b", "a"]).is_err());
        assert!(record_fields(value, "R", &["a"]).is_err());
    }

    #[test]
    fn flags_keep_their_bit_positions() {
        let names = ["read", "write", "exec"];
        let value = flags(&names, 0b101);
        assert_eq!(value, Val::Flags(vec!["read".into(), "exec".into()]));
        assert_eq!(flag_bits(value, "F", &names).unwrap(), 0b101);
        let err = flag_bits(Val::Flags(vec!["other".into()]), "F", &names).unwrap_err();
        assert!(err.to_string().contains("no flag `other`"), "{err}");
    }
}
