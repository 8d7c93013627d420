//! Values as WebAssembly text, for failure messages: `(i32.const 4)`, `(f32.const nan:0x200000)`,
//! `(v128.const i32x4 1 2 3 4)`, `(ref.null func)`. Used by the runner in `lib.rs` for both the
//! values ward returned and the results a script expected.

use std::fmt::Write;

use wast::core::{HeapType, NanPattern, V128Pattern, WastRetCore};

use ward::{Store, Val};

use crate::{ExternPayload, HostPayload};

/// A 32-bit float from its bits, as the text format writes it (NaN payloads kept).
fn f32_text(bits: u32) -> String {
    let value = f32::from_bits(bits);
    if value.is_nan() {
        let sign = if bits >> 31 == 1 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & 0x7f_ffff)
    } else {
        float_text(
            value.is_infinite(),
            value.is_sign_negative(),
            format!("{value:?}"),
        )
    }
}

/// A 64-bit float from its bits, as the text format writes it (NaN payloads kept).
fn f64_text(bits: u64) -> String {
    let value = f64::from_bits(bits);
    if value.is_nan() {
        let sign = if bits >> 63 == 1 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & 0xf_ffff_ffff_ffff)
    } else {
        float_text(
            value.is_infinite(),
            value.is_sign_negative(),
            format!("{value:?}"),
        )
    }
}

/// Rust's shortest round-trip form is valid text-format syntax except for infinities.
fn float_text(infinite: bool, negative: bool, finite: String) -> String {
    match (infinite, negative) {
        (true, true) => "-inf".into(),
        (true, false) => "inf".into(),
        _ => finite,
    }
}

/// A value ward returned, as a text-format constant or reference description.
pub fn val_text(store: &Store<()>, value: &Val) -> String {
    match value {
        Val::I32(v) => format!("(i32.const {v})"),
        Val::I64(v) => format!("(i64.const {v})"),
        Val::F32(bits) => format!("(f32.const {})", f32_text(*bits)),
        Val::F64(bits) => format!("(f64.const {})", f64_text(*bits)),
        Val::V128(v) => {
            let bytes = v.to_le_bytes();
            let mut text = "(v128.const i32x4".to_string();
            for lane in bytes.chunks_exact(4) {
                let lane = u32::from_le_bytes(lane.try_into().expect("4-byte chunk"));
                let _ = write!(text, " {lane:#010x}");
            }
            text + ")"
        }
        Val::FuncRef(None) => "(ref.null func)".into(),
        Val::ExternRef(None) => "(ref.null extern)".into(),
        Val::ExnRef(None) => "(ref.null exn)".into(),
        Val::AnyRef(None) => "(ref.null any)".into(),
        Val::FuncRef(Some(_)) => "(ref.func)".into(),
        Val::ExnRef(Some(_)) => "(ref.exn)".into(),
        Val::ExternRef(Some(e)) => match e.data(store) {
            Ok(Some(data)) => match (
                data.downcast_ref::<ExternPayload>(),
                data.downcast_ref::<HostPayload>(),
            ) {
                (Some(p), _) => format!("(ref.extern {})", p.0),
                (_, Some(p)) => format!("(ref.host {})", p.0),
                _ => "(ref.extern)".into(),
            },
            _ => "(ref.extern)".into(),
        },
        Val::AnyRef(Some(a)) => match a.as_i31(store).ok().flatten() {
            Some(v) => format!("(ref.i31 {})", v.get_i32()),
            None if a.is_struct(store).unwrap_or(false) => "(ref.struct)".into(),
            None if a.is_array(store).unwrap_or(false) => "(ref.array)".into(),
            None => match a.to_extern().data(store) {
                Ok(Some(data)) => match data.downcast_ref::<ExternPayload>() {
                    Some(p) => format!("(ref.host {})", p.0),
                    None => "(ref.any)".into(),
                },
                _ => "(ref.any)".into(),
            },
        },
    }
}

/// Several returned values, space-separated (or "nothing").
pub fn vals_text(store: &Store<()>, values: &[Val]) -> String {
    if values.is_empty() {
        return "nothing".into();
    }
    values
        .iter()
        .map(|v| val_text(store, v))
        .collect::<Vec<_>>()
        .join(" ")
}

fn nan_pattern_text<T>(pattern: &NanPattern<T>, bits: impl Fn(&T) -> String) -> String {
    match pattern {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => bits(v),
    }
}

