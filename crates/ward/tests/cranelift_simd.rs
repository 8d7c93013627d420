//! The Cranelift tier's SIMD (`v128`): every SIMD operator against the interpreter on edge-case
//! lanes, `v128` parameters and results across host → compiled, compiled → compiled and
//! compiled ↔ interpreted calls (slots: a `v128` takes two), `v128` globals, SIMD memory accesses
//! at the memory's end, and on-stack replacement with `v128` locals. Needs ward's `cranelift`
//! feature.
#![cfg(feature = "cranelift")]

mod support {
    pub mod tier_outcome;
}

use support::tier_outcome::{Outcome, call};
use ward::{Caller, Config, Engine, Func, Instance, Linker, Module, Store, Strategy, Val};

fn engine(strategy: Strategy, skip: Option<u64>) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy).cranelift_skip_functions(skip);
    Engine::new(&config).expect("an engine")
}

/// `wat` instantiated under `strategy` (with the host import `host.mix` if the module wants it);
/// also returns how many functions were compiled.
fn instantiate(wat: &str, strategy: Strategy, skip: Option<u64>) -> (Store<()>, Instance, usize) {
    let engine = engine(strategy, skip);
    let module = Module::new(&engine, wat).expect("module compiles");
    let compiled = module.compiled_function_count();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // A host function with a `v128` between scalars: (i32, v128, f64) → (v128, i64).
    let mix = Func::new(
        &mut store,
        ward::FuncType::new(
            [ward::ValType::I32, ward::ValType::V128, ward::ValType::F64],
            [ward::ValType::V128, ward::ValType::I64],
        ),
        |_caller: Caller<'_, ()>, args: &[Val], results: &mut [Val]| {
            let (Val::I32(a), Val::V128(v), Val::F64(f)) = (args[0], args[1], args[2]) else {
                panic!("{args:?}")
            };
            results[0] = Val::V128(v.rotate_left(8) ^ a as u32 as u128);
            results[1] = Val::I64(f64::from_bits(f) as i64 + (v >> 120) as i64);
            Ok(())
        },
    )
    .expect("a host function");
    linker.define(&store, "host", "mix", mix).expect("defined");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance, compiled)
}

fn is_nan_lanes(shape: &str, x: u128, y: u128) -> bool {
    // Lane by lane: equal, or NaN in both (payloads may differ between the tiers).
    match shape {
        "f32" => (0..4).all(|i| {
            let (a, b) = ((x >> (32 * i)) as u32, (y >> (32 * i)) as u32);
            a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
        }),
        "f64" => (0..2).all(|i| {
            let (a, b) = ((x >> (64 * i)) as u64, (y >> (64 * i)) as u64);
            a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
        }),
        _ => false,
    }
}

/// Interesting `v128` operands: lanes at the edges of every shape, NaNs, zeros of both signs,
/// infinities, halves, and mixed patterns.
fn v128_inputs() -> Vec<u128> {
    let mut v = vec![
        0,
        u128::MAX,
        0x8080_8080_8080_8080_8080_8080_8080_8080,
        0x7f7f_7f7f_7f7f_7f7f_7f7f_7f7f_7f7f_7f7f,
        0x8000_7fff_0001_ffff_8000_8000_1234_5678,
        0x8000_0000_7fff_ffff_0000_0001_ffff_ffff,
        0x8000_0000_0000_0000_7fff_ffff_ffff_ffff,
        0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100,
        0x1f1e_1d1c_1b1a_1918_1716_1514_1312_1110,
    ];
    let f32s: [f32; 12] = [
        0.0,
        -0.0,
        1.5,
        -2.5,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        2147483648.0,
        -2147483904.0,
        4294967296.0,
    ];
    for c in f32s.chunks(4) {
        v.push(
            c.iter()
                .enumerate()
                .fold(0, |a, (i, x)| a | (x.to_bits() as u128) << (32 * i)),
        );
    }
    v.push(0x7fa0_0001_ffc0_0000_3f00_0000_bf00_0000); // sNaN, -qNaN, 0.5, -0.5
    let f64s: [f64; 8] = [
        0.0,
        -0.0,
        f64::NAN,
        2.5,
        -3.5,
        f64::INFINITY,
        4294967296.0,
        -2147483649.0,
    ];
    for c in f64s.chunks(2) {
        v.push(c[0].to_bits() as u128 | (c[1].to_bits() as u128) << 64);
    }
    v.push(0x7ff4_0000_0000_0001_8000_0000_0000_0000); // sNaN, -0.0
    v
}

