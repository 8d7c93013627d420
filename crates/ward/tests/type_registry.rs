//! The engine's type registry over a long life: canonical type ids stay correct across modules (casts,
//! indirect calls, imports) and the registry neither runs out nor grows without bound when modules
//! with many distinct types are compiled and dropped.

mod support {
    pub mod child;
}

use std::time::{Duration, Instant};

use support::child::{measure_in_child, report_peak_rss};

use ward::{Engine, ExternType, Func, Linker, Module, Store, Table, TrapKind, Val};

/// A module's types are released when it is dropped, so compiling this many distinct types keeps
/// working; before, the engine's registry failed after 2^20 types in its whole life.
const TOTAL_TYPES: u32 = 1_200_000;
/// Types in each module's one rec group.
const TYPES_PER_MODULE: u32 = 4_000;
/// Modules alive at once while the types are compiled.
const LIVE_MODULES: usize = 8;

fn leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn leb_s33(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

/// A module binary whose type section is one rec group of `count` types: a function type whose 32
/// parameters spell `serial` in binary (i32 for a 0 bit, i64 for a 1 bit), which makes the group
/// unlike that of any other serial, then struct types each holding a reference to the type before.
fn many_types_module(serial: u32, count: u32) -> Vec<u8> {
    let mut types = Vec::new();
    leb_u32(&mut types, 1);
    types.push(0x4e);
    leb_u32(&mut types, count);
    types.push(0x60);
    leb_u32(&mut types, 32);
    for bit in 0..32 {
        types.push(if serial >> bit & 1 == 0 { 0x7f } else { 0x7e });
    }
    leb_u32(&mut types, 0);
    for k in 1..count {
        types.push(0x5f);
        leb_u32(&mut types, 1);
        types.push(0x63);
        leb_s33(&mut types, i64::from(k - 1));
        types.push(0x00);
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.push(1);
    leb_u32(&mut wasm, types.len() as u32);
    wasm.extend_from_slice(&types);
    wasm
}

fn call(store: &mut Store<()>, func: Func, params: &[Val]) -> ward::Result<Val> {
    let mut results = [Val::I32(0)];
    func.call(&mut *store, params, &mut results)?;
    Ok(results[0])
}

fn trap_kind(result: ward::Result<Val>) -> Option<TrapKind> {
    result.err().and_then(|e| e.as_trap().map(|t| t.kind()))
}

/// Modules compiled once and used by every later check, so that the checks mix types registered
/// long ago with types registered just now.
struct EarlyModules {
    /// Makes an object of a struct type with a supertype.
    maker: Module,
    /// Exports a table holding a function.
    table_owner: Module,
}

impl EarlyModules {
    fn new(engine: &Engine) -> EarlyModules {
        let maker = Module::new(
            engine,
            r#"(module
                 (type $base (sub (struct (field i32))))
                 (type $derived (sub $base (struct (field i32) (field i64))))
                 (func (export "make") (result anyref)
                   (struct.new $derived (i32.const 7) (i64.const 8))))"#,
        )
        .unwrap();
        let table_owner = Module::new(
            engine,
            r#"(module
                 (table (export "table") 2 funcref)
                 (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
                 (elem (i32.const 0) $inc))"#,
        )
        .unwrap();
        EarlyModules { maker, table_owner }
    }
}

/// `ref.test` and `ref.cast` between modules: an object of one module's struct type is an instance of
/// a structurally equal type of another module (same rec group shape, same supertype chain), and of
/// no other type.
fn check_casts_across_modules(engine: &Engine, maker: &Module) {
    let same = r#"(module
         (type $base (sub (struct (field i32))))
         (type $derived (sub $base (struct (field i32) (field i64))))
         (func (export "test") (param anyref) (result i32) (ref.test (ref $derived) (local.get 0)))
         (func (export "cast") (param anyref) (result i32)
           (struct.get $derived 0 (ref.cast (ref $derived) (local.get 0)))))"#;
    let supertype_only = r#"(module
         (type $base (sub (struct (field i32))))
         (func (export "test") (param anyref) (result i32) (ref.test (ref $base) (local.get 0)))
         (func (export "cast") (param anyref) (result i32)
           (struct.get $base 0 (ref.cast (ref $base) (local.get 0)))))"#;
    let other_field = r#"(module
         (type $base (sub (struct (field i64))))
         (func (export "test") (param anyref) (result i32) (ref.test (ref $base) (local.get 0)))
         (func (export "cast") (param anyref) (result i32)
           (drop (ref.cast (ref $base) (local.get 0))) (i32.const 1)))"#;
    let other_rec_group = r#"(module
         (rec (type $base (sub (struct (field i32)))) (type (struct)))
         (func (export "test") (param anyref) (result i32) (ref.test (ref $base) (local.get 0)))
         (func (export "cast") (param anyref) (result i32)
           (struct.get $base 0 (ref.cast (ref $base) (local.get 0)))))"#;
    let final_base = r#"(module
         (type $base (struct (field i32)))
         (func (export "test") (param anyref) (result i32) (ref.test (ref $base) (local.get 0)))
         (func (export "cast") (param anyref) (result i32)
           (struct.get $base 0 (ref.cast (ref $base) (local.get 0)))))"#;

    let mut store = Store::new(engine, ());
    let linker = Linker::new(engine);
    let make = linker
        .instantiate(&mut store, maker)
        .unwrap()
        .get_func(&store, "make")
        .unwrap();
    let object = call(&mut store, make, &[]).unwrap();
    for (wat, castable) in [
        (same, true),
        (supertype_only, true),
        (other_field, false),
        (other_rec_group, false),
        (final_base, false),
    ] {
        let module = Module::new(engine, wat).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let test = instance.get_func(&store, "test").unwrap();
        let cast = instance.get_func(&store, "cast").unwrap();
        let tested = call(&mut store, test, std::slice::from_ref(&object)).unwrap();
        let cast = call(&mut store, cast, std::slice::from_ref(&object));
        if castable {
            assert_eq!(tested, Val::I32(1), "ref.test in {wat}");
            assert_eq!(cast.unwrap(), Val::I32(7), "ref.cast in {wat}");
        } else {
            assert_eq!(tested, Val::I32(0), "ref.test in {wat}");
            assert_eq!(
                trap_kind(cast),
                Some(TrapKind::CastFailure),
                "ref.cast in {wat}"
            );
        }
    }
}

