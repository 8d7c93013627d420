//! `ward run` recognises modules built for the older `wasi_unstable` (WASI preview0) as WASI programs
//! and runs them, as Wasmtime does.

use std::fs;
use std::process::Command;

#[test]
fn preview0_module_runs_and_prints() {
    let dir = tempfile::tempdir().unwrap();
    let guest = dir.path().join("hello0.wat");
    fs::write(
        &guest,
        r#"(module
             (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "hello\n")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 6))
               (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("run")
        .arg(&guest)
        .output()
        .expect("ward runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
}
