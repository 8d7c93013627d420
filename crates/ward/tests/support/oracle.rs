//! Robustness checks shared by the seeded tests (`tests/robustness.rs`) and the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs` include this file by path):
//!
//! - [`check_bytes`]: arbitrary bytes through compile and instantiation must give a result or an error,
//!   never a panic;
//! - [`check_smith_module`]: a valid wasm-smith module runs under fuel without panicking;
//! - [`differential`]: a wasm-smith module of one [`FeatureSet`] runs in ward, in Wasmtime (the
//!   primary oracle) and, for the feature sets it implements, in wasmi (the second oracle), with the
//!   same arguments; results, trap kinds, exported memories, globals and tables must agree.
//!
//! Verdicts ([`classify`]): ward disagreeing with Wasmtime is a failure. ward and Wasmtime agreeing
//! while wasmi differs is a wasmi bug (wasmi 2.0.0 miscompiles `select` on an `i32.eqz` condition):
//! it is counted, and wasmi sits out the rest of that module, its state having
//! diverged. Out-of-fuel, stack and GC-heap exhaustion end a comparison early: the engines meter and
//! limit differently, so those outcomes are not compared.
//!
//! The engines sit behind one interface (`outcome.rs`), one adapter each (`engine_*.rs`).

#![allow(dead_code)]

#[path = "engine_ward.rs"]
mod engine_ward;
#[path = "engine_wasmi.rs"]
mod engine_wasmi;
#[path = "engine_wasmtime.rs"]
mod engine_wasmtime;
#[path = "outcome.rs"]
pub mod outcome;

use arbitrary::{Arbitrary, Unstructured};
use engine_ward::{Export, Ward};
use engine_wasmi::Wasmi;
use engine_wasmtime::Wasmtime;
use outcome::{Engine, FUEL, Outcome, Param, Value, agree};

/// A deterministic generator of fuzz inputs (SplitMix64), so seeded runs are reproducible.
pub struct Seeds(u64);

impl Seeds {
    /// Starts the sequence at `seed`.
    pub fn new(seed: u64) -> Self {
        Seeds(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The module shapes the differential tests generate: each a wasm-smith configuration with NaNs
/// made canonical so float results are deterministic, no imports, everything exported, and never
/// threads or relaxed SIMD (nondeterministic across engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSet {
    /// WebAssembly 1.0.
    Mvp,
    /// WebAssembly 2.0 without SIMD, plus tail calls and extended constants: what all three
    /// engines implement.
    Wasm2,
    /// [`FeatureSet::Wasm2`] with fixed-width SIMD.
    Simd,
    /// [`FeatureSet::Wasm2`] with 64-bit memories and tables.
    Memory64,
    /// [`FeatureSet::Wasm2`] with up to four memories.
    MultiMemory,
    /// [`FeatureSet::Wasm2`] with GC types and instructions (and typed function references).
    Gc,
    /// [`FeatureSet::Wasm2`] with exception handling.
    Exceptions,
}

impl FeatureSet {
    /// Every feature set, in the order campaigns run them.
    pub const ALL: [FeatureSet; 7] = [
        FeatureSet::Mvp,
        FeatureSet::Wasm2,
        FeatureSet::Simd,
        FeatureSet::Memory64,
        FeatureSet::MultiMemory,
        FeatureSet::Gc,
        FeatureSet::Exceptions,
    ];

    /// The set's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FeatureSet::Mvp => "mvp",
            FeatureSet::Wasm2 => "wasm2",
            FeatureSet::Simd => "simd",
            FeatureSet::Memory64 => "memory64",
            FeatureSet::MultiMemory => "multi-memory",
            FeatureSet::Gc => "gc",
            FeatureSet::Exceptions => "exceptions",
        }
    }

    /// Whether wasmi (as configured here: no SIMD) implements the set, so that it serves as a
    /// second oracle; the other sets are compared against Wasmtime alone.
    pub fn wasmi_implements(self) -> bool {
        matches!(self, FeatureSet::Mvp | FeatureSet::Wasm2)
    }

