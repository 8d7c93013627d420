//! The Cranelift tier (`Strategy::Cranelift`) against the interpreter: results, traps with their
//! Wasm backtraces, memory bounds at every width, `call_indirect` checks, stack exhaustion, calls
//! across tiers and into the host, and the fallback rules. Needs ward's `cranelift` feature.
#![cfg(feature = "cranelift")]

mod support {
    pub mod tier_outcome;
}

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use support::tier_outcome::{Outcome, bits, call, outcome_of};

use ward::{
    Caller, Config, Engine, Extern, Func, Instance, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, Strategy, TrapKind, Val,
};

fn engine(strategy: Strategy) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy);
    Engine::new(&config).expect("the Cranelift tier is built in and supports this host")
}

/// A module instantiated in both tiers.
struct Both {
    interp: (Store<()>, Instance),
    clif: (Store<()>, Instance),
    compiled: usize,
}

impl Both {
    fn new(wat: &str) -> Both {
        let make = |strategy| {
            let engine = engine(strategy);
            let module = Module::new(&engine, wat).expect("module compiles");
            let compiled = module.compiled_function_count();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
            ((store, instance), compiled)
        };
        let (interp, none) = make(Strategy::Interpreter);
        assert_eq!(none, 0, "the interpreter compiles nothing");
        let (clif, compiled) = make(Strategy::Cranelift);
        Both {
            interp,
            clif,
            compiled,
        }
    }

    /// Calls `name` in both tiers; asserts they agree and returns the outcome.
    fn agree(&mut self, name: &str, args: &[Val]) -> Outcome {
        let a = call(&mut self.interp.0, &self.interp.1, name, args);
        let b = call(&mut self.clif.0, &self.clif.1, name, args);
        assert_eq!(a, b, "{name}{args:?}: interpreter vs Cranelift");
        a
    }
}

const I32S: &[i32] = &[
    0,
    1,
    -1,
    2,
    7,
    -7,
    31,
    32,
    33,
    i32::MIN,
    i32::MAX,
    0x1234_5678,
];
const I64S: &[i64] = &[
    0,
    1,
    -1,
    3,
    -3,
    63,
    64,
    65,
    i64::MIN,
    i64::MAX,
    0x1234_5678_9abc_def0,
];
const F32S: &[f32] = &[
    0.0,
    -0.0,
    1.5,
    -1.5,
    2.5,
    -0.5,
    3e9,
    -3e9,
    2147483520.0,
    -2147483648.0,
    4294967040.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MIN_POSITIVE,
];
const F64S: &[f64] = &[
    0.0,
    -0.0,
    1.5,
    -2.5,
    0.5,
    -1.0,
    2147483647.9,
    -2147483648.9,
    4294967295.5,
    9.3e18,
    1.9e19,
    -9.3e18,
    f64::INFINITY,
    f64::NAN,
    f64::MIN_POSITIVE,
];

fn vals(ty: &str) -> Vec<Val> {
    match ty {
        "i32" => I32S.iter().map(|v| Val::I32(*v)).collect(),
        "i64" => I64S.iter().map(|v| Val::I64(*v)).collect(),
        "f32" => F32S.iter().map(|v| Val::F32(v.to_bits())).collect(),
        "f64" => F64S.iter().map(|v| Val::F64(v.to_bits())).collect(),
        other => panic!("type {other}"),
    }
}

/// (operator, parameter types, result type) of every scalar numeric operator.
fn numeric_operators() -> Vec<(String, Vec<&'static str>, &'static str)> {
    let mut ops = Vec::new();
    for t in ["i32", "i64"] {
        for op in [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr",
        ] {
            ops.push((format!("{t}.{op}"), vec![t, t], t));
        }
        for op in [
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
        ] {
            ops.push((format!("{t}.{op}"), vec![t, t], "i32"));
        }
        for op in ["clz", "ctz", "popcnt", "extend8_s", "extend16_s"] {
            ops.push((format!("{t}.{op}"), vec![t], t));
        }
        ops.push((format!("{t}.eqz"), vec![t], "i32"));
    }
    ops.push(("i64.extend32_s".into(), vec!["i64"], "i64"));
    for t in ["f32", "f64"] {
        for op in ["add", "sub", "mul", "div", "min", "max", "copysign"] {
            ops.push((format!("{t}.{op}"), vec![t, t], t));
        }
        for op in ["eq", "ne", "lt", "gt", "le", "ge"] {
            ops.push((format!("{t}.{op}"), vec![t, t], "i32"));
        }
        for op in ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"] {
            ops.push((format!("{t}.{op}"), vec![t], t));
        }
    }
    for (to, from) in [
        ("i32", "f32"),
        ("i32", "f64"),
        ("i64", "f32"),
        ("i64", "f64"),
    ] {
        for op in ["trunc", "trunc_sat"] {
            for sign in ["s", "u"] {
                ops.push((format!("{to}.{op}_{from}_{sign}"), vec![from], to));
            }
        }
    }
    for (to, from) in [
        ("f32", "i32"),
        ("f32", "i64"),
        ("f64", "i32"),
        ("f64", "i64"),
    ] {
        for sign in ["s", "u"] {
            ops.push((format!("{to}.convert_{from}_{sign}"), vec![from], to));
        }
    }
    ops.push(("i32.wrap_i64".into(), vec!["i64"], "i32"));
    ops.push(("i64.extend_i32_s".into(), vec!["i32"], "i64"));
    ops.push(("i64.extend_i32_u".into(), vec!["i32"], "i64"));
    ops.push(("f32.demote_f64".into(), vec!["f64"], "f32"));
    ops.push(("f64.promote_f32".into(), vec!["f32"], "f64"));
    ops.push(("i32.reinterpret_f32".into(), vec!["f32"], "i32"));
    ops.push(("i64.reinterpret_f64".into(), vec!["f64"], "i64"));
    ops.push(("f32.reinterpret_i32".into(), vec!["i32"], "f32"));
    ops.push(("f64.reinterpret_i64".into(), vec!["i64"], "f64"));
    ops
}

fn is_nan_bits(ty: &str, bits: u128) -> bool {
    match ty {
        "f32" => f32::from_bits(bits as u32).is_nan(),
        "f64" => f64::from_bits(bits as u64).is_nan(),
        _ => false,
    }
}

