//! GC: collector speed with large live sets, and the memory packed fields and elements take, in
//! ward against Wasmtime (Cranelift, deferred reference counting collector).
//!
//! ```text
//! cargo run --release --bin gc [-- [--scale FACTOR] [--reps N] [--timeout SECS] [CASE...]]
//! ```
//!
//! Each case is a module of the GC proposal exporting `run: [] -> i64`, whose result is a checksum
//! both engines must agree on. Every measurement runs in a child process of this program (one case,
//! one engine): the child compiles and instantiates the module, resets its peak RSS, and times the
//! call of `run`, so the peak RSS is the child's own and mostly the GC heap. Engines are interleaved
//! (ward, Wasmtime, ward, …), each case runs `--reps` times (default 3), and the tables show medians.
//! `--scale` multiplies every count (objects, arrays, elements), for quick runs.

use std::time::{Duration, Instant};

use ward_benches::child::{
    self, Notes, Outcome, Runs, describe_failure, fmt_kib, fmt_ratio, fmt_secs, median, report,
    reset_peak_rss, rss_kib, run_interleaved,
};

const CASES: [&str; 6] = [
    "churn-only",
    "live-tree",
    "live-arrays",
    "packed-i8",
    "packed-i16",
    "struct-packed",
];

const ENGINES: [&str; 2] = ["ward", "wasmtime"];

/// ward's GC heap limit for these runs (the default, 256 MiB, is below what the packed cases keep
/// live in ward's layout).
const WARD_MAX_GC_HEAP: usize = 16 << 30;

/// The counts of the cases at scale 1.
struct Sizes {
    /// Short-lived structs allocated after the live set is built.
    garbage: u32,
    /// Nodes of the live list in `live-tree`.
    nodes: u32,
    /// Live arrays and their length in `live-arrays`.
    arrays: u32,
    array_len: u32,
    /// Live packed arrays and their length in `packed-i8`/`packed-i16`.
    packed_arrays: u32,
    packed_len: u32,
    /// Live structs of eight `i8` fields in `struct-packed`.
    structs: u32,
}

impl Sizes {
    fn scaled(factor: f64) -> Sizes {
        let s = |n: u32| ((n as f64 * factor).round() as u32).max(1);
        Sizes {
            garbage: s(10_000_000),
            nodes: s(1_000_000),
            arrays: s(1_000),
            array_len: 10_000,
            packed_arrays: s(256),
            packed_len: 1 << 20,
            structs: s(1_000_000),
        }
    }
}

