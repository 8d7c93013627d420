//! Precompiled modules (`Engine::precompile_module`, `Module::serialize`, `Module::deserialize`)
//! and the code cache (`Config::cache`): round trips behave exactly as compiled and interpreted
//! modules (results, traps with backtraces, fuel), and every damaged, foreign or mismatched
//! artifact or cache entry is refused, never run. Needs ward's `cranelift` feature.
#![cfg(feature = "cranelift")]

mod support {
    pub mod tier_outcome;
}

use sha2::{Digest, Sha256};
use support::tier_outcome::{Outcome, call};
use ward::{ArtifactError, Config, Engine, Error, Instance, Module, Store, Strategy, Val};

/// Calls, traps across nested compiled calls, memory, and an interpreted (SIMD) function.
const WAT: &str = r#"(module
  (memory 1)
  (global $g (mut i32) (i32.const 7))
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end)
  (func $sum (export "sum") (param i32) (result i64) (local i64)
    block loop
      local.get 0 i32.eqz br_if 1
      local.get 1 local.get 0 i64.extend_i32_u i64.add local.set 1
      local.get 0 i32.const 1 i32.sub local.set 0
      br 0
    end end
    local.get 1)
  (func $div (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func $inner (param i32) (result i32) local.get 0 i32.load)
  (func (export "load") (param i32) (result i32)
    local.get 0 call $inner i32.const 1 i32.add)
  (func (export "store") (param i32 i32)
    local.get 0 local.get 1 i32.store
    global.get $g local.get 1 i32.add global.set $g)
  (func (export "g") (result i32) global.get $g)
  (func (export "deep") (param i32) (result i32)
    local.get 0 i32.eqz if unreachable end
    local.get 0 i32.const 1 i32.sub call $fib)
  (func (export "simd") (param i32) (result i32)
    local.get 0 i32x4.splat i32x4.extract_lane 2)
)"#;

fn config(strategy: Strategy, fuel: bool) -> Config {
    let mut config = Config::new();
    config.strategy(strategy).consume_fuel(fuel);
    config
}

fn engine(strategy: Strategy, fuel: bool) -> Engine {
    Engine::new(&config(strategy, fuel)).expect("the Cranelift tier is built in")
}

fn deserialize(engine: &Engine, bytes: &[u8]) -> ward::Result<Module> {
    // SAFETY: the artifacts of these tests are made by this ward in this process (or are damaged
    // on purpose, which must be refused before any code is placed).
    unsafe { Module::deserialize(engine, bytes) }
}

fn artifact_error(result: ward::Result<Module>) -> ArtifactError {
    match result {
        Err(Error::Artifact(e)) => e,
        Err(other) => panic!("expected an artifact error, got {other}"),
        Ok(_) => panic!("expected an artifact error, the module loaded"),
    }
}

const CALLS: &[(&str, &[Val])] = &[
    ("fib", &[Val::I32(15)]),
    ("sum", &[Val::I32(1000)]),
    ("div", &[Val::I32(-7), Val::I32(2)]),
    ("div", &[Val::I32(1), Val::I32(0)]),
    ("div", &[Val::I32(i32::MIN), Val::I32(-1)]),
    ("store", &[Val::I32(100), Val::I32(41)]),
    ("load", &[Val::I32(100)]),
    ("load", &[Val::I32(65534)]),
    ("g", &[]),
    ("deep", &[Val::I32(0)]),
    ("deep", &[Val::I32(10)]),
    ("simd", &[Val::I32(9)]),
];

/// Runs every call of `CALLS` on `module` (with `fuel` each, if metered): outcomes and fuel left.
fn run_all(module: &Module, fuel: Option<u64>) -> Vec<(Outcome, Option<u64>)> {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiates");
    CALLS
        .iter()
        .map(|(name, args)| {
            if let Some(fuel) = fuel {
                store.set_fuel(fuel).expect("metered");
            }
            let outcome = call(&mut store, &instance, name, args);
            (outcome, fuel.map(|_| store.get_fuel().expect("metered")))
        })
        .collect()
}

#[test]
fn a_deserialized_module_behaves_as_compiled_and_interpreted() {
    for fuel in [None, Some(1_000_000), Some(300)] {
        let metered = fuel.is_some();
        let interpreted = Module::new(&engine(Strategy::Interpreter, metered), WAT).expect("ok");
        let compiled = Module::new(&engine(Strategy::Cranelift, metered), WAT).expect("ok");
        let artifact = engine(Strategy::Cranelift, metered)
            .precompile_module(WAT.as_bytes())
            .expect("precompiled");
        assert_eq!(artifact, compiled.serialize().expect("serialized"));
        // A fresh engine with the same configuration: nothing shared with the compiling one.
        let loaded = deserialize(&engine(Strategy::Cranelift, metered), &artifact).expect("ok");
        assert!(compiled.compiled_function_count() >= 8);
        assert_eq!(
            loaded.compiled_function_count(),
            compiled.compiled_function_count()
        );
        let expected = run_all(&interpreted, fuel);
        assert_eq!(run_all(&compiled, fuel), expected, "fuel {fuel:?}");
        assert_eq!(run_all(&loaded, fuel), expected, "fuel {fuel:?}");
        // The traps really are there, with backtraces through compiled callers.
        assert!(
            expected
                .iter()
                .any(|(o, _)| matches!(o, Outcome::Trapped(_, frames) if frames.len() >= 2))
        );
        // Loading again and serializing gives the same artifact (the code is copied, not remade).
        assert_eq!(loaded.serialize().expect("serialized"), artifact);
    }
}