#[test]
fn every_numeric_operator_gives_the_interpreters_results_and_traps() {
    let ops = numeric_operators();
    let mut wat = String::from("(module\n");
    for (op, params, result) in &ops {
        let params_text: Vec<String> = params.iter().map(|p| format!("(param {p})")).collect();
        let gets: Vec<String> = (0..params.len())
            .map(|i| format!("local.get {i}"))
            .collect();
        wat += &format!(
            "(func (export \"{op}\") {} (result {result}) {} {op})\n",
            params_text.join(" "),
            gets.join(" ")
        );
    }
    wat += ")";
    let mut both = Both::new(&wat);
    assert_eq!(
        both.compiled,
        ops.len(),
        "every numeric function is compiled"
    );
    let mut checked = 0;
    for (op, params, result) in &ops {
        let inputs: Vec<Vec<Val>> = match params.as_slice() {
            [a] => vals(a).into_iter().map(|v| vec![v]).collect(),
            [a, b] => vals(a)
                .into_iter()
                .flat_map(|x| vals(b).into_iter().map(move |y| vec![x, y]))
                .collect(),
            _ => unreachable!(),
        };
        for args in inputs {
            let a = call(&mut both.interp.0, &both.interp.1, op, &args);
            let b = call(&mut both.clif.0, &both.clif.1, op, &args);
            // NaN payloads may differ between the tiers without `Config::deterministic`: a NaN
            // result only has to be a NaN in both.
            match (&a, &b) {
                (Outcome::Returned(x), Outcome::Returned(y))
                    if is_nan_bits(result, x[0]) && is_nan_bits(result, y[0]) => {}
                _ => assert_eq!(a, b, "{op}{args:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked} cases");
}

#[test]
fn control_flow_multi_value_and_direct_calls_agree() {
    let wat = r#"(module
      (type $pair (func (param i32) (result i32 i64)))
      (func $swap (param i32 i64) (result i64 i32) local.get 1 local.get 0)
      (func (export "swap") (param i32 i64) (result i64 i32)
        local.get 0 local.get 1 call $swap call $swap2)
      (func $swap2 (param i64 i32) (result i64 i32) local.get 0 local.get 1)
      (func $fib (export "fib") (param i32) (result i64)
        local.get 0 i32.const 2 i32.lt_u
        if (result i64) local.get 0 i64.extend_i32_u
        else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i64.add end)
      (func (export "loop_sum") (param i32) (result i32) (local i32)
        block $out loop $l
          local.get 0 i32.eqz br_if $out
          local.get 1 local.get 0 i32.add local.set 1
          local.get 0 i32.const 1 i32.sub local.set 0
          br $l end end
        local.get 1)
      (func (export "br_table") (param i32) (result i32)
        block $a (result i32) block $b (result i32) block $c (result i32)
          i32.const 100 local.get 0 br_table $a $b $c $b
        end i32.const 1 i32.add end i32.const 10 i32.add end)
      (func (export "block_params") (param i32) (result i32 i32)
        local.get 0 i32.const 5
        block (param i32 i32) (result i32 i32) i32.add local.get 0 end)
      (func (export "loop_params") (param i32) (result i32)
        i32.const 0 local.get 0
        loop (param i32 i32) (result i32)
          local.tee 0 i32.add local.get 0 i32.const 1 i32.sub
          local.get 0 i32.const 1 i32.gt_s br_if 0 drop
        end)
      (func (export "select") (param i32 f64 f64) (result f64)
        local.get 1 local.get 2 local.get 0 select)
      (func (export "if_no_else") (param i32) (result i32)
        i32.const 3 local.get 0 if (param i32) (result i32) i32.const 4 i32.mul end)
      (func (export "early_return") (param i32) (result i32)
        block local.get 0 br_if 0 i32.const 7 return end
        i32.const 9)
      (func (export "dead_code") (param i32) (result i32)
        block (result i32) i32.const 1 br 0 i32.add unreachable end)
    )"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 12);
    assert_eq!(
        both.agree("swap", &[Val::I32(5), Val::I64(-6)]),
        Outcome::Returned(vec![-6i64 as u64 as u128, 5])
    );
    assert_eq!(
        both.agree("fib", &[Val::I32(20)]),
        Outcome::Returned(vec![6765])
    );
    assert_eq!(
        both.agree("loop_sum", &[Val::I32(100)]),
        Outcome::Returned(vec![5050])
    );
    for i in -1..6 {
        both.agree("br_table", &[Val::I32(i)]);
        both.agree("block_params", &[Val::I32(i)]);
        both.agree("loop_params", &[Val::I32(i)]);
        both.agree("if_no_else", &[Val::I32(i)]);
        both.agree("early_return", &[Val::I32(i)]);
        both.agree(
            "select",
            &[
                Val::I32(i),
                Val::F64(1.5f64.to_bits()),
                Val::F64(2.5f64.to_bits()),
            ],
        );
    }
    assert_eq!(
        both.agree("br_table", &[Val::I32(0)]),
        Outcome::Returned(vec![100])
    );
    assert_eq!(
        both.agree("dead_code", &[Val::I32(0)]),
        Outcome::Returned(vec![1])
    );
}

#[test]
fn every_trap_kind_has_the_interpreters_kind_and_backtrace() {
    let wat = r#"(module
      (memory 1)
      (table 2 funcref)
      (elem (i32.const 0) $target)
      (type $other (func (param i64)))
      (func $target (result i32) i32.const 1)
      (func (export "unreachable") unreachable)
      (func (export "div_zero") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
      (func (export "rem_zero") (param i64) (result i64) i64.const 1 local.get 0 i64.rem_s)
      (func (export "div_overflow") (param i32) (result i32) i32.const 0x80000000 local.get 0 i32.div_s)
      (func (export "trunc_nan") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
      (func (export "trunc_big") (param f64) (result i64) local.get 0 i64.trunc_f64_u)
      (func (export "load_oob") (param i32) (result i32) local.get 0 i32.load offset=4)
      (func (export "store_oob") (param i32) local.get 0 i64.const 1 i64.store16)
      (func (export "fill_oob") (param i32) local.get 0 i32.const 0 i32.const 2 memory.fill)
      (func (export "copy_oob") (param i32) i32.const 0 local.get 0 i32.const 2 memory.copy)
      (func (export "indirect_undefined") (result i32) i32.const 5 call_indirect (result i32))
      (func (export "indirect_null") (result i32) i32.const 1 call_indirect (result i32))
      (func (export "indirect_mismatch") i64.const 0 i32.const 0 call_indirect (type $other))
      (func $level3 (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
      (func $level2 (param i32) (result i32) local.get 0 call $level3 i32.const 1 i32.add)
      (func (export "nested") (param i32) (result i32) i32.const 0 drop local.get 0 call $level2)
    )"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 17);
    let traps = [
        ("unreachable", vec![], TrapKind::Unreachable),
        (
            "div_zero",
            vec![Val::I32(0)],
            TrapKind::IntegerDivisionByZero,
        ),
        (
            "rem_zero",
            vec![Val::I64(0)],
            TrapKind::IntegerDivisionByZero,
        ),
        (
            "div_overflow",
            vec![Val::I32(-1)],
            TrapKind::IntegerOverflow,
        ),
        (
            "trunc_nan",
            vec![Val::F32(f32::NAN.to_bits())],
            TrapKind::BadConversionToInteger,
        ),
        (
            "trunc_big",
            vec![Val::F64(1.9e19f64.to_bits())],
            TrapKind::IntegerOverflow,
        ),
        (
            "load_oob",
            vec![Val::I32(65530)],
            TrapKind::MemoryOutOfBounds,
        ),
        (
            "store_oob",
            vec![Val::I32(65535)],
            TrapKind::MemoryOutOfBounds,
        ),
        (
            "fill_oob",
            vec![Val::I32(65535)],
            TrapKind::MemoryOutOfBounds,
        ),
        ("copy_oob", vec![Val::I32(-1)], TrapKind::MemoryOutOfBounds),
        ("indirect_undefined", vec![], TrapKind::UndefinedElement),
        ("indirect_null", vec![], TrapKind::UninitializedElement),
        (
            "indirect_mismatch",
            vec![],
            TrapKind::IndirectCallTypeMismatch,
        ),
        ("nested", vec![Val::I32(4)], TrapKind::IntegerDivisionByZero),
    ];
    for (name, args, kind) in traps {
        match both.agree(name, &args) {
            Outcome::Trapped(k, frames) => {
                assert_eq!(k, kind, "{name}");
                assert!(!frames.is_empty(), "{name} has a backtrace");
                assert!(
                    frames.iter().all(|(_, offset)| offset.is_some()),
                    "{name}: every frame has an offset"
                );
                if name == "nested" {
                    assert_eq!(frames.len(), 3, "level3, level2, nested");
                }
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn loads_and_stores_of_every_width_are_bounds_checked_at_the_memory_end() {
    let mut wat = String::from("(module (memory (export \"mem\") 1)\n");
    let loads = [
        ("i32.load", "i32", 4),
        ("i64.load", "i64", 8),
        ("f32.load", "f32", 4),
        ("f64.load", "f64", 8),
        ("i32.load8_s", "i32", 1),
        ("i32.load8_u", "i32", 1),
        ("i32.load16_s", "i32", 2),
        ("i32.load16_u", "i32", 2),
        ("i64.load8_s", "i64", 1),
        ("i64.load8_u", "i64", 1),
        ("i64.load16_s", "i64", 2),
        ("i64.load16_u", "i64", 2),
        ("i64.load32_s", "i64", 4),
        ("i64.load32_u", "i64", 4),
    ];
    let stores = [
        ("i32.store", "i32", 4),
        ("i64.store", "i64", 8),
        ("f32.store", "f32", 4),
        ("f64.store", "f64", 8),
        ("i32.store8", "i32", 1),
        ("i32.store16", "i32", 2),
        ("i64.store8", "i64", 1),
        ("i64.store16", "i64", 2),
        ("i64.store32", "i64", 4),
    ];
    let offsets = [0u32, 1, 3, 0xfff0, 0xffff_ffff];
    for (op, ty, _) in loads {
        for offset in offsets {
            wat += &format!(
                "(func (export \"{op}/{offset}\") (param i32) (result {ty}) local.get 0 {op} offset={offset})\n"
            );
        }
    }
    for (op, ty, _) in stores {
        for offset in offsets {
            wat += &format!(
                "(func (export \"{op}/{offset}\") (param i32 {ty}) local.get 0 local.get 1 {op} offset={offset})\n"
            );
        }
    }
    wat += "(func (export \"grow\") (param i32) (result i32) local.get 0 memory.grow)\n";
    wat += "(func (export \"size\") (result i32) memory.size))";
    let mut both = Both::new(&wat);
    assert_eq!(
        both.compiled,
        (loads.len() + stores.len()) * offsets.len() + 2
    );
    for pages in [1u64, 2] {
        let end = pages * 65536;
        for (op, ty, size) in loads.iter().chain(stores.iter()) {
            let is_store = op.contains("store");
            for offset in offsets {
                for back in 0..=(size + 2) {
                    let addr = (end as i64 - offset as i64 - back as i64).clamp(0, u32::MAX as i64);
                    let value = match *ty {
                        "i32" => Val::I32(-2),
                        "i64" => Val::I64(-3),
                        "f32" => Val::F32(0x7f80_0001),
                        _ => Val::F64(0x7ff0_0000_0000_0001),
                    };
                    let mut args = vec![Val::I32(addr as u32 as i32)];
                    if is_store {
                        args.push(value);
                    }
                    let outcome = both.agree(&format!("{op}/{offset}"), &args);
                    let in_bounds = addr as u64 + offset as u64 + *size as u64 <= end;
                    match outcome {
                        Outcome::Returned(_) => assert!(in_bounds, "{op} {addr}+{offset}"),
                        Outcome::Trapped(TrapKind::MemoryOutOfBounds, _) => {
                            assert!(!in_bounds, "{op} {addr}+{offset}")
                        }
                        other => panic!("{op}: {other:?}"),
                    }
                }
                // The highest addresses trap whatever the offset.
                let args = if is_store {
                    vec![Val::I32(-1), Val::I64(0)]
                } else {
                    vec![Val::I32(-1)]
                };
                if is_store && *ty != "i64" {
                    continue;
                }
                assert!(matches!(
                    both.agree(&format!("{op}/{offset}"), &args),
                    Outcome::Trapped(TrapKind::MemoryOutOfBounds, _)
                ));
            }
        }
        // Growing moves the end: compiled code reads the new length after `memory.grow`.
        assert_eq!(
            both.agree("grow", &[Val::I32(1)]),
            Outcome::Returned(vec![pages as u128])
        );
    }
    assert_eq!(both.agree("size", &[]), Outcome::Returned(vec![3]));
}

/// Tail calls compile to Cranelift tail calls: a million `return_call`s and
/// `return_call_indirect`s in a row run in constant native stack in compiled code, between
/// compiled functions, into an interpreted one and into a callee of the same type through the
/// table; a trap after tail calls has the interpreter's backtrace (the tail callers' frames are
/// gone); a callee with more results than registers keeps the caller interpreted.
#[test]
fn tail_calls_run_in_constant_stack_with_the_interpreters_backtraces() {
    let wat = r#"(module
      (type $ii (func (param i32 i64) (result i64)))
      (table 4 funcref)
      (elem (i32.const 0) $count $even $odd $interp)
      (memory 1)
      (func $count (export "count") (type $ii)
        local.get 0
        i32.eqz
        if (result i64)
          local.get 1
        else
          local.get 0
          i32.const 1
          i32.sub
          local.get 1
          i64.const 3
          i64.add
          return_call $count
        end)
      (func $even (export "even") (type $ii)
        local.get 0
        i32.eqz
        if (result i64)
          i64.const 1
        else
          local.get 0
          i32.const 1
          i32.sub
          local.get 1
          i32.const 2
          return_call_indirect (type $ii)
        end)
      (func $odd (type $ii)
        local.get 0
        i32.eqz
        if (result i64)
          i64.const 0
        else
          local.get 0
          i32.const 1
          i32.sub
          local.get 1
          i32.const 1
          return_call_indirect (type $ii)
        end)
      ;; Stays interpreted (reference instructions are not compiled): the tail call crosses tiers.
      (func $interp (type $ii)
        ref.null func
        drop
        local.get 0
        i32.const 1000000
        i32.gt_u
        if
          unreachable
        end
        local.get 1
        local.get 0
        i64.extend_i32_u
        i64.add)
      (func (export "to_interp") (type $ii)
        local.get 0
        local.get 1
        return_call $interp)
      (func (export "to_interp_indirect") (type $ii)
        local.get 0
        local.get 1
        i32.const 3
        return_call_indirect (type $ii))
      (func $trap_at (param i32) (result f64)
        local.get 0
        i32.load
        f64.convert_i32_s)
      (func $middle (param i32) (result f64)
        local.get 0
        i32.const 1
        i32.add
        return_call $trap_at)
      (func (export "trap_after_tail_calls") (param i32) (result f64)
        local.get 0
        call $middle
        f64.const 0.5
        f64.add)
      (func (export "bad_type") (param i32 i64) (result i64)
        local.get 1
        local.get 0
        local.get 0
        return_call_indirect (param i64 i32) (result i64))
      (func $three (param i32) (result i32 i64 i32)
        local.get 0
        local.get 0
        i64.extend_i32_s
        local.get 0)
      (func (export "many_results") (param i32) (result i32 i64 i32)
        local.get 0
        i32.const 7
        i32.add
        return_call $three))"#;
    let mut both = Both::new(wat);
    // All but the interpreted function and the caller of `$three`.
    assert_eq!(both.compiled, 10, "compiled functions");
    let n = 1_000_000;
    assert_eq!(
        both.agree("count", &[Val::I32(n), Val::I64(5)]),
        Outcome::Returned(vec![5 + 3 * n as u128])
    );
    assert_eq!(
        both.agree("even", &[Val::I32(n), Val::I64(0)]),
        Outcome::Returned(vec![1])
    );
    assert_eq!(
        both.agree("even", &[Val::I32(n + 1), Val::I64(0)]),
        Outcome::Returned(vec![0])
    );
    assert_eq!(
        both.agree("to_interp", &[Val::I32(7), Val::I64(5)]),
        Outcome::Returned(vec![12])
    );
    assert_eq!(
        both.agree("to_interp_indirect", &[Val::I32(9), Val::I64(5)]),
        Outcome::Returned(vec![14])
    );
    for name in ["to_interp", "to_interp_indirect"] {
        assert!(matches!(
            both.agree(name, &[Val::I32(n + 5), Val::I64(0)]),
            Outcome::Trapped(TrapKind::Unreachable, _)
        ));
    }
    assert_eq!(
        both.agree("trap_after_tail_calls", &[Val::I32(16)]),
        Outcome::Returned(vec![0.5f64.to_bits() as u128])
    );
    for addr in [65533, 65535, -1] {
        match both.agree("trap_after_tail_calls", &[Val::I32(addr - 1)]) {
            Outcome::Trapped(TrapKind::MemoryOutOfBounds, frames) => {
                // `$trap_at`, then the exported caller: `$middle` tail-called it and is gone.
                assert_eq!(frames.len(), 2, "{frames:?}")
            }
            other => panic!("{other:?}"),
        }
    }
    for element in [0, 4, -1] {
        assert!(matches!(
            both.agree("bad_type", &[Val::I32(element), Val::I64(1)]),
            Outcome::Trapped(
                TrapKind::IndirectCallTypeMismatch | TrapKind::UndefinedElement,
                _
            )
        ));
    }
    assert_eq!(
        both.agree("many_results", &[Val::I32(1)]),
        Outcome::Returned(vec![8, 8, 8])
    );
}

/// A 64-bit memory is compiled with every access checked explicitly: addresses near the end,
/// near 2^64 (where the address plus the offset overflows), `memory.size`, `memory.grow`,
/// `memory.fill` and `memory.copy` with 64-bit operands, all as in the interpreter.
#[test]
fn memory64_accesses_are_checked_against_64_bit_overflow() {
    let wat = r#"(module
      (memory (export "mem") i64 1 4)
      (func (export "load") (param i64) (result i64) local.get 0 i64.load offset=8)
      (func (export "load_far") (param i64) (result i32) local.get 0 i32.load8_u offset=0xffff_ffff_0000)
      (func (export "store") (param i64 i32) local.get 0 local.get 1 i32.store16 offset=3)
      (func (export "size") (result i64) memory.size)
      (func (export "grow") (param i64) (result i64) local.get 0 memory.grow)
      (func (export "fill") (param i64 i32 i64) local.get 0 local.get 1 local.get 2 memory.fill)
      (func (export "copy") (param i64 i64 i64) local.get 0 local.get 1 local.get 2 memory.copy))"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 7);
    let end = 65536i64;
    for addr in [
        0,
        end - 16,
        end - 15,
        end - 8,
        end,
        -1,
        -8,
        -9,
        i64::MIN,
        i64::MAX,
    ] {
        both.agree("load", &[Val::I64(addr)]);
        both.agree("load_far", &[Val::I64(addr)]);
        both.agree("store", &[Val::I64(addr), Val::I32(0x1234)]);
    }
    for (dst, len) in [(0, 16), (end - 4, 4), (end - 4, 5), (-1, 2), (8, -1)] {
        both.agree("fill", &[Val::I64(dst), Val::I32(0x5a), Val::I64(len)]);
        both.agree("copy", &[Val::I64(dst), Val::I64(1), Val::I64(len)]);
        both.agree("copy", &[Val::I64(1), Val::I64(dst), Val::I64(len)]);
    }
    assert_eq!(
        both.agree("grow", &[Val::I64(2)]),
        Outcome::Returned(vec![1])
    );
    assert_eq!(
        both.agree("grow", &[Val::I64(2)]),
        Outcome::Returned(vec![u64::MAX as u128])
    );
    assert_eq!(
        both.agree("grow", &[Val::I64(-1)]),
        Outcome::Returned(vec![u64::MAX as u128])
    );
    assert_eq!(both.agree("size", &[]), Outcome::Returned(vec![3]));
    assert_eq!(
        both.agree("load", &[Val::I64(3 * end - 16)]),
        Outcome::Returned(vec![0])
    );
    assert!(matches!(
        both.agree("load", &[Val::I64(3 * end - 15)]),
        Outcome::Trapped(TrapKind::MemoryOutOfBounds, _)
    ));
    assert_eq!(
        state(&mut both.interp.0, &both.interp.1),
        state(&mut both.clif.0, &both.clif.1)
    );
}

/// Memories other than memory 0 are compiled too (multi-memory): loads and stores through the
/// context's memory table with explicit checks, `memory.size`/`grow`/`fill` of any memory,
/// `memory.copy` between two memories of different address types, each as in the interpreter,
/// also after a callee grew a memory.
#[test]
fn every_memory_of_a_module_is_compiled() {
    let wat = r#"(module
      (memory $a (export "a") 1)
      (memory $b (export "b") i64 1 3)
      (memory $c (export "c") 2 2)
      (func (export "load_b") (param i64) (result i32) local.get 0 i32.load $b offset=2)
      (func (export "store_c") (param i32 i64) local.get 0 local.get 1 i64.store $c)
      (func (export "sum") (param i32) (result i64)
        local.get 0
        i64.load8_u $a
        local.get 0
        i64.extend_i32_u
        i64.load16_s $b
        i64.add
        local.get 0
        i64.load32_u $c offset=5
        i64.add)
      (func $grow_b (export "grow_b") (param i64) (result i64) local.get 0 memory.grow $b)
      (func (export "grow_then_load") (param i64) (result i32)
        i64.const 1
        call $grow_b
        drop
        local.get 0
        i32.load $b)
      (func (export "sizes") (result i32 i64 i32) memory.size $a memory.size $b memory.size $c)
      (func (export "fill_b") (param i64 i32 i64) local.get 0 local.get 1 local.get 2 memory.fill $b)
      (func (export "copy_b_to_a") (param i32 i64 i32)
        local.get 0 local.get 1 local.get 2 memory.copy $a $b)
      (func (export "copy_c_to_b") (param i64 i32 i32)
        local.get 0 local.get 1 local.get 2 memory.copy $b $c)
      (func (export "copy_c_to_c") (param i32 i32 i32)
        local.get 0 local.get 1 local.get 2 memory.copy $c $c))"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 10);
    let page = 65536i64;
    assert_eq!(both.agree("sizes", &[]), Outcome::Returned(vec![1, 1, 2]));
    for (addr, value) in [
        (0, 0x0102_0304_0506_0708i64),
        (2 * page - 8, -1),
        (2 * page - 7, 5),
    ] {
        both.agree("store_c", &[Val::I32(addr as i32), Val::I64(value)]);
    }
    both.agree("fill_b", &[Val::I64(0), Val::I32(0x7f), Val::I64(64)]);
    both.agree("fill_b", &[Val::I64(page - 4), Val::I32(1), Val::I64(5)]);
    for (dst, src, len) in [
        (0, 0, 16),
        (page - 8, 0, 8),
        (page - 8, 0, 9),
        (3, page - 2, 2),
        (3, page - 1, 2),
    ] {
        both.agree(
            "copy_b_to_a",
            &[Val::I32(dst as i32), Val::I64(src), Val::I32(len)],
        );
        both.agree(
            "copy_c_to_b",
            &[Val::I64(src), Val::I32(dst as i32), Val::I32(len)],
        );
        both.agree(
            "copy_c_to_c",
            &[
                Val::I32(dst as i32 + 5),
                Val::I32(dst as i32),
                Val::I32(len),
            ],
        );
    }
    for addr in [0, 1, page - 6, page - 5, page - 1, -1] {
        both.agree("load_b", &[Val::I64(addr)]);
        both.agree("sum", &[Val::I32(addr as i32)]);
    }
    assert!(matches!(
        both.agree("load_b", &[Val::I64(page - 5)]),
        Outcome::Trapped(TrapKind::MemoryOutOfBounds, _)
    ));
    // Memory $b grows in a callee; the caller's next access sees the new length.
    assert_eq!(
        both.agree("grow_then_load", &[Val::I64(page + 4)]),
        Outcome::Returned(vec![0])
    );
    assert_eq!(both.agree("sizes", &[]), Outcome::Returned(vec![1, 2, 2]));
    assert_eq!(
        both.agree("grow_b", &[Val::I64(5)]),
        Outcome::Returned(vec![u64::MAX as u128])
    );
    assert_eq!(
        state(&mut both.interp.0, &both.interp.1),
        state(&mut both.clif.0, &both.clif.1)
    );
}

/// With the guard region (the default), compiled code leaves bounds checks of accesses with
/// small offsets to the hardware: a fault past memory 0's length becomes `MemoryOutOfBounds`
/// with the interpreter's backtrace, from any depth of compiled calls, from a load whose value a
/// later operator uses at once (Cranelift must not fold the load into that operator's code), and
/// after the pool hands a store a reservation a larger memory used before. Without the guard
/// region (`memory_guard_size(0)`) every access is checked explicitly, with the same outcomes.
#[test]
fn faults_in_the_guard_region_are_the_interpreters_traps() {
    let wat = r#"(module
      (memory (export "mem") 1)
      (func $deep (export "deep") (param i32 i32) (result i32)
        local.get 0
        i32.eqz
        if (result i32)
          local.get 1
          i32.load offset=4
        else
          local.get 0
          i32.const 1
          i32.sub
          local.get 1
          call $deep
          i32.const 1
          i32.add
        end)
      (func (export "chained") (param i32) (result i64)
        local.get 0
        i32.load
        i64.load32_u offset=8)
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0
        i32.load
        local.get 1
        i32.load
        i32.add)
      (func (export "store") (param i32 i64)
        local.get 0
        local.get 1
        i64.store offset=2)
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "peek") (param i32) (result i32) local.get 0 i32.load))"#;
    let interp = engine(Strategy::Interpreter);
    let guarded = engine(Strategy::Cranelift);
    let checked = {
        let mut config = Config::new();
        config.strategy(Strategy::Cranelift).memory_guard_size(0);
        Engine::new(&config).expect("Cranelift is built in")
    };
    let cases: Vec<(&str, Vec<Val>)> = vec![
        ("deep", vec![Val::I32(0), Val::I32(65532)]),
        ("deep", vec![Val::I32(0), Val::I32(65530)]),
        ("deep", vec![Val::I32(40), Val::I32(65533)]),
        ("deep", vec![Val::I32(40), Val::I32(-1)]),
        ("deep", vec![Val::I32(3), Val::I32(100)]),
        ("chained", vec![Val::I32(65532)]),
        ("chained", vec![Val::I32(65533)]),
        ("chained", vec![Val::I32(16)]),
        ("sum", vec![Val::I32(65536), Val::I32(0)]),
        ("sum", vec![Val::I32(0), Val::I32(65534)]),
        ("sum", vec![Val::I32(8), Val::I32(12)]),
        ("store", vec![Val::I32(65530), Val::I64(-1)]),
        ("store", vec![Val::I32(65527), Val::I64(-1)]),
        ("peek", vec![Val::I32(65528)]),
        ("peek", vec![Val::I32(65532)]),
        ("peek", vec![Val::I32(65536)]),
        ("peek", vec![Val::I32(131072)]),
    ];
    let run = |engine: &Engine| {
        let module = Module::new(engine, wat).expect("compiles");
        let mut outcomes = Vec::new();
        // The second round runs in a store whose memory reuses the first store's reservation,
        // which had grown to 3 pages: only the first page may be accessible.
        for round in 0..2 {
            let mut store = Store::new(engine, ());
            let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
            for (name, args) in &cases {
                outcomes.push(call(&mut store, &instance, name, args));
            }
            outcomes.push(Outcome::Returned(state(&mut store, &instance)));
            if round == 0 {
                let grown = call(&mut store, &instance, "grow", &[Val::I32(2)]);
                assert_eq!(grown, Outcome::Returned(vec![1]));
                for (name, args) in &cases {
                    outcomes.push(call(&mut store, &instance, name, args));
                }
                // Leave something in the pages that the next store must not see.
                let stored = call(
                    &mut store,
                    &instance,
                    "store",
                    &[Val::I32(70000), Val::I64(-1)],
                );
                assert_eq!(stored, Outcome::Returned(vec![]));
            }
        }
        (module.compiled_function_count(), outcomes)
    };
    let (none, expected) = run(&interp);
    assert_eq!(none, 0);
    let traps = expected
        .iter()
        .filter(|o| matches!(o, Outcome::Trapped(TrapKind::MemoryOutOfBounds, _)))
        .count();
    assert!(traps >= 20, "the cases trap: {traps}");
    for engine in [&guarded, &checked] {
        let (compiled, outcomes) = run(engine);
        assert_eq!(compiled, 6);
        assert_eq!(outcomes.len(), expected.len());
        for (i, (a, b)) in expected.iter().zip(&outcomes).enumerate() {
            assert_eq!(a, b, "outcome {i}");
        }
    }
}

/// Compiled code skips a bounds check that an earlier check of the same address covers, and
/// reloads memory 0's base and length only where it next needs them after a call. Near the end
/// of memory, every access must still trap exactly where the interpreter's does (with the
/// stores before it done), also after a callee grew memory or across branches that merge.
#[test]
fn elided_bounds_checks_and_lazy_memory_reloads_keep_the_interpreters_traps() {
    let wat = r#"(module
      (memory (export "mem") 1)
      (func $grow (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "size") (result i32) memory.size)
      (func $nothing)
      (func (export "seq") (param i32) (result i32)
        local.get 0 i32.const 7 i32.store offset=8
        local.get 0 i32.load offset=0
        local.get 0 i32.load offset=12
        i32.add
        local.get 0 i32.load8_u offset=15
        i32.add)
      (func (export "after_grow") (param i32 i32) (result i32)
        local.get 0 i32.load offset=4
        drop
        local.get 1 call $grow
        drop
        local.get 0 i32.load offset=0
        local.get 0 i32.const 9 i32.store offset=65536
        local.get 0 i32.load offset=65536
        i32.add)
      (func (export "merge") (param i32 i32) (result i32)
        local.get 1
        if (result i32) local.get 0 i32.load offset=8 else i32.const 0 end
        local.get 0 i32.load offset=4
        i32.add)
      (func (export "loop") (param i32 i32) (result i32) (local i32)
        local.get 0 i32.load offset=0 drop
        loop $l
          call $nothing
          local.get 2 local.get 0 i32.load offset=0 i32.add local.set 2
          local.get 0 i32.const 4 i32.add local.set 0
          local.get 1 i32.const 1 i32.sub local.tee 1
          br_if $l
        end
        local.get 2)
    )"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 7);
    for pages in [1u32, 2] {
        let end = pages * 65536;
        for back in 0..24u32 {
            let addr = Val::I32((end - back) as i32);
            both.agree("seq", &[addr]);
            both.agree("merge", &[addr, Val::I32(1)]);
            both.agree("merge", &[addr, Val::I32(0)]);
            both.agree("loop", &[Val::I32((end - 4 * back) as i32), Val::I32(4)]);
        }
        both.agree("grow", &[Val::I32(1)]);
    }
    // The callee grows memory by one page (or not at all) between the accesses.
    for (grow, back) in [(0, 8), (1, 8), (0, 0), (1, 0), (1, 16)] {
        let Outcome::Returned(pages) = both.agree("size", &[]) else {
            panic!("memory.size returns")
        };
        let addr = Val::I32((pages[0] as u32 * 65536 - back) as i32);
        both.agree("after_grow", &[addr, Val::I32(grow)]);
    }
    let memories = [&mut both.interp, &mut both.clif].map(|(store, instance)| {
        let memory = instance.get_memory(&mut *store, "mem").expect("exported");
        memory.data(&*store).to_vec()
    });
    assert_eq!(memories[0].len(), 5 * 65536);
    assert!(memories[0] == memories[1], "the memories differ");
}

#[test]
fn call_indirect_checks_the_signature_and_the_table_bounds() {
    let wat = r#"(module
      (type $i2i (func (param i32) (result i32)))
      (type $f2f (func (param f32) (result f32)))
      (table $t 3 3 funcref)
      (elem (table $t) (i32.const 0) func $double $fneg)
      (func $double (type $i2i) local.get 0 i32.const 2 i32.mul)
      (func $fneg (type $f2f) local.get 0 f32.neg)
      (func (export "call") (param i32 i32) (result i32)
        local.get 0 local.get 1 call_indirect $t (type $i2i))
    )"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 3);
    assert_eq!(
        both.agree("call", &[Val::I32(21), Val::I32(0)]),
        Outcome::Returned(vec![42])
    );
    let kind = |o: Outcome| match o {
        Outcome::Trapped(kind, _) => kind,
        other => panic!("{other:?}"),
    };
    // Type confusion: an `f32` function called as `i32 -> i32`.
    assert_eq!(
        kind(both.agree("call", &[Val::I32(1), Val::I32(1)])),
        TrapKind::IndirectCallTypeMismatch
    );
    assert_eq!(
        kind(both.agree("call", &[Val::I32(1), Val::I32(2)])),
        TrapKind::UninitializedElement
    );
    for index in [3, 4, i32::MAX, -1, i32::MIN] {
        assert_eq!(
            kind(both.agree("call", &[Val::I32(1), Val::I32(index)])),
            TrapKind::UndefinedElement
        );
    }
}

