//! Wasmtime's `ward run` options around the main module: `--argv0`, `--preload NAME=PATH` and
//! `-W unknown-imports-trap`, and `-D coredump=PATH`.

mod support;

use support::{program, stderr, stdout, ward, ward_in, write_temp};

#[test]
fn argv0_replaces_the_module_path_in_the_guests_argv() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &["run", "--argv0", "busybox", &program("hello"), "ls", "-l"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("argc=3\nargv[0]=busybox\nargv[1]=ls\nargv[2]=-l\n"),
        "{}",
        stdout(&out)
    );
}

/// A library module: `double`, and a counter `_initialize` sets to 100.
const MATH: &str = r#"(module
  (global $count (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $count (i32.const 100)))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "count") (result i32) (global.get $count)))"#;

#[test]
fn preload_exports_are_importable_under_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let math = write_temp(&dir, "math.wat", MATH);
    // A second preload importing from the first.
    let quad = write_temp(
        &dir,
        "quad.wat",
        r#"(module (import "math" "double" (func $double (param i32) (result i32)))
             (func (export "quad") (param i32) (result i32)
               (call $double (call $double (local.get 0)))))"#,
    );
    let main = write_temp(
        &dir,
        "main.wat",
        r#"(module
             (import "math" "count" (func $count (result i32)))
             (import "q" "quad" (func $quad (param i32) (result i32)))
             (func (export "run") (param i32) (result i32 i32)
               (call $quad (local.get 0)) (call $count)))"#,
    );
    let out = ward(&[
        "run",
        "--preload",
        &format!("math={math}"),
        "--preload",
        &format!("q={quad}"),
        "--invoke",
        "run",
        &main,
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 5 × 4, and the counter `_initialize` set before the main module ran.
    assert_eq!(stdout(&out), "20\n100\n");
}

#[test]
fn bad_preloads_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let main = write_temp(&dir, "main.wat", "(module)");
    for (value, expected) in [
        ("math", "--preload \"math\": expected NAME=PATH"),
        ("=x.wasm", "--preload \"=x.wasm\": expected NAME=PATH"),
        (
            "math=/no/such/file.wasm",
            "failed to read module \"/no/such/file.wasm\"",
        ),
    ] {
        let out = ward(&["run", "--preload", value, &main]);
        assert_eq!(out.status.code(), Some(1), "{value}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{value}: {err}");
        assert_eq!(err.lines().count(), 1, "{value}: {err}");
    }
}

#[test]
fn a_trapping_preload_exits_134() {
    let dir = tempfile::tempdir().unwrap();
    let boom = write_temp(
        &dir,
        "boom.wat",
        r#"(module (func (export "_initialize") unreachable))"#,
    );
    let main = write_temp(&dir, "main.wat", "(module)");
    let out = ward(&["run", "--preload", &format!("boom={boom}"), &main]);
    assert_eq!(out.status.code(), Some(134));
    assert!(
        stderr(&out).contains("failed to instantiate preload `boom`"),
        "{}",
        stderr(&out)
    );
}

/// Imports a function nothing defines, and calls it only from `boom`.
const USES_MISSING: &str = r#"(module
  (import "env" "missing" (func $missing (param i32) (result i64)))
  (func (export "fine") (result i32) (i32.const 7))
  (func (export "boom") (result i64) (call $missing (i32.const 1))))"#;

#[test]
fn unknown_imports_trap_defers_the_failure_to_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(&dir, "missing.wat", USES_MISSING);

    let out = ward(&["run", "--invoke", "fine", &module]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown import: `env::missing` has not been defined"),
        "{}",
        stderr(&out)
    );

    let out = ward(&[
        "run",
        "-W",
        "unknown-imports-trap=y",
        "--invoke",
        "fine",
        &module,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "7\n");

    let out = ward(&[
        "run",
        "-W",
        "unknown-imports-trap",
        "--invoke",
        "boom",
        &module,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("unknown import `env::missing` was called"),
        "{err}"
    );
}

#[test]
fn unknown_imports_trap_leaves_other_kinds_of_import_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "memory.wat",
        r#"(module (import "env" "memory" (memory 1)))"#,
    );
    let out = ward(&["run", "-W", "unknown-imports-trap=y", &module]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`env::memory` has not been defined"),
        "{}",
        stderr(&out)
    );
}

/// `-D coredump=PATH` (Wasmtime's spelling) writes a Wasm core dump when the program traps: a
/// valid module whose `corestack` names the trapping functions and whose data holds the memory.
#[test]
fn debug_coredump_writes_a_dump_on_trap() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "crash.wat",
        r#"(module (memory (export "memory") 1) (data (i32.const 32) "left behind")
             (func $divide (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
             (func (export "_start") (drop (call $divide (i32.const 0)))))"#,
    );
    let dump = dir.path().join("crash.core");
    let flag = format!("coredump={}", dump.display());
    let out = ward(&["run", "-D", &flag, &module]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("integer divide by zero"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("core dumped at"), "{}", stderr(&out));
    let bytes = std::fs::read(&dump).unwrap();
    wasmparser::Validator::new().validate_all(&bytes).unwrap();
    let mut frames = None;
    let mut data = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            wasmparser::Payload::CustomSection(s) if s.name() == "corestack" => {
                let reader = wasmparser::BinaryReader::new(s.data(), 0);
                let stack = wasmparser::CoreDumpStackSection::new(reader).unwrap();
                frames = Some(stack.frames.iter().map(|f| f.funcidx).collect::<Vec<_>>());
            }
            wasmparser::Payload::DataSection(reader) => {
                data.extend(reader.into_iter().map(|d| d.unwrap().data.to_vec()))
            }
            _ => {}
        }
    }
    assert_eq!(frames.unwrap(), [0, 1]);
    assert_eq!(data, [b"left behind".to_vec()]);

    // Without a trap, no dump is written; a bad option is an error.
    let ok = write_temp(&dir, "ok.wat", r#"(module (func (export "_start")))"#);
    let quiet = dir.path().join("none.core");
    let out = ward(&["run", "-D", &format!("coredump={}", quiet.display()), &ok]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!quiet.exists());
    let out = ward(&["run", "-D", "colours=on", &ok]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown debug option `colours=on`"),
        "{}",
        stderr(&out)
    );
}
