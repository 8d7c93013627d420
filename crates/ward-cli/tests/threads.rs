//! wasi-threads programs (Rust's `wasm32-wasip1-threads` target, and C with POSIX threads built by
//! clang against wasi-libc's threads build; prebuilt in `tests/programs/threads` with their sources
//! and `build.sh`) under `ward run -S threads=y`: each
//! gives the right output in 100 consecutive runs, a thread that traps or exits ends the whole
//! program, and
//! without `-S threads` the program is refused with a message naming the flag.

mod support;

use support::{repo, stderr, ward};

fn thread_program(name: &str) -> String {
    repo(&format!("tests/programs/threads/{name}.wasm"))
}

/// Runs `name` 100 times and checks each run's exit status and whole stdout.
fn runs_correctly_every_time(name: &str, expected: &str) {
    let program = thread_program(name);
    for run in 0..100 {
        let out = ward(&["run", "-S", "threads=y", &program]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}, run {run}: {}",
            stderr(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{name}, run {run}"
        );
    }
}

#[test]
fn a_parallel_sum_adds_up() {
    // 1 + 2 + … + 4,000,000, over four threads.
    runs_correctly_every_time("parallel_sum", "sum 8000002000000\n");
}

#[test]
fn a_mutex_protected_counter_loses_no_increment() {
    // Eight threads, 10,000 increments each.
    runs_correctly_every_time("mutex_counter", "count 80000\n");
}

#[test]
fn a_producer_and_a_consumer_hand_over_every_value() {
    // 1..=1000 through a one-slot buffer with two condition variables.
    runs_correctly_every_time("producer_consumer", "received 1000 sum 500500\n");
}

#[test]
fn a_c_parallel_sum_over_posix_threads_adds_up() {
    runs_correctly_every_time("parallel_sum_c", "sum 8000002000000\n");
}

#[test]
fn c_atomics_and_a_spin_lock_lose_no_increment() {
    // Eight POSIX threads, 10,000 `atomic_fetch_add`s and 10,000 increments under an
    // `atomic_flag` spin lock each.
    runs_correctly_every_time("atomic_counter_c", "atomic 80000 locked 80000\n");
}

#[test]
fn a_thread_that_traps_ends_the_whole_program() {
    // The main thread sleeps for 30 s after printing; the spawned thread aborts after 10 ms. The
    // program must end at once with the trap's exit status, not after the main thread's sleep.
    let program = thread_program("thread_traps");
    for run in 0..20 {
        let start = std::time::Instant::now();
        let out = ward(&["run", "-S", "threads=y", &program]);
        assert_eq!(out.status.code(), Some(134), "run {run}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n");
        assert!(
            stderr(&out).contains("trapped") && stderr(&out).contains("unreachable"),
            "{}",
            stderr(&out)
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}

#[test]
fn a_thread_that_exits_ends_the_whole_program_with_its_status() {
    // As above, but the spawned thread calls `exit(3)` (WASI `proc_exit`).
    let program = thread_program("thread_exits");
    for run in 0..20 {
        let out = ward(&["run", "-S", "threads=y", &program]);
        assert_eq!(out.status.code(), Some(3), "run {run}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n");
    }
}

#[test]
fn thread_spawn_needs_the_threads_option() {
    let out = ward(&["run", &thread_program("parallel_sum")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-S threads=y"), "{}", stderr(&out));
    let out = ward(&["run", "-S", "threads=n", &thread_program("parallel_sum")]);
    assert_eq!(out.status.code(), Some(1));
    let out = ward(&["run", "-S", "bogus", &thread_program("parallel_sum")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown WASI option `-S bogus`"),
        "{}",
        stderr(&out)
    );
}
