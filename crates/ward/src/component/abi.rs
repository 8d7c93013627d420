//! The canonical ABI for synchronous calls: how component values ([`Val`]) are laid out in linear
//! memory (sizes, alignments, `load`/`store`) and in core values (flattening, `lift_flat`/
//! `lower_flat`), following the component model's `CanonicalABI.md`.
//!
//! Layout is in `layout` and strings in `strings`. Memory is reached through [`GuestMemory`]
//! (`guest`), so the rules are tested here on a plain byte vector; `func` implements it over a
//! store's memory and the `realloc` function. Traps the ABI requires
//! (invalid `char`s, bad UTF-8, out-of-bounds or misaligned strings and lists, bad discriminants)
//! are [`AbiTrap`] errors. `own` and `borrow` handles go through the instance's handle table, which
//! [`GuestMemory`] reaches too (`resources`).

pub(crate) use super::guest::GuestMemory;
pub(crate) use super::layout::{alignment, flatten, flatten_all, size};

use super::definition::StringEncoding;
use super::errors::trap;
use super::guest::{
    Allocation, allocate, read_bytes, read_u32, read_uint, write_bytes, write_uint,
};
use super::layout::{align_to, cases, discriminant_size, flags_size, max_case_alignment};
use super::number_lists;
use super::strings::{load_string_from, store_string_into};
use super::types::Type;
use super::val::Val;
use crate::{Error, Result, ValType};

/// Most core parameters a function passes flat; beyond, they go through memory.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// Most core results a function returns flat; beyond, they go through memory.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;
/// A core value as a raw 64-bit payload, so that a variant's joined slots can be reinterpreted.
fn raw_of(v: &crate::Val) -> u64 {
    match v {
        crate::Val::I32(x) => *x as u32 as u64,
        crate::Val::I64(x) => *x as u64,
        crate::Val::F32(bits) => *bits as u64,
        crate::Val::F64(bits) => *bits,
        _ => 0,
    }
}

fn core_of(ty: ValType, raw: u64) -> crate::Val {
    match ty {
        ValType::I64 => crate::Val::I64(raw as i64),
        ValType::F32 => crate::Val::F32(raw as u32),
        ValType::F64 => crate::Val::F64(raw),
        _ => crate::Val::I32(raw as u32 as i32),
    }
}

/// Reads flat core values in order.
pub(crate) struct FlatReader<'a> {
    values: &'a [crate::Val],
    next: usize,
}

impl<'a> FlatReader<'a> {
    pub(crate) fn new(values: &'a [crate::Val]) -> Self {
        FlatReader { values, next: 0 }
    }

    fn raw(&mut self) -> Result<u64> {
        let v = self.values.get(self.next).ok_or_else(|| {
            Error::Usage("internal error: too few core values to lift".to_string())
        })?;
        self.next += 1;
        Ok(raw_of(v))
    }

    fn i32(&mut self) -> Result<u32> {
        Ok(self.raw()? as u32)
    }

    fn i64(&mut self) -> Result<u64> {
        self.raw()
    }
}

fn check_char(code: u32) -> Result<char> {
    char::from_u32(code).ok_or_else(|| trap(format!("invalid `char` bit pattern {code:#x}")))
}

