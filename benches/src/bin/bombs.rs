//! Translation bombs: compile time and peak memory of ward (eager and lazy translation) against
//! Wasmtime with Cranelift, on the shapes of `crates/ward/tests/translation_bombs.rs` at the scale
//! of the issue that reported them (or the test's, or a multiple of the issue's).
//!
//! ```text
//! cargo run --release --bin bombs [-- [--scale issue|test|FACTOR] [--reps N] [--timeout SECS] [BOMB...]]
//! ```
//!
//! Every measurement runs in a child process of this program (one bomb, one engine), so its peak RSS
//! is its own. The parent builds the module's bytes and writes them to a temporary file; the child
//! reads them, resets its peak RSS, and then measures the compile (`Module::new`), then instantiates and times the first call of the export `f` with
//! argument 0. Engines are interleaved (ward, Wasmtime, ward lazy, ward, …), each case runs `--reps`
//! times (default 3), and the table shows medians.

use std::time::{Duration, Instant};

use ward_benches::child::{
    self, Notes, Outcome, Runs, describe_failure, fmt_kib, fmt_ratio, fmt_secs, median, report,
    reset_peak_rss, rss_kib, run_interleaved,
};

const BOMBS: [&str; 7] = [
    "arity-times-branches",
    "br-table-fan-out",
    "br-table-fan-out-65520",
    "deep-stack-blocks",
    "local-set-chain",
    "many-try-tables",
    "many-local-operands",
];

/// `ward`: default `Config` (eager translation); `ward-lazy`: `Config::lazy_translation(true)`.
const ENGINES: [&str; 3] = ["ward", "wasmtime", "ward-lazy"];

/// Result arity of the wide blocks (the most a function type may have).
const ARITY: usize = 1000;

/// The most `br_table` entries Wasmtime 48 accepts (it rejects more as an implementation limit).
const WASMTIME_MAX_BR_TABLE: usize = 65_520;

/// Locals of `many-local-operands`.
const LOCALS: usize = 64;

/// How many of each repeated construct a bomb has.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// `br_if`s to the wide block.
    branches: usize,
    /// Entries of the wide `br_table`.
    targets: usize,
    /// Operands left on the stack under the blocks, `local.set`s and `try_table`s.
    operands: usize,
    /// Empty blocks.
    blocks: usize,
    /// `local.set`s.
    sets: usize,
    /// Empty `try_table`s.
    try_tables: usize,
    /// `local.get`s of `many-local-operands`.
    gets: usize,
}

impl Sizes {
    /// The test's sizes (`crates/ward/tests/translation_bombs.rs`).
    const TEST: Sizes = Sizes {
        branches: 20_000,
        targets: 20_000,
        operands: 50_000,
        blocks: 200_000,
        sets: 200_000,
        try_tables: 200_000,
        gets: 64_000,
    };

    /// The issue's: 100,000 `br_if`s (a 404 KB module) and a 100,000-entry `br_table` to a block of
    /// 1,000 results, and about 1 MB modules for the other shapes (the test's 50,000 operands, with
    /// as many blocks, `local.set`s, `try_table`s or `local.get`s as make about 1 MB).
    const ISSUE: Sizes = Sizes {
        branches: 100_000,
        targets: 100_000,
        operands: 50_000,
        blocks: 300_000,
        sets: 225_000,
        try_tables: 225_000,
        gets: 320_000,
    };

    fn scaled(self, factor: f64) -> Sizes {
        let s = |n: usize| ((n as f64 * factor).round() as usize).max(1);
        Sizes {
            branches: s(self.branches),
            targets: s(self.targets),
            operands: s(self.operands),
            blocks: s(self.blocks),
            sets: s(self.sets),
            try_tables: s(self.try_tables),
            gets: s(self.gets),
        }
    }

    fn parse(scale: &str) -> Sizes {
        match scale {
            "issue" => Sizes::ISSUE,
            "test" => Sizes::TEST,
            factor => Sizes::ISSUE.scaled(
                factor
                    .parse()
                    .expect("--scale is `issue`, `test` or a factor of the issue's sizes"),
            ),
        }
    }
}

fn values(count: usize) -> String {
    (0..count).map(|i| format!("(i32.const {i})")).collect()
}

fn results(count: usize) -> String {
    vec!["i32"; count].join(" ")
}

/// The parameter and result counts of bomb `name`'s export `f`.
fn signature(name: &str) -> (usize, usize) {
    match name {
        "arity-times-branches" | "br-table-fan-out" | "br-table-fan-out-65520" => (1, ARITY),
        "local-set-chain" => (1, 0),
        _ => (0, 0),
    }
}

