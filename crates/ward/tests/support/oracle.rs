//! Robustness checks shared by the seeded tests (`tests/robustness.rs`) and the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs` include this file by path):
//!
//! - [`check_bytes`]: arbitrary bytes through compile and instantiation must give a result or an error,
//!   never a panic;
//! - [`check_smith_module`]: a valid wasm-smith module runs under fuel without panicking;
//! - [`differential`]: a wasm-smith module runs in ward and in the `wasmi` crate with the same
//!   arguments; results, trap kinds, exported globals and exported memories must agree.
//!
//! Out-of-fuel and stack exhaustion end a comparison early: the two engines meter and limit
//! differently, so those outcomes are not compared.

#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};

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

/// The module shapes the differential test generates: what both engines implement, with NaNs made
/// canonical so float results are deterministic, no imports, everything exported.
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

/// Builds a wasm-smith module from fuzz input.
pub fn generate(data: &[u8]) -> Option<Vec<u8>> {
    generate_with(smith_config(), data)
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
    let engine = ward::Engine::new(&config);
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
    let engine = ward::Engine::new(&config);
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

const FUEL: u64 = 20_000;

/// A value as both engines can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Null,
    Func,
    Extern,
}

impl Value {
    fn same(self, other: Value) -> bool {
        match (self, other) {
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
            }
            (a, b) => a == b,
        }
    }
}

/// Trap kinds grouped where the engines name the same condition differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrapClass {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    NullReference,
    DivisionByZero,
    IntegerOverflow,
    BadConversion,
    SignatureMismatch,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapClass),
    /// Fuel or stack ran out: not comparable.
    Exhausted,
    Failed(String),
}

fn ward_value(v: &ward::Val) -> Value {
    match v {
        ward::Val::I32(x) => Value::I32(*x),
        ward::Val::I64(x) => Value::I64(*x),
        ward::Val::F32(x) => Value::F32(*x),
        ward::Val::F64(x) => Value::F64(*x),
        ward::Val::V128(_) => Value::Extern,
        ward::Val::FuncRef(None)
        | ward::Val::ExternRef(None)
        | ward::Val::ExnRef(None)
        | ward::Val::AnyRef(None) => Value::Null,
        ward::Val::ExnRef(Some(_)) | ward::Val::AnyRef(Some(_)) => Value::Extern,
        ward::Val::FuncRef(Some(_)) => Value::Func,
        ward::Val::ExternRef(Some(_)) => Value::Extern,
    }
}

fn wasmi_value(v: &wasmi::Val) -> Value {
    match v {
        wasmi::Val::I32(x) => Value::I32(*x),
        wasmi::Val::I64(x) => Value::I64(*x),
        wasmi::Val::F32(x) => Value::F32(x.to_bits()),
        wasmi::Val::F64(x) => Value::F64(x.to_bits()),
        wasmi::Val::V128(_) => Value::Extern,
        wasmi::Val::FuncRef(f) => {
            if f.is_null() {
                Value::Null
            } else {
                Value::Func
            }
        }
        wasmi::Val::ExternRef(e) => {
            if e.is_null() {
                Value::Null
            } else {
                Value::Extern
            }
        }
    }
}

