//! Typed host resources: `Resource<R>` handles of a resource type defined with
//! `LinkerInstance::host_resource::<R>`, values kept in a `ResourceTable` in the store's data,
//! passed to and from guests as owned and borrowed handles by `func_wrap` functions and typed
//! calls. A guest's drop runs the destructor; handles that are not the guest's, or of another
//! type, are errors, never panics.

use ward::component::{Component, Instance, Linker, Resource, ResourceTable};
use ward::{Engine, Error, Store};

/// A component importing host resource type `counter` with a constructor and two methods, and
/// exporting functions that create, borrow, pass and drop counters.
const COMPONENT: &str = r#"
(component
  (import "host:counters/counters" (instance $host
    (export "counter" (type $counter (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own $counter))))
    (export "[method]counter.increment" (func (param "self" (borrow $counter)) (result u32)))
    (export "[static]counter.merge" (func (param "a" (own $counter)) (param "b" (borrow $counter))
                                          (result (own $counter))))))
  (alias export $host "counter" (type $counter))
  (alias export $host "[constructor]counter" (func $new))
  (alias export $host "[method]counter.increment" (func $increment))
  (alias export $host "[static]counter.merge" (func $merge))
  (core func $new' (canon lower (func $new)))
  (core func $increment' (canon lower (func $increment)))
  (core func $merge' (canon lower (func $merge)))
  (core func $drop (canon resource.drop $counter))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "increment" (func $increment (param i32) (result i32)))
    (import "" "merge" (func $merge (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    ;; Creates a counter at 10, increments it twice, drops it; returns the last value.
    (func (export "count") (result i32) (local $c i32)
      (local.set $c (call $new (i32.const 10)))
      (drop (call $increment (local.get $c)))
      (call $increment (local.get $c))
      (call $drop (local.get $c)))
    ;; Increments whatever handle index it is given.
    (func (export "increment-handle") (param i32) (result i32) (call $increment (local.get 0)))
    ;; Returns a new counter to the caller.
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    ;; Takes an owned counter and drops it.
    (func (export "consume") (param i32) (call $drop (local.get 0)))
    ;; Increments a borrowed counter, and ends the borrow.
    (func (export "poke") (param i32) (result i32)
      (call $increment (local.get 0))
      (call $drop (local.get 0)))
    ;; Merges a new counter at 5 into `b` (borrowed) and returns the merged counter.
    (func (export "merge-into") (param $b i32) (result i32)
      (call $merge (call $new (i32.const 5)) (local.get $b))
      (call $drop (local.get $b)))
    ;; Increments a borrowed counter but keeps the borrow past the call.
    (func (export "keep-borrow") (param i32) (result i32) (call $increment (local.get 0))))
  (core instance $i (instantiate $m (with "" (instance
    (export "new" (func $new')) (export "increment" (func $increment'))
    (export "merge" (func $merge')) (export "drop" (func $drop))))))
  (func (export "count") (result u32) (canon lift (core func $i "count")))
  (func (export "increment-handle") (param "h" u32) (result u32)
    (canon lift (core func $i "increment-handle")))
  (func (export "make") (param "start" u32) (result (own $counter)) (canon lift (core func $i "make")))
  (func (export "consume") (param "c" (own $counter)) (canon lift (core func $i "consume")))
  (func (export "poke") (param "c" (borrow $counter)) (result u32) (canon lift (core func $i "poke")))
  (func (export "merge-into") (param "c" (borrow $counter)) (result (own $counter))
    (canon lift (core func $i "merge-into")))
  (func (export "keep-borrow") (param "c" (borrow $counter)) (result u32)
    (canon lift (core func $i "keep-borrow"))))
"#;

#[derive(Debug)]
struct Counter {
    value: u32,
}

/// Another host type, to pass where a counter belongs.
struct Gauge;

#[derive(Default)]
struct Host {
    table: ResourceTable,
    /// The values of the counters destroyed, in order.
    destroyed: Vec<u32>,
    /// Whether each `increment` got a borrowed handle.
    borrowed: Vec<bool>,
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::<Host>::new(engine);
    let mut counters = linker.instance("host:counters/counters");
    counters.host_resource::<Counter>("counter", |store, rep| {
        let host = store.data_mut();
        let counter = host.table.delete(Resource::<Counter>::new_own(rep))?;
        host.destroyed.push(counter.value);
        Ok(())
    });
    counters.func_wrap("[constructor]counter", |store, (start,): (u32,)| {
        Ok((store.data_mut().table.push(Counter { value: start })?,))
    });
    counters.func_wrap(
        "[method]counter.increment",
        |store, (this,): (Resource<Counter>,)| {
            let host = store.data_mut();
            host.borrowed.push(!this.owned());
            let counter = host.table.get_mut(&this)?;
            counter.value += 1;
            Ok((counter.value,))
        },
    );
    counters.func_wrap(
        "[static]counter.merge",
        |store, (a, b): (Resource<Counter>, Resource<Counter>)| {
            assert!(a.owned() && !b.owned(), "own and borrow as the type says");
            let host = &mut store.data_mut().table;
            let a = host.delete(a)?;
            let b = host.get(&b)?.value;
            Ok((host.push(Counter { value: a.value + b })?,))
        },
    );
    linker
}

fn instantiate() -> (Store<Host>, Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, COMPONENT).expect("the component compiles");
    let mut store = Store::new(&engine, Host::default());
    let instance = linker(&engine)
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    (store, instance)
}

#[test]
fn a_guest_creates_borrows_and_drops_a_host_resource() {
    let (mut store, instance) = instantiate();
    let count = instance.get_typed_func::<(), (u32,)>("count").unwrap();
    assert_eq!(count.call(&mut store, ()).unwrap(), (12,));
    let host = store.data();
    assert_eq!(host.borrowed, [true, true], "methods get borrows");
    assert_eq!(host.destroyed, [12], "the guest's drop ran the destructor");
    assert!(host.table.is_empty());
}

#[test]
fn a_host_resource_returned_by_a_guest_is_a_typed_owned_handle() {
    let (mut store, instance) = instantiate();
    let make = instance
        .get_typed_func::<(u32,), (Resource<Counter>,)>("make")
        .unwrap();
    let (counter,) = make.call(&mut store, (7,)).unwrap();
    assert!(counter.owned());
    assert_eq!(store.data().table.get(&counter).unwrap().value, 7);
    assert!(store.data().destroyed.is_empty(), "the host owns it now");
}

#[test]
fn an_owned_handle_given_to_a_guest_is_destroyed_by_its_drop() {
    let (mut store, instance) = instantiate();
    let counter = store.data_mut().table.push(Counter { value: 3 }).unwrap();
    let consume = instance
        .get_typed_func::<(Resource<Counter>,), ()>("consume")
        .unwrap();
    consume.call(&mut store, (counter,)).unwrap();
    assert_eq!(store.data().destroyed, [3]);
    assert!(store.data().table.is_empty());
}

#[test]
fn a_borrowed_handle_lent_to_a_guest_stays_the_hosts() {
    let (mut store, instance) = instantiate();
    let counter = store.data_mut().table.push(Counter { value: 1 }).unwrap();
    let poke = instance
        .get_typed_func::<(Resource<Counter>,), (u32,)>("poke")
        .unwrap();
    let lent = Resource::<Counter>::new_borrow(counter.rep());
    assert_eq!(poke.call(&mut store, (lent,)).unwrap(), (2,));
    let lent = Resource::<Counter>::new_borrow(counter.rep());
    assert_eq!(poke.call(&mut store, (lent,)).unwrap(), (3,));
    assert!(
        store.data().destroyed.is_empty(),
        "a borrow's drop destroys nothing"
    );
    assert_eq!(store.data().table.get(&counter).unwrap().value, 3);
}

#[test]
fn own_and_borrow_parameters_of_one_host_call() {
    let (mut store, instance) = instantiate();
    let counter = store.data_mut().table.push(Counter { value: 30 }).unwrap();
    let merge_into = instance
        .get_typed_func::<(Resource<Counter>,), (Resource<Counter>,)>("merge-into")
        .unwrap();
    let (merged,) = merge_into
        .call(&mut store, (Resource::new_borrow(counter.rep()),))
        .unwrap();
    assert_eq!(store.data().table.get(&merged).unwrap().value, 35);
    assert_eq!(store.data().table.get(&counter).unwrap().value, 30);
}

#[test]
fn an_invalid_handle_from_a_guest_traps() {
    let (mut store, instance) = instantiate();
    let increment = instance
        .get_typed_func::<(u32,), (u32,)>("increment-handle")
        .unwrap();
    let err = increment.call(&mut store, (5,)).unwrap_err();
    assert!(err.to_string().contains("unknown handle index 5"), "{err}");
    assert!(
        store.data().borrowed.is_empty(),
        "the host function never ran"
    );
}

#[test]
fn a_handle_given_away_cannot_be_used_again() {
    let (mut store, instance) = instantiate();
    let make = instance
        .get_typed_func::<(u32,), (Resource<Counter>,)>("make")
        .unwrap();
    // The guest's table gets the counter at handle 1 and gives it up when it returns it.
    let (counter,) = make.call(&mut store, (0,)).unwrap();
    let increment = instance
        .get_typed_func::<(u32,), (u32,)>("increment-handle")
        .unwrap();
    let err = increment.call(&mut store, (1,)).unwrap_err();
    assert!(err.to_string().contains("unknown handle index 1"), "{err}");
    assert_eq!(store.data().table.get(&counter).unwrap().value, 0);
}

#[test]
fn a_stale_representation_is_an_error_in_the_host_function() {
    let (mut store, instance) = instantiate();
    let poke = instance
        .get_typed_func::<(Resource<Counter>,), (u32,)>("poke")
        .unwrap();
    let err = poke
        .call(&mut store, (Resource::new_borrow(99),))
        .unwrap_err();
    assert!(err.to_string().contains("resource not present"), "{err}");
}

#[test]
fn a_handle_of_another_host_type_is_refused() {
    let (mut store, instance) = instantiate();
    let consume = instance
        .get_typed_func::<(Resource<Gauge>,), ()>("consume")
        .expect("resource identities are checked when handles cross");
    let err = consume
        .call(&mut store, (Resource::<Gauge>::new_own(0),))
        .unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert!(err.to_string().contains("resource type mismatch"), "{err}");
    let make = instance
        .get_typed_func::<(u32,), (Resource<Gauge>,)>("make")
        .unwrap();
    let err = make.call(&mut store, (1,)).unwrap_err();
    assert!(err.to_string().contains("expected host resource"), "{err}");
}

#[test]
fn a_borrow_kept_past_the_call_traps() {
    let (mut store, instance) = instantiate();
    let counter = store.data_mut().table.push(Counter { value: 0 }).unwrap();
    let keep = instance
        .get_typed_func::<(Resource<Counter>,), (u32,)>("keep-borrow")
        .unwrap();
    let err = keep
        .call(&mut store, (Resource::new_borrow(counter.rep()),))
        .unwrap_err();
    assert!(
        err.to_string().contains("borrow handles still remain"),
        "{err}"
    );
}

#[test]
fn resource_typed_functions_refuse_non_resource_types() {
    let (_, instance) = instantiate();
    assert!(
        instance
            .get_typed_func::<(Resource<Counter>,), (u32,)>("increment-handle")
            .is_err()
    );
}
