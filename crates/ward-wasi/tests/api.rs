//! ward-wasi through its public API: the C test programs with in-memory stdio, and hand-written WAT
//! guests that call preview1 functions directly to check exact errno values at the ABI boundary.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ward::{Engine, Error, Linker, Module, Store};
use ward_wasi::{DirPerms, Errno, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/programs")
        .join(format!("{name}.wasm"))
}

/// Runs `_start` of `module` with `ctx`; returns the call's result and the context.
fn run_module(module: &Module, ctx: WasiCtx) -> (Result<(), Error>, WasiCtx) {
    let engine = module.engine().clone();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, ctx);
    let result = linker.instantiate(&mut store, module).and_then(|instance| {
        instance
            .get_typed_func::<(), ()>(&store, "_start")?
            .call(&mut store, ())
    });
    (result, store.into_data())
}

fn run_program(name: &str, builder: &mut WasiCtxBuilder) -> (Result<(), Error>, String) {
    let engine = Engine::default();
    let module = Module::from_file(&engine, program(name)).unwrap();
    let stdout = OutputBuffer::new();
    let ctx = builder.stdout(Stdio::Buffer(stdout.clone())).build();
    let (result, _) = run_module(&module, ctx);
    (result, String::from_utf8(stdout.contents()).unwrap())
}

#[test]
fn nothing_is_inherited_by_default() {
    // The host has PATH set; the guest must not see it (or any other variable).
    assert!(std::env::var_os("PATH").is_some());
    let (result, out) = run_program("hello", &mut WasiCtxBuilder::new());
    result.unwrap();
    assert_eq!(out, "argc=0\n");
}

#[test]
fn builder_args_and_env_reach_the_guest() {
    let mut builder = WasiCtxBuilder::new();
    builder.args(["prog", "a b"]).unwrap();
    builder
        .env("Z", "last")
        .unwrap()
        .env("A", "first=1")
        .unwrap();
    let (result, out) = run_program("hello", &mut builder);
    result.unwrap();
    assert_eq!(
        out,
        "argc=2\nargv[0]=prog\nargv[1]=a b\nenv A=first=1\nenv Z=last\n"
    );
}

#[test]
fn builder_rejects_unrepresentable_env_and_missing_dirs() {
    let mut builder = WasiCtxBuilder::new();
    assert!(builder.env("A=B", "x").is_err());
    assert!(builder.env("A", "x\0y").is_err());
    assert!(builder.arg("nul\0").is_err());
    let err = builder
        .preopened_dir("/nonexistent-ward-dir", "/x", DirPerms::ReadOnly)
        .unwrap_err();
    assert!(matches!(err, ward_wasi::WasiError::Preopen { .. }), "{err}");
}

#[test]
fn proc_exit_returns_error_exit_with_the_code() {
    let mut builder = WasiCtxBuilder::new();
    builder.args(["exit_code", "42"]).unwrap();
    let (result, out) = run_program("exit_code", &mut builder);
    assert!(matches!(result, Err(Error::Exit(42))), "{result:?}");
    assert_eq!(out, "exiting with 42\n");
}

#[test]
fn stdin_bytes_and_stderr_buffer() {
    let engine = Engine::default();
    let module = Module::from_file(&engine, program("upper")).unwrap();
    let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = WasiCtxBuilder::new()
        .stdin(Stdio::Bytes(b"abc\n".to_vec()))
        .stdout(Stdio::Buffer(stdout.clone()))
        .stderr(Stdio::Buffer(stderr.clone()))
        .build();
    run_module(&module, ctx).0.unwrap();
    assert_eq!(stdout.contents(), b"ABC\n");
    assert_eq!(stderr.contents(), b"read 4 bytes\n");
}

#[test]
fn stdout_to_a_host_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let engine = Engine::default();
    let module = Module::from_file(&engine, program("upper")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .stdin(Stdio::Bytes(b"to a file".to_vec()))
        .stdout(Stdio::File(fs::File::create(&path).unwrap()))
        .build();
    run_module(&module, ctx).0.unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "TO A FILE");
}