/// Lifts a value of type `ty` from flat core values. A variant's payload may sit in slots of a
/// wider joined type; `lift_flat_case` narrows them.
pub(crate) fn lift_flat(
    mem: &dyn GuestMemory,
    encoding: StringEncoding,
    values: &mut FlatReader<'_>,
    ty: &Type,
) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(values.i32()? != 0),
        Type::S8 => Val::S8(values.i32()? as i8),
        Type::U8 => Val::U8(values.i32()? as u8),
        Type::S16 => Val::S16(values.i32()? as i16),
        Type::U16 => Val::U16(values.i32()? as u16),
        Type::S32 => Val::S32(values.i32()? as i32),
        Type::U32 => Val::U32(values.i32()?),
        Type::S64 => Val::S64(values.i64()? as i64),
        Type::U64 => Val::U64(values.i64()?),
        Type::Float32 => Val::Float32(f32::from_bits(values.raw()? as u32)),
        Type::Float64 => Val::Float64(f64::from_bits(values.raw()?)),
        Type::Char => Val::Char(check_char(values.i32()?)?),
        Type::String => {
            let (ptr, len) = (values.i32()?, values.i32()?);
            Val::String(load_string_from(mem, encoding, ptr, len)?)
        }
        Type::List(element) => {
            let (ptr, len) = (values.i32()?, values.i32()?);
            Val::List(load_list_from(mem, encoding, ptr, len, element)?)
        }
        Type::Map(kv) => {
            let (ptr, len) = (values.i32()?, values.i32()?);
            let pairs = load_list_from(mem, encoding, ptr, len, &map_entry(kv))?;
            Val::Map(pairs.into_iter().map(pair_of).collect())
        }
        Type::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(name, t)| Ok((name.clone(), lift_flat(mem, encoding, values, t)?)))
                .collect::<Result<_>>()?,
        ),
        Type::Tuple(types) => Val::Tuple(
            types
                .iter()
                .map(|t| lift_flat(mem, encoding, values, t))
                .collect::<Result<_>>()?,
        ),
        Type::Flags(names) => {
            let words = (names.len() as u32).div_ceil(32).max(1);
            let mut bits = Vec::new();
            for _ in 0..words {
                bits.push(values.i32()?);
            }
            Val::Flags(flags_from_words(names, &bits))
        }
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            let case_types = cases(ty).expect("variant-like");
            let mut flat = Vec::new();
            flatten(ty, &mut flat);
            let joined = &flat[1..];
            let case = values.i32()? as usize;
            if case >= case_types.len() {
                return Err(trap(format!("invalid variant discriminant {case}")));
            }
            let mut slots = Vec::with_capacity(joined.len());
            for _ in joined {
                slots.push(values.raw()?);
            }
            let payload = match case_types[case] {
                None => None,
                Some(t) => {
                    let mut case_flat = Vec::new();
                    flatten(t, &mut case_flat);
                    let narrowed: Vec<crate::Val> = case_flat
                        .iter()
                        .zip(&slots)
                        .map(|(t, raw)| core_of(*t, *raw))
                        .collect();
                    let mut reader = FlatReader::new(&narrowed);
                    Some(Box::new(lift_flat(mem, encoding, &mut reader, t)?))
                }
            };
            variant_val(ty, case, payload)
        }
        Type::Own(r) => Val::Resource(mem.lift_own(r, values.i32()?)?),
        Type::Borrow(r) => Val::Resource(mem.lift_borrow(r, values.i32()?)?),
    })
}

/// The value of case `case` of variant-like `ty`.
fn variant_val(ty: &Type, case: usize, payload: Option<Box<Val>>) -> Val {
    match ty {
        Type::Variant(cases) => Val::Variant(cases[case].0.clone(), payload),
        Type::Enum(names) => Val::Enum(names[case].clone()),
        Type::Option(_) => Val::Option(if case == 0 { None } else { payload }),
        Type::Result { .. } => Val::Result(if case == 0 { Ok(payload) } else { Err(payload) }),
        _ => unreachable!("variant_val of a non-variant type"),
    }
}

/// The case index and payload of variant-like value `v` of type `ty`.
fn variant_case<'v>(ty: &Type, v: &'v Val) -> Result<(usize, Option<&'v Val>)> {
    let mismatch = || Error::Usage(format!("expected a value of type {ty}, got {v:?}"));
    Ok(match (ty, v) {
        (Type::Variant(cases), Val::Variant(name, payload)) => (
            cases
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(mismatch)?,
            payload.as_deref(),
        ),
        (Type::Enum(names), Val::Enum(name)) => (
            names.iter().position(|n| n == name).ok_or_else(mismatch)?,
            None,
        ),
        (Type::Option(_), Val::Option(None)) => (0, None),
        (Type::Option(_), Val::Option(Some(payload))) => (1, Some(&**payload)),
        (Type::Result { .. }, Val::Result(Ok(payload))) => (0, payload.as_deref()),
        (Type::Result { .. }, Val::Result(Err(payload))) => (1, payload.as_deref()),
        _ => return Err(mismatch()),
    })
}

