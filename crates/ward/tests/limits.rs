//! Resource limits through the public API: fuel, epoch and wall-clock interruption, memory/table/instance
//! limits, Wasm stack depth, and many instances in one process.

mod support {
    pub mod child;
}

use std::time::Duration;

use support::child::{measure_in_child, report_peak_rss};

use ward::{
    Config, Engine, Error, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
    TrapKind,
};

const SPIN: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;
const COUNT: &str = r#"(module (func (export "count") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))"#;

fn setup<T>(config: &Config, wat: &str, data: T) -> (Store<T>, Instance) {
    let engine = Engine::new(config).expect("valid engine configuration");
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, data);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

fn trap_kind(err: &Error) -> Option<TrapKind> {
    err.as_trap().map(|t| t.kind())
}

#[test]
fn fuel_is_charged_deterministically_and_exhaustion_traps() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let (mut store, instance) = setup(&config, COUNT, ());
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(count.call(&mut store, 100).unwrap(), 100);
    let used_for_100 = 1_000_000 - store.get_fuel().unwrap();
    assert!(
        used_for_100 >= 100,
        "each loop iteration costs fuel, used {used_for_100}"
    );
    store.set_fuel(1_000_000).unwrap();
    count.call(&mut store, 100).unwrap();
    assert_eq!(
        1_000_000 - store.get_fuel().unwrap(),
        used_for_100,
        "same work, same fuel"
    );

    store.set_fuel(used_for_100 / 2).unwrap();
    let err = count.call(&mut store, 100).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::OutOfFuel));
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let (mut store, instance) = setup(&config, SPIN, ());
    store.set_fuel(10_000).unwrap();
    let err = instance
        .get_func(&store, "spin")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::OutOfFuel));
}

#[test]
fn fuel_needs_to_be_enabled() {
    let (mut store, _) = setup(&Config::new(), SPIN, ());
    assert!(matches!(store.set_fuel(10), Err(Error::Usage(_))));
    assert!(store.get_fuel().is_err());
}

#[test]
fn epoch_deadline_interrupts_an_infinite_loop_without_calls() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let (mut store, instance) = setup(&config, SPIN, ());
    store.set_epoch_deadline(1);
    let engine = store.engine().clone();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        engine.increment_epoch();
    });
    let err = instance
        .get_func(&store, "spin")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    ticker.join().unwrap();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
}

#[test]
fn wall_clock_deadline_interrupts_and_can_be_cleared() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let (mut store, instance) = setup(&config, COUNT, ());
    let spin_module = Module::new(store.engine(), SPIN).unwrap();
    let spin = Linker::new(store.engine())
        .instantiate(&mut store, &spin_module)
        .unwrap();
    store.set_wall_clock_deadline(Duration::from_millis(50));
    let err = spin
        .get_func(&store, "spin")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
    store.clear_interrupt();
    let count = instance
        .get_typed_func::<i32, i32>(&store, "count")
        .unwrap();
    assert_eq!(count.call(&mut store, 10).unwrap(), 10);
}

#[test]
fn interrupt_handle_stops_running_code_from_another_thread() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let (mut store, instance) = setup(&config, SPIN, ());
    let handle = store.interrupt_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        handle.interrupt();
    });
    let err = instance
        .get_func(&store, "spin")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::Interrupt));
}

const GROW: &str = r#"(module (memory (export "m") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

#[test]
fn memory_growth_beyond_the_limit_returns_minus_one() {
    let limits = StoreLimitsBuilder::new().memory_size(3 * 65536).build();
    let (mut store, instance) = setup(&Config::new(), GROW, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(instance.get_memory(&store, "m").unwrap().size(&store), 3);
}

#[test]
fn memory_growth_beyond_the_limit_traps_when_configured() {
    let limits = StoreLimitsBuilder::new()
        .memory_size(2 * 65536)
        .trap_on_grow_failure(true)
        .build();
    let (mut store, instance) = setup(&Config::new(), GROW, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    let err = grow.call(&mut store, 5).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::MemoryLimitExceeded));
}

#[test]
fn initial_memory_above_the_limit_fails_instantiation() {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (memory 10))").unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(65536).build(),
    );
    store.limiter(|limits| limits);
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Instantiation(m) if m.contains("resource limits")),
        "{err}"
    );
}

