//! Async calls without fibers (`Func::call_async`, async host functions, fuel and epoch yields):
//! results, concurrency of many pending calls, cancellation, GC roots of paused stacks, and the
//! errors of misuse.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ward::{Config, Engine, Error, Instance, Linker, Module, Store, TrapKind, Val};

fn engine(fuel: bool, epochs: bool) -> Engine {
    let mut config = Config::new();
    config
        .async_support(true)
        .consume_fuel(fuel)
        .epoch_interruption(epochs);
    Engine::new(&config).unwrap()
}

/// A guest that calls the async host function `host.sleep` (which returns its argument plus one)
/// `n` times, as a normal call and as a tail call, and sums the results.
const GUEST: &str = r#"
(module
  (import "host" "sleep" (func $sleep (param i32) (result i32)))
  (func $tail (param i32) (result i32) (return_call $sleep (local.get 0)))
  (func (export "run") (param $n i32) (result i32) (local $sum i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (call $sleep (local.get $n))))
        (local.set $sum (i32.add (local.get $sum) (call $tail (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $sum)))
"#;

/// sum over n in 1..=N of 2 * (n + 1)
fn expected_sum(n: i32) -> i32 {
    (1..=n).map(|k| 2 * (k + 1)).sum()
}

fn sleeping_linker(engine: &Engine, delay: Duration) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap_async("host", "sleep", move |_caller, (x,): (i32,)| {
            Box::new(async move {
                tokio::time::sleep(delay).await;
                Ok(x + 1)
            })
        })
        .unwrap();
    linker
}

#[tokio::test]
async fn a_guest_awaits_async_host_functions_in_calls_and_tail_calls() {
    let engine = engine(false, false);
    let module = Module::new(&engine, GUEST).unwrap();
    let linker = sleeping_linker(&engine, Duration::from_millis(1));
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(
        run.call_async(&mut store, 10).await.unwrap(),
        expected_sum(10)
    );
    // The untyped form, and the async host function called directly.
    let mut results = [Val::I32(0)];
    run.func()
        .call_async(&mut store, &[Val::I32(3)], &mut results)
        .await
        .unwrap();
    assert_eq!(results[0].unwrap_i32(), expected_sum(3));
    let sleep = linker
        .get(&mut store, "host", "sleep")
        .unwrap()
        .into_func()
        .unwrap();
    sleep
        .call_async(&mut store, &[Val::I32(41)], &mut results)
        .await
        .unwrap();
    assert_eq!(results[0].unwrap_i32(), 42);
}

/// 10,000 calls, each in its own store, all pending in the host function at once: the host's
/// future completes only when all 10,000 have reached it (a barrier), so the test passes only if
/// every call was suspended concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_wait_in_host_functions_at_once() {
    const CALLS: usize = 10_000;
    let engine = engine(false, false);
    let module = Module::new(&engine, GUEST).unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLS));
    let pending = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut linker: Linker<()> = Linker::new(&engine);
    {
        let (barrier, pending, most) = (barrier.clone(), pending.clone(), most.clone());
        linker
            .func_wrap_async("host", "sleep", move |_caller, (x,): (i32,)| {
                let (barrier, pending, most) = (barrier.clone(), pending.clone(), most.clone());
                Box::new(async move {
                    let now = pending.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    barrier.wait().await;
                    pending.fetch_sub(1, Ordering::SeqCst);
                    Ok(x + 1)
                })
            })
            .unwrap();
    }
    let pre = linker.instantiate_pre(&module).unwrap();
    let mut tasks = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let (engine, pre) = (engine.clone(), pre.clone());
        tasks.push(tokio::spawn(async move {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
            // One call of the host function (n = 1 makes two: a call and a tail call; each
            // waits at the barrier with all the other stores').
            run.call_async(&mut store, 1).await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), expected_sum(1));
    }
    assert_eq!(most.load(Ordering::SeqCst), CALLS);
}

/// Polls `future` to completion with a waker that does nothing, counting how often it was pending.
fn poll_counting<F: Future>(future: F, mut between: impl FnMut()) -> (F::Output, usize) {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pending = 0;
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return (output, pending),
            Poll::Pending => {
                pending += 1;
                between();
            }
        }
    }
}

const SPIN: &str = r#"
(module
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))
"#;

