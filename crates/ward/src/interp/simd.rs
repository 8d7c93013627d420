//! Lane arithmetic of the `v128` instructions: pure functions from `u128` values to `u128` values, one
//! per instruction shape (`binary`, `unary`, `shift`, …), dispatching on the op enums of `bytecode`.
//!
//! Lanes are plain arrays (`[i16; 8]`, `[f32; 4]`, …) reinterpreted from and back into the bits of
//! the value, and operations are written as element-wise maps over those arrays. LLVM turns the
//! conversions into register moves and most element-wise maps into single SSE2 instructions
//! (add/sub/compare/and/min/max/saturating add/average), so the same portable code serves every
//! target. `unsafe` appears in two places only, each with its argument: the conversions (`lanes!`,
//! a `transmute` between 16 bytes of plain data on little-endian targets) and the 16-, 32- and
//! 64-bit lane shifts, which call SSE2 intrinsics on x86-64 (`shift_sse2`) because LLVM shifted
//! the portable form one lane at a time.
//!
//! ## Relaxed SIMD
//!
//! Relaxed operators may return any of several results; ward always returns the same one, on every
//! target and every run, chosen to equal a deterministic (non-relaxed) operator where one exists:
//! - `i8x16.relaxed_swizzle` = `i8x16.swizzle` (indices ≥ 16 give 0);
//! - `i32x4.relaxed_trunc_*` = the saturating `i32x4.trunc_sat_*` (NaN → 0, out of range saturates);
//! - `f32x4/f64x2.relaxed_madd` = `a * b + c` and `relaxed_nmadd` = `-(a * b) + c`, each rounded twice
//!   (unfused: fast without FMA hardware, and identical everywhere);
//! - `*.relaxed_laneselect` = `v128.bitselect` (bitwise, whatever the mask lanes hold);
//! - `f32x4/f64x2.relaxed_min/max` = `f32x4/f64x2.min/max` (NaN-propagating, -0 < +0);
//! - `i16x8.relaxed_q15mulr_s` = `i16x8.q15mulr_sat_s` (saturates `-1 * -1` to `0x7fff`);
//! - `i16x8.relaxed_dot_i8x16_i7x16_s` and `i32x4.relaxed_dot_i8x16_i7x16_add_s` treat both operands'
//!   lanes as signed and wrap on overflow (no intermediate saturation).
//!
//! Called by `exec`; depends only on `bytecode`.

use super::bytecode::{
    V128BinaryOp, V128ExtractOp, V128LoadOp, V128ReplaceOp, V128ShiftOp, V128SplatOp,
    V128TernaryOp, V128TestOp, V128UnaryOp,
};
use super::float::{fmax32, fmax64, fmin32, fmin64, round32, round64};

/// Generates the conversions between a `u128` and its lanes of one type.
///
/// On little-endian targets (all ward supports in practice) these are free reinterpretations; elsewhere
/// they go through little-endian bytes so lane 0 is always the low bits, as in Wasm.
macro_rules! lanes {
    ($($t:ty, $n:literal, $get:ident, $put:ident;)*) => {$(
        #[inline(always)]
        #[allow(unnecessary_transmutes)] // the byte-lane case has a safe equivalent; keep one form
        fn $get(v: u128) -> [$t; $n] {
            #[cfg(target_endian = "little")]
            // SAFETY: `u128` and `[$t; $n]` are both 16 bytes of plain data for which every bit pattern
            // is a valid value; on a little-endian target element `i` holds bits `i * W..(i + 1) * W`.
            let lanes = unsafe { std::mem::transmute::<u128, [$t; $n]>(v) };
            #[cfg(not(target_endian = "little"))]
            let lanes = {
                const W: usize = 16 / $n;
                let b = v.to_le_bytes();
                build(|i| {
                    let mut lane = [0u8; W];
                    lane.copy_from_slice(&b[i * W..i * W + W]);
                    <$t>::from_le_bytes(lane)
                })
            };
            lanes
        }
        #[inline(always)]
        #[allow(unnecessary_transmutes)]
        fn $put(lanes: [$t; $n]) -> u128 {
            #[cfg(target_endian = "little")]
            // SAFETY: as in the inverse conversion above.
            let v = unsafe { std::mem::transmute::<[$t; $n], u128>(lanes) };
            #[cfg(not(target_endian = "little"))]
            let v = {
                const W: usize = 16 / $n;
                let mut b = [0u8; 16];
                for (i, lane) in lanes.iter().enumerate() {
                    b[i * W..i * W + W].copy_from_slice(&lane.to_le_bytes());
                }
                u128::from_le_bytes(b)
            };
            v
        }
    )*};
}

lanes! {
    i8, 16, i8x16, from_i8x16;
    u8, 16, u8x16, from_u8x16;
    i16, 8, i16x8, from_i16x8;
    u16, 8, u16x8, from_u16x8;
    i32, 4, i32x4, from_i32x4;
    u32, 4, u32x4, from_u32x4;
    i64, 2, i64x2, from_i64x2;
    u64, 2, u64x2, from_u64x2;
    f32, 4, f32x4, from_f32x4;
    f64, 2, f64x2, from_f64x2;
}