#[test]
fn c_file_program_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "input").unwrap();
    let mut builder = WasiCtxBuilder::new();
    builder
        .args([
            "fsops",
            "read",
            "/data/in.txt",
            "write",
            "/data/out.txt",
            "written",
            "ls",
            "/data",
        ])
        .unwrap();
    builder
        .preopened_dir(dir.path(), "/data", DirPerms::ReadWrite)
        .unwrap();
    let (result, out) = run_program("fsops", &mut builder);
    result.unwrap();
    assert_eq!(
        out,
        "read /data/in.txt: input\nwrite /data/out.txt: ok\nls /data: in.txt out.txt\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "written"
    );
}

// ---- raw ABI checks with WAT guests ----

/// Imports used by the WAT guests below, and a memory with scratch space. Strings are placed with
/// `(data (i32.const 1024) ...)` by each test.
const PRELUDE: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $fd_filestat_set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $sock_shutdown (param i32 i32) (result i32)))
  (memory (export "memory") 1)
"#;

/// Instantiates a guest made of the prelude plus `items`, and calls its `run` export.
fn call_run(items: &str, ctx: WasiCtx) -> (i32, WasiCtx, Vec<u8>) {
    let engine = Engine::default();
    let module = Module::new(&engine, format!("(module {PRELUDE} {items})")).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let result = instance
        .get_typed_func::<(), i32>(&store, "run")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    let bytes = memory.data(&store).to_vec();
    (result, store.into_data(), bytes)
}

fn code(errno: Errno) -> i32 {
    i32::from(errno.code())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn iovec_outside_memory_is_efault_and_writes_nothing() {
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .stdout(Stdio::Buffer(stdout.clone()))
        .build();
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (i32.store (i32.const 0) (i32.const 65530))  ;; buffer runs past the 64 KiB memory
             (i32.store (i32.const 4) (i32.const 100))
             (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"#,
        ctx,
    );
    assert_eq!(rc, code(Errno::Fault));
    assert!(stdout.contents().is_empty());
}

#[test]
fn huge_iovec_count_and_bad_result_pointer_are_efault() {
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $fd_write (i32.const 1) (i32.const 0) (i32.const -1) (i32.const 8)))"#,
        WasiCtx::default(),
    );
    assert_eq!(rc, code(Errno::Fault));
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const -4)))"#,
        WasiCtxBuilder::new().build(),
    );
    assert_eq!(rc, code(Errno::Fault));
}

#[test]
fn args_get_and_random_get_outside_memory_are_efault() {
    let mut builder = WasiCtxBuilder::new();
    builder.args(["a", "b"]).unwrap();
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $args_get (i32.const 0) (i32.const 65535)))"#,
        builder.build(),
    );
    assert_eq!(rc, code(Errno::Fault));
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $random_get (i32.const 65000) (i32.const 1000)))"#,
        WasiCtx::default(),
    );
    assert_eq!(rc, code(Errno::Fault));
}

#[test]
fn module_without_memory_gets_efault_not_a_crash() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
             (func (export "run") (result i32) (call $r (i32.const 0) (i32.const 4))))"#,
    )
    .unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, WasiCtx::default());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let rc = instance
        .get_typed_func::<(), i32>(&store, "run")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(rc, code(Errno::Fault));
}

fn preopen(dir: &std::path::Path, perms: DirPerms) -> WasiCtx {
    WasiCtxBuilder::new()
        .preopened_dir(dir, "/sandbox", perms)
        .unwrap()
        .build()
}

/// `path_open(3, follow, path@1024 (len), oflags, rights, fdflags) -> fd@16`, returning errno.
fn open_items(path: &str, oflags: i32, rights: i64) -> String {
    format!(
        r#"(data (i32.const 1024) "{path}")
           (func (export "run") (result i32)
             (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const {len})
               (i32.const {oflags}) (i64.const {rights}) (i64.const 0) (i32.const 0) (i32.const 16)))"#,
        len = path.len()
    )
}

const FD_READ: i64 = 1 << 1;
const FD_WRITE: i64 = 1 << 6;
const O_CREAT: i32 = 1;

#[test]
fn preopen_is_fd_3_with_its_guest_name() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, _, mem) = call_run(
        r#"(func (export "run") (result i32)
             (if (call $fd_prestat_get (i32.const 3) (i32.const 0)) (then (return (i32.const -1))))
             (if (call $fd_prestat_dir_name (i32.const 3) (i32.const 100) (i32.const 8)) (then (return (i32.const -2))))
             (call $fd_prestat_get (i32.const 4) (i32.const 0)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Badf), "fd 4 is not a preopen");
    assert_eq!(mem[0], 0, "tag: directory");
    assert_eq!(u32_at(&mem, 4), 8);
    assert_eq!(&mem[100..108], b"/sandbox");
}