#[test]
fn deserialize_file_reads_what_serialize_wrote() {
    let engine = engine(Strategy::Cranelift, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.cwasm");
    std::fs::write(&path, engine.precompile_module(WAT.as_bytes()).unwrap()).unwrap();
    // SAFETY: written just above by this ward.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.expect("loads");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(
        call(&mut store, &instance, "fib", &[Val::I32(20)]),
        Outcome::Returned(vec![6765])
    );
    // SAFETY: no such file: refused before anything is read.
    assert!(unsafe { Module::deserialize_file(&engine, dir.path().join("none")) }.is_err());
}

#[test]
fn only_cranelift_engines_make_or_load_artifacts() {
    let artifact = engine(Strategy::Cranelift, false)
        .precompile_module(WAT.as_bytes())
        .unwrap();
    for strategy in [Strategy::Interpreter, Strategy::Auto] {
        let engine = engine(strategy, false);
        assert_eq!(
            artifact_error(deserialize(&engine, &artifact)),
            ArtifactError::Strategy
        );
        assert!(matches!(
            engine.precompile_module(WAT.as_bytes()),
            Err(Error::Artifact(ArtifactError::Strategy))
        ));
    }
    assert!(Engine::is_precompiled(&artifact));
    assert!(!Engine::is_precompiled(b"\0asm\x01\0\0\0"));
}

/// Where the parts of an artifact are (the layout `native::artifact` documents).
struct Layout {
    /// Offset of the CPU feature count.
    features_count: usize,
    /// The Wasm's bytes.
    wasm: std::ops::Range<usize>,
    /// Each compiled function's code.
    code: Vec<std::ops::Range<usize>>,
    /// Where each header field ends (for truncation at every boundary).
    boundaries: Vec<usize>,
}

fn layout(bytes: &[u8]) -> Layout {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let mut boundaries = vec![8, 12];
    let mut at = 12;
    let string = |at: &mut usize, boundaries: &mut Vec<usize>| {
        boundaries.push(*at + 4);
        *at += 4 + u32_at(*at);
        boundaries.push(*at);
    };
    for _ in 0..3 {
        string(&mut at, &mut boundaries);
    }
    let features_count = at;
    let n = u32_at(at);
    at += 4;
    boundaries.push(at);
    for _ in 0..n {
        string(&mut at, &mut boundaries);
    }
    let n = u32_at(at);
    at += 4;
    boundaries.push(at);
    for _ in 0..2 * n {
        string(&mut at, &mut boundaries);
    }
    at += 32;
    boundaries.push(at);
    let len = u64_at(at);
    at += 8;
    boundaries.push(at);
    let wasm = at..at + len;
    at += len;
    boundaries.push(at);
    let n = u32_at(at);
    at += 4;
    boundaries.push(at);
    let mut code = Vec::new();
    for _ in 0..n {
        let tag = bytes[at];
        at += 1;
        boundaries.push(at);
        if tag == 1 {
            at += 4;
            boundaries.push(at);
            let len = u64_at(at);
            at += 8;
            boundaries.push(at);
            code.push(at..at + len);
            at += len;
            boundaries.push(at);
            // Heap-access sites, then call sites: a count, then (code offset, Wasm offset).
            for _ in 0..2 {
                let sites = u32_at(at);
                at += 4;
                boundaries.push(at);
                at += sites * 8;
                boundaries.push(at);
            }
        }
    }
    assert_eq!(at + 32, bytes.len(), "the test's reading of the layout");
    Layout {
        features_count,
        wasm,
        code,
        boundaries,
    }
}

/// Replaces the trailing checksum with the right one for the changed bytes (what an attacker, not
/// an accident, would do).
fn fix_checksum(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let sum = Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum);
}