// The element-wise helpers are plain counted loops over fixed-size arrays, always inlined: in that form
// LLVM's SLP vectorizer turns them into single SSE2 instructions (checked in the disassembly of
// `simd::binary` for add/sub/mul/compare/min/max/saturating ops), which `std::array::from_fn` in a
// function this large did not get (it stayed an out-of-line call per operation).

/// An array with element `i` equal to `f(i)`.
#[inline(always)]
fn build<U: Copy + Default, const N: usize>(f: impl Fn(usize) -> U) -> [U; N] {
    let mut out = [U::default(); N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = f(i);
    }
    out
}

#[inline(always)]
fn map<T: Copy, U: Copy + Default, const N: usize>(a: [T; N], f: impl Fn(T) -> U) -> [U; N] {
    let mut out = [U::default(); N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
    out
}

#[inline(always)]
fn zip<T: Copy, U: Copy + Default, const N: usize>(
    a: [T; N],
    b: [T; N],
    f: impl Fn(T, T) -> U,
) -> [U; N] {
    let mut out = [U::default(); N];
    for (o, (x, y)) in out.iter_mut().zip(a.into_iter().zip(b)) {
        *o = f(x, y);
    }
    out
}

/// All ones for `true`, zero for `false`, in a lane of type `$t`.
macro_rules! mask {
    ($t:ty, $c:expr) => {
        (-(($c) as i8) as $t)
    };
}

/// Element-wise binary operation on lanes `$get` → `$put`.
macro_rules! lanewise {
    ($a:expr, $b:expr, $get:ident, $put:ident, |$x:ident, $y:ident| $e:expr) => {
        $put(zip($get($a), $get($b), |$x, $y| $e))
    };
    ($a:expr, $get:ident, $put:ident, |$x:ident| $e:expr) => {
        $put(map($get($a), |$x| $e))
    };
}

/// Lane comparison producing an all-ones / all-zeros mask of the same lane width.
macro_rules! compare {
    ($a:expr, $b:expr, $get:ident, $put:ident, $mask:ty, |$x:ident, $y:ident| $e:expr) => {
        $put(zip($get($a), $get($b), |$x, $y| mask!($mask, $e)))
    };
}

/// `i8x16.swizzle`: lane `i` of the result is lane `idx[i]` of `a`, or 0 when out of range.
fn swizzle(a: u128, idx: u128) -> u128 {
    let a = u8x16(a);
    from_u8x16(map(u8x16(idx), |i| if i < 16 { a[i as usize] } else { 0 }))
}

/// `i16x8.q15mulr_sat_s`: rounding Q15 multiply, saturating the one overflowing case.
fn q15mulr(a: u128, b: u128) -> u128 {
    lanewise!(a, b, i16x8, from_i16x8, |x, y| {
        let r = (x as i32 * y as i32 + 0x4000) >> 15;
        r.clamp(i16::MIN as i32, i16::MAX as i32) as i16
    })
}

fn bitselect(a: u128, b: u128, c: u128) -> u128 {
    (a & c) | (b & !c)
}

/// Low (`high = false`) or high half of the lanes of `a`, widened by `f`.
macro_rules! half {
    ($v:expr, $get:ident, $n:literal, $high:expr, |$x:ident| $e:expr) => {{
        let l = $get($v);
        let start = if $high { $n } else { 0 };
        build::<_, $n>(|i| {
            let $x = l[start + i];
            $e
        })
    }};
}

/// Pairwise sums of adjacent lanes, widened by `f`.
macro_rules! pairwise {
    ($v:expr, $get:ident, $n:literal, |$x:ident| $e:expr) => {{
        let l = $get($v);
        build::<_, $n>(|i| {
            let w = |$x| $e;
            w(l[2 * i]) + w(l[2 * i + 1])
        })
    }};
}

/// Lanes of `a` then `b`, each narrowed with saturation by `f`.
macro_rules! narrow {
    ($a:expr, $b:expr, $get:ident, $n:literal, |$x:ident| $e:expr) => {{
        let (a, b) = ($get($a), $get($b));
        build::<_, $n>(|i| {
            let $x = if i < $n / 2 { a[i] } else { b[i - $n / 2] };
            $e
        })
    }};
}

/// Extended multiplication of the low or high halves.
macro_rules! extmul {
    ($a:expr, $b:expr, $get:ident, $n:literal, $high:expr, $wide:ty, $put:ident) => {{
        let x = half!($a, $get, $n, $high, |v| v as $wide);
        let y = half!($b, $get, $n, $high, |v| v as $wide);
        $put(zip(x, y, |p, q| p.wrapping_mul(q)))
    }};
}

/// `v128 × v128 → v128`.
///
/// Always inlined: into the threaded `V128Binary` handler, so that the handler makes no call (a call
/// would make it save and restore registers around every operator), and into the dedicated
/// instructions (`SimdF32x4Add`, …), whose constant op reduces the match to the one lane loop.
#[inline(always)]
pub(super) fn binary(op: V128BinaryOp, a: u128, b: u128) -> u128 {
    use V128BinaryOp as O;
    match op {
        O::V128And => a & b,
        O::V128AndNot => a & !b,
        O::V128Or => a | b,
        O::V128Xor => a ^ b,

        O::I8x16Eq => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x == y),
        O::I8x16Ne => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x != y),
        O::I8x16LtS => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x < y),
        O::I8x16LtU => compare!(a, b, u8x16, from_i8x16, i8, |x, y| x < y),
        O::I8x16GtS => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x > y),
        O::I8x16GtU => compare!(a, b, u8x16, from_i8x16, i8, |x, y| x > y),
        O::I8x16LeS => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x <= y),
        O::I8x16LeU => compare!(a, b, u8x16, from_i8x16, i8, |x, y| x <= y),
        O::I8x16GeS => compare!(a, b, i8x16, from_i8x16, i8, |x, y| x >= y),
        O::I8x16GeU => compare!(a, b, u8x16, from_i8x16, i8, |x, y| x >= y),
        O::I16x8Eq => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x == y),
        O::I16x8Ne => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x != y),
        O::I16x8LtS => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x < y),
        O::I16x8LtU => compare!(a, b, u16x8, from_i16x8, i16, |x, y| x < y),
        O::I16x8GtS => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x > y),
        O::I16x8GtU => compare!(a, b, u16x8, from_i16x8, i16, |x, y| x > y),
        O::I16x8LeS => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x <= y),
        O::I16x8LeU => compare!(a, b, u16x8, from_i16x8, i16, |x, y| x <= y),
        O::I16x8GeS => compare!(a, b, i16x8, from_i16x8, i16, |x, y| x >= y),
        O::I16x8GeU => compare!(a, b, u16x8, from_i16x8, i16, |x, y| x >= y),
        O::I32x4Eq => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x == y),
        O::I32x4Ne => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x != y),
        O::I32x4LtS => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x < y),
        O::I32x4LtU => compare!(a, b, u32x4, from_i32x4, i32, |x, y| x < y),
        O::I32x4GtS => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x > y),
        O::I32x4GtU => compare!(a, b, u32x4, from_i32x4, i32, |x, y| x > y),
        O::I32x4LeS => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x <= y),
        O::I32x4LeU => compare!(a, b, u32x4, from_i32x4, i32, |x, y| x <= y),
        O::I32x4GeS => compare!(a, b, i32x4, from_i32x4, i32, |x, y| x >= y),
        O::I32x4GeU => compare!(a, b, u32x4, from_i32x4, i32, |x, y| x >= y),
        O::I64x2Eq => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x == y),
        O::I64x2Ne => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x != y),
        O::I64x2LtS => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x < y),
        O::I64x2GtS => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x > y),
        O::I64x2LeS => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x <= y),
        O::I64x2GeS => compare!(a, b, i64x2, from_i64x2, i64, |x, y| x >= y),
        O::F32x4Eq => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x == y),
        O::F32x4Ne => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x != y),
        O::F32x4Lt => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x < y),
        O::F32x4Gt => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x > y),
        O::F32x4Le => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x <= y),
        O::F32x4Ge => compare!(a, b, f32x4, from_i32x4, i32, |x, y| x >= y),
        O::F64x2Eq => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x == y),
        O::F64x2Ne => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x != y),
        O::F64x2Lt => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x < y),
        O::F64x2Gt => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x > y),
        O::F64x2Le => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x <= y),
        O::F64x2Ge => compare!(a, b, f64x2, from_i64x2, i64, |x, y| x >= y),

        O::I8x16Swizzle | O::I8x16RelaxedSwizzle => swizzle(a, b),
        O::I8x16NarrowI16x8S => from_i8x16(narrow!(a, b, i16x8, 16, |x| x
            .clamp(i8::MIN as i16, i8::MAX as i16)
            as i8)),
        O::I8x16NarrowI16x8U => from_u8x16(narrow!(a, b, i16x8, 16, |x| x.clamp(0, 255) as u8)),
        O::I8x16Add => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.wrapping_add(y)),
        O::I8x16AddSatS => lanewise!(a, b, i8x16, from_i8x16, |x, y| x.saturating_add(y)),
        O::I8x16AddSatU => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.saturating_add(y)),
        O::I8x16Sub => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.wrapping_sub(y)),
        O::I8x16SubSatS => lanewise!(a, b, i8x16, from_i8x16, |x, y| x.saturating_sub(y)),
        O::I8x16SubSatU => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.saturating_sub(y)),
        O::I8x16MinS => lanewise!(a, b, i8x16, from_i8x16, |x, y| x.min(y)),
        O::I8x16MinU => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.min(y)),
        O::I8x16MaxS => lanewise!(a, b, i8x16, from_i8x16, |x, y| x.max(y)),
        O::I8x16MaxU => lanewise!(a, b, u8x16, from_u8x16, |x, y| x.max(y)),
        O::I8x16AvgrU => lanewise!(
            a,
            b,
            u8x16,
            from_u8x16,
            |x, y| ((x as u16 + y as u16 + 1) >> 1) as u8
        ),

        O::I16x8Q15MulrSatS | O::I16x8RelaxedQ15mulrS => q15mulr(a, b),
        O::I16x8NarrowI32x4S => from_i16x8(narrow!(a, b, i32x4, 8, |x| x
            .clamp(i16::MIN as i32, i16::MAX as i32)
            as i16)),
        O::I16x8NarrowI32x4U => {
            from_u16x8(narrow!(a, b, i32x4, 8, |x| x.clamp(0, u16::MAX as i32) as u16))
        }
        O::I16x8Add => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.wrapping_add(y)),
        O::I16x8AddSatS => lanewise!(a, b, i16x8, from_i16x8, |x, y| x.saturating_add(y)),
        O::I16x8AddSatU => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.saturating_add(y)),
        O::I16x8Sub => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.wrapping_sub(y)),
        O::I16x8SubSatS => lanewise!(a, b, i16x8, from_i16x8, |x, y| x.saturating_sub(y)),
        O::I16x8SubSatU => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.saturating_sub(y)),
        O::I16x8Mul => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.wrapping_mul(y)),
        O::I16x8MinS => lanewise!(a, b, i16x8, from_i16x8, |x, y| x.min(y)),
        O::I16x8MinU => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.min(y)),
        O::I16x8MaxS => lanewise!(a, b, i16x8, from_i16x8, |x, y| x.max(y)),
        O::I16x8MaxU => lanewise!(a, b, u16x8, from_u16x8, |x, y| x.max(y)),
        O::I16x8AvgrU => lanewise!(
            a,
            b,
            u16x8,
            from_u16x8,
            |x, y| ((x as u32 + y as u32 + 1) >> 1) as u16
        ),
        O::I16x8ExtMulLowI8x16S => extmul!(a, b, i8x16, 8, false, i16, from_i16x8),
        O::I16x8ExtMulHighI8x16S => extmul!(a, b, i8x16, 8, true, i16, from_i16x8),
        O::I16x8ExtMulLowI8x16U => extmul!(a, b, u8x16, 8, false, u16, from_u16x8),
        O::I16x8ExtMulHighI8x16U => extmul!(a, b, u8x16, 8, true, u16, from_u16x8),
        O::I16x8RelaxedDotI8x16I7x16S => {
            let (x, y) = (i8x16(a), i8x16(b));
            from_i16x8(build(|i| {
                let p = x[2 * i] as i16 * y[2 * i] as i16;
                let q = x[2 * i + 1] as i16 * y[2 * i + 1] as i16;
                p.wrapping_add(q)
            }))
        }

        O::I32x4Add => lanewise!(a, b, u32x4, from_u32x4, |x, y| x.wrapping_add(y)),
        O::I32x4Sub => lanewise!(a, b, u32x4, from_u32x4, |x, y| x.wrapping_sub(y)),
        O::I32x4Mul => lanewise!(a, b, u32x4, from_u32x4, |x, y| x.wrapping_mul(y)),
        O::I32x4MinS => lanewise!(a, b, i32x4, from_i32x4, |x, y| x.min(y)),
        O::I32x4MinU => lanewise!(a, b, u32x4, from_u32x4, |x, y| x.min(y)),
        O::I32x4MaxS => lanewise!(a, b, i32x4, from_i32x4, |x, y| x.max(y)),
        O::I32x4MaxU => lanewise!(a, b, u32x4, from_u32x4, |x, y| x.max(y)),
        O::I32x4DotI16x8S => {
            let (x, y) = (i16x8(a), i16x8(b));
            from_i32x4(build(|i| {
                let p = x[2 * i] as i32 * y[2 * i] as i32;
                let q = x[2 * i + 1] as i32 * y[2 * i + 1] as i32;
                p.wrapping_add(q)
            }))
        }
        O::I32x4ExtMulLowI16x8S => extmul!(a, b, i16x8, 4, false, i32, from_i32x4),
        O::I32x4ExtMulHighI16x8S => extmul!(a, b, i16x8, 4, true, i32, from_i32x4),
        O::I32x4ExtMulLowI16x8U => extmul!(a, b, u16x8, 4, false, u32, from_u32x4),
        O::I32x4ExtMulHighI16x8U => extmul!(a, b, u16x8, 4, true, u32, from_u32x4),

        O::I64x2Add => lanewise!(a, b, u64x2, from_u64x2, |x, y| x.wrapping_add(y)),
        O::I64x2Sub => lanewise!(a, b, u64x2, from_u64x2, |x, y| x.wrapping_sub(y)),
        O::I64x2Mul => lanewise!(a, b, u64x2, from_u64x2, |x, y| x.wrapping_mul(y)),
        O::I64x2ExtMulLowI32x4S => extmul!(a, b, i32x4, 2, false, i64, from_i64x2),
        O::I64x2ExtMulHighI32x4S => extmul!(a, b, i32x4, 2, true, i64, from_i64x2),
        O::I64x2ExtMulLowI32x4U => extmul!(a, b, u32x4, 2, false, u64, from_u64x2),
        O::I64x2ExtMulHighI32x4U => extmul!(a, b, u32x4, 2, true, u64, from_u64x2),

        O::F32x4Add => lanewise!(a, b, f32x4, from_f32x4, |x, y| x + y),
        O::F32x4Sub => lanewise!(a, b, f32x4, from_f32x4, |x, y| x - y),
        O::F32x4Mul => lanewise!(a, b, f32x4, from_f32x4, |x, y| x * y),
        O::F32x4Div => lanewise!(a, b, f32x4, from_f32x4, |x, y| x / y),
        O::F32x4Min | O::F32x4RelaxedMin => lanewise!(a, b, f32x4, from_f32x4, |x, y| fmin32(x, y)),
        O::F32x4Max | O::F32x4RelaxedMax => lanewise!(a, b, f32x4, from_f32x4, |x, y| fmax32(x, y)),
        O::F32x4PMin => lanewise!(a, b, f32x4, from_f32x4, |x, y| if y < x { y } else { x }),
        O::F32x4PMax => lanewise!(a, b, f32x4, from_f32x4, |x, y| if x < y { y } else { x }),
        O::F64x2Add => lanewise!(a, b, f64x2, from_f64x2, |x, y| x + y),
        O::F64x2Sub => lanewise!(a, b, f64x2, from_f64x2, |x, y| x - y),
        O::F64x2Mul => lanewise!(a, b, f64x2, from_f64x2, |x, y| x * y),
        O::F64x2Div => lanewise!(a, b, f64x2, from_f64x2, |x, y| x / y),
        O::F64x2Min | O::F64x2RelaxedMin => lanewise!(a, b, f64x2, from_f64x2, |x, y| fmin64(x, y)),
        O::F64x2Max | O::F64x2RelaxedMax => lanewise!(a, b, f64x2, from_f64x2, |x, y| fmax64(x, y)),
        O::F64x2PMin => lanewise!(a, b, f64x2, from_f64x2, |x, y| if y < x { y } else { x }),
        O::F64x2PMax => lanewise!(a, b, f64x2, from_f64x2, |x, y| if x < y { y } else { x }),
    }
}