/// Runs `f` on a thread with a 2 MiB stack (as test and server threads have): deep recursion in
/// compiled code must end in a `StackOverflow` trap, not in a crash of the host.
fn on_small_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no crash")
}

#[test]
fn runaway_recursion_in_compiled_code_traps_with_stack_overflow() {
    let wat = r#"(module
      (func $down (export "down") (param i64) (result i64)
        local.get 0 i64.const 1 i64.add call $down)
      (func $even (export "even") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 1 else local.get 0 i32.const 1 i32.sub call $odd end)
      (func $odd (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $even end)
    )"#;
    for max_stack in [None, Some(64 << 10)] {
        let (kind, depth, even) = on_small_thread(move || {
            let mut config = Config::new();
            config.strategy(Strategy::Cranelift);
            if let Some(bytes) = max_stack {
                config.max_wasm_stack(bytes);
            }
            let engine = Engine::new(&config).unwrap();
            let module = Module::new(&engine, wat).unwrap();
            assert_eq!(module.compiled_function_count(), 3);
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let down = instance.get_typed_func::<i64, i64>(&store, "down").unwrap();
            let err = down.call(&mut store, 0).unwrap_err();
            let trap = err.as_trap().expect("a trap");
            let even = instance.get_typed_func::<i32, i32>(&store, "even").unwrap();
            // The store works after the overflow, and moderate recursion fits.
            let even = even.call(&mut store, 1000).unwrap();
            (trap.kind(), trap.backtrace().depth(), even)
        });
        assert_eq!(kind, TrapKind::StackOverflow);
        assert!(depth > 100, "the backtrace counts the frames ({depth})");
        assert_eq!(even, 1);
    }
}

