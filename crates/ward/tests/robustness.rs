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

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seeds = Seeds::new(seed(1));
    let n = cases(3_000);
    for _ in 0..n {
        let len = (seeds.next_u64() % 256) as usize;
        let mut bytes = seeds.bytes(len);
        // Half the inputs start with a valid header so they reach the section parsers.
        if seeds.next_u64().is_multiple_of(2) && bytes.len() >= 8 {
            bytes[..8].copy_from_slice(b"\0asm\x01\0\0\0");
        }
        oracle::check_bytes(&bytes);
    }
    eprintln!("arbitrary bytes: {n} cases");
}

#[test]
fn mutated_valid_modules_never_panic() {
    let mut seeds = Seeds::new(seed(2));
    let n = cases(2_000);
    for _ in 0..n {
        let Some(mut wasm) = oracle::generate(&seeds.bytes(512)) else {
            continue;
        };
        for _ in 0..1 + seeds.next_u64() % 4 {
            let at = (seeds.next_u64() as usize) % wasm.len();
            wasm[at] = seeds.next_u64() as u8;
        }
        oracle::check_bytes(&wasm);
    }
    eprintln!("mutated modules: {n} cases");
}

#[test]
fn generated_modules_run_without_panics() {
    let mut seeds = Seeds::new(seed(3));
    let n = cases(1_500);
    for _ in 0..n {
        if let Some(wasm) = oracle::generate(&seeds.bytes(1024)) {
            oracle::check_smith_module(&wasm);
        }
    }
    eprintln!("generated modules: {n} cases");
}

#[test]
fn generated_gc_and_exception_modules_run_without_panics() {
    let mut seeds = Seeds::new(seed(5));
    let n = cases(1_500);
    for _ in 0..n {
        if let Some(wasm) = oracle::generate_gc_and_exceptions(&seeds.bytes(1024)) {
            oracle::check_smith_module(&wasm);
        }
    }
    eprintln!("generated GC and exception modules: {n} cases");
}

#[test]
fn ward_agrees_with_wasmi_on_generated_modules() {
    let mut seeds = Seeds::new(seed(4));
    let n = cases(1_500);
    let (mut compared, mut exhausted, mut oracle_panics, mut mismatches) = (0, 0, 0, Vec::new());
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
    assert!(compared > 0, "the differential test compared nothing");
}
