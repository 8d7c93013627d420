//! The interpreter's fused instructions compute what the Wasm operators they replace compute: each
//! function below is written so that the translator fuses it (see `interp::translate::tests`), and
//! its results over edge-case inputs are checked against the operators' definitions in Rust.

use ward::{Engine, Instance, Linker, Module, Store};

const WAT: &str = r#"
(module
  (memory 1)
  ;; br_table on `x - 2` (the subtraction becomes the table's bias)
  (func (export "table") (param $x i32) (result i32)
    (block (block (block (block
      (br_table 0 1 2 3 (i32.sub (local.get $x) (i32.const 2))))
      (return (i32.const 10)))
      (return (i32.const 11)))
      (return (i32.const 12)))
    (i32.const 13))
  ;; two copies in a row, the second reading what the first wrote
  (func (export "copies") (param $a i32) (param $b i32) (result i32) (local $c i32) (local $d i32)
    (local.set $c (local.get $a))
    (local.set $d (local.get $c))
    (local.set $a (local.get $b))
    (local.set $b (local.get $d))
    (i32.sub (i32.mul (local.get $a) (i32.const 1000)) (local.get $b)))
  ;; (x + c1) + c2
  (func (export "adds") (param $x i32) (result i32)
    (i32.add (i32.add (local.get $x) (i32.const 0x7fffffff)) (i32.const 5)))
  ;; base + (i << k), in both operand orders
  (func (export "index_left") (param $base i32) (param $i i32) (result i32)
    (i32.add (i32.shl (local.get $i) (i32.const 35)) (local.get $base)))
  (func (export "index_right") (param $base i32) (param $i i32) (result i32)
    (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))
  ;; br_if on a mask, and if on `a & b`
  (func (export "flag") (param $x i32) (result i32)
    (block (br_if 0 (i32.and (local.get $x) (i32.const 0x80000004))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "no_flag") (param $x i32) (result i32)
    (block (br_if 0 (i32.eqz (i32.and (local.get $x) (i32.const 0x80000004)))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "not_common") (param $a i32) (param $b i32) (result i32)
    (if (result i32) (i32.eqz (i32.and (local.get $a) (local.get $b))) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "common") (param $a i32) (param $b i32) (result i32)
    (if (result i32) (i32.and (local.get $a) (local.get $b)) (then (i32.const 1)) (else (i32.const 0))))
)
"#;

fn instance() -> (Store<()>, Instance) {
    instance_of(WAT)
}

/// A store with an instance of `wat` (which imports nothing).
fn instance_of(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("test module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

const EDGES: [i32; 12] = [0, 1, 2, 3, 4, 5, 6, -1, -2, i32::MAX, i32::MIN, 0x1234_5678];

#[test]
fn a_biased_br_table_picks_the_entry_of_the_wrapped_index() {
    let (mut store, instance) = instance();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "table")
        .unwrap();
    for x in EDGES {
        let index = (x as u32).wrapping_sub(2).min(3);
        assert_eq!(f.call(&mut store, x).unwrap(), 10 + index as i32, "x = {x}");
    }
}

#[test]
fn paired_copies_run_in_order() {
    let (mut store, instance) = instance();
    let f = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "copies")
        .unwrap();
    for (a, b) in [(1, 2), (7, -3), (0, 0), (-5, 9)] {
        assert_eq!(f.call(&mut store, (a, b)).unwrap(), b * 1000 - a);
    }
}

#[test]
fn folded_additions_wrap_like_two() {
    let (mut store, instance) = instance();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "adds")
        .unwrap();
    for x in EDGES {
        let expected = x.wrapping_add(0x7fff_ffff).wrapping_add(5);
        assert_eq!(f.call(&mut store, x).unwrap(), expected, "x = {x}");
    }
}

#[test]
fn a_scaled_index_shifts_modulo_32_and_wraps() {
    let (mut store, instance) = instance();
    let left = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "index_left")
        .unwrap();
    let right = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "index_right")
        .unwrap();
    for base in EDGES {
        for i in EDGES {
            // `i32.shl` takes its count modulo 32: 35 shifts by 3.
            let l = (i << 3).wrapping_add(base);
            let r = base.wrapping_add(i << 2);
            assert_eq!(left.call(&mut store, (base, i)).unwrap(), l);
            assert_eq!(right.call(&mut store, (base, i)).unwrap(), r);
        }
    }
}

