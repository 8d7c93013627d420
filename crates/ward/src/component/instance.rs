//! Instantiation of components and calls of component functions: [`Linker`], [`Instance`] and
//! [`Func`].
//!
//! Instantiation replays a `ComponentDef`'s definitions in order, rebuilding each index space in a
//! store: core modules are instantiated with [`crate::Instance::new`], `canon lift` pairs a core
//! function with its options (memory, `realloc`, `post-return`, string encoding) into a component
//! [`Func`], and `canon lower` makes a host function in the store that lifts its core arguments
//! from the caller's memory, calls the component function, and lowers the result back (`abi`).
//! Each component instance has the `may_enter`/`may_leave` flags the canonical ABI checks, a
//! handle table for resources (`resources`), and the resource types its definitions made.

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::abi::{self, FlatReader, GuestMemory, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::compiled::Component;
use super::definition::{
    CanonOptions, ComponentDef, CoreSort, Definition, ResourceIntrinsic, Sort, StringEncoding,
    TaskBuiltin,
};
use super::errors::trap;
use super::resources::{HandleTable, Removed, ResourceAny, ResourceRt, fresh_id};
use super::types::{FuncType, ResourceType, Type};
use super::val::Val;
use crate::store::{AsContextMut, Store};
use crate::{Engine, Error, Extern, Memory, Module, Result, ValType};

/// The canonical ABI's per-instance state.
#[derive(Debug)]
struct InstanceState {
    id: u64,
    /// Cleared while a call into the instance runs (and for good after a trap in it).
    may_enter: AtomicBool,
    /// Cleared while the instance runs `post-return`.
    may_leave: AtomicBool,
    handles: Mutex<HandleTable>,
    /// The run-time resource type behind each static resource id of the component's types.
    resources: Mutex<HashMap<ResourceType, Arc<ResourceRt>>>,
    /// For each call into the instance in progress (innermost last), how many borrowed handles
    /// it holds; each must be dropped before the call returns.
    borrow_scopes: Mutex<Vec<u32>>,
    /// The task-local storage (`context.get`/`context.set`) of each call into the instance in
    /// progress, innermost last; it lasts until the call's `post-return` is over.
    task_contexts: Mutex<Vec<[u32; TASK_CONTEXT_SLOTS]>>,
    /// The backpressure counter (`backpressure.inc`/`dec`); synchronous calls never wait on it.
    backpressure: Mutex<u32>,
}

/// The slots of task-local storage (the threading proposal's two).
const TASK_CONTEXT_SLOTS: usize = 2;

impl InstanceState {
    fn new() -> Arc<Self> {
        Arc::new(InstanceState {
            id: fresh_id(),
            may_enter: AtomicBool::new(true),
            may_leave: AtomicBool::new(true),
            handles: Mutex::default(),
            resources: Mutex::default(),
            borrow_scopes: Mutex::default(),
            task_contexts: Mutex::default(),
            backpressure: Mutex::default(),
        })
    }

    /// Traps unless the instance may call out (it may not while it runs `post-return`).
    fn check_may_leave(&self) -> Result<()> {
        if self.may_leave.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(trap("cannot leave component instance"))
        }
    }

    fn handles(&self) -> MutexGuard<'_, HandleTable> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn scopes(&self) -> MutexGuard<'_, Vec<u32>> {
        self.borrow_scopes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn task_contexts(&self) -> MutexGuard<'_, Vec<[u32; TASK_CONTEXT_SLOTS]>> {
        self.task_contexts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn resource_rt(&self, ty: &ResourceType) -> Option<Arc<ResourceRt>> {
        let resources = self.resources.lock().unwrap_or_else(|e| e.into_inner());
        resources.get(ty).cloned()
    }

    fn bind_resource(&self, ty: Option<ResourceType>, rt: Option<&Arc<ResourceRt>>) {
        if let (Some(ty), Some(rt)) = (ty, rt) {
            let mut resources = self.resources.lock().unwrap_or_else(|e| e.into_inner());
            resources.insert(ty, rt.clone());
        }
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
    instance: Arc<InstanceState>,
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
    Component(ComponentClosure),
    /// A type: its run-time resource type if it is a resource type.
    Type(Option<Arc<ResourceRt>>),
}

impl Item {
    fn sort(&self) -> Sort {
        match self {
            Item::Module(_) => Sort::Module,
            Item::Func(_) => Sort::Func,
            Item::Instance(_) => Sort::Instance,
            Item::Component(_) => Sort::Component,
            Item::Type(_) => Sort::Type,
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
            if *sort == Sort::Type && !self.definitions.contains_key(name) {
                // Checked where it is imported: only resource types need a definition.
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
        let closure = ComponentClosure {
            def: def.clone(),
            env: None,
        };
        instantiate(store, &closure, &self.definitions, 0)
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
    components: Vec<ComponentClosure>,
    types: Vec<Option<Arc<ResourceRt>>>,
}

/// A component definition with what it captured of the instances it was defined in: the modules
/// and components its outer aliases may name.
#[derive(Clone, Debug)]
struct ComponentClosure {
    def: Arc<ComponentDef>,
    env: Option<Arc<Env>>,
}

/// The module and component spaces of an instance as a nested component saw them when it was
/// defined, and the same for the instances around it.
#[derive(Debug)]
struct Env {
    modules: Vec<Module>,
    components: Vec<ComponentClosure>,
    parent: Option<Arc<Env>>,
}

impl Env {
    /// The environment `count` components out (1 is the defining instance).
    fn outer(env: Option<&Arc<Env>>, count: u32) -> Option<&Arc<Env>> {
        let mut at = env?;
        for _ in 1..count {
            at = at.parent.as_ref()?;
        }
        Some(at)
    }
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
            Sort::Type => self.types.get(index).cloned().map(Item::Type),
            Sort::Value => None,
        };
        item.ok_or_else(|| internal("component index out of range"))
    }

    fn push(&mut self, item: Item) {
        match item {
            Item::Module(m) => self.modules.push(m),
            Item::Func(f) => self.funcs.push(f),
            Item::Instance(i) => self.instances.push(i),
            Item::Component(c) => self.components.push(c),
            Item::Type(t) => self.types.push(t),
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
    closure: &ComponentClosure,
    imports: &HashMap<String, Item>,
    depth: usize,
) -> Result<Instance> {
    let def = &*closure.def;
    if depth > MAX_INSTANTIATION_DEPTH {
        return Err(Error::Instantiation(format!(
            "components nest more than {MAX_INSTANTIATION_DEPTH} instantiations deep"
        )));
    }
    let state = InstanceState::new();
    let mut spaces = Spaces::default();
    let mut exports = Vec::new();
    for definition in &def.definitions {
        match definition {
            Definition::Module(module) => spaces.modules.push(module.clone()),
            Definition::Component(component) => {
                let env = Env {
                    modules: spaces.modules.clone(),
                    components: spaces.components.clone(),
                    parent: closure.env.clone(),
                };
                spaces.components.push(ComponentClosure {
                    def: component.clone(),
                    env: Some(Arc::new(env)),
                });
            }
            Definition::OuterAlias {
                sort,
                count: 0,
                index,
            } => {
                // An alias of this component's own item.
                let item = spaces.item(*sort, *index)?;
                spaces.push(item);
            }
            Definition::OuterAlias { sort, count, index } => {
                let env = Env::outer(closure.env.as_ref(), *count)
                    .ok_or_else(|| internal("an outer alias beyond the captured environment"))?;
                let item = match sort {
                    Sort::Module => env.modules.get(*index as usize).cloned().map(Item::Module),
                    _ => env
                        .components
                        .get(*index as usize)
                        .cloned()
                        .map(Item::Component),
                };
                spaces.push(item.ok_or_else(|| internal("outer alias index out of range"))?);
            }
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
                // Arguments are lifted with the lowering component's view of the type: its
                // resource types are the ones its instance knows.
                let ty = def
                    .func_types
                    .get(*func as usize)
                    .cloned()
                    .ok_or_else(|| internal("no type for a lowered function"))?;
                let core = lower(store, callee, ty, options, state.clone())?;
                spaces.core_funcs.push(core);
            }
            Definition::ResourceIntrinsic {
                intrinsic,
                resource,
            } => {
                let rt = spaces
                    .types
                    .get(*resource as usize)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| internal("a resource builtin of a type that is no resource"))?;
                let core = resource_intrinsic(store, *intrinsic, rt, state.clone())?;
                spaces.core_funcs.push(core);
            }
            Definition::TaskBuiltin(builtin) => {
                let core = task_builtin(store, *builtin, state.clone())?;
                spaces.core_funcs.push(core);
            }
            Definition::UnsupportedBuiltin {
                feature,
                signature,
                offset,
            } => {
                let state = state.clone();
                let (feature, offset) = (feature.clone(), *offset);
                let core = crate::Func::new(&mut *store, signature.clone(), move |_, _, _| {
                    state.check_may_leave()?;
                    Err(Error::Unsupported {
                        feature: feature.clone(),
                        offset,
                    })
                })?;
                spaces.core_funcs.push(core);
            }
            Definition::DefineResource { id, dtor } => {
                let dtor = dtor
                    .map(|i| {
                        spaces
                            .core_funcs
                            .get(i as usize)
                            .copied()
                            .ok_or_else(|| internal("destructor index out of range"))
                    })
                    .transpose()?;
                let rt = Arc::new(ResourceRt {
                    id: fresh_id(),
                    owner: state.id,
                    dtor,
                });
                state.bind_resource(Some(*id), Some(&rt));
                spaces.types.push(Some(rt));
            }
            Definition::Type { resource } => {
                let rt = resource.and_then(|r| state.resource_rt(&r));
                spaces.types.push(rt);
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
                        instance: state.clone(),
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
                resource,
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
                if let Item::Type(rt) = &item {
                    state.bind_resource(*resource, rt.as_ref());
                }
                spaces.push(item);
            }
            Definition::Import {
                name,
                sort,
                resource,
            } => {
                let item = match imports.get(name) {
                    Some(item) => item.clone(),
                    // A type that is not a resource needs nothing at run time.
                    None if *sort == Sort::Type && resource.is_none() => Item::Type(None),
                    None => {
                        return Err(Error::Link(format!(
                            "component import `{name}` has no definition"
                        )));
                    }
                };
                if let Item::Type(rt) = &item {
                    state.bind_resource(*resource, rt.as_ref());
                }
                if item.sort() != *sort {
                    return Err(Error::Link(format!(
                        "component import `{name}` expects a {}, found a {}",
                        sort.name(),
                        item.sort().name()
                    )));
                }
                // Nested instantiations were checked by the validator; only the host's
                // definitions need a check.
                if let (0, Item::Func(f), Some(expected)) =
                    (depth, &item, def.func_types.get(spaces.funcs.len()))
                    && !same_shape(&f.inner.ty, expected)
                {
                    return Err(Error::Link(format!(
                        "component import `{name}` has the wrong function type"
                    )));
                }
                spaces.push(item);
            }
            Definition::Export {
                name,
                sort,
                index,
                resource,
            } => {
                let item = spaces.item(*sort, *index)?;
                if let Item::Type(rt) = &item {
                    state.bind_resource(*resource, rt.as_ref());
                }
                exports.push((name.clone(), item.clone()));
                spaces.push(item);
            }
        }
    }
    Ok(Instance {
        exports: Arc::new(exports),
    })
}

/// Whether two function types have the same shape: the same names and types, resource types
/// compared as resources (their identities are checked when handles are used).
fn same_shape(a: &FuncType, b: &FuncType) -> bool {
    let text = |ty: &FuncType| {
        let params: Vec<String> = ty.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let result = ty.result.as_ref().map(|t| t.to_string());
        (params, result)
    };
    text(a) == text(b)
}

/// A store's memory and `realloc`, and an instance's handle table, as the canonical ABI's
/// [`GuestMemory`].
struct StoreMemory<'s, T> {
    store: &'s mut Store<T>,
    memory: Option<Memory>,
    realloc: Option<crate::Func>,
    /// Whether the host is on the other side (see [`GuestMemory::host_boundary`]).
    host: bool,
    /// The instance whose handles the values' resources come from or go to.
    instance: Arc<InstanceState>,
    /// Owned handles lent to the call as borrows, returned once it is over.
    lent: RefCell<Vec<u32>>,
}

impl<'s, T> StoreMemory<'s, T> {
    fn new(
        store: &'s mut Store<T>,
        options: &ResolvedOptions,
        instance: &Arc<InstanceState>,
        host: bool,
    ) -> Self {
        StoreMemory {
            store,
            memory: options.memory,
            realloc: options.realloc,
            host,
            instance: instance.clone(),
            lent: RefCell::default(),
        }
    }

    /// Returns the handles lent for the call.
    fn end_lends(&self) {
        let mut handles = self.instance.handles();
        for handle in self.lent.borrow_mut().drain(..) {
            handles.unlend(handle);
        }
    }
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

    fn lift_own(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let expected = self.instance.resource_rt(ty);
        self.instance
            .handles()
            .take_own(handle, expected.as_deref())
    }

    fn lift_borrow(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let expected = self.instance.resource_rt(ty);
        let mut handles = self.instance.handles();
        let (rt, rep) = handles.rep(handle, expected.as_deref())?;
        if handles.lend(handle)? {
            self.lent.borrow_mut().push(handle);
        }
        Ok(ResourceAny {
            ty: rt,
            rep,
            own: false,
        })
    }

    fn lower_own(&self, resource: &ResourceAny) -> Result<u32> {
        self.instance
            .handles()
            .insert_own(resource.ty.clone(), resource.rep)
    }

    fn lower_borrow(&self, resource: &ResourceAny) -> Result<u32> {
        // The instance that defines the resource type sees the representation itself.
        if resource.ty.owner == self.instance.id {
            return Ok(resource.rep);
        }
        let mut scopes = self.instance.scopes();
        let scope = scopes
            .len()
            .checked_sub(1)
            .ok_or_else(|| internal("a borrow lowered outside a call"))?;
        scopes[scope] += 1;
        drop(scopes);
        self.instance
            .handles()
            .insert_borrow(resource.ty.clone(), resource.rep, scope)
    }
}

/// Makes the core function of a task builtin for instance `state`.
fn task_builtin<T: 'static>(
    store: &mut Store<T>,
    builtin: TaskBuiltin,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let slot_of = |slot: u32| -> Result<usize> {
        let slot = slot as usize;
        if slot < TASK_CONTEXT_SLOTS {
            Ok(slot)
        } else {
            Err(Error::Unsupported {
                feature: format!("task-local storage slot {slot}"),
                offset: 0,
            })
        }
    };
    let no_task = || trap("task-local storage used outside a call into the component");
    match builtin {
        TaskBuiltin::ContextGet(slot) => {
            let slot = slot_of(slot)?;
            crate::Func::new(
                &mut *store,
                crate::FuncType::new([], [ValType::I32]),
                move |_, _, results| {
                    let contexts = state.task_contexts();
                    let value = contexts.last().ok_or_else(no_task)?[slot];
                    results[0] = crate::Val::I32(value as i32);
                    Ok(())
                },
            )
        }
        TaskBuiltin::ContextSet(slot) => {
            let slot = slot_of(slot)?;
            crate::Func::new(
                &mut *store,
                crate::FuncType::new([ValType::I32], []),
                move |_, args, _| {
                    let value = core_u32(args.first())?;
                    let mut contexts = state.task_contexts();
                    contexts.last_mut().ok_or_else(no_task)?[slot] = value;
                    Ok(())
                },
            )
        }
        TaskBuiltin::BackpressureInc | TaskBuiltin::BackpressureDec => {
            let increment = builtin == TaskBuiltin::BackpressureInc;
            crate::Func::new(&mut *store, crate::FuncType::new([], []), move |_, _, _| {
                let mut counter = state.backpressure.lock().unwrap_or_else(|e| e.into_inner());
                *counter = if increment {
                    counter
                        .checked_add(1)
                        .filter(|c| *c <= u32::from(u16::MAX))
                        .ok_or_else(|| trap("backpressure counter overflow"))?
                } else {
                    counter
                        .checked_sub(1)
                        .ok_or_else(|| trap("backpressure counter underflow"))?
                };
                Ok(())
            })
        }
    }
}

/// Makes the core function of `resource.new`, `resource.rep` or `resource.drop` of resource type
/// `rt` in instance `state`.
fn resource_intrinsic<T: 'static>(
    store: &mut Store<T>,
    intrinsic: ResourceIntrinsic,
    rt: Arc<ResourceRt>,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let i32_arg = |args: &[crate::Val]| core_u32(args.first());
    match intrinsic {
        ResourceIntrinsic::New => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], [ValType::I32]),
            move |_, args, results| {
                state.check_may_leave()?;
                let handle = state.handles().insert_own(rt.clone(), i32_arg(args)?)?;
                results[0] = crate::Val::I32(handle as i32);
                Ok(())
            },
        ),
        ResourceIntrinsic::Rep => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], [ValType::I32]),
            // `resource.rep` may be called from `post-return`: it does not leave the instance.
            move |_, args, results| {
                let (_, rep) = state.handles().rep(i32_arg(args)?, Some(&rt))?;
                results[0] = crate::Val::I32(rep as i32);
                Ok(())
            },
        ),
        ResourceIntrinsic::Drop => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], []),
            move |caller, args, _| {
                state.check_may_leave()?;
                let removed = state.handles().remove(i32_arg(args)?, Some(&rt))?;
                match removed {
                    Removed::Own(resource) => {
                        if let Some(dtor) = resource.ty.dtor {
                            let rep = crate::Val::I32(resource.rep as i32);
                            dtor.call(caller.store, &[rep], &mut [])?;
                        }
                    }
                    Removed::Borrow { scope } => {
                        if let Some(count) = state.scopes().get_mut(scope) {
                            *count = count.saturating_sub(1);
                        }
                    }
                }
                Ok(())
            },
        ),
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

