//! The interpreter's unsafe paths, one small module each: calls, locals, returns, tail calls, memory
//! growth that moves memory, tables, the handlers' store operations (globals, bulk memory, segments,
//! memargs of a second memory), host calls that re-enter Wasm, GC allocation and collection
//! (also from an epoch callback and after a caught host panic), exceptions, value stacks that grow,
//! calls into lazily translated functions, and threads racing on a shared memory.
//!
//! These tests run under normal `cargo test` and are the subset `.ci/miri.sh` runs under Miri (with
//! Stacked Borrows and with Tree Borrows), where a stale pointer into the value stack or into a moved
//! memory is reported as undefined behaviour. Miri is about a thousand times slower than native code,
//! so every module is tiny and every loop short. Engines use a small value stack and a zero memory
//! reservation, so that every `memory.grow` moves the memory (under Miri it always does).

use ward::{
    Caller, Config, Engine, Error, ExnRef, Extern, FuncType, Instance, Linker, Module, Store, Tag,
    Val, ValType,
};

/// An engine whose value stack is small (cheap to allocate under Miri) and whose memories move on
/// every growth.
fn engine() -> Engine {
    let mut config = Config::new();
    config
        .max_wasm_stack(16 * 1024)
        .memory_reservation(0)
        .memory_pool_capacity(0)
        .max_gc_heap(4096);
    Engine::new(&config).expect("valid engine configuration")
}

fn instantiate(engine: &Engine, linker: &Linker<()>, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).expect("test module compiles");
    let mut store = Store::new(engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("test module instantiates");
    (store, instance)
}

fn call_i32(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> i32 {
    instance
        .get_typed_func::<i32, i32>(&*store, name)
        .expect("export has type (i32) -> i32")
        .call(store, arg)
        .expect("call succeeds")
}

#[test]
fn a_call_of_a_function_with_a_local_returns_its_result() {
    let engine = engine();
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (func $twice (param i32) (result i32) (local i32)
               (local.set 1 (i32.add (local.get 0) (local.get 0)))
               (local.get 1))
             (func (export "run") (param i32) (result i32) (local i64)
               (call $twice (i32.add (local.get 0) (i32.wrap_i64 (local.get 1))))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "run", 21), 42);
}

#[test]
fn recursive_calls_return_through_every_frame() {
    let engine = engine();
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (func $fib (export "fib") (param i32) (result i32)
               (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                                (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "fib", 7), 13);
}

#[test]
fn tail_calls_replace_the_frame_and_keep_their_arguments() {
    // The smallest stack: 128 frame records.
    let engine =
        Engine::new(Config::new().max_wasm_stack(4096)).expect("valid engine configuration");
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (type $t (func (param i32 i32) (result i32)))
             (table 1 funcref) (elem (i32.const 0) $sum)
             (func $sum (param $n i32) (param $acc i32) (result i32) (local $unused i64)
               (if (result i32) (i32.eqz (local.get $n))
                 (then (local.get $acc))
                 (else
                   (if (result i32) (i32.and (local.get $n) (i32.const 1))
                     (then (return_call $sum (i32.sub (local.get $n) (i32.const 1))
                                             (i32.add (local.get $acc) (local.get $n))))
                     (else (return_call_indirect (type $t)
                             (i32.sub (local.get $n) (i32.const 1))
                             (i32.add (local.get $acc) (local.get $n))
                             (i32.const 0)))))))
             (func (export "run") (param i32) (result i32)
               (call $sum (local.get 0) (i32.const 0))))"#,
    );
    // Deeper than the stack allows without frame replacement.
    assert_eq!(call_i32(&mut store, &instance, "run", 300), 300 * 301 / 2);
}