#[test]
fn damaged_artifacts_are_refused_with_a_clear_error() {
    let engine = engine(Strategy::Cranelift, false);
    let artifact = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parts = layout(&artifact);

    // Not an artifact at all: a Wasm binary, text, nothing.
    for bytes in [&b"\0asm\x01\0\0\0"[..], b"(module)", b""] {
        let e = artifact_error(deserialize(&engine, bytes));
        assert_eq!(e, ArtifactError::NotAnArtifact);
        assert_eq!(e.to_string(), "not a ward precompiled module (bad magic)");
    }
    let mut bad = artifact.clone();
    bad[8] = 99;
    assert!(matches!(
        artifact_error(deserialize(&engine, &bad)),
        ArtifactError::FormatVersion { found: 99, .. }
    ));

    // Truncated at every header boundary, and everywhere else.
    assert!(parts.boundaries.len() > 20);
    for len in 0..artifact.len() {
        let e = artifact_error(deserialize(&engine, &artifact[..len]));
        assert!(
            matches!(
                e,
                ArtifactError::NotAnArtifact | ArtifactError::Truncated { .. }
            ),
            "truncated at {len}: {e}"
        );
        if parts.boundaries.contains(&len) && len >= 8 {
            assert!(e.to_string().starts_with("precompiled module is truncated"));
        }
    }
    let mut longer = artifact.clone();
    longer.push(0);
    assert!(matches!(
        artifact_error(deserialize(&engine, &longer)),
        ArtifactError::Corrupt(_)
    ));

    // A flipped byte anywhere: the checksum (or a structural check) catches it.
    for i in 0..artifact.len() {
        let mut bad = artifact.clone();
        bad[i] ^= 0x20;
        assert!(deserialize(&engine, &bad).is_err(), "flip at {i} accepted");
    }
    let mut bad = artifact.clone();
    bad[parts.code[0].start + 3] ^= 0xff;
    assert_eq!(
        artifact_error(deserialize(&engine, &bad)),
        ArtifactError::Corrupt("checksum mismatch".into())
    );

    // The Wasm changed and the checksum fixed: the Wasm's own SHA-256 catches it.
    let mut bad = artifact.clone();
    bad[parts.wasm.end - 1] ^= 1;
    fix_checksum(&mut bad);
    assert_eq!(
        artifact_error(deserialize(&engine, &bad)),
        ArtifactError::WasmHash
    );
    assert!(
        ArtifactError::WasmHash
            .to_string()
            .contains("do not match their SHA-256")
    );
}

#[test]
fn a_cpu_feature_the_host_lacks_is_refused() {
    let engine = engine(Strategy::Cranelift, false);
    let artifact = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parts = layout(&artifact);
    // Add a feature no CPU has to the header's list.
    let at = parts.features_count;
    let count = u32::from_le_bytes(artifact[at..at + 4].try_into().unwrap());
    let fake = b"fake_feature_for_tests";
    let mut bad = artifact[..at].to_vec();
    bad.extend_from_slice(&(count + 1).to_le_bytes());
    bad.extend_from_slice(&(fake.len() as u32).to_le_bytes());
    bad.extend_from_slice(fake);
    bad.extend_from_slice(&artifact[at + 4..]);
    fix_checksum(&mut bad);
    let e = artifact_error(deserialize(&engine, &bad));
    assert!(
        matches!(&e, ArtifactError::MissingCpuFeature { feature, .. } if feature == "fake_feature_for_tests"),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with("precompiled module was compiled for x86_64")
            && text.ends_with(
                "with fake_feature_for_tests, but this host lacks fake_feature_for_tests"
            ),
        "{text}"
    );
}

#[test]
fn another_configuration_is_refused_naming_the_setting() {
    let artifact = engine(Strategy::Cranelift, false)
        .precompile_module(WAT.as_bytes())
        .unwrap();
    let cases: Vec<(&str, Config)> = vec![
        ("fuel", config(Strategy::Cranelift, true)),
        ("epoch interruption", {
            let mut c = config(Strategy::Cranelift, false);
            c.epoch_interruption(true);
            c
        }),
        ("wasm features", {
            let mut c = config(Strategy::Cranelift, false);
            c.wasm_tail_call(false);
            c
        }),
        ("cranelift skip functions", {
            let mut c = config(Strategy::Cranelift, false);
            c.cranelift_skip_functions(Some(1));
            c
        }),
    ];
    for (setting, config) in cases {
        let engine = Engine::new(&config).unwrap();
        let e = artifact_error(deserialize(&engine, &artifact));
        assert!(
            matches!(&e, ArtifactError::Config { setting: s, .. } if s == setting),
            "{setting}: {e}"
        );
        assert!(
            e.to_string().starts_with(&format!(
                "precompiled module was compiled with a different configuration ({setting}:"
            )),
            "{e}"
        );
    }
    // The same configuration loads.
    assert!(deserialize(&engine(Strategy::Cranelift, false), &artifact).is_ok());
}

