//! `ward wast` options: directories, `--filter` and `--fail-fast`.

mod support;

use support::{stderr, stdout, ward};

const GOOD: &str = r#"(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 1))"#;
const BAD: &str = r#"(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 2))"#;

/// A directory of scripts: `a_good.wast`, `b_bad.wast`, `c_bad.wast`, `sub/d_good.wast`, and a
/// `notes.txt` that is not a script.
fn scripts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a_good.wast"), GOOD).unwrap();
    std::fs::write(dir.path().join("b_bad.wast"), BAD).unwrap();
    std::fs::write(dir.path().join("c_bad.wast"), BAD).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/d_good.wast"), GOOD).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a script").unwrap();
    dir
}

/// The script names in the per-file lines of `ward wast` output, in order.
fn scripts_run(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.split_once(".wast:").map(|(path, _)| path))
        .map(|path| path.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_directory_runs_its_scripts_in_name_order() {
    let dir = scripts();
    let out = ward(&["wast", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        scripts_run(&stdout(&out)),
        ["a_good", "b_bad", "c_bad", "d_good"]
    );
    assert!(
        stdout(&out).ends_with("\n6 passed, 2 failed, 0 skipped\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn filter_keeps_scripts_whose_path_contains_a_substring() {
    let dir = scripts();
    let root = dir.path().display().to_string();
    let out = ward(&["wast", "--filter", "good", &root]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(scripts_run(&stdout(&out)), ["a_good", "d_good"]);

    let out = ward(&["wast", "--filter", "c_", "--filter", "sub/", &root]);
    assert_eq!(scripts_run(&stdout(&out)), ["c_bad", "d_good"]);

    let out = ward(&["wast", "--filter", "nothing-like-this", &root]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no .wast file matches"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fail_fast_stops_after_the_first_failing_script() {
    let dir = scripts();
    let out = ward(&["wast", "--fail-fast", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(scripts_run(&stdout(&out)), ["a_good", "b_bad"]);
    assert!(
        stdout(&out).ends_with("\n3 passed, 1 failed, 0 skipped\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("(--fail-fast): 2 not run"),
        "{}",
        stderr(&out)
    );

    // Without a failure it runs everything.
    let out = ward(&[
        "wast",
        "--fail-fast",
        "--filter",
        "good",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(scripts_run(&stdout(&out)), ["a_good", "d_good"]);
}