#[test]
fn memory_growth_that_moves_memory_is_seen_by_later_accesses() {
    let engine = engine();
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (memory (export "memory") 1)
             (func $grow (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "run") (param i32) (result i32)
               (i32.store (i32.const 100) (local.get 0))
               ;; Grown in a callee: the caller's cached base must not be used again.
               (drop (call $grow (i32.const 1)))
               (i32.store (i32.const 70000) (i32.load (i32.const 100)))
               (drop (memory.grow (i32.const 1)))
               (i32.store8 (i32.const 131073) (i32.const 7))
               (i32.add (i32.load (i32.const 70000)) (i32.load8_u (i32.const 131073)))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "run", 35), 42);
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(memory.size(&store), 3);
    assert_eq!(memory.data(&store)[70000], 35);
}

#[test]
fn memory_moved_by_a_host_call_is_seen_when_wasm_resumes() {
    let engine = engine();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "grow",
            |mut caller: Caller<'_, ()>| -> ward::Result<()> {
                let memory = caller
                    .get_export("memory")
                    .and_then(Extern::into_memory)
                    .expect("module exports its memory");
                memory.grow(&mut caller, 1)?;
                memory.data_mut(&mut caller)[65536] = 5;
                Ok(())
            },
        )
        .unwrap();
    let (mut store, instance) = instantiate(
        &engine,
        &linker,
        r#"(module
             (import "env" "grow" (func $grow))
             (memory (export "memory") 1)
             (func (export "run") (param i32) (result i32)
               (i32.store (i32.const 8) (local.get 0))
               (call $grow)
               (i32.add (i32.load (i32.const 8)) (i32.load8_u (i32.const 65536)))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "run", 37), 42);
}

#[test]
fn tables_hold_call_targets_and_grow() {
    let engine = engine();
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (type $un (func (param i32) (result i32)))
             (table $t 2 funcref)
             (elem (table $t) (i32.const 0) func $inc $dbl)
             (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
             (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
             (func (export "run") (param i32) (result i32)
               (drop (table.grow $t (table.get $t (i32.const 1)) (i32.const 2)))
               (table.set $t (i32.const 3) (table.get $t (i32.const 0)))
               (call_indirect $t (type $un)
                 (call_indirect $t (type $un) (local.get 0) (i32.const 2))
                 (i32.const 3))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "run", 20), 41);
}

#[test]
fn store_operations_of_handlers_see_one_store_at_a_time() {
    // Every out-of-line operation reaches the store through the activation's one store pointer
    // (`interp::ops`): globals, bulk memory on two memories, accesses through side-table memargs
    // (memory 1), segments, tables, function references and indirect tail calls.
    let engine = engine();
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (type $un (func (param i32) (result i32)))
             (memory $m0 1)
             (memory $m1 1)
             (table $t 4 funcref)
             (global $g (mut i32) (i32.const 5))
             (global $v (mut v128) (v128.const i64x2 1 2))
             (data $d "\01\02\03\04")
             (elem $e func $inc)
             (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
             (func $tail (param i32) (result i32)
               (return_call_indirect $t (type $un) (local.get 0) (i32.const 2)))
             (func (export "run") (param i32) (result i32)
               (global.set $g (i32.add (global.get $g) (local.get 0)))
               (global.set $v (i64x2.add (global.get $v) (global.get $v)))
               (memory.fill $m0 (i32.const 8) (i32.const 7) (i32.const 4))
               (memory.init $m1 $d (i32.const 16) (i32.const 0) (i32.const 4))
               (data.drop $d)
               (memory.copy $m0 $m1 (i32.const 0) (i32.const 16) (i32.const 4))
               (i32.store $m1 offset=32 (i32.const 0) (i32.load $m0 (i32.const 8)))
               (table.init $t $e (i32.const 2) (i32.const 0) (i32.const 1))
               (elem.drop $e)
               (table.copy $t $t (i32.const 1) (i32.const 2) (i32.const 1))
               (table.fill $t (i32.const 3) (ref.func $inc) (i32.const 1))
               (i32.add
                 (i32.add (global.get $g) (i32.load8_u $m0 (i32.const 3)))
                 (i32.add
                   (i32.add (i32.load $m1 offset=32 (i32.const 0)) (table.size $t))
                   (i32.add (memory.size $m1)
                     (i32.add (i32.wrap_i64 (i64x2.extract_lane 1 (global.get $v))) (call $tail (local.get 0))))))))"#,
    );
    // g = 5 + 10; m0[3] = 4 (copied from the data segment); m1[32] = 0x07070707; table size 4;
    // memory 1 has 1 page; lane 1 of v = 4; $tail(10) = 11.
    let expected = 15 + 4 + 0x0707_0707 + 4 + 1 + 4 + 11;
    assert_eq!(call_i32(&mut store, &instance, "run", 10), expected);
}