    /// The wasm-smith configuration generating this set's modules.
    pub fn smith_config(self) -> wasm_smith::Config {
        let wasm2 = smith_config();
        match self {
            FeatureSet::Mvp => wasm_smith::Config {
                tail_call_enabled: false,
                reference_types_enabled: false,
                bulk_memory_enabled: false,
                multi_value_enabled: false,
                extended_const_enabled: false,
                saturating_float_to_int_enabled: false,
                sign_extension_ops_enabled: false,
                max_tables: 1,
                ..wasm2
            },
            FeatureSet::Wasm2 => wasm2,
            FeatureSet::Simd => wasm_smith::Config {
                simd_enabled: true,
                ..wasm2
            },
            FeatureSet::Memory64 => wasm_smith::Config {
                memory64_enabled: true,
                max_memory64_bytes: 4 << 20,
                ..wasm2
            },
            FeatureSet::MultiMemory => wasm_smith::Config {
                max_memories: 4,
                ..wasm2
            },
            FeatureSet::Gc => wasm_smith::Config {
                gc_enabled: true,
                ..wasm2
            },
            FeatureSet::Exceptions => wasm_smith::Config {
                exceptions_enabled: true,
                ..wasm2
            },
        }
    }
}

/// The [`FeatureSet::Wasm2`] configuration, the base of the others: what both engines implement.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        memory64_enabled: false,
        tail_call_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        extended_const_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: true,
        export_everything: true,
        allow_start_export: true,
        min_funcs: 1,
        max_funcs: 8,
        max_imports: 0,
        max_memories: 1,
        max_tables: 2,
        max_memory32_bytes: 4 << 20,
        max_table_elements: 1_000,
        max_instructions: 200,
        ..wasm_smith::Config::default()
    }
}

/// Builds a [`FeatureSet::Wasm2`] wasm-smith module from fuzz input.
pub fn generate(data: &[u8]) -> Option<Vec<u8>> {
    generate_with(smith_config(), data)
}

/// Builds a wasm-smith module of feature set `set` from fuzz input.
pub fn generate_for(set: FeatureSet, data: &[u8]) -> Option<Vec<u8>> {
    generate_with(set.smith_config(), data)
}

/// Builds a wasm-smith module that may also use GC types and instructions and exception handling
/// (for the no-panic checks; wasmi implements neither, so these are not compared).
#[allow(dead_code)]
pub fn generate_gc_and_exceptions(data: &[u8]) -> Option<Vec<u8>> {
    let config = wasm_smith::Config {
        gc_enabled: true,
        exceptions_enabled: true,
        ..smith_config()
    };
    generate_with(config, data)
}

fn generate_with(config: wasm_smith::Config, data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    Some(module.to_bytes())
}

/// How far ward took one module in the no-panic checks.
#[allow(dead_code)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// It compiled (parsed, validated, translated).
    pub compiled: bool,
    /// It instantiated (its start function, if any, returned).
    pub instantiated: bool,
    /// Exported functions called.
    pub calls: usize,
}

/// Compiles and instantiates arbitrary bytes (under fuel: a start function may loop forever); any
/// panic inside ward propagates to the caller.
#[allow(dead_code)]
pub fn check_bytes(bytes: &[u8]) -> Progress {
    let mut config = ward::Config::new();
    config.consume_fuel(true);
    let engine = ward::Engine::new(&config).expect("valid engine configuration");
    let mut progress = Progress::default();
    if let Ok(module) = ward::Module::new(&engine, bytes) {
        progress.compiled = true;
        let mut store = ward::Store::new(&engine, ());
        store.set_fuel(FUEL).expect("fuel is enabled");
        progress.instantiated = ward::Linker::new(&engine)
            .instantiate(&mut store, &module)
            .is_ok();
    }
    progress
}

