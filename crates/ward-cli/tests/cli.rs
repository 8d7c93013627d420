//! Behaviour of the `ward` binary: output, exit codes and error messages.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .output()
        .expect("ward runs")
}

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
        .display()
        .to_string()
}

fn write_temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ward-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_invoke_prints_results_one_per_line() {
    let out = ward(&["run", "--invoke", "fib", &repo("examples/hello.wat"), "20"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "6765\n");
    let out = ward(&["run", "--invoke", "fac", &repo("examples/hello.wat"), "20"]);
    assert_eq!(stdout(&out), "2432902008176640000\n");
}

#[test]
fn run_prints_multiple_and_float_results() {
    let module = write_temp(
        "multi.wat",
        r#"(module (func (export "f") (param f64 i32) (result i32 f64 i64)
             local.get 1 local.get 0 f64.const 0.5 f64.add i64.const -3))"#,
    );
    let out = ward(&["run", "--invoke", "f", &module, "1.25", "-7"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "-7\n1.75\n-3\n");
}

#[test]
fn run_passes_and_prints_v128_values_as_hex() {
    let module = write_temp(
        "simd.wat",
        r#"(module (func (export "f") (param v128 i32) (result v128 i32)
             local.get 0 local.get 1 i32x4.splat i32x4.add
             local.get 0 i32x4.extract_lane 3))"#,
    );
    let out = ward(&[
        "run",
        "--invoke",
        "f",
        &module,
        "0x00000004000000030000000200000001",
        "16",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0x00000014000000130000001200000011\n4\n");
}

#[test]
fn run_trap_exits_134_with_message_and_backtrace() {
    let module = write_temp(
        "trap.wat",
        r#"(module (func $boom (export "boom") unreachable))"#,
    );
    let out = ward(&["run", "--invoke", "boom", &module]);
    assert_eq!(out.status.code(), Some(134));
    let err = stderr(&out);
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("boom"), "backtrace names the function: {err}");
}

#[test]
fn run_start_function_is_called_by_default() {
    let module = write_temp("start.wat", r#"(module (func (export "_start")))"#);
    let out = ward(&["run", &module]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn load_errors_exit_1_with_one_line_reason() {
    let out = ward(&["run", "/nonexistent/x.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: failed to read module \"/nonexistent/x.wasm\""),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let missing = ward(&["run", "--invoke", "nope", &repo("examples/hello.wat")]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no exported function `nope`"),
        "{}",
        stderr(&missing)
    );

    let bad_arg = ward(&["run", "--invoke", "fib", &repo("examples/hello.wat"), "ten"]);
    assert_eq!(bad_arg.status.code(), Some(1));
    assert!(
        stderr(&bad_arg).contains("\"ten\" is not a valid i32"),
        "{}",
        stderr(&bad_arg)
    );
}

#[test]
fn validate_reports_validity_through_exit_status() {
    assert!(
        ward(&["validate", &repo("examples/hello.wat")])
            .status
            .success()
    );
    let bad = write_temp("bad.wat", "(module (func (result i32) i64.const 1))");
    let out = ward(&["validate", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("type mismatch"), "{}", stderr(&out));
}

#[test]
fn wast_prints_per_file_and_total_lines() {
    let good = write_temp(
        "good.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
           (assert_return (invoke "one") (i32.const 1))
           (assert_trap (module (func $s unreachable) (start $s)) "unreachable")"#,
    );
    let bad = write_temp(
        "bad.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
           (assert_return (invoke "one") (i32.const 2))"#,
    );
    let out = ward(&["wast", &good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{good}: 3 passed, 0 failed, 0 skipped\n3 passed, 0 failed, 0 skipped\n")
    );

    let out = ward(&["wast", &good, &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "{good}: 3 passed, 0 failed, 0 skipped\n{bad}: 1 passed, 1 failed, 0 skipped\n4 passed, 1 failed, 0 skipped\n"
        )
    );
    assert!(
        stderr(&out).contains(&format!("{bad}:2:")),
        "failure names the line: {}",
        stderr(&out)
    );
}