/// The element type of a map's list representation: `tuple<K, V>`.
fn map_entry(kv: &(Type, Type)) -> Type {
    Type::Tuple(vec![kv.0.clone(), kv.1.clone()].into())
}

/// A map's pairs as the tuples of its list representation.
fn map_entries(pairs: &[(Val, Val)]) -> Vec<Val> {
    pairs
        .iter()
        .map(|(k, v)| Val::Tuple(vec![k.clone(), v.clone()]))
        .collect()
}

/// A loaded `tuple<K, V>` as a map pair.
fn pair_of(entry: Val) -> (Val, Val) {
    match entry {
        Val::Tuple(mut kv) if kv.len() == 2 => {
            let v = kv.pop().expect("two elements");
            let k = kv.pop().expect("two elements");
            (k, v)
        }
        _ => unreachable!("a tuple<K, V> type loads as a pair"),
    }
}

fn flags_from_words(names: &[String], words: &[u32]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| words[i / 32] & (1 << (i % 32)) != 0)
        .map(|(_, n)| n.clone())
        .collect()
}

fn flags_to_words(names: &[String], set: &[String]) -> Vec<u32> {
    let mut words = vec![0u32; names.len().div_ceil(32).max(1)];
    for (i, name) in names.iter().enumerate() {
        if set.contains(name) {
            words[i / 32] |= 1 << (i % 32);
        }
    }
    words
}

/// Lowers `v` of type `ty` into flat core values.
pub(crate) fn lower_flat(
    mem: &mut dyn GuestMemory,
    encoding: StringEncoding,
    v: &Val,
    ty: &Type,
    out: &mut Vec<crate::Val>,
) -> Result<()> {
    let i32 = |x: u32| crate::Val::I32(x as i32);
    match (ty, v) {
        (Type::Bool, Val::Bool(b)) => out.push(i32(*b as u32)),
        (Type::S8, Val::S8(x)) => out.push(crate::Val::I32(*x as i32)),
        (Type::U8, Val::U8(x)) => out.push(i32(*x as u32)),
        (Type::S16, Val::S16(x)) => out.push(crate::Val::I32(*x as i32)),
        (Type::U16, Val::U16(x)) => out.push(i32(*x as u32)),
        (Type::S32, Val::S32(x)) => out.push(crate::Val::I32(*x)),
        (Type::U32, Val::U32(x)) => out.push(i32(*x)),
        (Type::S64, Val::S64(x)) => out.push(crate::Val::I64(*x)),
        (Type::U64, Val::U64(x)) => out.push(crate::Val::I64(*x as i64)),
        (Type::Float32, Val::Float32(x)) => out.push(crate::Val::F32(x.to_bits())),
        (Type::Float64, Val::Float64(x)) => out.push(crate::Val::F64(x.to_bits())),
        (Type::Char, Val::Char(c)) => out.push(i32(*c as u32)),
        (Type::String, Val::String(s)) => {
            let (ptr, len) = store_string_into(mem, encoding, s)?;
            out.extend([i32(ptr), i32(len)]);
        }
        (Type::List(element), Val::List(items)) => {
            let (ptr, len) = store_list_into(mem, encoding, items, element)?;
            out.extend([i32(ptr), i32(len)]);
        }
        (Type::Map(kv), Val::Map(pairs)) => {
            let entries = map_entries(pairs);
            let (ptr, len) = store_list_into(mem, encoding, &entries, &map_entry(kv))?;
            out.extend([i32(ptr), i32(len)]);
        }
        (Type::Record(fields), Val::Record(values)) if fields.len() == values.len() => {
            for ((_, t), (_, v)) in fields.iter().zip(values) {
                lower_flat(mem, encoding, v, t, out)?;
            }
        }
        (Type::Tuple(types), Val::Tuple(values)) if types.len() == values.len() => {
            for (t, v) in types.iter().zip(values) {
                lower_flat(mem, encoding, v, t, out)?;
            }
        }
        (Type::Flags(names), Val::Flags(set)) => {
            out.extend(flags_to_words(names, set).into_iter().map(i32));
        }
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. }, _) => {
            let (case, payload) = variant_case(ty, v)?;
            let mut flat = Vec::new();
            flatten(ty, &mut flat);
            let joined = &flat[1..];
            out.push(i32(case as u32));
            let mut payload_values = Vec::new();
            let case_type = cases(ty).expect("variant-like")[case];
            if let (Some(t), Some(p)) = (case_type, payload) {
                lower_flat(mem, encoding, p, t, &mut payload_values)?;
            }
            for (i, slot) in joined.iter().enumerate() {
                let raw = payload_values.get(i).map_or(0, raw_of);
                out.push(core_of(*slot, raw));
            }
        }
        (Type::Own(t), Val::Resource(r)) if r.own => out.push(i32(mem.lower_own(t, r)?)),
        (Type::Borrow(t), Val::Resource(r)) => out.push(i32(mem.lower_borrow(t, r)?)),
        _ => {
            return Err(Error::Usage(format!(
                "expected a value of type {ty}, got {v:?}"
            )));
        }
    }
    Ok(())
}

