//! Pausing calls (`Func::call_resumable`), and snapshots of paused calls restored into fresh stores
//! (`Store::snapshot`/`Store::restore`): a run cut into slices, each resumed from a snapshot in a new
//! engine and store, ends exactly as an uninterrupted run; corrupt, truncated and mismatched
//! snapshots are refused with an error and never panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ward::{
    Config, Engine, Error, Instance, Module, PauseReason, ResumableCall, Store, UpdateDeadline, Val,
};

/// A program with state in every place a snapshot covers: memory (grown, written, read back), a
/// dropped passive data segment, mutable globals (one a function reference), a table used by
/// `call_indirect`, and recursion, so that pauses land at many call depths.
const PROGRAM: &str = r#"
(module
  (type $t (func (param i32) (result i32)))
  (memory (export "mem") 1 10)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (global $fref (mut (ref null $t)) (ref.null $t))
  (table 2 funcref)
  (elem (i32.const 0) $double $inc)
  (elem declare func $inc)
  (data $greeting "hello")
  (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $fib (param i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "run") (param $n i32) (result i32 i64)
    (local $i i32) (local $acc i64) (local $at i32)
    (memory.init $greeting (i32.const 100) (i32.const 0) (i32.const 5))
    (data.drop $greeting)
    (global.set $fref (ref.func $inc))
    (drop (memory.grow (i32.const 1)))
    (loop $l
      (local.set $at (i32.add (i32.const 65536) (i32.shl (local.get $i) (i32.const 2))))
      (i32.store (local.get $at)
        (call_indirect (type $t)
          (call $fib (i32.rem_u (local.get $i) (i32.const 16)))
          (i32.and (local.get $i) (i32.const 1))))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load (local.get $at)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (i32.load (i32.const 100))
             (call_ref $t (i32.const 41) (ref.as_non_null (global.get $fref))))
    (local.get $acc)))
"#;

const N: i32 = 200;

fn engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).unwrap()
}

