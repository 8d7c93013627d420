//! The component API through the public interface: compiling, instantiating and calling
//! components, the errors for what ward does not run, and the engine switch.

use ward::component::{AbiTrap, Component, Linker, Type, Val};
use ward::{Config, Engine, Error, Module, Store};

/// A component whose core module keeps strings and lists in its memory, with a bump allocator.
const GREETER: &str = r#"
(component
  (core module $m
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $ptr) (local.get 3)))
      (local.get $ptr))
    ;; Returns its string argument unchanged: (ptr, len) stored at 16 and 20.
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    (func (export "sum") (param i32 i32) (result i32)
      (local $total i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get 1)))
          (local.set $total (i32.add (local.get $total) (i32.load (local.get 0))))
          (local.set 0 (i32.add (local.get 0) (i32.const 4)))
          (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
          (br $next)))
      (local.get $total))
    (func (export "fail") unreachable))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "sum") (param "xs" (list u32)) (result u32)
    (canon lift (core func $i "sum") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "fail") (canon lift (core func $i "fail"))))
"#;

fn instantiate(source: &str) -> (Store<()>, ward::component::Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, source).expect("the component compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    (store, instance)
}

#[test]
fn strings_and_lists_cross_into_a_component_and_back() {
    let (mut store, instance) = instantiate(GREETER);
    let echo = instance.get_func("echo").expect("echo is exported");
    let mut result = [Val::Bool(false)];
    echo.call(
        &mut store,
        &[Val::String("grüß dich, 世界".into())],
        &mut result,
    )
    .unwrap();
    assert_eq!(result[0], Val::String("grüß dich, 世界".into()));

    let sum = instance.get_func("sum").expect("sum is exported");
    let xs = Val::List(vec![Val::U32(1), Val::U32(20), Val::U32(300)]);
    sum.call(&mut store, &[xs], &mut result).unwrap();
    assert_eq!(result[0], Val::U32(321));
}

#[test]
fn function_types_are_visible_before_instantiation() {
    let component = Component::new(&Engine::default(), GREETER).unwrap();
    assert_eq!(
        component.exports().collect::<Vec<_>>(),
        ["echo", "sum", "fail"]
    );
    let sum = component
        .export_func_type("sum")
        .expect("sum is a function");
    let params: Vec<(&str, String)> = sum.params().map(|(n, t)| (n, t.to_string())).collect();
    assert_eq!(params, [("xs", "list<u32>".to_string())]);
    assert_eq!(sum.result(), Some(&Type::U32));
}

#[test]
fn arguments_of_the_wrong_type_are_refused_before_the_call() {
    let (mut store, instance) = instantiate(GREETER);
    let sum = instance.get_func("sum").unwrap();
    let mut result = [Val::Bool(false)];
    let err = sum
        .call(&mut store, &[Val::String("no".into())], &mut result)
        .unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
}

#[test]
fn a_trap_in_the_component_comes_back_and_the_instance_stays_closed() {
    let (mut store, instance) = instantiate(GREETER);
    let fail = instance.get_func("fail").unwrap();
    let err = fail.call(&mut store, &[], &mut []).unwrap_err();
    assert!(err.as_trap().is_some(), "{err}");
    // The canonical ABI does not let a caller back into an instance that trapped.
    let echo = instance.get_func("echo").unwrap();
    let mut result = [Val::Bool(false)];
    let err = echo
        .call(&mut store, &[Val::String("again".into())], &mut result)
        .unwrap_err();
    let trap = err.downcast_ref::<AbiTrap>().expect("a canonical ABI trap");
    assert_eq!(trap.message(), "cannot enter component instance");
}

#[test]
fn module_new_of_a_component_points_to_component_new() {
    let err = Module::new(&Engine::default(), "(component)").unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("Component::new"), "{err}");
}

#[test]
fn component_new_of_a_core_module_points_to_module_new() {
    let err = Component::new(&Engine::default(), "(module)").unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("Module::new"), "{err}");
}