#[test]
fn compiled_and_interpreted_functions_call_each_other() {
    // `$vec` and `$boom` have a `funcref` local, which the tier does not compile: they stay
    // interpreted.
    let wat = r#"(module
      (memory 1)
      (func $vec (param i32) (result i32) (local funcref)
        local.get 0 i32x4.splat local.get 0 call $square i32x4.splat i32x4.add i32x4.extract_lane 0)
      (func $square (param i32) (result i32) local.get 0 local.get 0 i32.mul)
      (func (export "compiled_calls_interpreted") (param i32) (result i32)
        local.get 0 call $vec i32.const 1 i32.add)
      (func (export "interpreted_entry") (param i32) (result i32) local.get 0 call $vec)
      (func $boom (param i32) (result i32) (local funcref)
        local.get 0 i32x4.splat i32x4.extract_lane 1 i32.const 0 i32.div_u)
      (func (export "trap_through_tiers") (param i32) (result i32)
        local.get 0 call $boom)
    )"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 4, "all but $vec and $boom are compiled");
    assert_eq!(
        both.agree("compiled_calls_interpreted", &[Val::I32(3)]),
        Outcome::Returned(vec![13])
    );
    assert_eq!(
        both.agree("interpreted_entry", &[Val::I32(5)]),
        Outcome::Returned(vec![30])
    );
    match both.agree("trap_through_tiers", &[Val::I32(5)]) {
        Outcome::Trapped(TrapKind::IntegerDivisionByZero, frames) => {
            assert_eq!(
                frames.len(),
                2,
                "$boom (interpreted), then its compiled caller"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn host_functions_called_from_compiled_code_see_the_caller_and_its_memory() {
    let wat = r#"(module
      (import "host" "sum" (func $sum (param i32 i32) (result i32)))
      (import "host" "fail" (func $fail (param i32)))
      (memory (export "memory") 1)
      (global $g (export "g") (mut i64) (i64.const 5))
      (func (export "run") (param i32) (result i32)
        i32.const 16 local.get 0 i32.store
        i32.const 16 i32.const 4 call $sum
        global.get $g i32.wrap_i64 i32.add)
      (func (export "fail") (param i32) (result i32) local.get 0 call $fail i32.const 1)
      (func (export "bump") (result i64) global.get $g i64.const 1 i64.add global.set $g global.get $g)
    )"#;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let engine = engine(Strategy::Cranelift);
    let module = Module::new(&engine, wat).unwrap();
    assert_eq!(module.compiled_function_count(), 3);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "sum",
            move |caller: Caller<'_, ()>, ptr: i32, len: i32| -> i32 {
                seen.fetch_add(1, Ordering::Relaxed);
                let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                    panic!("the caller's memory export")
                };
                let data = memory.data(&caller);
                data[ptr as usize..(ptr + len) as usize]
                    .iter()
                    .map(|b| *b as i32)
                    .sum()
            },
        )
        .unwrap();
    linker
        .func_wrap("host", "fail", |code: i32| -> Result<(), ward::Error> {
            if code == 0 {
                Ok(())
            } else {
                Err(ward::Error::Usage(format!("host failed with {code}")))
            }
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(
        run.call(&mut store, 0x0102_0304).unwrap(),
        1 + 2 + 3 + 4 + 5
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // Globals are shared with the host both ways.
    let g = instance.get_global(&store, "g").unwrap();
    g.set(&mut store, Val::I64(100)).unwrap();
    let bump = instance.get_typed_func::<(), i64>(&store, "bump").unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 101);
    assert!(matches!(g.get(&mut store), Val::I64(101)));
    // A host error passes through compiled code unchanged.
    let fail = instance.get_typed_func::<i32, i32>(&store, "fail").unwrap();
    assert_eq!(fail.call(&mut store, 0).unwrap(), 1);
    let err = fail.call(&mut store, 7).unwrap_err();
    assert!(err.to_string().contains("host failed with 7"), "{err}");
}

#[test]
fn a_host_panic_unwinds_through_compiled_code_and_the_store_goes_on() {
    let wat = r#"(module
      (import "host" "panic" (func $panic))
      (func (export "run") (param i32) (result i32)
        local.get 0 if call $panic end local.get 0 i32.const 1 i32.add))"#;
    let engine = engine(Strategy::Cranelift);
    let module = Module::new(&engine, wat).unwrap();
    assert_eq!(module.compiled_function_count(), 1);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "panic", || -> () { panic!("host panic") })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 1)));
    assert!(caught.is_err(), "the panic reaches the embedder");
    assert_eq!(run.call(&mut store, 0).unwrap(), 1);
}

