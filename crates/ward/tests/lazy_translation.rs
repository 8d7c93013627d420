//! Lazy translation (`Config::lazy_translation`): a module is validated when it is compiled and each
//! function is translated at its first call, once for every store and thread using the module, and
//! runs exactly as it would have translated eagerly.

use std::sync::{Arc, Barrier};

use ward::{Config, Engine, Error, Instance, Module, Store, Val};

fn engine(lazy: bool) -> Engine {
    let mut config = Config::new();
    config.lazy_translation(lazy);
    Engine::new(&config).expect("valid engine configuration")
}

/// A module of `count` functions `f0`, `f1`, … of about `ops` operators each; `fN(x)` returns
/// `x + N` after a long chain of arithmetic that cancels out.
fn many_large_functions(count: usize, ops: usize) -> String {
    let body = "(local.set 1 (i32.add (local.get 1) (i32.const 3))) \
                (local.set 1 (i32.sub (local.get 1) (i32.const 3)))"
        .repeat(ops / 10);
    let funcs: String = (0..count)
        .map(|n| {
            format!(
                r#"(func (export "f{n}") (param i32) (result i32) (local i32)
                     (local.set 1 (local.get 0)) {body}
                     (i32.add (local.get 1) (i32.const {n})))"#
            )
        })
        .collect();
    format!("(module {funcs})")
}

fn call_i32(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> ward::Result<i32> {
    instance
        .get_typed_func::<i32, i32>(&*store, name)?
        .call(&mut *store, arg)
}

#[test]
fn only_called_functions_are_translated() {
    let engine = engine(true);
    let module = Module::new(&engine, many_large_functions(200, 2_000)).unwrap();
    assert_eq!(module.translated_function_count(), 0);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(module.translated_function_count(), 0);
    assert_eq!(call_i32(&mut store, &instance, "f17", 100).unwrap(), 117);
    assert_eq!(module.translated_function_count(), 1);
    assert_eq!(call_i32(&mut store, &instance, "f17", 1).unwrap(), 18);
    assert_eq!(module.translated_function_count(), 1);
}

#[test]
fn eager_translation_translates_every_function_at_compile_time() {
    let module = Module::new(&engine(false), many_large_functions(20, 200)).unwrap();
    assert_eq!(module.translated_function_count(), 20);
}

/// Compiling a lazily translated module translates nothing: a translation budget far below one
/// function's code does not stop it.
#[test]
fn compiling_lazily_does_not_count_against_the_translation_budget() {
    let mut config = Config::new();
    config.lazy_translation(true).max_translated_size(1_000);
    let engine = Engine::new(&config).expect("valid engine configuration");
    Module::new(&engine, many_large_functions(50, 2_000)).unwrap();
}

/// Exceeding the budget at a first call fails that call with `CompileLimit` (not a trap), leaves
/// the function untranslated, and leaves functions within the budget callable.
#[test]
fn a_translation_over_budget_fails_the_call_with_compile_limit() {
    let wat = r#"(module
        (func (export "small") (result i32) (i32.const 5))
        (func (export "big") (result i32) (local i32)
            {body} (local.get 0)))"#
        .replace(
            "{body}",
            &"(local.set 0 (i32.add (local.get 0) (i32.const 1)))".repeat(1_000),
        );
    let mut config = Config::new();
    config.lazy_translation(true).max_translated_size(10_000);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let big = instance.get_typed_func::<(), i32>(&store, "big").unwrap();
    assert!(matches!(
        big.call(&mut store, ()),
        Err(Error::CompileLimit(_))
    ));
    assert!(matches!(
        big.call(&mut store, ()),
        Err(Error::CompileLimit(_))
    ));
    assert_eq!(module.translated_function_count(), 0);
    let small = instance.get_typed_func::<(), i32>(&store, "small").unwrap();
    assert_eq!(small.call(&mut store, ()).unwrap(), 5);
    assert_eq!(module.translated_function_count(), 1);
}

#[test]
fn an_invalid_body_is_rejected_at_compile_time_with_the_eager_error() {
    // The invalid function is never called.
    let wat = r#"(module
        (func (export "ok") (result i32) (i32.const 1))
        (func (result i32) (i64.const 1)))"#;
    let lazy = Module::new(&engine(true), wat).unwrap_err();
    let eager = Module::new(&engine(false), wat).unwrap_err();
    assert!(matches!(lazy, Error::Invalid { .. }), "{lazy}");
    assert_eq!(lazy.to_string(), eager.to_string());
}

