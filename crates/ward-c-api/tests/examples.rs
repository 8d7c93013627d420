//! The `wasm.h` examples (`wasm-c-api/example/*.c`), compiled with the system C compiler against
//! this crate's shared library installed as `libward.so`, run in the examples directory (they open
//! `NAME.wasm` from the working directory), and checked for exit status 0 and their output.
//!
//! The expected outputs are written from what each example prints and what its module does; a
//! line may hold `{ptr}`, which matches a printed pointer (`%p`: `0x…` or `(nil)`). Skipped, with a
//! message, when no C compiler (`cc`) is installed.
//!
//! Unix only (the library is found through an `rpath`). `threads.c` interleaves its threads'
//! lines, so its check is order-free across threads. Left out: `serialize.c` (ward has no
//! serialized module format yet), and `hostref.c` (its module predates the final reference-types
//! encoding and does not validate).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared library cargo built for this test run (`libward_c.so`).
fn built_library() -> PathBuf {
    built_artifact(&format!(
        "{}ward_c{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// A library cargo built for this test run, found next to the test binary
/// (`target/<profile>/deps/`) or one level up.
fn built_artifact(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let deps = exe.parent().expect("the test binary is in a directory");
    [deps.join(name), deps.join("..").join(name)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} was not built next to {}", deps.display()))
}

fn have_cc() -> bool {
    Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A scratch directory holding `libward.so` and the compiled examples, made once per test run
/// (the tests run in parallel, and the library must not be rewritten while an example runs).
fn scratch_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(make_scratch_dir).clone()
}

fn make_scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ward-c-api-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    let lib = format!(
        "{}ward{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let link = dir.join(lib);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(built_library(), &link).expect("link libward to the built library");
    dir
}

/// Whether `actual` is `expected` with each `{ptr}` standing for a printed pointer.
fn line_matches(expected: &str, actual: &str) -> bool {
    let mut rest = actual;
    let mut pieces = expected.split("{ptr}").peekable();
    let first = pieces.next().unwrap_or("");
    let Some(after) = rest.strip_prefix(first) else {
        return false;
    };
    rest = after;
    for piece in pieces {
        // A pointer: `(nil)` or `0x` and hex digits.
        if let Some(after) = rest.strip_prefix("(nil)") {
            rest = after;
        } else if let Some(after) = rest.strip_prefix("0x") {
            rest = after.trim_start_matches(|c: char| c.is_ascii_hexdigit());
        } else {
            return false;
        }
        let Some(after) = rest.strip_prefix(piece) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

/// Compiles `example/NAME.c`, runs it in the examples directory, and compares its output with
/// `expected`.
fn run_example(name: &str, expected: &str) {
    let examples = crate_dir().join("wasm-c-api").join("example");
    run_c_program(
        name,
        &examples.join(format!("{name}.c")),
        &examples,
        expected,
    );
}

/// Compiles `source` (with `-pthread`) against libward, runs it in `dir`, and compares its output
/// with `expected`.
fn run_c_program(name: &str, source: &Path, dir: &Path, expected: &str) {
    run_c_program_with_args(name, source, dir, &[], expected);
}

/// [`run_c_program`] with command-line arguments.
fn run_c_program_with_args(name: &str, source: &Path, dir: &Path, args: &[&Path], expected: &str) {
    let Some(stdout) = compile_and_run(name, source, dir, args) else {
        return;
    };
    let actual: Vec<&str> = stdout.lines().collect();
    let expected: Vec<&str> = expected.lines().collect();
    let mismatch = actual.len() != expected.len()
        || expected
            .iter()
            .zip(&actual)
            .any(|(e, a)| !line_matches(e, a));
    assert!(
        !mismatch,
        "{name} printed:\n{stdout}\nexpected:\n{}",
        expected.join("\n")
    );
}

/// Compiles `source` (with `-pthread`) against libward, runs it in `dir` with `args`, checks that
/// it exits with status 0 and returns its standard output; `None` (after saying so) when there is
/// no C compiler.
fn compile_and_run(name: &str, source: &Path, dir: &Path, args: &[&Path]) -> Option<String> {
    if !have_cc() {
        eprintln!("skipping {name}: no C compiler (`cc`) found");
        return None;
    }
    let wasm_c_api = crate_dir().join("wasm-c-api");
    let scratch = scratch_dir();
    let exe = scratch.join(name);
    let compiled = Command::new("cc")
        .args(["-std=c11", "-pthread", "-o"])
        .arg(&exe)
        .arg(source)
        .arg("-I")
        .arg(wasm_c_api.join("include"))
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg("-L")
        .arg(&scratch)
        .arg("-lward")
        .arg(format!("-Wl,-rpath,{}", scratch.display()))
        .output()
        .expect("run cc");
    assert!(
        compiled.status.success(),
        "cc failed on {name}.c:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = Command::new(&exe)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{name} exited with {}:\n{stdout}\n{stderr}",
        run.status
    );
    remove_quietly(&exe);
    Some(stdout)
}

/// The modules of `tests/c/api.c`.
const API_WAT: &str = r#"
(module
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (import "host" "fail" (func $fail))
  (global (export "g") (mut i32) (i32.const 5))
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (func $double (export "double") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 2)))
  (func (export "call_reenter") (param i32) (result i32) (call $reenter (local.get 0)))
  (func (export "call_fail") (call $fail))
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func (export "store_byte") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "call_table") (param i32 i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (local.get 1)))
  (func (export "get_funcref") (result funcref) (ref.func $double))
  (elem declare func $double))
"#;
const SEVEN_WAT: &str = r#"(module (func (export "seven") (result i32) (i32.const 7)))"#;

#[test]
fn api_behaviour_beyond_the_examples() {
    let dir = scratch_dir().join("api-modules");
    std::fs::create_dir_all(&dir).expect("create the api test directory");
    for (name, text) in [("api.wasm", API_WAT), ("seven.wasm", SEVEN_WAT)] {
        let binary = wat::parse_str(text).expect("the test modules parse");
        std::fs::write(dir.join(name), binary).expect("write a test module");
    }
    let source = crate_dir().join("tests").join("c").join("api.c");
    run_c_program("api", &source, &dir, "api: all checks passed");
}

/// The modules of `tests/c/ward_h.c`: a WASI program writing `out.txt` into each of its two preopens
/// (fd 3 read-write, fd 4 read-only), reporting each result to the host, then exiting with 7; and
/// an endless loop.
const WASI_WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "host" "report" (func $report (param i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out.txt")
  (data (i32.const 200) "written by wasm\n")
  ;; Creates out.txt under the directory `dir` and writes the text; returns the errno.
  (func $write_file (param $dir i32) (result i32)
    (local $errno i32)
    ;; oflags: create | truncate; rights: fd_write.
    (local.set $errno (call $path_open (local.get $dir) (i32.const 0) (i32.const 100) (i32.const 7)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (i32.store (i32.const 8) (i32.const 200))
    (i32.store (i32.const 12) (i32.const 16))
    (call $fd_write (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 16)))
  (func (export "_start")
    (call $report (call $write_file (i32.const 3)))
    (call $report (call $write_file (i32.const 4)))
    (call $proc_exit (i32.const 7))))
"#;
const SPIN_WAT: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn ward_h_runs_wasi_with_preopens_and_applies_fuel_epochs_limits() {
    let dir = scratch_dir().join("wasi-modules");
    let (rw, ro) = (dir.join("rw"), dir.join("ro"));
    for d in [&rw, &ro] {
        std::fs::create_dir_all(d).expect("create a preopened directory");
        let _ = std::fs::remove_file(d.join("out.txt"));
    }
    for (name, text) in [("wasi.wasm", WASI_WAT), ("spin.wasm", SPIN_WAT)] {
        let binary = wat::parse_str(text).expect("the test modules parse");
        std::fs::write(dir.join(name), binary).expect("write a test module");
    }
    let source = crate_dir().join("tests").join("c").join("ward_h.c");
    // 10,000 units of fuel; the loop costs 2 per iteration (`loop` and `br`), so it runs until
    // the fuel is gone.
    run_c_program_with_args(
        "ward_h",
        &source,
        &dir,
        &[&rw, &ro],
        "preopen missing dir: refused
imports: 4, to fill in: 1
guest write: ok
guest write: refused
exit: proc_exit 7
bad module: refused, message: yes
fuel without consume_fuel: refused
set fuel: ok
spin: wasm trap: all fuel consumed by WebAssembly
fuel left: 0
epoch: wasm trap: interrupted: deadline reached
limits: grow to 2 pages ok, to 3 refused
done",
    );
    if have_cc() {
        let written =
            std::fs::read_to_string(rw.join("out.txt")).expect("the guest wrote rw/out.txt");
        assert_eq!(written, "written by wasm\n");
        assert!(
            !ro.join("out.txt").exists(),
            "the read-only preopen was written to"
        );
    }
}

#[test]
fn hello_links_statically_against_libward_a() {
    if !have_cc() {
        eprintln!("skipping the static link: no C compiler (`cc`) found");
        return;
    }
    // A directory holding only `libward.a`, so `-lward` picks the static library.
    let dir = scratch_dir().join("static");
    std::fs::create_dir_all(&dir).expect("create the static library directory");
    let archive = dir.join("libward.a");
    let _ = std::fs::remove_file(&archive);
    std::os::unix::fs::symlink(built_artifact("libward_c.a"), &archive).expect("link libward.a");
    let wasm_c_api = crate_dir().join("wasm-c-api");
    let examples = wasm_c_api.join("example");
    let exe = dir.join("hello");
    let compiled = Command::new("cc")
        .args(["-std=c11", "-o"])
        .arg(&exe)
        .arg(examples.join("hello.c"))
        .arg("-I")
        .arg(wasm_c_api.join("include"))
        .arg("-L")
        .arg(&dir)
        .args(["-lward", "-lpthread", "-ldl", "-lm"])
        .output()
        .expect("run cc");
    assert!(
        compiled.status.success(),
        "cc failed to link hello.c statically:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = Command::new(&exe)
        .current_dir(&examples)
        .output()
        .expect("run hello");
    assert!(run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("> Hello World!\nShutting down...\nDone.\n")
    );
    remove_quietly(&exe);
}

#[test]
fn python_ctypes_runs_the_callback_example() {
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        eprintln!("skipping the Python example: no python3 found");
        return;
    }
    let lib = scratch_dir().join(format!(
        "{}ward{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let run = Command::new("python3")
        .arg(crate_dir().join("python").join("callback.py"))
        .arg(&lib)
        .current_dir(crate_dir().join("wasm-c-api").join("example"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "callback.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // run(3, 4) = print(3 + 4) + closure() = 7 + 42, as in the C example.
    assert_eq!(
        stdout,
        "Calling back...\n> 7\nCalling back closure...\n> 42\nPrinting result...\n> 49\nDone.\n"
    );
}

fn remove_quietly(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[test]
fn pointer_placeholder_matches_printed_pointers_only() {
    assert!(line_matches("> {ptr} @ 0x2e", "> 0x55d0c0ffee @ 0x2e"));
    assert!(line_matches("> {ptr} @ 0x2e", "> (nil) @ 0x2e"));
    assert!(!line_matches("> {ptr} @ 0x2e", "> 0x55d0 @ 0x2f"));
    assert!(!line_matches("> {ptr} @ 0x2e", "> nil @ 0x2e"));
    assert!(!line_matches("Done.", "Done. "));
}

#[test]
fn hello_calls_back_into_the_host() {
    run_example(
        "hello",
        "Initializing...
Loading binary...
Validating module...
Compiling module...
Creating callback...
Instantiating module...
Extracting export...
Calling export...
Calling back...
> Hello World!
Shutting down...
Done.",
    );
}

#[test]
fn callback_passes_values_and_closure_environments() {
    // run(3, 4) = print(3 + 4) + closure() = 7 + 42.
    run_example(
        "callback",
        "Initializing...
Loading binary...
Compiling module...
Creating callback...
Instantiating module...
Extracting export...
Calling export...
Calling back...
> 7
Calling back closure...
> 42
Printing result...
> 49
Shutting down...
Done.",
    );
}

#[test]
fn global_imports_exports_and_mutation() {
    // Every check exits with "> Error reading value" on a wrong value.
    run_example(
        "global",
        "Initializing...
Loading binary...
Compiling module...
Creating globals...
Instantiating module...
Extracting exports...
Accessing globals...
Shutting down...
Done.",
    );
}

#[test]
fn memory_access_growth_and_bounds_traps() {
    run_example(
        "memory",
        "Initializing...
Loading binary...
Compiling module...
Instantiating module...
Extracting exports...
Checking memory...
Mutating memory...
Growing memory...
Creating stand-alone memory...
Shutting down...
Done.",
    );
}

#[test]
fn start_function_trap_fails_instantiation_with_a_frame() {
    // start.wasm's only function body starts at 0x2d (its locals count); `unreachable` is at 0x2e.
    // Instantiation failed, so there is no instance to report.
    run_example(
        "start",
        "Initializing...
Loading binary...
Compiling module...
Instantiating module...
Printing message...
> wasm trap: unreachable
Printing origin...
> {ptr} @ 0x2e = 0.0x1
Printing trace...
> {ptr} @ 0x2e = 0.0x1
Shutting down...
Done.",
    );
}

#[test]
fn trap_from_callback_and_from_unreachable() {
    // Export 0 calls the host, which returns the trap "callback abort" (no Wasm frame is
    // reported for a host trap). Export 1 is function 2 (after the import); its body starts at
    // 0x64 and `unreachable` is at 0x65.
    run_example(
        "trap",
        "Initializing...
Loading binary...
Compiling module...
Creating callback...
Instantiating module...
Extracting exports...
Calling export 0...
Calling back...
Printing message...
> callback abort
Printing origin...
> Empty origin.
Printing trace...
> Empty trace.
Calling export 1...
Printing message...
> wasm trap: unreachable
Printing origin...
> {ptr} @ 0x65 = 2.0x1
Printing trace...
> {ptr} @ 0x65 = 2.0x1
Shutting down...
Done.",
    );
}

#[test]
fn table_get_set_grow_and_call_indirect() {
    // The host function is called once, through the table (call_indirect(6, 3) = -6).
    run_example(
        "table",
        "Initializing...
Loading binary...
Compiling module...
Instantiating module...
Extracting exports...
Creating callback...
Checking table...
Mutating table...
Growing table...
Calling back...
Creating stand-alone table...
Shutting down...
Done.",
    );
}

#[test]
fn multi_value_params_and_results() {
    // g(1, 2, 3, 4) calls f(1, 3, 2, 4), which returns its arguments reversed.
    run_example(
        "multi",
        "Initializing...
Loading binary...
Compiling module...
Creating callback...
Instantiating module...
Extracting export...
Calling export...
Calling back...
> > 1 3 2 4

Printing result...
> 4 3 2 1
Shutting down...
Done.",
    );
}

#[test]
fn reflect_prints_export_types() {
    // The limits print as "%ud": the number followed by a literal "d".
    run_example(
        "reflect",
        "Initializing...
Loading binary...
Compiling module...
Instantiating module...
Extracting export...
> export 0 \"func\"
>> initial: func i32 f64 f32 -> i32
>> current: func i32 f64 f32 -> i32
>> in-arity: 3, out-arity: 1
> export 1 \"global\"
>> initial: global const f64
>> current: global const f64
> export 2 \"table\"
>> initial: table 0d 50d funcref
>> current: table 0d 50d funcref
> export 3 \"memory\"
>> initial: memory 1d
>> current: memory 1d
Shutting down...
Done.",
    );
}

#[test]
fn finalize_runs_instance_finalizers_when_the_store_goes() {
    // ward keeps a store's instances until the store is deleted, so each store's 100,001
    // finalizers run at `wasm_store_delete`, in the order their host info was set; store 1 holds
    // two runs' worth.
    let progress = (0..=10)
        .map(|i| format!("{}\n", i * 10_000))
        .collect::<String>();
    let finalizing = (0..=10)
        .map(|i| format!("Finalizing #{}...\n", i * 10_000))
        .collect::<String>();
    let run =
        format!("Loading binary...\nCompiling module...\nInstantiating modules...\n{progress}");
    let expected = format!(
        "Initializing...
Live count 0
Creating store 1...
Running in store 1...
{run}Live count 100001
Creating store 2...
Running in store 2...
{run}Live count 200002
Deleting store 2...
{finalizing}Live count 100001
Running in store 1...
{run}Live count 200002
Deleting store 1...
{finalizing}{finalizing}Live count 0
Shutting down...
Done."
    );
    run_example("finalize", &expected);
}

/// `threads.c`: ten threads, each with its own store, instantiate one shared module three times
/// and call it; each call prints its thread's id through a host function. Lines of different
/// threads interleave in any order, so the check is: the main thread's lines in its order, and
/// every thread's line exactly three times.
#[test]
fn threads_share_a_module_across_stores_on_many_threads() {
    let examples = crate_dir().join("wasm-c-api").join("example");
    let Some(stdout) = compile_and_run("threads", &examples.join("threads.c"), &examples, &[])
    else {
        return;
    };
    let main_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Initializing thread") || l.starts_with("Waiting for thread"))
        .collect();
    let expected_main: Vec<String> = (0..10)
        .map(|i| format!("Initializing thread {i}..."))
        .chain((0..10).map(|i| format!("Waiting for thread: {i}")))
        .collect();
    assert_eq!(main_lines, expected_main, "{stdout}");
    let mut thread_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("> ")).collect();
    thread_lines.sort_unstable();
    let mut expected_threads: Vec<String> = (0..10)
        .flat_map(|i| std::iter::repeat_n(format!("> Thread {i} running"), 3))
        .collect();
    expected_threads.sort_unstable();
    assert_eq!(thread_lines, expected_threads, "{stdout}");
    assert_eq!(
        stdout.lines().count(),
        main_lines.len() + thread_lines.len(),
        "unexpected lines:\n{stdout}"
    );
}
