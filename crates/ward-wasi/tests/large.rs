//! A large real program under ward-wasi: QuickJS-NG's WASI reactor build, a full JavaScript engine.
//!
//! Opt-in, because the module is not committed: run `tests/large/fetch.sh` first, then
//! `cargo test -p ward-wasi --release --test large -- --ignored`.

use std::fs;
use std::path::PathBuf;

use ward::{Engine, Linker, Module, Store, Val};
use ward_wasi::{DirPerms, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/large/artifacts")
        .join(name)
}

/// A fresh engine, store and instance of `qjs` with a read-write preopen `/work` and captured
/// stdout and stderr, as a new process would set it up (metered when `fuel` is on).
fn setup_qjs(
    work: &std::path::Path,
    fuel: bool,
) -> (Store<WasiCtx>, ward::Instance, OutputBuffer, OutputBuffer) {
    let path = artifact("qjs-wasi-reactor.wasm");
    assert!(
        path.exists(),
        "run tests/large/fetch.sh first ({} missing)",
        path.display()
    );
    let mut config = ward::Config::new();
    config.consume_fuel(fuel);
    let engine = Engine::new(&config).unwrap();
    let module = Module::from_file(&engine, &path).unwrap();
    let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = WasiCtxBuilder::new()
        .stdout(Stdio::Buffer(stdout.clone()))
        .stderr(Stdio::Buffer(stderr.clone()))
        .preopened_dir(work, "/work", DirPerms::ReadWrite)
        .unwrap()
        .build();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, ctx);
    if fuel {
        store.set_fuel(u64::MAX).unwrap();
    }
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance, stdout, stderr)
}

/// Runs `qjs` with `args` (after argv[0]) and a read-write preopen `/work`; returns stdout, stderr and
/// the value `qjs_init_argv` returned.
fn run_qjs(args: &[&str], work: &std::path::Path) -> (String, String, i32) {
    let (out, err, rc, _) = run_qjs_in_slices(args, work, None);
    (out, err, rc)
}

/// Sizes and times of the snapshots of a sliced run.
#[derive(Debug, Default)]
struct SnapshotStats {
    sizes: Vec<usize>,
    take: Vec<std::time::Duration>,
    restore: Vec<std::time::Duration>,
}

/// [`run_qjs`]; with `slice`, the script runs in slices of that much fuel, and after each one the
/// run is snapshotted (WASI state included) and restored into a fresh engine, store and instance,
/// whose output buffers collect the rest.
fn run_qjs_in_slices(
    args: &[&str],
    work: &std::path::Path,
    slice: Option<u64>,
) -> (String, String, i32, SnapshotStats) {
    run_qjs_sliced(args, work, slice, None)
}

/// [`run_qjs_in_slices`] up to its first snapshot, which is written to `file` instead of restored.
fn run_qjs_until_snapshot(
    args: &[&str],
    work: &std::path::Path,
    slice: u64,
    file: &std::path::Path,
) -> (String, String, i32, SnapshotStats) {
    run_qjs_sliced(args, work, Some(slice), Some(file))
}

