//! Translation bombs: small modules whose shape made translation take memory or time far beyond their
//! size (every branch copying every value of a wide label, a `br_table` stub per entry, the whole
//! operand stack rescanned at every block, `local.set` and `try_table`). Each compiles in a child
//! process of this test binary, which reports its peak RSS; the parent asserts a memory bound and,
//! as a hang guard only, that the child finished within a generous time.
//!
//! The figures of a run are printed (`--nocapture`); performance proper is measured in `benches/`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ward::{Engine, Module};

mod support {
    pub mod child;
}

use support::child::peak_rss_kib;

/// The child process's variable naming the bomb it compiles.
const BOMB: &str = "WARD_TEST_TRANSLATION_BOMB";

/// Peak RSS any bomb may reach while it is translated (at most 32 MiB measured; the old translator
/// took 790 MiB on the first).
const PEAK_RSS_KIB: u64 = 64 * 1024;

/// Far beyond what any of them takes now (well under a second each); the old translator needed
/// minutes for the quadratic ones at these sizes.
const HANG_GUARD: Duration = Duration::from_secs(90);

fn values(count: usize) -> String {
    (0..count).map(|i| format!("(i32.const {i})")).collect()
}

fn results(count: usize) -> String {
    vec!["i32"; count].join(" ")
}

/// The text of bomb `name`.
fn bomb(name: &str) -> String {
    match name {
        // 20,000 `br_if`s to a block of 1,000 results: 20 million value copies before.
        "arity-times-branches" => {
            let res = results(1000);
            format!(
                r#"(module (type $t (func (result {res})))
                     (func (export "f") (param i32) (result {res})
                       (block (type $t) {} {})))"#,
                values(1000),
                "(br_if 0 (local.get 0))".repeat(20_000)
            )
        }
        // A `br_table` of 20,000 entries to a block of 1,000 results: a 1,000-copy stub per entry.
        "br-table-fan-out" => {
            let res = results(1000);
            format!(
                r#"(module (type $t (func (result {res})))
                     (func (export "f") (param i32) (result {res})
                       (block (type $t) {} (br_table {} 0 (local.get 0)))))"#,
                values(1000),
                "0 ".repeat(20_000)
            )
        }
        // 200,000 blocks over 50,000 operands: each block rescanned the whole stack.
        "deep-stack-blocks" => format!(
            r#"(module (func (export "f") {} {} {}))"#,
            "(i32.const 1)".repeat(50_000),
            "(block)".repeat(200_000),
            "(drop)".repeat(50_000)
        ),
        // 200,000 `local.set`s over 50,000 operands: each scanned the whole stack.
        "local-set-chain" => format!(
            r#"(module (func (export "f") (param i32) (local i32) {} {} {}))"#,
            "(i32.const 1)".repeat(50_000),
            "(local.set 1 (local.get 0))".repeat(200_000),
            "(drop)".repeat(50_000)
        ),
        // 200,000 `try_table`s over 50,000 operands: each copied the whole stack.
        "many-try-tables" => format!(
            r#"(module (func (export "f") {} {} {}))"#,
            "(i32.const 1)".repeat(50_000),
            "(try_table)".repeat(200_000),
            "(drop)".repeat(50_000)
        ),
        // 64 locals read 1,000 times each, interleaved, and then all overwritten: `local.set` may only
        // look at the operands that stand for locals, and few of those at once.
        "many-local-operands" => {
            let locals = "(local i32)".repeat(64);
            let gets: String = (0..64_000)
                .map(|i| format!("(local.get {})", i % 64))
                .collect();
            let sets: String = (0..64)
                .map(|i| format!("(local.set {i} (i32.const 7))"))
                .collect();
            format!(
                r#"(module (func (export "f") {locals} {gets} {sets} {}))"#,
                "(drop)".repeat(64_000)
            )
        }
        other => panic!("no bomb named {other}"),
    }
}

const BOMBS: [&str; 6] = [
    "arity-times-branches",
    "br-table-fan-out",
    "deep-stack-blocks",
    "local-set-chain",
    "many-try-tables",
    "many-local-operands",
];

#[test]
fn translation_bombs_compile_in_bounded_memory_and_time() {
    if let Ok(name) = std::env::var(BOMB) {
        // The child: build the text first so that its size is not counted against translation.
        let text = bomb(&name);
        let wasm = wat::parse_str(&text).expect("the bomb is well-formed text");
        drop(text);
        // Resets the peak RSS to the current RSS, so that the peak below is translation's own and not
        // the text parser's.
        std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset");
        let before = peak_rss_kib();
        let started = Instant::now();
        Module::new(&Engine::default(), &wasm).expect("the bomb is a valid module");
        println!(
            "bomb-result {} bytes, {:.3} s, peak RSS {} KiB (at the start {} KiB)",
            wasm.len(),
            started.elapsed().as_secs_f64(),
            peak_rss_kib(),
            before
        );
        return;
    }
    for name in BOMBS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "translation_bombs_compile_in_bounded_memory_and_time",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(BOMB, name)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test binary runs itself");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > HANG_GUARD {
                let _ = child.kill();
                panic!("{name}: translation still running after {HANG_GUARD:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        assert!(status.success(), "{name}: the child failed: {stdout}");
        let report = stdout
            .lines()
            .find_map(|l| l.split_once("bomb-result ").map(|(_, r)| r.to_string()))
            .unwrap_or_else(|| panic!("{name}: no report in {stdout}"));
        eprintln!("{name}: {report}");
        let peak: u64 = report
            .split_once("peak RSS ")
            .and_then(|(_, r)| r.split_whitespace().next()?.parse().ok())
            .expect("the report names the peak RSS");
        assert!(
            peak < PEAK_RSS_KIB,
            "{name}: peak RSS {peak} KiB exceeds {PEAK_RSS_KIB} KiB"
        );
    }
}

