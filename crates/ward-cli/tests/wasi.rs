//! `ward run` with WASI guests: the C programs in tests/programs, run through the binary. Each test
//! checks what a user would see — exact output, exit codes, and the host files after the guest ran.

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{program, stderr, stdout, ward_in};

/// A temporary host tree: `secret.txt` outside the sandbox, `box/` (granted read-write in the tests)
/// with `inside.txt`, and `ro/` with `data.txt`.
fn sandbox() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    fs::write(root.path().join("box/inside.txt"), "inside").unwrap();
    fs::create_dir(root.path().join("ro")).unwrap();
    fs::write(root.path().join("ro/data.txt"), "read-only data").unwrap();
    fs::create_dir(root.path().join("ro/sub")).unwrap();
    root
}

#[test]
fn guest_sees_module_path_args_and_only_granted_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .current_dir(dir.path())
        .env("WARD_TEST_PASSED", "from host")
        .env("WARD_TEST_HOST_ONLY", "must not leak")
        .args([
            "run",
            "--env",
            "GREETING=hi there",
            "--env",
            "WARD_TEST_PASSED",
        ])
        .args([
            "--env",
            "WARD_TEST_UNSET_ON_HOST",
            &program("hello"),
            "one",
            "--two",
            "3 4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = format!(
        "argc=4\nargv[0]={}\nargv[1]=one\nargv[2]=--two\nargv[3]=3 4\n\
         env GREETING=hi there\nenv WARD_TEST_PASSED=from host\n",
        program("hello")
    );
    assert_eq!(stdout(&out), expected);
}

#[test]
fn proc_exit_code_becomes_the_process_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &program("exit_code"), "7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stdout(&out), "exiting with 7\n");
    let out = ward_in(dir.path(), &["run", &program("exit_code"), "return"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn guest_trap_exits_134_with_message_and_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    for how in ["trap", "abort"] {
        let out = ward_in(dir.path(), &["run", &program("exit_code"), how]);
        assert_eq!(out.status.code(), Some(134), "{how}");
        let err = stderr(&out);
        assert!(err.contains("wasm trap: unreachable"), "{how}: {err}");
        assert!(err.contains("wasm backtrace:"), "{how}: {err}");
    }
}

#[test]
fn stdin_stdout_and_stderr_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .current_dir(dir.path())
        .args(["run", &program("upper")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello, ward\nline two\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "HELLO, WARD\nLINE TWO\n");
    assert_eq!(stderr(&out), "read 21 bytes\n");
}

#[test]
fn file_operations_change_the_granted_host_directory() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            "box::/box",
            &program("fsops"),
            "write",
            "/box/a.txt",
            "hello",
            "append",
            "/box/a.txt",
            " world",
            "read",
            "/box/inside.txt",
            "mkdir",
            "/box/d",
            "rename",
            "/box/a.txt",
            "/box/d/b.txt",
            "patch",
            "/box/d/b.txt",
            "1",
            "EL",
            "stat",
            "/box/d/b.txt",
            "write",
            "/box/gone.txt",
            "x",
            "unlink",
            "/box/gone.txt",
            "mkdir",
            "/box/empty",
            "rmdir",
            "/box/empty",
            "write",
            "/box/t.txt",
            "0123456789",
            "truncate",
            "/box/t.txt",
            "4",
            "excl",
            "/box/new.txt",
            "excl",
            "/box/new.txt",
            "ls",
            "/box",
            "ls",
            "/box/d",
        ],
    );
    assert_eq!(
        stdout(&out),
        "write /box/a.txt: ok\nappend /box/a.txt: ok\nread /box/inside.txt: inside\nmkdir /box/d: ok\n\
         rename /box/a.txt: ok\npatch /box/d/b.txt: size 11\nstat /box/d/b.txt: file size=11 nlink=1\n\
         write /box/gone.txt: ok\nunlink /box/gone.txt: ok\nmkdir /box/empty: ok\nrmdir /box/empty: ok\n\
         write /box/t.txt: ok\ntruncate /box/t.txt: ok\nexcl /box/new.txt: ok\nexcl /box/new.txt: EEXIST\n\
         ls /box: d inside.txt new.txt t.txt\nls /box/d: b.txt\n"
    );
    assert_eq!(out.status.code(), Some(1), "the second excl fails");
    let b = root.path().join("box");
    assert_eq!(
        fs::read_to_string(b.join("d/b.txt")).unwrap(),
        "hELlo world"
    );
    assert_eq!(fs::read_to_string(b.join("t.txt")).unwrap(), "0123");
    assert_eq!(fs::read(b.join("new.txt")).unwrap(), b"");
    assert!(!b.join("a.txt").exists() && !b.join("gone.txt").exists() && !b.join("empty").exists());
}