/// The text of bomb `name`.
fn bomb(name: &str, n: Sizes) -> String {
    match name {
        // `br_if`s to a block of 1,000 results: each branch carries every value.
        "arity-times-branches" => {
            let res = results(ARITY);
            format!(
                r#"(module (type $t (func (result {res})))
                     (func (export "f") (param i32) (result {res})
                       (block (type $t) {} {})))"#,
                values(ARITY),
                "(br_if 0 (local.get 0))".repeat(n.branches)
            )
        }
        // A `br_table` whose entries all target a block of 1,000 results (the second one with no
        // more entries than Wasmtime accepts).
        "br-table-fan-out" | "br-table-fan-out-65520" => {
            let targets = if name == "br-table-fan-out" {
                n.targets
            } else {
                n.targets.min(WASMTIME_MAX_BR_TABLE)
            };
            let res = results(ARITY);
            format!(
                r#"(module (type $t (func (result {res})))
                     (func (export "f") (param i32) (result {res})
                       (block (type $t) {} (br_table {} 0 (local.get 0)))))"#,
                values(ARITY),
                "0 ".repeat(targets)
            )
        }
        // Empty blocks over many operands.
        "deep-stack-blocks" => {
            format!(
                r#"(module (func (export "f") {} {} {}))"#,
                "(i32.const 1)".repeat(n.operands),
                "(block)".repeat(n.blocks),
                "(drop)".repeat(n.operands)
            )
        }
        // `local.set`s over many operands.
        "local-set-chain" => {
            format!(
                r#"(module (func (export "f") (param i32) (local i32) {} {} {}))"#,
                "(i32.const 1)".repeat(n.operands),
                "(local.set 1 (local.get 0))".repeat(n.sets),
                "(drop)".repeat(n.operands)
            )
        }
        // Empty `try_table`s over many operands.
        "many-try-tables" => {
            format!(
                r#"(module (func (export "f") {} {} {}))"#,
                "(i32.const 1)".repeat(n.operands),
                "(try_table)".repeat(n.try_tables),
                "(drop)".repeat(n.operands)
            )
        }
        // 64 locals read many times each, interleaved, and then all overwritten.
        "many-local-operands" => {
            let locals = "(local i32)".repeat(LOCALS);
            let gets: String = (0..n.gets)
                .map(|i| format!("(local.get {})", i % LOCALS))
                .collect();
            let sets: String = (0..LOCALS)
                .map(|i| format!("(local.set {i} (i32.const 7))"))
                .collect();
            format!(
                r#"(module (func (export "f") {locals} {gets} {sets} {}))"#,
                "(drop)".repeat(n.gets)
            )
        }
        other => panic!("no bomb named {other}"),
    }
}

/// The figures a child measured, as report fields.
#[derive(Default)]
struct Measured {
    compile: Option<Duration>,
    compile_error: Option<String>,
    peak_compile_kib: u64,
    call: Option<Duration>,
    call_error: Option<String>,
    peak_call_kib: u64,
}

fn measure_ward(wasm: &[u8], params: usize, results: usize, lazy: bool) -> Measured {
    let mut config = ward::Config::new();
    config.lazy_translation(lazy);
    let engine = ward::Engine::new(&config).expect("valid engine configuration");
    let mut m = Measured::default();
    let started = Instant::now();
    let module = ward::Module::new(&engine, wasm);
    m.compile = Some(started.elapsed());
    m.peak_compile_kib = child::peak_rss_kib();
    let module = match module {
        Ok(module) => module,
        Err(e) => {
            m.compile = None;
            m.compile_error = Some(e.to_string());
            return m;
        }
    };
    let mut store = ward::Store::new(&engine, ());
    let call = ward::Instance::new(&mut store, &module, &[]).and_then(|instance| {
        let f = instance
            .get_func(&store, "f")
            .expect("every bomb exports f");
        let args = vec![ward::Val::I32(0); params];
        let mut out = vec![ward::Val::I32(0); results];
        let started = Instant::now();
        f.call(&mut store, &args, &mut out)?;
        Ok(started.elapsed())
    });
    match call {
        Ok(t) => m.call = Some(t),
        Err(e) => m.call_error = Some(e.to_string()),
    }
    m.peak_call_kib = child::peak_rss_kib();
    m
}

