//! What the `ward` binary's tests share: running the binary, finding the bundled programs, writing
//! test modules into a per-test temporary directory, and reading the output.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `ward` with `args` in the test's working directory.
pub fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ward runs")
}

/// Runs `ward` with `args` in `cwd`, with a host variable set that no guest may see unless granted.
pub fn ward_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .current_dir(cwd)
        .env("WARD_TEST_HOST_ONLY", "must not leak")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ward runs")
}

/// A path in the repository, from its root.
pub fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
        .display()
        .to_string()
}

/// The prebuilt C test program `name` in `tests/programs`.
pub fn program(name: &str) -> String {
    repo(&format!("tests/programs/{name}.wasm"))
}

/// Writes `text` to `name` in `dir` (a per-test directory, removed when the test ends).
pub fn write_temp(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
