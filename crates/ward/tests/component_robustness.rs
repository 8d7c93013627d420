//! No component binary makes ward panic: every component of the vendored component-model scripts
//! (`tests/component-model-tests`), truncated at many lengths and with bytes overwritten at
//! pseudo-random places, goes through `Component::new` and, when it compiles, instantiation with
//! fuel metering on (a mutated start function may loop). Seeded and bounded; `WARD_FUZZ_CASES=N`
//! sets the mutations per component (default 24).

use std::path::{Path, PathBuf};

use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, Wat};

use ward::component::{Component, Linker};
use ward::{Config, Engine, Store};

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "wast") {
            out.push(path);
        }
    }
}

/// The binaries of every component the vendored scripts define (those the pinned `wast` crate
/// can parse and encode).
fn seed_components() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/component-model-tests");
    let mut paths = Vec::new();
    scripts(&dir, &mut paths);
    let mut seeds = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("vendored script is UTF-8");
        let Ok(buffer) = ParseBuffer::new(&text) else {
            continue;
        };
        let Ok(script) = parser::parse::<Wast>(&buffer) else {
            continue;
        };
        for directive in script.directives {
            let mut wat = match directive {
                WastDirective::Module(wat) | WastDirective::ModuleDefinition(wat) => wat,
                _ => continue,
            };
            if !matches!(
                wat,
                QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
            ) {
                continue;
            }
            if let Ok(bytes) = wat.encode() {
                seeds.push(bytes);
            }
        }
    }
    seeds
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Compiles `bytes` and, if that works, instantiates it with no imports and a little fuel.
/// Returns whether it compiled. Errors are fine; panics are not (the test harness reports them).
fn exercise(engine: &Engine, bytes: &[u8]) -> bool {
    let Ok(component) = Component::from_binary(engine, bytes) else {
        return false;
    };
    let mut store = Store::new(engine, ());
    store.set_fuel(100_000).expect("fuel is on");
    // Any outcome but a panic will do: a link error (the seed has imports), a trap, a resource
    // ward does not instantiate yet, or success.
    let _ = Linker::new(engine).instantiate(&mut store, &component);
    true
}

#[test]
fn mutated_and_truncated_components_never_panic() {
    let mutations: usize = std::env::var("WARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let seeds = seed_components();
    // 284 when this was written.
    assert!(
        seeds.len() > 250,
        "expected hundreds of seed components, found {}",
        seeds.len()
    );
    let mut rng = Rng(0x5eed_c0de);
    let (mut cases, mut compiled) = (0usize, 0usize);
    for seed in &seeds {
        // The seed itself, then truncations at evenly spread lengths.
        compiled += usize::from(exercise(&engine, seed));
        for cut in 1..8 {
            exercise(&engine, &seed[..seed.len() * cut / 8]);
            cases += 1;
        }
        // Overwritten bytes (one to four at a time), past the 8-byte header.
        for _ in 0..mutations {
            let mut mutated = seed.clone();
            if mutated.len() <= 8 {
                break;
            }
            for _ in 0..=rng.below(4) {
                let at = 8 + rng.below(mutated.len() - 8);
                mutated[at] = rng.next() as u8;
            }
            compiled += usize::from(exercise(&engine, &mutated));
            cases += 1;
        }
    }
    eprintln!(
        "{} seeds, {cases} mutated cases, {compiled} compiled",
        seeds.len()
    );
    // The seeds that are valid components must compile: a harness that rejects everything would
    // prove nothing.
    assert!(
        compiled > seeds.len() / 2,
        "only {compiled} inputs compiled"
    );
}