/// A fresh store with the program instantiated, as a new process would set it up.
fn setup(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// What a finished run leaves: its results, the call counter and the memory.
#[derive(Debug, PartialEq)]
struct End {
    results: (i32, i64),
    counter: i32,
    memory: Vec<u8>,
}

fn end_of(store: &mut Store<()>, instance: &Instance, results: &[Val]) -> End {
    let counter = instance
        .get_global(&mut *store, "counter")
        .unwrap()
        .get(&mut *store)
        .unwrap_i32();
    let memory = instance.get_memory(&mut *store, "mem").unwrap();
    End {
        results: (results[0].unwrap_i32(), results[1].unwrap_i64()),
        counter,
        memory: memory.data(&*store).to_vec(),
    }
}

/// The run without pauses, and the fuel it took.
fn uninterrupted() -> (End, u64) {
    let engine = engine();
    let (mut store, instance) = setup(&engine, PROGRAM);
    store.set_fuel(u64::MAX).unwrap();
    let run = instance.get_func(&store, "run").unwrap();
    let mut results = [Val::I32(0), Val::I64(0)];
    run.call(&mut store, &[Val::I32(N)], &mut results).unwrap();
    let used = u64::MAX - store.get_fuel().unwrap();
    (end_of(&mut store, &instance, &results), used)
}

#[test]
fn a_call_paused_for_fuel_resumes_to_the_same_end() {
    let (expected, used) = uninterrupted();
    let engine = engine();
    let (mut store, instance) = setup(&engine, PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    let slice = used / 50 + 1;
    store.set_fuel(slice).unwrap();
    let mut call = run.call_resumable(&mut store, &[Val::I32(N)]).unwrap();
    let mut pauses = 0;
    let results = loop {
        match call {
            ResumableCall::Finished(results) => break results,
            ResumableCall::Paused(paused) => {
                assert_eq!(paused.reason(), PauseReason::OutOfFuel);
                assert_eq!(paused.func(), run);
                pauses += 1;
                store.set_fuel(slice).unwrap();
                call = paused.resume(&mut store).unwrap();
            }
        }
    };
    assert!(pauses >= 50, "{pauses} pauses");
    assert_eq!(end_of(&mut store, &instance, &results), expected);
}

/// Every slice of the run is resumed from a snapshot in a new engine and store: the state moves
/// only through the snapshot's bytes.
#[test]
fn a_run_resumed_from_snapshots_in_fresh_stores_ends_the_same() {
    let (expected, used) = uninterrupted();
    for slices in [3, 17] {
        let slice = used / slices + 1;
        let engine = engine();
        let (mut store, mut instance) = setup(&engine, PROGRAM);
        let run = instance.get_func(&store, "run").unwrap();
        store.set_fuel(slice).unwrap();
        let mut call = run.call_resumable(&mut store, &[Val::I32(N)]).unwrap();
        let mut snapshots = 0;
        let results = loop {
            match call {
                ResumableCall::Finished(results) => break results,
                ResumableCall::Paused(paused) => {
                    let fuel_left = store.get_fuel().unwrap();
                    let bytes = store.snapshot(&paused, b"host state").unwrap();
                    snapshots += 1;
                    drop(paused);
                    // A new engine and store: nothing but the bytes carries the state over.
                    (store, instance) = setup(&self::engine(), PROGRAM);
                    let (paused, host) = store.restore(&bytes).unwrap();
                    assert_eq!(host, b"host state");
                    assert_eq!(store.get_fuel().unwrap(), fuel_left);
                    store.set_fuel(slice).unwrap();
                    call = paused.resume(&mut store).unwrap();
                }
            }
        };
        assert!(snapshots as u64 >= slices - 1, "{snapshots} snapshots");
        assert_eq!(end_of(&mut store, &instance, &results), expected);
    }
}

#[test]
fn an_epoch_deadline_pauses_and_resumes() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = setup(&engine, PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    // The deadline is reached at the first check; each resume allows none more: the call pauses
    // at every interruption point until the deadline moves.
    store.set_epoch_deadline(0);
    let mut call = run.call_resumable(&mut store, &[Val::I32(N)]).unwrap();
    let mut pauses = 0;
    let results = loop {
        match call {
            ResumableCall::Finished(results) => break results,
            ResumableCall::Paused(paused) => {
                assert_eq!(paused.reason(), PauseReason::Interrupt);
                pauses += 1;
                if pauses == 100 {
                    store.set_epoch_deadline(1);
                }
                call = paused.resume(&mut store).unwrap();
            }
        }
    };
    assert_eq!(pauses, 100);
    let (expected, _) = uninterrupted();
    assert_eq!(end_of(&mut store, &instance, &results), expected);
    // With a callback that continues, the same call does not pause.
    let (mut store, instance) = setup(&engine, PROGRAM);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Continue(1)));
    let run = instance.get_func(&store, "run").unwrap();
    assert!(matches!(
        run.call_resumable(&mut store, &[Val::I32(N)]).unwrap(),
        ResumableCall::Finished(_)
    ));
}