/// One module in two stores on two threads that call the same function first at the same time:
/// both get the right result and the function is translated (published) once.
#[test]
fn a_function_translated_once_is_shared_across_stores_and_threads() {
    let engine = engine(true);
    let module = Module::new(&engine, many_large_functions(10, 2_000)).unwrap();
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (engine, module, start) = (engine.clone(), module.clone(), start.clone());
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                start.wait();
                (0..50)
                    .map(|i| call_i32(&mut store, &instance, "f3", t * 1000 + i).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (t, thread) in threads.into_iter().enumerate() {
        let expected: Vec<i32> = (0..50).map(|i| t as i32 * 1000 + i + 3).collect();
        assert_eq!(thread.join().unwrap(), expected);
    }
    assert_eq!(module.translated_function_count(), 1);
}

/// Functions exercising each per-function side table (memory arguments of a second memory,
/// indirect call sites, `v128` constants and shuffle masks, GC immediates and casts), called
/// through a chain of lazily translated callers.
const SIDE_TABLES: &str = r#"(module
    (memory 1)
    (memory $m2 1)
    (type $sig (func (param i32) (result i32)))
    (type $point (struct (field (mut i32)) (field i32)))
    (table 2 funcref)
    (elem (i32.const 0) $double $inc)
    (func $double (type $sig) (i32.mul (local.get 0) (i32.const 2)))
    (func $inc (type $sig) (i32.add (local.get 0) (i32.const 1)))
    (func $memory2 (param i32) (result i32)
        (i32.store $m2 offset=8 (i32.const 0) (local.get 0))
        (i32.load $m2 offset=8 (i32.const 0)))
    (func $indirect (param i32) (result i32)
        (call_indirect (type $sig) (local.get 0) (i32.const 0)))
    (func $simd (param i32) (result i32)
        (i32x4.extract_lane 1
            (i8x16.shuffle 4 5 6 7 0 1 2 3 8 9 10 11 12 13 14 15
                (i32x4.add (v128.const i32x4 10 20 30 40) (i32x4.splat (local.get 0)))
                (v128.const i32x4 0 0 0 0))))
    (func $gc (param i32) (result i32)
        (local $any anyref)
        (local.set $any (struct.new $point (local.get 0) (i32.const 7)))
        (i32.add
            (struct.get $point 0 (ref.cast (ref $point) (local.get $any)))
            (struct.get $point 1 (ref.cast (ref $point) (local.get $any)))))
    (func (export "all") (param i32) (result i32)
        (call $gc (call $simd (call $indirect (call $memory2 (local.get 0))))))
    (func (export "trap") (param i32) (result i32)
        (call $inner (local.get 0)))
    (func $inner (param i32) (result i32)
        (i32.div_u (i32.const 1) (local.get 0))))"#;

#[test]
fn lazily_translated_code_computes_what_eager_code_does() {
    for lazy in [false, true] {
        let engine = engine(lazy);
        let module = Module::new(&engine, SIDE_TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        // gc(simd(indirect(memory2(x)))) = (2x + 10) + 7
        assert_eq!(
            call_i32(&mut store, &instance, "all", 5).unwrap(),
            27,
            "lazy: {lazy}"
        );
        assert_eq!(call_i32(&mut store, &instance, "trap", 1).unwrap(), 1);
    }
}

#[test]
fn traps_in_lazily_translated_functions_report_the_same_backtrace() {
    let backtrace = |lazy: bool| {
        let engine = engine(lazy);
        let module = Module::new(&engine, SIDE_TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let error = call_i32(&mut store, &instance, "trap", 0).unwrap_err();
        let trap = error.as_trap().expect("a trap").clone();
        assert_eq!(trap.kind(), ward::TrapKind::IntegerDivisionByZero);
        trap.backtrace().clone()
    };
    let lazy = backtrace(true);
    assert_eq!(lazy.frames.len(), 2);
    assert!(lazy.frames.iter().all(|f| f.module_offset.is_some()));
    assert_eq!(lazy, backtrace(false));
}

/// The benchmark kernels return the same results translated either way.
#[test]
fn benchmark_kernels_give_the_same_results_lazily() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/wasm");
    for (kernel, arg) in [
        ("fib", 15),
        ("sieve", 1_000),
        ("quicksort", 500),
        ("sha256", 256),
        ("nbody", 10),
        ("matmul", 8),
        ("hashmap", 200),
        ("lz", 512),
        ("memops", 1),
        ("simd", 1),
    ] {
        let bytes = std::fs::read(dir.join(format!("{kernel}.wasm"))).unwrap();
        let run = |lazy: bool| {
            let engine = engine(lazy);
            let module = Module::new(&engine, &bytes).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let func = instance.get_func(&store, "run").unwrap();
            let ty = func.ty(&store);
            let mut results: Vec<Val> = ty
                .results()
                .iter()
                .map(|t| Val::default_for(*t).unwrap())
                .collect();
            func.call(&mut store, &[Val::I32(arg)], &mut results)
                .unwrap();
            format!("{results:?}")
        };
        assert_eq!(run(true), run(false), "{kernel}");
    }
}

/// A function translated at its first call is metered like one translated eagerly: the engine's
/// fuel setting is known when the module is compiled.
#[test]
fn lazily_translated_functions_consume_the_same_fuel() {
    let fuel_left = |lazy: bool| {
        let mut config = Config::new();
        config.lazy_translation(lazy).consume_fuel(true);
        let engine = Engine::new(&config).expect("valid engine configuration");
        let module = Module::new(&engine, SIDE_TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(10_000).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(call_i32(&mut store, &instance, "all", 5).unwrap(), 27);
        store.get_fuel().unwrap()
    };
    let lazy = fuel_left(true);
    assert!(lazy < 10_000);
    assert_eq!(lazy, fuel_left(false));
}