/// `v128 → v128`.
#[inline(always)]
pub(super) fn unary(op: V128UnaryOp, a: u128) -> u128 {
    use V128UnaryOp as O;
    match op {
        O::V128Not => !a,
        O::I8x16Abs => lanewise!(a, i8x16, from_i8x16, |x| x.wrapping_abs()),
        O::I8x16Neg => lanewise!(a, i8x16, from_i8x16, |x| x.wrapping_neg()),
        O::I8x16Popcnt => lanewise!(a, u8x16, from_u8x16, |x| x.count_ones() as u8),
        O::I16x8ExtAddPairwiseI8x16S => from_i16x8(pairwise!(a, i8x16, 8, |x| x as i16)),
        O::I16x8ExtAddPairwiseI8x16U => from_u16x8(pairwise!(a, u8x16, 8, |x| x as u16)),
        O::I16x8Abs => lanewise!(a, i16x8, from_i16x8, |x| x.wrapping_abs()),
        O::I16x8Neg => lanewise!(a, i16x8, from_i16x8, |x| x.wrapping_neg()),
        O::I16x8ExtendLowI8x16S => from_i16x8(half!(a, i8x16, 8, false, |x| x as i16)),
        O::I16x8ExtendHighI8x16S => from_i16x8(half!(a, i8x16, 8, true, |x| x as i16)),
        O::I16x8ExtendLowI8x16U => from_u16x8(half!(a, u8x16, 8, false, |x| x as u16)),
        O::I16x8ExtendHighI8x16U => from_u16x8(half!(a, u8x16, 8, true, |x| x as u16)),
        O::I32x4ExtAddPairwiseI16x8S => from_i32x4(pairwise!(a, i16x8, 4, |x| x as i32)),
        O::I32x4ExtAddPairwiseI16x8U => from_u32x4(pairwise!(a, u16x8, 4, |x| x as u32)),
        O::I32x4Abs => lanewise!(a, i32x4, from_i32x4, |x| x.wrapping_abs()),
        O::I32x4Neg => lanewise!(a, i32x4, from_i32x4, |x| x.wrapping_neg()),
        O::I32x4ExtendLowI16x8S => from_i32x4(half!(a, i16x8, 4, false, |x| x as i32)),
        O::I32x4ExtendHighI16x8S => from_i32x4(half!(a, i16x8, 4, true, |x| x as i32)),
        O::I32x4ExtendLowI16x8U => from_u32x4(half!(a, u16x8, 4, false, |x| x as u32)),
        O::I32x4ExtendHighI16x8U => from_u32x4(half!(a, u16x8, 4, true, |x| x as u32)),
        O::I64x2Abs => lanewise!(a, i64x2, from_i64x2, |x| x.wrapping_abs()),
        O::I64x2Neg => lanewise!(a, i64x2, from_i64x2, |x| x.wrapping_neg()),
        O::I64x2ExtendLowI32x4S => from_i64x2(half!(a, i32x4, 2, false, |x| x as i64)),
        O::I64x2ExtendHighI32x4S => from_i64x2(half!(a, i32x4, 2, true, |x| x as i64)),
        O::I64x2ExtendLowI32x4U => from_u64x2(half!(a, u32x4, 2, false, |x| x as u64)),
        O::I64x2ExtendHighI32x4U => from_u64x2(half!(a, u32x4, 2, true, |x| x as u64)),
        O::F32x4Ceil => lanewise!(a, f32x4, from_f32x4, |x| round32(x, f32::ceil)),
        O::F32x4Floor => lanewise!(a, f32x4, from_f32x4, |x| round32(x, f32::floor)),
        O::F32x4Trunc => lanewise!(a, f32x4, from_f32x4, |x| round32(x, f32::trunc)),
        O::F32x4Nearest => {
            lanewise!(a, f32x4, from_f32x4, |x| round32(x, f32::round_ties_even))
        }
        O::F32x4Abs => a & 0x7fff_ffff_7fff_ffff_7fff_ffff_7fff_ffff,
        O::F32x4Neg => a ^ 0x8000_0000_8000_0000_8000_0000_8000_0000,
        O::F32x4Sqrt => lanewise!(a, f32x4, from_f32x4, |x| x.sqrt()),
        O::F64x2Ceil => lanewise!(a, f64x2, from_f64x2, |x| round64(x, f64::ceil)),
        O::F64x2Floor => lanewise!(a, f64x2, from_f64x2, |x| round64(x, f64::floor)),
        O::F64x2Trunc => lanewise!(a, f64x2, from_f64x2, |x| round64(x, f64::trunc)),
        O::F64x2Nearest => {
            lanewise!(a, f64x2, from_f64x2, |x| round64(x, f64::round_ties_even))
        }
        O::F64x2Abs => a & 0x7fff_ffff_ffff_ffff_7fff_ffff_ffff_ffff,
        O::F64x2Neg => a ^ 0x8000_0000_0000_0000_8000_0000_0000_0000,
        O::F64x2Sqrt => lanewise!(a, f64x2, from_f64x2, |x| x.sqrt()),
        // Rust's float → int `as` saturates and maps NaN to 0, exactly `trunc_sat`.
        O::I32x4TruncSatF32x4S | O::I32x4RelaxedTruncF32x4S => {
            from_i32x4(map(f32x4(a), |x| x as i32))
        }
        O::I32x4TruncSatF32x4U | O::I32x4RelaxedTruncF32x4U => {
            from_u32x4(map(f32x4(a), |x| x as u32))
        }
        O::F32x4ConvertI32x4S => from_f32x4(map(i32x4(a), |x| x as f32)),
        O::F32x4ConvertI32x4U => from_f32x4(map(u32x4(a), |x| x as f32)),
        O::I32x4TruncSatF64x2SZero | O::I32x4RelaxedTruncF64x2SZero => {
            let l = f64x2(a);
            from_i32x4([l[0] as i32, l[1] as i32, 0, 0])
        }
        O::I32x4TruncSatF64x2UZero | O::I32x4RelaxedTruncF64x2UZero => {
            let l = f64x2(a);
            from_u32x4([l[0] as u32, l[1] as u32, 0, 0])
        }
        O::F64x2ConvertLowI32x4S => from_f64x2(half!(a, i32x4, 2, false, |x| x as f64)),
        O::F64x2ConvertLowI32x4U => from_f64x2(half!(a, u32x4, 2, false, |x| x as f64)),
        O::F32x4DemoteF64x2Zero => {
            let l = f64x2(a);
            from_f32x4([l[0] as f32, l[1] as f32, 0.0, 0.0])
        }
        O::F64x2PromoteLowF32x4 => from_f64x2(half!(a, f32x4, 2, false, |x| x as f64)),
    }
}

