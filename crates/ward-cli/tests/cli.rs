//! Behaviour of the `ward` binary: output, exit codes and error messages.

mod support;

use std::process::Command;

use support::{repo, stderr, stdout, ward, write_temp};

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
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
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
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
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
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
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
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(&dir, "start.wat", r#"(module (func (export "_start")))"#);
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
    let dir = tempfile::tempdir().unwrap();
    assert!(
        ward(&["validate", &repo("examples/hello.wat")])
            .status
            .success()
    );
    let bad = write_temp(&dir, "bad.wat", "(module (func (result i32) i64.const 1))");
    let out = ward(&["validate", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("type mismatch"), "{}", stderr(&out));
}

#[test]
fn wast_prints_per_file_and_total_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_temp(
        &dir,
        "good.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
           (assert_return (invoke "one") (i32.const 1))
           (assert_trap (module (func $s unreachable) (start $s)) "unreachable")"#,
    );
    let bad = write_temp(
        &dir,
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

#[test]
fn module_without_start_export_exits_0_after_its_start_function_ran() {
    let dir = tempfile::tempdir().unwrap();
    // The start function prints through WASI; there is no `_start` export to call afterwards.
    let module = write_temp(
        &dir,
        "library.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "started\n")
             (func $init
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 8))
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
             (start $init)
             (func (export "helper") (result i32) i32.const 7))"#,
    );
    let out = ward(&["run", &module]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "started\n");
    assert_eq!(stderr(&out), "");

    // A start function that traps still fails the run.
    let trapping = write_temp(
        &dir,
        "trapping.wat",
        r#"(module (func $init unreachable) (start $init))"#,
    );
    assert_eq!(ward(&["run", &trapping]).status.code(), Some(134));
}

#[test]
fn invoke_accepts_hex_integers_and_counts_arguments_in_good_english() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "ints.wat",
        r#"(module
             (func (export "i32") (param i32) (result i32) local.get 0)
             (func (export "i64") (param i64) (result i64) local.get 0)
             (func (export "two") (param i32 i32) (result i32) local.get 0))"#,
    );
    let cases = [
        ("i32", "0x10", "16"),
        ("i32", "0XfF", "255"),
        ("i32", "0xffffffff", "-1"),
        ("i32", "-0x80000000", "-2147483648"),
        ("i32", "4294967295", "-1"),
        ("i64", "0x7fffffffffffffff", "9223372036854775807"),
        ("i64", "0xffffffffffffffff", "-1"),
    ];
    for (func, arg, expected) in cases {
        let out = ward(&["run", "--invoke", func, &module, arg]);
        assert!(out.status.success(), "{func} {arg}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{expected}\n"), "{func} {arg}");
    }
    for (func, arg) in [
        ("i32", "0x100000000"),
        ("i32", "0x"),
        ("i32", "0x-1"),
        ("i32", "-0x80000001"),
        ("i64", "0x10000000000000000"),
    ] {
        let out = ward(&["run", "--invoke", func, &module, arg]);
        assert_eq!(out.status.code(), Some(1), "{func} {arg}");
        assert!(
            stderr(&out).contains(&format!("\"{arg}\" is not a valid {func}")),
            "{}",
            stderr(&out)
        );
    }
    let one = ward(&["run", "--invoke", "two", &module, "1"]);
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(
        stderr(&one),
        "error: `two` takes 2 arguments, but 1 was given\n"
    );
    let three = ward(&["run", "--invoke", "i32", &module, "1", "2", "3"]);
    assert_eq!(
        stderr(&three),
        "error: `i32` takes 1 argument, but 3 were given\n"
    );
}

