//! Names that differ only by a hyphen (`a1` and `a-1`): valid in the component model, which tells
//! them apart, but rejected by the pinned wasmparser, which compares names without their
//! hyphens. ward validates such a component through a copy with encoded names; these tests check
//! that the component itself keeps its names at run time, and that real clashes (names equal up
//! to ASCII case) are still rejected with wasmparser's message.

use ward::component::{Component, Linker, Type, Val};
use ward::{Engine, Store};

/// Imports two functions and an instance of two functions whose names differ by a hyphen,
/// re-exports calls to each under names that differ the same way, and uses record fields, enum
/// tags, flags and parameters that differ only by a hyphen too.
const HYPHENS: &str = r#"
(component
  (import "a1" (func $a1 (result u32)))
  (import "a-1" (func $a-1 (result u32)))
  (import "z-1" (func $z-1 (result u32)))
  (import "host:pkg-1/iface-z" (instance $host
    (export "get-z1" (func (result u32)))
    (export "get-z-1" (func (result u32)))))
  (alias export $host "get-z1" (func $get-z1))
  (alias export $host "get-z-1" (func $get-z-1))
  (core func $la1 (canon lower (func $a1)))
  (core func $la-1 (canon lower (func $a-1)))
  (core func $lz-1 (canon lower (func $z-1)))
  (core func $lgz1 (canon lower (func $get-z1)))
  (core func $lgz-1 (canon lower (func $get-z-1)))
  (core module $m
    (import "host" "a1" (func $a1 (result i32)))
    (import "host" "a-1" (func $a-1 (result i32)))
    (import "host" "z-1" (func $z-1 (result i32)))
    (import "host" "get-z1" (func $gz1 (result i32)))
    (import "host" "get-z-1" (func $gz-1 (result i32)))
    (func (export "call-a1") (result i32) (call $a1))
    (func (export "call-a-1") (result i32) (call $a-1))
    (func (export "call-z-1") (result i32) (call $z-1))
    (func (export "call-get-z1") (result i32) (call $gz1))
    (func (export "call-get-z-1") (result i32) (call $gz-1))
    (func (export "pick") (param i32 i32) (result i32) (local.get 1))
    (func (export "tag") (param i32) (result i32) (local.get 0)))
  (core instance $host-core (export "a1" (func $la1)) (export "a-1" (func $la-1))
    (export "z-1" (func $lz-1)) (export "get-z1" (func $lgz1)) (export "get-z-1" (func $lgz-1)))
  (core instance $i (instantiate $m (with "host" (instance $host-core))))
  (func (export "call-a1") (result u32) (canon lift (core func $i "call-a1")))
  (func (export "call-a-1") (result u32) (canon lift (core func $i "call-a-1")))
  (func (export "call-z-1") (result u32) (canon lift (core func $i "call-z-1")))
  (func (export "call-get-z1") (result u32) (canon lift (core func $i "call-get-z1")))
  (func (export "call-get-z-1") (result u32) (canon lift (core func $i "call-get-z-1")))
  (func (export "pick") (param "x1" u32) (param "x-1" u32) (result u32)
    (canon lift (core func $i "pick")))
  (type $e (enum "t1" "t-1" "z"))
  (export $e2 "tags" (type $e))
  (func (export "tag") (param "t" $e2) (result $e2) (canon lift (core func $i "tag")))
)
"#;

/// A host function returning `n`.
fn constant(linker: &mut Linker<()>, name: &str, n: u32) {
    linker.func_wrap(name, move |_, (): ()| Ok((n,)));
}