fn load_list_from(
    mem: &dyn GuestMemory,
    encoding: StringEncoding,
    ptr: u32,
    len: u32,
    element: &Type,
) -> Result<Vec<Val>> {
    let (elem_size, elem_align) = (size(element), alignment(element));
    if !ptr.is_multiple_of(elem_align) {
        return Err(trap("unaligned pointer"));
    }
    let bytes = mem.bytes()?;
    let end = ptr as u64 + len as u64 * elem_size as u64;
    if end > bytes.len() as u64 {
        return Err(trap("list content out-of-bounds"));
    }
    if let Some(values) = number_lists::decode(&bytes[ptr as usize..end as usize], element) {
        return Ok(values);
    }
    (0..len)
        .map(|i| load(mem, encoding, ptr + i * elem_size, element))
        .collect()
}

fn store_list_into(
    mem: &mut dyn GuestMemory,
    encoding: StringEncoding,
    items: &[Val],
    element: &Type,
) -> Result<(u32, u32)> {
    let (elem_size, elem_align) = (size(element), alignment(element));
    let len = u32::try_from(items.len()).map_err(|_| trap("list too long"))?;
    let total = len
        .checked_mul(elem_size)
        .ok_or_else(|| trap("list too long"))?;
    let numbers = number_lists::encode(items, element).transpose()?;
    let ptr = allocate(mem, elem_align, total, Allocation::List)?;
    if let Some(bytes) = numbers {
        write_bytes(mem, ptr, &bytes)?;
        return Ok((ptr, len));
    }
    for (i, item) in items.iter().enumerate() {
        store(mem, encoding, item, element, ptr + i as u32 * elem_size)?;
    }
    Ok((ptr, len))
}

