//! What a parsed component is, for instantiation: its definitions in binary order, each adding one
//! item to one index space ([`Definition`]), and its imports and exports.
//!
//! Core types have no runtime content and are not replayed; every other index space, component
//! types included (resource types are made per instantiation), is rebuilt, in order, by each
//! instantiation (`instance`).
//! Built by `parse`; read by `instance`.

use std::sync::Arc;

use super::types::{FuncType, ResourceType};
use crate::Module;

/// A core sort: which core index space an item lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreSort {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

/// A component-level sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// A core module.
    Module,
    Func,
    Value,
    Type,
    Instance,
    Component,
}

impl Sort {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sort::Module => "core module",
            Sort::Func => "func",
            Sort::Value => "value",
            Sort::Type => "type",
            Sort::Instance => "instance",
            Sort::Component => "component",
        }
    }
}

/// How strings are encoded in a function's linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StringEncoding {
    #[default]
    Utf8,
    Utf16,
    /// latin1 or UTF-16, chosen per string.
    CompactUtf16,
}

/// The options of `canon lift` and `canon lower`: indices into the core memory and function
/// index spaces.
#[derive(Debug, Clone, Default)]
pub(crate) struct CanonOptions {
    pub string_encoding: StringEncoding,
    pub memory: Option<u32>,
    pub realloc: Option<u32>,
    pub post_return: Option<u32>,
    /// The `async` option: a lift whose results come through `task.return`, or a lower that
    /// returns a subtask status (ward runs every such call to completion before it returns).
    pub is_async: bool,
    /// The `callback` option of an `async` lift: the function is made, but calling it fails as
    /// unsupported async (ward has no event loop to drive a callback).
    pub callback: bool,
}

/// One definition of a component, in the order of the binary; each adds one item to the index
/// space its comment names.
#[derive(Debug)]
pub(crate) enum Definition {
    /// Core module space: a module defined here or aliased from an enclosing component.
    Module(Module),
    /// Component space: a component defined here or aliased from an enclosing component.
    Component(Arc<ComponentDef>),
    /// Module or component space (`sort`): an outer alias of an item an enclosing component
    /// imported, `count` components out; resolved from what the component captured when it was
    /// defined in an instance of the enclosing one.
    OuterAlias { sort: Sort, count: u32, index: u32 },
    /// Core instance space: `(core instance (instantiate $m (with "name" (instance $i))…))`.
    CoreInstantiate {
        module: u32,
        args: Vec<(String, u32)>,
    },
    /// Core instance space: a bundle of core items.
    CoreInstanceFromExports(Vec<(String, CoreSort, u32)>),
    /// The `sort` space: an export of a core instance.
    CoreAlias {
        instance: u32,
        name: String,
        sort: CoreSort,
    },
    /// Core func space: `canon lower` of component function `func`.
    Lower { func: u32, options: CanonOptions },
    /// Core func space: `canon resource.new`/`resource.drop`/`resource.rep` of the resource type
    /// at type index `resource`.
    ResourceIntrinsic {
        intrinsic: ResourceIntrinsic,
        resource: u32,
    },
    /// Core func space: a builtin of the async proposal that synchronous calls can use too.
    TaskBuiltin(TaskBuiltin),
    /// Core func space: `canon task.return`, by which an `async`-lifted function delivers its
    /// result (of type `result`, lifted with `options`).
    TaskReturn {
        result: Option<super::types::Type>,
        options: CanonOptions,
    },
    /// Core func space: a builtin ward cannot run (the async ABI's, shared-everything threads').
    /// It is made with its core `signature`, so that a component that never calls it works; a
    /// call fails with [`Error::Unsupported`](crate::Error::Unsupported) naming `feature` (after
    /// the `may_leave` check every builtin makes).
    UnsupportedBuiltin {
        feature: String,
        signature: crate::FuncType,
        offset: usize,
    },
    /// Type space: a resource type defined here (a fresh one for each instantiation), with the
    /// static id the component's types call it by and its destructor (a core function index).
    DefineResource { id: ResourceType, dtor: Option<u32> },
    /// Type space: any other type. `resource` is its static id if it is a resource type (one
    /// defined outside, reached by an outer alias).
    Type { resource: Option<ResourceType> },
    /// Component func space: `canon lift` of core function `core_func` (its component type is
    /// the new function's entry in [`ComponentDef::func_types`]).
    Lift {
        core_func: u32,
        options: CanonOptions,
    },
    /// Component instance space: an instantiation of component `component`.
    Instantiate {
        component: u32,
        args: Vec<(String, Sort, u32)>,
    },
    /// Component instance space: a bundle of items.
    InstanceFromExports(Vec<(String, Sort, u32)>),
    /// The `sort` space: an export of a component instance. `resource` is the static id of an
    /// aliased resource type.
    Alias {
        instance: u32,
        name: String,
        sort: Sort,
        resource: Option<ResourceType>,
    },
    /// The `sort` space: an import. `resource` is the static id of an imported resource type.
    Import {
        name: String,
        sort: Sort,
        resource: Option<ResourceType>,
    },
    /// The `sort` space (again): an export of item `index`. `resource` is the static id the
    /// export gives a resource type.
    Export {
        name: String,
        sort: Sort,
        index: u32,
        resource: Option<ResourceType>,
    },
}

