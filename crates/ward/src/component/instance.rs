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

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use super::builtins::{resource_intrinsic, task_builtin, unsupported_builtin};
use super::compiled::Component;
use super::definition::{CanonOptions, ComponentDef, CoreSort, Definition, Sort};
use super::errors::internal;
use super::func::{Func, HostFunc, ResolvedOptions, lower, same_shape, task_return};
use super::resources::{Dtor, HostDtor, HostResource, ResourceRt};
use super::state::InstanceState;
use super::typed::{ComponentParams, ComponentResults, TypedFunc};
use super::val::Val;
use crate::store::{AsContextMut, Store, StoreContextMut};
use crate::{Engine, Error, Extern, Module, Result};

/// Something a component instance exports, or a component imports.
#[derive(Clone, Debug)]
enum Item {
    Module(Module),
    Func(Func),
    Instance(Instance),
    Component(ComponentClosure),
    /// A type: its run-time resource type if it is a resource type.
    Type(Option<Arc<ResourceRt>>),
    /// A host function, which gets its type when it enters a component's function space.
    HostFunc(HostFunc),
}

impl Item {
    /// The item as it enters the function space at `index` of `def`: a host function takes the
    /// type the component gives that function.
    fn typed(self, def: &ComponentDef, index: usize) -> Result<Item> {
        match self {
            Item::HostFunc(host) => {
                let ty = def
                    .func_types
                    .get(index)
                    .cloned()
                    .ok_or_else(|| internal("no type for an imported function"))?;
                Ok(Item::Func(Func::host(ty, host)))
            }
            item => Ok(item),
        }
    }
}