#[test]
fn table_growth_is_limited() {
    let wat = r#"(module (table 1 funcref)
        (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;
    let limits = StoreLimitsBuilder::new().table_elements(10).build();
    let (mut store, instance) = setup(&Config::new(), wat, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 9).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
}

#[test]
fn instance_count_is_limited() {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module)").unwrap();
    let mut store = Store::new(&engine, StoreLimitsBuilder::new().instances(3).build());
    store.limiter(|limits| limits);
    let linker = Linker::new(&engine);
    for _ in 0..3 {
        linker.instantiate(&mut store, &module).unwrap();
    }
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&err, Error::Instantiation(m) if m.contains("instance limit")),
        "{err}"
    );
}

#[test]
fn small_max_wasm_stack_traps_deep_recursion() {
    let wat = r#"(module (func $f (export "f") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let (mut store, instance) = setup(&config, wat, ());
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    assert_eq!(f.call(&mut store, 100).unwrap(), 100);
    let err = f.call(&mut store, 100_000).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::StackOverflow));
}

#[test]
fn huge_frames_overflow_cleanly() {
    // Each frame has 20,000 locals (160 KB of slots): the limit is hit after a few calls, as a trap.
    let wat = r#"(module (func $f (export "f") (local i64) (local i64) (local i64)
        (local.set 0 (i64.const 1)) (call $f)))"#
        .replace(
            "(local i64) (local i64) (local i64)",
            &"(local i64) ".repeat(20_000),
        );
    let (mut store, instance) = setup(&Config::new(), &wat, ());
    let err = instance
        .get_func(&store, "f")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::StackOverflow));
}

/// The peak RSS the 20,000 instances may take. Each alive instance touches one 4 KiB page of its
/// memory; 10,000 alive at once need about 40 MiB of memory pages plus their bookkeeping (48 MiB
/// peak measured in all).
const INSTANCE_PEAK_RSS_KIB: u64 = 96 * 1024;

#[test]
fn ten_thousand_instances_with_memories_fit_in_one_process() {
    if let Some((kib, _)) =
        measure_in_child("ten_thousand_instances_with_memories_fit_in_one_process")
    {
        eprintln!("peak RSS after 2 x 10,000 instances: {kib} KiB");
        assert!(
            kib < INSTANCE_PEAK_RSS_KIB,
            "peak RSS {kib} KiB exceeds {INSTANCE_PEAK_RSS_KIB} KiB"
        );
        return;
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1) (func (export "touch") (i32.store (i32.const 65532) (i32.const 7))))"#,
    )
    .unwrap();
    let linker = Linker::new(&engine);
    // All alive at once in one store...
    let mut store = Store::new(&engine, ());
    for _ in 0..10_000 {
        let instance = linker.instantiate(&mut store, &module).unwrap();
        instance
            .get_func(&store, "touch")
            .unwrap()
            .call(&mut store, &[], &mut [])
            .unwrap();
    }
    drop(store);
    // ...and created and dropped one store at a time.
    for _ in 0..10_000 {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        instance
            .get_func(&store, "touch")
            .unwrap()
            .call(&mut store, &[], &mut [])
            .unwrap();
    }
    report_peak_rss();
}

#[test]
fn long_running_calls_and_loops_do_not_grow_the_host_stack() {
    // The interpreter's threaded handlers chain into each other with sibling calls; one that did not
    // would push a host stack frame per executed instruction. A million calls, returns and loop
    // iterations must therefore fit in a small host thread stack. The recursion depth stays at 20.
    // `call_indirect` and globals have chained handlers too, and are in the loop.
    let wat = r#"(module
        (type $t (func (param i32) (result i32)))
        (table 1 funcref)
        (elem (i32.const 0) $leaf)
        (global $g (mut i32) (i32.const 0))
        (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        (func $rec (param i32) (result i32)
          (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
            (else (call $leaf (call $rec (i32.sub (local.get 0) (i32.const 1)))))))
        (func (export "run") (param i32) (result i32) (local i32 i32 v128)
          (loop $l
            (local.set 3 (i32x4.add (local.get 3) (v128.const i32x4 1 1 1 1)))
            (local.set 2 (i32.add (local.get 2) (call $rec (i32.const 20))))
            (global.set $g
              (i32.add (global.get $g) (call_indirect (type $t) (i32.const 1) (i32.const 0))))
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
          (i32.add (i32.add (local.get 2) (global.get $g)) (i32x4.extract_lane 3 (local.get 3)))))"#;
    let result = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let (mut store, instance) = setup(&Config::new(), wat, ());
            let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
            run.call(&mut store, 50_000).unwrap()
        })
        .unwrap()
        .join()
        .expect("the run fits in 512 KiB of host stack");
    assert_eq!(result, 50_000 * 20 + 50_000 * 2 + 50_000);
}

