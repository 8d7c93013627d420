//! A host function that panics, caught by the embedder (`catch_unwind`, as servers do), leaves the
//! store usable: no GC root names a freed stack (a collection afterwards used to crash the process),
//! the activation count does not leak (500 caught panics used to make every later call trap), and
//! the epoch callback stays installed. Every host-call shape is covered: few values (inline), many
//! values, called directly, re-entered from Wasm, and the epoch callback.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ward::{Caller, Config, Engine, Extern, Instance, Linker, Module, Store, Val};

/// More than the executor's activation limit (500), so a leaked count would show.
const ROUNDS: usize = 600;

const WAT: &str = r#"(module
  (type $s (struct (field i32) (field i64)))
  (import "host" "small" (func $small (param i32) (result i32)))
  (import "host" "large" (func $large (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  ;; Allocates `n` objects nobody keeps: enough to make the small heap collect.
  (func $garbage (export "garbage") (param $n i32)
    (loop $l
      (drop (struct.new $s (local.get $n) (i64.const 0)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; Keeps an object in its frame across the host call, then reads it.
  (func (export "via_small") (param i32) (result i32)
    (local $keep (ref null $s))
    (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
    (drop (call $small (local.get 0)))
    (struct.get $s 0 (local.get $keep)))
  (func (export "via_large") (param i32) (result i32)
    (local $keep (ref null $s))
    (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
    (drop (call $large (local.get 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
                       (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9)))
    (struct.get $s 0 (local.get $keep)))
  ;; Wasm -> host -> Wasm (`via_small`) -> host: the panic crosses two activations.
  (func (export "via_reenter") (param i32) (result i32)
    (local $keep (ref null $s))
    (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
    (drop (call $reenter (local.get 0)))
    (struct.get $s 0 (local.get $keep)))
  ;; A collection-heavy function with a live object in its frame: checks the roots afterwards.
  (func (export "gc_heavy") (param i32) (result i32)
    (local $keep (ref null $s))
    (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
    (call $garbage (i32.const 300))
    (struct.get $s 0 (local.get $keep))))"#;

/// Keeps the 3,000 expected panics of these tests off stderr; any other panic is reported as usual.
fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let expected = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|m| m.starts_with("host panic"));
            if !expected {
                default(info);
            }
        }));
    });
}

/// Host functions panic when their first argument is negative.
fn setup() -> (Store<()>, Instance) {
    quiet_expected_panics();
    let mut config = Config::new();
    config.max_gc_heap(8 * 1024);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "small", |x: i32| -> i32 {
            if x < 0 {
                panic!("host panic (small)");
            }
            x
        })
        .unwrap();
    linker
        .func_wrap(
            "host",
            "large",
            |x: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32|
             -> i32 {
                if x < 0 {
                    panic!("host panic (large)");
                }
                x
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, ()>, x: i32| -> ward::Result<i32> {
                // Garbage first, so that the inner activation's stack is not the only thing around.
                let garbage = caller
                    .get_export("garbage")
                    .and_then(Extern::into_func)
                    .unwrap();
                garbage.call(&mut caller, &[Val::I32(50)], &mut [])?;
                let inner = caller
                    .get_export("via_small")
                    .and_then(Extern::into_func)
                    .unwrap();
                let mut out = [Val::I32(0)];
                inner.call(&mut caller, &[Val::I32(x)], &mut out)?;
                Ok(out[0].i32().unwrap())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> ward::Result<i32> {
    let func = instance.get_func(&*store, name).unwrap();
    let mut out = [Val::I32(0)];
    func.call(&mut *store, &[Val::I32(arg)], &mut out)?;
    Ok(out[0].i32().unwrap())
}

/// Calls `name` with a panicking argument, catching the panic, and checks the store still works:
/// a collection-heavy call keeps its live object, and the same function runs normally.
fn panic_then_use(store: &mut Store<()>, instance: &Instance, name: &str) {
    let caught = catch_unwind(AssertUnwindSafe(|| call(store, instance, name, -1)));
    let message = caught.expect_err("the host panic propagates to the embedder");
    let text = message
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or_default()
        .to_string();
    assert!(text.starts_with("host panic"), "{text:?}");
    let collections = store.gc_collections();
    assert_eq!(call(store, instance, "gc_heavy", 7).unwrap(), 7);
    assert!(store.gc_collections() > collections, "gc_heavy collected");
    assert_eq!(call(store, instance, name, 5).unwrap(), 5);
}

#[test]
fn panics_in_small_host_calls_leave_the_store_usable() {
    let (mut store, instance) = setup();
    for _ in 0..ROUNDS {
        panic_then_use(&mut store, &instance, "via_small");
    }
}

#[test]
fn panics_in_large_host_calls_leave_the_store_usable() {
    let (mut store, instance) = setup();
    for _ in 0..ROUNDS {
        panic_then_use(&mut store, &instance, "via_large");
    }
}

#[test]
fn panics_across_reentered_activations_leave_the_store_usable() {
    let (mut store, instance) = setup();
    for _ in 0..ROUNDS {
        panic_then_use(&mut store, &instance, "via_reenter");
    }
}

#[test]
fn panics_of_host_functions_called_directly_leave_the_store_usable() {
    let (mut store, instance) = setup();
    let func = ward::Func::wrap(&mut store, |x: i32| -> i32 {
        if x < 0 {
            panic!("host panic (direct)");
        }
        x
    });
    for _ in 0..ROUNDS {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            func.call(&mut store, &[Val::I32(-1)], &mut [Val::I32(0)])
        }));
        assert!(caught.is_err());
        assert_eq!(call(&mut store, &instance, "gc_heavy", 3).unwrap(), 3);
    }
}

#[test]
fn a_panicking_epoch_callback_stays_installed_and_leaves_the_store_usable() {
    let mut config = Config::new();
    config.max_gc_heap(8 * 1024).epoch_interruption(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    quiet_expected_panics();
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (struct (field i32)))
             (func (export "spin") (param $n i32) (result i32)
               (local $keep (ref null $s))
               (local.set $keep (struct.new $s (local.get $n)))
               (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
               (struct.get $s 0 (local.get $keep)))
             (func (export "garbage") (param $n i32)
               (loop $l
                 (drop (struct.new $s (local.get $n)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let garbage = instance.get_func(&store, "garbage").unwrap();
    store.epoch_deadline_callback(move |store| {
        *store.data_mut() += 1;
        store.set_epoch_deadline(1_000_000);
        garbage.call(&mut *store, &[Val::I32(300)], &mut [])?;
        if *store.data() % 2 == 1 {
            panic!("host panic (epoch callback)");
        }
        Ok(ward::UpdateDeadline::Continue(1_000_000))
    });
    let spin = instance.get_typed_func::<i32, i32>(&store, "spin").unwrap();
    for round in 0..ROUNDS as u32 {
        store.set_epoch_deadline(0);
        let caught = catch_unwind(AssertUnwindSafe(|| spin.call(&mut store, 10)));
        if round % 2 == 0 {
            assert!(caught.is_err(), "round {round}: the callback panicked");
        } else {
            assert_eq!(caught.expect("no panic").unwrap(), 10, "round {round}");
        }
        assert_eq!(*store.data(), round + 1, "the callback ran once more");
    }
    assert!(store.gc_collections() > 0);
}
