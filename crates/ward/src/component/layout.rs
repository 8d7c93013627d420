//! Where the canonical ABI puts values: sizes and alignments in linear memory, and the core value
//! types a value flattens to (a variant's cases joined slot by slot). Used by `abi` and `func`.

use super::types::Type;
use crate::ValType;

pub(super) fn align_to(offset: u32, align: u32) -> u32 {
    offset.div_ceil(align) * align
}

/// The integer type a variant's discriminant is stored as: its size in bytes.
pub(super) fn discriminant_size(cases: usize) -> u32 {
    if cases <= 1 << 8 {
        1
    } else if cases <= 1 << 16 {
        2
    } else {
        4
    }
}

/// Cases of the variant-like types, as `Option<&Type>` payloads.
pub(super) fn cases(ty: &Type) -> Option<Vec<Option<&Type>>> {
    Some(match ty {
        Type::Variant(cases) => cases.iter().map(|(_, t)| t.as_ref()).collect(),
        Type::Enum(names) => names.iter().map(|_| None).collect(),
        Type::Option(t) => vec![None, Some(&**t)],
        Type::Result { ok, err } => vec![ok.as_deref(), err.as_deref()],
        _ => return None,
    })
}

pub(super) fn flags_size(count: usize) -> u32 {
    match count {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        n => 4 * (n as u32).div_ceil(32),
    }
}

/// The alignment of `ty` in memory.
pub(crate) fn alignment(ty: &Type) -> u32 {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => 1,
        Type::S16 | Type::U16 => 2,
        Type::S32 | Type::U32 | Type::Float32 | Type::Char => 4,
        Type::S64 | Type::U64 | Type::Float64 => 8,
        Type::String | Type::List(_) | Type::Map(_) => 4,
        Type::Own(_) | Type::Borrow(_) => 4,
        Type::Record(fields) => fields.iter().map(|(_, t)| alignment(t)).max().unwrap_or(1),
        Type::Tuple(types) => types.iter().map(alignment).max().unwrap_or(1),
        Type::Flags(names) => match flags_size(names.len()) {
            0 | 1 => 1,
            2 => 2,
            _ => 4,
        },
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            let cases = cases(ty).expect("variant-like");
            let payload = cases
                .iter()
                .flatten()
                .map(|t| alignment(t))
                .max()
                .unwrap_or(1);
            discriminant_size(cases.len()).max(payload)
        }
    }
}

/// The size of `ty` in memory.
pub(crate) fn size(ty: &Type) -> u32 {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => 1,
        Type::S16 | Type::U16 => 2,
        Type::S32 | Type::U32 | Type::Float32 | Type::Char => 4,
        Type::S64 | Type::U64 | Type::Float64 => 8,
        Type::String | Type::List(_) | Type::Map(_) => 8,
        Type::Own(_) | Type::Borrow(_) => 4,
        Type::Record(fields) => record_size(fields.iter().map(|(_, t)| t), alignment(ty)),
        Type::Tuple(types) => record_size(types.iter(), alignment(ty)),
        Type::Flags(names) => flags_size(names.len()),
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            let cases = cases(ty).expect("variant-like");
            let mut s = discriminant_size(cases.len());
            s = align_to(s, max_case_alignment(&cases));
            s += cases.iter().flatten().map(|t| size(t)).max().unwrap_or(0);
            align_to(s, alignment(ty))
        }
    }
}

pub(super) fn max_case_alignment(cases: &[Option<&Type>]) -> u32 {
    cases
        .iter()
        .flatten()
        .map(|t| alignment(t))
        .max()
        .unwrap_or(1)
}

fn record_size<'a>(fields: impl Iterator<Item = &'a Type>, align: u32) -> u32 {
    let mut s = 0;
    for t in fields {
        s = align_to(s, alignment(t)) + size(t);
    }
    align_to(s, align)
}

/// The core value types `ty` flattens to.
pub(crate) fn flatten(ty: &Type, out: &mut Vec<ValType>) {
    match ty {
        Type::Bool
        | Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::Char
        | Type::Enum(_)
        | Type::Own(_)
        | Type::Borrow(_) => out.push(ValType::I32),
        Type::S64 | Type::U64 => out.push(ValType::I64),
        Type::Float32 => out.push(ValType::F32),
        Type::Float64 => out.push(ValType::F64),
        Type::String | Type::List(_) | Type::Map(_) => out.extend([ValType::I32, ValType::I32]),
        Type::Record(fields) => fields.iter().for_each(|(_, t)| flatten(t, out)),
        Type::Tuple(types) => types.iter().for_each(|t| flatten(t, out)),
        Type::Flags(names) => {
            let words = (names.len() as u32).div_ceil(32).max(1);
            out.extend((0..words).map(|_| ValType::I32));
        }
        Type::Variant(_) | Type::Option(_) | Type::Result { .. } => {
            let cases = cases(ty).expect("variant-like");
            let mut joined: Vec<ValType> = Vec::new();
            for case in cases.iter().flatten() {
                let mut flat = Vec::new();
                flatten(case, &mut flat);
                for (i, t) in flat.into_iter().enumerate() {
                    match joined.get_mut(i) {
                        Some(existing) => *existing = join(*existing, t),
                        None => joined.push(t),
                    }
                }
            }
            out.push(ValType::I32);
            out.extend(joined);
        }
    }
}

fn join(a: ValType, b: ValType) -> ValType {
    if a == b {
        a
    } else if matches!(
        (a, b),
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32)
    ) {
        ValType::I32
    } else {
        ValType::I64
    }
}

/// The flat core types of a list of values.
pub(crate) fn flatten_all<'a>(types: impl Iterator<Item = &'a Type>) -> Vec<ValType> {
    let mut out = Vec::new();
    for t in types {
        flatten(t, &mut out);
    }
    out
}