/// The builtins of the async proposal that work in synchronous calls: task-local storage
/// (`context.get`/`context.set` of an `i32` slot) and the backpressure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskBuiltin {
    ContextGet(u32),
    ContextSet(u32),
    BackpressureInc,
    BackpressureDec,
}

/// The resource builtins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceIntrinsic {
    New,
    Drop,
    Rep,
}

impl Definition {
    /// The index space the definition adds to.
    pub(crate) fn space(&self) -> Space {
        match self {
            Definition::Module(_) => Space::Component(Sort::Module),
            Definition::Component(_) => Space::Component(Sort::Component),
            Definition::CoreInstantiate { .. } | Definition::CoreInstanceFromExports(_) => {
                Space::CoreInstance
            }
            Definition::CoreAlias { sort, .. } => Space::Core(*sort),
            Definition::Lower { .. }
            | Definition::ResourceIntrinsic { .. }
            | Definition::UnsupportedBuiltin { .. }
            | Definition::TaskBuiltin(_)
            | Definition::TaskReturn { .. } => Space::Core(CoreSort::Func),
            Definition::Lift { .. } => Space::Component(Sort::Func),
            Definition::DefineResource { .. } | Definition::Type { .. } => {
                Space::Component(Sort::Type)
            }
            Definition::Instantiate { .. } | Definition::InstanceFromExports(_) => {
                Space::Component(Sort::Instance)
            }
            Definition::OuterAlias { sort, .. }
            | Definition::Alias { sort, .. }
            | Definition::Import { sort, .. }
            | Definition::Export { sort, .. } => Space::Component(*sort),
        }
    }
}

/// An index space a [`Definition`] adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    Core(CoreSort),
    CoreInstance,
    Component(Sort),
}

/// A parsed component: its definitions, and its imports and exports by name.
#[derive(Debug, Default)]
pub(crate) struct ComponentDef {
    pub definitions: Vec<Definition>,
    /// Import names and sorts, in order.
    pub imports: Vec<(String, Sort)>,
    /// Export names, sorts, and the index in the sort's space of the item they export.
    pub exports: Vec<(String, Sort, u32)>,
    /// The type of every component function, by index in the function space (imports, aliases,
    /// lifts and exports).
    pub func_types: Vec<FuncType>,
}

impl ComponentDef {
    /// The type of function export `name`, if the component has one.
    pub(crate) fn export_func_type(&self, name: &str) -> Option<&FuncType> {
        let (_, _, index) = self
            .exports
            .iter()
            .find(|(n, sort, _)| n == name && *sort == Sort::Func)?;
        self.func_types.get(*index as usize)
    }
}