/// Allocates `count` short-lived two-field structs (`$small`), adding a field of each to `$acc`.
/// Needs locals `$i: i32` and `$acc: i64`.
fn churn(count: u32) -> String {
    format!(
        r#"
        (local.set $i (i32.const 0))
        (loop $churn
          (local.set $acc (i64.add (local.get $acc)
            (struct.get $small 1
              (struct.new $small (i64.const 3) (i64.extend_i32_u (local.get $i))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $churn (i32.lt_u (local.get $i) (i32.const {count}))))"#
    )
}

const SMALL: &str = "(type $small (struct (field i64) (field i64)))";

/// The text of case `name`, and what it does, for the table.
fn case(name: &str, n: &Sizes) -> (String, String) {
    match name {
        "churn-only" => (
            format!(
                r#"(module {SMALL}
                     (func (export "run") (result i64) (local $i i32) (local $acc i64)
                       {}
                       (local.get $acc)))"#,
                churn(n.garbage)
            ),
            format!("{} short-lived structs, nothing else live", n.garbage),
        ),
        "live-tree" => (
            format!(
                r#"(module {SMALL}
                     (type $node (struct (field (ref null $node)) (field i64)))
                     (global $root (mut (ref null $node)) (ref.null $node))
                     (func (export "run") (result i64)
                       (local $i i32) (local $acc i64) (local $n (ref null $node))
                       ;; The live set: a list of {nodes} nodes from a global.
                       (loop $build
                         (global.set $root
                           (struct.new $node (global.get $root) (i64.extend_i32_u (local.get $i))))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $build (i32.lt_u (local.get $i) (i32.const {nodes}))))
                       {churn}
                       ;; Walk the list: every node must have survived.
                       (local.set $n (global.get $root))
                       (block $done
                         (loop $walk
                           (br_if $done (ref.is_null (local.get $n)))
                           (local.set $acc
                             (i64.add (local.get $acc) (struct.get $node 1 (local.get $n))))
                           (local.set $n (struct.get $node 0 (local.get $n)))
                           (br $walk)))
                       (local.get $acc)))"#,
                nodes = n.nodes,
                churn = churn(n.garbage)
            ),
            format!(
                "list of {} `(struct (ref null $node) i64)` live in a global, then {} short-lived structs",
                n.nodes, n.garbage
            ),
        ),
        "live-arrays" => (
            format!(
                r#"(module {SMALL}
                     (type $nums (array (mut i64)))
                     (type $outer (array (mut (ref null $nums))))
                     (global $keep (mut (ref null $outer)) (ref.null $outer))
                     (func (export "run") (result i64)
                       (local $i i32) (local $acc i64) (local $a (ref null $nums))
                       (global.set $keep (array.new_default $outer (i32.const {arrays})))
                       (loop $build
                         (array.set $outer (global.get $keep) (local.get $i)
                           (array.new $nums
                             (i64.mul (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1)))
                                      (i64.const 0x9E3779B97F4A7C15))
                             (i32.const {len})))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $build (i32.lt_u (local.get $i) (i32.const {arrays}))))
                       {churn}
                       (local.set $i (i32.const 0))
                       (loop $check
                         (local.set $a (array.get $outer (global.get $keep) (local.get $i)))
                         (local.set $acc (i64.add (local.get $acc)
                           (i64.add
                             (array.get $nums (local.get $a)
                               (i32.rem_u (i32.mul (local.get $i) (i32.const 31)) (i32.const {len})))
                             (i64.extend_i32_u (array.len (local.get $a))))))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $check (i32.lt_u (local.get $i) (i32.const {arrays}))))
                       (local.get $acc)))"#,
                arrays = n.arrays,
                len = n.array_len,
                churn = churn(n.garbage)
            ),
            format!(
                "{} `(array (mut i64))` of {} elements live, then {} short-lived structs",
                n.arrays, n.array_len, n.garbage
            ),
        ),
        "packed-i8" | "packed-i16" => {
            let (elem, bytes) = if name == "packed-i8" {
                ("i8", 1)
            } else {
                ("i16", 2)
            };
            (
                format!(
                    r#"(module
                         (type $packed (array (mut {elem})))
                         (type $outer (array (mut (ref null $packed))))
                         (global $keep (mut (ref null $outer)) (ref.null $outer))
                         (func (export "run") (result i64)
                           (local $i i32) (local $acc i64) (local $a (ref null $packed))
                           (global.set $keep (array.new_default $outer (i32.const {arrays})))
                           (loop $build
                             (local.set $a (array.new_default $packed (i32.const {len})))
                             ;; Write every element, so that every engine has touched its memory.
                             (array.fill $packed (local.get $a) (i32.const 0)
                               (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 1))
                               (i32.const {len}))
                             (array.set $outer (global.get $keep) (local.get $i) (local.get $a))
                             (local.set $i (i32.add (local.get $i) (i32.const 1)))
                             (br_if $build (i32.lt_u (local.get $i) (i32.const {arrays}))))
                           (local.set $i (i32.const 0))
                           (loop $check
                             (local.set $a (array.get $outer (global.get $keep) (local.get $i)))
                             (local.set $acc (i64.add (local.get $acc)
                               (i64.extend_i32_u
                                 (i32.add
                                   (array.get_u $packed (local.get $a)
                                     (i32.rem_u (i32.mul (local.get $i) (i32.const 4093))
                                                (i32.const {len})))
                                   (array.len (local.get $a))))))
                             (local.set $i (i32.add (local.get $i) (i32.const 1)))
                             (br_if $check (i32.lt_u (local.get $i) (i32.const {arrays}))))
                           (local.get $acc)))"#,
                    arrays = n.packed_arrays,
                    len = n.packed_len,
                ),
                format!(
                    "{} `(array (mut {elem}))` of {} elements live ({} MiB of element data), \
                     each filled",
                    n.packed_arrays,
                    n.packed_len,
                    (n.packed_arrays as u64 * n.packed_len as u64 * bytes) >> 20
                ),
            )
        }
        "struct-packed" => (
            format!(
                r#"(module
                     (type $s8 (struct {fields}))
                     (type $outer (array (mut (ref null $s8))))
                     (global $keep (mut (ref null $outer)) (ref.null $outer))
                     (func (export "run") (result i64)
                       (local $i i32) (local $acc i64) (local $s (ref null $s8))
                       (global.set $keep (array.new_default $outer (i32.const {count})))
                       (loop $build
                         (array.set $outer (global.get $keep) (local.get $i)
                           (struct.new $s8 {values}))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $build (i32.lt_u (local.get $i) (i32.const {count}))))
                       (local.set $i (i32.const 0))
                       (loop $check
                         (local.set $s (array.get $outer (global.get $keep) (local.get $i)))
                         (local.set $acc (i64.add (local.get $acc)
                           (i64.extend_i32_u {sum})))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $check (i32.lt_u (local.get $i) (i32.const {count}))))
                       (local.get $acc)))"#,
                fields = "(field (mut i8)) ".repeat(8),
                values = (0..8)
                    .map(|f| format!("(i32.add (local.get $i) (i32.const {f}))"))
                    .collect::<String>(),
                // The sum of the eight fields.
                sum = (1..8).fold(
                    "(struct.get_u $s8 0 (local.get $s))".to_string(),
                    |sum, f| { format!("(i32.add {sum} (struct.get_u $s8 {f} (local.get $s)))") }
                ),
                count = n.structs,
            ),
            format!(
                "{} structs of eight `(mut i8)` fields live ({:.1} MB of field data)",
                n.structs,
                n.structs as f64 * 8.0 / 1e6
            ),
        ),
        other => panic!("no case named {other}"),
    }
}