#[test]
fn host_calls_re_enter_wasm_and_results_land_in_the_caller_frame() {
    let engine = engine();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "back",
            |mut caller: Caller<'_, ()>, n: i32| -> ward::Result<i32> {
                let down = caller
                    .get_export("down")
                    .and_then(Extern::into_func)
                    .expect("module exports down");
                let mut out = [Val::I32(0)];
                down.call(&mut caller, &[Val::I32(n - 1)], &mut out)?;
                Ok(out[0].i32().expect("down returns an i32") + 1)
            },
        )
        .unwrap();
    let (mut store, instance) = instantiate(
        &engine,
        &linker,
        r#"(module
             (import "env" "back" (func $back (param i32) (result i32)))
             (func (export "down") (param i32) (result i32) (local i32)
               (local.set 1 (i32.const 10))
               (if (result i32) (i32.eqz (local.get 0))
                 (then (local.get 1))
                 (else (i32.add (call $back (local.get 0)) (local.get 1))))))"#,
    );
    // Two nested host → Wasm activations, each adding 11, the outer ones suspended meanwhile.
    assert_eq!(call_i32(&mut store, &instance, "down", 2), 10 + 2 * 11);
}

#[test]
fn gc_collection_keeps_objects_held_in_frames_and_suspended_stacks() {
    let engine = engine();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "churn",
            |mut caller: Caller<'_, ()>, n: i32| -> ward::Result<()> {
                let garbage = caller
                    .get_export("garbage")
                    .and_then(Extern::into_func)
                    .expect("module exports garbage");
                garbage.call(&mut caller, &[Val::I32(n)], &mut [])
            },
        )
        .unwrap();
    let (mut store, instance) = instantiate(
        &engine,
        &linker,
        r#"(module
             (type $s (struct (field i32) (field i64)))
             (import "env" "churn" (func $churn (param i32)))
             (func (export "garbage") (param $n i32)
               (loop $l
                 (drop (struct.new $s (local.get $n) (i64.const 0)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
             (func (export "run") (param i32) (result i32)
               (local $keep (ref null $s))
               (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
               ;; The only reference is in this frame while a nested activation collects.
               (call $churn (i32.const 200))
               (struct.get $s 0 (local.get $keep))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "run", 42), 42);
    assert!(store.gc_collections() > 0, "the heap was collected");
}

#[test]
fn an_epoch_callback_that_collects_keeps_the_interrupted_frame_alive() {
    let mut config = Config::new();
    config
        .max_wasm_stack(16 * 1024)
        .memory_reservation(0)
        .memory_pool_capacity(0)
        .max_gc_heap(4096)
        .epoch_interruption(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (type $s (struct (field i32) (field i64)))
             (func (export "garbage") (param $n i32)
               (loop $l
                 (drop (struct.new $s (local.get $n) (i64.const 0)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
             (func (export "run") (param i32) (result i32)
               (local $keep (ref null $s)) (local $i i32)
               (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
               ;; The loop header is an interruption point: the callback runs (and collects) there,
               ;; while the only reference is in this frame.
               (loop $l
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                     (i32.const 3))))
               (struct.get $s 0 (local.get $keep))))"#,
    );
    let garbage = instance
        .get_func(&store, "garbage")
        .expect("exports garbage");
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(move |store| {
        // Moves the deadline first: the nested call checks it too.
        store.set_epoch_deadline(1);
        garbage.call(&mut *store, &[Val::I32(200)], &mut [])?;
        Ok(ward::UpdateDeadline::Continue(1))
    });
    assert_eq!(call_i32(&mut store, &instance, "run", 42), 42);
    assert!(store.gc_collections() > 0, "the heap was collected");
}

#[test]
fn a_caught_host_panic_leaves_no_root_behind() {
    let engine = engine();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "boom", |x: i32| -> i32 {
            if x < 0 {
                std::panic::resume_unwind(Box::new("host panic"));
            }
            x
        })
        .unwrap();
    let (mut store, instance) = instantiate(
        &engine,
        &linker,
        r#"(module
             (type $s (struct (field i32) (field i64)))
             (import "env" "boom" (func $boom (param i32) (result i32)))
             (func (export "run") (param i32) (result i32)
               (local $keep (ref null $s))
               (local.set $keep (struct.new $s (local.get 0) (i64.const 1)))
               (drop (call $boom (local.get 0)))
               ;; Garbage until the heap collects: the roots must name only live stacks.
               (local.set 0 (i32.const 200))
               (loop $l
                 (drop (struct.new $s (local.get 0) (i64.const 0)))
                 (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
               (struct.get $s 0 (local.get $keep))))"#,
    );
    // `resume_unwind` panics without running the panic hook (nothing printed).
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call_i32(&mut store, &instance, "run", -1)
    }));
    assert!(caught.is_err(), "the host panic reaches the embedder");
    assert_eq!(call_i32(&mut store, &instance, "run", 9), 9);
    assert!(store.gc_collections() > 0, "the heap was collected");
}

#[test]
fn a_stack_that_grows_moves_every_frame_with_it() {
    // Value stacks start at 64 KiB (8,192 slots) and grow on demand: 300 frames of about 45 slots
    // (41 of them locals) need about 13,500, so the slots move while frames below hold values, and
    // a host call deep down sees the right arguments.
    let mut config = Config::new();
    config.max_wasm_stack(1 << 20).memory_pool_capacity(0);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "id", |x: i32| -> i32 { x })
        .unwrap();
    let locals = "(local i64)".repeat(40);
    let wat = format!(
        r#"(module
             (import "env" "id" (func $id (param i32) (result i32)))
             (func $down (export "down") (param $n i32) (result i32) {locals}
               (local.set 1 (i64.extend_i32_u (local.get $n)))
               (if (result i32) (i32.eqz (local.get $n))
                 (then (call $id (i32.const 1000)))
                 (else
                   (i32.add
                     (call $down (i32.sub (local.get $n) (i32.const 1)))
                     (i32.wrap_i64 (local.get 1)))))))"#
    );
    let (mut store, instance) = instantiate(&engine, &linker, &wat);
    // 1000 + (1 + 2 + ... + 200)
    assert_eq!(
        call_i32(&mut store, &instance, "down", 200),
        1000 + 200 * 201 / 2
    );
}

#[test]
fn calls_into_lazily_translated_functions_publish_their_code() {
    // The first call of each function translates it and publishes its entry (code pointer, frame
    // size); threaded calls then read that entry. Both paths run here: `even`/`odd` call each other
    // before and after they are translated.
    let mut config = Config::new();
    config
        .max_wasm_stack(16 * 1024)
        .memory_pool_capacity(0)
        .lazy_translation(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let (mut store, instance) = instantiate(
        &engine,
        &Linker::new(&engine),
        r#"(module
             (func $even (export "even") (param i32) (result i32) (local i64)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
                 (else (call $odd (i32.sub (local.get 0) (i32.const 1))))))
             (func $odd (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                 (else (call $even (i32.sub (local.get 0) (i32.const 1)))))))"#,
    );
    assert_eq!(call_i32(&mut store, &instance, "even", 10), 1);
    assert_eq!(call_i32(&mut store, &instance, "even", 7), 0);
}