fn run_qjs_sliced(
    args: &[&str],
    work: &std::path::Path,
    slice: Option<u64>,
    stop_at: Option<&std::path::Path>,
) -> (String, String, i32, SnapshotStats) {
    let (mut store, instance, mut stdout, mut stderr) = setup_qjs(work, slice.is_some());
    instance
        .get_typed_func::<(), ()>(&store, "_initialize")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    // Build argv in guest memory with the guest's own malloc.
    let malloc = instance
        .get_typed_func::<i32, i32>(&store, "malloc")
        .unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    let argv: Vec<&str> = std::iter::once("qjs").chain(args.iter().copied()).collect();
    let mut pointers = Vec::new();
    for arg in &argv {
        let ptr = malloc.call(&mut store, arg.len() as i32 + 1).unwrap();
        let mut bytes = arg.as_bytes().to_vec();
        bytes.push(0);
        memory.write(&mut store, ptr as usize, &bytes).unwrap();
        pointers.push(ptr);
    }
    let array = malloc
        .call(&mut store, 4 * (pointers.len() as i32 + 1))
        .unwrap();
    let mut table: Vec<u8> = pointers.iter().flat_map(|p| p.to_le_bytes()).collect();
    table.extend_from_slice(&[0; 4]);
    memory.write(&mut store, array as usize, &table).unwrap();
    let init = instance.get_func(&store, "qjs_init_argv").unwrap();
    let params = [Val::I32(argv.len() as i32), Val::I32(array)];
    let mut stats = SnapshotStats::default();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let results = match slice {
        None => {
            let mut results = vec![Val::I32(0); init.ty(&store).results().len()];
            init.call(&mut store, &params, &mut results).unwrap();
            results
        }
        Some(slice) => {
            store.set_fuel(slice).unwrap();
            let mut call = init.call_resumable(&mut store, &params).unwrap();
            loop {
                let paused = match call {
                    ward::ResumableCall::Finished(results) => break results,
                    ward::ResumableCall::Paused(paused) => paused,
                };
                let started = std::time::Instant::now();
                let wasi = store.data().snapshot_state(store.get_fuel().ok()).unwrap();
                let bytes = store.snapshot(&paused, &wasi).unwrap();
                stats.take.push(started.elapsed());
                stats.sizes.push(bytes.len());
                drop(paused);
                if let Some(file) = stop_at {
                    fs::write(file, &bytes).unwrap();
                    break vec![];
                }
                out.extend(stdout.contents());
                err.extend(stderr.contents());
                let (fresh, _, fresh_out, fresh_err) = setup_qjs(work, true);
                (store, stdout, stderr) = (fresh, fresh_out, fresh_err);
                let started = std::time::Instant::now();
                let (paused, host) = store.restore(&bytes).unwrap();
                store.set_fuel(slice).unwrap();
                store.data().restore_state(&host, Some(slice)).unwrap();
                stats.restore.push(started.elapsed());
                call = paused.resume(&mut store).unwrap();
            }
        }
    };
    out.extend(stdout.contents());
    err.extend(stderr.contents());
    let rc = match results.first() {
        Some(Val::I32(rc)) => *rc,
        _ => 0,
    };
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        rc,
        stats,
    )
}

#[test]
#[ignore = "needs tests/large/fetch.sh"]
fn quickjs_evaluates_a_script_from_a_preopened_directory() {
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("script.js"),
        r#"
        function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
        const words = "the quick brown fox jumps over the lazy dog".split(" ");
        const counts = {};
        for (const w of words) counts[w] = (counts[w] || 0) + 1;
        print("fib(20) =", fib(20));
        print(JSON.stringify(counts));
        print([5, 3, 9, 1].sort((a, b) => a - b).join(","));
        print(/(\d+)-(\d+)/.exec("range 10-42").slice(1).map(Number).reduce((a, b) => a + b));
        print(String(2n ** 100n));
        class Point { constructor(x, y) { this.x = x; this.y = y; } norm() { return Math.hypot(this.x, this.y); } }
        print(new Point(3, 4).norm());
        "#,
    )
    .unwrap();
    let (out, err, rc) = run_qjs(&["/work/script.js"], work.path());
    assert_eq!(err, "");
    assert_eq!(rc, 0);
    assert_eq!(
        out,
        "fib(20) = 6765\n{\"the\":2,\"quick\":1,\"brown\":1,\"fox\":1,\"jumps\":1,\"over\":1,\"lazy\":1,\"dog\":1}\n\
         1,3,5,9\n52\n1267650600228229401496703205376\n5\n"
    );
}