impl Item {
    fn sort(&self) -> Sort {
        match self {
            Item::Module(_) => Sort::Module,
            Item::Func(_) | Item::HostFunc(_) => Sort::Func,
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

    /// The exported function `name` as a [`TypedFunc`], checked to take `Params` and return
    /// `Results` (`()` for no result, `(R,)` for one).
    ///
    /// ```
    /// use ward::Engine;
    /// use ward::component::{Component, Linker};
    ///
    /// let engine = Engine::default();
    /// let component = Component::new(&engine, r#"
    ///     (component
    ///       (core module $m (func (export "add") (param i32 i32) (result i32)
    ///         (i32.add (local.get 0) (local.get 1))))
    ///       (core instance $i (instantiate $m))
    ///       (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    ///         (canon lift (core func $i "add"))))
    /// "#)?;
    /// let mut store = ward::Store::new(&engine, ());
    /// let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
    /// let add = instance.get_typed_func::<(u32, u32), (u32,)>("add")?;
    /// assert_eq!(add.call(&mut store, (40, 2))?, (42,));
    /// assert!(instance.get_typed_func::<(String,), (u32,)>("add").is_err());
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn get_typed_func<Params: ComponentParams, Results: ComponentResults>(
        &self,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>> {
        let func = self
            .get_func(name)
            .ok_or_else(|| Error::Usage(format!("the instance exports no function `{name}`")))?;
        TypedFunc::new(func)
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

/// Resolves a component's imports and instantiates it. Imports are defined by name, with
/// semver-compatible versions: an import `wasi:cli/environment@0.2.3` is satisfied by a definition
/// with exactly that name, else by the highest defined `wasi:cli/environment@0.2.x` (for versions
/// `1.0.0` and later, the same major version; for `0.0.x`, only the exact version). Imports are:
/// host functions ([`Linker::func_new`], or inside an instance: [`Linker::instance`]), and the
/// functions ([`Linker::define_func`]) and instances ([`Linker::define_instance`]) of other
/// components.
///
/// ```
/// use ward::component::{Component, Linker, Val};
/// use ward::{Engine, Store};
///
/// let engine = Engine::default();
/// let component = Component::new(&engine, r#"
///     (component
///       (import "host:math/ops" (instance $ops (export "double" (func (param "x" u32) (result u32)))))
///       (alias export $ops "double" (func $double))
///       (core func $double' (canon lower (func $double)))
///       (core module $m
///         (import "" "double" (func $double (param i32) (result i32)))
///         (func (export "run") (result i32) (call $double (i32.const 21))))
///       (core instance $i (instantiate $m (with "" (instance (export "double" (func $double'))))))
///       (func (export "run") (result u32) (canon lift (core func $i "run"))))
/// "#)?;
/// let mut linker = Linker::<()>::new(&engine);
/// linker.instance("host:math/ops").func_new("double", |_store, params, results| {
///     let Val::U32(x) = params[0] else { unreachable!("the import's type says u32") };
///     results[0] = Val::U32(x * 2);
///     Ok(())
/// });
/// let mut store = Store::new(&engine, ());
/// let instance = linker.instantiate(&mut store, &component)?;
/// let mut result = [Val::U32(0)];
/// instance.get_func("run").unwrap().call(&mut store, &[], &mut result)?;
/// assert_eq!(result[0], Val::U32(42));
/// # Ok::<(), ward::Error>(())
/// ```
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<String, Item>,
    /// Instances of host functions, by import name.
    host_instances: HashMap<String, Vec<(String, Item)>>,
    _data: PhantomData<fn(T) -> T>,
}

/// The host functions of one instance import, defined through [`Linker::instance`].
pub struct LinkerInstance<'a, T> {
    items: &'a mut Vec<(String, Item)>,
    _data: PhantomData<fn(T) -> T>,
}

impl<T: 'static> LinkerInstance<'_, T> {
    /// Defines export `name` as `item`, replacing an earlier definition.
    fn define(&mut self, name: &str, item: Item) {
        match self.items.iter_mut().find(|(n, _)| n == name) {
            Some((_, existing)) => *existing = item,
            None => self.items.push((name.to_string(), item)),
        }
    }

    /// Defines the instance's export `name` as a host function; it takes the type the importing
    /// component gives it. Arguments arrive as [`Val`]s; the result goes in `results[0]`.
    pub fn func_new(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> &mut Self {
        let item = Item::HostFunc(HostFunc::new(f));
        self.define(name, item);
        self
    }

    /// Defines the instance's export `name` as a host function with Rust parameter and result
    /// types (see [`ComponentParams`], [`ComponentResults`]). The values are checked when the
    /// function is called: arguments of other types are an error then, as is a result the
    /// import's type does not allow.
    pub fn func_wrap<Params, Results>(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, Params) -> Result<Results> + Send + Sync + 'static,
    ) -> &mut Self
    where
        Params: ComponentParams + 'static,
        Results: ComponentResults + 'static,
    {
        self.func_new(name, wrap(f))
    }

    /// Defines the instance's export `name` as a resource type of the host's, with destructor
    /// `dtor` (run with the representation when a guest drops an owned handle). Returns the type,
    /// with which host functions make handles and recognise those passed back.
    pub fn resource(
        &mut self,
        name: &str,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> HostResource {
        let dtor: HostDtor<T> = Arc::new(dtor);
        let resource = HostResource::new(Some(Dtor::Host(Arc::new(dtor))));
        let item = Item::Type(Some(resource.rt.clone()));
        self.define(name, item);
        resource
    }

    /// Defines the instance's export `name` as the resource type of host type `R`, whose handles
    /// host functions take and return as [`Resource<R>`](super::Resource) (owned or borrowed),
    /// with destructor `dtor` (run with the representation when a guest drops an owned handle).
    /// As in Wasmtime, the representation is usually the index of an entry of a
    /// [`ResourceTable`](super::ResourceTable) the store's data holds.
    ///
    /// ```
    /// use ward::component::{Component, Linker, Resource, ResourceTable};
    /// use ward::{Engine, Store};
    ///
    /// struct Counter(u32);
    ///
    /// let engine = Engine::default();
    /// let component = Component::new(&engine, r#"
    ///     (component
    ///       (import "host:demo/counters" (instance $host
    ///         (export "counter" (type $counter (sub resource)))
    ///         (export "[constructor]counter" (func (param "start" u32) (result (own $counter))))
    ///         (export "[method]counter.get" (func (param "self" (borrow $counter)) (result u32)))))
    ///       (alias export $host "counter" (type $counter))
    ///       (alias export $host "[constructor]counter" (func $new))
    ///       (alias export $host "[method]counter.get" (func $get))
    ///       (core func $new' (canon lower (func $new)))
    ///       (core func $get' (canon lower (func $get)))
    ///       (core func $drop (canon resource.drop $counter))
    ///       (core module $m
    ///         (import "" "new" (func $new (param i32) (result i32)))
    ///         (import "" "get" (func $get (param i32) (result i32)))
    ///         (import "" "drop" (func $drop (param i32)))
    ///         (func (export "run") (result i32) (local $c i32)
    ///           (local.set $c (call $new (i32.const 41)))
    ///           (call $get (local.get $c))
    ///           (call $drop (local.get $c))))
    ///       (core instance $i (instantiate $m (with "" (instance
    ///         (export "new" (func $new')) (export "get" (func $get')) (export "drop" (func $drop))))))
    ///       (func (export "run") (result u32) (canon lift (core func $i "run"))))
    /// "#)?;
    /// let mut linker = Linker::<ResourceTable>::new(&engine);
    /// let mut counters = linker.instance("host:demo/counters");
    /// counters.host_resource::<Counter>("counter", |table, rep| {
    ///     table.data_mut().delete(Resource::<Counter>::new_own(rep))?;
    ///     Ok(())
    /// });
    /// counters.func_wrap("[constructor]counter", |table, (start,): (u32,)| {
    ///     Ok((table.data_mut().push(Counter(start))?,))
    /// });
    /// counters.func_wrap("[method]counter.get", |table, (this,): (Resource<Counter>,)| {
    ///     Ok((table.data().get(&this)?.0 + 1,))
    /// });
    /// let mut store = Store::new(&engine, ResourceTable::new());
    /// let instance = linker.instantiate(&mut store, &component)?;
    /// let run = instance.get_typed_func::<(), (u32,)>("run")?;
    /// assert_eq!(run.call(&mut store, ())?, (42,));
    /// assert!(store.data().is_empty(), "the guest dropped the counter");
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn host_resource<R: 'static>(
        &mut self,
        name: &str,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> HostResource {
        let dtor: HostDtor<T> = Arc::new(dtor);
        let resource = HostResource::of::<R>(Some(Dtor::Host(Arc::new(dtor))));
        let item = Item::Type(Some(resource.rt.clone()));
        self.define(name, item);
        resource
    }

    /// Defines the instance's export `name` as host resource type `resource`, made by
    /// [`LinkerInstance::resource`] in this or another instance (as an interface re-exports a
    /// type another interface defines, like WASI's `input-stream` in `wasi:cli/stdin`).
    pub fn define_resource(&mut self, name: &str, resource: &HostResource) -> &mut Self {
        let item = Item::Type(Some(resource.rt.clone()));
        self.define(name, item);
        self
    }
}

/// A typed host function as a dynamic one.
#[allow(clippy::type_complexity)]
fn wrap<T: 'static, Params: ComponentParams, Results: ComponentResults>(
    f: impl Fn(StoreContextMut<'_, T>, Params) -> Result<Results> + Send + Sync + 'static,
) -> impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static {
    move |store, params, results| {
        let returned = f(store, Params::lift_params(params)?)?.lower_results();
        if returned.len() != results.len() {
            return Err(Error::Usage(format!(
                "the host function returned {} results where its type has {}",
                returned.len(),
                results.len()
            )));
        }
        for (slot, value) in results.iter_mut().zip(returned) {
            *slot = value;
        }
        Ok(())
    }
}

/// The version of an interface name `package/interface@version` split off, if it has one
/// that is `major.minor.patch` without pre-release or build parts.
fn split_version(name: &str) -> Option<(&str, [u64; 3])> {
    let (base, version) = name.rsplit_once('@')?;
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let version = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some((base, version))
}

/// Whether a definition at version `defined` satisfies an import at version `imported`, as in
/// semver (and Wasmtime): the same major version when it is at least 1, otherwise the same
/// major and minor when the minor is at least 1, otherwise exactly the same version. The patch
/// level does not matter either way (`@0.2.0` satisfies `@0.2.3` and `@0.2.3` satisfies `@0.2.0`).
fn semver_compatible(defined: [u64; 3], imported: [u64; 3]) -> bool {
    match imported {
        [0, 0, _] => defined == imported,
        [0, minor, _] => defined[0] == 0 && defined[1] == minor,
        [major, _, _] => defined[0] == major,
    }
}

/// The definition of import `name`: the one with exactly that name, else the one with the highest
/// semver-compatible version of the same interface ([`semver_compatible`]).
fn lookup<'a>(definitions: &'a HashMap<String, Item>, name: &str) -> Option<&'a Item> {
    if let Some(item) = definitions.get(name) {
        return Some(item);
    }
    let (base, imported) = split_version(name)?;
    definitions
        .iter()
        .filter_map(|(n, item)| {
            let (b, defined) = split_version(n)?;
            (b == base && semver_compatible(defined, imported)).then_some((defined, item))
        })
        .max_by_key(|(defined, _)| *defined)
        .map(|(_, item)| item)
}

impl<T: 'static> Linker<T> {
    /// A linker with no definitions.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            host_instances: HashMap::new(),
            _data: PhantomData,
        }
    }

    /// Defines the import `name` as a host function; it takes the type the importing component
    /// gives it. Arguments arrive as [`Val`]s; the result goes in `results[0]`.
    pub fn func_new(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> &mut Self {
        self.definitions
            .insert(name.to_string(), Item::HostFunc(HostFunc::new(f)));
        self
    }

    /// Defines the import `name` as a host function with Rust parameter and result types, as
    /// [`LinkerInstance::func_wrap`] does.
    pub fn func_wrap<Params, Results>(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, Params) -> Result<Results> + Send + Sync + 'static,
    ) -> &mut Self
    where
        Params: ComponentParams + 'static,
        Results: ComponentResults + 'static,
    {
        self.func_new(name, wrap(f))
    }

    /// The host functions of the instance import `name` (made empty the first time).
    pub fn instance(&mut self, name: &str) -> LinkerInstance<'_, T> {
        LinkerInstance {
            items: self.host_instances.entry(name.to_string()).or_default(),
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
        let mut definitions = self.definitions.clone();
        for (name, items) in &self.host_instances {
            let instance = Instance {
                exports: Arc::new(items.clone()),
            };
            definitions.insert(name.clone(), Item::Instance(instance));
        }
        for (name, sort) in &def.imports {
            if *sort == Sort::Type && lookup(&definitions, name).is_none() {
                // Checked where it is imported: only resource types need a definition.
                continue;
            }
            let Some(item) = lookup(&definitions, name) else {
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
        instantiate(store, &closure, &definitions, 0)
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

    /// Adds `item` to its index space; a host function must have been typed first
    /// ([`Item::typed`]).
    fn push(&mut self, item: Item) -> Result<()> {
        match item {
            Item::Module(m) => self.modules.push(m),
            Item::Func(f) => self.funcs.push(f),
            Item::Instance(i) => self.instances.push(i),
            Item::Component(c) => self.components.push(c),
            Item::Type(t) => self.types.push(t),
            Item::HostFunc(_) => return Err(internal("an untyped host function")),
        }
        Ok(())
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
            is_async: options.is_async,
            callback: options.callback,
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
                spaces.push(item)?;
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
                spaces.push(item.ok_or_else(|| internal("outer alias index out of range"))?)?;
            }
            Definition::CoreInstantiate { module, args } => {
                let module = spaces
                    .modules
                    .get(*module as usize)
                    .cloned()
                    .ok_or_else(|| internal("module index out of range"))?;
                let mut resolved = Vec::with_capacity(module.imports().len());
                for import in module.imports() {
                    let (module_name, name) = (import.module(), import.name());
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
            Definition::TaskReturn { result, options } => {
                let options = spaces.resolve_options(options)?;
                let core = task_return(store, result.clone(), options, state.clone())?;
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
                let core = unsupported_builtin(
                    store,
                    feature.clone(),
                    signature.clone(),
                    *offset,
                    state.clone(),
                )?;
                spaces.core_funcs.push(core);
            }
            Definition::DefineResource { id, dtor } => {
                let dtor = dtor
                    .map(|i| {
                        spaces
                            .core_funcs
                            .get(i as usize)
                            .copied()
                            .map(Dtor::Core)
                            .ok_or_else(|| internal("destructor index out of range"))
                    })
                    .transpose()?;
                let rt = Arc::new(ResourceRt::new(state.id, dtor));
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
                spaces
                    .funcs
                    .push(Func::lifted(ty, core, options, state.clone()));
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
                // Only an instance the host made can lack what the component's types say; it
                // need not define types that are not resources.
                let item = match instance.export(name) {
                    Some(item) => item.clone(),
                    None if *sort == Sort::Type && resource.is_none() => Item::Type(None),
                    None => {
                        return Err(Error::Link(format!(
                            "the imported instance has no export `{name}`"
                        )));
                    }
                };
                if item.sort() != *sort {
                    return Err(Error::Link(format!(
                        "export `{name}` of the imported instance is a {}, not a {}",
                        item.sort().name(),
                        sort.name()
                    )));
                }
                if let Item::Type(rt) = &item {
                    state.bind_resource(*resource, rt.as_ref());
                }
                let item = item.typed(def, spaces.funcs.len())?;
                spaces.push(item)?;
            }
            Definition::Import {
                name,
                sort,
                resource,
            } => {
                let item = match lookup(imports, name) {
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
                    && !same_shape(f.ty(), expected)
                {
                    return Err(Error::Link(format!(
                        "component import `{name}` has the wrong function type"
                    )));
                }
                let item = item.typed(def, spaces.funcs.len())?;
                spaces.push(item)?;
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
                spaces.push(item)?;
            }
        }
    }
    Ok(Instance {
        exports: Arc::new(exports),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::FuncType;

    #[test]
    fn zero_minor_versions_match_on_major_and_minor_only() {
        assert!(semver_compatible([0, 2, 0], [0, 2, 3]));
        assert!(semver_compatible([0, 2, 6], [0, 2, 3]));
        assert!(!semver_compatible([0, 3, 0], [0, 2, 3]));
        assert!(!semver_compatible([1, 2, 3], [0, 2, 3]));
    }

    #[test]
    fn major_versions_match_on_major_and_zero_zero_exactly() {
        assert!(semver_compatible([1, 9, 0], [1, 0, 0]));
        assert!(!semver_compatible([2, 0, 0], [1, 0, 0]));
        assert!(semver_compatible([0, 0, 1], [0, 0, 1]));
        assert!(!semver_compatible([0, 0, 2], [0, 0, 1]));
    }

    #[test]
    fn lookup_prefers_the_exact_name_then_the_highest_compatible_version() {
        let mut defs = HashMap::new();
        defs.insert("a:b/c@0.2.0".to_string(), Item::Type(None));
        defs.insert(
            "a:b/c@0.2.5".to_string(),
            Item::Func(Func::host(
                FuncType {
                    params: Arc::from([]),
                    result: None,
                    is_async: false,
                },
                HostFunc::new::<()>(|_, _, _| Ok(())),
            )),
        );
        assert!(matches!(lookup(&defs, "a:b/c@0.2.0"), Some(Item::Type(_))));
        assert!(matches!(lookup(&defs, "a:b/c@0.2.9"), Some(Item::Func(_))));
        assert!(lookup(&defs, "a:b/c@0.3.0").is_none());
        assert!(lookup(&defs, "a:b/c").is_none());
        assert!(lookup(&defs, "a:b/c@0.2.0-rc1").is_none());
    }
}
