//! Shared memories used from several OS threads at once, each thread with its own store: litmus
//! tests of the memory model (no forbidden outcome over many iterations), atomic read-modify-write
//! counters, `memory.atomic.wait`/`notify`, and growth seen across threads.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ward::{Engine, Linker, MemoryType, Module, SharedMemory, Store, TrapKind, WaitResult};

/// Iterations of each litmus test per run, and runs (each with fresh threads).
const ITERATIONS: i32 = 20_000;
const RUNS: usize = 10;

/// Instantiates `wat` (which imports `env::memory`) in a new store with `memory` and calls its
/// `run(i32, i32)` export on a thread of its own once `barrier` lets all threads go.
fn spawn_runner(
    engine: &Engine,
    memory: &SharedMemory,
    wat: &'static str,
    args: (i32, i32),
    barrier: Arc<Barrier>,
) -> thread::JoinHandle<()> {
    let engine = engine.clone();
    let memory = memory.clone();
    thread::spawn(move || {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.define(&store, "env", "memory", memory).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance
            .get_typed_func::<(i32, i32), ()>(&store, "run")
            .unwrap();
        barrier.wait();
        run.call(&mut store, args).unwrap();
    })
}

fn read_i32s(memory: &SharedMemory, at: usize, count: usize) -> Vec<i32> {
    let mut bytes = vec![0u8; count * 4];
    memory.read(at, &mut bytes).unwrap();
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Pages for four arrays of `ITERATIONS` i32s and two progress words.
fn litmus_memory(engine: &Engine) -> SharedMemory {
    let pages = (4 * 4 * ITERATIONS as u32 + 8).div_ceil(65536);
    SharedMemory::new(engine, MemoryType::shared(pages, pages)).unwrap()
}

/// Store buffering: each thread stores 1 to its own location and then loads the other's, with
/// sequentially consistent atomics. Both loads seeing 0 is forbidden.
#[test]
fn store_buffering_with_seqcst_atomics_never_reads_both_zero() {
    // Arrays: x at 0, y at 4n, r1 at 8n, r2 at 12n (n = ITERATIONS). `run(mine, theirs)` stores to
    // `mine[i]`, loads `theirs[i]` into `out[i]` where out = mine's result array.
    // The threads run in lockstep: before iteration i each publishes i in its progress word (at
    // 16n + 0 or 16n + 4: `mine`'s and `theirs`' slots) and waits for the other to get there, so
    // every iteration is a real race.
    const SB: &str = r#"(module
      (import "env" "memory" (memory 1 1000 shared))
      (func (export "run") (param $mine i32) (param $theirs i32)
        (local $i i32) (local $n i32)
        (local.set $n (i32.const 20000))
        (loop $next
          (i32.atomic.store (i32.add (i32.const 320000) (i32.div_u (local.get $mine) (i32.const 20000)))
                            (local.get $i))
          (loop $spin
            (br_if $spin (i32.lt_s
              (i32.atomic.load (i32.add (i32.const 320000) (i32.div_u (local.get $theirs) (i32.const 20000))))
              (local.get $i))))
          (i32.atomic.store (i32.add (local.get $mine) (i32.shl (local.get $i) (i32.const 2)))
                            (i32.const 1))
          (i32.store (i32.add (i32.add (local.get $mine) (i32.mul (local.get $n) (i32.const 8)))
                              (i32.shl (local.get $i) (i32.const 2)))
                     (i32.atomic.load (i32.add (local.get $theirs)
                                               (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n))))))"#;
    let engine = Engine::default();
    let n = ITERATIONS as usize;
    let mut both_zero = 0;
    let mut interleaved = 0;
    for _ in 0..RUNS {
        let memory = litmus_memory(&engine);
        let barrier = Arc::new(Barrier::new(2));
        let x = 0;
        let y = 4 * ITERATIONS;
        let t1 = spawn_runner(&engine, &memory, SB, (x, y), barrier.clone());
        let t2 = spawn_runner(&engine, &memory, SB, (y, x), barrier);
        t1.join().unwrap();
        t2.join().unwrap();
        let r1 = read_i32s(&memory, 8 * n, n);
        let r2 = read_i32s(&memory, 12 * n, n);
        for i in 0..n {
            both_zero += (r1[i] == 0 && r2[i] == 0) as usize;
            interleaved += (r1[i] == 1 && r2[i] == 1) as usize;
        }
    }
    assert_eq!(both_zero, 0, "forbidden outcome r1 = r2 = 0 observed");
    eprintln!(
        "store buffering: {} iterations, {interleaved} with both loads seeing the other store",
        RUNS * n
    );
}

/// Message passing: the writer stores data with a plain store and then sets a flag with an atomic
/// store; the reader loads the flag atomically and then the data. Flag set with stale data is
/// forbidden.
#[test]
fn message_passing_never_shows_the_flag_before_the_data() {
    // data at 0, flag at 4n, seen-flag at 8n, seen-data at 12n.
    const WRITER: &str = r#"(module
      (import "env" "memory" (memory 1 1000 shared))
      (func (export "run") (param i32 i32) (local $i i32)
        (loop $next
          (i32.store (i32.shl (local.get $i) (i32.const 2)) (i32.const 42))
          (i32.atomic.store (i32.add (i32.const 80000) (i32.shl (local.get $i) (i32.const 2)))
                            (i32.const 1))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (i32.const 20000))))))"#;
    const READER: &str = r#"(module
      (import "env" "memory" (memory 1 1000 shared))
      (func (export "run") (param i32 i32) (local $i i32) (local $at i32)
        (loop $next
          (local.set $at (i32.shl (local.get $i) (i32.const 2)))
          (i32.store (i32.add (i32.const 160000) (local.get $at))
                     (i32.atomic.load (i32.add (i32.const 80000) (local.get $at))))
          (i32.store (i32.add (i32.const 240000) (local.get $at))
                     (i32.load (local.get $at)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (i32.const 20000))))))"#;
    let engine = Engine::default();
    let n = ITERATIONS as usize;
    let (mut stale, mut seen) = (0, 0);
    for _ in 0..RUNS {
        let memory = litmus_memory(&engine);
        let barrier = Arc::new(Barrier::new(2));
        let writer = spawn_runner(&engine, &memory, WRITER, (0, 0), barrier.clone());
        let reader = spawn_runner(&engine, &memory, READER, (0, 0), barrier);
        writer.join().unwrap();
        reader.join().unwrap();
        let flags = read_i32s(&memory, 8 * n, n);
        let data = read_i32s(&memory, 12 * n, n);
        for i in 0..n {
            if flags[i] == 1 {
                seen += 1;
                stale += (data[i] != 42) as usize;
            }
        }
    }
    assert_eq!(stale, 0, "the flag was seen before the data it publishes");
    eprintln!(
        "message passing: {} iterations, flag seen in {seen}",
        RUNS * n
    );
}