/// A snapshot of the run paused about halfway, and the fuel each slice gets.
fn halfway_snapshot() -> (Vec<u8>, u64) {
    let (_, used) = uninterrupted();
    let engine = engine();
    let (mut store, instance) = setup(&engine, PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    store.set_fuel(used / 2).unwrap();
    let ResumableCall::Paused(paused) = run.call_resumable(&mut store, &[Val::I32(N)]).unwrap()
    else {
        panic!("half the fuel does not finish the run");
    };
    (store.snapshot(&paused, b"").unwrap(), used)
}

fn snapshot_error(result: Result<impl Sized, Error>) -> String {
    match result {
        Err(e @ Error::Snapshot(_)) => e.to_string(),
        Err(other) => panic!("not a snapshot error: {other}"),
        Ok(_) => panic!("the snapshot was accepted"),
    }
}

/// The SHA-256 digest at the end covers the payload: any damage is found before anything is read.
#[test]
fn truncated_and_damaged_snapshots_are_refused() {
    let (bytes, _) = halfway_snapshot();
    let engine = engine();
    let step = bytes.len() / 300 + 1;
    for len in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
        let (mut store, _) = setup(&engine, PROGRAM);
        let message = snapshot_error(store.restore(&bytes[..len]));
        assert!(
            message.contains("ends early") || message.contains("magic"),
            "{len}: {message}"
        );
    }
    for at in (0..bytes.len()).step_by(step) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        let (mut store, _) = setup(&engine, PROGRAM);
        let message = snapshot_error(store.restore(&damaged));
        assert!(message.starts_with("snapshot: "), "{message}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let (mut store, _) = setup(&engine, PROGRAM);
    assert!(snapshot_error(store.restore(&longer)).contains("follow"));
    let mut newer = bytes.clone();
    newer[8] = 2;
    let (mut store, _) = setup(&engine, PROGRAM);
    assert!(snapshot_error(store.restore(&newer)).contains("version 2 is not supported"));
}

/// Forged snapshots: the payload changed and its digest recomputed, as an attacker can. Every
/// field is checked, so restoring fails with an error, or succeeds and the call runs (any value
/// in a slot is just a Wasm value); nothing panics.
#[test]
fn forged_snapshots_never_panic() {
    let (bytes, used) = halfway_snapshot();
    // Most bytes are memory contents and slot values, which any value may take.
    forge_and_run(&engine(), PROGRAM, &bytes, 7, &[0x01, 0x80, 0xff], used);
}

/// Forges `bytes` at every `step`-th payload byte with each of `flips`, recomputes the digest,
/// restores each forgery into a fresh store of `wat` and runs it with `fuel`: each must be refused
/// with a snapshot error or run to a result or a trap, never panic; some of each must occur.
fn forge_and_run(engine: &Engine, wat: &str, bytes: &[u8], step: usize, flips: &[u8], fuel: u64) {
    let payload_start = 8 + 4 + 8;
    let payload_end = bytes.len() - 32;
    let (mut refused, mut accepted) = (0, 0);
    for at in (payload_start..payload_end).step_by(step) {
        for &flip in flips {
            let mut forged = bytes.to_vec();
            forged[at] ^= flip;
            let digest: [u8; 32] = sha256(&forged[payload_start..payload_end]);
            forged[payload_end..].copy_from_slice(&digest);
            let (mut store, _) = setup(engine, wat);
            let outcome = catch_unwind(AssertUnwindSafe(|| match store.restore(&forged) {
                Err(Error::Snapshot(_)) => false,
                Err(other) => panic!("not a snapshot error: {other}"),
                Ok((paused, _)) => {
                    store.set_fuel(fuel).unwrap();
                    let _ = paused.resume(&mut store);
                    true
                }
            }));
            match outcome {
                Ok(true) => accepted += 1,
                Ok(false) => refused += 1,
                Err(_) => {
                    panic!("restoring the snapshot changed at byte {at} (^{flip:#x}) panicked")
                }
            }
        }
    }
    assert!(
        refused > 0 && accepted > 0,
        "{refused} refused, {accepted} accepted"
    );
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn a_snapshot_does_not_restore_into_another_setup() {
    let (bytes, _) = halfway_snapshot();
    // Another module.
    let other = PROGRAM.replace("(i32.const 41)", "(i32.const 42)");
    let (mut store, _) = setup(&engine(), &other);
    assert!(snapshot_error(store.restore(&bytes)).contains("different module"));
    // Other engine settings.
    let (mut store, _) = setup(&Engine::default(), PROGRAM);
    assert!(snapshot_error(store.restore(&bytes)).contains("engine settings"));
    // A store with another instance first.
    let engine = engine();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &Module::new(&engine, "(module)").unwrap(), &[]).unwrap();
    Instance::new(&mut store, &module, &[]).unwrap();
    let message = snapshot_error(store.restore(&bytes));
    assert!(message.contains("does not fit this store"), "{message}");
    // A store whose limits do not let memory grow as far as the snapshot's (the program grew it
    // to two pages before pausing).
    let engine = self::engine();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let limits = ward::StoreLimitsBuilder::new().memory_size(65536).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    Instance::new(&mut store, &module, &[]).unwrap();
    let message = snapshot_error(store.restore(&bytes));
    assert!(message.contains("memory 0 cannot grow"), "{message}");
}

#[test]
fn what_cannot_be_snapshotted_is_refused() {
    // An externref in a global.
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (global (export "g") (mut externref) (ref.null extern))
            (func (export "spin") (loop $l (br $l))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let g = instance.get_global(&mut store, "g").unwrap();
    let host = ward::ExternRef::new(&mut store, 7u32).unwrap();
    g.set(&mut store, Val::ExternRef(Some(host))).unwrap();
    store.set_fuel(1000).unwrap();
    let spin = instance.get_func(&store, "spin").unwrap();
    let ResumableCall::Paused(paused) = spin.call_resumable(&mut store, &[]).unwrap() else {
        panic!("an endless loop finished");
    };
    let message = snapshot_error(store.snapshot(&paused, b""));
    assert!(message.contains("externref"), "{message}");
}

#[test]
fn resumable_calls_and_restores_are_refused_inside_host_functions() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "f" (func $f)) (func (export "g") (call $f)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, None::<ward::Func>);
    let f = ward::Func::wrap(
        &mut store,
        |mut caller: ward::Caller<'_, Option<ward::Func>>| {
            let inner = caller.data().unwrap();
            match inner.call_resumable(&mut caller, &[]) {
                Err(Error::Usage(message)) => {
                    assert!(message.contains("inside a host function"), "{message}");
                    Ok::<(), Error>(())
                }
                other => panic!("a resumable call from a host function: {other:?}"),
            }
        },
    );
    let instance = Instance::new(&mut store, &module, &[f.into()]).unwrap();
    let g = instance.get_func(&store, "g").unwrap();
    *store.data_mut() = Some(g);
    store.set_fuel(1000).unwrap();
    g.call(&mut store, &[], &mut []).unwrap();
}

