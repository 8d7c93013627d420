//! The cost of ward's shared-memory path against its unshared one: the same loop of loads and
//! stores (and a loop of atomic increments) on a memory declared `shared` and on one that is not,
//! one thread, interleaved, median of the runs: `cargo run --release --bin shared [runs]`.
//!
//! Unshared memories use the threaded fast path; every access to a shared memory runs through
//! `Instr::Atomic` (word-sized atomics, see `crates/ward/src/runtime/memory/shared.rs`).

use std::time::{Duration, Instant};

use ward::{Engine, Linker, Module, Store};

/// A load/store loop over 256 KiB: per element one `i32.load`, one `i32.store` and one
/// `i32.load8_u`, `n` passes.
/// The loops' 1 MiB memory, shared or not.
fn memory(shared: bool) -> &'static str {
    if shared {
        "(memory 16 16 shared)"
    } else {
        "(memory 16 16)"
    }
}

fn plain_loop(shared: bool) -> String {
    let memory = memory(shared);
    format!(
        r#"(module {memory}
          (func (export "run") (param $n i32) (result i32)
            (local $i i32) (local $j i32) (local $acc i32)
            (loop $outer
              (local.set $j (i32.const 0))
              (loop $inner
                (i32.store (i32.shl (local.get $j) (i32.const 2))
                  (i32.add (i32.load (i32.shl (local.get $j) (i32.const 2))) (local.get $i)))
                (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $j))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $inner (i32.lt_u (local.get $j) (i32.const 65536))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $acc)))"#
    )
}

/// `n` passes of 65,536 `i32.atomic.rmw.add`s.
fn atomic_loop(shared: bool) -> String {
    let memory = memory(shared);
    format!(
        r#"(module {memory}
          (func (export "run") (param $n i32) (result i32)
            (local $i i32) (local $j i32)
            (loop $outer
              (local.set $j (i32.const 0))
              (loop $inner
                (drop (i32.atomic.rmw.add (i32.shl (local.get $j) (i32.const 2)) (local.get $i)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $inner (i32.lt_u (local.get $j) (i32.const 65536))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
            (i32.atomic.load (i32.const 400))))"#
    )
}

/// Compiles and instantiates `wat`, then times `run(passes)` once; returns the time and result.
fn time_once(engine: &Engine, wat: &str, passes: i32) -> (Duration, i32) {
    let module = Module::new(engine, wat).expect("benchmark module compiles");
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .expect("benchmark module instantiates");
    let run = instance
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run: (i32) -> i32");
    let start = Instant::now();
    let result = run.call(&mut store, passes).expect("run returns");
    (start.elapsed(), result)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(9, |n| n.parse().expect("runs"));
    let engine = Engine::default();
    let cases = [
        ("load/store loop", plain_loop(false), plain_loop(true), 50),
        (
            "atomic rmw.add loop",
            atomic_loop(false),
            atomic_loop(true),
            50,
        ),
    ];
    println!("| loop | unshared | shared | shared/unshared |");
    println!("|---|---:|---:|---:|");
    for (name, unshared, shared, passes) in cases {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (t, x) = time_once(&engine, &unshared, passes);
            let (u, y) = time_once(&engine, &shared, passes);
            assert_eq!(x, y, "{name}: the two memories must compute the same");
            a.push(t);
            b.push(u);
        }
        let (a, b) = (median(a), median(b));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2} |",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