#[test]
fn exceptions_unwind_frames_and_cross_host_calls() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &FuncType::new([ValType::I32], [])).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "e", tag).unwrap();
    linker
        .func_wrap(
            "env",
            "host",
            move |mut caller: Caller<'_, ()>, x: i32| -> ward::Result<()> {
                if x < 0 {
                    let exn = ExnRef::new(&mut caller, tag, &[Val::I32(x * 10)])?;
                    return Err(Error::Exception(exn));
                }
                let inner = caller
                    .get_export("inner")
                    .and_then(Extern::into_func)
                    .expect("module exports inner");
                inner.call(&mut caller, &[Val::I32(x + 1)], &mut [])
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "e" (tag $e (param i32)))
             (import "env" "host" (func $host (param i32)))
             (func $deep (param i32) (local i64)
               (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 7))))
               (call $deep (i32.sub (local.get 0) (i32.const 1))))
             (func (export "inner") (param i32) (throw $e (local.get 0)))
             (func (export "local") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $e $caught) (call $deep (local.get 0)))
                 (i32.const -1)))
             (func (export "through_host") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $e $caught) (call $host (local.get 0)))
                 (i32.const -1))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(call_i32(&mut store, &instance, "local", 5), 7);
    assert_eq!(call_i32(&mut store, &instance, "through_host", 41), 42);
    assert_eq!(call_i32(&mut store, &instance, "through_host", -3), -30);
}

