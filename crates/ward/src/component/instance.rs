//! Instantiation of components and calls of component functions: [`Linker`], [`Instance`] and
//! [`Func`].
//!
//! Instantiation replays a `ComponentDef`'s definitions in order, rebuilding each index space in a
//! store: core modules are instantiated with [`crate::Instance::new`], `canon lift` pairs a core
//! function with its options (memory, `realloc`, `post-return`, string encoding) into a component
//! [`Func`], and `canon lower` makes a host function in the store that lifts its core arguments
//! from the caller's memory, calls the component function, and lowers the result back (`abi`).
//! Each component instance has the `may_enter`/`may_leave` flags the canonical ABI checks.
//! Resources are not instantiated yet: `resource.new`/`drop`/`rep` fail with
//! [`Error::Unsupported`].

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Component;
use super::abi::{self, FlatReader, GuestMemory, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::definition::{CanonOptions, ComponentDef, CoreSort, Definition, Sort, StringEncoding};
use super::types::{FuncType, Type};
use super::val::Val;
use crate::store::{AsContextMut, Store};
use crate::{Engine, Error, Extern, Memory, Module, Result, ValType};

/// The canonical ABI's per-instance flags.
#[derive(Debug)]
struct InstanceFlags {
    /// Cleared while a call into the instance runs (and for good after a trap in it).
    may_enter: AtomicBool,
    /// Cleared while the instance runs `post-return`.
    may_leave: AtomicBool,
}

impl InstanceFlags {
    fn new() -> Arc<Self> {
        Arc::new(InstanceFlags {
            may_enter: AtomicBool::new(true),
            may_leave: AtomicBool::new(true),
        })
    }
}

/// A component function: a core function lifted with `canon lift`.
#[derive(Clone, Debug)]
pub struct Func {
    inner: Arc<FuncInner>,
}

#[derive(Debug)]
struct FuncInner {
    ty: FuncType,
    core: crate::Func,
    options: ResolvedOptions,
    flags: Arc<InstanceFlags>,
}

/// Canonical options with their indices resolved to items of a store.
#[derive(Debug, Clone, Default)]
struct ResolvedOptions {
    encoding: StringEncoding,
    memory: Option<Memory>,
    realloc: Option<crate::Func>,
    post_return: Option<crate::Func>,
}

/// Something a component instance exports, or a component imports.
#[derive(Clone, Debug)]
enum Item {
    Module(Module),
    Func(Func),
    Instance(Instance),
    Component(Arc<ComponentDef>),
}

impl Item {
    fn sort(&self) -> Sort {
        match self {
            Item::Module(_) => Sort::Module,
            Item::Func(_) => Sort::Func,
            Item::Instance(_) => Sort::Instance,
            Item::Component(_) => Sort::Component,
        }
    }
}

/// An instance of a component: its exports by name.
#[derive(Clone, Debug)]
pub struct Instance {
    exports: Arc<Vec<(String, Item)>>,
}

impl Instance {
    fn export(&self, name: &str) -> Option<&Item> {
        self.exports.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }

    /// The exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.export(name)? {
            Item::Func(f) => Some(f.clone()),
            _ => None,
        }
    }

    /// The exported instance `name`.
    pub fn get_instance(&self, name: &str) -> Option<Instance> {
        match self.export(name)? {
            Item::Instance(i) => Some(i.clone()),
            _ => None,
        }
    }

    /// The names of the exports, in order.
    pub fn export_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.exports.iter().map(|(n, _)| n.as_str())
    }
}

/// Resolves a component's imports and instantiates it. Imports are defined by name: functions
/// ([`Linker::define_func`]) and instances ([`Linker::define_instance`]) of other components.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<String, Item>,
    _data: PhantomData<fn(T) -> T>,
}

impl<T: 'static> Linker<T> {
    /// A linker with no definitions.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            _data: PhantomData,
        }
    }

    /// The engine of the linker.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Defines the import `name` as component function `func`.
    pub fn define_func(&mut self, name: &str, func: Func) -> &mut Self {
        self.definitions.insert(name.to_string(), Item::Func(func));
        self
    }

    /// Defines the import `name` as component instance `instance`.
    pub fn define_instance(&mut self, name: &str, instance: Instance) -> &mut Self {
        self.definitions
            .insert(name.to_string(), Item::Instance(instance));
        self
    }

    /// Instantiates `component` in `store`.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance> {
        let store = store.as_context_mut();
        let def = &component.inner.def;
        for (name, sort) in &def.imports {
            if matches!(sort, Sort::Type) {
                continue;
            }
            let Some(item) = self.definitions.get(name) else {
                return Err(Error::Link(format!(
                    "component import `{name}` ({}) has no definition",
                    sort.name()
                )));
            };
            if item.sort() != *sort {
                return Err(Error::Link(format!(
                    "component import `{name}` expects a {}, found a {}",
                    sort.name(),
                    item.sort().name()
                )));
            }
        }
        instantiate(store, def, &self.definitions, 0)
    }
}