/// `call_indirect` through a table shared by export and import: the callee's signature is compared
/// with the call site's across modules, for a Wasm function and for a host function.
fn check_indirect_calls_across_modules(engine: &Engine, owner: &Module) {
    let caller = Module::new(
        engine,
        r#"(module
             (import "owner" "table" (table 2 funcref))
             (import "host" "double" (func $double (param i32) (result i32)))
             (elem (i32.const 1) $double)
             (type $good (func (param i32) (result i32)))
             (type $bad (func (param i64) (result i32)))
             (func (export "good") (param i32) (result i32)
               (call_indirect (type $good) (i32.const 41) (local.get 0)))
             (func (export "bad") (param i32) (result i32)
               (call_indirect (type $bad) (i64.const 41) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "double", |x: i32| x.wrapping_mul(2))
        .unwrap();
    let owner = linker.instantiate(&mut store, owner).unwrap();
    linker.instance(&mut store, "owner", owner).unwrap();
    let caller = linker.instantiate(&mut store, &caller).unwrap();
    let good = caller.get_func(&store, "good").unwrap();
    let bad = caller.get_func(&store, "bad").unwrap();
    assert_eq!(
        call(&mut store, good, &[Val::I32(0)]).unwrap(),
        Val::I32(42)
    );
    assert_eq!(
        call(&mut store, good, &[Val::I32(1)]).unwrap(),
        Val::I32(82)
    );
    for slot in 0..2 {
        assert_eq!(
            trap_kind(call(&mut store, bad, &[Val::I32(slot)])),
            Some(TrapKind::IndirectCallTypeMismatch)
        );
    }
}

/// Function and tag imports are checked against the exporter's types across modules.
fn check_imports_across_modules(engine: &Engine) {
    let exporter = Module::new(
        engine,
        r#"(module
             (type $s (struct (field i32)))
             (tag (export "tag") (param i32))
             (func (export "f") (param (ref null $s)) (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    let exporter = linker.instantiate(&mut store, &exporter).unwrap();
    linker.instance(&mut store, "m", exporter).unwrap();
    let matching = r#"(module
         (type $s (struct (field i32)))
         (import "m" "tag" (tag (param i32)))
         (import "m" "f" (func (param (ref null $s)) (result i32))))"#;
    let wrong_func = r#"(module
         (type $s (struct (field i64)))
         (import "m" "f" (func (param (ref null $s)) (result i32))))"#;
    let wrong_tag = r#"(module (import "m" "tag" (tag (param i64))))"#;
    let module = Module::new(engine, matching).unwrap();
    linker.instantiate(&mut store, &module).unwrap();
    for wat in [wrong_func, wrong_tag] {
        let module = Module::new(engine, wat).unwrap();
        assert!(
            linker.instantiate(&mut store, &module).is_err(),
            "links: {wat}"
        );
    }
}

fn check_types_across_modules(engine: &Engine, early: &EarlyModules) {
    check_casts_across_modules(engine, &early.maker);
    check_indirect_calls_across_modules(engine, &early.table_owner);
    check_imports_across_modules(engine);
}

#[test]
fn equal_types_of_different_modules_are_one_type() {
    let engine = Engine::default();
    check_types_across_modules(&engine, &EarlyModules::new(&engine));
}

#[test]
fn types_stay_registered_while_a_store_uses_them() {
    // The embedder drops its module handles; the store's instances, functions and objects still use
    // the types, while other modules' types come and go (and their ids' slots are reused).
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let maker = Module::new(
        &engine,
        r#"(module
             (type $s (struct (field i32)))
             (type $f (func (result i32)))
             (table (export "table") 1 funcref)
             (func $seven (type $f) (i32.const 7))
             (elem (i32.const 0) $seven)
             (func (export "make") (result anyref) (struct.new $s (i32.const 7))))"#,
    )
    .unwrap();
    let maker = linker.instantiate(&mut store, &maker).unwrap();
    let make = maker.get_func(&store, "make").unwrap();
    let table = maker.get_export(&store, "table").unwrap();
    let object = call(&mut store, make, &[]).unwrap();
    for serial in 0..50 {
        drop(Module::new(&engine, many_types_module(serial, 1_000)).unwrap());
    }
    let user = Module::new(
        &engine,
        r#"(module
             (type $s (struct (field i32)))
             (type $f (func (result i32)))
             (import "maker" "table" (table 1 funcref))
             (func (export "get") (param anyref) (result i32)
               (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
             (func (export "call") (result i32) (call_indirect (type $f) (i32.const 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "maker", "table", table).unwrap();
    let user = linker.instantiate(&mut store, &user).unwrap();
    let get = user.get_func(&store, "get").unwrap();
    let call_seven = user.get_func(&store, "call").unwrap();
    assert_eq!(call(&mut store, get, &[object]).unwrap(), Val::I32(7));
    assert_eq!(call(&mut store, call_seven, &[]).unwrap(), Val::I32(7));
}

#[test]
fn a_host_table_keeps_the_type_it_was_made_with() {
    // The host makes a table whose element type it took from a module, then drops the module; a
    // later module with an equal type still links to the table, and one with another type does not.
    let engine = Engine::default();
    let table_type = |wat: &str| {
        let template = Module::new(&engine, wat).unwrap();
        match template.get_export("t") {
            Some(ExternType::Table(ty)) => (template, ty),
            _ => panic!("the template exports a table"),
        }
    };
    let mut store = Store::new(&engine, ());
    let (template, ty) = table_type(
        r#"(module (type $s (struct (field i32))) (table (export "t") 1 (ref null $s)))"#,
    );
    let table = Table::new(&mut store, ty, Val::AnyRef(None)).unwrap();
    drop(template);
    for serial in 0..10 {
        drop(Module::new(&engine, many_types_module(serial, 1_000)).unwrap());
    }
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "t", table).unwrap();
    let equal =
        r#"(module (type $s (struct (field i32))) (import "host" "t" (table 1 (ref null $s))))"#;
    let other =
        r#"(module (type $s (struct (field i64))) (import "host" "t" (table 1 (ref null $s))))"#;
    let equal = Module::new(&engine, equal).unwrap();
    linker.instantiate(&mut store, &equal).unwrap();
    let other = Module::new(&engine, other).unwrap();
    assert!(linker.instantiate(&mut store, &other).is_err());

    // A type whose modules are all gone names nothing: using it is an error, not another type.
    let (template, stale) = table_type(
        r#"(module (type $s (struct (field f32))) (table (export "t") 1 (ref null $s)))"#,
    );
    drop(template);
    assert!(Table::new(&mut store, stale, Val::AnyRef(None)).is_err());
}

/// Compiles [`TOTAL_TYPES`] distinct types through one engine, dropping modules along the way, and
/// checks cross-module type identity as it goes, between modules compiled at the start and modules
/// compiled since. Returns how long the compilation took.
fn compile_many_distinct_types(engine: &Engine) -> Duration {
    let early = EarlyModules::new(engine);
    let modules = TOTAL_TYPES.div_ceil(TYPES_PER_MODULE);
    let mut live = std::collections::VecDeque::new();
    let start = Instant::now();
    for serial in 0..modules {
        let wasm = many_types_module(serial, TYPES_PER_MODULE);
        let module = Module::new(engine, &wasm).unwrap_or_else(|e| {
            panic!(
                "module {serial} (after {} types): {e}",
                serial * TYPES_PER_MODULE
            )
        });
        live.push_back(module);
        if live.len() > LIVE_MODULES {
            live.pop_front();
        }
        if serial % 50 == 0 {
            check_types_across_modules(engine, &early);
        }
    }
    let elapsed = start.elapsed();
    check_types_across_modules(engine, &early);
    // The live modules' types are still theirs: compiling the same modules again finds equal types.
    let again = many_types_module(modules - 1, TYPES_PER_MODULE);
    Module::new(engine, &again).unwrap();
    elapsed
}

/// The peak RSS compiling [`TOTAL_TYPES`] types may take with [`LIVE_MODULES`] modules alive. About
/// 31 MiB measured; the registry used to keep every type, 613 MiB by the time it failed at 2^20.
const TYPES_PEAK_RSS_KIB: u64 = 128 * 1024;

#[test]
fn more_than_two_to_the_twenty_types_compile_in_bounded_time_and_memory() {
    if let Some((kib, stdout)) =
        measure_in_child("more_than_two_to_the_twenty_types_compile_in_bounded_time_and_memory")
    {
        if let Some((_, line)) = stdout.lines().find_map(|l| l.split_once("compiled ")) {
            eprintln!("compiled {line}");
        }
        eprintln!("peak RSS after {TOTAL_TYPES} types: {kib} KiB");
        assert!(
            kib < TYPES_PEAK_RSS_KIB,
            "peak RSS {kib} KiB exceeds {TYPES_PEAK_RSS_KIB} KiB"
        );
        return;
    }
    const { assert!(TOTAL_TYPES > 1 << 20) };
    let engine = Engine::default();
    let elapsed = compile_many_distinct_types(&engine);
    println!("compiled {TOTAL_TYPES} types in {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(60),
        "compiling {TOTAL_TYPES} types took {elapsed:?}"
    );
    report_peak_rss();
}