#[test]
fn memory_grow_in_compiled_code_asks_the_resource_limiter() {
    let wat = r#"(module (memory 1)
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "poke") (param i32) (result i32) local.get 0 i32.const 9 i32.store8 local.get 0 i32.load8_u))"#;
    let engine = engine(Strategy::Cranelift);
    let module = Module::new(&engine, wat).unwrap();
    assert_eq!(module.compiled_function_count(), 2);
    let limits: StoreLimits = StoreLimitsBuilder::new().memory_size(3 << 16).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    let poke = instance.get_typed_func::<i32, i32>(&store, "poke").unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1, "beyond the limit");
    assert_eq!(grow.call(&mut store, 1).unwrap(), 2);
    assert_eq!(poke.call(&mut store, 3 * 65536 - 1).unwrap(), 9);
    let err = poke.call(&mut store, 3 * 65536).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::MemoryOutOfBounds)
    );
}

#[test]
fn an_exception_from_an_interpreted_callee_unwinds_through_compiled_code() {
    let wat = r#"(module
      (tag $e (param i32))
      (func $thrower (param i32) local.get 0 throw $e)
      (func $middle (param i32) (result i32) local.get 0 call $thrower i32.const 0)
      (func (export "catch") (param i32) (result i32)
        block $h (result i32)
          try_table (catch $e $h) local.get 0 call $middle drop end
          i32.const -1
        end))"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 1, "only $middle uses nothing the tier lacks");
    assert_eq!(
        both.agree("catch", &[Val::I32(42)]),
        Outcome::Returned(vec![42])
    );
}