/// (operator, operand kinds, result shape for NaN tolerance): `v` a v128, `i` an i32.
fn simd_operators() -> Vec<(String, &'static str, &'static str)> {
    let mut ops: Vec<(String, &'static str, &'static str)> = Vec::new();
    type Ops = Vec<(String, &'static str, &'static str)>;
    fn add(ops: &mut Ops, names: &[&str], operands: &'static str, shape: &'static str) {
        for n in names {
            ops.push((n.to_string(), operands, shape));
        }
    }
    add(
        &mut ops,
        &[
            "v128.and",
            "v128.andnot",
            "v128.or",
            "v128.xor",
            "i8x16.swizzle",
            "i8x16.relaxed_swizzle",
            "i8x16.narrow_i16x8_s",
            "i8x16.narrow_i16x8_u",
            "i16x8.narrow_i32x4_s",
            "i16x8.narrow_i32x4_u",
            "i16x8.q15mulr_sat_s",
            "i16x8.relaxed_q15mulr_s",
            "i32x4.dot_i16x8_s",
            "i16x8.relaxed_dot_i8x16_i7x16_s",
        ],
        "vv",
        "",
    );
    for t in ["i8x16", "i16x8", "i32x4", "i64x2"] {
        for op in ["add", "sub", "eq", "ne", "lt_s", "gt_s", "le_s", "ge_s"] {
            ops.push((format!("{t}.{op}"), "vv", ""));
        }
        for op in ["abs", "neg", "all_true", "bitmask"] {
            ops.push((format!("{t}.{op}"), "v", ""));
        }
        for op in ["shl", "shr_s", "shr_u"] {
            ops.push((format!("{t}.{op}"), "vi", ""));
        }
        ops.push((
            format!("{t}.splat"),
            if t == "i64x2" { "l" } else { "i" },
            "",
        ));
    }
    for t in ["i8x16", "i16x8", "i32x4"] {
        for op in [
            "lt_u", "gt_u", "le_u", "ge_u", "min_s", "min_u", "max_s", "max_u",
        ] {
            ops.push((format!("{t}.{op}"), "vv", ""));
        }
    }
    for t in ["i8x16", "i16x8"] {
        for op in ["add_sat_s", "add_sat_u", "sub_sat_s", "sub_sat_u", "avgr_u"] {
            ops.push((format!("{t}.{op}"), "vv", ""));
        }
    }
    add(&mut ops, &["i16x8.mul", "i32x4.mul", "i64x2.mul"], "vv", "");
    for (t, from) in [("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")] {
        for half in ["low", "high"] {
            for sign in ["s", "u"] {
                ops.push((format!("{t}.extmul_{half}_{from}_{sign}"), "vv", ""));
                ops.push((format!("{t}.extend_{half}_{from}_{sign}"), "v", ""));
            }
        }
    }
    add(
        &mut ops,
        &[
            "i16x8.extadd_pairwise_i8x16_s",
            "i16x8.extadd_pairwise_i8x16_u",
            "i32x4.extadd_pairwise_i16x8_s",
            "i32x4.extadd_pairwise_i16x8_u",
            "i8x16.popcnt",
            "v128.not",
            "v128.any_true",
            "i32x4.trunc_sat_f32x4_s",
            "i32x4.trunc_sat_f32x4_u",
            "i32x4.trunc_sat_f64x2_s_zero",
            "i32x4.trunc_sat_f64x2_u_zero",
            "i32x4.relaxed_trunc_f32x4_s",
            "i32x4.relaxed_trunc_f32x4_u",
            "i32x4.relaxed_trunc_f64x2_s_zero",
            "i32x4.relaxed_trunc_f64x2_u_zero",
        ],
        "v",
        "",
    );
    add(
        &mut ops,
        &[
            "f32x4.convert_i32x4_s",
            "f32x4.convert_i32x4_u",
            "f32x4.demote_f64x2_zero",
        ],
        "v",
        "f32",
    );
    add(
        &mut ops,
        &[
            "f64x2.convert_low_i32x4_s",
            "f64x2.convert_low_i32x4_u",
            "f64x2.promote_low_f32x4",
        ],
        "v",
        "f64",
    );
    add(
        &mut ops,
        &[
            "v128.bitselect",
            "i8x16.relaxed_laneselect",
            "i16x8.relaxed_laneselect",
            "i32x4.relaxed_laneselect",
            "i64x2.relaxed_laneselect",
            "i32x4.relaxed_dot_i8x16_i7x16_add_s",
        ],
        "vvv",
        "",
    );
    for (t, shape) in [("f32x4", "f32"), ("f64x2", "f64")] {
        for op in [
            "add",
            "sub",
            "mul",
            "div",
            "min",
            "max",
            "pmin",
            "pmax",
            "relaxed_min",
            "relaxed_max",
        ] {
            ops.push((format!("{t}.{op}"), "vv", shape));
        }
        for op in ["eq", "ne", "lt", "gt", "le", "ge"] {
            ops.push((format!("{t}.{op}"), "vv", ""));
        }
        for op in ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"] {
            ops.push((format!("{t}.{op}"), "v", shape));
        }
        for op in ["relaxed_madd", "relaxed_nmadd"] {
            ops.push((format!("{t}.{op}"), "vvv", shape));
        }
    }
    ops.push(("f32x4.splat".into(), "f", "f32"));
    ops.push(("f64x2.splat".into(), "d", "f64"));
    ops
}