/// `v128 → i32`.
#[inline(always)]
pub(super) fn test(op: V128TestOp, a: u128) -> u32 {
    use V128TestOp as O;
    match op {
        O::V128AnyTrue => (a != 0) as u32,
        O::I8x16AllTrue => u8x16(a).iter().all(|&x| x != 0) as u32,
        O::I16x8AllTrue => u16x8(a).iter().all(|&x| x != 0) as u32,
        O::I32x4AllTrue => u32x4(a).iter().all(|&x| x != 0) as u32,
        O::I64x2AllTrue => u64x2(a).iter().all(|&x| x != 0) as u32,
        O::I8x16Bitmask => bitmask(&i8x16(a).map(|x| x < 0)),
        O::I16x8Bitmask => bitmask(&i16x8(a).map(|x| x < 0)),
        O::I32x4Bitmask => bitmask(&i32x4(a).map(|x| x < 0)),
        O::I64x2Bitmask => bitmask(&i64x2(a).map(|x| x < 0)),
    }
}

#[inline(always)]
fn bitmask(negative: &[bool]) -> u32 {
    negative
        .iter()
        .enumerate()
        .fold(0, |m, (i, &n)| m | ((n as u32) << i))
}

/// `v128 × i32 → v128`; the shift count is taken modulo the lane width.
#[inline(always)]
pub(super) fn shift(op: V128ShiftOp, a: u128, count: u32) -> u128 {
    use V128ShiftOp as O;
    // The count is taken modulo the lane width, as Wasm requires, once for all lanes: a uniform
    // shift that LLVM emits as one SSE2 shift (per-lane `wrapping_shl` made it shift lane by lane).
    let (c8, c16, c32, c64) = (count % 8, count % 16, count % 32, count % 64);
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = shift_sse2(op, a, count) {
        return r;
    }
    match op {
        O::I8x16Shl => lanewise!(a, u8x16, from_u8x16, |x| x << c8),
        O::I8x16ShrS => lanewise!(a, i8x16, from_i8x16, |x| x >> c8),
        O::I8x16ShrU => lanewise!(a, u8x16, from_u8x16, |x| x >> c8),
        O::I16x8Shl => lanewise!(a, u16x8, from_u16x8, |x| x << c16),
        O::I16x8ShrS => lanewise!(a, i16x8, from_i16x8, |x| x >> c16),
        O::I16x8ShrU => lanewise!(a, u16x8, from_u16x8, |x| x >> c16),
        O::I32x4Shl => lanewise!(a, u32x4, from_u32x4, |x| x << c32),
        O::I32x4ShrS => lanewise!(a, i32x4, from_i32x4, |x| x >> c32),
        O::I32x4ShrU => lanewise!(a, u32x4, from_u32x4, |x| x >> c32),
        O::I64x2Shl => lanewise!(a, u64x2, from_u64x2, |x| x << c64),
        O::I64x2ShrS => lanewise!(a, i64x2, from_i64x2, |x| x >> c64),
        O::I64x2ShrU => lanewise!(a, u64x2, from_u64x2, |x| x >> c64),
    }
}