/// In the child: runs the module in file `module` on `engine` and prints the report.
fn child_main(engine: &str, module: &str) {
    let wasm = std::fs::read(module).expect("the parent wrote the module");
    let mut fields: Vec<(&str, String)> = Vec::new();
    let outcome: Result<i64, String> = match engine {
        "ward" => {
            let mut config = ward::Config::new();
            config.max_gc_heap(WARD_MAX_GC_HEAP);
            let engine = ward::Engine::new(&config).expect("valid engine configuration");
            let module = ward::Module::new(&engine, &wasm).expect("ward compiles the case");
            let mut store = ward::Store::new(&engine, ());
            let instance =
                ward::Instance::new(&mut store, &module, &[]).expect("ward instantiates the case");
            let run = instance
                .get_typed_func::<(), i64>(&store, "run")
                .expect("the case exports run");
            reset_peak_rss();
            fields.push(("base_kib", rss_kib().to_string()));
            let started = Instant::now();
            let result = run.call(&mut store, ());
            fields.push(("run_s", started.elapsed().as_secs_f64().to_string()));
            fields.push(("peak_kib", child::peak_rss_kib().to_string()));
            fields.push(("collections", store.gc_collections().to_string()));
            result.map_err(|e| e.to_string())
        }
        "wasmtime" => {
            let mut config = wasmtime::Config::new();
            config
                .wasm_gc(true)
                .wasm_function_references(true)
                .collector(wasmtime::Collector::DeferredReferenceCounting);
            let engine = wasmtime::Engine::new(&config).expect("wasmtime engine");
            let module = wasmtime::Module::new(&engine, &wasm).expect("wasmtime compiles the case");
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Instance::new(&mut store, &module, &[])
                .expect("wasmtime instantiates the case");
            let run = instance
                .get_typed_func::<(), i64>(&mut store, "run")
                .expect("the case exports run");
            reset_peak_rss();
            fields.push(("base_kib", rss_kib().to_string()));
            let started = Instant::now();
            let result = run.call(&mut store, ());
            fields.push(("run_s", started.elapsed().as_secs_f64().to_string()));
            fields.push(("peak_kib", child::peak_rss_kib().to_string()));
            result.map_err(|e| format!("{e:#}"))
        }
        other => panic!("unknown engine {other}"),
    };
    match outcome {
        Ok(checksum) => fields.push(("checksum", checksum.to_string())),
        Err(e) => fields.push(("error", e)),
    }
    report(&fields);
}

struct Args {
    scale: f64,
    /// In a child: the file holding the module's bytes.
    module: Option<String>,
    reps: usize,
    timeout: Duration,
    cases: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        scale: 1.0,
        module: None,
        reps: 3,
        timeout: Duration::from_secs(120),
        cases: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scale" => {
                args.scale = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--scale FACTOR")
            }
            "--module" => args.module = Some(it.next().expect("--module PATH")),
            "--reps" => args.reps = it.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--timeout" => {
                args.timeout = Duration::from_secs(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--timeout SECS"),
                )
            }
            name if CASES.contains(&name) => args.cases.push(name.to_string()),
            other => panic!(
                "unknown argument {other}; usage: gc [--scale FACTOR] [--reps N] [--timeout SECS] \
                 [CASE...], cases: {}",
                CASES.join(", ")
            ),
        }
    }
    if args.cases.is_empty() {
        args.cases = CASES.iter().map(|c| c.to_string()).collect();
    }
    args
}

