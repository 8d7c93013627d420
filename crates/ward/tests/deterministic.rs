//! `Config::deterministic`: every NaN an operator makes is the canonical one, scalar and SIMD, while
//! operators that only move bits keep them. The spec suite passing in this mode is checked in
//! `ward-wast`'s `spec.rs`.

use ward::{Config, Engine, Instance, Module, Store};

const CANONICAL_F32: u32 = 0x7fc0_0000;
const CANONICAL_F64: u64 = 0x7ff8_0000_0000_0000;

/// Each export returns the bits of one operator's result. Operands come from parameters so that no
/// step of translation can fold them.
const WAT: &str = r#"
(module
  (func (export "f32_div") (param f32 f32) (result i32)
    (i32.reinterpret_f32 (f32.div (local.get 0) (local.get 1))))
  (func (export "f32_add") (param f32 f32) (result i32)
    (i32.reinterpret_f32 (f32.add (local.get 0) (local.get 1))))
  (func (export "f32_min") (param f32 f32) (result i32)
    (i32.reinterpret_f32 (f32.min (local.get 0) (local.get 1))))
  (func (export "f32_sqrt") (param f32) (result i32)
    (i32.reinterpret_f32 (f32.sqrt (local.get 0))))
  (func (export "f32_ceil") (param f32) (result i32)
    (i32.reinterpret_f32 (f32.ceil (local.get 0))))
  (func (export "f32_demote") (param f64) (result i32)
    (i32.reinterpret_f32 (f32.demote_f64 (local.get 0))))
  (func (export "f64_promote") (param f32) (result i64)
    (i64.reinterpret_f64 (f64.promote_f32 (local.get 0))))
  (func (export "f64_mul_add") (param f64 f64 f64) (result i64)
    (i64.reinterpret_f64 (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2))))
  (func (export "f64_sub_local") (param f64 f64) (result i64) (local f64)
    (local.set 2 (f64.sub (local.get 0) (local.get 1)))
    (i64.reinterpret_f64 (local.get 2)))
  (func (export "f64_add_store") (param f64 f64) (result i64)
    (f64.store (i32.const 8) (f64.add (local.get 0) (local.get 1)))
    (i64.load (i32.const 8)))
  (func (export "f32_neg") (param f32) (result i32)
    (i32.reinterpret_f32 (f32.neg (local.get 0))))
  (func (export "f32_copysign") (param f32 f32) (result i32)
    (i32.reinterpret_f32 (f32.copysign (local.get 0) (local.get 1))))
  (func (export "f32x4_add_lane") (param f32 f32 i32) (result i32)
    (i32.reinterpret_f32 (f32x4.extract_lane 2
      (f32x4.add (f32x4.splat (local.get 0)) (f32x4.splat (local.get 1))))))
  (func (export "f64x2_madd_lane") (param f64 f64 f64) (result i64)
    (i64.reinterpret_f64 (f64x2.extract_lane 1
      (f64x2.relaxed_madd (f64x2.splat (local.get 0)) (f64x2.splat (local.get 1))
                          (f64x2.splat (local.get 2))))))
  (func (export "f32x4_pmin_lane") (param f32 f32) (result i32)
    (i32.reinterpret_f32 (f32x4.extract_lane 0
      (f32x4.pmin (f32x4.splat (local.get 0)) (f32x4.splat (local.get 1))))))
  (memory 1))
"#;

struct Run {
    store: Store<()>,
    instance: Instance,
}

impl Run {
    fn new(deterministic: bool) -> Run {
        let mut config = Config::new();
        config.deterministic(deterministic);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        Run { store, instance }
    }

    fn f32<P: ward::WasmParams>(&mut self, name: &str, params: P) -> u32 {
        let f = self
            .instance
            .get_typed_func::<P, i32>(&self.store, name)
            .unwrap();
        f.call(&mut self.store, params).unwrap() as u32
    }

    fn f64<P: ward::WasmParams>(&mut self, name: &str, params: P) -> u64 {
        let f = self
            .instance
            .get_typed_func::<P, i64>(&self.store, name)
            .unwrap();
        f.call(&mut self.store, params).unwrap() as u64
    }
}

