//! [`Linker<T>`]: a name → definition map that resolves a module's imports and instantiates it.
//!
//! Host functions defined with [`Linker::func_wrap`] or [`Linker::func_new`] are kept type-erased and
//! turned into store functions at each instantiation, so one linker serves many stores.

use std::collections::HashMap;

use crate::func::{Caller, Func, IntoFunc};
use crate::instance::{Extern, Instance, instantiate};
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, HostFunc};
use crate::types::FuncType;
use crate::values::Val;
use crate::{Engine, Error, Result};

enum Definition<T> {
    Extern(Extern),
    Host(FuncType, HostFunc<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::Host(ty, f) => Definition::Host(ty.clone(), f.clone()),
        }
    }
}

/// Resolves imports by (module, name) and instantiates modules.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            definitions: self.definitions.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T> Linker<T> {
    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition of the same name replaces an earlier one (default: an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            return Err(Error::Link(format!(
                "import of `{module}::{name}` defined twice"
            )));
        }
        self.definitions.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as an existing extern.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines `module::name` as a host function from a typed Rust closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, host) = func.into_host();
        self.insert(module, name, Definition::Host(ty, host))
    }

    /// Defines `module::name` as a host function with a dynamic signature.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        self.insert(
            module,
            name,
            Definition::Host(ty, std::sync::Arc::new(func)),
        )
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(store.as_context_mut()) {
            self.insert(module, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// The definition of `module::name` as an extern of `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self
            .definitions
            .get(&(module.to_string(), name.to_string()))?
            .clone();
        self.materialize(store.as_context_mut(), def).ok()
    }

    fn materialize(&self, store: &mut crate::Store<T>, def: Definition<T>) -> Result<Extern> {
        Ok(match def {
            Definition::Extern(e) => e,
            Definition::Host(ty, host) => Extern::Func(store.push_host_func(ty, host)?),
        })
    }

    /// Resolves `module`'s imports and instantiates it.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut();
        let mut imports = Vec::with_capacity(module.inner.imports.len());
        for import in &module.inner.imports {
            let def = self
                .definitions
                .get(&(import.module.clone(), import.name.clone()))
                .ok_or_else(|| {
                    Error::Link(format!(
                        "unknown import: `{}::{}` has not been defined",
                        import.module, import.name
                    ))
                })?
                .clone();
            imports.push(self.materialize(store, def)?);
        }
        instantiate(store, module, &imports)
    }

    /// A host function from the linker as a store function (for calling it directly).
    pub fn get_func(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Func> {
        self.get(store, module, name)?.into_func()
    }
}
