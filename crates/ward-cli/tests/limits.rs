//! `ward run` resource-limit flags: each exhausted limit exits 134 with a message naming its flag.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use support::{stderr, ward, write_temp as module};

const SPIN: &str = r#"(module (func (export "_start") (loop $l (br $l))))"#;
const GROW: &str = r#"(module (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
const RECURSE: &str = r#"(module (func $f (export "f") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#;

fn assert_limit_trap(out: &Output, flag: &str) {
    assert_eq!(out.status.code(), Some(134), "stderr: {}", stderr(out));
    assert!(
        stderr(out).contains(flag),
        "message names {flag}: {}",
        stderr(out)
    );
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let dir = tempfile::tempdir().unwrap();
    let spin = module(&dir, "spin.wat", SPIN);
    assert_limit_trap(&ward(&["run", "--fuel", "10000", &spin]), "--fuel");
    assert_limit_trap(&ward(&["run", "-W", "fuel=10000", &spin]), "--fuel");
}

#[test]
fn enough_fuel_lets_the_program_finish() {
    let dir = tempfile::tempdir().unwrap();
    let recurse = module(&dir, "recurse-fuel.wat", RECURSE);
    let out = ward(&["run", "--fuel", "1000000", "--invoke", "f", &recurse, "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100\n");
}

#[test]
fn timeout_stops_an_infinite_loop() {
    let dir = tempfile::tempdir().unwrap();
    let spin = module(&dir, "spin-timeout.wat", SPIN);
    for args in [
        vec!["run", "--timeout", "200ms", &spin],
        vec!["run", "-W", "timeout=200ms", &spin],
    ] {
        let started = Instant::now();
        let out = ward(&args);
        assert_limit_trap(&out, "--timeout");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the deadline is enforced promptly"
        );
    }
}

/// Grows memory by 100 pages (beyond a 1 MiB limit), then by 1 page (within it), and prints both
/// results: a refused growth returns -1 and the program goes on, as in Wasmtime.
const GROW_THEN_GO_ON: &str = r#"(module (memory 1)
    (func (export "f") (result i32 i32)
      (memory.grow (i32.const 100))
      (memory.grow (i32.const 1))))"#;

#[test]
fn max_memory_makes_growth_beyond_it_return_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let grow = module(&dir, "grow.wat", GROW);
    let within = ward(&[
        "run",
        "--max-memory",
        "4MiB",
        "--invoke",
        "grow",
        &grow,
        "10",
    ]);
    assert!(within.status.success(), "{}", stderr(&within));
    assert_eq!(String::from_utf8_lossy(&within.stdout), "1\n");
    let go_on = module(&dir, "go-on.wat", GROW_THEN_GO_ON);
    for limit in [
        ["--max-memory", "1MiB"],
        ["-W", "max-memory-size=1MiB"],
        ["-W", "max-memory-size=1MiB,trap-on-grow-failure=n"],
    ] {
        let out = ward(&["run", limit[0], limit[1], "--invoke", "f", &go_on]);
        assert!(out.status.success(), "{limit:?}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "-1\n1\n", "{limit:?}");
    }
}

#[test]
fn trap_on_grow_failure_makes_growth_beyond_the_limit_trap() {
    let dir = tempfile::tempdir().unwrap();
    let go_on = module(&dir, "go-on.wat", GROW_THEN_GO_ON);
    for limit in [
        ["--max-memory", "1MiB", "-W", "trap-on-grow-failure=y"],
        ["--max-memory", "1MiB", "-W", "trap-on-grow-failure"],
        [
            "-W",
            "max-memory-size=1MiB",
            "-W",
            "trap-on-grow-failure=yes",
        ],
    ] {
        let mut args = vec!["run"];
        args.extend(limit);
        args.extend(["--invoke", "f", &go_on]);
        let out = ward(&args);
        assert_limit_trap(&out, "--max-memory");
        assert!(out.stdout.is_empty(), "{limit:?}");
    }
}