#[test]
fn unsupported_settings_keep_every_function_interpreted() {
    let wat = r#"(module (func (export "f") (result i32) i32.const 1))"#;
    // Fuel and epoch interruption are compiled (see `cranelift_fuel.rs`).
    let settings: [fn(&mut Config); 2] = [
        |c| {
            c.deterministic(true);
        },
        |c| {
            c.lazy_translation(true);
        },
    ];
    for setting in settings {
        let mut config = Config::new();
        config.strategy(Strategy::Cranelift);
        setting(&mut config);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        assert_eq!(module.compiled_function_count(), 0);
        let mut store = Store::new(&engine, ());
        store.set_fuel(1000).ok();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&store, "f").unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 1);
        assert_eq!(engine.tier_function_counts(), (0, 1));
    }
}

#[test]
fn functions_can_be_called_through_func_call_and_as_funcref_values() {
    let wat = r#"(module
      (table (export "t") 1 funcref)
      (elem (i32.const 0) $add)
      (func $add (export "add") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add))"#;
    let engine = engine(Strategy::Cranelift);
    let module = Module::new(&engine, wat).unwrap();
    assert_eq!(module.compiled_function_count(), 1);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add: Func = instance.get_func(&mut store, "add").unwrap();
    let mut results = [Val::I64(0)];
    add.call(&mut store, &[Val::I64(40), Val::I64(2)], &mut results)
        .unwrap();
    assert!(matches!(results[0], Val::I64(42)));
}