/// Runs every exported function of a wasm-smith module under fuel; panics propagate.
#[allow(dead_code)]
pub fn check_smith_module(wasm: &[u8]) -> Progress {
    let mut config = ward::Config::new();
    config.consume_fuel(true);
    let engine = ward::Engine::new(&config).expect("valid engine configuration");
    let module =
        ward::Module::new(&engine, wasm).expect("wasm-smith modules of this config are supported");
    let mut progress = Progress {
        compiled: true,
        ..Progress::default()
    };
    let mut store = ward::Store::new(&engine, ());
    store.set_fuel(FUEL).expect("fuel is enabled");
    let Ok(instance) = ward::Linker::new(&engine).instantiate(&mut store, &module) else {
        return progress;
    };
    progress.instantiated = true;
    for (_, export) in instance.exports(&store) {
        let Some(func) = export.into_func() else {
            continue;
        };
        let ty = func.ty(&store);
        // Functions taking non-nullable references have no default arguments to call them with.
        let Some(params) = ty
            .params()
            .iter()
            .map(|t| ward::Val::default_for(*t))
            .collect::<Option<Vec<ward::Val>>>()
        else {
            continue;
        };
        let mut results: Vec<ward::Val> = ty
            .results()
            .iter()
            .map(|t| ward::Val::default_for(*t).unwrap_or(ward::Val::FuncRef(None)))
            .collect();
        let _ = func.call(&mut store, &params, &mut results);
        progress.calls += 1;
    }
    progress
}

/// How one comparison (a call, an instantiation or the state after a call) is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// ward agrees with Wasmtime, and with wasmi where consulted.
    Agree,
    /// ward or Wasmtime ran out of fuel, stack or GC heap: nothing to compare.
    NotComparable,
    /// ward and Wasmtime agree and wasmi does not: a wasmi bug, counted, not a failure.
    WasmiBug,
    /// ward disagrees with Wasmtime: a failure.
    Mismatch,
}

/// Judges one call's outcomes. wasmi running out of fuel or stack where the others did not is not
/// a bug (the engines meter differently); it is [`Verdict::Agree`], and the caller stops consulting
/// wasmi for the module.
pub fn classify(ward: &Outcome, wasmtime: &Outcome, wasmi: Option<&Outcome>) -> Verdict {
    match agree(ward, wasmtime) {
        None => Verdict::NotComparable,
        Some(false) => Verdict::Mismatch,
        Some(true) => match wasmi.and_then(|wasmi| agree(ward, wasmi)) {
            Some(false) => Verdict::WasmiBug,
            _ => Verdict::Agree,
        },
    }
}

/// What one differential case did.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiffStats {
    /// Modules instantiated in ward and Wasmtime and compared.
    pub modules_compared: u64,
    /// Exported function calls whose outcomes ward and Wasmtime agreed on.
    pub calls_compared: u64,
    /// Of those, calls wasmi agreed on too.
    pub wasmi_calls_compared: u64,
    /// Cases cut short by fuel, stack or GC-heap exhaustion in ward or Wasmtime.
    pub exhausted: u64,
    /// Disagreements of wasmi alone (outcomes or state), each ending wasmi's part in the case.
    pub wasmi_bugs: u64,
    /// Cases where an oracle panicked or rejected the module (its problem, not ward's).
    pub oracle_failures: u64,
}

impl std::ops::AddAssign for DiffStats {
    fn add_assign(&mut self, other: DiffStats) {
        self.modules_compared += other.modules_compared;
        self.calls_compared += other.calls_compared;
        self.wasmi_calls_compared += other.wasmi_calls_compared;
        self.exhausted += other.exhausted;
        self.wasmi_bugs += other.wasmi_bugs;
        self.oracle_failures += other.oracle_failures;
    }
}

/// Runs an oracle operation; a panic inside an oracle is its bug, not ward's.
fn catch_oracle_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

/// Instantiates `wasm` in an oracle; `None` (counted in `stats`) when the oracle panicked or
/// rejected the module.
fn instantiate_oracle<E>(
    stats: &mut DiffStats,
    instantiate: impl FnOnce() -> Result<E, Result<Outcome, String>>,
) -> Option<Result<E, Outcome>> {
    match catch_oracle_panic(instantiate) {
        Some(Ok(engine)) => Some(Ok(engine)),
        Some(Err(Ok(outcome))) => Some(Err(outcome)),
        Some(Err(Err(_))) | None => {
            stats.oracle_failures += 1;
            None
        }
    }
}