#[test]
fn symlinks_and_hard_links_inside_the_sandbox_work() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            "box::/box",
            &program("fsops"),
            "symlink",
            "inside.txt",
            "/box/ln",
            "readlink",
            "/box/ln",
            "read",
            "/box/ln",
            "lstat",
            "/box/ln",
            "link",
            "/box/inside.txt",
            "/box/hard",
            "stat",
            "/box/hard",
        ],
    );
    assert_eq!(
        stdout(&out),
        "symlink /box/ln: ok\nreadlink /box/ln: inside.txt\nread /box/ln: inside\nlstat /box/ln: link size=10 nlink=1\n\
         link /box/hard: ok\nstat /box/hard: file size=6 nlink=2\n"
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::read_link(root.path().join("box/ln")).unwrap(),
        Path::new("inside.txt")
    );
}

#[test]
fn escape_attempts_are_denied_and_leave_the_host_unchanged() {
    let root = sandbox();
    fs::create_dir(root.path().join("box/d")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", root.path().join("box/host_link")).unwrap();
    std::os::unix::fs::symlink(
        root.path().join("secret.txt"),
        root.path().join("box/abs_link"),
    )
    .unwrap();
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            "box::/box",
            &program("fsops"),
            "read",
            "/box/../secret.txt",
            "read",
            "/box/d/../../secret.txt",
            "read",
            "/etc/passwd",
            "read",
            "/box/host_link",
            "read",
            "/box/abs_link",
            "symlink",
            "../secret.txt",
            "/box/guest_link",
            "read",
            "/box/guest_link",
            "symlink",
            "/etc/passwd",
            "/box/abs_guest_link",
            "link",
            "/box/../secret.txt",
            "/box/hard",
            "link",
            "/box/host_link",
            "/box/hard2",
            "read",
            "/box/hard2",
            "rename",
            "/box/inside.txt",
            "/box/../moved.txt",
            "write",
            "/box/../new.txt",
            "x",
            "mkdir",
            "/box/../newdir",
            "ls",
            "/box/..",
            "stat",
            "/box/../secret.txt",
            "unlink",
            "/box/../secret.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // Paths ward refuses get EPERM (as under Wasmtime); a path under no preopen at all is refused by
    // wasi-libc itself with ENOTCAPABLE before any host call.
    assert_eq!(
        stdout(&out),
        "read /box/../secret.txt: EPERM\nread /box/d/../../secret.txt: EPERM\n\
         read /etc/passwd: ENOTCAPABLE\nread /box/host_link: EPERM\nread /box/abs_link: EPERM\n\
         symlink /box/guest_link: ok\nread /box/guest_link: EPERM\n\
         symlink /box/abs_guest_link: EPERM\nlink /box/hard: EPERM\nlink /box/hard2: ok\n\
         read /box/hard2: EPERM\nrename /box/inside.txt: EPERM\nwrite /box/../new.txt: EPERM\n\
         mkdir /box/../newdir: EPERM\nls /box/..: EPERM\nstat /box/../secret.txt: EPERM\n\
         unlink /box/../secret.txt: EPERM\n"
    );
    let r = root.path();
    assert_eq!(
        fs::read_to_string(r.join("secret.txt")).unwrap(),
        "top secret"
    );
    assert_eq!(
        fs::read_to_string(r.join("box/inside.txt")).unwrap(),
        "inside"
    );
    for absent in [
        "moved.txt",
        "new.txt",
        "newdir",
        "box/hard",
        "box/abs_guest_link",
    ] {
        assert!(
            fs::symlink_metadata(r.join(absent)).is_err(),
            "{absent} was created"
        );
    }
    // The hard link to the host symlink is a second name for the link itself, not for the secret.
    assert_eq!(fs::metadata(r.join("secret.txt")).unwrap().len(), 10);
    assert!(
        fs::symlink_metadata(r.join("box/hard2"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn relative_paths_and_root_preopen_cannot_climb_out() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            "box::/",
            &program("fsops"),
            "read",
            "inside.txt",
            "read",
            "../secret.txt",
            "read",
            "/../secret.txt",
            "write",
            "../../escape.txt",
            "x",
        ],
    );
    assert_eq!(
        stdout(&out),
        "read inside.txt: inside\nread ../secret.txt: EPERM\nread /../secret.txt: EPERM\n\
         write ../../escape.txt: EPERM\n"
    );
    assert!(!root.path().join("escape.txt").exists());
    assert!(!root.path().parent().unwrap().join("escape.txt").exists());
}

#[test]
fn without_dir_flags_the_guest_has_no_files() {
    let root = sandbox();
    let out = ward_in(
        root.path(),
        &[
            "run",
            &program("fsops"),
            "read",
            "box/inside.txt",
            "write",
            "x.txt",
            "x",
            "ls",
            ".",
        ],
    );
    // With no preopens, wasi-libc refuses every path itself (ENOTCAPABLE) without asking the host.
    assert_eq!(
        stdout(&out),
        "read box/inside.txt: ENOTCAPABLE\nwrite x.txt: ENOTCAPABLE\nls .: ENOTCAPABLE\n"
    );
    assert!(!root.path().join("x.txt").exists());
}

fn read_only_mutations(root: &Path, dir_flag: &[&str]) {
    let fsops = program("fsops");
    let mut args = vec!["run"];
    args.extend_from_slice(dir_flag);
    args.extend_from_slice(&["--dir", "box::/rw", &fsops]);
    args.extend_from_slice(&[
        "read",
        "/ro/data.txt",
        "ls",
        "/ro",
        "write",
        "/ro/new.txt",
        "x",
        "write",
        "/ro/data.txt",
        "x",
        "append",
        "/ro/data.txt",
        "x",
        "patch",
        "/ro/data.txt",
        "0",
        "X",
        "truncate",
        "/ro/data.txt",
        "0",
        "excl",
        "/ro/excl.txt",
        "mkdir",
        "/ro/newdir",
        "rmdir",
        "/ro/sub",
        "unlink",
        "/ro/data.txt",
        "rename",
        "/ro/data.txt",
        "/ro/renamed.txt",
        "rename",
        "/ro/data.txt",
        "/rw/stolen.txt",
        "symlink",
        "data.txt",
        "/ro/ln",
        "link",
        "/ro/data.txt",
        "/ro/hard",
        "link",
        "/ro/data.txt",
        "/rw/hard",
        "utime",
        "/ro/data.txt",
        "1000",
    ]);
    let before = fs::metadata(root.join("ro/data.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let out = ward_in(root, &args);
    assert_eq!(
        stdout(&out),
        "read /ro/data.txt: read-only data\nls /ro: data.txt sub\nwrite /ro/new.txt: EPERM\n\
         write /ro/data.txt: EPERM\nappend /ro/data.txt: EPERM\npatch /ro/data.txt: EPERM\n\
         truncate /ro/data.txt: EPERM\nexcl /ro/excl.txt: EPERM\nmkdir /ro/newdir: EPERM\nrmdir /ro/sub: EPERM\n\
         unlink /ro/data.txt: EPERM\nrename /ro/data.txt: EPERM\nrename /ro/data.txt: EPERM\nsymlink /ro/ln: EPERM\n\
         link /ro/hard: EPERM\nlink /rw/hard: EPERM\nutime /ro/data.txt: EPERM\n"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(root.join("ro/data.txt")).unwrap(),
        "read-only data"
    );
    assert_eq!(
        fs::metadata(root.join("ro/data.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let mut names: Vec<_> = fs::read_dir(root.join("ro"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["data.txt", "sub"]);
    assert!(!root.join("box/stolen.txt").exists() && !root.join("box/hard").exists());
}

#[test]
fn dir_ro_preopen_refuses_every_mutation_with_eperm() {
    let root = sandbox();
    read_only_mutations(root.path(), &["--dir-ro", "ro::/ro"]);
}

#[test]
fn dir_with_ro_suffix_is_read_only_too() {
    let root = sandbox();
    read_only_mutations(root.path(), &["--dir", "ro::/ro::ro"]);
}

#[test]
fn clocks_and_randomness_work_and_wall_clock_matches_host() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &program("clock_random")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let guest_secs: i64 = lines
        .next()
        .and_then(|l| l.strip_prefix("realtime "))
        .and_then(|s| s.parse().ok())
        .expect("realtime line");
    let host_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (host_secs - guest_secs).abs() < 60,
        "guest {guest_secs}, host {host_secs}"
    );
    assert_eq!(
        lines.collect::<Vec<_>>(),
        ["monotonic ok", "sleep ok", "random ok"]
    );
}

#[test]
fn missing_preopen_directory_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &["run", "--dir", "/nonexistent-ward-dir", &program("hello")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: --dir \"/nonexistent-ward-dir\": No such file or directory\n"
    );
    let out = ward_in(
        dir.path(),
        &["run", "--dir-ro", "a::b::c", &program("hello")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: --dir-ro \"a::b::c\": expected HOST[::GUEST] or HOST::GUEST::ro\n"
    );
}

#[test]
fn unknown_wasi_import_is_a_link_error() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m.wat");
    fs::write(
        &module,
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func)) (func (export "_start")))"#,
    )
    .unwrap();
    let out = ward_in(dir.path(), &["run", module.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("wasi_snapshot_preview1::no_such_call"),
        "{err}"
    );
}

#[test]
fn core_module_without_wasi_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m.wat");
    fs::write(
        &module,
        r#"(module (func (export "_start")) (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#,
    )
    .unwrap();
    let out = ward_in(dir.path(), &["run", module.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = ward_in(
        dir.path(),
        &[
            "run",
            "--invoke",
            "add",
            module.to_str().unwrap(),
            "2",
            "40",
        ],
    );
    assert_eq!(stdout(&out), "42\n");
}
