//! `ward run` resource-limit flags: each exhausted limit exits 134 with a message naming its flag.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .output()
        .expect("ward runs")
}

fn module(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ward-cli-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    let spin = module("spin.wat", SPIN);
    assert_limit_trap(&ward(&["run", "--fuel", "10000", &spin]), "--fuel");
    assert_limit_trap(&ward(&["run", "-W", "fuel=10000", &spin]), "--fuel");
}

#[test]
fn enough_fuel_lets_the_program_finish() {
    let recurse = module("recurse-fuel.wat", RECURSE);
    let out = ward(&["run", "--fuel", "1000000", "--invoke", "f", &recurse, "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100\n");
}

#[test]
fn timeout_stops_an_infinite_loop() {
    let spin = module("spin-timeout.wat", SPIN);
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

#[test]
fn max_memory_traps_growth_beyond_it() {
    let grow = module("grow.wat", GROW);
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
    assert_limit_trap(
        &ward(&[
            "run",
            "--max-memory",
            "1MiB",
            "--invoke",
            "grow",
            &grow,
            "100",
        ]),
        "--max-memory",
    );
    assert_limit_trap(
        &ward(&[
            "run",
            "-W",
            "max-memory-size=1MiB",
            "--invoke",
            "grow",
            &grow,
            "100",
        ]),
        "--max-memory",
    );
}

#[test]
fn max_memory_below_the_initial_size_fails_at_instantiation() {
    let big = module(
        "big.wat",
        r#"(module (memory 100) (func (export "_start")))"#,
    );
    assert_limit_trap(
        &ward(&["run", "--max-memory", "64KiB", &big]),
        "--max-memory",
    );
}

#[test]
fn max_stack_traps_deep_recursion() {
    let recurse = module("recurse.wat", RECURSE);
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
    let spin = module("spin-bad.wat", SPIN);
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