#[test]
fn call_indirect_within_the_module_keeps_backtraces_and_the_stack_check() {
    let wat = r#"(module
      (type $i2i (func (param i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $countdown $spin)
      (func $countdown (type $i2i)
        local.get 0 i32.eqz if (result i32) i32.const 10 local.get 0 i32.div_u
        else local.get 0 i32.const 1 i32.sub i32.const 0 call_indirect (type $i2i) end)
      (func $spin (type $i2i) local.get 0 i32.const 1 call_indirect (type $i2i))
      (func (export "countdown") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $i2i))
      (func (export "spin") (param i32) (result i32) local.get 0 i32.const 1 call_indirect (type $i2i)))"#;
    let mut both = Both::new(wat);
    assert_eq!(both.compiled, 4);
    // Ten indirect calls deep, then a division by zero: the same frames in both tiers.
    match both.agree("countdown", &[Val::I32(10)]) {
        Outcome::Trapped(TrapKind::IntegerDivisionByZero, frames) => assert_eq!(frames.len(), 12),
        other => panic!("{other:?}"),
    }
    let kind = on_small_thread(move || {
        let engine = engine(Strategy::Cranelift);
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance.get_typed_func::<i32, i32>(&store, "spin").unwrap();
        let err = spin.call(&mut store, 0).unwrap_err();
        err.as_trap().map(|t| t.kind())
    });
    assert_eq!(kind, Some(TrapKind::StackOverflow));
}

/// SplitMix64: reproducible bytes for the generator.
struct Seeds(u64);

impl Seeds {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len.div_ceil(8))
            .flat_map(|_| self.next_u64().to_le_bytes())
            .take(len)
            .collect()
    }
}