fn run_i32s(wat: &str, arg: i32, results: usize) -> Vec<i32> {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("compiles");
    let mut store = ward::Store::new(&engine, ());
    let instance = ward::Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let func = instance.get_func(&store, "f").expect("exports f");
    let mut out = vec![ward::Val::I32(0); results];
    func.call(&mut store, &[ward::Val::I32(arg)], &mut out)
        .expect("runs");
    out.iter().map(|v| v.i32().expect("i32 result")).collect()
}

#[test]
fn wide_branches_carry_constants_locals_and_temporaries() {
    // Ten values of every kind (constant, local, computed), carried by `br_if`, `br_table` (two
    // distinct targets, several entries each) and the fall-through.
    let res = results(10);
    let values = "(i32.const 1) (local.get 0) (i32.add (local.get 0) (i32.const 1)) (i32.const 4) \
                  (local.get 0) (i32.const 6) (i32.mul (local.get 0) (i32.const 2)) (i32.const 8) \
                  (i32.const 9) (local.get 0)";
    let wat = format!(
        r#"(module (type $t (func (result {res})))
             (func (export "f") (param i32) (result {res})
               (block $outer (type $t)
                 (block $inner (type $t)
                   {values}
                   (br_if $outer (i32.eq (local.get 0) (i32.const 100)))
                   (br_table $inner $outer $inner $outer $outer (i32.sub (local.get 0) (i32.const 200))))
                 ;; Reached through $inner: mark the first value.
                 (local.set 0 (i32.const 0)) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop)
                 (drop) (drop) {values})))"#
    );
    let expect = |x: i32| vec![1, x, x + 1, 4, x, 6, x * 2, 8, 9, x];
    assert_eq!(run_i32s(&wat, 100, 10), expect(100), "br_if taken");
    assert_eq!(run_i32s(&wat, 201, 10), expect(201), "br_table to $outer");
    assert_eq!(
        run_i32s(&wat, 203, 10),
        expect(203),
        "br_table to $outer again"
    );
    assert_eq!(run_i32s(&wat, 200, 10), expect(0), "br_table to $inner");
    assert_eq!(
        run_i32s(&wat, 202, 10),
        expect(0),
        "br_table to $inner again"
    );
    assert_eq!(
        run_i32s(&wat, 999, 10),
        expect(999),
        "br_table default ($outer)"
    );
}

#[test]
fn values_of_locals_survive_more_operands_than_are_tracked() {
    // Forty locals read onto the stack (more than the translator tracks as locals at once), then all
    // overwritten: the stack must still hold the values they had when they were read.
    let count = 40;
    let locals = "(local i32)".repeat(count);
    let init: String = (0..count)
        .map(|i| {
            format!(
                "(local.set {} (i32.add (local.get 0) (i32.const {})))",
                i + 1,
                i
            )
        })
        .collect();
    let gets: String = (0..count)
        .map(|i| format!("(local.get {})", i + 1))
        .collect();
    let clobber: String = (0..count)
        .map(|i| format!("(local.set {} (i32.const -1))", i + 1))
        .collect();
    let sum = "(i32.add)".repeat(count - 1);
    let wat = format!(
        r#"(module (func (export "f") (param i32) (result i32) {locals} {init} {gets} {clobber} {sum}))"#
    );
    let x = 1000;
    let expected: i32 = (0..count as i32).map(|i| x + i).sum();
    assert_eq!(run_i32s(&wat, x, 1), vec![expected]);
}

#[test]
fn compile_budgets_stop_translation_with_a_clean_error() {
    let text = format!(
        r#"(module (func (export "f") {}))"#,
        "(drop (i32.add (i32.const 1) (i32.const 2)))".repeat(10_000)
    );
    let mut config = ward::Config::new();
    config.max_translated_size(100_000);
    let err = Module::new(
        &Engine::new(&config).expect("valid engine configuration"),
        &text,
    )
    .unwrap_err();
    assert!(matches!(err, ward::Error::CompileLimit(_)), "{err:?}");
    assert!(err.to_string().contains("100000 bytes"), "{err}");
    config.max_translated_size(100_000_000);
    Module::new(
        &Engine::new(&config).expect("valid engine configuration"),
        &text,
    )
    .expect("fits a larger budget");

    let mut config = ward::Config::new();
    config.max_compile_time(Duration::ZERO);
    let err = Module::new(
        &Engine::new(&config).expect("valid engine configuration"),
        &text,
    )
    .unwrap_err();
    assert!(matches!(err, ward::Error::CompileLimit(_)), "{err:?}");
    config.max_compile_time(Duration::from_secs(600));
    Module::new(
        &Engine::new(&config).expect("valid engine configuration"),
        &text,
    )
    .expect("fits a longer budget");
}