/// Atomic increments from several threads lose nothing, at every width, including sub-word
/// counters that share a word with each other.
#[test]
fn atomic_increments_from_four_threads_are_all_counted() {
    const COUNTER: &str = r#"(module
      (import "env" "memory" (memory 1 1000 shared))
      (func (export "run") (param $n i32) (param i32) (local $i i32)
        (loop $next
          (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
          (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 3)))
          (drop (i32.atomic.rmw8.add_u (i32.const 16) (i32.const 1)))
          (drop (i32.atomic.rmw8.add_u (i32.const 17) (i32.const 1)))
          (drop (i32.atomic.rmw16.sub_u (i32.const 18) (i32.const 1)))
          ;; A compare-exchange loop: doubles-then-halves leave the value, +2 counts.
          (block $done
            (loop $retry
              (br_if $done
                (i32.eq
                  (i32.atomic.rmw.cmpxchg (i32.const 24)
                    (local.tee 1 (i32.atomic.load (i32.const 24)))
                    (i32.add (local.get 1) (i32.const 2)))
                  (local.get 1)))
              (br $retry)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n))))))"#;
    let engine = Engine::default();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let threads = 4;
    let n = 50_000;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| spawn_runner(&engine, &memory, COUNTER, (n, 0), barrier.clone()))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = (threads as i64) * n as i64;
    let mut bytes = [0u8; 32];
    memory.read(0, &mut bytes).unwrap();
    assert_eq!(
        i32::from_le_bytes(bytes[0..4].try_into().unwrap()) as i64,
        total
    );
    assert_eq!(
        i64::from_le_bytes(bytes[8..16].try_into().unwrap()),
        3 * total
    );
    assert_eq!(bytes[16] as i64, total % 256);
    assert_eq!(bytes[17] as i64, total % 256);
    assert_eq!(
        u16::from_le_bytes(bytes[18..20].try_into().unwrap()) as i64,
        (65536 - total % 65536) % 65536
    );
    assert_eq!(
        i32::from_le_bytes(bytes[24..28].try_into().unwrap()) as i64,
        2 * total
    );
}