/// Medians over the runs of one case on one engine.
struct Summary {
    time: Option<f64>,
    peak: Option<f64>,
    growth: Option<f64>,
    collections: Option<f64>,
    checksums: Vec<String>,
    failure: Option<(&'static str, String)>,
}

fn summarize(runs: &[Outcome]) -> Summary {
    let ok: Vec<&Outcome> = runs
        .iter()
        .filter(|o| o.get("checksum").is_some())
        .collect();
    let nums = |key: &str| -> Vec<f64> { ok.iter().filter_map(|o| o.num(key)).collect() };
    let growth: Vec<f64> = ok
        .iter()
        .filter_map(|o| Some(o.num("peak_kib")? - o.num("base_kib")?))
        .collect();
    Summary {
        time: median(&nums("run_s")),
        peak: median(&nums("peak_kib")),
        growth: median(&growth),
        collections: median(&nums("collections")),
        checksums: ok
            .iter()
            .filter_map(|o| o.get("checksum").map(String::from))
            .collect(),
        failure: describe_failure(runs).or_else(|| {
            runs.iter().find_map(|o| {
                let e = o.get("error")?;
                let peak = o
                    .num("peak_kib")
                    .map_or(String::new(), |p| format!(" (peak RSS {})", fmt_kib(p)));
                Some(("trapped", format!("{e}{peak}")))
            })
        }),
    }
}

fn main() {
    let args = parse_args();
    let sizes = Sizes::scaled(args.scale);
    if let Some((_, engine)) = child::child_case() {
        let module = args.module.as_deref().expect("the parent names the module");
        child_main(&engine, module);
        return;
    }
    let mut runs: Runs = Runs::new();
    let started = Instant::now();
    for name in &args.cases {
        // The bytes are made once, here; the children read them.
        let wasm = wat::parse_str(case(name, &sizes).0).expect("the case is well-formed text");
        let path = child::module_file(name, &wasm);
        let child_args = vec!["--module".to_string(), path.display().to_string()];
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
        "GC cases at scale {}, median of {} runs per cell. Time is the call of `run` (module compiled \
         and instantiated before). Peak RSS is the child's VmHWM during the call (reset just before \
         it); in parentheses its growth over the RSS before the call. Ratios: ward / Wasmtime, below \
         1 means ward is faster or smaller; the RSS ratio is of the growths (left out when one is \
         under 1 MiB).\n",
        args.scale, args.reps
    );
    println!(
        "| case | ward time | Wasmtime time | time ward/Wasmtime | ward peak RSS | Wasmtime peak RSS \
         | RSS ward/Wasmtime | ward collections | checksum |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut mismatches = Vec::new();
    let mut notes = Notes::default();
    for name in &args.cases {
        let w = summarize(&runs[&(name.clone(), "ward")]);
        let t = summarize(&runs[&(name.clone(), "wasmtime")]);
        let mut time = |s: &Summary| match (&s.failure, s.time) {
            (Some((label, why)), None) => notes.cell(label, why),
            (_, Some(t)) => fmt_secs(t),
            (None, None) => "-".to_string(),
        };
        let rss = |s: &Summary| match (s.peak, s.growth) {
            (Some(p), Some(g)) => format!("{} (+{})", fmt_kib(p), fmt_kib(g)),
            _ => "-".to_string(),
        };
        let mut all: Vec<&String> = w.checksums.iter().chain(&t.checksums).collect();
        all.sort();
        all.dedup();
        let checksum = match all.as_slice() {
            [] => "-".to_string(),
            [one] if !w.checksums.is_empty() && !t.checksums.is_empty() => {
                format!("{one} (both agree)")
            }
            [one] => format!("{one} (one engine only)"),
            _ => {
                mismatches.push(name.clone());
                format!(
                    "**MISMATCH** ward {:?} Wasmtime {:?}",
                    w.checksums, t.checksums
                )
            }
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {checksum} |",
            time(&w),
            time(&t),
            fmt_ratio(w.time, t.time),
            rss(&w),
            rss(&t),
            // A ratio of growths under 1 MiB would mostly compare page-granular noise.
            if w.growth.unwrap_or(0.0) < 1024.0 || t.growth.unwrap_or(0.0) < 1024.0 {
                "-".to_string()
            } else {
                fmt_ratio(w.growth, t.growth)
            },
            w.collections.map_or("-".to_string(), |c| format!("{c:.0}")),
        );
    }
    notes.print();
    println!("\nCases:\n");
    for name in &args.cases {
        println!("- `{name}`: {}", case(name, &sizes).1);
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    if !mismatches.is_empty() {
        eprintln!("CHECKSUM MISMATCH between the engines in: {mismatches:?}");
        std::process::exit(1);
    }
}