#[test]
#[ignore = "needs tests/large/fetch.sh"]
fn quickjs_std_module_writes_and_reads_files_in_the_sandbox() {
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("io.js"),
        r#"
        import * as std from "qjs:std";
        const f = std.open("/work/out.txt", "w");
        f.puts("written by quickjs\n");
        f.close();
        print(std.loadFile("/work/out.txt").trim());
        print(std.open("/work/../escape.txt", "w") === null ? "escape denied" : "escaped");
        "#,
    )
    .unwrap();
    let (out, err, _) = run_qjs(&["--module", "/work/io.js"], work.path());
    assert_eq!(err, "");
    assert_eq!(out, "written by quickjs\nescape denied\n");
    assert_eq!(
        fs::read_to_string(work.path().join("out.txt")).unwrap(),
        "written by quickjs\n"
    );
    assert!(!work.path().parent().unwrap().join("escape.txt").exists());
}

/// QuickJS snapshotted at many fuel points, each slice resumed in a fresh engine and store from
/// the snapshot alone, prints what an uninterrupted run prints and leaves the same file.
#[test]
#[ignore = "needs tests/large/fetch.sh"]
fn quickjs_resumed_from_snapshots_prints_what_an_uninterrupted_run_prints() {
    let script = r#"
        import * as std from "qjs:std";
        function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
        const log = std.open("/work/log.txt", "w");
        let total = 0;
        for (let i = 0; i < 12; i++) {
            const words = [];
            for (let j = 0; j < 200; j++) words.push((i * 7919 + j * 104729) % 1000);
            words.sort((a, b) => a - b);
            total += fib(15 + (i % 4)) + words[100];
            print(`round ${i}: ${total} ${JSON.stringify(words.slice(0, 3))}`);
            log.puts(`${i} ${total}\n`);
            log.flush();
        }
        log.close();
        print(std.loadFile("/work/log.txt").split("\n").length);
    "#;
    let whole_dir = tempfile::tempdir().unwrap();
    fs::write(whole_dir.path().join("s.js"), script).unwrap();
    let (expected_out, expected_err, expected_rc) =
        run_qjs(&["--module", "/work/s.js"], whole_dir.path());
    assert_eq!(expected_err, "");
    assert!(expected_out.contains("round 11:"), "{expected_out}");
    for slice in [3_000_000u64, 20_000_000] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("s.js"), script).unwrap();
        let (out, err, rc, stats) =
            run_qjs_in_slices(&["--module", "/work/s.js"], dir.path(), Some(slice));
        assert!(stats.sizes.len() >= 3, "{} snapshots", stats.sizes.len());
        assert_eq!(out, expected_out, "at {slice} fuel per slice");
        assert_eq!(err, expected_err);
        assert_eq!(rc, expected_rc);
        assert_eq!(
            fs::read_to_string(dir.path().join("log.txt")).unwrap(),
            fs::read_to_string(whole_dir.path().join("log.txt")).unwrap()
        );
        let mean =
            |d: &[std::time::Duration]| d.iter().sum::<std::time::Duration>() / d.len() as u32;
        eprintln!(
            "quickjs, {slice} fuel per slice: {} snapshots, {}..{} bytes, take {:?}, restore {:?} (mean)",
            stats.sizes.len(),
            stats.sizes.iter().min().unwrap(),
            stats.sizes.iter().max().unwrap(),
            mean(&stats.take),
            mean(&stats.restore),
        );
    }
}

/// The script the process test runs, and its arguments.
const PROCESS_SCRIPT: &str = r#"
    import * as std from "qjs:std";
    const log = std.open("/work/log.txt", "w");
    let total = 0;
    for (let i = 0; i < 10; i++) {
        const xs = [];
        for (let j = 0; j < 300; j++) xs.push(Math.imul(i + 1, 2654435761 + j) >>> 16);
        xs.sort((a, b) => a - b);
        total = (total + xs[150] * (i + 1)) % 1000003;
        print(`round ${i}: ${total}`);
        log.puts(`${i} ${total}\n`);
        log.flush();
    }
    log.close();
    print(std.loadFile("/work/log.txt").length);
"#;