#[test]
fn names_differing_by_a_hyphen_link_to_different_host_functions() {
    let engine = Engine::default();
    let component = Component::new(&engine, HYPHENS).expect("valid in the component model");
    let imports: Vec<&str> = component.imports().collect();
    assert_eq!(imports, ["a1", "a-1", "z-1", "host:pkg-1/iface-z"]);
    let exports: Vec<&str> = component.exports().collect();
    assert!(exports.contains(&"call-a1") && exports.contains(&"call-a-1"));

    let mut linker = Linker::<()>::new(&engine);
    constant(&mut linker, "a1", 1);
    constant(&mut linker, "a-1", 2);
    constant(&mut linker, "z-1", 3);
    let mut host = linker.instance("host:pkg-1/iface-z");
    host.func_wrap("get-z1", |_, (): ()| Ok((4u32,)));
    host.func_wrap("get-z-1", |_, (): ()| Ok((5u32,)));
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    for (export, expected) in [
        ("call-a1", 1),
        ("call-a-1", 2),
        ("call-z-1", 3),
        ("call-get-z1", 4),
        ("call-get-z-1", 5),
    ] {
        let f = instance
            .get_typed_func::<(), (u32,)>(export)
            .unwrap_or_else(|e| panic!("{export}: {e}"));
        assert_eq!(f.call(&mut store, ()).unwrap(), (expected,), "{export}");
    }

    let pick = instance.get_func("pick").unwrap();
    let params: Vec<&str> = pick.ty().params().map(|(name, _)| name).collect();
    assert_eq!(params, ["x1", "x-1"]);
    let mut result = [Val::Bool(false)];
    pick.call(&mut store, &[Val::U32(7), Val::U32(8)], &mut result)
        .unwrap();
    assert_eq!(result[0], Val::U32(8));

    let tag = instance.get_func("tag").unwrap();
    let Some(Type::Enum(tags)) = tag.ty().result() else {
        panic!("tag returns an enum: {:?}", tag.ty());
    };
    assert_eq!(&tags[..], ["t1", "t-1", "z"]);
    tag.call(&mut store, &[Val::Enum("t-1".into())], &mut result)
        .unwrap();
    assert_eq!(result[0], Val::Enum("t-1".into()));
}

#[test]
fn a_missing_hyphenated_import_is_named_as_written() {
    let engine = Engine::default();
    let component = Component::new(&engine, HYPHENS).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    constant(&mut linker, "a1", 1);
    // `a-1` is left out; `a1` must not stand in for it.
    constant(&mut linker, "z-1", 3);
    let mut host = linker.instance("host:pkg-1/iface-z");
    host.func_wrap("get-z1", |_, (): ()| Ok((4u32,)));
    host.func_wrap("get-z-1", |_, (): ()| Ok((5u32,)));
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &component).err().unwrap();
    assert!(err.to_string().contains("a-1"), "{err}");
}

#[test]
fn names_equal_up_to_case_still_clash_with_wasmparsers_message() {
    let engine = Engine::default();
    let err = Component::new(
        &engine,
        r#"(component
             (import "f" (func $f))
             (export "a" (func $f))
             (export "A" (func $f)))"#,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("export name `A` conflicts with previous name `a`"),
        "{err}"
    );

    // A hyphen-only difference first, then a real clash: the real one is reported, with the
    // names as written.
    let err = Component::new(
        &engine,
        r#"(component
             (import "a1" (func $f))
             (import "a-1" (func))
             (export "ZED-1" (func $f))
             (export "zed-1" (func $f)))"#,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("export name `zed-1` conflicts with previous name `ZED-1`"),
        "{err}"
    );

    // Fields of a record that differ only by case.
    let err = Component::new(
        &engine,
        r#"(component
             (type (record (field "x-1" u32) (field "x1" u32) (field "X-1" u32))))"#,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("record field name `X-1` conflicts with previous field name `x-1`"),
        "{err}"
    );
}

#[test]
fn an_error_after_a_hyphenated_pair_is_still_reported() {
    // Valid names, but the export refers to a function that does not exist: the copy with
    // encoded names fails too, and that failure is what is reported.
    let engine = Engine::default();
    let err = Component::new(
        &engine,
        r#"(component
             (import "a1" (func))
             (import "a-1" (func))
             (export "b" (func 5)))"#,
    )
    .err()
    .unwrap();
    let message = err.to_string();
    assert!(!message.contains("conflicts"), "{message}");
    assert!(
        message.contains("out of bounds") || message.contains("index"),
        "{message}"
    );
}
