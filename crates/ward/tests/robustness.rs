//! Seeded, bounded robustness tests (the cargo-fuzz targets in `fuzz/` run the same checks unbounded):
//! no input makes ward panic, and ward agrees with Wasmtime (and, where it implements the features,
//! wasmi) on generated modules of every feature set.
//!
//! `WARD_FUZZ_CASES=N` changes the number of cases per test (default below), `WARD_FUZZ_SEED=S` the
//! starting seed. A long campaign: `WARD_FUZZ_CASES=200000 cargo test --release -p ward-wasm --test
//! robustness ward_agrees -- --nocapture`.

mod support {
    pub mod oracle;
}

use support::oracle::outcome::{Outcome, Value};
use support::oracle::{self, FeatureSet, Seeds, Verdict};

fn cases(default: u64) -> u64 {
    std::env::var("WARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed(salt: u64) -> u64 {
    std::env::var("WARD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed)
        ^ salt
}

/// What one no-panic test fed to ward and how far ward took it.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    generated: u64,
    compiled: u64,
    instantiated: u64,
    calls: usize,
}

impl Tally {
    fn add(&mut self, progress: oracle::Progress) {
        self.generated += 1;
        self.compiled += u64::from(progress.compiled);
        self.instantiated += u64::from(progress.instantiated);
        self.calls += progress.calls;
    }

    /// Asserts that at least `fraction` of the cases reached each stage: a generator or harness that
    /// silently produced nothing (or nothing ward accepts) must not pass as "no panics".
    fn assert_at_least(&self, what: &str, generated: f64, compiled: f64, instantiated: f64) {
        eprintln!("{what}: {self:?}");
        let n = self.cases as f64;
        for (stage, count, fraction) in [
            ("generated", self.generated, generated),
            ("compiled", self.compiled, compiled),
            ("instantiated", self.instantiated, instantiated),
        ] {
            assert!(
                count as f64 >= (fraction * n).floor() && (fraction == 0.0 || count > 0),
                "{what}: only {count} of {n} cases were {stage} (expected at least {fraction} of them): {self:?}"
            );
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seeds = Seeds::new(seed(1));
    let mut tally = Tally {
        cases: cases(3_000),
        ..Tally::default()
    };
    for _ in 0..tally.cases {
        let len = (seeds.next_u64() % 256) as usize;
        let mut bytes = seeds.bytes(len);
        // Half the inputs start with a valid header so they reach the section parsers.
        if seeds.next_u64().is_multiple_of(2) && bytes.len() >= 8 {
            bytes[..8].copy_from_slice(b"\0asm\x01\0\0\0");
        }
        tally.add(oracle::check_bytes(&bytes));
    }
    // Random bytes are nearly always rejected; every case must still have reached ward.
    tally.assert_at_least("arbitrary bytes", 1.0, 0.0, 0.0);
}

#[test]
fn mutated_valid_modules_never_panic() {
    let mut seeds = Seeds::new(seed(2));
    let mut tally = Tally {
        cases: cases(2_000),
        ..Tally::default()
    };
    for _ in 0..tally.cases {
        let Some(mut wasm) = oracle::generate(&seeds.bytes(512)) else {
            continue;
        };
        for _ in 0..1 + seeds.next_u64() % 4 {
            let at = (seeds.next_u64() as usize) % wasm.len();
            wasm[at] = seeds.next_u64() as u8;
        }
        tally.add(oracle::check_bytes(&wasm));
    }
    // About 6% of mutated modules still validate (122 of 2,000 with the default seed).
    tally.assert_at_least("mutated modules", 0.9, 0.03, 0.03);
}

#[test]
fn generated_modules_run_without_panics() {
    let mut seeds = Seeds::new(seed(3));
    let mut tally = Tally {
        cases: cases(1_500),
        ..Tally::default()
    };
    for _ in 0..tally.cases {
        if let Some(wasm) = oracle::generate(&seeds.bytes(1024)) {
            tally.add(oracle::check_smith_module(&wasm));
        }
    }
    tally.assert_at_least("generated modules", 0.9, 0.9, 0.5);
    assert!(
        tally.calls as u64 >= tally.cases / 2,
        "few exports called: {tally:?}"
    );
}

#[test]
fn generated_gc_and_exception_modules_run_without_panics() {
    let mut seeds = Seeds::new(seed(5));
    let mut tally = Tally {
        cases: cases(1_500),
        ..Tally::default()
    };
    for _ in 0..tally.cases {
        if let Some(wasm) = oracle::generate_gc_and_exceptions(&seeds.bytes(1024)) {
            tally.add(oracle::check_smith_module(&wasm));
        }
    }
    tally.assert_at_least("generated GC and exception modules", 0.9, 0.9, 0.5);
    assert!(
        tally.calls as u64 >= tally.cases / 2,
        "few exports called: {tally:?}"
    );
}

/// Runs `default_cases` differential cases of `set` (see `WARD_FUZZ_*` above; `WARD_FUZZ_ONLY_CASE=N`
/// replays one case of a long run, `WARD_FUZZ_DUMP=DIR` keeps each disagreeing module).
fn differential_campaign(set: FeatureSet, salt: u64, default_cases: u64) {
    let mut seeds = Seeds::new(seed(salt));
    let n = cases(default_cases);
    let mut stats = oracle::DiffStats::default();
    let mut mismatches = Vec::new();
    let mut skipped_generation = 0u64;
    let only_case: Option<u64> = std::env::var("WARD_FUZZ_ONLY_CASE")
        .ok()
        .and_then(|v| v.parse().ok());
    let started = std::time::Instant::now();
    let report = |cases: u64, stats: &oracle::DiffStats, mismatches: usize| {
        eprintln!(
            "differential {}: {cases} cases, {} modules compared, {} calls compared ({} with wasmi \
             too), {mismatches} mismatches, {} cut short by fuel/stack/GC heap, {} wasmi bugs, {} \
             oracle failures, {:.1?}",
            set.name(),
            stats.modules_compared,
            stats.calls_compared,
            stats.wasmi_calls_compared,
            stats.exhausted,
            stats.wasmi_bugs,
            stats.oracle_failures,
            started.elapsed(),
        )
    };
    for case in 0..n {
        // Long campaigns report as they go.
        if case > 0 && case % 10_000 == 0 {
            report(case, &stats, mismatches.len());
        }
        let data = seeds.bytes(1024);
        let args = seeds.bytes(64);
        if only_case.is_some_and(|only| only != case) {
            continue;
        }
        let Some(wasm) = oracle::generate_for(set, &data) else {
            skipped_generation += 1;
            continue;
        };
        match oracle::differential(&wasm, &args, set) {
            Ok(case_stats) => stats += case_stats,
            Err(e) => {
                if let Ok(dir) = std::env::var("WARD_FUZZ_DUMP") {
                    let _ = std::fs::write(format!("{dir}/{}-case-{case}.wasm", set.name()), &wasm);
                    let _ = std::fs::write(format!("{dir}/{}-case-{case}.args", set.name()), &args);
                }
                mismatches.push(format!("case {case}: {e}"))
            }
        }
    }
    let generated = n - skipped_generation;
    report(n, &stats, mismatches.len());
    eprintln!(
        "differential {}: {generated} of {n} modules generated",
        set.name()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches between ward and Wasmtime ({}):\n{}",
        mismatches.len(),
        set.name(),
        mismatches.join("\n")
    );
    if only_case.is_none() {
        assert!(
            generated as f64 >= 0.9 * n as f64 && stats.calls_compared >= n / 4,
            "the {} differential test generated {generated} of {n} modules and compared {} calls",
            set.name(),
            stats.calls_compared
        );
    }
}

#[test]
fn ward_agrees_with_wasmtime_and_wasmi_on_mvp_modules() {
    differential_campaign(FeatureSet::Mvp, 10, 500);
}

#[test]
fn ward_agrees_with_wasmtime_and_wasmi_on_wasm2_modules() {
    differential_campaign(FeatureSet::Wasm2, 4, 1_500);
}

#[test]
fn ward_agrees_with_wasmtime_on_simd_modules() {
    differential_campaign(FeatureSet::Simd, 11, 500);
}

#[test]
fn ward_agrees_with_wasmtime_on_memory64_modules() {
    differential_campaign(FeatureSet::Memory64, 12, 500);
}

#[test]
fn ward_agrees_with_wasmtime_on_multi_memory_modules() {
    differential_campaign(FeatureSet::MultiMemory, 13, 500);
}

#[test]
fn ward_agrees_with_wasmtime_on_gc_modules() {
    differential_campaign(FeatureSet::Gc, 14, 500);
}

#[test]
fn ward_agrees_with_wasmtime_on_exception_modules() {
    differential_campaign(FeatureSet::Exceptions, 15, 500);
}

/// wasmi 2.0.0 takes `select`'s first operand when the condition is `i32.eqz` of a non-zero value;
/// the spec (and ward and Wasmtime) take the second.
#[test]
fn wasmi_select_on_eqz_is_classified_as_an_oracle_bug() {
    let wasm = wat::parse_str(
        r#"(module
             (func (export "pick") (param $x i32) (result i32)
               (select (i32.const 1) (i32.const 2) (i32.eqz (local.get $x)))))"#,
    )
    .expect("valid text");
    let report = oracle::compare_call(&wasm, FeatureSet::Wasm2, "pick", &[Value::I32(5)]);
    let spec = Outcome::Returned(vec![Value::I32(2)]);
    assert_eq!(report.ward, spec, "{report:?}");
    assert_eq!(report.wasmtime, spec, "{report:?}");
    assert_eq!(
        report.wasmi,
        Some(Outcome::Returned(vec![Value::I32(1)])),
        "{report:?}"
    );
    assert_eq!(report.verdict, Verdict::WasmiBug);
}

#[test]
fn disagreeing_with_wasmtime_fails_even_when_wasmi_agrees_with_ward() {
    let (one, two) = (
        Outcome::Returned(vec![Value::I32(1)]),
        Outcome::Returned(vec![Value::I32(2)]),
    );
    assert_eq!(oracle::classify(&one, &two, Some(&one)), Verdict::Mismatch);
    assert_eq!(
        oracle::classify(&one, &Outcome::Exhausted, Some(&one)),
        Verdict::NotComparable
    );
    assert_eq!(
        oracle::classify(&one, &one, Some(&Outcome::Exhausted)),
        Verdict::Agree
    );
}