/// The JIT-escape set's tampered `.cwasm`: machine code replaced by `ud2` (which would kill the
/// process if it ran) with the checksum recomputed, as an attacker would. `deserialize` trusts code
/// bytes (it is `unsafe`, as in Wasmtime), so the guard is the cache's HMAC: such an entry is
/// refused and the module compiled again; a `.cwasm` with a damaged header or a checksum that does
/// not match is refused by `deserialize` itself (above).
#[test]
fn jit_escape_tampered_cwasm_in_the_cache_is_never_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(Strategy::Cranelift, false);
    config.cache(true).cache_directory(dir.path());
    let fib20 = |module: &Module| {
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        call(&mut store, &instance, "fib", &[Val::I32(20)])
    };

    // First use: a miss, compiled and stored (with the host key made, mode 0600).
    let first = Engine::new(&config).unwrap();
    let module = Module::new(&first, WAT).unwrap();
    assert_eq!(fib20(&module), Outcome::Returned(vec![6765]));
    let stats = first.cache_statistics();
    assert_eq!((stats.hits, stats.misses, stats.stored), (0, 1, 1));
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1);
    let entry = entries[0].clone();
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(dir.path().join("hmac-key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
        assert_eq!(key.len(), 32);
    }

    // Second engine: a hit, same behaviour.
    let second = Engine::new(&config).unwrap();
    let module = Module::new(&second, WAT).unwrap();
    assert_eq!(fib20(&module), Outcome::Returned(vec![6765]));
    assert_eq!(second.cache_statistics().hits, 1);
    assert!(second.take_cache_warnings().is_empty());

    // Tampered: every code byte becomes ud2, the artifact checksum is recomputed, the HMAC is not
    // (the attacker has no key).
    let good = std::fs::read(&entry).unwrap();
    let (artifact, _mac) = good.split_at(good.len() - 32);
    let mut tampered = artifact.to_vec();
    for range in layout(artifact).code {
        for pair in tampered[range].chunks_mut(2) {
            pair.copy_from_slice(&[0x0f, 0x0b][..pair.len()]);
        }
    }
    fix_checksum(&mut tampered);
    let mut with_old_mac = tampered.clone();
    with_old_mac.extend_from_slice(&good[good.len() - 32..]);
    let foreign_key_mac = {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(&tampered);
        mac.finalize().into_bytes().to_vec()
    };
    let mut foreign = tampered.clone();
    foreign.extend_from_slice(&foreign_key_mac);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("tampered code, old HMAC", with_old_mac),
        ("tampered code, HMAC under another host's key", foreign),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("truncated to less than an HMAC", good[..10].to_vec()),
        ("no HMAC (a bare .cwasm)", tampered.clone()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&entry, &bytes).unwrap();
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, WAT).unwrap();
        // Had the ud2 code run, the process would have died here.
        assert_eq!(fib20(&module), Outcome::Returned(vec![6765]), "{what}");
        let stats = engine.cache_statistics();
        assert_eq!(
            (stats.hits, stats.refused, stats.stored),
            (0, 1, 1),
            "{what}"
        );
        let warnings = engine.take_cache_warnings();
        assert_eq!(warnings.len(), 1, "{what}: {warnings:?}");
        assert!(
            warnings[0].contains("refused code cache entry"),
            "{warnings:?}"
        );
        assert!(engine.take_cache_warnings().is_empty());
        // The entry was replaced by a good one.
        assert_eq!(std::fs::read(&entry).unwrap(), good, "{what}");
    }

    // A valid entry of another module, renamed to this module's entry: HMAC fine, Wasm differs.
    let other_wat = "(module (func (export \"fib\") (param i32) (result i32) i32.const 1))";
    let other = Engine::new(&config).unwrap();
    Module::new(&other, other_wat).unwrap();
    let other_entry = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm") && *p != entry)
        .expect("the other module's entry");
    std::fs::copy(&other_entry, &entry).unwrap();
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(fib20(&module), Outcome::Returned(vec![6765]));
    assert_eq!(engine.cache_statistics().refused, 1);
    assert!(engine.take_cache_warnings()[0].contains("made for another module"));

    // Another configuration uses another entry (a miss, not a refusal).
    let mut fuel_config = config.clone();
    fuel_config.consume_fuel(true);
    let engine = Engine::new(&fuel_config).unwrap();
    Module::new(&engine, WAT).unwrap();
    let stats = engine.cache_statistics();
    assert_eq!((stats.misses, stats.refused), (1, 0));
    // No temporary files are left behind.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "left over: {name}");
    }
}

#[test]
fn a_cache_that_cannot_be_used_does_not_fail_compilation() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The cache directory is a file: no cache, a warning, and the module compiles.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let mut config = config(Strategy::Cranelift, false);
    config.cache(true).cache_directory(&file);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    assert!(module.compiled_function_count() > 0);
    let warnings = engine.take_cache_warnings();
    assert!(
        warnings.iter().any(|w| w.contains("code cache disabled")),
        "{warnings:?}"
    );
}