#[test]
fn result_pointers_at_the_end_of_address_space_are_efault() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $fd_prestat_get (i32.const 3) (i32.const -2)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Fault));
    let (rc, _, _) = call_run(
        r#"(func (export "run") (result i32)
             (call $fd_fdstat_get (i32.const 3) (i32.const 65530)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Fault));
}

#[test]
fn dotdot_and_absolute_paths_are_denied_with_eperm_at_the_abi() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    fs::write(root.path().join("secret"), "s").unwrap();
    for path in ["../secret", "/etc/passwd", "a/../../secret", "."] {
        let (rc, ctx, _) = call_run(
            &open_items(path, 0, FD_READ),
            preopen(&root.path().join("box"), DirPerms::ReadWrite),
        );
        if path == "." {
            assert_eq!(rc, 0, "the preopen itself can be opened");
        } else if path == "a/../../secret" {
            assert_eq!(rc, code(Errno::Noent), "{path}: `a` does not exist");
        } else {
            assert_eq!(rc, code(Errno::Perm), "{path}");
        }
        drop(ctx);
    }
}

#[test]
fn guest_made_symlink_out_of_the_sandbox_cannot_be_followed() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    fs::write(root.path().join("secret"), "s").unwrap();
    let items = r#"
        (data (i32.const 1024) "../secret")
        (data (i32.const 1040) "ln")
        (func (export "run") (result i32)
          (local $rc i32)
          (local.set $rc (call $path_symlink (i32.const 1024) (i32.const 9) (i32.const 3) (i32.const 1040) (i32.const 2)))
          (if (local.get $rc) (then (return (i32.add (i32.const 1000) (local.get $rc)))))
          (call $path_open (i32.const 3) (i32.const 1) (i32.const 1040) (i32.const 2)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))"#;
    let (rc, _, _) = call_run(
        items,
        preopen(&root.path().join("box"), DirPerms::ReadWrite),
    );
    assert_eq!(rc, code(Errno::Perm));
    assert_eq!(
        fs::read_link(root.path().join("box/ln")).unwrap(),
        PathBuf::from("../secret")
    );
}