#[test]
fn fuel_yields_in_slices_and_still_bounds_the_call() {
    let engine = engine(true, false);
    let module = Module::new(&engine, SPIN).unwrap();
    // The fuel a synchronous call uses.
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(count.call(&mut store, 10_000).unwrap(), 10_000);
    let used = 1_000_000 - store.get_fuel().unwrap();

    store.set_fuel(1_000_000).unwrap();
    store.fuel_async_yield_interval(Some(1000)).unwrap();
    let (result, yields) = poll_counting(count.call_async(&mut store, 10_000), || {});
    assert_eq!(result.unwrap(), 10_000);
    assert!(
        yields as u64 >= used / 1000 - 1,
        "{yields} yields for {used} fuel"
    );
    assert!(
        yields as u64 <= used / 1000 + 1,
        "{yields} yields for {used} fuel"
    );
    // The same fuel as the synchronous call.
    assert_eq!(1_000_000 - store.get_fuel().unwrap(), used);

    // Too little fuel: the call traps when all of it is spent, after yielding.
    store.set_fuel(used / 2).unwrap();
    let (result, yields) = poll_counting(count.call_async(&mut store, 10_000), || {});
    let err = result.unwrap_err();
    assert_eq!(
        err.downcast_ref::<TrapKind>(),
        Some(&TrapKind::OutOfFuel),
        "{err}"
    );
    assert!(yields > 0);
}

#[test]
fn an_epoch_deadline_yields_and_moves_on() {
    let engine = engine(false, true);
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    // Each time the call yields, the epoch advances: the deadline is reached at once again.
    engine.increment_epoch();
    let (result, yields) = poll_counting(count.call_async(&mut store, 5000), || {
        engine.increment_epoch()
    });
    assert_eq!(result.unwrap(), 5000);
    // A loop header is an interruption point: about one yield per iteration.
    assert!(yields >= 4000, "{yields} yields");
    // A synchronous call traps at the deadline instead.
    engine.increment_epoch();
    let err = count.call(&mut store, 5000).unwrap_err();
    assert_eq!(err.downcast_ref::<TrapKind>(), Some(&TrapKind::Interrupt));
}

#[test]
fn a_dropped_call_leaves_the_store_usable() {
    let engine = engine(false, false);
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "sleep", |_caller, (_x,): (i32,)| {
            Box::new(std::future::pending::<ward::Result<i32>>())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let (instance, _) = poll_counting(linker.instantiate_async(&mut store, &module), || {});
    let instance = instance.unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    for _ in 0..3 {
        let mut call = Box::pin(run.call_async(&mut store, 5));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
        drop(call);
    }
    // The store goes on: a synchronous call that reaches no host function works.
    let module = Module::new(&engine, SPIN).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    assert_eq!(count.call(&mut store, 10).unwrap(), 10);
}

/// A GC object held only by a paused call's value stack survives collections run while the host
/// function is pending.
#[tokio::test]
async fn references_on_a_paused_stack_stay_alive_while_the_host_runs() {
    let mut config = Config::new();
    config.async_support(true).max_gc_heap(1 << 20);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (type $box (struct (field i32)))
          (type $big (array (mut i64)))
          (import "host" "churn" (func $churn))
          (func (export "churn_heap")
            (local $i i32)
            (loop $l
              (drop (array.new_default $big (i32.const 4096)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 200)))))
          (func (export "run") (result i32) (local $b (ref null $box))
            (local.set $b (struct.new $box (i32.const 1234)))
            (call $churn)
            (struct.get $box 0 (local.get $b))))"#,
    )
    .unwrap();
    let mut linker: Linker<Option<ward::Func>> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "churn", |mut caller, (): ()| {
            Box::new(async move {
                tokio::task::yield_now().await;
                // Allocate far more than the heap limit, so collections must run.
                let churn = caller.data().unwrap();
                churn.call(&mut caller, &[], &mut [])?;
                Ok(())
            })
        })
        .unwrap();
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    *store.data_mut() = instance.get_func(&store, "churn_heap");
    let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
    let before = store.gc_collections();
    assert_eq!(run.call_async(&mut store, ()).await.unwrap(), 1234);
    assert!(store.gc_collections() > before, "no collection ran");
}

#[test]
fn misuse_is_an_error() {
    // An async host function without async support.
    let engine = Engine::default();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "f", |_caller, (): ()| Box::new(async { Ok(()) }))
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "f" (func)) (func (export "g") (call 0)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(err.to_string().contains("async_support"), "{err}");
    // A synchronous call that reaches an async host function.
    let engine = self::engine(false, false);
    let module = Module::new(&engine, GUEST).unwrap();
    let linker = sleeping_linker(&engine, Duration::ZERO);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    match run.call(&mut store, 1) {
        Err(Error::Usage(message)) => assert!(message.contains("call_async"), "{message}"),
        other => panic!("{other:?}"),
    }
    // call_async without async support.
    let plain = Engine::default();
    let module = Module::new(&plain, SPIN).unwrap();
    let mut store = Store::new(&plain, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    let (result, _) = poll_counting(count.call_async(&mut store, 1), || {});
    assert!(result.unwrap_err().to_string().contains("async_support"));
}