#[test]
fn every_simd_operator_gives_the_interpreters_results() {
    let ops = simd_operators();
    let mut wat = String::from("(module\n");
    for (op, operands, _) in &ops {
        let params: String = operands
            .chars()
            .map(|c| match c {
                'v' => "(param v128) ",
                'i' => "(param i32) ",
                'f' => "(param f32) ",
                'l' => "(param i64) ",
                _ => "(param f64) ",
            })
            .collect();
        let gets: String = (0..operands.len())
            .map(|i| format!("local.get {i} "))
            .collect();
        // Results that are not a v128 are splat into one, so every function returns a v128.
        let widen = match op.rsplit('.').next().unwrap() {
            "all_true" | "bitmask" | "any_true" => " i32x4.splat",
            _ => "",
        };
        wat += &format!("(func (export \"{op}\") {params}(result v128) {gets}{op}{widen})\n");
    }
    // Lanes: extract and replace every lane of every shape.
    for (t, n, scalar) in [
        ("i8x16", 16, "i32"),
        ("i16x8", 8, "i32"),
        ("i32x4", 4, "i32"),
        ("i64x2", 2, "i64"),
        ("f32x4", 4, "f32"),
        ("f64x2", 2, "f64"),
    ] {
        for lane in 0..n {
            let extracts: Vec<String> = if n > 4 {
                vec![
                    format!("extract_lane_s {lane}"),
                    format!("extract_lane_u {lane}"),
                ]
            } else {
                vec![format!("extract_lane {lane}")]
            };
            for (k, e) in extracts.iter().enumerate() {
                wat += &format!(
                    "(func (export \"{t}.x{k}.{lane}\") (param v128) (result {scalar}) local.get 0 {t}.{e})\n"
                );
            }
            wat += &format!(
                "(func (export \"{t}.r.{lane}\") (param v128 v128) (result v128) local.get 0 local.get 1 {t}.extract_lane{} {} {t}.replace_lane {lane})\n",
                if n > 4 { "_u" } else { "" },
                (lane + 1) % n
            );
        }
    }
    wat += "(func (export \"shuffle\") (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.shuffle 31 0 30 1 29 2 28 3 16 15 17 14 18 13 19 12)\n";
    wat += ")";
    let (mut interp, interp_instance, none) = instantiate(&wat, Strategy::Interpreter, None);
    assert_eq!(none, 0);
    let (mut clif, clif_instance, compiled) = instantiate(&wat, Strategy::Cranelift, None);
    let exports = wat.matches("(func (export").count();
    assert_eq!(compiled, exports, "every SIMD function is compiled");

    let vs = v128_inputs();
    let is = [
        0i32,
        1,
        7,
        8,
        15,
        16,
        31,
        33,
        63,
        64,
        65,
        -1,
        i32::MIN,
        0x7f,
        0x80,
        0x1234_5678,
    ];
    let mut checked = 0;
    let mut check = |name: &str, args: Vec<Val>, shape: &str| {
        let a = call(&mut interp, &interp_instance, name, &args);
        let b = call(&mut clif, &clif_instance, name, &args);
        match (&a, &b) {
            (Outcome::Returned(x), Outcome::Returned(y))
                if x.len() == 1 && is_nan_lanes(shape, x[0], y[0]) => {}
            _ => assert_eq!(a, b, "{name}{args:?}"),
        }
        checked += 1;
    };
    for (op, operands, shape) in &ops {
        match *operands {
            "v" => vs
                .iter()
                .for_each(|a| check(op, vec![Val::V128(*a)], shape)),
            "vv" => {
                for a in &vs {
                    for b in &vs {
                        check(op, vec![Val::V128(*a), Val::V128(*b)], shape);
                    }
                }
            }
            "vvv" => {
                for a in &vs {
                    for b in vs.iter().step_by(3) {
                        for c in vs.iter().step_by(4) {
                            check(op, vec![Val::V128(*a), Val::V128(*b), Val::V128(*c)], shape);
                        }
                    }
                }
            }
            "vi" => {
                for a in &vs {
                    for c in is {
                        check(op, vec![Val::V128(*a), Val::I32(c)], shape);
                    }
                }
            }
            "i" => is.iter().for_each(|c| check(op, vec![Val::I32(*c)], shape)),
            "l" => vs
                .iter()
                .for_each(|a| check(op, vec![Val::I64((*a >> 37) as i64)], shape)),
            "f" => vs
                .iter()
                .for_each(|a| check(op, vec![Val::F32(*a as u32)], shape)),
            "d" => vs
                .iter()
                .for_each(|a| check(op, vec![Val::F64(*a as u64)], shape)),
            other => unreachable!("{other}"),
        }
    }
    for (t, n) in [
        ("i8x16", 16),
        ("i16x8", 8),
        ("i32x4", 4),
        ("i64x2", 2),
        ("f32x4", 4),
        ("f64x2", 2),
    ] {
        for lane in 0..n {
            for a in &vs {
                for k in 0..if n > 4 { 2 } else { 1 } {
                    check(&format!("{t}.x{k}.{lane}"), vec![Val::V128(*a)], "");
                }
                check(
                    &format!("{t}.r.{lane}"),
                    vec![Val::V128(*a), Val::V128(!*a)],
                    "",
                );
            }
        }
    }
    for a in &vs {
        check(
            "shuffle",
            vec![Val::V128(*a), Val::V128(a.rotate_left(40))],
            "",
        );
    }
    assert!(checked > 20_000, "{checked} cases");
}

