//! GC references held by the host are roots: an `AnyRef` or `ExnRef` the host received stays
//! valid across later calls that collect, until its host call or `RootScope` ends.

use ward::{
    AnyRef, Caller, Config, Engine, Error, ExnRef, Instance, Linker, Module, RootScope, Store, Val,
};

/// `make(i)` allocates a struct holding `i`; `get(s)` reads it back; `churn(n)` allocates `n`
/// 1 KiB arrays and drops them (under a 256 KiB heap, enough to force collections); `throw(i)`
/// throws an exception carrying a fresh struct holding `i`.
const GC_PROGRAM: &str = r#"(module
    (type $s (struct (field i32)))
    (type $bytes (array (mut i8)))
    (tag $t (param (ref null $s)))
    (func (export "make") (param i32) (result anyref) (struct.new $s (local.get 0)))
    (func (export "get") (param anyref) (result i32)
        (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
    (func (export "churn") (param i32)
        (loop $l
            (drop (array.new_default $bytes (i32.const 1024)))
            (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
    (func (export "throw") (param i32) (throw $t (struct.new $s (local.get 0)))))"#;

fn setup() -> (Store<Vec<AnyRef>>, Instance) {
    let mut config = Config::new();
    config.max_gc_heap(256 << 10);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, GC_PROGRAM).unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

fn churn(store: &mut Store<Vec<AnyRef>>, instance: Instance) {
    let before = store.gc_collections();
    let churn = instance
        .get_typed_func::<i32, ()>(&*store, "churn")
        .unwrap();
    churn.call(&mut *store, 2_000).unwrap();
    assert!(store.gc_collections() > before, "the churn must collect");
}

fn read(store: &mut Store<Vec<AnyRef>>, instance: Instance, r: AnyRef) -> ward::Result<i32> {
    let get = instance.get_typed_func::<Option<AnyRef>, i32>(&*store, "get")?;
    get.call(store, Some(r))
}

#[test]
fn results_held_by_the_host_survive_collections() {
    let (mut store, instance) = setup();
    let make = instance
        .get_typed_func::<i32, Option<AnyRef>>(&store, "make")
        .unwrap();
    let held: Vec<AnyRef> = (0..50)
        .map(|i| make.call(&mut store, i).unwrap().unwrap())
        .collect();
    churn(&mut store, instance);
    for (i, r) in held.iter().enumerate() {
        assert!(r.is_struct(&store).unwrap(), "object {i} was collected");
        assert_eq!(read(&mut store, instance, *r).unwrap(), i as i32);
    }
}

#[test]
fn a_root_scope_releases_what_was_received_in_it() {
    let (mut store, instance) = setup();
    let make = instance
        .get_typed_func::<i32, Option<AnyRef>>(&store, "make")
        .unwrap();
    let kept = make.call(&mut store, 7).unwrap().unwrap();
    let dropped = {
        let mut scope = RootScope::new(&mut store);
        let r = make.call(&mut scope, 8).unwrap().unwrap();
        assert!(r.is_struct(&scope).unwrap());
        r
    };
    churn(&mut store, instance);
    assert_eq!(read(&mut store, instance, kept).unwrap(), 7);
    // The scope's object was collected: its handle names nothing now, and using it is an error,
    // not a read of another object.
    assert!(dropped.is_struct(&store).is_err());
    let err = read(&mut store, instance, dropped).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
}

#[test]
fn an_uncaught_exception_stays_readable() {
    let (mut store, instance) = setup();
    let throw = instance.get_typed_func::<i32, ()>(&store, "throw").unwrap();
    let err = throw.call(&mut store, 42).unwrap_err();
    let exn: ExnRef = *err.downcast_ref::<ExnRef>().expect("an uncaught exception");
    churn(&mut store, instance);
    let payload = exn.payload(&store).unwrap();
    let Val::AnyRef(Some(inner)) = payload[0] else {
        panic!("payload {payload:?}")
    };
    churn(&mut store, instance);
    assert_eq!(read(&mut store, instance, inner).unwrap(), 42);
}

/// Within a host function the references it receives are rooted until it returns; to keep one
/// longer, the host reads it through the store again outside the call (here: a global).
#[test]
fn host_function_parameters_are_rooted_for_the_call() {
    let mut config = Config::new();
    config.max_gc_heap(256 << 10);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (type $s (struct (field i32)))
            (type $bytes (array (mut i8)))
            (import "host" "inspect" (func $inspect (param anyref) (result i32)))
            (func (export "run") (result i32)
                (call $inspect (struct.new $s (i32.const 99)))))"#,
    )
    .unwrap();
    let churner = Module::new(&engine, GC_PROGRAM).unwrap();
    let mut store = Store::new(&engine, None::<Instance>);
    let other = Instance::new(&mut store, &churner, &[]).unwrap();
    *store.data_mut() = Some(other);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "inspect",
            |mut caller: Caller<'_, Option<Instance>>, r: Option<AnyRef>| -> ward::Result<i32> {
                let other = caller.data().unwrap();
                // Collect while holding `r`: it must survive.
                let churn = other.get_typed_func::<i32, ()>(&caller, "churn")?;
                churn.call(&mut caller, 2_000)?;
                let get = other.get_typed_func::<Option<AnyRef>, i32>(&caller, "get")?;
                get.call(&mut caller, r)
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
    let collections = store.gc_collections();
    assert_eq!(run.call(&mut store, ()).unwrap(), 99);
    assert!(store.gc_collections() > collections);
}

/// An `OwnedRooted` keeps its object alive past the scope it was made in, until its last clone is
/// dropped; then the object is collected like any other.
#[test]
fn owned_roots_live_until_their_last_clone_is_dropped() {
    let (mut store, instance) = setup();
    let make = instance
        .get_typed_func::<i32, Option<AnyRef>>(&store, "make")
        .unwrap();
    let owned = {
        let mut scope = RootScope::new(&mut store);
        let r = make.call(&mut scope, 5).unwrap().unwrap();
        r.to_owned_rooted(&mut scope).unwrap()
    };
    let clone = owned.clone();
    drop(owned);
    churn(&mut store, instance);
    assert_eq!(read(&mut store, instance, *clone).unwrap(), 5);
    let raw = *clone;
    drop(clone);
    churn(&mut store, instance);
    assert!(
        raw.is_struct(&store).is_err(),
        "the object outlived its owned roots"
    );
    // Another store's reference is refused.
    let (mut other, _) = setup();
    assert!(raw.to_owned_rooted(&mut other).is_err());
}