/// Two threads, each with its own store, race on the same bytes of a shared memory with accesses of
/// every width, aligned and not, atomic and not, and bulk fills and copies: under Miri, any data
/// race or mixed-size atomic race in how ward touches shared memory is reported.
#[test]
fn racing_threads_on_a_shared_memory_touch_it_only_atomically() {
    const RACER: &str = r#"(module
      (import "env" "memory" (memory 1 1 shared))
      (func (export "race") (param $seed i32) (result i32) (local $i i32) (local $acc i32)
        (loop $next
          (drop (i32.atomic.rmw.add (i32.const 0) (local.get $seed)))
          (i32.store8 (i32.const 3) (local.get $i))
          (i32.store16 (i32.const 7) (local.get $seed))
          (i64.store (i32.const 8) (i64.extend_i32_u (local.get $i)))
          (local.set $acc (i32.add (local.get $acc)
            (i32.add (i32.wrap_i64 (i64.load (i32.const 1)))
                     (i32.atomic.load16_u (i32.const 6)))))
          (drop (i32.atomic.rmw8.cmpxchg_u (i32.const 5) (local.get $i) (local.get $seed)))
          (memory.fill (i32.const 13) (local.get $seed) (i32.const 11))
          (memory.copy (i32.const 2) (i32.const 9) (i32.const 13))
          (drop (memory.atomic.notify (i32.const 16) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (i32.const 3))))
        (local.get $acc)))"#;
    let engine = engine();
    let memory = ward::SharedMemory::new(&engine, ward::MemoryType::shared(1, 1))
        .expect("a one-page shared memory");
    let module = Module::new(&engine, RACER).expect("test module compiles");
    let threads: Vec<_> = (1..=2)
        .map(|seed| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let mut linker = Linker::new(&engine);
                linker
                    .define(&store, "env", "memory", memory)
                    .expect("defines the memory");
                let instance = linker
                    .instantiate(&mut store, &module)
                    .expect("test module instantiates");
                call_i32(&mut store, &instance, "race", seed)
            })
        })
        .collect();
    for t in threads {
        t.join().expect("racer thread");
    }
    // Each thread added its seed three times: 9 in all. Only bytes from 2 up are overwritten by the
    // racing stores, fills and copies, and an addition carries only upwards, so the counter's low
    // 16 bits are exactly 9 whatever the interleaving.
    let mut counter = [0u8; 2];
    memory.read(0, &mut counter).expect("in bounds");
    assert_eq!(u16::from_le_bytes(counter), 9);
}