/// Runs `wasm` (a module of `set`) in ward, Wasmtime and, where it implements `set`, wasmi, with
/// arguments drawn from `arg_data`; returns a description of the first disagreement between ward and
/// Wasmtime.
pub fn differential(wasm: &[u8], arg_data: &[u8], set: FeatureSet) -> Result<DiffStats, String> {
    let mut stats = DiffStats::default();
    let ward = Ward::instantiate(wasm);
    if let Err(Err(rejected)) = &ward {
        return Err(rejected.clone());
    }
    let Some(wasmtime) = instantiate_oracle(&mut stats, || Wasmtime::instantiate(wasm)) else {
        return Ok(stats);
    };
    let mut wasmi = if set.wasmi_implements() {
        instantiate_oracle(&mut stats, || Wasmi::instantiate(wasm))
    } else {
        None
    };
    let (mut ward, mut wasmtime) = match (ward, wasmtime) {
        (Ok(ward), Ok(wasmtime)) => (ward, wasmtime),
        // Both failed: instantiation errors are reported too differently to compare further.
        (Err(_), Err(_)) => return Ok(stats),
        (ward, wasmtime) => {
            let a = ward.err().map_or(Outcome::Returned(Vec::new()), |e| {
                e.expect("a rejection returned above")
            });
            let b = wasmtime.err().unwrap_or(Outcome::Returned(Vec::new()));
            if agree(&a, &b).is_none() {
                stats.exhausted += 1;
                return Ok(stats);
            }
            return Err(format!("instantiation differs: ward {a:?}, Wasmtime {b:?}"));
        }
    };
    stats.modules_compared += 1;
    let mut wasmi: Option<Wasmi> = match wasmi.take() {
        Some(Ok(wasmi)) => Some(wasmi),
        // ward and Wasmtime instantiated the module; wasmi failing to is its bug unless it ran out.
        Some(Err(outcome)) => {
            if outcome != Outcome::Exhausted {
                stats.wasmi_bugs += 1;
            }
            None
        }
        None => None,
    };

    let mut u = Unstructured::new(arg_data);
    let exports = ward.exports();
    for (name, export) in &exports {
        let Export::Func(params) = export else {
            continue;
        };
        let Some(args) = draw_args(&mut u, params) else {
            return Ok(stats);
        };
        let a = ward.call(name, &args);
        let Some(b) = catch_oracle_panic(|| wasmtime.call(name, &args)) else {
            stats.oracle_failures += 1;
            return Ok(stats);
        };
        let c = wasmi
            .as_mut()
            .map(|wasmi| catch_oracle_panic(|| wasmi.call(name, &args)));
        let c = match c {
            Some(None) => {
                stats.oracle_failures += 1;
                wasmi = None;
                None
            }
            Some(Some(outcome)) => Some(outcome),
            None => None,
        };
        match classify(&a, &b, c.as_ref()) {
            Verdict::NotComparable => {
                stats.exhausted += 1;
                return Ok(stats);
            }
            Verdict::Mismatch => {
                let wasmi_said = c.map_or(String::new(), |c| format!(", wasmi {c:?}"));
                return Err(format!(
                    "call {name}({args:?}): ward {a:?}, Wasmtime {b:?}{wasmi_said}"
                ));
            }
            Verdict::WasmiBug => {
                stats.wasmi_bugs += 1;
                stats.calls_compared += 1;
                wasmi = None;
            }
            Verdict::Agree => {
                stats.calls_compared += 1;
                if c.is_some_and(|c| c != Outcome::Exhausted) {
                    stats.wasmi_calls_compared += 1;
                } else {
                    wasmi = None;
                }
            }
        }
        compare_state(&exports, &mut ward, &mut wasmtime)
            .map_err(|e| format!("after {name}({args:?}), ward and Wasmtime: {e}"))?;
        if let Some(other) = wasmi.as_mut()
            && compare_state(&exports, &mut ward, other).is_err()
        {
            stats.wasmi_bugs += 1;
            wasmi = None;
        }
    }
    Ok(stats)
}

