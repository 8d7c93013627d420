//! No component binary makes ward panic: every component of the vendored component-model scripts
//! (`tests/component-model-tests`), plus components here that move strings, lists, variants and
//! resources across the canonical ABI, truncated at many lengths, with bytes overwritten or bits
//! flipped at pseudo-random places, and with top-level sections swapped, duplicated or dropped,
//! goes through `Component::new` and, when it compiles, instantiation with fuel metering on (a
//! mutated start function may loop) and a call of every exported function it can make arguments
//! for (zero values of each parameter type), whose results are lifted. Seeded and bounded;
//! `WARD_FUZZ_CASES=N` sets the mutations of each kind per component (default 24).

use std::path::{Path, PathBuf};

use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, Wat};

use ward::component::{Component, Instance, Linker, Type, Val};
use ward::{Config, Engine, Store};

/// Components whose exports lift strings, lists, variants, flags and handles from guest
/// memory, so that mutated code and data hand the canonical ABI hostile pointers, lengths,
/// discriminants and handles.
const ABI_SEEDS: &[&str] = &[
    r#"(component
  (core module $m
    (memory (export "mem") 1)
    (data (i32.const 16) "\20\00\00\00\05\00\00\00\01\02\03\04hello\00\00\00")
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $ptr) (local.get 3)))
      (local.get $ptr))
    (func (export "ret16") (result i32) (i32.const 16))
    (func (export "take") (param i32 i32 i32 i32) (result i32) (i32.const 16))
    (func (export "small") (result i32) (i32.const 2)))
  (core instance $i (instantiate $m))
  (type $v' (variant (case "a" string) (case "b" (list u16)) (case "c")))
  (export $v "v" (type $v'))
  (type $f' (flags "x" "y" "z"))
  (export $f "f" (type $f'))
  (type $e' (enum "p" "q"))
  (export $e "e" (type $e'))
  (func (export "string") (result string)
    (canon lift (core func $i "ret16") (memory (core memory $i "mem"))))
  (func (export "list") (result (list (tuple u8 char)))
    (canon lift (core func $i "ret16") (memory (core memory $i "mem"))))
  (func (export "variant") (result $v)
    (canon lift (core func $i "ret16") (memory (core memory $i "mem"))))
  (func (export "nested") (result (option (result (list string) (error $v))))
    (canon lift (core func $i "ret16") (memory (core memory $i "mem"))))
  (func (export "flags") (result $f) (canon lift (core func $i "small")))
  (func (export "enum") (result $e) (canon lift (core func $i "small")))
  (func (export "char") (result char) (canon lift (core func $i "small")))
  (func (export "take") (param "s" string) (param "l" (list u32)) (result string)
    (canon lift (core func $i "take") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc")) string-encoding=utf16)))"#,
    r#"(component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core func $drop (canon resource.drop $r))
  (core func $rep (canon resource.rep $r))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "rep" (func $rep (param i32) (result i32)))
    (func (export "make") (result i32) (call $new (i32.const 7)))
    (func (export "use") (param i32) (result i32)
      (call $rep (local.get 0))
      (call $drop (i32.const 1))))
  (core instance $i (instantiate $m (with "" (instance
    (export "new" (func $new)) (export "drop" (func $drop)) (export "rep" (func $rep))))))
  (export $r' "r" (type $r))
  (func (export "make") (result (own $r')) (canon lift (core func $i "make")))
  (func (export "use") (param "x" u32) (result u32) (canon lift (core func $i "use"))))"#,
];

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
    for text in ABI_SEEDS {
        seeds.push(wat::parse_str(text).expect("ABI seed components are valid text"));
    }
    seeds
}

/// The top-level sections of a component or module binary (id, size and payload bytes each),
/// after the 8-byte header; `None` if they do not parse.
fn sections(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let start = at;
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let byte = *bytes.get(at)?;
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        at = at.checked_add(size).filter(|end| *end <= bytes.len())?;
        out.push(&bytes[start..at]);
    }
    Some(out)
}

/// `seed` with its top-level sections reordered, duplicated or dropped.
fn shuffle_sections(rng: &mut Rng, seed: &[u8]) -> Option<Vec<u8>> {
    let mut sections = sections(seed)?;
    if sections.len() < 2 {
        return None;
    }
    let (a, b) = (rng.below(sections.len()), rng.below(sections.len()));
    match rng.below(3) {
        0 => sections.swap(a, b),
        1 => sections.insert(b, sections[a]),
        _ => {
            sections.remove(a);
        }
    }
    let mut out = seed[..8].to_vec();
    for section in sections {
        out.extend_from_slice(section);
    }
    Some(out)
}

/// A zero value of `ty`, if the host can make one (not for resources).
fn zero(ty: &Type) -> Option<Val> {
    Some(match ty {
        Type::Bool => Val::Bool(false),
        Type::S8 => Val::S8(0),
        Type::U8 => Val::U8(0),
        Type::S16 => Val::S16(0),
        Type::U16 => Val::U16(0),
        Type::S32 => Val::S32(0),
        Type::U32 => Val::U32(0),
        Type::S64 => Val::S64(0),
        Type::U64 => Val::U64(0),
        Type::Float32 => Val::Float32(0.0),
        Type::Float64 => Val::Float64(0.0),
        Type::Char => Val::Char('é'),
        Type::String => Val::String("ünï".into()),
        Type::List(_) => Val::List(Vec::new()),
        Type::Map(_) => Val::Map(Vec::new()),
        Type::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(name, t)| Some((name.clone(), zero(t)?)))
                .collect::<Option<_>>()?,
        ),
        Type::Tuple(types) => Val::Tuple(types.iter().map(zero).collect::<Option<_>>()?),
        Type::Variant(cases) => {
            let (name, payload) = cases.first()?;
            let payload = match payload {
                Some(t) => Some(Box::new(zero(t)?)),
                None => None,
            };
            Val::Variant(name.clone(), payload)
        }
        Type::Enum(names) => Val::Enum(names.first()?.clone()),
        Type::Option(_) => Val::Option(None),
        Type::Result { ok, .. } => Val::Result(Ok(match ok {
            Some(t) => Some(Box::new(zero(t)?)),
            None => None,
        })),
        Type::Flags(_) => Val::Flags(Vec::new()),
        _ => return None,
    })
}

/// Calls every function `instance` exports (and those of its exported instances, two levels
/// deep) with zero arguments, ignoring the outcome. Returns how many calls were made.
fn call_exports(store: &mut Store<()>, instance: &Instance, depth: u32) -> usize {
    let mut calls = 0;
    let names: Vec<String> = instance.export_names().map(str::to_string).collect();
    for name in names {
        if let Some(func) = instance.get_func(&name) {
            let ty = func.ty().clone();
            let Some(params) = ty
                .params()
                .map(|(_, t)| zero(t))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let mut results = vec![Val::Bool(false); usize::from(ty.result().is_some())];
            let _ = store.set_fuel(100_000);
            let _ = func.call(&mut *store, &params, &mut results);
            calls += 1;
        } else if let Some(inner) = instance.get_instance(&name).filter(|_| depth > 0) {
            calls += call_exports(store, &inner, depth - 1);
        }
    }
    calls
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

/// What happened to the inputs: how many compiled, and how many calls were made.
#[derive(Default)]
struct Outcomes {
    compiled: usize,
    calls: usize,
}

/// Compiles `bytes` and, if that works, instantiates it with no imports and a little fuel, and
/// calls its exports. Errors are fine; panics are not (the test harness reports them).
fn exercise(engine: &Engine, bytes: &[u8], outcomes: &mut Outcomes) {
    let Ok(component) = Component::from_binary(engine, bytes) else {
        return;
    };
    outcomes.compiled += 1;
    let mut store = Store::new(engine, ());
    store.set_fuel(100_000).expect("fuel is on");
    // Any outcome but a panic will do: a link error (the seed has imports), a trap, a resource
    // ward does not instantiate yet, or success.
    if let Ok(instance) = Linker::new(engine).instantiate(&mut store, &component) {
        outcomes.calls += call_exports(&mut store, &instance, 2);
    }
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
    // The ABI seeds themselves instantiate and have their functions called.
    for text in ABI_SEEDS {
        let mut outcomes = Outcomes::default();
        exercise(
            &engine,
            &wat::parse_str(text).expect("valid text"),
            &mut outcomes,
        );
        assert!(
            outcomes.calls >= 2,
            "an ABI seed made {} calls",
            outcomes.calls
        );
    }
    let mut rng = Rng(0x5eed_c0de);
    let mut cases = 0usize;
    let mut outcomes = Outcomes::default();
    for seed in &seeds {
        // The seed itself, then truncations at evenly spread lengths.
        exercise(&engine, seed, &mut outcomes);
        for cut in 1..8 {
            exercise(&engine, &seed[..seed.len() * cut / 8], &mut outcomes);
            cases += 1;
        }
        if seed.len() <= 8 {
            continue;
        }
        for _ in 0..mutations {
            // Overwritten bytes (one to four at a time), past the 8-byte header.
            let mut mutated = seed.clone();
            for _ in 0..=rng.below(4) {
                let at = 8 + rng.below(mutated.len() - 8);
                mutated[at] = rng.next() as u8;
            }
            exercise(&engine, &mutated, &mut outcomes);
            // Flipped bits (one to three).
            let mut flipped = seed.clone();
            for _ in 0..=rng.below(3) {
                let at = 8 + rng.below(flipped.len() - 8);
                flipped[at] ^= 1 << rng.below(8);
            }
            exercise(&engine, &flipped, &mut outcomes);
            cases += 2;
            // Sections swapped, duplicated or dropped.
            if let Some(shuffled) = shuffle_sections(&mut rng, seed) {
                exercise(&engine, &shuffled, &mut outcomes);
                cases += 1;
            }
        }
    }
    eprintln!(
        "{} seeds, {cases} mutated cases, {} compiled, {} calls",
        seeds.len(),
        outcomes.compiled,
        outcomes.calls
    );
    // The seeds that are valid components must compile and their functions be called: a
    // harness that rejects everything would prove nothing.
    assert!(
        outcomes.compiled > seeds.len() / 2,
        "only {} inputs compiled",
        outcomes.compiled
    );
    assert!(
        outcomes.calls > seeds.len(),
        "only {} calls",
        outcomes.calls
    );
}