/// The memory and global values of an instance, to compare after each call.
fn state(store: &mut Store<()>, instance: &Instance) -> Vec<u128> {
    let mut out = Vec::new();
    for (_, export) in instance.exports(&mut *store) {
        match export {
            Extern::Memory(memory) => {
                let data = memory.data(&*store);
                out.push(data.len() as u128);
                let mut hash = 0xcbf2_9ce4_8422_2325u64;
                for byte in data {
                    hash = (hash ^ *byte as u64).wrapping_mul(0x100_0000_01b3);
                }
                out.push(hash as u128);
            }
            Extern::Global(global) => match global.get(&mut *store) {
                Val::I32(_) | Val::I64(_) | Val::F32(_) | Val::F64(_) | Val::V128(_) => {
                    out.push(bits(&global.get(&mut *store)))
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

/// wasm-smith modules (numeric, control flow, memory, tables, references, tail calls: whatever
/// the tier does not compile stays interpreted, so calls cross tiers), run in both tiers: every
/// exported function's outcome (results, or trap kind and backtrace) and the exported memories
/// and globals after each call must agree. Loops and recursion are bounded by wasm-smith's
/// termination instrumentation (a global counter), NaNs are canonicalised by the generator.
#[test]
fn generated_modules_behave_the_same_in_both_tiers() {
    let mut seeds = Seeds(0x5eed_c1f7);
    let (mut modules, mut calls, mut compiled, mut total) = (0, 0, 0, 0);
    let mut stack_divergences = 0;
    for _ in 0..400 {
        let data = seeds.bytes(4096);
        let config = wasm_smith::Config {
            simd_enabled: true,
            // Relaxed SIMD operators are not NaN-canonicalised by wasm-smith, and which NaN a
            // float operator returns may differ between the tiers (see `docs/CRANELIFT.md`).
            relaxed_simd_enabled: false,
            gc_enabled: false,
            exceptions_enabled: false,
            threads_enabled: false,
            shared_everything_threads_enabled: false,
            custom_descriptors_enabled: false,
            custom_page_sizes_enabled: false,
            wide_arithmetic_enabled: false,
            memory64_enabled: true,
            // References keep functions interpreted; a few are enough for calls across tiers
            // (bulk memory's `memory.init` and table operations give them too). Tail calls are
            // compiled (a tail call whose callee returns more than fits in registers is not).
            reference_types_enabled: false,
            tail_call_enabled: true,
            canonicalize_nans: true,
            export_everything: true,
            min_funcs: 1,
            max_funcs: 8,
            max_imports: 0,
            max_memories: 2,
            max_tables: 2,
            max_memory32_bytes: 4 << 20,
            max_memory64_bytes: 4 << 20,
            max_table_elements: 1_000,
            max_instructions: 200,
            ..wasm_smith::Config::default()
        };
        let mut u = arbitrary::Unstructured::new(&data);
        let Ok(mut module) = wasm_smith::Module::new(config, &mut u) else {
            continue;
        };
        if module.ensure_termination(1_000).is_err() {
            continue;
        }
        let wasm = module.to_bytes();
        let make = |strategy| {
            let engine = engine(strategy);
            let module = Module::new(&engine, &wasm).expect("wasm-smith makes valid modules");
            let n = module.compiled_function_count();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]);
            (store, instance, n)
        };
        let (mut s1, i1, _) = make(Strategy::Interpreter);
        let (mut s2, i2, n) = make(Strategy::Cranelift);
        let (i1, i2) = match (i1, i2) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let (a, b) = (outcome_of(a.map(|_| vec![])), outcome_of(b.map(|_| vec![])));
                assert_eq!(a, b, "instantiation\n{}", wasmprinter_text(&wasm));
                continue;
            }
        };
        modules += 1;
        compiled += n;
        total += Module::new(&engine(Strategy::Interpreter), &wasm)
            .unwrap()
            .translated_function_count();
        let funcs: Vec<(String, Func)> = i1
            .exports(&mut s1)
            .into_iter()
            .filter_map(|(name, e)| match e {
                Extern::Func(f) => Some((name, f)),
                _ => None,
            })
            .collect();
        for (name, func) in funcs {
            let ty = func.ty(&s1);
            let args: Option<Vec<Val>> = ty
                .params()
                .iter()
                .map(|p| {
                    let r = seeds.next_u64();
                    Some(match p {
                        ward::ValType::I32 => Val::I32((r % 70_000) as i32 - 3),
                        ward::ValType::I64 => Val::I64(r as i64 >> (r % 64)),
                        ward::ValType::F32 => Val::F32((r as f32 / 7.0).to_bits()),
                        ward::ValType::F64 => Val::F64((r as f64 / -3.0).to_bits()),
                        ward::ValType::V128 => {
                            Val::V128((r as u128) << 64 | r.rotate_left(17) as u128 >> (r % 64))
                        }
                        _ => return None,
                    })
                })
                .collect();
            let Some(args) = args else { continue };
            if ty.results().iter().any(|r| {
                !matches!(
                    r,
                    ward::ValType::I32
                        | ward::ValType::I64
                        | ward::ValType::F32
                        | ward::ValType::F64
                        | ward::ValType::V128
                )
            }) {
                continue;
            }
            let a = call(&mut s1, &i1, &name, &args);
            let b = call(&mut s2, &i2, &name, &args);
            // The one accepted difference: the depth at which the stack is exhausted. Recursion
            // that crosses tiers on every call takes a nested activation per crossing (at most
            // 500) and native stack, where the interpreter alone uses its own value stack. The
            // module's later calls are not compared (its state may differ from here on).
            if matches!(b, Outcome::Trapped(TrapKind::StackOverflow, _))
                && !matches!(a, Outcome::Trapped(TrapKind::StackOverflow, _))
            {
                stack_divergences += 1;
                break;
            }
            assert_eq!(a, b, "{name}{args:?}\n{}", wasmprinter_text(&wasm));
            assert_eq!(
                state(&mut s1, &i1),
                state(&mut s2, &i2),
                "state after {name}{args:?}"
            );
            calls += 1;
        }
    }
    eprintln!(
        "{modules} modules, {calls} calls, {compiled} of {total} functions compiled, \
         {stack_divergences} stack-depth divergences"
    );
    assert!(
        stack_divergences * 20 < modules,
        "{stack_divergences} stack-depth divergences"
    );
    assert!(
        modules > 100 && calls > 300,
        "{modules} modules, {calls} calls"
    );
    assert!(compiled * 3 > total, "{compiled} of {total} compiled");
}

/// The module's size, for failure messages (no text printer is a dependency).
fn wasmprinter_text(wasm: &[u8]) -> String {
    if let Ok(path) = std::env::var("WARD_DUMP_WASM") {
        let _ = std::fs::write(path, wasm);
    }
    format!("({} bytes of module)", wasm.len())
}

/// `call_indirect` in compiled code calls a function of its own instance directly (through the
/// module's function table) and everything else through the store: a function of another
/// instance of the same module, whose globals it must use, and a host function, found in a
/// table the instances share.
#[test]
fn call_indirect_through_a_shared_table_reaches_each_functions_own_instance() {
    let owner = r#"(module
      (import "env" "host" (func $host (param i32) (result i32)))
      (table (export "table") 4 funcref)
      (elem (i32.const 2) func $host))"#;
    let user = r#"(module
      (type $i2i (func (param i32) (result i32)))
      (import "env" "table" (table 4 funcref))
      (global $g (mut i32) (i32.const 0))
      (func $get (type $i2i) global.get $g local.get 0 i32.add)
      (func (export "set") (param i32) local.get 0 global.set $g)
      (func (export "install") (param i32) local.get 0 ref.func $get table.set 0)
      (func (export "call") (param i32 i32) (result i32)
        local.get 0 local.get 1 call_indirect (type $i2i))
      (elem declare func $get))"#;
    for strategy in [Strategy::Interpreter, Strategy::Cranelift] {
        let engine = engine(strategy);
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("env", "host", |x: i32| x.wrapping_mul(1000))
            .unwrap();
        let mut store = Store::new(&engine, ());
        let owner = linker
            .instantiate(&mut store, &Module::new(&engine, owner).unwrap())
            .unwrap();
        let table = owner.get_export(&mut store, "table").unwrap();
        linker.define(&store, "env", "table", table).unwrap();
        let user = Module::new(&engine, user).unwrap();
        if strategy == Strategy::Cranelift {
            // `get`, `set` and `call` (`install` uses `table.set`, which stays interpreted).
            assert_eq!(user.compiled_function_count(), 3);
        }
        let a = linker.instantiate(&mut store, &user).unwrap();
        let b = linker.instantiate(&mut store, &user).unwrap();
        for (instance, g, slot) in [(&a, 100, 0), (&b, 200, 1)] {
            let set = instance.get_typed_func::<i32, ()>(&store, "set").unwrap();
            set.call(&mut store, g).unwrap();
            let install = instance
                .get_typed_func::<i32, ()>(&store, "install")
                .unwrap();
            install.call(&mut store, slot).unwrap();
        }
        let call_a = a.get_typed_func::<(i32, i32), i32>(&store, "call").unwrap();
        let call_b = b.get_typed_func::<(i32, i32), i32>(&store, "call").unwrap();
        for _ in 0..3 {
            assert_eq!(
                call_a.call(&mut store, (1, 0)).unwrap(),
                101,
                "{strategy:?}"
            );
            assert_eq!(
                call_a.call(&mut store, (1, 1)).unwrap(),
                201,
                "{strategy:?}"
            );
            assert_eq!(
                call_b.call(&mut store, (1, 0)).unwrap(),
                101,
                "{strategy:?}"
            );
            assert_eq!(
                call_b.call(&mut store, (1, 1)).unwrap(),
                201,
                "{strategy:?}"
            );
            assert_eq!(
                call_a.call(&mut store, (7, 2)).unwrap(),
                7000,
                "{strategy:?}"
            );
            let err = call_a.call(&mut store, (1, 3)).unwrap_err();
            assert_eq!(
                err.as_trap().map(|t| t.kind()),
                Some(TrapKind::UninitializedElement)
            );
        }
    }
}
