//! wasmi, the second oracle, behind the [`Engine`] interface of `outcome.rs`. It implements neither
//! SIMD (as configured here), GC nor exception handling, so the driver consults it only for the
//! MVP and 2.0 feature sets, and wasmi 2.0.0 has known bugs (see `oracle.rs`): where it alone
//! disagrees, the driver counts an oracle bug instead of failing.

use super::outcome::{Engine, FUEL, MEMORY_BYTES, Outcome, TABLE_ELEMENTS, TrapClass, Value};

/// A module instantiated in wasmi under [`FUEL`], [`MEMORY_BYTES`] and [`TABLE_ELEMENTS`].
pub struct Wasmi {
    store: wasmi::Store<wasmi::StoreLimits>,
    instance: wasmi::Instance,
}

impl Wasmi {
    /// Compiles and instantiates `wasm`: `Err(Err(_))` when wasmi rejects the module,
    /// `Err(Ok(outcome))` when instantiation failed.
    pub fn instantiate(wasm: &[u8]) -> Result<Wasmi, Result<Outcome, String>> {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        // Translate everything up front so wasmi's own translation problems surface here.
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm)
            .map_err(|e| Err(format!("wasmi rejected the module: {e}")))?;
        let limits = wasmi::StoreLimitsBuilder::new()
            .memory_size(MEMORY_BYTES)
            .table_elements(TABLE_ELEMENTS)
            .build();
        let mut store = wasmi::Store::new(&engine, limits);
        store.limiter(|limits| limits);
        store.set_fuel(FUEL).expect("fuel is enabled");
        match wasmi::Linker::new(&engine).instantiate_and_start(&mut store, &module) {
            Ok(instance) => Ok(Wasmi { store, instance }),
            Err(e) => Err(Ok(error_outcome(&e))),
        }
    }
}

impl Engine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }

    fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Outcome::Failed(format!("no function {name}"));
        };
        let ty = func.ty(&self.store);
        let args: Vec<wasmi::Val> = args
            .iter()
            .zip(ty.params())
            .map(|(arg, ty)| match arg {
                Value::I32(x) => wasmi::Val::I32(*x),
                Value::I64(x) => wasmi::Val::I64(*x),
                Value::F32(x) => wasmi::Val::F32(f32::from_bits(*x).into()),
                Value::F64(x) => wasmi::Val::F64(f64::from_bits(*x).into()),
                Value::V128(x) => wasmi::Val::V128((*x).into()),
                _ => wasmi::Val::default_for_ty(*ty),
            })
            .collect();
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(value).collect()),
            Err(e) => error_outcome(&e),
        }
    }

    fn memory(&mut self, name: &str) -> Option<&[u8]> {
        let memory = self.instance.get_memory(&self.store, name)?;
        Some(memory.data(&self.store))
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_global(&self.store, name)?;
        Some(value(&global.get(&self.store)))
    }

    fn table(&mut self, name: &str) -> Option<Vec<Value>> {
        let table = self.instance.get_table(&self.store, name)?;
        (0..table.size(&self.store))
            .map(|i| {
                table.get(&self.store, i).map(|r| match r {
                    wasmi::Ref::Func(f) if f.is_null() => Value::Null,
                    wasmi::Ref::Func(_) => Value::Func,
                    wasmi::Ref::Extern(e) if e.is_null() => Value::Null,
                    wasmi::Ref::Extern(_) => Value::Extern,
                })
            })
            .collect()
    }
}

fn value(v: &wasmi::Val) -> Value {
    match v {
        wasmi::Val::I32(x) => Value::I32(*x),
        wasmi::Val::I64(x) => Value::I64(*x),
        wasmi::Val::F32(x) => Value::F32(x.to_bits()),
        wasmi::Val::F64(x) => Value::F64(x.to_bits()),
        wasmi::Val::V128(x) => Value::V128(x.as_u128()),
        wasmi::Val::FuncRef(f) if f.is_null() => Value::Null,
        wasmi::Val::FuncRef(_) => Value::Func,
        wasmi::Val::ExternRef(e) if e.is_null() => Value::Null,
        wasmi::Val::ExternRef(_) => Value::Extern,
    }
}

fn error_outcome(e: &wasmi::Error) -> Outcome {
    use wasmi::TrapCode as C;
    Outcome::Trapped(match e.as_trap_code() {
        Some(
            C::OutOfFuel | C::StackOverflow | C::OutOfSystemMemory | C::GrowthOperationLimited,
        ) => return Outcome::Exhausted,
        Some(C::UnreachableCodeReached) => TrapClass::Unreachable,
        Some(C::MemoryOutOfBounds) => TrapClass::MemoryOutOfBounds,
        Some(C::TableOutOfBounds) => TrapClass::TableOutOfBounds,
        Some(C::IndirectCallToNull) => TrapClass::NullReference,
        Some(C::IntegerDivisionByZero) => TrapClass::DivisionByZero,
        Some(C::IntegerOverflow) => TrapClass::IntegerOverflow,
        Some(C::BadConversionToInteger) => TrapClass::BadConversion,
        Some(C::BadSignature) => TrapClass::SignatureMismatch,
        None => return Outcome::Failed(e.to_string()),
    })
}
