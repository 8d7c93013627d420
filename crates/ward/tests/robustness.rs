//! Seeded, bounded robustness tests (the cargo-fuzz targets in `fuzz/` run the same checks unbounded):
//! no input makes ward panic, and ward agrees with the `wasmi` crate on generated modules.
//!
//! `WARD_FUZZ_CASES=N` changes the number of cases per test (default below), `WARD_FUZZ_SEED=S` the
//! starting seed.

mod support {
    pub mod oracle;
}

use support::oracle::{self, Seeds};

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

#[test]
fn ward_agrees_with_wasmi_on_generated_modules() {
    let mut seeds = Seeds::new(seed(4));
    let n = cases(1_500);
    let (mut compared, mut exhausted, mut oracle_panics, mut mismatches) = (0, 0, 0, Vec::new());
    let mut skipped_generation = 0u64;
    let only_case: Option<u64> = std::env::var("WARD_FUZZ_ONLY_CASE")
        .ok()
        .and_then(|v| v.parse().ok());
    for case in 0..n {
        let data = seeds.bytes(1024);
        let args = seeds.bytes(64);
        // `WARD_FUZZ_ONLY_CASE=N` replays one case of a long run.
        if only_case.is_some_and(|only| only != case) {
            continue;
        }
        let Some(wasm) = oracle::generate(&data) else {
            skipped_generation += 1;
            continue;
        };
        match oracle::differential(&wasm, &args) {
            Ok(stats) => {
                compared += stats.calls_compared;
                exhausted += stats.exhausted;
                oracle_panics += stats.oracle_panics;
            }
            Err(e) => {
                // `WARD_FUZZ_DUMP=DIR` keeps each disagreeing module for investigation.
                if let Ok(dir) = std::env::var("WARD_FUZZ_DUMP") {
                    let _ = std::fs::write(format!("{dir}/case-{case}.wasm"), &wasm);
                    let _ = std::fs::write(format!("{dir}/case-{case}.args"), &args);
                }
                mismatches.push(format!("case {case}: {e}"))
            }
        }
    }
    eprintln!(
        "differential: {n} cases, {compared} calls compared, {exhausted} cut short by fuel/stack, \
         {oracle_panics} abandoned because wasmi panicked"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let generated = n - skipped_generation;
    assert!(
        generated as f64 >= 0.9 * n as f64 && compared >= n / 4,
        "the differential test generated {generated} of {n} modules and compared {compared} calls"
    );
}
