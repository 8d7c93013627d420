//! `ward run --invoke`: the function's parameters parsed from the command line, and its results
//! printed. Called by `main.rs`.

use anyhow::{Result, anyhow, bail};
use ward::{Val, ValType};

/// `n` things, with the noun in the right number: "1 argument", "2 arguments".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Parses a `--invoke` parameter: integers in decimal or `0x` hex (as a bit pattern, so `0xffffffff`
/// is an i32 -1), floats in Rust's decimal syntax, `v128` as 32 hex digits.
pub fn parse_arg(ty: &ValType, text: &str) -> Result<Val> {
    let bad = || anyhow!("\"{text}\" is not a valid {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(text, 32).ok_or_else(bad)? as i32),
        ValType::I64 => Val::I64(parse_int(text, 64).ok_or_else(bad)? as i64),
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::V128 => {
            let digits = text.strip_prefix("0x").unwrap_or(text);
            Val::V128(u128::from_str_radix(digits, 16).map_err(|_| bad())?)
        }
        ValType::Ref(_) => bail!("cannot pass a reference ({ty}) from the command line"),
    })
}

/// An integer of `bits` bits as its two's-complement bit pattern: signed or unsigned decimal, or
/// `0x`/`-0x` hex. `None` if it is malformed or does not fit.
pub fn parse_int(text: &str, bits: u32) -> Option<u64> {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value: u64 = match magnitude
        .strip_prefix("0x")
        .or_else(|| magnitude.strip_prefix("0X"))
    {
        Some(hex) if !hex.starts_with(['+', '-']) => u64::from_str_radix(hex, 16).ok()?,
        Some(_) => return None,
        None if !magnitude.starts_with(['+', '-']) => magnitude.parse().ok()?,
        None => return None,
    };
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    };
    if negative {
        // Down to the most negative value: -2^(bits-1).
        (value <= 1 << (bits - 1)).then(|| value.wrapping_neg() & mask)
    } else {
        (value <= mask).then_some(value)
    }
}

pub fn format_val(value: &Val, store: impl ward::AsContext) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => format!("{v:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
            "null".into()
        }
        Val::AnyRef(Some(a)) => match a.as_i31(store).ok().flatten() {
            Some(v) => format!("(ref.i31 {})", v.get_i32()),
            None => "<anyref>".into(),
        },
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::ExternRef(Some(_)) => "<externref>".into(),
        Val::ExnRef(Some(_)) => "<exnref>".into(),
    }
}