/// A program that calls the host function `host.checkpoint(i)` (returning an i32 the program
/// adds to its sum) in a loop, with memory, a global and a tail call of the host function.
const CHECKPOINTS: &str = r#"
(module
  (import "host" "checkpoint" (func $checkpoint (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func $tail (param i32) (result i32) (return_call $checkpoint (local.get 0)))
  (func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (loop $l
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $sum))
      (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (i32.const 10))))
      (local.set $sum (i32.add (local.get $sum)
        (if (result i32) (i32.and (local.get $i) (i32.const 1))
          (then (call $tail (local.get $i)))
          (else (call $checkpoint (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))
"#;

/// The host's data: at which checkpoint to take a snapshot, and the snapshot taken.
#[derive(Default)]
struct Checkpoints {
    snapshot_at: Option<i32>,
    snapshot: Option<Vec<u8>>,
}

fn checkpoint_setup() -> (Store<Checkpoints>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, CHECKPOINTS).unwrap();
    let mut linker: ward::Linker<Checkpoints> = ward::Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "checkpoint",
            |mut caller: ward::Caller<'_, Checkpoints>, i: i32| -> ward::Result<i32> {
                if caller.data().snapshot_at == Some(i) {
                    let snapshot = caller.snapshot(b"at a checkpoint")?;
                    caller.data_mut().snapshot = Some(snapshot);
                }
                Ok(0)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, Checkpoints::default());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// Snapshots taken inside the host function (at a call and at a tail call) restore into fresh
/// stores, and the run goes on from the host call with the results given.
#[test]
fn a_snapshot_taken_in_a_host_function_resumes_with_its_results() {
    for at in [4, 7] {
        let (mut store, instance) = checkpoint_setup();
        store.data_mut().snapshot_at = Some(at);
        let run = instance.get_func(&store, "run").unwrap();
        let mut sum = [Val::I32(0)];
        run.call(&mut store, &[Val::I32(12)], &mut sum).unwrap();
        let whole: i32 = (0..12).map(|i| i * 10).sum();
        assert_eq!(sum[0].unwrap_i32(), whole);
        let memory = instance.get_memory(&mut store, "mem").unwrap().data(&store)[..48].to_vec();
        let snapshot = store
            .data_mut()
            .snapshot
            .take()
            .expect("a snapshot was taken");

        let (mut fresh, fresh_instance) = checkpoint_setup();
        let (paused, host) = fresh.restore(&snapshot).unwrap();
        assert_eq!(host, b"at a checkpoint");
        assert_eq!(paused.reason(), PauseReason::HostCall);
        let calls = fresh_instance.get_global(&mut fresh, "calls").unwrap();
        assert_eq!(calls.get(&mut fresh).unwrap_i32(), at + 1);
        // `resume` needs the host call's results.
        let (mut other, _) = checkpoint_setup();
        let (waiting, _) = other.restore(&snapshot).unwrap();
        assert!(matches!(waiting.resume(&mut other), Err(Error::Usage(_))));
        let (waiting, _) = other.restore(&snapshot).unwrap();
        assert!(matches!(
            waiting.resume_with_results(&mut other, &[]),
            Err(Error::Usage(_))
        ));
        // This time the checkpoint returns 1000.
        let ResumableCall::Finished(sum) = paused
            .resume_with_results(&mut fresh, &[Val::I32(1000)])
            .unwrap()
        else {
            panic!("the resumed call paused");
        };
        assert_eq!(sum[0].unwrap_i32(), whole + 1000);
        assert_eq!(calls.get(&mut fresh).unwrap_i32(), 12);
        let fresh_memory = fresh_instance.get_memory(&mut fresh, "mem").unwrap();
        let fresh_memory = fresh_memory.data(&fresh)[..48].to_vec();
        // The sums stored before the checkpoint are the same; those after include the 1000.
        for i in 0..12usize {
            let word = |m: &[u8]| i32::from_le_bytes(m[4 * i..4 * i + 4].try_into().unwrap());
            let extra = if i as i32 > at { 1000 } else { 0 };
            assert_eq!(
                word(&fresh_memory),
                word(&memory) + extra,
                "word {i} at {at}"
            );
        }
    }
}

/// Only the outermost call's host functions can take a snapshot: Wasm called by a host function
/// runs on that host function's native frame, which a snapshot cannot hold.
#[test]
fn a_snapshot_in_a_nested_call_is_refused() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "outer" (func $outer))
          (import "host" "inner" (func $inner))
          (func (export "start") (call $outer))
          (func (export "nested") (call $inner)))"#,
    )
    .unwrap();
    let mut linker: ward::Linker<Option<ward::Func>> = ward::Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "outer",
            |mut caller: ward::Caller<'_, Option<ward::Func>>| {
                let nested = caller.data().unwrap();
                nested.call(&mut caller, &[], &mut [])
            },
        )
        .unwrap()
        .func_wrap(
            "host",
            "inner",
            |caller: ward::Caller<'_, Option<ward::Func>>| {
                let message = snapshot_error(caller.snapshot(b""));
                assert!(message.contains("outermost call"), "{message}");
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    *store.data_mut() = instance.get_func(&store, "nested");
    let start = instance.get_func(&store, "start").unwrap();
    start.call(&mut store, &[], &mut []).unwrap();
}

