//! `ward run` passes the host's stdio to the guest: what the guest learns about it must be true.
//! Redirected output is not a terminal, so the guest's `isatty()` (wasi-libc: file type
//! `CHARACTER_DEVICE` and no `FD_SEEK`/`FD_TELL` rights) must be false, or programs switch to colour
//! and terminal control sequences in files and pipes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A guest that prints, for fds 0, 1 and 2, one line to stdout: the fd, the file type from
/// `fd_fdstat_get`, the file type from `fd_filestat_get` (`E` if a call failed), and `y`/`n` for
/// what wasi-libc's `isatty` would answer.
const REPORT_STDIO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $line (param $fd i32)
    (if (call $fd_fdstat_get (local.get $fd) (i32.const 0))
      (then (i32.store8 (i32.const 0) (i32.const 21))))
    (if (call $fd_filestat_get (local.get $fd) (i32.const 64))
      (then (i32.store8 (i32.const 80) (i32.const 21))))
    (i32.store8 (i32.const 200) (i32.add (i32.const 48) (local.get $fd)))
    (i32.store8 (i32.const 201) (i32.const 32))
    (i32.store8 (i32.const 202) (i32.add (i32.const 48) (i32.load8_u (i32.const 0))))
    (i32.store8 (i32.const 203) (i32.const 32))
    (i32.store8 (i32.const 204) (i32.add (i32.const 48) (i32.load8_u (i32.const 80))))
    (i32.store8 (i32.const 205) (i32.const 32))
    (i32.store8 (i32.const 206)
      (select (i32.const 121) (i32.const 110)
        (i32.and
          (i32.eq (i32.load8_u (i32.const 0)) (i32.const 2))
          (i64.eqz (i64.and (i64.load (i32.const 8)) (i64.const 36))))))
    (i32.store8 (i32.const 207) (i32.const 10))
    (i32.store (i32.const 300) (i32.const 200))
    (i32.store (i32.const 304) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 310))))
  (func (export "_start")
    (call $line (i32.const 0))
    (call $line (i32.const 1))
    (call $line (i32.const 2))))
"#;

/// Runs the reporting guest with the given stdio.
fn run_report(dir: &Path, stdout: Stdio, stderr: Stdio) -> Output {
    let guest = dir.join("report_stdio.wat");
    fs::write(&guest, REPORT_STDIO).unwrap();
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("run")
        .arg(&guest)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .expect("ward runs")
}

#[test]
fn piped_stdio_is_unknown_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // `output()` connects stdout and stderr to pipes; stdin is /dev/null, a character device that is
    // not a terminal.
    let out = run_report(dir.path(), Stdio::piped(), Stdio::piped());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0 0 0 n\n1 0 0 n\n2 0 0 n\n"
    );
}

#[test]
fn stdout_redirected_to_a_file_is_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let file = fs::File::create(&path).unwrap();
    let out = run_report(dir.path(), Stdio::from(file), Stdio::piped());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "0 0 0 n\n1 4 4 n\n2 0 0 n\n"
    );
}