fn measure_wasmtime(wasm: &[u8], params: usize, results: usize) -> Measured {
    let mut config = wasmtime::Config::new();
    // `try_table` needs the exception-handling proposal; every other bomb is plain Wasm 2.0.
    config.wasm_exceptions(true);
    let engine = wasmtime::Engine::new(&config).expect("wasmtime engine");
    let mut m = Measured::default();
    let started = Instant::now();
    let module = wasmtime::Module::new(&engine, wasm);
    m.compile = Some(started.elapsed());
    m.peak_compile_kib = child::peak_rss_kib();
    let module = match module {
        Ok(module) => module,
        Err(e) => {
            m.compile = None;
            m.compile_error = Some(format!("{e:#}"));
            return m;
        }
    };
    let mut store = wasmtime::Store::new(&engine, ());
    let call = wasmtime::Instance::new(&mut store, &module, &[]).and_then(|instance| {
        let f = instance
            .get_func(&mut store, "f")
            .expect("every bomb exports f");
        let args = vec![wasmtime::Val::I32(0); params];
        let mut out = vec![wasmtime::Val::I32(0); results];
        let started = Instant::now();
        f.call(&mut store, &args, &mut out)?;
        Ok(started.elapsed())
    });
    match call {
        Ok(t) => m.call = Some(t),
        Err(e) => m.call_error = Some(format!("{e:#}")),
    }
    m.peak_call_kib = child::peak_rss_kib();
    m
}

/// In the child: measures `bomb` on `engine` (its bytes in file `module`) and prints the report.
fn child_main(bomb_name: &str, engine: &str, module: &str) {
    let (params, results) = signature(bomb_name);
    let wasm = std::fs::read(module).expect("the parent wrote the module");
    reset_peak_rss();
    let base_kib = rss_kib();
    let m = match engine {
        "ward" => measure_ward(&wasm, params, results, false),
        "ward-lazy" => measure_ward(&wasm, params, results, true),
        "wasmtime" => measure_wasmtime(&wasm, params, results),
        other => panic!("unknown engine {other}"),
    };
    let mut fields = vec![
        ("bytes", wasm.len().to_string()),
        ("base_kib", base_kib.to_string()),
        ("peak_compile_kib", m.peak_compile_kib.to_string()),
    ];
    if let Some(t) = m.compile {
        fields.push(("compile_s", t.as_secs_f64().to_string()));
    }
    if let Some(e) = m.compile_error {
        fields.push(("compile_error", e));
    }
    if let Some(t) = m.call {
        fields.push(("call_s", t.as_secs_f64().to_string()));
        fields.push(("peak_call_kib", m.peak_call_kib.to_string()));
    }
    if let Some(e) = m.call_error {
        fields.push(("call_error", e));
    }
    report(&fields);
}

struct Args {
    scale: String,
    /// In a child: the file holding the module's bytes.
    module: Option<String>,
    reps: usize,
    timeout: Duration,
    bombs: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        scale: "issue".to_string(),
        module: None,
        reps: 3,
        timeout: Duration::from_secs(120),
        bombs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scale" => args.scale = it.next().expect("--scale VALUE"),
            "--module" => args.module = Some(it.next().expect("--module PATH")),
            "--reps" => args.reps = it.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--timeout" => {
                args.timeout = Duration::from_secs(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--timeout SECS"),
                )
            }
            name if BOMBS.contains(&name) => args.bombs.push(name.to_string()),
            other => panic!(
                "unknown argument {other}; usage: bombs [--scale issue|test|FACTOR] [--reps N] \
                 [--timeout SECS] [BOMB...], bombs: {}",
                BOMBS.join(", ")
            ),
        }
    }
    if args.bombs.is_empty() {
        args.bombs = BOMBS.iter().map(|b| b.to_string()).collect();
    }
    args
}

