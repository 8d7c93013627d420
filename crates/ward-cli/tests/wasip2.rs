//! `ward run` with WASI 0.2 components: the Rust `wasm32-wasip2` program in
//! tests/programs/wasip2 (`p2_tour`), run through the binary. Each test checks what a user would
//! see: exact output, exit codes, and the host files after the guest ran.

mod support;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use support::{repo, stderr, stdout, ward_in};

fn tour() -> String {
    repo("tests/programs/wasip2/p2_tour.wasm")
}

/// A temporary host tree: `outside.txt` beside `box/` (granted read-write in the tests), which
/// holds a symlink `link` to `..`, and `ro/` with `existing.txt`.
fn sandbox() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("outside.txt"), "top secret").unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    std::os::unix::fs::symlink("..", root.path().join("box/link")).unwrap();
    fs::create_dir(root.path().join("ro")).unwrap();
    fs::write(root.path().join("ro/existing.txt"), "kept").unwrap();
    root
}

#[test]
fn component_sees_its_path_args_and_only_granted_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &[
            "run",
            "--env",
            "GREETING=hi there",
            &tour(),
            "args",
            "one",
            "3 4",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = format!(
        "arg 0: {}\narg 1: args\narg 2: one\narg 3: 3 4\nenv GREETING=hi there\n",
        tour()
    );
    assert_eq!(stdout(&out), expected);
    assert_eq!(stderr(&out), "to stderr\n");
}

#[test]
fn component_reads_stdin_to_its_end() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["run", &tour(), "stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all("hello, wörld\nsecond line\n".as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "HELLO, WÖRLD\nSECOND LINE\n");
}

#[test]
fn component_writes_appends_seeks_truncates_renames_lists_and_removes_files_in_a_preopen() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &["run", "--dir", "box", &tour(), "files", "box"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "read: hello, world\nsize: 12\nafter seek: world\ntruncated: hello\nis file: true\n\
         missing: NotFound\nold name: NotFound\nsub: [\"b.txt\"]\n\
         create existing: AlreadyExists\nremoved: true\n"
    );
    let mut left: Vec<String> = fs::read_dir(root.path().join("box"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["link"]);
}

#[test]
fn read_only_preopen_refuses_creation_but_allows_reading() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &["run", "--dir-ro", "ro", &tour(), "readonly", "ro"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "create refused: PermissionDenied\nread: kept\n"
    );
    assert!(!root.path().join("ro/new.txt").exists());
}

#[test]
fn dot_dot_absolute_paths_and_symlinks_cannot_leave_the_preopen() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &["run", "--dir", "box", &tour(), "escape", "box"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().all(|line| line.contains("denied")), "{text}");
    assert!(!text.contains("READ"), "{text}");
}

#[test]
fn nothing_is_granted_by_default() {
    let root = sandbox();
    let out = ward_in(root.path(), &["run", &tour(), "files", "box"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("files: No such file or directory"),
        "{}",
        stderr(&out)
    );
    assert!(!root.path().join("box/a.txt").exists());
}

#[test]
fn component_reads_clocks_sleeps_and_seeds_its_hash_maps() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &tour(), "clocks"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "wall clock after 2020: true\nslept at least 20ms: true\nhash map seeded: 1\n"
    );
}