/// Calls through every kind of edge with `v128` values between scalars, so that any slot
/// misplacement shows: host → compiled, compiled → compiled, compiled ↔ interpreted (direct and
/// through a table), compiled → host, and `v128` globals.
const CALLS: &str = r#"(module
  (import "host" "mix" (func $mix (param i32 v128 f64) (result v128 i64)))
  (type $t (func (param v128 i32 v128) (result i64 v128 f32)))
  (table 2 funcref)
  (elem (i32.const 0) $shuffle $leaf)
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (global $s (mut i64) (i64.const 5))
  (func $leaf (type $t)
    local.get 1 i64.extend_i32_u
    local.get 0 local.get 2 i32x4.add
    local.get 2 f32x4.extract_lane 3)
  (func $shuffle (type $t)
    local.get 0 i64x2.extract_lane 1
    local.get 2 local.get 0 i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
    local.get 1 f32.convert_i32_s)
  (func $middle (param $a v128) (param $x f64) (param $b v128) (param $i i32) (result v128 f64 v128)
    (local $t v128) (local $acc i64)
    ;; direct call
    local.get $b local.get $i local.get $a call $leaf
    drop local.set $t local.set $acc
    ;; through the table
    local.get $a local.get $i local.get $t local.get $i i32.const 1 i32.and call_indirect (type $t)
    f64.promote_f32 local.get $x f64.add local.set $x
    local.get $t i8x16.add local.set $t
    local.get $acc i64.add local.set $acc
    ;; the host
    local.get $i local.get $t local.get $x call $mix
    local.get $acc i64.add global.get $s i64.add global.set $s
    global.get $g i16x8.add global.set $g
    global.get $g
    local.get $x
    local.get $t local.get $acc i64x2.splat i64x2.sub)
  (func (export "run") (param v128 f64 v128 i32) (result v128 f64 v128 v128 i64)
    local.get 0 local.get 1 local.get 2 local.get 3 call $middle
    global.get $g global.get $s))"#;