/// Scalar slot value → v128 with every lane equal to it.
/// The 16-, 32- and 64-bit lane shifts of [`shift`] as single SSE2 instructions (baseline on
/// x86-64): written portably, LLVM shifted the lanes one at a time through general registers.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn shift_sse2(op: V128ShiftOp, a: u128, count: u32) -> Option<u128> {
    use V128ShiftOp as O;
    use std::arch::x86_64::{
        __m128i, _mm_cvtsi32_si128, _mm_sll_epi16, _mm_sll_epi32, _mm_sll_epi64, _mm_sra_epi16,
        _mm_sra_epi32, _mm_srl_epi16, _mm_srl_epi32, _mm_srl_epi64,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, so its intrinsics run on every x86-64 CPU; `u128`
    // and `__m128i` are 16 bytes of plain data with no invalid bit patterns, and x86-64 is
    // little-endian, so lane 0 is the low bits in both.
    unsafe {
        let v = std::mem::transmute::<u128, __m128i>(a);
        let by = |width: u32| _mm_cvtsi32_si128((count % width) as i32);
        let r = match op {
            O::I16x8Shl => _mm_sll_epi16(v, by(16)),
            O::I16x8ShrS => _mm_sra_epi16(v, by(16)),
            O::I16x8ShrU => _mm_srl_epi16(v, by(16)),
            O::I32x4Shl => _mm_sll_epi32(v, by(32)),
            O::I32x4ShrS => _mm_sra_epi32(v, by(32)),
            O::I32x4ShrU => _mm_srl_epi32(v, by(32)),
            O::I64x2Shl => _mm_sll_epi64(v, by(64)),
            O::I64x2ShrU => _mm_srl_epi64(v, by(64)),
            _ => return None,
        };
        Some(std::mem::transmute::<__m128i, u128>(r))
    }
}