/// Deepest nesting of component instantiations (each `instantiate` of a nested component adds
/// one); bounds the host stack a hostile component can use.
const MAX_INSTANTIATION_DEPTH: usize = 100;

/// A core instance: a module's instance or a bundle of core items.
#[derive(Clone)]
enum CoreInstance {
    Module(crate::Instance),
    Bundle(Arc<Vec<(String, Extern)>>),
}

/// The index spaces of one component instance under construction.
#[derive(Default)]
struct Spaces {
    core_funcs: Vec<crate::Func>,
    core_tables: Vec<Extern>,
    core_memories: Vec<Extern>,
    core_globals: Vec<Extern>,
    core_tags: Vec<Extern>,
    core_instances: Vec<CoreInstance>,
    modules: Vec<Module>,
    funcs: Vec<Func>,
    instances: Vec<Instance>,
    components: Vec<Arc<ComponentDef>>,
}

fn internal(what: &str) -> Error {
    Error::Instantiation(format!("internal error: {what}"))
}

impl Spaces {
    fn core_extern(&self, sort: CoreSort, index: u32) -> Result<Extern> {
        let index = index as usize;
        let item = match sort {
            CoreSort::Func => self.core_funcs.get(index).map(|f| Extern::Func(*f)),
            CoreSort::Table => self.core_tables.get(index).cloned(),
            CoreSort::Memory => self.core_memories.get(index).cloned(),
            CoreSort::Global => self.core_globals.get(index).cloned(),
            CoreSort::Tag => self.core_tags.get(index).cloned(),
        };
        item.ok_or_else(|| internal("core index out of range"))
    }

    fn push_core(&mut self, sort: CoreSort, item: Extern) -> Result<()> {
        match sort {
            CoreSort::Func => self.core_funcs.push(
                item.into_func()
                    .ok_or_else(|| internal("core alias of the wrong sort"))?,
            ),
            CoreSort::Table => self.core_tables.push(item),
            CoreSort::Memory => self.core_memories.push(item),
            CoreSort::Global => self.core_globals.push(item),
            CoreSort::Tag => self.core_tags.push(item),
        }
        Ok(())
    }

    fn item(&self, sort: Sort, index: u32) -> Result<Item> {
        let index = index as usize;
        let item = match sort {
            Sort::Module => self.modules.get(index).cloned().map(Item::Module),
            Sort::Func => self.funcs.get(index).cloned().map(Item::Func),
            Sort::Instance => self.instances.get(index).cloned().map(Item::Instance),
            Sort::Component => self.components.get(index).cloned().map(Item::Component),
            Sort::Type | Sort::Value => None,
        };
        item.ok_or_else(|| internal("component index out of range"))
    }

    fn push(&mut self, item: Item) {
        match item {
            Item::Module(m) => self.modules.push(m),
            Item::Func(f) => self.funcs.push(f),
            Item::Instance(i) => self.instances.push(i),
            Item::Component(c) => self.components.push(c),
        }
    }

    fn resolve_options(&self, options: &CanonOptions) -> Result<ResolvedOptions> {
        let memory = match options.memory {
            None => None,
            Some(i) => match self.core_extern(CoreSort::Memory, i)? {
                Extern::Memory(m) => Some(m),
                _ => {
                    return Err(Error::Instantiation(
                        "canonical options name a shared memory, which ward does not support here"
                            .into(),
                    ));
                }
            },
        };
        let func = |i: Option<u32>| -> Result<Option<crate::Func>> {
            i.map(|i| {
                self.core_funcs
                    .get(i as usize)
                    .copied()
                    .ok_or_else(|| internal("core function index out of range"))
            })
            .transpose()
        };
        Ok(ResolvedOptions {
            encoding: options.string_encoding,
            memory,
            realloc: func(options.realloc)?,
            post_return: func(options.post_return)?,
        })
    }
}

fn core_instance_export<T>(
    store: &Store<T>,
    instance: &CoreInstance,
    name: &str,
) -> Option<Extern> {
    match instance {
        CoreInstance::Module(i) => i.get_export(store, name),
        CoreInstance::Bundle(items) => items
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone()),
    }
}