fn ward_outcome<T>(
    result: Result<T, ward::Error>,
    values: impl FnOnce(T) -> Vec<Value>,
) -> Outcome {
    use ward::TrapKind as K;
    match result {
        Ok(v) => Outcome::Returned(values(v)),
        Err(ward::Error::Trap(trap)) => match trap.kind() {
            K::OutOfFuel | K::StackOverflow => Outcome::Exhausted,
            K::Unreachable => Outcome::Trapped(TrapClass::Unreachable),
            K::MemoryOutOfBounds | K::OutOfBoundsSegmentAccess => {
                Outcome::Trapped(TrapClass::MemoryOutOfBounds)
            }
            K::TableOutOfBounds | K::UndefinedElement => {
                Outcome::Trapped(TrapClass::TableOutOfBounds)
            }
            K::UninitializedElement | K::NullReference | K::NullFunctionReference => {
                Outcome::Trapped(TrapClass::NullReference)
            }
            K::IntegerDivisionByZero => Outcome::Trapped(TrapClass::DivisionByZero),
            K::IntegerOverflow => Outcome::Trapped(TrapClass::IntegerOverflow),
            K::BadConversionToInteger => Outcome::Trapped(TrapClass::BadConversion),
            K::IndirectCallTypeMismatch => Outcome::Trapped(TrapClass::SignatureMismatch),
            _ => Outcome::Trapped(TrapClass::Other),
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn wasmi_outcome<T>(
    result: Result<T, wasmi::Error>,
    values: impl FnOnce(T) -> Vec<Value>,
) -> Outcome {
    match result {
        Ok(v) => Outcome::Returned(values(v)),
        Err(e) => wasmi_error_outcome(&e),
    }
}

fn wasmi_error_outcome(e: &wasmi::Error) -> Outcome {
    use wasmi::TrapCode as C;
    match e.as_trap_code() {
        Some(
            C::OutOfFuel | C::StackOverflow | C::OutOfSystemMemory | C::GrowthOperationLimited,
        ) => Outcome::Exhausted,
        Some(C::UnreachableCodeReached) => Outcome::Trapped(TrapClass::Unreachable),
        Some(C::MemoryOutOfBounds) => Outcome::Trapped(TrapClass::MemoryOutOfBounds),
        Some(C::TableOutOfBounds) => Outcome::Trapped(TrapClass::TableOutOfBounds),
        Some(C::IndirectCallToNull) => Outcome::Trapped(TrapClass::NullReference),
        Some(C::IntegerDivisionByZero) => Outcome::Trapped(TrapClass::DivisionByZero),
        Some(C::IntegerOverflow) => Outcome::Trapped(TrapClass::IntegerOverflow),
        Some(C::BadConversionToInteger) => Outcome::Trapped(TrapClass::BadConversion),
        Some(C::BadSignature) => Outcome::Trapped(TrapClass::SignatureMismatch),
        None => Outcome::Failed(e.to_string()),
    }
}

/// Whether two outcomes agree; `None` when they cannot be compared (exhaustion in either engine).
fn agree(a: &Outcome, b: &Outcome) -> Option<bool> {
    match (a, b) {
        (Outcome::Exhausted, _) | (_, Outcome::Exhausted) => None,
        (Outcome::Returned(x), Outcome::Returned(y)) => {
            Some(x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same(*q)))
        }
        (Outcome::Trapped(x), Outcome::Trapped(y)) => Some(x == y),
        (Outcome::Failed(_), Outcome::Failed(_)) => Some(true),
        _ => Some(false),
    }
}

/// What one differential case did.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiffStats {
    /// Exported function calls whose outcomes were compared.
    pub calls_compared: u64,
    /// Cases cut short by fuel or stack exhaustion.
    pub exhausted: u64,
    /// Cases abandoned because the oracle (wasmi) itself panicked.
    pub oracle_panics: u64,
}

/// Runs an oracle (wasmi) operation; a panic inside wasmi is its bug, not ward's, and ends the case.
macro_rules! oracle {
    ($stats:ident, $e:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $e)) {
            Ok(value) => value,
            Err(_) => {
                $stats.oracle_panics += 1;
                return Ok($stats);
            }
        }
    };
}