/// One call's outcomes in each engine and their verdict.
#[derive(Debug)]
pub struct CallReport {
    pub ward: Outcome,
    pub wasmtime: Outcome,
    /// `None` when wasmi does not implement the feature set.
    pub wasmi: Option<Outcome>,
    pub verdict: Verdict,
}

/// Instantiates `wasm` in each engine and calls export `name` with `args` once: for regression
/// tests of specific cases.
pub fn compare_call(wasm: &[u8], set: FeatureSet, name: &str, args: &[Value]) -> CallReport {
    fn call(
        engine: Result<impl Engine, Result<Outcome, String>>,
        name: &str,
        args: &[Value],
    ) -> Outcome {
        match engine {
            Ok(mut engine) => engine.call(name, args),
            Err(Ok(outcome)) => outcome,
            Err(Err(rejected)) => Outcome::Failed(rejected),
        }
    }
    let ward = call(Ward::instantiate(wasm), name, args);
    let wasmtime = call(Wasmtime::instantiate(wasm), name, args);
    let wasmi = set
        .wasmi_implements()
        .then(|| call(Wasmi::instantiate(wasm), name, args));
    let verdict = classify(&ward, &wasmtime, wasmi.as_ref());
    CallReport {
        ward,
        wasmtime,
        wasmi,
        verdict,
    }
}

/// Arguments for `params` drawn from `u`; `None` when a parameter has no value to pass (a
/// non-nullable reference).
fn draw_args(u: &mut Unstructured, params: &[Param]) -> Option<Vec<Value>> {
    params
        .iter()
        .map(|param| {
            Some(match param {
                Param::I32 => Value::I32(i32::arbitrary(u).unwrap_or(0)),
                Param::I64 => Value::I64(i64::arbitrary(u).unwrap_or(0)),
                Param::F32 => Value::F32(f32::arbitrary(u).unwrap_or(0.0).to_bits()),
                Param::F64 => Value::F64(f64::arbitrary(u).unwrap_or(0.0).to_bits()),
                Param::V128 => Value::V128(u128::arbitrary(u).unwrap_or(0)),
                Param::NullableRef => Value::Null,
                Param::NonNullableRef => return None,
            })
        })
        .collect()
}

/// Compares the exported memories, globals and tables of two instances of one module.
fn compare_state(
    exports: &[(String, Export)],
    ward: &mut dyn Engine,
    oracle: &mut dyn Engine,
) -> Result<(), String> {
    for (name, export) in exports {
        match export {
            Export::Memory => {
                let x = ward.memory(name).ok_or("ward lacks a memory")?;
                let y = oracle.memory(name).ok_or("the oracle lacks a memory")?;
                if x.len() != y.len() {
                    return Err(format!(
                        "memory {name} sizes differ: {} vs {}",
                        x.len(),
                        y.len()
                    ));
                }
                if let Some(at) = x.iter().zip(y).position(|(p, q)| p != q) {
                    return Err(format!(
                        "memory {name} differs at byte {at}: {} vs {}",
                        x[at], y[at]
                    ));
                }
            }
            Export::Global => {
                let x = ward.global(name).ok_or("ward lacks a global")?;
                let y = oracle.global(name).ok_or("the oracle lacks a global")?;
                if !x.same(y) {
                    return Err(format!("global {name} differs: {x:?} vs {y:?}"));
                }
            }
            Export::Table => {
                let x = ward.table(name).ok_or("ward lacks a table")?;
                let y = oracle.table(name).ok_or("the oracle lacks a table")?;
                if x != y {
                    let at = x.iter().zip(&y).position(|(p, q)| p != q);
                    return Err(format!(
                        "table {name} differs (sizes {} vs {}, first difference at {at:?})",
                        x.len(),
                        y.len()
                    ));
                }
            }
            Export::Func(_) | Export::Other => {}
        }
    }
    Ok(())
}
