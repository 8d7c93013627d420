//! [`Store<T>`]: owns every instance, function, memory, table and global, plus the host's data `T`.
//!
//! Public handles ([`Func`], [`Memory`], …) are a store id plus an index into the vectors here. Only the
//! store's owner can touch them, so a store is `Send` but used by one thread at a time. Used by everything
//! that runs code: `instance`, `func`, the executor.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmparser::types::CoreTypeId;

use crate::Result;
use crate::engine::Engine;
use crate::func::{Caller, Func};
use crate::global::GlobalEntity;
use crate::interp::exec::ExecStack;
use crate::memory::{Memory, MemoryEntity};
use crate::module::Module;
use crate::table::TableEntity;
use crate::types::FuncType;
use crate::values::Val;

/// Identity of a store, carried by handles so they cannot be used with another store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A host function as the store keeps it.
pub(crate) type HostFunc<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static>;

pub(crate) enum FuncKind {
    /// Defined function `index` (among defined functions) of instance `instance`.
    Wasm { instance: u32, index: u32 },
    /// Host function `index` of the store's host function list.
    Host { index: u32 },
}

pub(crate) struct FuncEntity {
    /// Canonical signature id.
    pub ty: CoreTypeId,
    pub sig: FuncType,
    pub kind: FuncKind,
}

pub(crate) struct InstanceEntity {
    pub module: Module,
    /// Module index → store index, for each index space.
    pub funcs: Box<[u32]>,
    pub tables: Box<[u32]>,
    pub memories: Box<[u32]>,
    pub globals: Box<[u32]>,
    /// Data segments; a dropped segment is empty.
    pub data: Vec<Arc<[u8]>>,
    /// Element segments as encoded references; a dropped segment is empty.
    pub elems: Vec<Arc<[u64]>>,
}

/// The part of a store that does not depend on the host data type.
pub(crate) struct StoreInner {
    pub id: StoreId,
    pub engine: Engine,
    pub funcs: Vec<FuncEntity>,
    pub instances: Vec<InstanceEntity>,
    pub memories: Vec<MemoryEntity>,
    pub tables: Vec<TableEntity>,
    pub globals: Vec<GlobalEntity>,
    pub externs: Vec<Box<dyn Any + Send + Sync>>,
    /// Execution stacks not in use, kept for reuse by later calls.
    pub stacks: Vec<ExecStack>,
    /// How many executor activations are live (host → Wasm → host → … nesting).
    pub activations: u32,
}

impl StoreInner {
    pub fn push_memory(&mut self, entity: MemoryEntity) -> Memory {
        self.memories.push(entity);
        Memory {
            store: self.id,
            index: (self.memories.len() - 1) as u32,
        }
    }

    pub fn push_func(&mut self, entity: FuncEntity) -> Func {
        self.funcs.push(entity);
        Func {
            store: self.id,
            index: (self.funcs.len() - 1) as u32,
        }
    }
}

/// All runtime state of a group of instances, with host data `T`.
pub struct Store<T> {
    pub(crate) inner: StoreInner,
    pub(crate) hosts: Vec<HostFunc<T>>,
    data: T,
}

impl<T> Store<T> {
    /// A new store in `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: StoreInner {
                id: StoreId::fresh(),
                engine: engine.clone(),
                funcs: Vec::new(),
                instances: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                externs: Vec::new(),
                stacks: Vec::new(),
                activations: 0,
            },
            hosts: Vec::new(),
            data,
        }
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Consumes the store and returns the host data.
    pub fn into_data(self) -> T {
        self.data
    }

    pub(crate) fn push_host_func(&mut self, sig: FuncType, host: HostFunc<T>) -> Result<Func> {
        let ty = self.inner.engine.intern_host_func_type(&sig)?;
        self.hosts.push(host);
        let index = (self.hosts.len() - 1) as u32;
        Ok(self.inner.push_func(FuncEntity {
            ty,
            sig,
            kind: FuncKind::Host { index },
        }))
    }
}

/// Read access to a store: implemented by [`Store`], [`Caller`] and references to them.
pub trait AsContext {
    /// The host data type.
    type Data;
    /// The store.
    fn as_context(&self) -> &Store<Self::Data>;
}

/// Write access to a store.
pub trait AsContextMut: AsContext {
    /// The store, mutably.
    fn as_context_mut(&mut self) -> &mut Store<Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> &mut Store<S::Data> {
        (**self).as_context_mut()
    }
}
