//! Wasm float semantics the hardware does not give directly, shared by the scalar executor (`exec`) and
//! the SIMD lane operations (`simd`).

/// `f32.min`: NaN if either operand is NaN, and -0 below +0.
#[inline]
pub(crate) fn fmin32(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}

/// `f32.max`: NaN if either operand is NaN, and +0 above -0.
#[inline]
pub(crate) fn fmax32(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() { a } else { b }
    } else {
        a.max(b)
    }
}

/// `f64.min`, as [`fmin32`].
#[inline]
pub(crate) fn fmin64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}

/// `f64.max`, as [`fmax32`].
#[inline]
pub(crate) fn fmax64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() { a } else { b }
    } else {
        a.max(b)
    }
}

/// Applies a rounding function, making NaN results quiet as Wasm requires (libm may pass a signalling
/// NaN through unchanged).
#[inline]
pub(crate) fn round32(x: f32, f: fn(f32) -> f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        f(x)
    }
}

/// [`round32`] for `f64`.
#[inline]
pub(crate) fn round64(x: f64, f: fn(f64) -> f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        f(x)
    }
}

/// The canonical `f32` NaN of `Config::deterministic`: quiet, no payload, sign clear.
pub(crate) const CANONICAL_F32_NAN: u32 = 0x7fc0_0000;

/// The canonical `f64` NaN of `Config::deterministic`.
pub(crate) const CANONICAL_F64_NAN: u64 = 0x7ff8_0000_0000_0000;

/// `bits` unchanged unless they are a NaN `f32`, which becomes [`CANONICAL_F32_NAN`].
#[inline]
pub(crate) fn canonical_f32(bits: u32) -> u32 {
    // A NaN: all exponent bits set and a nonzero mantissa.
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        CANONICAL_F32_NAN
    } else {
        bits
    }
}

/// [`canonical_f32`] for `f64`.
#[inline]
pub(crate) fn canonical_f64(bits: u64) -> u64 {
    if bits & 0x7fff_ffff_ffff_ffff > 0x7ff0_0000_0000_0000 {
        CANONICAL_F64_NAN
    } else {
        bits
    }
}

/// [`canonical_f32`] on each lane of an `f32x4`.
#[inline]
pub(crate) fn canonical_f32x4(v: u128) -> u128 {
    (0..4).fold(0, |acc, lane| {
        let bits = (v >> (32 * lane)) as u32;
        acc | ((canonical_f32(bits) as u128) << (32 * lane))
    })
}

/// [`canonical_f64`] on each lane of an `f64x2`.
#[inline]
pub(crate) fn canonical_f64x2(v: u128) -> u128 {
    canonical_f64(v as u64) as u128 | ((canonical_f64((v >> 64) as u64) as u128) << 64)
}
