//! ward, the engine under test, behind the [`Engine`] interface of `outcome.rs`; it also lists the
//! exports the differential driver in `oracle.rs` walks.

use super::outcome::{
    Engine, FUEL, MEMORY_BYTES, Outcome, Param, TABLE_ELEMENTS, TrapClass, Value,
};

/// An exported item, as the driver walks them.
pub enum Export {
    Func(Vec<Param>),
    Memory,
    Global,
    Table,
    Other,
}

/// A module instantiated in ward under [`FUEL`], [`MEMORY_BYTES`] and [`TABLE_ELEMENTS`].
pub struct Ward {
    store: ward::Store<ward::StoreLimits>,
    instance: ward::Instance,
}

impl Ward {
    /// Compiles and instantiates `wasm`: `Err(Err(_))` when ward rejects the module,
    /// `Err(Ok(outcome))` when instantiation failed.
    pub fn instantiate(wasm: &[u8]) -> Result<Ward, Result<Outcome, String>> {
        let mut config = ward::Config::new();
        config.consume_fuel(true);
        let engine = ward::Engine::new(&config).expect("valid engine configuration");
        let module = ward::Module::new(&engine, wasm)
            .map_err(|e| Err(format!("ward rejected a valid module: {e}")))?;
        let limits = ward::StoreLimitsBuilder::new()
            .memory_size(MEMORY_BYTES)
            .table_elements(TABLE_ELEMENTS)
            .build();
        let mut store = ward::Store::new(&engine, limits);
        store.limiter(|limits| limits);
        store.set_fuel(FUEL).expect("fuel is enabled");
        match ward::Linker::new(&engine).instantiate(&mut store, &module) {
            Ok(instance) => Ok(Ward { store, instance }),
            Err(e) => Err(Ok(outcome(Err(e), |()| Vec::new()))),
        }
    }

    /// The module's exports in order.
    pub fn exports(&self) -> Vec<(String, Export)> {
        self.instance
            .exports(&self.store)
            .into_iter()
            .map(|(name, export)| {
                let export = match export {
                    ward::Extern::Func(func) => {
                        Export::Func(func.ty(&self.store).params().iter().map(param).collect())
                    }
                    ward::Extern::Memory(_) => Export::Memory,
                    ward::Extern::Global(_) => Export::Global,
                    ward::Extern::Table(_) => Export::Table,
                    ward::Extern::Tag(_) | ward::Extern::SharedMemory(_) => Export::Other,
                };
                (name, export)
            })
            .collect()
    }
}

fn param(ty: &ward::ValType) -> Param {
    match ty {
        ward::ValType::I32 => Param::I32,
        ward::ValType::I64 => Param::I64,
        ward::ValType::F32 => Param::F32,
        ward::ValType::F64 => Param::F64,
        ward::ValType::V128 => Param::V128,
        ward::ValType::Ref(r) if r.nullable => Param::NullableRef,
        ward::ValType::Ref(_) => Param::NonNullableRef,
    }
}

impl Engine for Ward {
    fn name(&self) -> &'static str {
        "ward"
    }

    fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Outcome::Failed(format!("no function {name}"));
        };
        let ty = func.ty(&self.store);
        let Some(args) = args
            .iter()
            .zip(ty.params())
            .map(|(arg, ty)| match arg {
                Value::I32(x) => Some(ward::Val::I32(*x)),
                Value::I64(x) => Some(ward::Val::I64(*x)),
                Value::F32(x) => Some(ward::Val::F32(*x)),
                Value::F64(x) => Some(ward::Val::F64(*x)),
                Value::V128(x) => Some(ward::Val::V128(*x)),
                _ => ward::Val::default_for(*ty),
            })
            .collect::<Option<Vec<_>>>()
        else {
            return Outcome::Failed("no argument for a parameter".into());
        };
        let mut results: Vec<ward::Val> = ty
            .results()
            .iter()
            .map(|t| ward::Val::default_for(*t).unwrap_or(ward::Val::FuncRef(None)))
            .collect();
        let result = func.call(&mut self.store, &args, &mut results);
        outcome(result, |()| results.iter().map(value).collect())
    }

    fn memory(&mut self, name: &str) -> Option<&[u8]> {
        let memory = self.instance.get_export(&self.store, name)?.into_memory()?;
        Some(memory.data(&self.store))
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_export(&self.store, name)?.into_global()?;
        Some(value(&global.get(&self.store)))
    }

    fn table(&mut self, name: &str) -> Option<Vec<Value>> {
        let table = self.instance.get_export(&self.store, name)?.into_table()?;
        (0..table.size(&self.store))
            .map(|i| table.get(&self.store, i).map(|v| value(&v)))
            .collect()
    }
}

fn value(v: &ward::Val) -> Value {
    match v {
        ward::Val::I32(x) => Value::I32(*x),
        ward::Val::I64(x) => Value::I64(*x),
        ward::Val::F32(x) => Value::F32(*x),
        ward::Val::F64(x) => Value::F64(*x),
        ward::Val::V128(x) => Value::V128(*x),
        ward::Val::FuncRef(None)
        | ward::Val::ExternRef(None)
        | ward::Val::ExnRef(None)
        | ward::Val::AnyRef(None) => Value::Null,
        ward::Val::FuncRef(Some(_)) => Value::Func,
        ward::Val::ExternRef(Some(_)) => Value::Extern,
        ward::Val::AnyRef(Some(_)) => Value::Any,
        ward::Val::ExnRef(Some(_)) => Value::Exn,
    }
}

fn outcome<T>(result: Result<T, ward::Error>, values: impl FnOnce(T) -> Vec<Value>) -> Outcome {
    use ward::TrapKind as K;
    let trap = match result {
        Ok(v) => return Outcome::Returned(values(v)),
        Err(ward::Error::Trap(trap)) => trap,
        Err(ward::Error::Exception(_)) => return Outcome::Thrown,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    Outcome::Trapped(match trap.kind() {
        K::OutOfFuel | K::StackOverflow | K::GcHeapExhausted => return Outcome::Exhausted,
        K::Unreachable => TrapClass::Unreachable,
        K::MemoryOutOfBounds | K::OutOfBoundsSegmentAccess => TrapClass::MemoryOutOfBounds,
        K::TableOutOfBounds | K::UndefinedElement => TrapClass::TableOutOfBounds,
        K::UninitializedElement
        | K::NullReference
        | K::NullFunctionReference
        | K::NullStructReference
        | K::NullArrayReference
        | K::NullI31Reference => TrapClass::NullReference,
        K::IntegerDivisionByZero => TrapClass::DivisionByZero,
        K::IntegerOverflow => TrapClass::IntegerOverflow,
        K::BadConversionToInteger => TrapClass::BadConversion,
        K::IndirectCallTypeMismatch => TrapClass::SignatureMismatch,
        K::ArrayOutOfBounds => TrapClass::ArrayOutOfBounds,
        K::CastFailure => TrapClass::CastFailure,
        _ => TrapClass::Other,
    })
}