#[test]
fn wait_and_notify_across_threads() {
    const WAITER: &str = r#"(module
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wait") (param i64) (result i32)
        (memory.atomic.wait32 (i32.const 64) (i32.const 0) (local.get 0)))
      (func (export "wake") (result i32)
        (i32.atomic.store (i32.const 64) (i32.const 1))
        (memory.atomic.notify (i32.const 64) (i32.const 10))))"#;
    let engine = Engine::default();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let module = Module::new(&engine, WAITER).unwrap();
    let instantiate = |memory: &SharedMemory| {
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .define(&store, "env", "memory", memory.clone())
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (store, instance)
    };
    // Not equal: returns 1 at once; equal with a timeout: 2 after the timeout.
    let (mut store, instance) = instantiate(&memory);
    let wait = instance.get_typed_func::<i64, i32>(&store, "wait").unwrap();
    assert_eq!(wait.call(&mut store, 1_000_000).unwrap(), 2);
    // Three waiters (with a generous timeout, so a lost wake-up fails instead of hanging), woken
    // by this thread's notify. A waiter that arrives after the store sees 1 and returns 1 at once;
    // every other one must be woken (0), and the notify must report exactly those.
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let mut linker = Linker::new(&engine);
                linker.define(&store, "env", "memory", memory).unwrap();
                let instance = linker.instantiate(&mut store, &module).unwrap();
                let wait = instance.get_typed_func::<i64, i32>(&store, "wait").unwrap();
                wait.call(&mut store, 20_000_000_000).unwrap()
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let wake = instance.get_typed_func::<(), i32>(&store, "wake").unwrap();
    let woken = wake.call(&mut store, ()).unwrap();
    let results: Vec<i32> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(results.iter().all(|r| *r == 0 || *r == 1), "{results:?}");
    assert_eq!(
        woken as usize,
        results.iter().filter(|r| **r == 0).count(),
        "{results:?}"
    );
    // Now the value is 1: a wait for 0 returns 1 ("not equal") at once.
    assert_eq!(wait.call(&mut store, -1).unwrap(), 1);
    assert_eq!(
        memory.atomic_wait32(64, 0, None).unwrap(),
        WaitResult::Mismatch
    );
}

#[test]
fn wait_on_an_unshared_memory_traps_and_atomics_still_work_there() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1 1)
             (func (export "wait") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
             (func (export "add") (result i32)
               (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 5)))
               (i32.atomic.rmw.add (i32.const 8) (i32.const 5)))
             (func (export "unaligned") (result i32)
               (i32.atomic.load (i32.const 2))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let call = |store: &mut Store<()>, name: &str| {
        instance
            .get_typed_func::<(), i32>(&*store, name)
            .unwrap()
            .call(store, ())
    };
    let err = call(&mut store, "wait").unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::AtomicWaitOnUnsharedMemory)
    );
    assert_eq!(call(&mut store, "add").unwrap(), 5);
    let err = call(&mut store, "unaligned").unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::UnalignedAtomic)
    );
}

#[test]
fn growth_in_one_thread_is_seen_by_another() {
    const GROW: &str = r#"(module
      (import "env" "memory" (memory 1 4 shared))
      (func (export "grow") (result i32) (memory.grow (i32.const 1)))
      (func (export "size") (result i32) (memory.size))
      (func (export "poke") (param i32) (i32.store (local.get 0) (i32.const 7))))"#;
    let engine = Engine::default();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 4)).unwrap();
    let module = Module::new(&engine, GROW).unwrap();
    let instantiate = || {
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .define(&store, "env", "memory", memory.clone())
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (store, instance)
    };
    let (mut a, ia) = instantiate();
    let (mut b, ib) = instantiate();
    let poke = ib.get_typed_func::<i32, ()>(&b, "poke").unwrap();
    let err = poke.call(&mut b, 65536).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::MemoryOutOfBounds)
    );
    let grow = ia.get_typed_func::<(), i32>(&a, "grow").unwrap();
    assert_eq!(grow.call(&mut a, ()).unwrap(), 1);
    let size = ib.get_typed_func::<(), i32>(&b, "size").unwrap();
    assert_eq!(size.call(&mut b, ()).unwrap(), 2);
    poke.call(&mut b, 65536).unwrap();
    let mut byte = [0u8; 1];
    memory.read(65536, &mut byte).unwrap();
    assert_eq!(byte[0], 7);
    assert_eq!(memory.grow(2).unwrap(), 2);
    assert!(memory.grow(1).is_err(), "the maximum is 4 pages");
}