/// A program whose state lives in the GC heap as well: a linked list of structs held by a
/// global, an array, an `i31ref` in an `anyref` global, garbage collected as it runs (a small heap,
/// so slots are freed, reused and their generations advance), and exceptions thrown and caught.
const GC_PROGRAM: &str = r#"
(module
  (type $node (struct (field $v i32) (field $next (ref null $node))))
  (type $arr (array (mut i32)))
  (tag $e (param i32))
  (global $list (mut (ref null $node)) (ref.null $node))
  (global $keep (mut anyref) (ref.null any))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $a (ref null $arr)) (local $sum i32) (local $p (ref null $node))
    (local.set $a (array.new $arr (i32.const 0) (i32.const 64)))
    (global.set $keep (ref.i31 (i32.const 7)))
    (loop $l
      (global.set $list (struct.new $node (local.get $i) (global.get $list)))
      (array.set $arr (local.get $a) (i32.and (local.get $i) (i32.const 63))
        (i32.add (array.get $arr (local.get $a) (i32.and (local.get $i) (i32.const 63)))
                 (local.get $i)))
      (drop (array.new $arr (local.get $i) (i32.const 64)))
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (throw $e (i32.mul (local.get $i) (i32.const 3))))
          (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $p (global.get $list))
    (block $done (loop $w
      (br_if $done (ref.is_null (local.get $p)))
      (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $p))))
      (local.set $p (struct.get $node $next (local.get $p)))
      (br $w)))
    (local.set $i (i32.const 0))
    (loop $s
      (local.set $sum (i32.add (local.get $sum) (array.get $arr (local.get $a) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $s (i32.lt_u (local.get $i) (i32.const 64))))
    (i32.add (local.get $sum) (i31.get_s (ref.cast (ref i31) (global.get $keep))))))