#[test]
fn flag_tests_branch_on_common_bits() {
    let (mut store, instance) = instance();
    let flag = instance
        .get_typed_func::<i32, i32>(&mut store, "flag")
        .unwrap();
    let common = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "common")
        .unwrap();
    let no_flag = instance
        .get_typed_func::<i32, i32>(&mut store, "no_flag")
        .unwrap();
    let not_common = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "not_common")
        .unwrap();
    for a in EDGES {
        let expected = (a as u32 & 0x8000_0004 != 0) as i32;
        assert_eq!(flag.call(&mut store, a).unwrap(), expected, "a = {a}");
        assert_eq!(
            no_flag.call(&mut store, a).unwrap(),
            1 - expected,
            "a = {a}"
        );
        for b in EDGES {
            let expected = (a & b != 0) as i32;
            assert_eq!(common.call(&mut store, (a, b)).unwrap(), expected);
            assert_eq!(not_common.call(&mut store, (a, b)).unwrap(), 1 - expected);
        }
    }
}

const HI_WAT: &str = r#"
(module
  (func (export "lt") (param i64) (result i32) (i64.lt_u (local.get 0) (i64.const 0xfffffff700000000)))
  (func (export "ge") (param i64) (result i32) (i64.ge_u (local.get 0) (i64.const 0x0000000300000000)))
  (func (export "gt") (param i64) (result i32) (i64.gt_u (local.get 0) (i64.const 0x00000002ffffffff)))
  (func (export "le") (param i64) (result i32) (i64.le_u (local.get 0) (i64.const 0xfffffffeffffffff)))
  (func (export "eq") (param i64) (result i32) (i64.eq (local.get 0) (i64.const 0x0000000600000000)))
  (func (export "ne") (param i64) (result i32) (i64.ne (local.get 0) (i64.const 0x0000000600000000)))
  (func (export "and") (param i64) (result i64) (i64.and (local.get 0) (i64.const 0xffffffff00000000)))
  (func (export "br_lt") (param i64) (result i32)
    (block (br_if 0 (i64.lt_u (local.get 0) (i64.const 0xfffffff700000000))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_eq") (param i64) (result i32)
    (if (result i32) (i64.eq (local.get 0) (i64.const 0x0000000600000000))
      (then (i32.const 1)) (else (i32.const 0))))
)
"#;

#[test]
fn high_half_constant_forms_compare_like_the_operators() {
    let (mut store, instance) = instance_of(HI_WAT);
    let values: [u64; 10] = [
        0,
        1,
        0x2_ffff_ffff,
        0x3_0000_0000,
        0x6_0000_0000,
        0x6_0000_0001,
        0xffff_fff6_ffff_ffff,
        0xffff_fff7_0000_0000,
        0xffff_fffe_ffff_ffff,
        u64::MAX,
    ];
    type Check = fn(u64) -> u64;
    let checks: [(&str, Check); 9] = [
        ("lt", |x| (x < 0xffff_fff7_0000_0000) as u64),
        ("ge", |x| (x >= 0x3_0000_0000) as u64),
        ("gt", |x| (x > 0x2_ffff_ffff) as u64),
        ("le", |x| (x <= 0xffff_fffe_ffff_ffff) as u64),
        ("eq", |x| (x == 0x6_0000_0000) as u64),
        ("ne", |x| (x != 0x6_0000_0000) as u64),
        ("and", |x| x & 0xffff_ffff_0000_0000),
        ("br_lt", |x| (x < 0xffff_fff7_0000_0000) as u64),
        ("if_eq", |x| (x == 0x6_0000_0000) as u64),
    ];
    for (name, expected) in checks {
        for x in values {
            let got = if name == "and" {
                let f = instance
                    .get_typed_func::<i64, i64>(&mut store, name)
                    .unwrap();
                f.call(&mut store, x as i64).unwrap() as u64
            } else {
                let f = instance
                    .get_typed_func::<i64, i32>(&mut store, name)
                    .unwrap();
                f.call(&mut store, x as i64).unwrap() as u64
            };
            assert_eq!(got, expected(x), "{name}({x:#x})");
        }
    }
}

#[test]
fn wrapped_operands_and_scaled_loads_compute_like_the_operators() {
    let wat = r#"(module (memory 1)
      (data (i32.const 64) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00")
      (func (export "wrap_add") (param i64) (result i64)
        (i64.extend_i32_u (i32.add (i32.wrap_i64 (local.get 0)) (i32.const 8))))
      (func (export "lookup") (param i32) (result i32)
        (i32.load offset=64 (i32.shl (local.get 0) (i32.const 2)))))"#;
    let (mut store, instance) = instance_of(wat);
    let wrap_add = instance
        .get_typed_func::<i64, i64>(&mut store, "wrap_add")
        .unwrap();
    for x in [0i64, 7, -1, -8, i64::MAX, i64::MIN, 0x1_ffff_fff9] {
        let expected = (x as u32).wrapping_add(8) as u64 as i64;
        assert_eq!(wrap_add.call(&mut store, x).unwrap(), expected, "{x:#x}");
    }
    let lookup = instance
        .get_typed_func::<i32, i32>(&mut store, "lookup")
        .unwrap();
    for i in 0..4 {
        assert_eq!(lookup.call(&mut store, i).unwrap(), i + 1);
    }
    // The last word of memory, and one past it.
    let last = (65536 - 4 - 64) / 4;
    assert_eq!(lookup.call(&mut store, last).unwrap(), 0);
    let trap = lookup.call(&mut store, last + 1).unwrap_err();
    assert!(trap.to_string().contains("out of bounds"), "{trap}");
    // `i << 2` wraps in 32 bits: 0x4000_0001 << 2 is 4, the second entry.
    assert_eq!(lookup.call(&mut store, 0x4000_0001).unwrap(), 2);
}

#[test]
fn stack_pointer_updates_write_the_global_and_the_local() {
    // The prologue and epilogue shapes C compilers emit: the translator makes each one
    // instruction (`GlobalAddImm`, `GlobalSetAddImm`).
    let wat = r#"(module
      (global $sp (export "sp") (mut i32) (i32.const 16))
      (func (export "enter") (param $size i32) (result i32) (local $fp i32)
        (global.set $sp (local.tee $fp (i32.sub (global.get $sp) (i32.const 48))))
        (local.get $fp))
      (func (export "leave") (param $fp i32)
        (global.set $sp (i32.add (local.get $fp) (i32.const 48)))))"#;
    let (mut store, instance) = instance_of(wat);
    let enter = instance
        .get_typed_func::<i32, i32>(&mut store, "enter")
        .unwrap();
    let leave = instance
        .get_typed_func::<i32, ()>(&mut store, "leave")
        .unwrap();
    let sp = instance.get_global(&mut store, "sp").unwrap();
    // 16 - 48 wraps in 32 bits; the local and the global both hold the sum.
    let fp = enter.call(&mut store, 0).unwrap();
    assert_eq!(fp, 16i32.wrapping_sub(48));
    assert_eq!(sp.get(&mut store).i32(), Some(fp));
    let inner = enter.call(&mut store, 0).unwrap();
    assert_eq!(inner, fp.wrapping_sub(48));
    assert_eq!(sp.get(&mut store).i32(), Some(inner));
    leave.call(&mut store, inner).unwrap();
    assert_eq!(sp.get(&mut store).i32(), Some(fp));
    leave.call(&mut store, fp).unwrap();
    assert_eq!(sp.get(&mut store).i32(), Some(16));
    leave.call(&mut store, i32::MAX).unwrap();
    assert_eq!(sp.get(&mut store).i32(), Some(i32::MAX.wrapping_add(48)));
}