#[test]
fn total_size_bounds_all_memories_and_tables_of_a_store_together() {
    // 100 memories and a table, each within a per-memory limit of 1 MiB; together they may take
    // 1 MiB. Growing every memory by one page (64 KiB) succeeds 16 times, then returns -1.
    let memories = "(memory 0)".repeat(100);
    let grows: String = (0..100)
        .map(|i| {
            format!(
                "(local.set $ok (i32.add (local.get $ok) \
                   (i32.ne (memory.grow {i} (i32.const 1)) (i32.const -1))))"
            )
        })
        .collect();
    let wat = format!(
        r#"(module {memories} (table $t 0 funcref)
             (func (export "grow_all") (result i32) (local $ok i32) {grows} (local.get $ok))
             (func (export "grow_table") (param i32) (result i32)
               (table.grow $t (ref.null func) (local.get 0))))"#
    );
    let engine = Engine::default();
    let module = Module::new(&engine, &wat).unwrap();
    let limits = StoreLimitsBuilder::new()
        .memory_size(1 << 20)
        .total_size(1 << 20)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow_all = instance
        .get_typed_func::<(), i32>(&store, "grow_all")
        .unwrap();
    assert_eq!(grow_all.call(&mut store, ()).unwrap(), 16);
    assert_eq!(
        grow_all.call(&mut store, ()).unwrap(),
        0,
        "the budget is spent"
    );
    // Tables draw from the same budget: nothing is left for a single element.
    let grow_table = instance
        .get_typed_func::<i32, i32>(&store, "grow_table")
        .unwrap();
    assert_eq!(grow_table.call(&mut store, 1).unwrap(), -1);

    // Without the total, each memory gets its own megabyte.
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(1 << 20).build(),
    );
    store.limiter(|limits: &mut StoreLimits| limits);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow_all = instance
        .get_typed_func::<(), i32>(&store, "grow_all")
        .unwrap();
    assert_eq!(grow_all.call(&mut store, ()).unwrap(), 100);
}

const GC_AND_MEMORY: &str = r#"(module
    (type $bytes (array (mut i8)))
    (memory 16)
    (global $keep (mut (ref null $bytes)) (ref.null $bytes))
    (global $early (ref $bytes) (array.new_default $bytes (i32.const 0x4000)))
    ;; Allocates (and keeps) an i8 array of `n` elements; returns its last element.
    (func (export "keep") (param $n i32) (result i32)
      (global.set $keep (array.new $bytes (i32.const 7) (local.get $n)))
      (array.get_u $bytes (global.get $keep) (i32.sub (local.get $n) (i32.const 1))))
    (func (export "drop") (global.set $keep (ref.null $bytes)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn gc_and_memory(limits: StoreLimits) -> (Store<StoreLimits>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, GC_AND_MEMORY).unwrap();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

#[test]
fn total_size_counts_the_gc_heap_with_memories() {
    // A 1 MiB memory and a 2 MiB budget: a 512 KiB array fits, a second 1 MiB one does not, and
    // the memory cannot grow into what the GC heap took.
    let (mut store, instance) =
        gc_and_memory(StoreLimitsBuilder::new().total_size(2 << 20).build());
    let keep = instance.get_typed_func::<i32, i32>(&store, "keep").unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(keep.call(&mut store, 512 << 10).unwrap(), 7);
    let err = keep.call(&mut store, 1 << 20).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::GcHeapExhausted), "{err}");
    // 1 MiB of memory and the heap's ~0.55 MiB leave 7 pages for the memory, not 8.
    assert_eq!(grow.call(&mut store, 8).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 7).unwrap(), 16);
    // The budget is spent. The heap keeps its high-water mark, and when the limiter refuses more it
    // collects and reuses its own room: the dropped 512 KiB array makes room for 400 KiB.
    instance
        .get_typed_func::<(), ()>(&store, "drop")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(keep.call(&mut store, 400 << 10).unwrap(), 7);
    let err = keep.call(&mut store, 600 << 10).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::GcHeapExhausted), "{err}");

    // With a budget for both, both fit.
    let (mut store, instance) =
        gc_and_memory(StoreLimitsBuilder::new().total_size(4 << 20).build());
    let keep = instance.get_typed_func::<i32, i32>(&store, "keep").unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(keep.call(&mut store, 1 << 20).unwrap(), 7);
    assert_eq!(grow.call(&mut store, 8).unwrap(), 16);
}