#[test]
fn invalid_components_are_reported_as_invalid() {
    let err = Component::new(
        &Engine::default(),
        r#"(component (core module $m) (core instance (instantiate 1)))"#,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
}

#[test]
fn switching_the_component_model_off_names_the_switch() {
    let mut config = Config::new();
    config.wasm_component_model(false);
    let engine = Engine::new(&config).unwrap();
    let err = Component::new(&engine, "(component)").unwrap_err();
    assert!(err.to_string().contains("-W component-model=y"), "{err}");
}

#[test]
fn calling_a_function_lifted_with_a_callback_is_unsupported_with_a_clear_error() {
    // The component is valid and compiles; only a call needs the event loop ward lacks.
    let (mut store, instance) = instantiate(
        r#"
        (component
          (core module $m
            (func (export "f") (result i32) i32.const 0)
            (func (export "cb") (param i32 i32 i32) (result i32) i32.const 0))
          (core instance $i (instantiate $m))
          (func (export "f") async
            (canon lift (core func $i "f") async (callback (core func $i "cb")))))
        "#,
    );
    let f = instance.get_func("f").expect("f is exported");
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert!(ward::component::is_unsupported_async(&err), "{err}");
    assert!(err.to_string().contains("callback"), "{err}");
}

/// An `async`-lifted function that returns 7 through `task.return`, called through an
/// `async` lower by a second component that reports the subtask status and the result.
const ASYNC_WITHOUT_WAITING: &str = r#"
(component
  (component $Callee
    (core module $m
      (import "" "task.return" (func $task.return (param i32)))
      (func (export "seven") (call $task.return (i32.const 7))))
    (core func $task.return (canon task.return (result u32)))
    (core instance $i (instantiate $m (with "" (instance (export "task.return" (func $task.return))))))
    (func (export "seven") async (result u32) (canon lift (core func $i "seven") async)))
  (component $Caller
    (import "seven" (func $seven async (result u32)))
    (core module $mem (memory (export "mem") 1))
    (core instance $mem (instantiate $mem))
    (core func $seven (canon lower (func $seven) async (memory (core memory $mem "mem"))))
    (core module $m
      (import "" "mem" (memory 1))
      (import "" "seven" (func $seven (param i32) (result i32)))
      ;; The status (2, returned) times 100, plus the result stored at 8.
      (func (export "run") (result i32)
        (i32.add (i32.mul (call $seven (i32.const 8)) (i32.const 100))
                 (i32.load (i32.const 8)))))
    (core instance $i (instantiate $m (with "" (instance
      (export "mem" (memory $mem "mem"))
      (export "seven" (func $seven))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $callee (instantiate $Callee))
  (instance $caller (instantiate $Caller (with "seven" (func $callee "seven"))))
  (export "seven" (func $callee "seven"))
  (export "run" (func $caller "run")))
"#;

#[test]
fn an_async_lift_returns_its_result_through_task_return() {
    let (mut store, instance) = instantiate(ASYNC_WITHOUT_WAITING);
    let seven = instance.get_func("seven").expect("seven is exported");
    let mut results = [Val::U32(0)];
    seven
        .call(&mut store, &[], &mut results)
        .expect("the call completes");
    assert_eq!(results[0], Val::U32(7));
}

#[test]
fn an_async_lower_of_a_call_that_completes_returns_the_returned_status() {
    let (mut store, instance) = instantiate(ASYNC_WITHOUT_WAITING);
    let run = instance.get_func("run").expect("run is exported");
    let mut results = [Val::U32(0)];
    run.call(&mut store, &[], &mut results)
        .expect("the call completes");
    assert_eq!(results[0], Val::U32(207));
}

#[test]
fn an_async_lift_that_never_calls_task_return_traps() {
    let (mut store, instance) = instantiate(
        r#"
        (component
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func (export "f") async (result u32) (canon lift (core func $i "f") async)))
        "#,
    );
    let f = instance.get_func("f").expect("f is exported");
    let err = f.call(&mut store, &[], &mut [Val::U32(0)]).unwrap_err();
    assert!(err.to_string().contains("task.return"), "{err}");
}

#[test]
fn an_import_without_a_definition_is_a_link_error() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component (import "host-fn" (func (param "x" u32))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap_err();
    assert!(matches!(err, Error::Link(_)), "{err}");
    assert!(err.to_string().contains("host-fn"), "{err}");
}

#[test]
fn one_components_export_satisfies_anothers_import() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let provider = Component::new(
        &engine,
        r#"(component
             (core module $m (func (export "double") (param i32) (result i32)
               (i32.mul (local.get 0) (i32.const 2))))
             (core instance $i (instantiate $m))
             (func (export "double") (param "x" u32) (result u32)
               (canon lift (core func $i "double"))))"#,
    )
    .unwrap();
    let provider = linker.instantiate(&mut store, &provider).unwrap();
    let consumer = Component::new(
        &engine,
        r#"(component
             (import "double" (func $double (param "x" u32) (result u32)))
             (core func $double' (canon lower (func $double)))
             (core module $m
               (import "" "double" (func $double (param i32) (result i32)))
               (func (export "quadruple") (param i32) (result i32)
                 (call $double (call $double (local.get 0)))))
             (core instance $i (instantiate $m (with "" (instance (export "double" (func $double'))))))
             (func (export "quadruple") (param "x" u32) (result u32)
               (canon lift (core func $i "quadruple"))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define_func("double", provider.get_func("double").unwrap());
    let consumer = linker.instantiate(&mut store, &consumer).unwrap();
    let mut result = [Val::U32(0)];
    consumer
        .get_func("quadruple")
        .unwrap()
        .call(&mut store, &[Val::U32(5)], &mut result)
        .unwrap();
    assert_eq!(result[0], Val::U32(20));
}

/// A component that imports `shout: func(s: string) -> string` and exports `run`, which calls it
/// with "hi" and returns the result's length.
const SHOUTER: &str = r#"
(component
  (import "shout" (func $shout (param "s" string) (result string)))
  (core module $mem
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (global.get $next))
      (global.set $next (i32.add (local.get $ptr) (local.get 3)))
      (local.get $ptr)))
  (core instance $mem (instantiate $mem))
  (core func $shout' (canon lower (func $shout)
    (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))))
  (core module $m
    (import "" "mem" (memory 1))
    (import "" "shout" (func $shout (param i32 i32 i32)))
    (data (i32.const 100) "hi")
    (func (export "run") (result i32)
      (call $shout (i32.const 100) (i32.const 2) (i32.const 200))
      (i32.load (i32.const 204))))
  (core instance $i (instantiate $m (with "" (instance
    (export "mem" (memory $mem "mem"))
    (export "shout" (func $shout'))))))
  (func (export "run") (result u32) (canon lift (core func $i "run"))))
"#;

#[test]
fn a_host_function_satisfies_an_import_and_sees_component_values() {
    let engine = Engine::default();
    let component = Component::new(&engine, SHOUTER).unwrap();
    let mut linker = Linker::<Vec<String>>::new(&engine);
    linker.func_new("shout", |store, params, results| {
        let Val::String(s) = &params[0] else {
            return Err(Error::msg("expected a string"));
        };
        store.data_mut().push(s.clone());
        results[0] = Val::String(format!("{}!!!", s.to_uppercase()));
        Ok(())
    });
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let mut result = [Val::U32(0)];
    instance
        .get_func("run")
        .unwrap()
        .call(&mut store, &[], &mut result)
        .unwrap();
    assert_eq!(result[0], Val::U32("HI!!!".len() as u32));
    assert_eq!(store.data(), &["hi".to_string()]);
}

#[test]
fn a_host_function_returning_the_wrong_type_is_an_error() {
    let engine = Engine::default();
    let component = Component::new(&engine, SHOUTER).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_new("shout", |_, _, results| {
        results[0] = Val::U32(1);
        Ok(())
    });
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let mut result = [Val::U32(0)];
    let err = instance
        .get_func("run")
        .unwrap()
        .call(&mut store, &[], &mut result)
        .unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err}");
}

#[test]
fn a_host_instance_without_the_imported_function_is_a_link_error() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component
             (import "host:x/y" (instance $y (export "f" (func))))
             (alias export $y "f" (func $f)))"#,
    )
    .unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.instance("host:x/y").func_new("g", |_, _, _| Ok(()));
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    assert!(matches!(err, Error::Link(_)), "{err}");
    assert!(err.to_string().contains("`f`"), "{err}");
}

#[test]
fn fuel_runs_out_inside_a_component_call_as_in_a_core_call() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(
        &engine,
        r#"(component
             (core module $m (func (export "spin") (loop $l (br $l))))
             (core instance $i (instantiate $m))
             (func (export "spin") (canon lift (core func $i "spin"))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000).unwrap();
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let err = instance
        .get_func("spin")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(ward::TrapKind::OutOfFuel),
        "{err}"
    );
}

/// A component importing `host:res/things@0.2.3`: a host resource `thing`, `make` returning an
/// owned handle and `peek` taking a borrowed one; `run` makes a thing, peeks at it and drops it.
const THINGS: &str = r#"
(component
  (import "host:res/things@0.2.3" (instance $things
    (export "thing" (type $thing (sub resource)))
    (export "make" (func (param "n" u32) (result (own $thing))))
    (export "[method]thing.peek" (func (param "self" (borrow $thing)) (result u32)))))
  (alias export $things "thing" (type $thing))
  (alias export $things "make" (func $make))
  (alias export $things "[method]thing.peek" (func $peek))
  (core func $make' (canon lower (func $make)))
  (core func $peek' (canon lower (func $peek)))
  (core func $drop (canon resource.drop $thing))
  (core module $m
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "peek" (func $peek (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (result i32)
      (local $h i32) (local $seen i32)
      (local.set $h (call $make (i32.const 7)))
      (local.set $seen (call $peek (local.get $h)))
      (call $drop (local.get $h))
      (local.get $seen)))
  (core instance $i (instantiate $m (with "" (instance
    (export "make" (func $make')) (export "peek" (func $peek')) (export "drop" (func $drop))))))
  (func (export "run") (result u32) (canon lift (core func $i "run"))))
"#;

#[test]
fn host_resources_are_made_borrowed_and_destroyed_through_a_semver_compatible_import() {
    use std::sync::{Arc, Mutex};
    let engine = Engine::default();
    let component = Component::new(&engine, THINGS).unwrap();
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let mut linker = Linker::<()>::new(&engine);
    // Defined at 0.2.0: satisfies the component's 0.2.3 import.
    let mut things = linker.instance("host:res/things@0.2.0");
    let seen = dropped.clone();
    let thing = things.resource("thing", move |_, rep| {
        seen.lock().unwrap().push(rep);
        Ok(())
    });
    let made = thing.clone();
    things.func_new("make", move |_, params, results| {
        let Val::U32(n) = params[0] else {
            unreachable!("typed u32")
        };
        results[0] = Val::Resource(made.own(n * 100));
        Ok(())
    });
    let peeked = thing.clone();
    things.func_new("[method]thing.peek", move |_, params, results| {
        let Val::Resource(r) = &params[0] else {
            unreachable!("typed borrow")
        };
        assert!(!r.owned());
        results[0] = Val::U32(peeked.rep_of(r).expect("a thing") + 1);
        Ok(())
    });
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let mut result = [Val::U32(0)];
    instance
        .get_func("run")
        .unwrap()
        .call(&mut store, &[], &mut result)
        .unwrap();
    assert_eq!(result[0], Val::U32(701));
    assert_eq!(*dropped.lock().unwrap(), [700]);
}

#[test]
fn an_import_of_another_minor_version_does_not_link() {
    let engine = Engine::default();
    let component = Component::new(&engine, THINGS).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host:res/things@0.3.0")
        .resource("thing", |_, _| Ok(()));
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &component).err().unwrap();
    assert!(matches!(err, Error::Link(_)), "{err}");
}

#[test]
fn a_typed_host_function_and_a_typed_call() {
    let engine = Engine::default();
    let component = Component::new(&engine, SHOUTER).unwrap();
    let mut linker = Linker::<Vec<String>>::new(&engine);
    linker.func_wrap("shout", |store, (s,): (String,)| {
        store.data_mut().push(s.clone());
        Ok((format!("{}!!!", s.to_uppercase()),))
    });
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_typed_func::<(), (u32,)>("run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), (5,));
    assert_eq!(store.data(), &["hi".to_string()]);
    let err = instance
        .get_typed_func::<(), (String,)>("run")
        .err()
        .unwrap();
    assert!(err.to_string().contains("type mismatch"), "{err}");
}

#[test]
fn a_typed_host_function_given_another_type_fails_when_called() {
    let engine = Engine::default();
    let component = Component::new(&engine, SHOUTER).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("shout", |_, (n,): (u32,)| Ok((n.to_string(),)));
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let err = instance
        .get_typed_func::<(), (u32,)>("run")
        .unwrap()
        .call(&mut store, ())
        .unwrap_err();
    assert!(
        err.to_string().contains("expected a value for u32"),
        "{err}"
    );
}