/// Makes the core function of `canon lower` of `callee` (whose type, as the lowering component
/// sees it, is `ty`) for instance `state`.
fn lower<T: 'static>(
    store: &mut Store<T>,
    callee: Func,
    ty: FuncType,
    options: ResolvedOptions,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let signature = lowered_signature(&ty);
    crate::Func::new(&mut *store, signature, move |caller, args, results| {
        state.check_may_leave()?;
        let params = param_types(&ty);
        let flat_params = abi::flatten_all(params.iter());
        let mut memory = StoreMemory::new(caller.store, &options, &state, false);
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
        let result = callee.call_values(memory.store, &values, false);
        memory.end_lends();
        let result = result?;
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
                    return Err(trap("unaligned pointer"));
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
            instance,
        } = &*self.inner;
        if !instance.may_enter.swap(false, Ordering::Relaxed) {
            return Err(trap("cannot enter component instance"));
        }
        instance.scopes().push(0);
        instance.task_contexts().push([0; TASK_CONTEXT_SLOTS]);
        let types = param_types(ty);
        let mut memory = StoreMemory::new(store, options, instance, host);
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
        let borrows_left = instance.scopes().pop().unwrap_or(0);
        if borrows_left != 0 {
            return Err(trap("borrow handles still remain at the end of the call"));
        }
        let memory = StoreMemory::new(store, options, instance, host);
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
            instance.may_leave.store(false, Ordering::Relaxed);
            post_return.call(&mut *store, &core_results, &mut [])?;
            instance.may_leave.store(true, Ordering::Relaxed);
        }
        instance.task_contexts().pop();
        instance.may_enter.store(true, Ordering::Relaxed);
        Ok(result)
    }
}