/// QuickJS cut into slices of fuel, each slice run by a new process: this test binary itself,
/// started again on `quickjs_process_slice`, which restores the last snapshot (WASI state
/// included) into a fresh engine and store, runs one slice and writes the next snapshot. What the
/// slices print, together, is what one uninterrupted run prints, and the file it wrote is the same.
#[test]
#[ignore = "needs tests/large/fetch.sh"]
fn quickjs_resumed_in_new_processes_prints_what_an_uninterrupted_run_prints() {
    let args = ["--module", "/work/s.js"];
    let whole = tempfile::tempdir().unwrap();
    fs::write(whole.path().join("s.js"), PROCESS_SCRIPT).unwrap();
    let (expected, expected_err, _) = run_qjs(&args, whole.path());
    assert_eq!(expected_err, "");
    assert!(expected.contains("round 9:"), "{expected}");

    let slice: u64 = 15_000_000;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    fs::write(work.join("s.js"), PROCESS_SCRIPT).unwrap();
    // The first slice here, up to the first snapshot.
    let (mut printed, _, _, stats) =
        run_qjs_until_snapshot(&args, &work, slice, &dir.path().join("snap0"));
    assert_eq!(
        stats.sizes.len(),
        1,
        "the script ran out of work in one slice"
    );
    let mut at = 0;
    while dir.path().join(format!("snap{at}")).exists() {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "quickjs_process_slice",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("WARD_QJS_SNAPSHOT", dir.path().join(format!("snap{at}")))
            .env("WARD_QJS_NEXT", dir.path().join(format!("snap{}", at + 1)))
            .env("WARD_QJS_OUT", dir.path().join(format!("out{at}")))
            .env("WARD_QJS_WORK", &work)
            .env("WARD_QJS_SLICE", slice.to_string())
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "slice {at}: {}",
            String::from_utf8_lossy(&child.stdout)
        );
        printed.push_str(&fs::read_to_string(dir.path().join(format!("out{at}"))).unwrap());
        at += 1;
        assert!(at < 100, "the script never ends");
    }
    assert!(at >= 3, "only {at} processes");
    assert_eq!(printed, expected);
    assert_eq!(
        fs::read_to_string(work.join("log.txt")).unwrap(),
        fs::read_to_string(whole.path().join("log.txt")).unwrap()
    );
}

/// The child-process side of `quickjs_resumed_in_new_processes_prints_what_an_uninterrupted_run_prints`:
/// with `WARD_QJS_SNAPSHOT` set it restores that snapshot into a fresh engine and store, runs one
/// slice of `WARD_QJS_SLICE` fuel, writes what it printed to `WARD_QJS_OUT` and, if the script
/// is not done, the next snapshot to `WARD_QJS_NEXT`. Run without the variables (as `--ignored`
/// runs every test), it has nothing to do.
#[test]
#[ignore = "needs tests/large/fetch.sh"]
fn quickjs_process_slice() {
    let Some(snapshot) = std::env::var_os("WARD_QJS_SNAPSHOT") else {
        return;
    };
    let var = |name: &str| std::env::var_os(name).expect(name);
    let work = PathBuf::from(var("WARD_QJS_WORK"));
    let slice: u64 = var("WARD_QJS_SLICE").to_str().unwrap().parse().unwrap();
    let bytes = fs::read(&snapshot).unwrap();
    let (mut store, _, stdout, stderr) = setup_qjs(&work, true);
    let (paused, host) = store.restore(&bytes).unwrap();
    store.set_fuel(slice).unwrap();
    store.data().restore_state(&host, Some(slice)).unwrap();
    match paused.resume(&mut store).unwrap() {
        ward::ResumableCall::Finished(_) => {}
        ward::ResumableCall::Paused(paused) => {
            let wasi = store.data().snapshot_state(store.get_fuel().ok()).unwrap();
            fs::write(
                var("WARD_QJS_NEXT"),
                store.snapshot(&paused, &wasi).unwrap(),
            )
            .unwrap();
        }
    }
    assert!(stderr.contents().is_empty());
    fs::write(var("WARD_QJS_OUT"), stdout.contents()).unwrap();
}