#[test]
fn v128_values_cross_every_kind_of_call_in_their_slots() {
    let (mut interp, interp_instance, _) = instantiate(CALLS, Strategy::Interpreter, None);
    let args = |k: u128| {
        vec![
            Val::V128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128.wrapping_mul(k + 1)),
            Val::F64((1.25 * k as f64).to_bits()),
            Val::V128(0x4040_0000_c0c0_0000_3f80_0000_bf80_0000u128 ^ k),
            Val::I32(k as i32 - 2),
        ]
    };
    let expected: Vec<Outcome> = (0..6)
        .map(|k| call(&mut interp, &interp_instance, "run", &args(k)))
        .collect();
    assert!(matches!(&expected[0], Outcome::Returned(r) if r.len() == 5));
    // All compiled, then several mixes of compiled and interpreted functions.
    let mut mixes = 0;
    for skip in [
        None,
        Some(1),
        Some(2),
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        Some(7),
    ] {
        let (mut clif, clif_instance, compiled) = instantiate(CALLS, Strategy::Cranelift, skip);
        if skip.is_none() {
            assert_eq!(compiled, 4, "every function is compiled");
        } else if (1..4).contains(&compiled) {
            mixes += 1;
        }
        for (k, want) in expected.iter().enumerate() {
            let got = call(&mut clif, &clif_instance, "run", &args(k as u128));
            assert_eq!(&got, want, "skip {skip:?}, case {k}");
        }
    }
    assert!(mixes >= 2, "{mixes} mixed instantiations");
}

#[test]
fn simd_memory_accesses_are_bounds_checked_at_the_memory_end() {
    let accesses = [
        ("v128.load", 16),
        ("v128.load8x8_s", 8),
        ("v128.load16x4_u", 8),
        ("v128.load32x2_s", 8),
        ("v128.load8_splat", 1),
        ("v128.load16_splat", 2),
        ("v128.load32_splat", 4),
        ("v128.load64_splat", 8),
        ("v128.load32_zero", 4),
        ("v128.load64_zero", 8),
    ];
    let mut wat = String::from("(module (memory 1)\n");
    for (op, _) in accesses {
        wat += &format!(
            "(func (export \"{op}\") (param i32) (result v128) local.get 0 {op} offset=3)\n"
        );
    }
    for (n, lanes) in [(8, 16), (16, 8), (32, 4), (64, 2)] {
        let last = lanes - 1;
        wat += &format!(
            "(func (export \"load{n}_lane\") (param i32 v128) (result v128) local.get 0 local.get 1 v128.load{n}_lane offset=1 {last})\n\
             (func (export \"store{n}_lane\") (param i32 v128) local.get 0 local.get 1 v128.store{n}_lane offset=1 {last})\n"
        );
    }
    wat += "(func (export \"store\") (param i32 v128) local.get 0 local.get 1 v128.store offset=2)\n\
            (func (export \"peek\") (param i32) (result v128) local.get 0 v128.load)\n\
            (func (export \"fill\") (local i32) loop local.get 0 local.get 0 i32.const 0x9e3779b1 i32.mul i32.store local.get 0 i32.const 4 i32.add local.tee 0 i32.const 65536 i32.lt_u br_if 0 end))";
    let (mut interp, ii, _) = instantiate(&wat, Strategy::Interpreter, None);
    let (mut clif, ci, compiled) = instantiate(&wat, Strategy::Cranelift, None);
    assert_eq!(compiled, wat.matches("(func").count());
    call(&mut interp, &ii, "fill", &[]);
    call(&mut clif, &ci, "fill", &[]);
    let end = 65536i32;
    let v = Val::V128(0x1122_3344_5566_7788_99aa_bbcc_ddee_ff00);
    let mut checked = 0;
    let mut both = |name: &str, args: &[Val]| {
        let a = call(&mut interp, &ii, name, args);
        let b = call(&mut clif, &ci, name, args);
        assert_eq!(a, b, "{name}{args:?}");
        checked += 1;
        a
    };
    for (op, size) in accesses {
        for addr in [
            0,
            5,
            end - 3 - size - 1,
            end - 3 - size,
            end - 3 - size + 1,
            end,
            -1,
        ] {
            let r = both(op, &[Val::I32(addr)]);
            assert_eq!(
                matches!(r, Outcome::Returned(_)),
                addr >= 0 && addr <= end - 3 - size,
                "{op} at {addr}"
            );
        }
    }
    for (n, bytes) in [(8, 1), (16, 2), (32, 4), (64, 8)] {
        for addr in [0, end - 1 - bytes - 1, end - 1 - bytes, end - bytes] {
            both(&format!("load{n}_lane"), &[Val::I32(addr), v]);
            both(&format!("store{n}_lane"), &[Val::I32(addr), v]);
            both("peek", &[Val::I32(addr.clamp(0, end - 16))]);
        }
    }
    for addr in [0, 7, end - 18, end - 17, end - 16, -2] {
        both("store", &[Val::I32(addr), v]);
        both("peek", &[Val::I32(addr.clamp(0, end - 16))]);
    }
    assert!(checked > 80);
}