/// NaNs with a payload and a set sign bit, which hosts propagate in their own ways.
fn nan32() -> f32 {
    f32::from_bits(0xffc0_1234)
}
fn nan64() -> f64 {
    f64::from_bits(0xfff8_0000_0000_5678)
}

#[test]
fn every_nan_an_operator_makes_is_canonical() {
    let mut run = Run::new(true);
    assert_eq!(run.f32("f32_div", (0.0f32, 0.0f32)), CANONICAL_F32);
    assert_eq!(run.f32("f32_add", (nan32(), 1.0f32)), CANONICAL_F32);
    assert_eq!(run.f32("f32_add", (1.0f32, nan32())), CANONICAL_F32);
    assert_eq!(run.f32("f32_min", (nan32(), 1.0f32)), CANONICAL_F32);
    assert_eq!(run.f32("f32_sqrt", (-1.0f32,)), CANONICAL_F32);
    assert_eq!(run.f32("f32_ceil", (nan32(),)), CANONICAL_F32);
    assert_eq!(run.f32("f32_demote", (nan64(),)), CANONICAL_F32);
    assert_eq!(run.f64("f64_promote", (nan32(),)), CANONICAL_F64);
    assert_eq!(
        run.f64("f64_mul_add", (nan64(), 2.0f64, 1.0f64)),
        CANONICAL_F64
    );
    assert_eq!(
        run.f64("f64_mul_add", (f64::INFINITY, 0.0f64, 1.0f64)),
        CANONICAL_F64
    );
    assert_eq!(run.f64("f64_sub_local", (nan64(), 1.0f64)), CANONICAL_F64);
    assert_eq!(
        run.f64("f64_sub_local", (f64::INFINITY, f64::INFINITY)),
        CANONICAL_F64
    );
    assert_eq!(run.f64("f64_add_store", (nan64(), 1.0f64)), CANONICAL_F64);
    assert_eq!(
        run.f32("f32x4_add_lane", (nan32(), 1.0f32, 0)),
        CANONICAL_F32
    );
    assert_eq!(
        run.f64("f64x2_madd_lane", (nan64(), 1.0f64, 1.0f64)),
        CANONICAL_F64
    );
    // Results that are not NaN are untouched.
    assert_eq!(run.f32("f32_div", (1.0f32, 4.0f32)), 0.25f32.to_bits());
    assert_eq!(
        run.f64("f64_mul_add", (3.0f64, 2.0f64, 1.0f64)),
        7.0f64.to_bits()
    );
    assert_eq!(
        run.f32("f32x4_add_lane", (1.5f32, 1.0f32, 0)),
        2.5f32.to_bits()
    );
}

#[test]
fn operators_that_move_bits_keep_the_payload() {
    let mut run = Run::new(true);
    assert_eq!(run.f32("f32_neg", (nan32(),)), 0x7fc0_1234);
    assert_eq!(run.f32("f32_copysign", (nan32(), 1.0f32)), 0x7fc0_1234);
    assert_eq!(run.f32("f32x4_pmin_lane", (nan32(), 1.0f32)), 0xffc0_1234);
}

/// Without the switch the host's NaN comes through; on the machines ward is tested on (x86-64 and
/// Arm64) it is not the canonical positive NaN for these operands, which shows that the switch is
/// what makes the results above canonical.
#[test]
fn without_the_switch_the_host_nan_comes_through() {
    let mut run = Run::new(false);
    let propagated = run.f32("f32_add", (nan32(), 1.0f32));
    let from_zero_by_zero = run.f32("f32_div", (0.0f32, 0.0f32));
    assert!(f32::from_bits(propagated).is_nan());
    assert!(f32::from_bits(from_zero_by_zero).is_nan());
    if cfg!(target_arch = "x86_64") {
        // x86 passes the operand's payload on and makes the negative default NaN from 0/0.
        assert_eq!(propagated, 0xffc0_1234);
        assert_eq!(from_zero_by_zero, 0xffc0_0000);
    }
}