#[test]
fn exit_codes_follow_run_and_exit() {
    let dir = tempfile::tempdir().unwrap();
    let code = |args: &[&str]| {
        let mut all = vec!["run", "--dir", "."];
        let tour = tour();
        all.push(&tour);
        all.extend_from_slice(args);
        ward_in(dir.path(), &all)
    };
    assert_eq!(code(&["exit", "0"]).status.code(), Some(0));
    // Rust's std exits through `wasi:cli/exit.exit` with `err` for any nonzero code (the exact
    // code needs the unstable `exit-with-code`), as under Wasmtime.
    assert_eq!(code(&["exit", "7"]).status.code(), Some(1));
    let failed = code(&["fail"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("failing on purpose"),
        "{}",
        stderr(&failed)
    );
    let panicked = code(&["panic"]);
    assert_eq!(panicked.status.code(), Some(134));
    assert!(
        stderr(&panicked).contains("panicking on purpose"),
        "{}",
        stderr(&panicked)
    );
    assert!(
        stderr(&panicked).contains("unreachable"),
        "{}",
        stderr(&panicked)
    );
}

#[test]
fn fuel_limits_a_component_as_it_does_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", "--fuel", "10000", &tour(), "args"]);
    assert_eq!(out.status.code(), Some(134));
    assert!(
        stderr(&out).contains("fuel limit of 10000 exhausted (--fuel)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn options_only_modules_support_are_refused_for_components() {
    let dir = tempfile::tempdir().unwrap();
    // (`--invoke` was refused here until components took WAVE calls: tests/component_invoke.rs.)
    let out = ward_in(dir.path(), &["run", "--preload", "x=y.wasm", &tour()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("--preload is not supported for components yet"),
        "{}",
        stderr(&out)
    );
    let out = ward_in(
        dir.path(),
        &["run", "-S", "tcplisten=127.0.0.1:0", &tour(), "args"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("-S tcplisten is not supported for components yet"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_component_without_wasi_cli_run_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_temp(&dir, "empty.wat", "(component)");
    let out = ward_in(dir.path(), &["run", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("exports no `wasi:cli/run@0.2.x`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_non_blocking_read_of_an_idle_stdin_returns_no_bytes_and_its_pollable_waits() {
    let component = repo("tests/components/nonblocking_stdin.wat");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["run", &component])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open and empty until the guest has finished: a blocking read would never return.
    let idle_stdin = child.stdin.take().unwrap();
    let out = child.wait_with_output().unwrap();
    drop(idle_stdin);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // With input already there, the read returns it and the component says so.
    let dir = tempfile::tempdir().unwrap();
    let input = support::write_temp(&dir, "input.txt", "data\n");
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["run", &component])
        .stdin(fs::File::open(input).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn deterministic_runs_give_components_virtual_clocks() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", "--deterministic", &tour(), "clocks"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The virtual wall clock starts at ward's fixed epoch (before 2020), and a sleep advances
    // virtual time at once.
    assert_eq!(
        stdout(&out),
        "wall clock after 2020: false\nslept at least 20ms: true\nhash map seeded: 1\n"
    );
}

#[test]
fn tcp_echo_over_loopback_works_with_the_network_granted() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &["run", "-S", "inherit-network", &tour(), "echo"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "peer is loopback: true\necho: hello over loopback\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn tcp_is_access_denied_without_the_network_grant() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &tour(), "echo"]);
    // Rust's std maps `access-denied` to `PermissionDenied`; WASI 0.2's `exit` reports 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "echo: bind refused: PermissionDenied\n");
}

#[test]
fn name_lookup_needs_its_own_grant() {
    let dir = tempfile::tempdir().unwrap();
    // The network alone does not grant name lookups.
    let out = ward_in(
        dir.path(),
        &[
            "run",
            "-S",
            "inherit-network",
            &tour(),
            "lookup",
            "localhost",
        ],
    );
    // Refused with `permanent-resolver-failure`, as Wasmtime does, which Rust's std does not
    // categorise.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "echo: lookup refused: Uncategorized\n");

    let out = ward_in(
        dir.path(),
        &[
            "run",
            "-S",
            "allow-ip-name-lookup",
            &tour(),
            "lookup",
            "localhost",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "resolved: true\n");
}

#[test]
fn udp_round_trip_over_loopback_works_with_the_network_granted() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &["run", "-S", "inherit-network", &tour(), "udp"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "udp: ping\n");
}

#[test]
fn udp_is_access_denied_without_the_network_grant() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &tour(), "udp"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "echo: udp bind refused: PermissionDenied\n");
}