"#;

fn gc_engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true).max_gc_heap(64 << 10);
    Engine::new(&config).unwrap()
}

/// The GC heap is part of the snapshot: handles in frames, globals and objects answer in the
/// restored store, through collections before and after the snapshot.
#[test]
fn the_gc_heap_and_exceptions_resume_from_snapshots() {
    const N: i32 = 300;
    let expected = 3 * (0..N).sum::<i32>() + (0..N).sum::<i32>() + (0..N).sum::<i32>() + 7;
    let engine = gc_engine();
    let (mut store, instance) = setup(&engine, GC_PROGRAM);
    store.set_fuel(u64::MAX).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, N).unwrap(), expected);
    let used = u64::MAX - store.get_fuel().unwrap();
    assert!(store.gc_collections() > 0, "the heap was never collected");

    let slice = used / 9 + 1;
    let (mut store, instance) = setup(&gc_engine(), GC_PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    store.set_fuel(slice).unwrap();
    let mut call = run.call_resumable(&mut store, &[Val::I32(N)]).unwrap();
    let mut snapshots = 0;
    let results = loop {
        match call {
            ResumableCall::Finished(results) => break results,
            ResumableCall::Paused(paused) => {
                let bytes = store.snapshot(&paused, b"").unwrap();
                snapshots += 1;
                drop(paused);
                let (fresh, _) = setup(&gc_engine(), GC_PROGRAM);
                store = fresh;
                let (paused, _) = store.restore(&bytes).unwrap();
                store.set_fuel(slice).unwrap();
                call = paused.resume(&mut store).unwrap();
            }
        }
    };
    assert!(snapshots >= 8, "{snapshots} snapshots");
    assert_eq!(results[0].unwrap_i32(), expected);
}

/// Forged GC heaps: objects whose words, kinds, types or free list were changed, with the digest
/// recomputed. Each is refused or runs to a result or a trap; none panics.
#[test]
fn forged_gc_heaps_never_panic() {
    let engine = gc_engine();
    let (mut store, instance) = setup(&engine, GC_PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    store.set_fuel(6_000).unwrap();
    let ResumableCall::Paused(paused) = run.call_resumable(&mut store, &[Val::I32(300)]).unwrap()
    else {
        panic!("6,000 fuel finished the run");
    };
    let bytes = store.snapshot(&paused, b"").unwrap();
    forge_and_run(&engine, GC_PROGRAM, &bytes, 5, &[0x41], 10_000_000);
}

/// A restored GC heap counts against the store's limits, as a heap grown to its size would.
#[test]
fn a_gc_heap_larger_than_the_limits_allow_is_refused() {
    let engine = gc_engine();
    let (mut store, instance) = setup(&engine, GC_PROGRAM);
    let run = instance.get_func(&store, "run").unwrap();
    store.set_fuel(6_000).unwrap();
    let ResumableCall::Paused(paused) = run.call_resumable(&mut store, &[Val::I32(300)]).unwrap()
    else {
        panic!("6,000 fuel finished the run");
    };
    let bytes = store.snapshot(&paused, b"").unwrap();
    let module = Module::new(&engine, GC_PROGRAM).unwrap();
    // Room for the instance, not for the heap.
    let limits = ward::StoreLimitsBuilder::new().total_size(1024).build();
    let mut small = Store::new(&engine, limits);
    small.limiter(|limits| limits);
    Instance::new(&mut small, &module, &[]).unwrap();
    let message = snapshot_error(small.restore(&bytes));
    assert!(message.contains("the GC heap cannot hold"), "{message}");
    // With room, the same snapshot restores.
    let limits = ward::StoreLimitsBuilder::new().total_size(16 << 20).build();
    let mut roomy = Store::new(&engine, limits);
    roomy.limiter(|limits| limits);
    Instance::new(&mut roomy, &module, &[]).unwrap();
    assert!(roomy.restore(&bytes).is_ok());
}
