//! The GC heap's storage and collector: packed `i8`/`i16` fields and elements take their size, not a
//! word each; the collector traces only the words of an object that can hold references; and every
//! packed access agrees with Wasmtime.

mod support {
    pub mod oracle;
}

use support::oracle::outcome::{Outcome, Value};
use support::oracle::{self, FeatureSet, Verdict};
use ward::{Config, Engine, Instance, Module, Store, TrapKind};

/// Packed arrays and structs with mixed fields, read back after sets, fills, overlapping copies in
/// both directions at unaligned offsets, data-segment initialization and fixed construction. Each
/// export folds what it reads into a checksum.
const PACKED: &str = r#"
(module
  (type $a8 (array (mut i8)))
  (type $a16 (array (mut i16)))
  (type $a32 (array (mut i32)))
  (type $f32s (array (mut f32)))
  (type $a64 (array (mut i64)))
  (type $s (struct (field (mut i8)) (field (mut i16)) (field (mut i8)) (field (mut i32))
                   (field (mut i64)) (field (mut i8)) (field (mut (ref null $a8)))
                   (field (mut f32)) (field (mut i16))))
  (data $bytes "\01\82\03\f4\05\86\07\f8\09\8a\0b\fc\0d\8e\0f\f0\11\92")

  ;; sum of (get_s(i) * 3 + get_u(i)) * (i + 1) over the array
  (func $sum8 (param $a (ref $a8)) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
        (local.set $acc
          (i32.add (local.get $acc)
            (i32.mul
              (i32.add
                (i32.mul (array.get_s $a8 (local.get $a) (local.get $i)) (i32.const 3))
                (array.get_u $a8 (local.get $a) (local.get $i)))
              (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  (func $sum16 (param $a (ref $a16)) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
        (local.set $acc
          (i32.add (local.get $acc)
            (i32.mul
              (i32.add
                (i32.mul (array.get_s $a16 (local.get $a) (local.get $i)) (i32.const 5))
                (array.get_u $a16 (local.get $a) (local.get $i)))
              (i32.add (local.get $i) (i32.const 7)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  (func (export "bytes") (param $n i32) (param $v i32) (result i32)
    (local $a (ref $a8)) (local $b (ref $a8))
    (local.set $a (array.new $a8 (local.get $v) (local.get $n)))
    (array.set $a8 (local.get $a) (i32.const 0) (i32.const 0x17f))
    (array.set $a8 (local.get $a) (i32.const 3) (i32.const -2))
    (array.fill $a8 (local.get $a) (i32.const 2) (i32.const -77) (i32.const 21))
    (array.fill $a8 (local.get $a) (i32.const 5) (i32.const 0x1c3) (i32.const 4))
    (array.init_data $a8 $bytes (local.get $a) (i32.const 9) (i32.const 3) (i32.const 7))
    ;; overlapping, forwards and backwards, at odd offsets
    (array.copy $a8 $a8 (local.get $a) (i32.const 1) (local.get $a) (i32.const 4) (i32.const 9))
    (array.copy $a8 $a8 (local.get $a) (i32.const 6) (local.get $a) (i32.const 2) (i32.const 11))
    (local.set $b (array.new_data $a8 $bytes (i32.const 1) (i32.const 15)))
    (array.copy $a8 $a8 (local.get $a) (i32.const 17) (local.get $b) (i32.const 3) (i32.const 10))
    (i32.add
      (i32.add (call $sum8 (local.get $a)) (i32.mul (call $sum8 (local.get $b)) (i32.const 31)))
      (call $sum8 (array.new_fixed $a8 5 (i32.const -1) (i32.const 255) (i32.const 256)
                                        (i32.const 0x80) (i32.const 0x7f)))))

  (func (export "halves") (param $n i32) (param $v i32) (result i32)
    (local $a (ref $a16)) (local $b (ref $a16))
    (local.set $a (array.new $a16 (local.get $v) (local.get $n)))
    (array.set $a16 (local.get $a) (i32.const 2) (i32.const 0x18001))
    (array.fill $a16 (local.get $a) (i32.const 1) (i32.const 0x1234) (i32.const 15))
    (array.fill $a16 (local.get $a) (i32.const 3) (i32.const -3) (i32.const 3))
    (array.init_data $a16 $bytes (local.get $a) (i32.const 7) (i32.const 1) (i32.const 5))
    (array.copy $a16 $a16 (local.get $a) (i32.const 1) (local.get $a) (i32.const 5) (i32.const 7))
    (array.copy $a16 $a16 (local.get $a) (i32.const 9) (local.get $a) (i32.const 6) (i32.const 5))
    (local.set $b (array.new_data $a16 $bytes (i32.const 3) (i32.const 7)))
    (array.copy $a16 $a16 (local.get $a) (i32.const 13) (local.get $b) (i32.const 1) (i32.const 6))
    (i32.add (call $sum16 (local.get $a)) (i32.mul (call $sum16 (local.get $b)) (i32.const 17))))

  (func (export "words") (result i64)
    (local $a (ref $a32)) (local $f (ref $f32s)) (local $w (ref $a64))
    (local.set $a (array.new_data $a32 $bytes (i32.const 1) (i32.const 4)))
    (local.set $f (array.new_data $f32s $bytes (i32.const 2) (i32.const 3)))
    (local.set $w (array.new_data $a64 $bytes (i32.const 1) (i32.const 2)))
    (array.copy $a32 $a32 (local.get $a) (i32.const 1) (local.get $a) (i32.const 0) (i32.const 3))
    (i64.add
      (i64.add
        (i64.extend_i32_u
          (i32.xor (array.get $a32 (local.get $a) (i32.const 3))
                   (i32.reinterpret_f32 (array.get $f32s (local.get $f) (i32.const 2)))))
        (array.get $a64 (local.get $w) (i32.const 1)))
      (i64.extend_i32_s (array.get $a32 (local.get $a) (i32.const 2)))))

  (func (export "fields") (param $x i32) (result i64)
    (local $s (ref $s))
    (local.set $s
      (struct.new $s (local.get $x) (i32.add (local.get $x) (i32.const 0x8000)) (i32.const -7)
                     (i32.mul (local.get $x) (i32.const 0x10001))
                     (i64.const 0x0123456789abcdef) (i32.const 0x1ff)
                     (array.new $a8 (local.get $x) (i32.const 3))
                     (f32.const -1.5) (i32.const 0x12345)))
    (struct.set $s 2 (local.get $s) (i32.add (struct.get_u $s 0 (local.get $s)) (i32.const 1)))
    (struct.set $s 8 (local.get $s) (i32.sub (struct.get_s $s 1 (local.get $s)) (i32.const 1)))
    (i64.add
      (i64.add
        (i64.extend_i32_s
          (i32.add
            (i32.add (struct.get_s $s 0 (local.get $s)) (struct.get_u $s 1 (local.get $s)))
            (i32.add (struct.get_s $s 2 (local.get $s)) (struct.get_u $s 5 (local.get $s)))))
        (i64.extend_i32_u
          (i32.add
            (i32.add (struct.get $s 3 (local.get $s)) (struct.get_s $s 8 (local.get $s)))
            (i32.add (array.get_s $a8 (struct.get $s 6 (local.get $s)) (i32.const 2))
                     (i32.reinterpret_f32 (struct.get $s 7 (local.get $s)))))))
      (struct.get $s 4 (local.get $s))))

  (func (export "default_fields") (result i32)
    (local $s (ref $s))
    (local.set $s (struct.new_default $s))
    (struct.set $s 5 (local.get $s) (i32.const -1))
    (i32.add (struct.get_u $s 5 (local.get $s))
             (i32.add (struct.get_s $s 2 (local.get $s)) (struct.get_u $s 8 (local.get $s)))))

  (func (export "out_of_bounds") (param $i i32) (result i32)
    (array.get_u $a8 (array.new_default $a8 (i32.const 13)) (local.get $i)))
)
"#;

#[test]
fn packed_fields_and_elements_agree_with_wasmtime() {
    let wasm = wat::parse_str(PACKED).expect("valid text");
    let cases: Vec<(&str, Vec<Value>)> = vec![
        ("bytes", vec![Value::I32(40), Value::I32(0x1a5)]),
        ("bytes", vec![Value::I32(27), Value::I32(-100)]),
        ("bytes", vec![Value::I32(33), Value::I32(0)]),
        ("halves", vec![Value::I32(24), Value::I32(0x1_8765)]),
        ("halves", vec![Value::I32(19), Value::I32(-2)]),
        ("words", vec![]),
        ("fields", vec![Value::I32(0x81)]),
        ("fields", vec![Value::I32(-3)]),
        ("fields", vec![Value::I32(0x7fff)]),
        ("default_fields", vec![]),
        ("out_of_bounds", vec![Value::I32(12)]),
        ("out_of_bounds", vec![Value::I32(13)]),
        ("out_of_bounds", vec![Value::I32(-1)]),
    ];
    for (name, args) in cases {
        let report = oracle::compare_call(&wasm, FeatureSet::Gc, name, &args);
        assert_eq!(
            report.verdict,
            Verdict::Agree,
            "{name}{args:?}: ward {:?}, Wasmtime {:?}",
            report.ward,
            report.wasmtime
        );
        assert!(
            matches!(report.ward, Outcome::Returned(_) | Outcome::Trapped(_)),
            "{name}{args:?}: {:?}",
            report.ward
        );
    }
}

/// A store whose GC heap may hold `heap` bytes.
fn store_with_heap(heap: usize) -> (Store<()>, Engine) {
    let mut config = Config::new();
    config.max_gc_heap(heap);
    let engine = Engine::new(&config).expect("valid engine configuration");
    (Store::new(&engine, ()), engine)
}

fn instantiate(store: &mut Store<()>, engine: &Engine, wat: &str) -> Instance {
    let module = Module::new(engine, wat).expect("valid module");
    ward::Linker::new(engine)
        .instantiate(store, &module)
        .expect("instantiates")
}

#[test]
fn packed_arrays_take_their_element_size() {
    // 24 Mi elements of i8 and 12 Mi of i16 (24 MiB each) under a 32 MiB heap: as words they would
    // take 192 and 96 MiB.
    let (mut store, engine) = store_with_heap(32 << 20);
    let instance = instantiate(
        &mut store,
        &engine,
        r#"(module
             (type $a8 (array (mut i8)))
             (type $a16 (array (mut i16)))
             (func (export "bytes") (param i32) (result i32)
               (local $a (ref $a8))
               (local.set $a (array.new $a8 (i32.const 0x15a) (local.get 0)))
               (array.set $a8 (local.get $a) (i32.const 77) (i32.const 0x80))
               (i32.add (array.get_u $a8 (local.get $a) (i32.sub (local.get 0) (i32.const 1)))
                        (array.get_s $a8 (local.get $a) (i32.const 77))))
             (func (export "halves") (param i32) (result i32)
               (array.get_s $a16 (array.new $a16 (i32.const 0x1fffe) (local.get 0))
                                 (i32.sub (local.get 0) (i32.const 1)))))"#,
    );
    let bytes = instance
        .get_typed_func::<i32, i32>(&store, "bytes")
        .unwrap();
    assert_eq!(bytes.call(&mut store, 24 << 20).unwrap(), 0x5a - 0x80);
    let halves = instance
        .get_typed_func::<i32, i32>(&store, "halves")
        .unwrap();
    assert_eq!(halves.call(&mut store, 12 << 20).unwrap(), -2);
    // Twice as many does not fit: the limit still holds.
    let err = bytes.call(&mut store, 48 << 20).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::GcHeapExhausted),
        "{err}"
    );
}

#[test]
fn structs_of_packed_fields_share_words() {
    // 100,000 live structs of eight i8 fields each (and the array holding them) under 8 MiB: at a
    // word per field their contents alone would take 6.4 MB, and with each object's bookkeeping
    // they would not fit.
    let (mut store, engine) = store_with_heap(8 << 20);
    let instance = instantiate(
        &mut store,
        &engine,
        r#"(module
             (type $s (struct (field i8) (field i8) (field i8) (field i8)
                              (field i8) (field i8) (field i8) (field (mut i8))))
             (type $all (array (mut (ref null $s))))
             (func (export "run") (param $n i32) (result i32)
               (local $all (ref $all)) (local $i i32) (local $sum i32)
               (local.set $all (array.new_default $all (local.get $n)))
               (loop $fill
                 (array.set $all (local.get $all) (local.get $i)
                   (struct.new $s (local.get $i) (i32.const 1) (i32.const 2) (i32.const 3)
                                  (i32.const 4) (i32.const 5) (i32.const 6) (i32.const -1)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $fill (i32.lt_u (local.get $i) (local.get $n))))
               (local.set $i (i32.const 0))
               (loop $read
                 (local.set $sum (i32.add (local.get $sum)
                   (i32.add (struct.get_u $s 0 (array.get $all (local.get $all) (local.get $i)))
                            (struct.get_s $s 7 (array.get $all (local.get $all) (local.get $i))))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $read (i32.lt_u (local.get $i) (local.get $n))))
               (local.get $sum)))"#,
    );
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    let n = 100_000i32;
    let expected: i32 = (0..n).map(|i| (i & 0xff) - 1).sum();
    assert_eq!(run.call(&mut store, n).unwrap(), expected);
}

#[test]
fn numbers_in_objects_do_not_keep_garbage_alive() {
    // Handles are small, predictable numbers (`(index + 1) << 2` in the first generation). An i64
    // array and an i64 struct field hold every handle the heap's first 20,000 slots can have while
    // 1 MiB arrays are allocated and dropped under a 16 MiB heap. Traced conservatively, like a
    // stack, those numbers would keep the arrays alive and the heap would run out.
    let (mut store, engine) = store_with_heap(16 << 20);
    let instance = instantiate(
        &mut store,
        &engine,
        r#"(module
             (type $nums (array (mut i64)))
             (type $box (struct (field (mut i64)) (field (mut (ref null $nums)))))
             (type $big (array (mut i8)))
             (global $keep (mut (ref null $box)) (ref.null $box))
             (func (export "run") (param $rounds i32) (result i32)
               (local $nums (ref $nums)) (local $i i32) (local $sum i32) (local $b (ref $big))
               (local.set $nums (array.new_default $nums (i32.const 20000)))
               (loop $fill
                 (array.set $nums (local.get $nums) (local.get $i)
                   (i64.shl (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1)))
                            (i64.const 2)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $fill (i32.lt_u (local.get $i) (i32.const 20000))))
               (global.set $keep (struct.new $box (i64.const 8) (local.get $nums)))
               (local.set $i (i32.const 0))
               (loop $churn
                 (local.set $b (array.new $big (local.get $i) (i32.const 0x100000)))
                 (local.set $sum (i32.add (local.get $sum)
                   (array.get_u $big (local.get $b) (i32.const 0xfffff))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $churn (i32.lt_u (local.get $i) (local.get $rounds))))
               (local.get $sum)))"#,
    );
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    let rounds = 200;
    let expected: i32 = (0..rounds).map(|i| i & 0xff).sum();
    assert_eq!(run.call(&mut store, rounds).unwrap(), expected);
}