fn instantiate<T: 'static>(
    store: &mut Store<T>,
    def: &ComponentDef,
    imports: &HashMap<String, Item>,
    depth: usize,
) -> Result<Instance> {
    if depth > MAX_INSTANTIATION_DEPTH {
        return Err(Error::Instantiation(format!(
            "components nest more than {MAX_INSTANTIATION_DEPTH} instantiations deep"
        )));
    }
    let flags = InstanceFlags::new();
    let mut spaces = Spaces::default();
    let mut exports = Vec::new();
    for definition in &def.definitions {
        match definition {
            Definition::Module(module) => spaces.modules.push(module.clone()),
            Definition::Component(component) => spaces.components.push(component.clone()),
            Definition::CoreInstantiate { module, args } => {
                let module = spaces
                    .modules
                    .get(*module as usize)
                    .cloned()
                    .ok_or_else(|| internal("module index out of range"))?;
                let mut resolved = Vec::with_capacity(module.imports().len());
                for (module_name, name, _) in module.imports() {
                    let (_, instance) = args
                        .iter()
                        .find(|(arg, _)| arg == module_name)
                        .ok_or_else(|| {
                            Error::Link(format!(
                                "no instance given for core import module `{module_name}`"
                            ))
                        })?;
                    let instance = spaces
                        .core_instances
                        .get(*instance as usize)
                        .ok_or_else(|| internal("core instance index out of range"))?;
                    let item = core_instance_export(store, instance, name).ok_or_else(|| {
                        Error::Link(format!(
                            "core import `{module_name}::{name}` is not exported"
                        ))
                    })?;
                    resolved.push(item);
                }
                let instance = crate::Instance::new(&mut *store, &module, &resolved)?;
                spaces.core_instances.push(CoreInstance::Module(instance));
            }
            Definition::CoreInstanceFromExports(items) => {
                let bundle = items
                    .iter()
                    .map(|(name, sort, index)| {
                        Ok((name.clone(), spaces.core_extern(*sort, *index)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                spaces
                    .core_instances
                    .push(CoreInstance::Bundle(Arc::new(bundle)));
            }
            Definition::CoreAlias {
                instance,
                name,
                sort,
            } => {
                let instance = spaces
                    .core_instances
                    .get(*instance as usize)
                    .ok_or_else(|| internal("core instance index out of range"))?;
                let item = core_instance_export(store, instance, name)
                    .ok_or_else(|| internal("core alias of a missing export"))?;
                spaces.push_core(*sort, item)?;
            }
            Definition::Lower { func, options } => {
                let callee = spaces
                    .funcs
                    .get(*func as usize)
                    .cloned()
                    .ok_or_else(|| internal("function index out of range"))?;
                let options = spaces.resolve_options(options)?;
                let core = lower(store, callee, options, flags.clone())?;
                spaces.core_funcs.push(core);
            }
            Definition::ResourceIntrinsic { what, offset } => {
                return Err(Error::Unsupported {
                    feature: format!("resources: `canon {what}`"),
                    offset: *offset,
                });
            }
            Definition::Lift { core_func, options } => {
                let ty = def
                    .func_types
                    .get(spaces.funcs.len())
                    .cloned()
                    .ok_or_else(|| internal("no type for a lifted function"))?;
                let core = spaces
                    .core_funcs
                    .get(*core_func as usize)
                    .copied()
                    .ok_or_else(|| internal("core function index out of range"))?;
                let options = spaces.resolve_options(options)?;
                spaces.funcs.push(Func {
                    inner: Arc::new(FuncInner {
                        ty,
                        core,
                        options,
                        flags: flags.clone(),
                    }),
                });
            }
            Definition::Instantiate { component, args } => {
                let component = spaces
                    .components
                    .get(*component as usize)
                    .cloned()
                    .ok_or_else(|| internal("component index out of range"))?;
                let mut nested_imports = HashMap::new();
                for (name, sort, index) in args {
                    nested_imports.insert(name.clone(), spaces.item(*sort, *index)?);
                }
                let instance = instantiate(store, &component, &nested_imports, depth + 1)?;
                spaces.instances.push(instance);
            }
            Definition::InstanceFromExports(items) => {
                let items = items
                    .iter()
                    .map(|(name, sort, index)| Ok((name.clone(), spaces.item(*sort, *index)?)))
                    .collect::<Result<Vec<_>>>()?;
                spaces.instances.push(Instance {
                    exports: Arc::new(items),
                });
            }
            Definition::Alias {
                instance,
                name,
                sort,
            } => {
                let instance = spaces
                    .instances
                    .get(*instance as usize)
                    .ok_or_else(|| internal("instance index out of range"))?;
                let item = instance
                    .export(name)
                    .cloned()
                    .ok_or_else(|| internal("alias of a missing export"))?;
                if item.sort() != *sort {
                    return Err(internal("alias of the wrong sort"));
                }
                spaces.push(item);
            }
            Definition::Import { name, sort } => {
                let item = imports.get(name).cloned().ok_or_else(|| {
                    Error::Link(format!("component import `{name}` has no definition"))
                })?;
                if item.sort() != *sort {
                    return Err(Error::Link(format!(
                        "component import `{name}` expects a {}, found a {}",
                        sort.name(),
                        item.sort().name()
                    )));
                }
                if let (Item::Func(f), Some(expected)) =
                    (&item, def.func_types.get(spaces.funcs.len()))
                    && f.inner.ty != *expected
                {
                    return Err(Error::Link(format!(
                        "component import `{name}` has the wrong function type"
                    )));
                }
                spaces.push(item);
            }
            Definition::Export { name, sort, index } => {
                let item = spaces.item(*sort, *index)?;
                exports.push((name.clone(), item.clone()));
                spaces.push(item);
            }
        }
    }
    Ok(Instance {
        exports: Arc::new(exports),
    })
}

/// A store's memory and `realloc` as the canonical ABI's [`GuestMemory`].
struct StoreMemory<'s, T> {
    store: &'s mut Store<T>,
    memory: Option<Memory>,
    realloc: Option<crate::Func>,
    /// Whether the host is on the other side (see [`GuestMemory::host_boundary`]).
    host: bool,
}

impl<T> GuestMemory for StoreMemory<'_, T> {
    fn bytes(&self) -> Result<&[u8]> {
        let memory = self
            .memory
            .ok_or_else(|| Error::Usage("the canonical options name no memory".into()))?;
        Ok(memory.data(&*self.store))
    }

    fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        let memory = self
            .memory
            .ok_or_else(|| Error::Usage("the canonical options name no memory".into()))?;
        Ok(memory.data_mut(&mut *self.store))
    }

    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let realloc = self
            .realloc
            .ok_or_else(|| Error::Usage("the canonical options name no realloc".into()))?;
        let args = [old_ptr, old_size, align, new_size].map(|x| crate::Val::I32(x as i32));
        let mut result = [crate::Val::I32(0)];
        realloc.call(&mut *self.store, &args, &mut result)?;
        match result[0] {
            crate::Val::I32(ptr) => Ok(ptr as u32),
            _ => Err(internal("realloc returned a non-i32")),
        }
    }

    fn host_boundary(&self) -> bool {
        self.host
    }
}