#[inline(always)]
pub(super) fn splat(op: V128SplatOp, x: u64) -> u128 {
    use V128SplatOp as O;
    match op {
        O::I8x16Splat => from_u8x16([x as u8; 16]),
        O::I16x8Splat => from_u16x8([x as u16; 8]),
        O::I32x4Splat | O::F32x4Splat => from_u32x4([x as u32; 4]),
        O::I64x2Splat | O::F64x2Splat => from_u64x2([x; 2]),
    }
}

/// `v128 × v128 × v128 → v128`.
#[inline(always)]
pub(super) fn ternary(op: V128TernaryOp, a: u128, b: u128, c: u128) -> u128 {
    use V128TernaryOp as O;
    match op {
        O::V128Bitselect
        | O::I8x16RelaxedLaneselect
        | O::I16x8RelaxedLaneselect
        | O::I32x4RelaxedLaneselect
        | O::I64x2RelaxedLaneselect => bitselect(a, b, c),
        O::F32x4RelaxedMadd => {
            let (x, y, z) = (f32x4(a), f32x4(b), f32x4(c));
            from_f32x4(build(|i| x[i] * y[i] + z[i]))
        }
        O::F32x4RelaxedNmadd => {
            let (x, y, z) = (f32x4(a), f32x4(b), f32x4(c));
            from_f32x4(build(|i| -(x[i] * y[i]) + z[i]))
        }
        O::F64x2RelaxedMadd => {
            let (x, y, z) = (f64x2(a), f64x2(b), f64x2(c));
            from_f64x2(build(|i| x[i] * y[i] + z[i]))
        }
        O::F64x2RelaxedNmadd => {
            let (x, y, z) = (f64x2(a), f64x2(b), f64x2(c));
            from_f64x2(build(|i| -(x[i] * y[i]) + z[i]))
        }
        O::I32x4RelaxedDotI8x16I7x16AddS => {
            let (x, y, acc) = (i8x16(a), i8x16(b), i32x4(c));
            from_i32x4(build(|i| {
                (0..4)
                    .map(|k| x[4 * i + k] as i32 * y[4 * i + k] as i32)
                    .fold(acc[i], i32::wrapping_add)
            }))
        }
    }
}

