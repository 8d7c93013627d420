//! [`Linker<T>`]: a name → definition map that resolves a module's imports and instantiates it.
//!
//! Host functions defined with [`Linker::func_wrap`] or [`Linker::func_new`] are kept type-erased and
//! turned into store functions at each instantiation, so one linker serves many stores.

use std::collections::HashMap;
use std::sync::Arc;

use crate::func::{Caller, Func, IntoFunc};
use crate::handle::Instance;
use crate::instance::{Extern, instantiate};
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, AsyncHostFunc, HostFunc};
use crate::types::{ExternType, FuncType};
use crate::values::Val;
use crate::{Engine, Error, Result};

pub(crate) enum Definition<T> {
    Extern(Extern),
    Host(FuncType, HostFunc<T>),
    AsyncHost(FuncType, AsyncHostFunc<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::Host(ty, f) => Definition::Host(ty.clone(), f.clone()),
            Definition::AsyncHost(ty, f) => Definition::AsyncHost(ty.clone(), f.clone()),
        }
    }
}

/// Resolves imports by (module, name) and instantiates modules.
///
/// ```
/// use ward::{Engine, Linker, Module, Store};
///
/// let engine = Engine::default();
/// let mut linker = Linker::new(&engine);
/// linker.func_wrap("math", "square", |x: i64| x * x)?;
/// // Instances can be registered by name and then satisfy other modules' imports.
/// let mut store = Store::new(&engine, ());
/// let lib = Module::new(&engine, r#"(module (func (export "inc") (param i64) (result i64)
///     (i64.add (local.get 0) (i64.const 1))))"#)?;
/// let lib = linker.instantiate(&mut store, &lib)?;
/// linker.instance(&mut store, "lib", lib)?;
/// let app = Module::new(&engine, r#"(module
///     (import "math" "square" (func $sq (param i64) (result i64)))
///     (import "lib" "inc" (func $inc (param i64) (result i64)))
///     (func (export "run") (param i64) (result i64) (call $inc (call $sq (local.get 0)))))"#)?;
/// let app = linker.instantiate(&mut store, &app)?;
/// let run = app.get_typed_func::<i64, i64>(&store, "run")?;
/// assert_eq!(run.call(&mut store, 7)?, 50);
/// # Ok::<(), ward::Error>(())
/// ```
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

    pub(crate) fn insert(
        &mut self,
        module: &str,
        name: &str,
        def: Definition<T>,
    ) -> Result<&mut Self> {
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
        self.insert(module, name, Definition::Host(ty, Arc::new(func)))
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
        Ok(define_imports(store, vec![def])?.remove(0))
    }

    /// The definitions of `module`'s imports, in import order.
    pub(crate) fn resolve(&self, module: &Module) -> Result<Vec<Definition<T>>> {
        module
            .inner
            .imports
            .iter()
            .map(|import| {
                self.definitions
                    .get(&(import.module.clone(), import.name.clone()))
                    .cloned()
                    .ok_or_else(|| unknown_import(&import.module, &import.name))
            })
            .collect()
    }

    /// Resolves `module`'s imports and instantiates it.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let definitions = self.resolve(module)?;
        instantiate_with(store.as_context_mut(), module, definitions)
    }

    /// Resolves `module`'s imports now and returns an [`InstancePre`] that instantiates it in any
    /// store later, without looking names up again. Fails if an import is not defined.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        Ok(InstancePre {
            module: module.clone(),
            definitions: Arc::new(self.resolve(module)?),
        })
    }

    /// Defines every function import of `module` that this linker does not define as a host
    /// function that fails with the "unknown import" error when called, so the module instantiates
    /// and only a call to a missing function fails.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()>
    where
        T: 'static,
    {
        for (module_name, name, ty) in self.undefined_func_imports(module) {
            let (m, n) = (module_name.clone(), name.clone());
            self.func_new(&module_name, &name, ty, move |_, _, _| {
                Err(unknown_import(&m, &n))
            })?;
        }
        Ok(())
    }

    /// Defines every function import of `module` that this linker does not define as a host
    /// function that ignores its arguments and returns zeros and null references.
    pub fn define_unknown_imports_as_default_values(&mut self, module: &Module) -> Result<()>
    where
        T: 'static,
    {
        for (module_name, name, ty) in self.undefined_func_imports(module) {
            let defaults = ty
                .results()
                .iter()
                .map(|ty| {
                    Val::default_for(*ty).ok_or_else(|| {
                        Error::Link(format!(
                            "import `{module_name}::{name}` returns a non-nullable reference, \
                             which has no default value"
                        ))
                    })
                })
                .collect::<Result<Vec<Val>>>()?;
            self.func_new(&module_name, &name, ty, move |_, _, results| {
                results.copy_from_slice(&defaults);
                Ok(())
            })?;
        }
        Ok(())
    }

    fn undefined_func_imports(&self, module: &Module) -> Vec<(String, String, FuncType)> {
        module
            .imports()
            .filter(|i| {
                !self
                    .definitions
                    .contains_key(&(i.module().to_string(), i.name().to_string()))
            })
            .filter_map(|i| match i.ty() {
                ExternType::Func(ty) => Some((i.module().to_string(), i.name().to_string(), ty)),
                _ => None,
            })
            .collect()
    }

    /// Instantiates `module` and defines its exports under the name `module_name`, the way
    /// Wasmtime does for WASI modules:
    ///
    /// - a *command* (a module exporting `_start`) is not instantiated now: each of its exported
    ///   functions is defined as a host function that instantiates the module afresh in the
    ///   caller's store and calls the export of that new instance, so every call starts from a
    ///   clean state;
    /// - any other module is a *reactor*: it is instantiated once, its `_initialize` export (if
    ///   any) is called, and all its exports are defined.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self>
    where
        T: 'static,
    {
        let is_command = matches!(module.get_export("_start"), Some(ExternType::Func(_)));
        if !is_command {
            let store = store.as_context_mut();
            let instance = self.instantiate(&mut *store, module)?;
            if let Some(init) = instance.get_func(&*store, "_initialize") {
                init.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
            }
            return self.instance(store, module_name, instance);
        }
        let exports: Vec<(String, FuncType)> = module
            .exports()
            .filter_map(|e| match e.ty() {
                ExternType::Func(ty) => Some((e.name().to_string(), ty)),
                _ => None,
            })
            .collect();
        for (export, ty) in exports {
            let linker = self.clone();
            let module = module.clone();
            let name = export.clone();
            self.func_new(
                module_name,
                &export,
                ty,
                move |mut caller, params, results| {
                    let instance = linker.instantiate(&mut caller, &module)?;
                    let func = instance
                        .get_func(&caller, &name)
                        .expect("the module exports this function");
                    func.call(&mut caller, params, results)
                },
            )?;
        }
        Ok(self)
    }

    /// The default function of the module defined as `module_name`: its export named `""`, else
    /// its `_start`, else a function that takes nothing and does nothing (WASI's convention for
    /// running a module).
    pub fn get_default(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
    ) -> Result<Func>
    where
        T: 'static,
    {
        let store = store.as_context_mut();
        for name in ["", "_start"] {
            if let Some(item) = self.get(&mut *store, module_name, name) {
                return item.into_func().ok_or_else(|| {
                    Error::Link(format!(
                        "default export `{name}` of `{module_name}` is not a function"
                    ))
                });
            }
        }
        Ok(Func::wrap(store, || {}))
    }

    /// Defines `as_module::as_name` as whatever `module::name` is defined as.
    pub fn alias(
        &mut self,
        module: &str,
        name: &str,
        as_module: &str,
        as_name: &str,
    ) -> Result<&mut Self> {
        let def = self
            .definitions
            .get(&(module.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| unknown_import(module, name))?;
        self.insert(as_module, as_name, def)
    }

    /// Defines every name of `module` under `as_module` too.
    pub fn alias_module(&mut self, module: &str, as_module: &str) -> Result<&mut Self> {
        let mut items: Vec<(String, Definition<T>)> = self
            .definitions
            .iter()
            .filter(|((m, _), _)| m == module)
            .map(|((_, n), def)| (n.clone(), def.clone()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, def) in items {
            self.insert(as_module, &name, def)?;
        }
        Ok(self)
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

fn unknown_import(module: &str, name: &str) -> Error {
    Error::Link(format!(
        "unknown import: `{module}::{name}` has not been defined"
    ))
}

/// Makes the definitions' host functions in `store` and instantiates `module` with them.
fn instantiate_with<T>(
    store: &mut crate::Store<T>,
    module: &Module,
    definitions: Vec<Definition<T>>,
) -> Result<Instance> {
    let imports = define_imports(store, definitions)?;
    instantiate(store, module, &imports)
}

/// The externs of resolved definitions, host functions added to `store`.
pub(crate) fn define_imports<T>(
    store: &mut crate::Store<T>,
    definitions: Vec<Definition<T>>,
) -> Result<Vec<Extern>> {
    let mut imports = Vec::with_capacity(definitions.len());
    for def in definitions {
        imports.push(match def {
            Definition::Extern(e) => e,
            Definition::Host(ty, host) => Extern::Func(store.push_host_func(ty, host)?),
            Definition::AsyncHost(ty, host) => Extern::Func(store.push_async_host_func(ty, host)?),
        });
    }
    Ok(imports)
}

/// A module with its imports resolved by a [`Linker`], ready to instantiate in any store of the
/// linker's data type (see [`Linker::instantiate_pre`]).
pub struct InstancePre<T> {
    module: Module,
    definitions: Arc<Vec<Definition<T>>>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            definitions: self.definitions.clone(),
        }
    }
}

impl<T> InstancePre<T> {
    /// The module this instantiates.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The resolved definitions of the module's imports, in import order.
    pub(crate) fn definitions(&self) -> Vec<Definition<T>> {
        self.definitions.as_ref().clone()
    }

    /// Instantiates the module in `store`. Imports defined as externs (memories, globals, …)
    /// belong to the store they were made in, so those must be used with that store.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        instantiate_with(
            store.as_context_mut(),
            &self.module,
            self.definitions.as_ref().clone(),
        )
    }
}