#[test]
fn max_memory_below_the_initial_size_fails_at_instantiation() {
    let dir = tempfile::tempdir().unwrap();
    let big = module(
        &dir,
        "big.wat",
        r#"(module (memory 100) (func (export "_start")))"#,
    );
    let out = ward(&["run", "--max-memory", "64KiB", &big]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: failed to instantiate")
            && stderr(&out).contains("exceeds the store's resource limits"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn max_stack_traps_deep_recursion() {
    let dir = tempfile::tempdir().unwrap();
    let recurse = module(&dir, "recurse.wat", RECURSE);
    let ok = ward(&[
        "run",
        "--max-stack",
        "1MiB",
        "--invoke",
        "f",
        &recurse,
        "1000",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_limit_trap(
        &ward(&[
            "run",
            "--max-stack",
            "64KiB",
            "--invoke",
            "f",
            &recurse,
            "100000",
        ]),
        "--max-stack",
    );
    assert_limit_trap(
        &ward(&[
            "run",
            "-W",
            "max-wasm-stack=64KiB",
            "--invoke",
            "f",
            &recurse,
            "100000",
        ]),
        "--max-stack",
    );
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spin = module(&dir, "spin-bad.wat", SPIN);
    let out = ward(&["run", "--timeout", "soon", &spin]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects the value: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
    let out = ward(&["run", "-W", "warp=9", &spin]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("-W warp: unknown option"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn table_element_limit_makes_growth_fail_or_trap() {
    let dir = tempfile::tempdir().unwrap();
    let grow = module(
        &dir,
        "table.wat",
        r#"(module (table 1 funcref)
             (func (export "f") (result i32 i32)
               (table.grow (ref.null func) (i32.const 100))
               (table.grow (ref.null func) (i32.const 1))))"#,
    );
    let out = ward(&["run", "-W", "max-table-elements=10", "--invoke", "f", &grow]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-1\n1\n");
    let out = ward(&[
        "run",
        "-W",
        "max-table-elements=10,trap-on-grow-failure=y",
        "--invoke",
        "f",
        &grow,
    ]);
    assert_limit_trap(&out, "max-table-elements");
}

#[test]
fn instance_table_and_memory_counts_limit_instantiation() {
    let dir = tempfile::tempdir().unwrap();
    let module_path = module(
        &dir,
        "counts.wat",
        r#"(module (memory 1) (table 1 funcref) (func (export "_start")))"#,
    );
    assert!(
        ward(&[
            "run",
            "-W",
            "max-instances=1,max-tables=1,max-memories=1",
            &module_path
        ])
        .status
        .success()
    );
    for option in ["max-instances=0", "max-tables=0", "max-memories=0"] {
        let out = ward(&["run", "-W", option, &module_path]);
        assert_eq!(out.status.code(), Some(1), "{option}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("error: failed to instantiate"),
            "{option}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn uncaught_exception_exits_134_like_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    let throw = module(
        &dir,
        "throw.wat",
        r#"(module (tag $t (param i32))
             (func (export "_start") (throw $t (i32.const 7))))"#,
    );
    let out = ward(&["run", &throw]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uncaught wasm exception"),
        "{}",
        stderr(&out)
    );
    let at_start = module(
        &dir,
        "throw-start.wat",
        r#"(module (tag $t) (func $s (throw $t)) (start $s))"#,
    );
    let out = ward(&["run", &at_start]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
}

#[test]
fn timeout_covers_the_start_function_and_start_together() {
    let dir = tempfile::tempdir().unwrap();
    // A start function that returns, then a `_start` that spins: the one budget stops the spin.
    let spin = module(
        &dir,
        "start-then-spin.wat",
        r#"(module (func $init) (start $init) (func (export "_start") (loop $l (br $l))))"#,
    );
    let started = Instant::now();
    let out = ward(&["run", "--timeout", "200ms", &spin]);
    assert_limit_trap(&out, "--timeout");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the deadline is enforced promptly"
    );
}

#[test]
fn max_memory_bounds_the_translated_code_too() {
    let dir = tempfile::tempdir().unwrap();
    // 20,000 operators translate to far more than 64 KiB of interpreter code.
    let big = module(
        &dir,
        "big-code.wat",
        &format!(
            r#"(module (func (export "_start") {}))"#,
            "(drop (i32.add (i32.const 1) (i32.const 2)))".repeat(5_000)
        ),
    );
    assert!(ward(&["run", &big]).status.success());
    let out = ward(&["run", "--max-memory", "64KiB", &big]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("translated code exceeds the limit of 65536 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn max_total_memory_bounds_all_memories_together() {
    let dir = tempfile::tempdir().unwrap();
    // Four memories, each grown by one page: within a 64 KiB limit each, but not 128 KiB in all.
    let four = module(
        &dir,
        "four.wat",
        r#"(module (memory 0) (memory 0) (memory 0) (memory 0)
             (func (export "f") (result i32 i32 i32 i32)
               (memory.grow 0 (i32.const 1)) (memory.grow 1 (i32.const 1))
               (memory.grow 2 (i32.const 1)) (memory.grow 3 (i32.const 1))))"#,
    );
    let out = ward(&["run", "--max-memory", "64KiB", "--invoke", "f", &four]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n0\n0\n0\n");
    let out = ward(&[
        "run",
        "--max-total-memory",
        "128KiB",
        "--invoke",
        "f",
        &four,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n0\n-1\n-1\n");
    let out = ward(&[
        "run",
        "--max-total-memory",
        "128KiB",
        "-W",
        "trap-on-grow-failure=y",
        "--invoke",
        "f",
        &four,
    ]);
    assert_limit_trap(&out, "--max-total-memory");
}

#[test]
fn max_total_memory_bounds_the_gc_heap_with_the_memories() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 MiB memory and a 512 KiB GC array: fine in 2 MiB, not in 1.25 MiB.
    let gc = module(
        &dir,
        "gc.wat",
        r#"(module (memory 16) (type $a (array (mut i8)))
             (func (export "f") (result i32)
               (array.len (array.new_default $a (i32.const 0x80000)))))"#,
    );
    let out = ward(&["run", "--max-total-memory", "2MiB", "--invoke", "f", &gc]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "524288\n");
    let out = ward(&["run", "--max-total-memory", "1280KiB", "--invoke", "f", &gc]);
    assert_limit_trap(&out, "--max-total-memory");
}