/// Lane `lane` of `a` as a slot value (integers zero- or sign-extended to 32 bits, like an `i32`).
#[inline(always)]
pub(super) fn extract_lane(op: V128ExtractOp, a: u128, lane: u8) -> u64 {
    let lane = lane as usize;
    match op {
        V128ExtractOp::I8x16S => i8x16(a)[lane] as i32 as u32 as u64,
        V128ExtractOp::I8x16U => u8x16(a)[lane] as u64,
        V128ExtractOp::I16x8S => i16x8(a)[lane] as i32 as u32 as u64,
        V128ExtractOp::I16x8U => u16x8(a)[lane] as u64,
        V128ExtractOp::I32x4 => u32x4(a)[lane] as u64,
        V128ExtractOp::I64x2 => u64x2(a)[lane],
    }
}

/// `a` with lane `lane` replaced by the low bits of `x`.
#[inline(always)]
pub(super) fn replace_lane(op: V128ReplaceOp, a: u128, x: u64, lane: u8) -> u128 {
    let lane = lane as usize;
    match op {
        V128ReplaceOp::I8x16 => {
            let mut l = u8x16(a);
            l[lane] = x as u8;
            from_u8x16(l)
        }
        V128ReplaceOp::I16x8 => {
            let mut l = u16x8(a);
            l[lane] = x as u16;
            from_u16x8(l)
        }
        V128ReplaceOp::I32x4 => {
            let mut l = u32x4(a);
            l[lane] = x as u32;
            from_u32x4(l)
        }
        V128ReplaceOp::I64x2 => {
            let mut l = u64x2(a);
            l[lane] = x;
            from_u64x2(l)
        }
    }
}