/// Runs `wasm` in ward and wasmi with arguments drawn from `arg_data`; returns a description of the
/// first disagreement.
pub fn differential(wasm: &[u8], arg_data: &[u8]) -> Result<DiffStats, String> {
    let mut stats = DiffStats::default();

    let mut ward_config = ward::Config::new();
    ward_config.consume_fuel(true);
    let ward_engine = ward::Engine::new(&ward_config);
    let ward_module = ward::Module::new(&ward_engine, wasm)
        .map_err(|e| format!("ward rejected a valid module: {e}"))?;
    let mut ward_store = ward::Store::new(&ward_engine, ());
    ward_store.set_fuel(FUEL).expect("fuel is enabled");

    let mut wasmi_config = wasmi::Config::default();
    wasmi_config.consume_fuel(true);
    // Translate everything up front so wasmi's own translation problems surface in `Module::new`.
    wasmi_config.compilation_mode(wasmi::CompilationMode::Eager);
    let wasmi_engine = wasmi::Engine::new(&wasmi_config);
    let wasmi_module = oracle!(stats, wasmi::Module::new(&wasmi_engine, wasm))
        .map_err(|e| format!("wasmi rejected the module: {e}"))?;
    let mut wasmi_store = wasmi::Store::new(&wasmi_engine, ());
    wasmi_store.set_fuel(FUEL).expect("fuel is enabled");

    let ward_instance = ward::Linker::new(&ward_engine).instantiate(&mut ward_store, &ward_module);
    let wasmi_instance = oracle!(
        stats,
        wasmi::Linker::<()>::new(&wasmi_engine)
            .instantiate_and_start(&mut wasmi_store, &wasmi_module)
    );
    let a = ward_outcome(
        ward_instance.as_ref().map(|_| ()).map_err(clone_ward_error),
        |()| Vec::new(),
    );
    let b = match &wasmi_instance {
        Ok(_) => Outcome::Returned(Vec::new()),
        Err(e) => wasmi_error_outcome(e),
    };
    // Compare trap classes only when exactly one engine failed to instantiate.
    match (&ward_instance, &wasmi_instance) {
        (Ok(_), Ok(_)) => {}
        (Err(_), Err(_)) => return Ok(stats),
        _ => {
            if agree(&a, &b).is_none() {
                stats.exhausted += 1;
                return Ok(stats);
            }
            return Err(format!("instantiation differs: ward {a:?}, wasmi {b:?}"));
        }
    }
    let ward_instance = ward_instance.expect("checked above");
    let wasmi_instance = wasmi_instance.expect("checked above");

    let mut u = Unstructured::new(arg_data);
    let exports: Vec<(String, ward::Extern)> = ward_instance.exports(&ward_store);
    for (name, export) in &exports {
        let Some(func) = export.into_func() else {
            continue;
        };
        let Some(other) = wasmi_instance.get_func(&wasmi_store, name) else {
            return Err(format!("wasmi lacks export {name}"));
        };
        let ty = func.ty(&ward_store);
        let mut ward_args = Vec::new();
        let mut wasmi_args = Vec::new();
        for param in ty.params() {
            let (x, y) = match param {
                ward::ValType::I32 => {
                    let v = i32::arbitrary(&mut u).unwrap_or(0);
                    (ward::Val::I32(v), wasmi::Val::I32(v))
                }
                ward::ValType::I64 => {
                    let v = i64::arbitrary(&mut u).unwrap_or(0);
                    (ward::Val::I64(v), wasmi::Val::I64(v))
                }
                ward::ValType::F32 => {
                    let v = f32::arbitrary(&mut u).unwrap_or(0.0);
                    (ward::Val::F32(v.to_bits()), wasmi::Val::F32(v.into()))
                }
                ward::ValType::F64 => {
                    let v = f64::arbitrary(&mut u).unwrap_or(0.0);
                    (ward::Val::F64(v.to_bits()), wasmi::Val::F64(v.into()))
                }
                other => {
                    let wasmi_ty = match other {
                        ward::ValType::Ref(r) if ward_is_func(r.heap) => wasmi::ValType::FuncRef,
                        _ => wasmi::ValType::ExternRef,
                    };
                    let Some(v) = ward::Val::default_for(*other) else {
                        return Ok(stats);
                    };
                    (v, wasmi::Val::default_for_ty(wasmi_ty))
                }
            };
            ward_args.push(x);
            wasmi_args.push(y);
        }
        let mut ward_results: Vec<ward::Val> = ty
            .results()
            .iter()
            .map(|t| ward::Val::default_for(*t).unwrap_or(ward::Val::FuncRef(None)))
            .collect();
        let wasmi_ty = other.ty(&wasmi_store);
        let mut wasmi_results: Vec<wasmi::Val> = wasmi_ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        let a = ward_outcome(
            func.call(&mut ward_store, &ward_args, &mut ward_results),
            |()| ward_results.iter().map(ward_value).collect(),
        );
        let b = wasmi_outcome(
            oracle!(
                stats,
                other.call(&mut wasmi_store, &wasmi_args, &mut wasmi_results)
            ),
            |()| wasmi_results.iter().map(wasmi_value).collect(),
        );
        match agree(&a, &b) {
            None => {
                stats.exhausted += 1;
                return Ok(stats);
            }
            Some(false) => {
                return Err(format!(
                    "call {name}({ward_args:?}): ward {a:?}, wasmi {b:?}"
                ));
            }
            Some(true) => stats.calls_compared += 1,
        }
        compare_state(&exports, &ward_store, &wasmi_instance, &wasmi_store)
            .map_err(|e| format!("after {name}: {e}"))?;
    }
    Ok(stats)
}

fn ward_is_func(heap: ward::HeapType) -> bool {
    matches!(
        heap,
        ward::HeapType::Func | ward::HeapType::NoFunc | ward::HeapType::Concrete(_)
    )
}

fn clone_ward_error(e: &ward::Error) -> ward::Error {
    match e {
        ward::Error::Trap(t) => ward::Error::Trap(t.clone()),
        other => ward::Error::msg(other),
    }
}

fn compare_state(
    exports: &[(String, ward::Extern)],
    ward_store: &ward::Store<()>,
    wasmi_instance: &wasmi::Instance,
    wasmi_store: &wasmi::Store<()>,
) -> Result<(), String> {
    for (name, export) in exports {
        match export {
            ward::Extern::Memory(memory) => {
                let other = wasmi_instance
                    .get_memory(wasmi_store, name)
                    .ok_or("missing memory")?;
                let (x, y) = (memory.data(ward_store), other.data(wasmi_store));
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
            ward::Extern::Global(global) => {
                let other = wasmi_instance
                    .get_global(wasmi_store, name)
                    .ok_or("missing global")?;
                let (x, y) = (
                    ward_value(&global.get(ward_store)),
                    wasmi_value(&other.get(wasmi_store)),
                );
                if !x.same(y) {
                    return Err(format!("global {name} differs: {x:?} vs {y:?}"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
