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

/// Runs `qjs` with `args` (after argv[0]) and a read-write preopen `/work`; returns stdout, stderr and
/// the value `qjs_init_argv` returned.
fn run_qjs(args: &[&str], work: &std::path::Path) -> (String, String, i32) {
    let path = artifact("qjs-wasi-reactor.wasm");
    assert!(
        path.exists(),
        "run tests/large/fetch.sh first ({} missing)",
        path.display()
    );
    let engine = Engine::default();
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
    let instance = linker.instantiate(&mut store, &module).unwrap();
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
    let mut results = vec![Val::I32(0); init.ty(&store).results().len()];
    init.call(
        &mut store,
        &[Val::I32(argv.len() as i32), Val::I32(array)],
        &mut results,
    )
    .unwrap();
    let rc = match results.first() {
        Some(Val::I32(rc)) => *rc,
        _ => 0,
    };
    (
        String::from_utf8_lossy(&stdout.contents()).into_owned(),
        String::from_utf8_lossy(&stderr.contents()).into_owned(),
        rc,
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