/// Medians over the runs of one bomb on one engine.
struct Summary {
    compile: Option<f64>,
    /// Peak RSS during the compile, KiB.
    peak: Option<f64>,
    /// Growth of RSS over the baseline before the compile, KiB.
    growth: Option<f64>,
    call: Option<f64>,
    peak_call: Option<f64>,
    /// Why there are no figures, if there are none: a label and the details.
    failure: Option<(&'static str, String)>,
    call_failure: Option<String>,
}

fn summarize(runs: &[Outcome]) -> Summary {
    let nums = |key: &str| -> Vec<f64> { runs.iter().filter_map(|o| o.num(key)).collect() };
    let growth: Vec<f64> = runs
        .iter()
        .filter(|o| o.get("compile_s").is_some())
        .filter_map(|o| Some(o.num("peak_compile_kib")? - o.num("base_kib")?))
        .collect();
    let failure = describe_failure(runs).or_else(|| {
        runs.iter()
            .find_map(|o| o.get("compile_error"))
            .map(|e| ("rejected", e.to_string()))
    });
    Summary {
        compile: median(&nums("compile_s")),
        peak: median(
            &runs
                .iter()
                .filter(|o| o.get("compile_s").is_some())
                .filter_map(|o| o.num("peak_compile_kib"))
                .collect::<Vec<_>>(),
        ),
        growth: median(&growth),
        call: median(&nums("call_s")),
        peak_call: median(&nums("peak_call_kib")),
        failure,
        call_failure: runs
            .iter()
            .find_map(|o| o.get("call_error"))
            .map(String::from),
    }
}

fn cell_time(s: &Summary, notes: &mut Notes) -> String {
    match (&s.failure, s.compile) {
        (_, Some(t)) => fmt_secs(t),
        (Some((label, why)), None) => notes.cell(label, why),
        (None, None) => "-".to_string(),
    }
}

fn cell_rss(s: &Summary) -> String {
    match (s.peak, s.growth) {
        (Some(p), Some(g)) => format!("{} (+{})", fmt_kib(p), fmt_kib(g)),
        _ => "-".to_string(),
    }
}

fn cell_call(s: &Summary, notes: &mut Notes) -> String {
    match (s.call, &s.call_failure) {
        (Some(t), _) => fmt_secs(t),
        (None, Some(why)) => notes.cell("trapped", why),
        (None, None) => "-".to_string(),
    }
}

fn main() {
    let args = parse_args();
    let sizes = Sizes::parse(&args.scale);
    if let Some((bomb, engine)) = child::child_case() {
        let module = args.module.as_deref().expect("the parent names the module");
        child_main(&bomb, &engine, module);
        return;
    }
    let mut runs: Runs = Runs::new();
    let started = Instant::now();
    for name in &args.bombs {
        // The text and the bytes are made once, here; the children read the bytes.
        let wasm = wat::parse_str(bomb(name, sizes)).expect("the bomb is well-formed text");
        let path = child::module_file(name, &wasm);
        drop(wasm);
        let child_args = vec![
            "--scale".to_string(),
            args.scale.clone(),
            "--module".to_string(),
            path.display().to_string(),
        ];
        run_interleaved(
            &mut runs,
            name,
            &ENGINES,
            &child_args,
            args.reps,
            args.timeout,
            started,
        );
        let _ = std::fs::remove_file(&path);
    }

    println!(
        "Translation bombs at scale `{}` ({sizes:?}), median of {} runs per cell. Peak RSS is the \
         child's VmHWM during the compile (reset after the child read the module's bytes); in \
         parentheses its growth over the RSS before the compile. Ratios: ward (eager) / Wasmtime, \
         below 1 means ward is faster or smaller; the RSS ratio is of the growths.\n",
        args.scale, args.reps
    );
    println!(
        "| bomb | module | ward compile | ward peak RSS | Wasmtime compile | Wasmtime peak RSS | \
         time ward/Wasmtime | RSS ward/Wasmtime | ward lazy compile | ward lazy peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Notes::default();
    for name in &args.bombs {
        let get = |engine| summarize(&runs[&(name.clone(), engine)]);
        let (w, t, l) = (get("ward"), get("wasmtime"), get("ward-lazy"));
        let bytes = runs[&(name.clone(), "ward")]
            .iter()
            .find_map(|o| o.get("bytes").map(String::from))
            .unwrap_or_else(|| "-".to_string());
        println!(
            "| {name} | {bytes} B | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell_time(&w, &mut notes),
            cell_rss(&w),
            cell_time(&t, &mut notes),
            cell_rss(&t),
            fmt_ratio(w.compile, t.compile),
            fmt_ratio(w.growth, t.growth),
            cell_time(&l, &mut notes),
            cell_rss(&l),
        );
    }
    notes.print();
    let mut notes = Notes::default();
    println!(
        "\nFirst call of `f` (argument 0) after instantiation, and the peak RSS of the whole child \
         by then (compile, instance and call). For ward lazy the call translates `f`.\n"
    );
    println!(
        "| bomb | ward call | Wasmtime call | ward lazy call | ward lazy compile + call | \
         ward peak | Wasmtime peak | ward lazy peak |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for name in &args.bombs {
        let get = |engine| summarize(&runs[&(name.clone(), engine)]);
        let (w, t, l) = (get("ward"), get("wasmtime"), get("ward-lazy"));
        let total = match (l.compile, l.call) {
            (Some(a), Some(b)) => fmt_secs(a + b),
            _ => "-".to_string(),
        };
        let peak = |s: &Summary| s.peak_call.map_or("-".to_string(), fmt_kib);
        println!(
            "| {name} | {} | {} | {} | {total} | {} | {} | {} |",
            cell_call(&w, &mut notes),
            cell_call(&t, &mut notes),
            cell_call(&l, &mut notes),
            peak(&w),
            peak(&t),
            peak(&l),
        );
    }
    notes.print();
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}