/// Loads a value of type `ty` from memory at `ptr` (which the caller has aligned).
pub(crate) fn load(
    mem: &dyn GuestMemory,
    encoding: StringEncoding,
    ptr: u32,
    ty: &Type,
) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(read_bytes::<1>(mem, ptr)?[0] != 0),
        Type::S8 => Val::S8(read_bytes::<1>(mem, ptr)?[0] as i8),
        Type::U8 => Val::U8(read_bytes::<1>(mem, ptr)?[0]),
        Type::S16 => Val::S16(i16::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::U16 => Val::U16(u16::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::S32 => Val::S32(i32::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::U32 => Val::U32(u32::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::S64 => Val::S64(i64::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::U64 => Val::U64(u64::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::Float32 => Val::Float32(f32::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::Float64 => Val::Float64(f64::from_le_bytes(read_bytes(mem, ptr)?)),
        Type::Char => Val::Char(check_char(read_u32(mem, ptr)?)?),
        Type::String => {
            let (p, len) = (read_u32(mem, ptr)?, read_u32(mem, ptr + 4)?);
            Val::String(load_string_from(mem, encoding, p, len)?)
        }
        Type::List(element) => {
            let (p, len) = (read_u32(mem, ptr)?, read_u32(mem, ptr + 4)?);
            Val::List(load_list_from(mem, encoding, p, len, element)?)
        }
        Type::Map(kv) => {
            let (p, len) = (read_u32(mem, ptr)?, read_u32(mem, ptr + 4)?);
            let pairs = load_list_from(mem, encoding, p, len, &map_entry(kv))?;
            Val::Map(pairs.into_iter().map(pair_of).collect())
        }
        Type::Record(fields) => {
            let mut offset = ptr;
            let mut values = Vec::with_capacity(fields.len());
            for (name, t) in fields.iter() {
                offset = align_to(offset, alignment(t));
                values.push((name.clone(), load(mem, encoding, offset, t)?));
                offset += size(t);
            }
            Val::Record(values)
        }
        Type::Tuple(types) => {
            let mut offset = ptr;
            let mut values = Vec::with_capacity(types.len());
            for t in types.iter() {
                offset = align_to(offset, alignment(t));
                values.push(load(mem, encoding, offset, t)?);
                offset += size(t);
            }
            Val::Tuple(values)
        }
        Type::Flags(names) => {
            let words = match flags_size(names.len()) {
                0 => vec![0],
                n @ (1 | 2) => vec![read_uint(mem, ptr, n)?],
                n => (0..n / 4)
                    .map(|i| read_u32(mem, ptr + 4 * i))
                    .collect::<Result<_>>()?,
            };
            Val::Flags(flags_from_words(names, &words))
        }
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            let case_types = cases(ty).expect("variant-like");
            let disc = discriminant_size(case_types.len());
            let case = read_uint(mem, ptr, disc)? as usize;
            if case >= case_types.len() {
                return Err(trap(format!("invalid variant discriminant {case}")));
            }
            let payload_at = align_to(ptr + disc, max_case_alignment(&case_types));
            let payload = match case_types[case] {
                Some(t) => Some(Box::new(load(mem, encoding, payload_at, t)?)),
                None => None,
            };
            variant_val(ty, case, payload)
        }
        Type::Own(r) => Val::Resource(mem.lift_own(r, read_u32(mem, ptr)?)?),
        Type::Borrow(r) => Val::Resource(mem.lift_borrow(r, read_u32(mem, ptr)?)?),
    })
}

/// Stores `v` of type `ty` into memory at `ptr`.
pub(crate) fn store(
    mem: &mut dyn GuestMemory,
    encoding: StringEncoding,
    v: &Val,
    ty: &Type,
    ptr: u32,
) -> Result<()> {
    match (ty, v) {
        (Type::Bool, Val::Bool(b)) => write_bytes(mem, ptr, &[*b as u8]),
        (Type::S8, Val::S8(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::U8, Val::U8(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::S16, Val::S16(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::U16, Val::U16(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::S32, Val::S32(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::U32, Val::U32(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::S64, Val::S64(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::U64, Val::U64(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::Float32, Val::Float32(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::Float64, Val::Float64(x)) => write_bytes(mem, ptr, &x.to_le_bytes()),
        (Type::Char, Val::Char(c)) => write_bytes(mem, ptr, &(*c as u32).to_le_bytes()),
        (Type::String, Val::String(s)) => {
            let (p, len) = store_string_into(mem, encoding, s)?;
            write_bytes(mem, ptr, &p.to_le_bytes())?;
            write_bytes(mem, ptr + 4, &len.to_le_bytes())
        }
        (Type::List(element), Val::List(items)) => {
            let (p, len) = store_list_into(mem, encoding, items, element)?;
            write_bytes(mem, ptr, &p.to_le_bytes())?;
            write_bytes(mem, ptr + 4, &len.to_le_bytes())
        }
        (Type::Map(kv), Val::Map(pairs)) => {
            let entries = map_entries(pairs);
            let (p, len) = store_list_into(mem, encoding, &entries, &map_entry(kv))?;
            write_bytes(mem, ptr, &p.to_le_bytes())?;
            write_bytes(mem, ptr + 4, &len.to_le_bytes())
        }
        (Type::Record(fields), Val::Record(values)) if fields.len() == values.len() => {
            let mut offset = ptr;
            for ((_, t), (_, v)) in fields.iter().zip(values) {
                offset = align_to(offset, alignment(t));
                store(mem, encoding, v, t, offset)?;
                offset += size(t);
            }
            Ok(())
        }
        (Type::Tuple(types), Val::Tuple(values)) if types.len() == values.len() => {
            let mut offset = ptr;
            for (t, v) in types.iter().zip(values) {
                offset = align_to(offset, alignment(t));
                store(mem, encoding, v, t, offset)?;
                offset += size(t);
            }
            Ok(())
        }
        (Type::Flags(names), Val::Flags(set)) => {
            let words = flags_to_words(names, set);
            match flags_size(names.len()) {
                0 => Ok(()),
                n @ (1 | 2) => write_uint(mem, ptr, n, words[0]),
                _ => {
                    for (i, w) in words.iter().enumerate() {
                        write_bytes(mem, ptr + 4 * i as u32, &w.to_le_bytes())?;
                    }
                    Ok(())
                }
            }
        }
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. }, _) => {
            let (case, payload) = variant_case(ty, v)?;
            let case_types = cases(ty).expect("variant-like");
            let disc = discriminant_size(case_types.len());
            write_uint(mem, ptr, disc, case as u32)?;
            let payload_at = align_to(ptr + disc, max_case_alignment(&case_types));
            match (case_types[case], payload) {
                (Some(t), Some(p)) => store(mem, encoding, p, t, payload_at),
                (None, None) => Ok(()),
                _ => Err(Error::Usage(format!(
                    "expected a value of type {ty}, got {v:?}"
                ))),
            }
        }
        (Type::Own(t), Val::Resource(r)) if r.own => {
            let handle = mem.lower_own(t, r)?;
            write_bytes(mem, ptr, &handle.to_le_bytes())
        }
        (Type::Borrow(t), Val::Resource(r)) => {
            let handle = mem.lower_borrow(t, r)?;
            write_bytes(mem, ptr, &handle.to_le_bytes())
        }
        _ => Err(Error::Usage(format!(
            "expected a value of type {ty}, got {v:?}"
        ))),
    }
}

/// Lowers the values of a tuple of `types` to memory at a fresh allocation, for the case where
/// they do not fit in flat core values: returns the pointer.
pub(crate) fn store_spilled(
    mem: &mut dyn GuestMemory,
    encoding: StringEncoding,
    values: &[Val],
    types: &[Type],
) -> Result<u32> {
    let tuple = Type::Tuple(types.to_vec().into());
    let ptr = allocate(mem, alignment(&tuple), size(&tuple), Allocation::Spilled)?;
    store(mem, encoding, &Val::Tuple(values.to_vec()), &tuple, ptr)?;
    Ok(ptr)
}

/// Lifts the values of a tuple of `types` from memory at `ptr` (spilled arguments or results).
pub(crate) fn load_spilled(
    mem: &dyn GuestMemory,
    encoding: StringEncoding,
    ptr: u32,
    types: &[Type],
) -> Result<Vec<Val>> {
    let tuple = Type::Tuple(types.to_vec().into());
    if !ptr.is_multiple_of(alignment(&tuple)) {
        return Err(trap("unaligned pointer"));
    }
    if ptr as u64 + size(&tuple) as u64 > mem.bytes()?.len() as u64 {
        return Err(trap("pointer out of bounds of memory"));
    }
    match load(mem, encoding, ptr, &tuple)? {
        Val::Tuple(values) => Ok(values),
        _ => unreachable!("a tuple type loads as a tuple"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::errors::AbiTrap;
    use super::super::strings::UTF16_TAG;
    use super::*;

    /// A memory of 64 KiB whose `realloc` is a bump allocator from 1024.
    struct TestMemory {
        bytes: Vec<u8>,
        next: u32,
    }

    impl TestMemory {
        fn new() -> Self {
            TestMemory {
                bytes: vec![0; 65536],
                next: 1024,
            }
        }
    }

    impl GuestMemory for TestMemory {
        fn bytes(&self) -> Result<&[u8]> {
            Ok(&self.bytes)
        }
        fn bytes_mut(&mut self) -> Result<&mut [u8]> {
            Ok(&mut self.bytes)
        }
        fn realloc(&mut self, _: u32, _: u32, align: u32, size: u32) -> Result<u32> {
            let ptr = align_to(self.next, align);
            self.next = ptr + size;
            Ok(ptr)
        }
    }

    fn round_trip_flat(ty: &Type, v: &Val) -> Val {
        let mut mem = TestMemory::new();
        let mut flat = Vec::new();
        lower_flat(&mut mem, StringEncoding::Utf8, v, ty, &mut flat).unwrap();
        let mut types = Vec::new();
        flatten(ty, &mut types);
        assert_eq!(flat.len(), types.len(), "{ty}");
        let mut reader = FlatReader::new(&flat);
        lift_flat(&mem, StringEncoding::Utf8, &mut reader, ty).unwrap()
    }

    fn round_trip_memory(ty: &Type, v: &Val, encoding: StringEncoding) -> Val {
        let mut mem = TestMemory::new();
        store(&mut mem, encoding, v, ty, 64).unwrap();
        load(&mem, encoding, 64, ty).unwrap()
    }

    fn sample_types() -> Vec<(Type, Val)> {
        vec![
            (Type::Bool, Val::Bool(true)),
            (Type::S8, Val::S8(-5)),
            (Type::U8, Val::U8(250)),
            (Type::S16, Val::S16(-300)),
            (Type::U16, Val::U16(65000)),
            (Type::S32, Val::S32(i32::MIN)),
            (Type::U32, Val::U32(u32::MAX)),
            (Type::S64, Val::S64(-1 << 40)),
            (Type::U64, Val::U64(u64::MAX)),
            (Type::Float32, Val::Float32(1.5)),
            (Type::Float64, Val::Float64(-2.25)),
            (Type::Char, Val::Char('🦀')),
            (Type::String, Val::String("héllo, wörld 🦀".into())),
            (
                Type::List(Arc::new(Type::U16)),
                Val::List(vec![Val::U16(1), Val::U16(2), Val::U16(3)]),
            ),
            (
                Type::Record(vec![("a".into(), Type::U8), ("b".into(), Type::U64)].into()),
                Val::Record(vec![("a".into(), Val::U8(7)), ("b".into(), Val::U64(9))]),
            ),
            (
                Type::Variant(
                    vec![
                        ("x".into(), Some(Type::Float32)),
                        ("y".into(), Some(Type::U64)),
                    ]
                    .into(),
                ),
                Val::Variant("x".into(), Some(Box::new(Val::Float32(3.0)))),
            ),
            (
                Type::Result {
                    ok: Some(Arc::new(Type::String)),
                    err: None,
                },
                Val::Result(Ok(Some(Box::new(Val::String("ok".into()))))),
            ),
            (
                Type::Option(Arc::new(Type::Char)),
                Val::Option(Some(Box::new(Val::Char('x')))),
            ),
            (
                Type::Flags((0..40).map(|i| format!("f{i}")).collect()),
                Val::Flags(vec!["f0".into(), "f33".into()]),
            ),
            (
                Type::Enum(vec!["a".into(), "b".into(), "c".into()].into()),
                Val::Enum("c".into()),
            ),
            (
                Type::Map(Arc::new((Type::String, Type::U32))),
                Val::Map(vec![
                    (Val::String("k".into()), Val::U32(1)),
                    (Val::String("k".into()), Val::U32(2)),
                ]),
            ),
        ]
    }

    #[test]
    fn every_sample_value_round_trips_through_flat_values() {
        for (ty, v) in sample_types() {
            assert_eq!(round_trip_flat(&ty, &v), v, "{ty}");
        }
    }

    #[test]
    fn every_sample_value_round_trips_through_memory_in_every_encoding() {
        for encoding in [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::CompactUtf16,
        ] {
            for (ty, v) in sample_types() {
                assert_eq!(
                    round_trip_memory(&ty, &v, encoding),
                    v,
                    "{ty} in {encoding:?}"
                );
            }
        }
    }

    #[test]
    fn sizes_and_alignments_follow_the_canonical_abi() {
        let record = Type::Record(vec![("a".into(), Type::U8), ("b".into(), Type::U32)].into());
        assert_eq!((size(&record), alignment(&record)), (8, 4));
        let option = Type::Option(Arc::new(Type::U64));
        assert_eq!((size(&option), alignment(&option)), (16, 8));
        let flags = Type::Flags((0..33).map(|i| i.to_string()).collect());
        assert_eq!((size(&flags), alignment(&flags)), (8, 4));
        assert_eq!(size(&Type::String), 8);
    }

    #[test]
    fn variant_cases_join_their_flat_types() {
        let v = Type::Variant(
            vec![
                ("a".into(), Some(Type::Float32)),
                ("b".into(), Some(Type::U32)),
            ]
            .into(),
        );
        assert_eq!(flatten_all([&v].into_iter()), [ValType::I32, ValType::I32]);
        let w = Type::Variant(
            vec![
                ("a".into(), Some(Type::Float64)),
                ("b".into(), Some(Type::U32)),
            ]
            .into(),
        );
        assert_eq!(flatten_all([&w].into_iter()), [ValType::I32, ValType::I64]);
    }

    #[test]
    fn narrow_integers_are_truncated_when_lifted() {
        let mem = TestMemory::new();
        let flat = [crate::Val::I32(0x1ff)];
        let lift =
            |ty: &Type| lift_flat(&mem, StringEncoding::Utf8, &mut FlatReader::new(&flat), ty);
        assert_eq!(lift(&Type::U8).unwrap(), Val::U8(0xff));
        assert_eq!(lift(&Type::S8).unwrap(), Val::S8(-1));
        assert_eq!(lift(&Type::Bool).unwrap(), Val::Bool(true));
    }

    #[test]
    fn invalid_chars_and_strings_trap() {
        let mut mem = TestMemory::new();
        let surrogate = [crate::Val::I32(0xd800)];
        let err = lift_flat(
            &mem,
            StringEncoding::Utf8,
            &mut FlatReader::new(&surrogate),
            &Type::Char,
        )
        .unwrap_err();
        assert!(err.is::<AbiTrap>(), "{err}");
        mem.bytes[10] = 0xff;
        let bad_utf8 = [crate::Val::I32(10), crate::Val::I32(1)];
        let err = lift_flat(
            &mem,
            StringEncoding::Utf8,
            &mut FlatReader::new(&bad_utf8),
            &Type::String,
        )
        .unwrap_err();
        assert!(err.is::<AbiTrap>(), "{err}");
        let out_of_bounds = [crate::Val::I32(65530), crate::Val::I32(10)];
        let err = lift_flat(
            &mem,
            StringEncoding::Utf8,
            &mut FlatReader::new(&out_of_bounds),
            &Type::String,
        )
        .unwrap_err();
        assert!(err.is::<AbiTrap>(), "{err}");
    }

    #[test]
    fn a_misaligned_list_traps() {
        let mem = TestMemory::new();
        let flat = [crate::Val::I32(2), crate::Val::I32(1)];
        let err = lift_flat(
            &mem,
            StringEncoding::Utf8,
            &mut FlatReader::new(&flat),
            &Type::List(Arc::new(Type::U32)),
        )
        .unwrap_err();
        assert!(err.is::<AbiTrap>(), "{err}");
    }

    #[test]
    fn latin1_strings_are_stored_untagged_and_others_tagged() {
        let mut mem = TestMemory::new();
        let (_, len) = store_string_into(&mut mem, StringEncoding::CompactUtf16, "café").unwrap();
        assert_eq!(len, 4);
        let (ptr, len) = store_string_into(&mut mem, StringEncoding::CompactUtf16, "日本").unwrap();
        assert_eq!(len, 2 | UTF16_TAG);
        assert_eq!(
            load_string_from(&mem, StringEncoding::CompactUtf16, ptr, len).unwrap(),
            "日本"
        );
    }
}