#[test]
fn read_only_preopen_refuses_mutations_with_eperm() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "data").unwrap();
    for (oflags, rights) in [
        (O_CREAT, FD_WRITE),
        (0, FD_WRITE),
        (O_CREAT, FD_READ),
        (8, FD_READ),
    ] {
        let (rc, _, _) = call_run(
            &open_items("f", oflags, rights),
            preopen(dir.path(), DirPerms::ReadOnly),
        );
        assert_eq!(rc, code(Errno::Perm), "oflags {oflags} rights {rights}");
    }
    let (rc, _, _) = call_run(
        r#"(data (i32.const 1024) "newdir")
           (func (export "run") (result i32)
             (call $path_create_directory (i32.const 3) (i32.const 1024) (i32.const 6)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Perm));
    let (rc, _, _) = call_run(
        r#"(data (i32.const 1024) "f")
           (func (export "run") (result i32)
             (call $path_unlink_file (i32.const 3) (i32.const 1024) (i32.const 1)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Perm));
    // A file opened read-only beneath a read-only preopen cannot be truncated either.
    let (rc, _, _) = call_run(
        r#"(data (i32.const 1024) "f")
           (func (export "run") (result i32)
             (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const 1)
                   (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
               (then (return (i32.const -1))))
             (call $fd_filestat_set_size (i32.load (i32.const 16)) (i64.const 0)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, code(Errno::Perm));
    assert_eq!(fs::read_to_string(dir.path().join("f")).unwrap(), "data");
    assert!(!dir.path().join("newdir").exists());
}

#[test]
fn read_only_preopen_reports_no_mutation_rights() {
    let dir = tempfile::tempdir().unwrap();
    let items =
        r#"(func (export "run") (result i32) (call $fd_fdstat_get (i32.const 3) (i32.const 0)))"#;
    let (rc, _, ro) = call_run(items, preopen(dir.path(), DirPerms::ReadOnly));
    assert_eq!(rc, 0);
    let (_, _, rw) = call_run(items, preopen(dir.path(), DirPerms::ReadWrite));
    const PATH_CREATE_FILE: u64 = 1 << 10;
    const PATH_OPEN: u64 = 1 << 13;
    assert_eq!(ro[0], 3, "directory");
    assert_eq!(u64_at(&ro, 8) & PATH_CREATE_FILE, 0);
    assert_ne!(u64_at(&ro, 8) & PATH_OPEN, 0);
    assert_ne!(u64_at(&rw, 8) & PATH_CREATE_FILE, 0);
}

#[test]
fn readdir_lists_entries_and_resumes_from_a_cookie() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["alpha", "beta", "gamma"] {
        fs::write(dir.path().join(name), name).unwrap();
    }
    // First call with a small buffer, then resume from the cookie of the last complete entry.
    let items = r#"
        (func (export "run") (result i32)
          (if (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 4096) (i64.const 0) (i32.const 16))
            (then (return (i32.const -1))))
          (call $fd_readdir (i32.const 3) (i32.const 8192) (i32.const 4096) (i64.const 3) (i32.const 20)))"#;
    let (rc, _, mem) = call_run(items, preopen(dir.path(), DirPerms::ReadOnly));
    assert_eq!(rc, 0);
    let parse = |start: usize, used: usize| {
        let mut names = Vec::new();
        let mut at = start;
        while at + 24 <= start + used {
            let len = u32_at(&mem, at + 16) as usize;
            names.push(String::from_utf8(mem[at + 24..at + 24 + len].to_vec()).unwrap());
            at += 24 + len;
        }
        names
    };
    let mut all = parse(1024, u32_at(&mem, 16) as usize);
    assert_eq!(&all[..2], [".", ".."]);
    all.sort();
    assert_eq!(all, [".", "..", "alpha", "beta", "gamma"]);
    assert_eq!(
        parse(8192, u32_at(&mem, 20) as usize).len(),
        2,
        "cookie 3 skips three entries"
    );
}

#[test]
fn seek_renumber_and_close_follow_descriptor_rules() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "0123456789").unwrap();
    let items = r#"
        (data (i32.const 1024) "f")
        (func (export "run") (result i32)
          (local $fd i32)
          (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const 1)
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
            (then (return (i32.const -1))))
          (local.set $fd (i32.load (i32.const 16)))
          (if (call $fd_seek (local.get $fd) (i64.const -3) (i32.const 2) (i32.const 24)) (then (return (i32.const -2))))
          ;; read 3 bytes at the new offset into 200
          (i32.store (i32.const 32) (i32.const 200))
          (i32.store (i32.const 36) (i32.const 3))
          (if (call $fd_renumber (local.get $fd) (i32.const 0)) (then (return (i32.const -3))))
          (if (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)) (then (return (i32.const -4))))
          (if (i32.ne (call $fd_close (local.get $fd)) (i32.const 8)) (then (return (i32.const -5))))
          (if (call $fd_close (i32.const 0)) (then (return (i32.const -6))))
          (call $fd_seek (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 24)))"#;
    let (rc, _, mem) = call_run(items, preopen(dir.path(), DirPerms::ReadOnly));
    assert_eq!(rc, code(Errno::Badf), "fd 0 is closed");
    assert_eq!(u64_at(&mem, 24), 7);
    assert_eq!(u32_at(&mem, 40), 3);
    assert_eq!(&mem[200..203], b"789");
}