fn param_types(ty: &FuncType) -> Vec<Type> {
    ty.params.iter().map(|(_, t)| t.clone()).collect()
}

/// The core signature `canon lower` gives a component function of type `ty`.
fn lowered_signature(ty: &FuncType) -> crate::FuncType {
    let mut params = abi::flatten_all(ty.params.iter().map(|(_, t)| t));
    if params.len() > MAX_FLAT_PARAMS {
        params = vec![ValType::I32];
    }
    let mut results = abi::flatten_all(ty.result.iter());
    if results.len() > MAX_FLAT_RESULTS {
        params.push(ValType::I32);
        results.clear();
    }
    crate::FuncType::new(params, results)
}

/// Makes the core function of `canon lower` of `callee`, for an instance with `flags`.
fn lower<T: 'static>(
    store: &mut Store<T>,
    callee: Func,
    options: ResolvedOptions,
    flags: Arc<InstanceFlags>,
) -> Result<crate::Func> {
    let signature = lowered_signature(&callee.inner.ty);
    crate::Func::new(&mut *store, signature, move |caller, args, results| {
        if !flags.may_leave.load(Ordering::Relaxed) {
            return Err(abi::trap("cannot leave component instance"));
        }
        let store = caller.store;
        let ty = &callee.inner.ty;
        let params = param_types(ty);
        let flat_params = abi::flatten_all(params.iter());
        let mut memory = StoreMemory {
            store,
            memory: options.memory,
            realloc: options.realloc,
            host: false,
        };
        let values = if flat_params.len() <= MAX_FLAT_PARAMS {
            let mut reader = FlatReader::new(args);
            params
                .iter()
                .map(|t| abi::lift_flat(&memory, options.encoding, &mut reader, t))
                .collect::<Result<Vec<_>>>()?
        } else {
            let ptr = core_u32(args.first())?;
            abi::load_spilled(&memory, options.encoding, ptr, &params)?
        };
        let result = callee.call_values(memory.store, &values, false)?;
        if let (Some(t), Some(value)) = (&ty.result, &result) {
            let flat_results = abi::flatten_all(std::iter::once(t));
            if flat_results.len() <= MAX_FLAT_RESULTS {
                let mut out = Vec::new();
                abi::lower_flat(&mut memory, options.encoding, value, t, &mut out)?;
                for (slot, v) in results.iter_mut().zip(out) {
                    *slot = v;
                }
            } else {
                let ptr = core_u32(args.last())?;
                if !ptr.is_multiple_of(abi::alignment(t)) {
                    return Err(abi::trap("unaligned pointer"));
                }
                abi::store(&mut memory, options.encoding, value, t, ptr)?;
            }
        }
        Ok(())
    })
}

