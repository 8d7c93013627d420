//! Deadlines and interruption through the public API: what a wall-clock deadline covers, that it
//! costs no thread, that interrupt requests are consumed by their trap, and the epoch deadline
//! callback. The semantics are documented in `ward::limits` (module docs) and on the `Store` methods.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ward::{
    Caller, Config, Engine, Error, Instance, Linker, Module, Store, TrapKind, UpdateDeadline,
};

/// `spin` loops forever without calls; `count(n)` loops `n` times and returns `n`.
const LOOPS: &str = r#"(module
    (func (export "spin") (loop $l (br $l)))
    (func (export "count") (param i32) (result i32) (local i32)
      (loop $l
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
      (local.get 1)))"#;

fn interruptible_engine() -> Engine {
    let mut config = Config::new();
    config.epoch_interruption(true);
    Engine::new(&config).expect("valid engine configuration")
}

fn instantiate<T>(engine: &Engine, wat: &str, data: T) -> (Store<T>, Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, data);
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

fn trap_kind(err: &Error) -> Option<TrapKind> {
    err.as_trap().map(|t| t.kind())
}

fn spin<T>(store: &mut Store<T>, instance: &Instance) -> Result<(), Error> {
    let spin = instance.get_func(&*store, "spin").unwrap();
    spin.call(store, &[], &mut [])
}

fn count<T>(store: &mut Store<T>, instance: &Instance, n: i32) -> Result<i32, Error> {
    let count = instance
        .get_typed_func::<i32, i32>(&*store, "count")
        .unwrap();
    count.call(store, n)
}

/// Threads of this process, from `/proc/self/status`.
fn thread_count() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line")
}

#[test]
fn ten_thousand_deadline_guarded_calls_start_no_threads() {
    let engine = interruptible_engine();
    let module = Module::new(&engine, LOOPS).unwrap();
    let linker = Linker::new(&engine);
    let before = thread_count();
    for _ in 0..10_000 {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        store.set_wall_clock_deadline(Duration::from_secs(30));
        assert_eq!(count(&mut store, &instance, 3).unwrap(), 3);
    }
    let after = thread_count();
    // Other tests of this binary may run (and start a thread or two) meanwhile: allow a few.
    assert!(
        after <= before + 4,
        "{before} threads before the calls, {after} after"
    );
}

#[test]
fn a_deadline_ends_with_the_call_it_covered() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    store.set_wall_clock_deadline(Duration::from_millis(50));
    assert_eq!(count(&mut store, &instance, 10).unwrap(), 10);
    std::thread::sleep(Duration::from_millis(200));
    // Long past the instant, a later call on the store runs without the old deadline.
    assert_eq!(count(&mut store, &instance, 100_000).unwrap(), 100_000);
}

#[test]
fn a_short_deadline_interrupts_an_infinite_loop_and_the_next_call_starts_clean() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    let started = Instant::now();
    store.set_wall_clock_deadline(Duration::from_millis(20));
    let err = spin(&mut store, &instance).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert!(started.elapsed() >= Duration::from_millis(20));
    // No `clear_interrupt` needed.
    assert_eq!(count(&mut store, &instance, 1000).unwrap(), 1000);
}

#[test]
fn a_deadline_already_past_interrupts_at_the_first_check() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    store.set_wall_clock_deadline_at(Instant::now() - Duration::from_millis(1));
    let err = count(&mut store, &instance, 1).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
}

#[test]
fn a_deadline_covers_wasm_called_from_host_functions() {
    // The outer call's deadline stays armed while a host function calls into Wasm, so the loop in
    // the nested call is interrupted too, and so is the outer Wasm after the host swallows that trap.
    let engine = interruptible_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "nested" (func $nested))
            (func (export "spin") (loop $l (br $l)))
            (func (export "outer") (call $nested) (loop $l (br $l))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "host",
            "nested",
            ward::FuncType::new([], []),
            |mut caller: Caller<'_, Option<Instance>>, _, _| {
                let instance = caller.data().expect("set before the call");
                let spin = instance.get_func(&caller, "spin").unwrap();
                let err = spin.call(&mut caller, &[], &mut []).unwrap_err();
                assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
                Ok(())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    *store.data_mut() = Some(instance);
    store.set_wall_clock_deadline(Duration::from_millis(20));
    let outer = instance.get_func(&store, "outer").unwrap();
    let err = outer.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
}

#[test]
fn an_interrupt_is_consumed_by_the_trap_it_causes() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    let handle = store.interrupt_handle();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.interrupt();
    });
    let err = spin(&mut store, &instance).unwrap_err();
    interrupter.join().unwrap();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert_eq!(count(&mut store, &instance, 1000).unwrap(), 1000);
}

#[test]
fn an_interrupt_requested_between_calls_stops_only_the_next_call() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    store.interrupt_handle().interrupt();
    let err = count(&mut store, &instance, 10).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert_eq!(count(&mut store, &instance, 10).unwrap(), 10);
}

#[test]
fn clear_interrupt_withdraws_a_pending_request_and_the_deadline() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, ());
    store.interrupt_handle().interrupt();
    store.set_wall_clock_deadline_at(Instant::now());
    store.clear_interrupt();
    assert_eq!(count(&mut store, &instance, 10).unwrap(), 10);
}

#[test]
fn epoch_callback_continues_by_its_delta_until_it_fails() {
    // `tick` advances the engine epoch by one per loop iteration, so the run is deterministic.
    let engine = interruptible_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tick" (func $tick))
            (func (export "run") (loop $l (call $tick) (br $l))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    let ticks = Arc::new(AtomicU64::new(0));
    let ticks_in_host = ticks.clone();
    linker
        .func_wrap("host", "tick", move |caller: Caller<'_, u32>| {
            caller.engine().increment_epoch();
            ticks_in_host.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|store| {
        *store.data_mut() += 1;
        if *store.data() <= 5 {
            Ok(UpdateDeadline::Continue(2))
        } else {
            Err(Error::msg("sixth deadline"))
        }
    });
    let run = instance.get_func(&store, "run").unwrap();
    let err = run.call(&mut store, &[], &mut []).unwrap_err();
    assert!(matches!(err, Error::Host(_)), "{err:?}");
    assert_eq!(err.to_string(), "sixth deadline");
    assert_eq!(*store.data(), 6, "callback invocations");
    // Reached after 1 tick, then extended five times by 2 ticks.
    assert_eq!(ticks.load(Ordering::Relaxed), 11);
}

#[test]
fn epoch_callback_can_interrupt() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, 0u32);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(|store| {
        *store.data_mut() += 1;
        Ok(UpdateDeadline::Interrupt)
    });
    let err = spin(&mut store, &instance).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert_eq!(*store.data(), 1);
}

#[test]
fn epoch_deadline_trap_replaces_the_callback() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, 0u32);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(|store| {
        *store.data_mut() += 1;
        Ok(UpdateDeadline::Continue(0))
    });
    store.epoch_deadline_trap();
    let err = spin(&mut store, &instance).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert_eq!(*store.data(), 0, "the callback never ran");
}

#[test]
fn epoch_callback_runs_while_another_thread_advances_the_epoch() {
    let engine = interruptible_engine();
    let (mut store, instance) = instantiate(&engine, LOOPS, 0u32);
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                engine.increment_epoch();
            }
        })
    };
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|store| {
        *store.data_mut() += 1;
        if *store.data() < 3 {
            Ok(UpdateDeadline::Continue(1))
        } else {
            Ok(UpdateDeadline::Interrupt)
        }
    });
    let err = spin(&mut store, &instance).unwrap_err();
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    assert_eq!(*store.data(), 3);
}