/// `i8x16.shuffle`: lane `i` is lane `mask[i]` of the 32 lanes of `a` then `b` (validated `< 32`).
pub(super) fn shuffle(a: u128, b: u128, mask: u128) -> u128 {
    let (a, b) = (u8x16(a), u8x16(b));
    from_u8x16(map(u8x16(mask), |m| {
        let m = (m & 31) as usize;
        if m < 16 { a[m] } else { b[m - 16] }
    }))
}

/// Builds the v128 result of a load from the `op.bytes()` bytes read (little-endian, in the low bits of
/// `raw`).
pub(super) fn finish_load(op: V128LoadOp, raw: u128) -> u128 {
    use V128LoadOp as L;
    match op {
        L::V128Load | L::V128Load32Zero | L::V128Load64Zero => raw,
        L::V128Load8x8S => from_i16x8(half!(raw, i8x16, 8, false, |x| x as i16)),
        L::V128Load8x8U => from_u16x8(half!(raw, u8x16, 8, false, |x| x as u16)),
        L::V128Load16x4S => from_i32x4(half!(raw, i16x8, 4, false, |x| x as i32)),
        L::V128Load16x4U => from_u32x4(half!(raw, u16x8, 4, false, |x| x as u32)),
        L::V128Load32x2S => from_i64x2(half!(raw, i32x4, 2, false, |x| x as i64)),
        L::V128Load32x2U => from_u64x2(half!(raw, u32x4, 2, false, |x| x as u64)),
        L::V128Load8Splat => splat(V128SplatOp::I8x16Splat, raw as u64),
        L::V128Load16Splat => splat(V128SplatOp::I16x8Splat, raw as u64),
        L::V128Load32Splat => splat(V128SplatOp::I32x4Splat, raw as u64),
        L::V128Load64Splat => splat(V128SplatOp::I64x2Splat, raw as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_round_trip_in_little_endian_order() {
        let v = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100u128;
        assert_eq!(u8x16(v)[0], 0);
        assert_eq!(u8x16(v)[15], 15);
        assert_eq!(u16x8(v)[1], 0x0302);
        assert_eq!(from_u32x4(u32x4(v)), v);
        assert_eq!(from_f64x2(f64x2(v)), v);
    }

    #[test]
    fn relaxed_operators_match_their_deterministic_counterparts() {
        let a = 0x8000_7fff_0001_ffff_8000_8000_1234_5678u128;
        let b = 0x8000_7fff_ffff_0002_8000_7fff_4321_8765u128;
        assert_eq!(
            binary(V128BinaryOp::I16x8RelaxedQ15mulrS, a, b),
            binary(V128BinaryOp::I16x8Q15MulrSatS, a, b)
        );
        assert_eq!(
            binary(V128BinaryOp::I8x16RelaxedSwizzle, a, b),
            binary(V128BinaryOp::I8x16Swizzle, a, b)
        );
        assert_eq!(
            ternary(V128TernaryOp::I32x4RelaxedLaneselect, a, b, a ^ b),
            ternary(V128TernaryOp::V128Bitselect, a, b, a ^ b)
        );
    }
}