/// On-stack replacement at a loop whose function has `v128` parameters and locals between
/// scalars: the compiled loop entry reads every local from its (two-slot) place.
#[test]
fn a_loop_with_v128_locals_moves_to_machine_code_and_agrees() {
    const LOOP: &str = r#"(module
      (import "host" "go_on" (func $go_on (param i64) (result i32)))
      (func (export "run") (param $a v128) (param $n i32) (param $b v128) (result v128 i64 v128)
        (local $i i64) (local $v v128) (local $f f32) (local $w v128)
        loop $again
          local.get $v local.get $a i32x4.add local.get $b i8x16.sub local.set $v
          local.get $w local.get $v v128.xor i64.const 3 i64x2.splat i64x2.mul local.set $w
          local.get $f f32.const 0.5 f32.add local.set $f
          local.get $i i64.const 1 i64.add local.tee $i
          call $go_on br_if $again
        end
        local.get $v local.get $i local.get $f i64.trunc_f32_s i64.add local.get $w local.get $n i32x4.splat i32x4.add))"#;
    let run = |strategy: Strategy, stop_at: i64| -> (Outcome, i64, usize) {
        let mut config = Config::new();
        config.strategy(strategy).tier_up_at_once(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, LOOP).unwrap();
        let mut store = Store::new(&engine, 0i64);
        let mut linker = Linker::new(&engine);
        let observed = module.clone();
        linker
            .func_wrap(
                "host",
                "go_on",
                move |mut caller: Caller<'_, i64>, i: i64| -> i32 {
                    let go_on = if stop_at > 0 {
                        i < stop_at
                    } else {
                        observed.compiled_loop_entry_count() == 0 && i < 50_000_000
                    };
                    if !go_on && *caller.data() == 0 {
                        *caller.data_mut() = i;
                    }
                    // A few hundred iterations after the entry, so compiled code runs the loop too.
                    (go_on || i < *caller.data() + 300) as i32
                },
            )
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let f = instance.get_func(&mut store, "run").unwrap();
        let args = [
            Val::V128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            Val::I32(7),
            Val::V128(0x8000_0000_0000_0001_7fff_ffff_ffff_fffe),
        ];
        let mut results = vec![Val::I32(0); 3];
        let outcome = support::tier_outcome::outcome_of(
            f.call(&mut store, &args, &mut results).map(|()| results),
        );
        (outcome, *store.data(), module.compiled_loop_entry_count())
    };
    let (auto, stopped_at, entries) = run(Strategy::Auto, 0);
    assert!(
        stopped_at < 50_000_000,
        "no code to enter the loop was compiled"
    );
    assert!(entries > 0);
    let (reference, _, _) = run(Strategy::Interpreter, stopped_at);
    assert_eq!(auto, reference);
}