fn core_u32(value: Option<&crate::Val>) -> Result<u32> {
    match value {
        Some(crate::Val::I32(x)) => Ok(*x as u32),
        _ => Err(internal("expected an i32 pointer")),
    }
}

impl Func {
    /// The function's component type.
    pub fn ty(&self) -> &FuncType {
        &self.inner.ty
    }

    /// Calls the function with `params`, writing its result (if it has one) to `results`, which
    /// must have room for exactly that many values. Runs the `post-return` function, if any,
    /// before returning.
    pub fn call<T>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let ty = &self.inner.ty;
        if params.len() != ty.params.len() {
            return Err(Error::Usage(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                params.len()
            )));
        }
        let expected_results = usize::from(ty.result.is_some());
        if results.len() != expected_results {
            return Err(Error::Usage(format!(
                "expected room for {expected_results} results, got {}",
                results.len()
            )));
        }
        for (value, (_, t)) in params.iter().zip(ty.params.iter()) {
            value.check(t)?;
        }
        if let Some(result) = self.call_values(store.as_context_mut(), params, true)? {
            results[0] = result;
        }
        Ok(())
    }

    /// Lowers `params` into the callee, calls its core function, lifts the result and runs
    /// `post-return`; `host` says whether the caller is the host or another component.
    fn call_values<T>(
        &self,
        store: &mut Store<T>,
        params: &[Val],
        host: bool,
    ) -> Result<Option<Val>> {
        let FuncInner {
            ty,
            core,
            options,
            flags,
        } = &*self.inner;
        if !flags.may_enter.swap(false, Ordering::Relaxed) {
            return Err(abi::trap("cannot enter component instance"));
        }
        let types = param_types(ty);
        let mut memory = StoreMemory {
            store,
            memory: options.memory,
            realloc: options.realloc,
            host,
        };
        let flat_params = abi::flatten_all(types.iter());
        let mut core_args = Vec::with_capacity(flat_params.len());
        if flat_params.len() <= MAX_FLAT_PARAMS {
            for (value, t) in params.iter().zip(&types) {
                abi::lower_flat(&mut memory, options.encoding, value, t, &mut core_args)?;
            }
        } else {
            let ptr = abi::store_spilled(&mut memory, options.encoding, params, &types)?;
            core_args.push(crate::Val::I32(ptr as i32));
        }
        let store = memory.store;
        let core_ty = core.ty(&*store);
        let mut core_results: Vec<crate::Val> = core_ty
            .results()
            .iter()
            .map(|t| crate::Val::default_for(*t).unwrap_or(crate::Val::I32(0)))
            .collect();
        core.call(&mut *store, &core_args, &mut core_results)?;
        let memory = StoreMemory {
            store,
            memory: options.memory,
            realloc: options.realloc,
            host,
        };
        let result = match &ty.result {
            None => None,
            Some(t) => {
                let flat = abi::flatten_all(std::iter::once(t));
                if flat.len() <= MAX_FLAT_RESULTS {
                    let mut reader = FlatReader::new(&core_results);
                    Some(abi::lift_flat(&memory, options.encoding, &mut reader, t)?)
                } else {
                    let ptr = core_u32(core_results.first())?;
                    let mut values =
                        abi::load_spilled(&memory, options.encoding, ptr, std::slice::from_ref(t))?;
                    values.pop()
                }
            }
        };
        let store = memory.store;
        if let Some(post_return) = options.post_return {
            flags.may_leave.store(false, Ordering::Relaxed);
            post_return.call(&mut *store, &core_results, &mut [])?;
            flags.may_leave.store(true, Ordering::Relaxed);
        }
        flags.may_enter.store(true, Ordering::Relaxed);
        Ok(result)
    }
}