#[test]
fn gc_objects_of_constant_expressions_count_at_instantiation() {
    // The global's 16 KiB array does not fit next to a 1 MiB memory in a budget of 1 MiB + 8 KiB.
    let engine = Engine::default();
    let module = Module::new(&engine, GC_AND_MEMORY).unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new()
            .total_size((1 << 20) + (8 << 10))
            .build(),
    );
    store.limiter(|limits: &mut StoreLimits| limits);
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(err.to_string().contains("GC heap"), "{err}");
}

#[test]
fn the_gc_heap_asks_a_custom_limiter_in_steps() {
    #[derive(Default)]
    struct Recorder {
        asked: Vec<(usize, usize)>,
    }
    impl ward::ResourceLimiter for Recorder {
        fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> ward::Result<bool> {
            Ok(true)
        }
        fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> ward::Result<bool> {
            Ok(true)
        }
        fn gc_heap_growing(&mut self, current: usize, desired: usize) -> ward::Result<bool> {
            self.asked.push((current, desired));
            Ok(desired <= 4 << 20)
        }
    }
    let engine = Engine::default();
    let module = Module::new(&engine, GC_AND_MEMORY).unwrap();
    let mut store = Store::new(&engine, Recorder::default());
    store.limiter(|r: &mut Recorder| r);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let keep = instance.get_typed_func::<i32, i32>(&store, "keep").unwrap();
    for _ in 0..50 {
        keep.call(&mut store, 100 << 10).unwrap();
    }
    let err = keep.call(&mut store, 5 << 20).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::GcHeapExhausted), "{err}");
    let asked = &store.data().asked;
    // The global's array at instantiation, then growth while garbage piles up to the collection
    // threshold, then the refused 5 MiB, asked again after a collection; each request continues
    // from the last grant, in 64 KiB steps, and the heap stops asking once collections keep it
    // within its grant.
    assert!(asked.len() >= 3 && asked.len() < 50, "{asked:?}");
    for pair in asked.windows(2) {
        let granted = pair[0].1 <= 4 << 20;
        let last_grant = if granted { pair[0].1 } else { pair[0].0 };
        assert_eq!(pair[1].0, last_grant, "{asked:?}");
    }
    let refused = asked.iter().filter(|(_, d)| *d > 4 << 20).count();
    assert_eq!(
        refused, 2,
        "asked once, and once more after collecting: {asked:?}"
    );
    for (current, desired) in asked {
        assert!(desired > current && desired % (64 << 10) == 0, "{asked:?}");
    }
    assert!(asked.last().unwrap().1 > 5 << 20, "{asked:?}");
}

/// Peak RSS 1,000 stores with 20 nested host -> Wasm activations each may take (8 MiB measured; each
/// activation allocated the whole 8 MiB stack limit before stacks grew on demand: 300 MiB, 14 s).
const REENTRY_PEAK_RSS_KIB: u64 = 48 * 1024;

#[test]
fn nested_activations_in_many_stores_take_little_memory() {
    if let Some((kib, _)) = measure_in_child("nested_activations_in_many_stores_take_little_memory")
    {
        eprintln!("peak RSS after 1,000 stores x 20 nested activations: {kib} KiB");
        assert!(
            kib < REENTRY_PEAK_RSS_KIB,
            "peak RSS {kib} KiB exceeds {REENTRY_PEAK_RSS_KIB} KiB"
        );
        return;
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "again" (func $again (param i32) (result i32)))
             (func (export "f") (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                 (else (call $again (i32.sub (local.get 0) (i32.const 1)))))))"#,
    )
    .unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || {
                let mut linker = Linker::new(&engine);
                linker
                    .func_wrap(
                        "env",
                        "again",
                        |mut caller: ward::Caller<'_, ()>, n: i32| -> ward::Result<i32> {
                            let f = caller
                                .get_export("f")
                                .and_then(ward::Extern::into_func)
                                .unwrap();
                            let mut out = [ward::Val::I32(0)];
                            f.call(&mut caller, &[ward::Val::I32(n)], &mut out)?;
                            Ok(out[0].i32().unwrap() + 1)
                        },
                    )
                    .unwrap();
                for _ in 0..500 {
                    let mut store = Store::new(&engine, ());
                    let instance = linker.instantiate(&mut store, &module).unwrap();
                    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
                    assert_eq!(f.call(&mut store, 20).unwrap(), 20);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    report_peak_rss();
}