/// A call paused when its fuel runs out keeps its value stack and frames off the host stack; it
/// resumes in place, and a snapshot of it restores into a fresh store where it finishes the same.
#[test]
fn a_paused_call_resumes_and_its_snapshot_restores_elsewhere() {
    let mut config = Config::new();
    config
        .max_wasm_stack(16 * 1024)
        .memory_reservation(0)
        .memory_pool_capacity(0)
        .consume_fuel(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let wat = r#"(module
        (memory 1)
        (func $f (param i32) (result i32)
          (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (local.get 0)))
          (if (result i32) (i32.eqz (local.get 0))
            (then (i32.load (i32.const 8)))
            (else (call $f (i32.sub (local.get 0) (i32.const 1))))))
        (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"#;
    let module = Module::new(&engine, wat).expect("test module compiles");
    let setup = || {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let run = instance.get_func(&store, "run").expect("exported");
        (store, run)
    };
    let (mut store, run) = setup();
    store.set_fuel(20).unwrap();
    let ward::ResumableCall::Paused(paused) =
        run.call_resumable(&mut store, &[Val::I32(6)]).unwrap()
    else {
        panic!("20 fuel does not finish the call");
    };
    let bytes = store.snapshot(&paused, b"").unwrap();
    store.set_fuel(1000).unwrap();
    let ward::ResumableCall::Finished(here) = paused.resume(&mut store).unwrap() else {
        panic!("the call pauses again");
    };
    let (mut fresh, _) = setup();
    let (paused, _) = fresh.restore(&bytes).unwrap();
    fresh.set_fuel(1000).unwrap();
    let ward::ResumableCall::Finished(there) = paused.resume(&mut fresh).unwrap() else {
        panic!("the restored call pauses again");
    };
    assert_eq!(here[0].unwrap_i32(), 21);
    assert_eq!(there[0].unwrap_i32(), 21);
}

/// An async host call parks the paused activation's stack in the store while its future is
/// pending (polled here by hand, without an executor), then puts the results into the caller's
/// frame; a snapshot taken inside a synchronous host function reads the suspended activation, and
/// so does a backtrace.
#[test]
fn async_host_calls_park_the_stack_and_host_functions_read_the_suspended_one() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    /// Pending once, then ready.
    struct Once(bool);
    impl Future for Once {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    let mut config = Config::new();
    config
        .max_wasm_stack(16 * 1024)
        .memory_reservation(0)
        .memory_pool_capacity(0)
        .async_support(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let mut linker: Linker<Vec<u8>> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "later", |_caller, (x,): (i32,)| {
            Box::new(async move {
                Once(false).await;
                Ok(x * 2)
            })
        })
        .unwrap()
        .func_wrap("host", "here", |mut caller: Caller<'_, Vec<u8>>, x: i32| {
            let depth = ward::WasmBacktrace::capture(&caller).frames.len();
            let snapshot = caller.snapshot(b"")?;
            *caller.data_mut() = snapshot;
            Ok::<i32, Error>(x + depth as i32)
        })
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "later" (func $later (param i32) (result i32)))
          (import "host" "here" (func $here (param i32) (result i32)))
          (func $inner (param i32) (result i32) (call $here (call $later (local.get 0))))
          (func (export "run") (param i32) (result i32)
            (i32.add (call $inner (local.get 0)) (i32.const 1))))"#,
    )
    .expect("test module compiles");
    let mut store = Store::new(&engine, Vec::new());
    let mut cx = Context::from_waker(Waker::noop());
    let instance = {
        let mut instantiate = Box::pin(linker.instantiate_async(&mut store, &module));
        loop {
            if let Poll::Ready(instance) = instantiate.as_mut().poll(&mut cx) {
                break instance.unwrap();
            }
        }
    };
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    let result = {
        let mut call = Box::pin(run.call_async(&mut store, 20));
        let mut pending = 0;
        loop {
            match call.as_mut().poll(&mut cx) {
                Poll::Ready(result) => break (result.unwrap(), pending),
                Poll::Pending => pending += 1,
            }
        }
    };
    let (result, pending) = result;
    assert!(pending >= 1, "the host's future was never pending");
    // 20 * 2, plus the two Wasm frames below `here`, plus 1.
    assert_eq!(result, 43);
    assert!(!store.data().is_empty(), "the snapshot was taken");
}