fn lanes<T>(shape: &str, lanes: &[T], lane: impl Fn(&T) -> String) -> String {
    let lanes: Vec<String> = lanes.iter().map(lane).collect();
    format!("(v128.const {shape} {})", lanes.join(" "))
}

/// A result a script expects, as the script wrote it.
pub fn expected_text(expected: &WastRetCore<'_>) -> String {
    match expected {
        WastRetCore::I32(v) => format!("(i32.const {v})"),
        WastRetCore::I64(v) => format!("(i64.const {v})"),
        WastRetCore::F32(p) => format!("(f32.const {})", nan_pattern_text(p, |f| f32_text(f.bits))),
        WastRetCore::F64(p) => format!("(f64.const {})", nan_pattern_text(p, |f| f64_text(f.bits))),
        WastRetCore::V128(pattern) => match pattern {
            V128Pattern::I8x16(v) => lanes("i8x16", v, |x| x.to_string()),
            V128Pattern::I16x8(v) => lanes("i16x8", v, |x| x.to_string()),
            V128Pattern::I32x4(v) => lanes("i32x4", v, |x| x.to_string()),
            V128Pattern::I64x2(v) => lanes("i64x2", v, |x| x.to_string()),
            V128Pattern::F32x4(v) => {
                lanes("f32x4", v, |p| nan_pattern_text(p, |f| f32_text(f.bits)))
            }
            V128Pattern::F64x2(v) => {
                lanes("f64x2", v, |p| nan_pattern_text(p, |f| f64_text(f.bits)))
            }
        },
        WastRetCore::RefNull(None) => "(ref.null)".into(),
        WastRetCore::RefNull(Some(heap)) => format!("(ref.null {})", heap_text(heap)),
        WastRetCore::RefExtern(None) => "(ref.extern)".into(),
        WastRetCore::RefExtern(Some(n)) => format!("(ref.extern {n})"),
        WastRetCore::RefHost(n) => format!("(ref.host {n})"),
        WastRetCore::RefFunc(_) => "(ref.func)".into(),
        WastRetCore::RefAny => "(ref.any)".into(),
        WastRetCore::RefEq => "(ref.eq)".into(),
        WastRetCore::RefArray => "(ref.array)".into(),
        WastRetCore::RefStruct => "(ref.struct)".into(),
        WastRetCore::RefI31 => "(ref.i31)".into(),
        WastRetCore::RefI31Shared => "(ref.i31_shared)".into(),
        WastRetCore::Either(options) => {
            let options: Vec<String> = options.iter().map(expected_text).collect();
            format!("(either {})", options.join(" "))
        }
    }
}

/// A heap type's text-format name (`func`, `extern`, `none`, …) or type index.
fn heap_text(heap: &HeapType<'_>) -> String {
    match heap {
        // The abstract heap types' variant names are their text keywords, capitalised.
        HeapType::Abstract { shared, ty } => {
            let name = format!("{ty:?}").to_ascii_lowercase();
            if *shared {
                format!("(shared {name})")
            } else {
                name
            }
        }
        HeapType::Concrete(index) | HeapType::Exact(index) => match index {
            wast::token::Index::Num(n, _) => n.to_string(),
            wast::token::Index::Id(id) => format!("${}", id.name()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_text_format_constants() {
        let store = Store::new(&ward::Engine::default(), ());
        assert_eq!(val_text(&store, &Val::I32(-4)), "(i32.const -4)");
        assert_eq!(val_text(&store, &Val::I64(7)), "(i64.const 7)");
        assert_eq!(
            val_text(&store, &Val::F32(1.5f32.to_bits())),
            "(f32.const 1.5)"
        );
        assert_eq!(
            val_text(&store, &Val::F32(0x7fc0_0000)),
            "(f32.const nan:0x400000)"
        );
        assert_eq!(
            val_text(&store, &Val::F64(f64::NEG_INFINITY.to_bits())),
            "(f64.const -inf)"
        );
        assert_eq!(
            val_text(&store, &Val::V128(1 | (2 << 32))),
            "(v128.const i32x4 0x00000001 0x00000002 0x00000000 0x00000000)"
        );
        assert_eq!(val_text(&store, &Val::FuncRef(None)), "(ref.null func)");
        assert_eq!(vals_text(&store, &[]), "nothing");
    }
}
