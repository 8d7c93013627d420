//! Lists of numbers (`list<u8>` … `list<f64>`, and `list<bool>` when lifted) moved as one block
//! of bytes rather than value by value: the `component/echo-large` benchmark (1,024 `u32`s in and
//! out) spent most of its time in per-element memory lookups and bounds checks. The results are
//! those of `abi::load`/`abi::store` element by element. Used by `abi`.

use super::types::Type;
use super::val::Val;
use crate::{Error, Result};

/// The values of a list of `element`s laid out in `bytes` (exactly `len × size` of them), or
/// `None` if `element` is not a number type.
pub(super) fn decode(bytes: &[u8], element: &Type) -> Option<Vec<Val>> {
    fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> Val) -> Vec<Val> {
        bytes
            .chunks_exact(N)
            .map(|chunk| f(chunk.try_into().expect("chunks of N bytes")))
            .collect()
    }
    Some(match element {
        Type::Bool => bytes.iter().map(|b| Val::Bool(*b != 0)).collect(),
        Type::U8 => bytes.iter().map(|b| Val::U8(*b)).collect(),
        Type::S8 => bytes.iter().map(|b| Val::S8(*b as i8)).collect(),
        Type::U16 => each(bytes, |b| Val::U16(u16::from_le_bytes(b))),
        Type::S16 => each(bytes, |b| Val::S16(i16::from_le_bytes(b))),
        Type::U32 => each(bytes, |b| Val::U32(u32::from_le_bytes(b))),
        Type::S32 => each(bytes, |b| Val::S32(i32::from_le_bytes(b))),
        Type::U64 => each(bytes, |b| Val::U64(u64::from_le_bytes(b))),
        Type::S64 => each(bytes, |b| Val::S64(i64::from_le_bytes(b))),
        Type::Float32 => each(bytes, |b| Val::Float32(f32::from_le_bytes(b))),
        Type::Float64 => each(bytes, |b| Val::Float64(f64::from_le_bytes(b))),
        _ => return None,
    })
}

/// The bytes of a list of number `element`s, or `None` if `element` is not a number type; an
/// item of another type is an error.
pub(super) fn encode(items: &[Val], element: &Type) -> Option<Result<Vec<u8>>> {
    let width = match element {
        Type::U8 | Type::S8 => 1,
        Type::U16 | Type::S16 => 2,
        Type::U32 | Type::S32 | Type::Float32 => 4,
        Type::U64 | Type::S64 | Type::Float64 => 8,
        _ => return None,
    };
    let mut out = Vec::with_capacity(items.len() * width);
    for item in items {
        match (element, item) {
            (Type::U8, Val::U8(x)) => out.push(*x),
            (Type::S8, Val::S8(x)) => out.push(*x as u8),
            (Type::U16, Val::U16(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::S16, Val::S16(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::U32, Val::U32(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::S32, Val::S32(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::U64, Val::U64(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::S64, Val::S64(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::Float32, Val::Float32(x)) => out.extend_from_slice(&x.to_le_bytes()),
            (Type::Float64, Val::Float64(x)) => out.extend_from_slice(&x.to_le_bytes()),
            _ => {
                return Some(Err(Error::Usage(format!(
                    "expected a value of type {element}, got {item:?}"
                ))));
            }
        }
    }
    Some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode_little_endian_and_encode_back() {
        let bytes = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let values = decode(&bytes, &Type::S32).unwrap();
        assert_eq!(values, [Val::S32(1), Val::S32(-1)]);
        assert_eq!(encode(&values, &Type::S32).unwrap().unwrap(), bytes);
        assert!(decode(&bytes, &Type::String).is_none());
        assert!(encode(&values, &Type::U32).unwrap().is_err());
    }
}