#[test]
fn poll_oneoff_waits_for_a_relative_clock() {
    let items = r#"
        (func (export "run") (result i32)
          (i64.store (i32.const 0) (i64.const 77))          ;; userdata
          (i32.store8 (i32.const 8) (i32.const 0))          ;; eventtype clock
          (i32.store (i32.const 16) (i32.const 1))          ;; monotonic
          (i64.store (i32.const 24) (i64.const 30000000))   ;; 30 ms
          (call $poll_oneoff (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))"#;
    let start = Instant::now();
    let (rc, _, mem) = call_run(items, WasiCtx::default());
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(rc, 0);
    assert_eq!(u32_at(&mem, 200), 1, "one event");
    assert_eq!(u64_at(&mem, 100), 77);
    assert_eq!(mem[110], 0, "clock event");
}

#[test]
fn poll_oneoff_reports_ready_stdin_and_bad_fds_without_waiting() {
    let items = r#"
        (func (export "run") (result i32)
          (i64.store (i32.const 0) (i64.const 1))
          (i32.store8 (i32.const 8) (i32.const 1))          ;; fd_read
          (i32.store (i32.const 16) (i32.const 0))          ;; stdin
          (i64.store (i32.const 48) (i64.const 2))
          (i32.store8 (i32.const 56) (i32.const 1))
          (i32.store (i32.const 64) (i32.const 99))         ;; no such fd
          (i64.store (i32.const 96) (i64.const 3))
          (i32.store8 (i32.const 104) (i32.const 0))        ;; a 10 s clock that must not be waited for
          (i32.store (i32.const 112) (i32.const 1))
          (i64.store (i32.const 120) (i64.const 10000000000))
          (call $poll_oneoff (i32.const 0) (i32.const 1000) (i32.const 3) (i32.const 2000)))"#;
    let ctx = WasiCtxBuilder::new()
        .stdin(Stdio::Bytes(b"12345".to_vec()))
        .build();
    let start = Instant::now();
    let (rc, _, mem) = call_run(items, ctx);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(rc, 0);
    assert_eq!(u32_at(&mem, 2000), 2);
    assert_eq!(
        (u64_at(&mem, 1000), u64_at(&mem, 1016)),
        (1, 5),
        "stdin has 5 bytes"
    );
    assert_eq!(u64_at(&mem, 1032), 2);
    assert_eq!(
        u16::from_le_bytes([mem[1040], mem[1041]]),
        Errno::Badf.code()
    );
}

#[test]
fn clock_time_get_rejects_unknown_clocks() {
    let (rc, _, mem) = call_run(
        r#"(func (export "run") (result i32)
             (if (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 0)) (then (return (i32.const -1))))
             (call $clock_time_get (i32.const 9) (i64.const 1) (i32.const 8)))"#,
        WasiCtx::default(),
    );
    assert_eq!(rc, code(Errno::Inval));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let guest = u64_at(&mem, 0);
    assert!(
        now.abs_diff(guest) < 60_000_000_000,
        "realtime {guest} vs host {now}"
    );
}

#[test]
fn granted_socket_accepts_receives_and_sends() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"ping").unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        reply
    });
    let ctx = WasiCtxBuilder::new().preopened_socket(listener).build();
    let items = r#"
        (data (i32.const 1024) "pong")
        (func (export "run") (result i32)
          (local $conn i32)
          (if (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 16)) (then (return (i32.const -1))))
          (local.set $conn (i32.load (i32.const 16)))
          (i32.store (i32.const 32) (i32.const 2048))
          (i32.store (i32.const 36) (i32.const 4))
          (if (call $sock_recv (local.get $conn) (i32.const 32) (i32.const 1) (i32.const 0) (i32.const 40) (i32.const 44))
            (then (return (i32.const -2))))
          (i32.store (i32.const 48) (i32.const 1024))
          (i32.store (i32.const 52) (i32.const 4))
          (if (call $sock_send (local.get $conn) (i32.const 48) (i32.const 1) (i32.const 0) (i32.const 56))
            (then (return (i32.const -3))))
          (if (call $sock_shutdown (local.get $conn) (i32.const 3)) (then (return (i32.const -4))))
          (call $sock_accept (i32.const 1) (i32.const 0) (i32.const 16)))"#;
    let (rc, _, mem) = call_run(items, ctx);
    assert_eq!(client.join().unwrap(), b"pong");
    assert_eq!(&mem[2048..2052], b"ping");
    assert_eq!(rc, code(Errno::Notsock), "stdout is not a socket");
}

#[test]
fn path_filestat_get_reports_size_and_type() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "12345").unwrap();
    let (rc, _, mem) = call_run(
        r#"(data (i32.const 1024) "f")
           (func (export "run") (result i32)
             (call $path_filestat_get (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const 1) (i32.const 0)))"#,
        preopen(dir.path(), DirPerms::ReadOnly),
    );
    assert_eq!(rc, 0);
    assert_eq!(mem[16], 4, "regular file");
    assert_eq!(u64_at(&mem, 32), 5);
    assert_eq!(u64_at(&mem, 24), 1, "one link");
}