#[test]
fn text_format_errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_temp(
        &dir,
        "broken.wat",
        "(module\n  (func (export \"f\") (result i32)\n    i32.const 4\n    i32.bogus))\n",
    );
    for args in [vec!["run", &bad], vec!["validate", &bad], vec![&bad]] {
        let out = ward(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(&format!("{bad}:4:5")),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("<anon>"), "{}", stderr(&out));
    }
    let script = write_temp(&dir, "broken.wast", "(module\n  (func\n    i32.bogus))\n");
    let out = ward(&["wast", &script]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{script}:3:5")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wast_failures_print_values_in_text_form() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_temp(
        &dir,
        "values.wast",
        r#"(module
             (func (export "four") (result i32) i32.const 4)
             (func (export "pair") (result i64 f32) i64.const -3 f32.const 1.5)
             (func (export "nan") (result f64) f64.const nan:0x4)
             (func (export "null") (result funcref) ref.null func))
           (assert_return (invoke "four") (i32.const 5))
           (assert_trap (invoke "pair") "unreachable")
           (assert_return (invoke "nan") (f64.const nan:canonical))
           (assert_return (invoke "null") (ref.func 0))"#,
    );
    let out = ward(&["wast", &script]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for expected in [
        "result 0: expected (i32.const 5), got (i32.const 4)",
        "expected trap \"unreachable\", got (i64.const -3) (f32.const 1.5)",
        "result 0: expected (f64.const nan:canonical), got (f64.const nan:0x4)",
        "result 0: expected (ref.func), got (ref.null func)",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!err.contains("I32("), "no Rust Debug output: {err}");
}

#[test]
fn env_key_missing_on_the_host_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .env_remove("WARD_TEST_NOT_ON_HOST")
        .args([
            "run",
            "--env",
            "WARD_TEST_NOT_ON_HOST",
            "--invoke",
            "fib",
            &repo("examples/hello.wat"),
            "10",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "55\n");
    assert!(
        stderr(&out).contains("--env \"WARD_TEST_NOT_ON_HOST\": the host has no such variable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stack_overflow_trap_prints_a_short_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "deep.wat",
        r#"(module (func $down (export "down") (param i32) (result i32)
             (i32.add (call $down (local.get 0)) (i32.const 1))))"#,
    );
    let out = ward(&["run", "--invoke", "down", &module, "0"]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("stack"), "{err}");
    assert!(
        err.contains("down"),
        "the backtrace names the function: {err}"
    );
    assert!(
        out.stderr.len() < 20_000,
        "stack-overflow report is {} bytes",
        out.stderr.len()
    );
}

#[test]
fn proposal_switches_use_wasmtime_names_and_errors_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "wide.wat",
        r#"(module (func (export "add") (param i64 i64 i64 i64) (result i64 i64)
             local.get 0 local.get 1 local.get 2 local.get 3 i64.add128))"#,
    );
    let out = ward(&["run", "--invoke", "add", &module, "-1", "0", "1", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("(enable with `-W wide-arithmetic=y` / `Config::wasm_wide_arithmetic`)"),
        "{}",
        stderr(&out)
    );
    let out = ward(&[
        "run",
        "-W",
        "wide-arithmetic=y",
        "--invoke",
        "add",
        &module,
        "-1",
        "0",
        "1",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\n1\n");
    // A name alone means yes; `=n` switches a default-on proposal off.
    let out = ward(&[
        "run",
        "-W",
        "wide-arithmetic,simd=n",
        "--invoke",
        "add",
        &module,
        "1",
        "2",
        "3",
        "4",
    ]);
    assert_eq!(stdout(&out), "4\n6\n", "{}", stderr(&out));
}

#[test]
fn wasm_options_help_lists_every_proposal_with_its_default() {
    for args in [
        &["run", "-W", "help"][..],
        &["-W", "help"],
        &["run", "-Wfuel=1,help"],
    ] {
        let out = ward(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let help = stdout(&out);
        for proposal in ward::WasmProposal::ALL {
            assert!(
                help.contains(&format!("-W {}[=y|n]", proposal.cli_name())),
                "{help}"
            );
        }
        assert!(help.contains("wide-arithmetic[=y|n]"));
        assert!(help.contains("(default off)") && help.contains("(default on)"));
    }
}

#[test]
fn codegen_compiler_option_selects_the_tier() {
    let hello = repo("examples/hello.wat");
    for compiler in ["interpreter", "auto"] {
        let option = format!("compiler={compiler}");
        let out = ward(&["run", "-C", &option, "--invoke", "fib", &hello, "20"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "6765\n");
    }
    let out = ward(&[
        "run",
        "-C",
        "compiler=cranelift",
        "--invoke",
        "fib",
        &hello,
        "20",
    ]);
    if cfg!(feature = "cranelift") {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "6765\n");
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("cranelift"), "{}", stderr(&out));
    }
    let out = ward(&[
        "run",
        "-C",
        "compiler=llvm",
        "--invoke",
        "fib",
        &hello,
        "20",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown compiler"),
        "{}",
        stderr(&out)
    );
}
