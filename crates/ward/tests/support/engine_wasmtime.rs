//! Wasmtime, the primary oracle, behind the [`Engine`] interface of `outcome.rs`.
//!
//! Its features match ward's defaults (everything ward implements, with threads and relaxed SIMD
//! off: the generator never emits them, and relaxed SIMD is nondeterministic across engines). NaNs
//! are made canonical by the generator, not by Cranelift.

use super::outcome::{Engine, FUEL, MEMORY_BYTES, Outcome, TABLE_ELEMENTS, TrapClass, Value};

thread_local! {
    /// One engine per test thread: creating a Cranelift engine per case would dominate the run.
    static ENGINE: wasmtime::Engine = {
        let mut config = wasmtime::Config::new();
        config
            .consume_fuel(true)
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_function_references(true)
            .wasm_gc(true)
            .wasm_exceptions(true);
        wasmtime::Engine::new(&config).expect("the oracle's configuration is supported")
    };
}

/// A module instantiated in Wasmtime under [`FUEL`], [`MEMORY_BYTES`] and [`TABLE_ELEMENTS`].
pub struct Wasmtime {
    store: wasmtime::Store<wasmtime::StoreLimits>,
    instance: wasmtime::Instance,
}

impl Wasmtime {
    /// Compiles and instantiates `wasm`: `Err(Err(_))` when Wasmtime rejects the module,
    /// `Err(Ok(outcome))` when instantiation failed.
    pub fn instantiate(wasm: &[u8]) -> Result<Wasmtime, Result<Outcome, String>> {
        let engine = ENGINE.with(wasmtime::Engine::clone);
        let module = wasmtime::Module::new(&engine, wasm)
            .map_err(|e| Err(format!("Wasmtime rejected the module: {e:?}")))?;
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(MEMORY_BYTES)
            .table_elements(TABLE_ELEMENTS)
            .build();
        let mut store = wasmtime::Store::new(&engine, limits);
        store.limiter(|limits| limits);
        store.set_fuel(FUEL).expect("fuel is enabled");
        match wasmtime::Linker::new(&engine).instantiate(&mut store, &module) {
            Ok(instance) => Ok(Wasmtime { store, instance }),
            Err(e) => Err(Ok(error_outcome(&mut store, &e))),
        }
    }
}

impl Engine for Wasmtime {
    fn name(&self) -> &'static str {
        "Wasmtime"
    }

    fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Outcome::Failed(format!("no function {name}"));
        };
        let ty = func.ty(&self.store);
        let Some(args) = args
            .iter()
            .zip(ty.params())
            .map(|(arg, ty)| match arg {
                Value::I32(x) => Some(wasmtime::Val::I32(*x)),
                Value::I64(x) => Some(wasmtime::Val::I64(*x)),
                Value::F32(x) => Some(wasmtime::Val::F32(*x)),
                Value::F64(x) => Some(wasmtime::Val::F64(*x)),
                Value::V128(x) => Some(wasmtime::Val::V128((*x).into())),
                _ => ty.as_ref().map(|r| wasmtime::Val::null_ref(r.heap_type())),
            })
            .collect::<Option<Vec<_>>>()
        else {
            return Outcome::Failed("no argument for a parameter".into());
        };
        let mut results: Vec<wasmtime::Val> = ty
            .results()
            .map(|t| wasmtime::Val::default_for_ty(&t).unwrap_or(wasmtime::Val::I32(0)))
            .collect();
        match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(value).collect()),
            Err(e) => error_outcome(&mut self.store, &e),
        }
    }

    fn memory(&mut self, name: &str) -> Option<&[u8]> {
        let memory = self.instance.get_memory(&mut self.store, name)?;
        Some(memory.data(&self.store))
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_global(&mut self.store, name)?;
        Some(value(&global.get(&mut self.store)))
    }

    fn table(&mut self, name: &str) -> Option<Vec<Value>> {
        let table = self.instance.get_table(&mut self.store, name)?;
        (0..table.size(&self.store))
            .map(|i| {
                table
                    .get(&mut self.store, i)
                    .map(|r| value(&wasmtime::Val::from(r)))
            })
            .collect()
    }
}

fn value(v: &wasmtime::Val) -> Value {
    match v {
        wasmtime::Val::I32(x) => Value::I32(*x),
        wasmtime::Val::I64(x) => Value::I64(*x),
        wasmtime::Val::F32(x) => Value::F32(*x),
        wasmtime::Val::F64(x) => Value::F64(*x),
        wasmtime::Val::V128(x) => Value::V128(x.as_u128()),
        wasmtime::Val::FuncRef(None)
        | wasmtime::Val::ExternRef(None)
        | wasmtime::Val::AnyRef(None)
        | wasmtime::Val::ExnRef(None) => Value::Null,
        wasmtime::Val::FuncRef(Some(_)) => Value::Func,
        wasmtime::Val::ExternRef(Some(_)) => Value::Extern,
        wasmtime::Val::AnyRef(Some(_)) => Value::Any,
        wasmtime::Val::ExnRef(Some(_)) => Value::Exn,
        #[allow(unreachable_patterns)]
        _ => Value::Extern,
    }
}

fn error_outcome(
    store: &mut wasmtime::Store<wasmtime::StoreLimits>,
    e: &wasmtime::Error,
) -> Outcome {
    use wasmtime::Trap as T;
    if e.is::<wasmtime::ThrownException>() {
        // The exception stays pending in the store until taken.
        let _ = store.take_pending_exception();
        return Outcome::Thrown;
    }
    if e.is::<wasmtime::GcHeapOutOfMemory<()>>() {
        return Outcome::Exhausted;
    }
    let Some(trap) = e.downcast_ref::<T>() else {
        return Outcome::Failed(format!("{e:?}"));
    };
    Outcome::Trapped(match trap {
        T::StackOverflow | T::OutOfFuel | T::Interrupt | T::AllocationTooLarge => {
            return Outcome::Exhausted;
        }
        T::UnreachableCodeReached => TrapClass::Unreachable,
        T::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
        T::TableOutOfBounds => TrapClass::TableOutOfBounds,
        T::IndirectCallToNull | T::NullReference => TrapClass::NullReference,
        T::IntegerDivisionByZero => TrapClass::DivisionByZero,
        T::IntegerOverflow => TrapClass::IntegerOverflow,
        T::BadConversionToInteger => TrapClass::BadConversion,
        T::BadSignature => TrapClass::SignatureMismatch,
        T::ArrayOutOfBounds => TrapClass::ArrayOutOfBounds,
        T::CastFailure => TrapClass::CastFailure,
        _ => TrapClass::Other,
    })
}
