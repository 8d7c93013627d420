//! Instantiation: checking imports against a module's expectations, creating its functions, globals,
//! tables and memories in a store, applying active segments and running the start function.
//! Also the [`Instance`] and [`Extern`] handles.
//!
//! Follows the Wasm 3.0 order: segments are applied one after another and a trap stops the rest, but
//! what was written before stays (the instance is kept in the store so those writes remain valid).

use std::sync::{Arc, LazyLock};

use crate::exception::Tag;
use crate::func::{Caller, Func, TypedFunc, WasmParams, WasmResults};
use crate::handle::Global;
use crate::handle::Memory;
use crate::handle::{Instance, StoreId};
use crate::memory::SharedMemory;
use crate::module::{DataMode, ElemItems, ElemMode, EntityIndex, ImportKind, Module};
use crate::runtime::memory::MemoryEntity;
use crate::runtime::store::{
    FuncEntity, FuncKind, GlobalEntity, InstanceEntity, StoreInner, TagEntity,
};
use crate::runtime::table::TableEntity;
use crate::store::{AsContext, AsContextMut, Store};
use crate::table::Table;
use crate::trap::{Trap, TrapKind, WasmBacktrace};
use crate::types::{MemoryType, Mutability, TableType};
use crate::{Error, Result};

/// Something a module can import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Extern {
    Func(Func),
    Table(Table),
    Memory(Memory),
    /// A shared memory (not bound to one store).
    SharedMemory(SharedMemory),
    Global(Global),
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The shared memory, if this is one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        if let Extern::SharedMemory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Extern::Func(_) => "function",
            Extern::Table(_) => "table",
            Extern::Memory(_) | Extern::SharedMemory(_) => "memory",
            Extern::Global(_) => "global",
            Extern::Tag(_) => "tag",
        }
    }

    /// The store the extern belongs to (`None` for a shared memory, which belongs to none).
    fn store_id(&self) -> Option<StoreId> {
        Some(match self {
            Extern::Func(f) => f.store,
            Extern::Table(t) => t.store,
            Extern::Memory(m) => m.store,
            Extern::SharedMemory(_) => return None,
            Extern::Global(g) => g.store,
            Extern::Tag(t) => t.store,
        })
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<SharedMemory> for Extern {
    fn from(m: SharedMemory) -> Extern {
        Extern::SharedMemory(m)
    }
}
impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new<T>(
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        instantiate(store.as_context_mut(), module, imports)
    }

    /// The export `name`.
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        let inner = &store.as_context().inner;
        assert_eq!(self.store, inner.id, "instance used with the wrong store");
        let instance = &inner.instances[self.index as usize];
        let module = &instance.module.inner;
        let at = *module.export_map.get(name)?;
        Some(entity_extern(inner, instance, module.exports[at].1))
    }

    /// All exports, in module order.
    pub fn exports(&self, store: impl AsContext) -> Vec<(String, Extern)> {
        let inner = &store.as_context().inner;
        let instance = &inner.instances[self.index as usize];
        instance
            .module
            .inner
            .exports
            .iter()
            .map(|(name, index)| (name.clone(), entity_extern(inner, instance, *index)))
            .collect()
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name`, with its signature checked against `P` and `R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let func = self
            .get_func(&store, name)
            .ok_or_else(|| Error::Usage(format!("failed to find function export `{name}`")))?;
        func.typed(&store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The module this instance was made from.
    pub fn module<'a, T: 'a>(&self, store: &'a Store<T>) -> &'a Module {
        &store.inner.instances[self.index as usize].module
    }
}

fn entity_extern(inner: &StoreInner, instance: &InstanceEntity, index: EntityIndex) -> Extern {
    let store = inner.id;
    match index {
        EntityIndex::Func(i) => Extern::Func(Func {
            store,
            index: instance.funcs[i as usize],
        }),
        EntityIndex::Table(i) => Extern::Table(Table {
            store,
            index: instance.tables[i as usize],
        }),
        EntityIndex::Memory(i) => {
            let index = instance.memories[i as usize];
            match inner.memories[index as usize].shared() {
                Some(shared) => Extern::SharedMemory(SharedMemory {
                    inner: shared.clone(),
                    engine: inner.engine.clone(),
                }),
                None => Extern::Memory(Memory { store, index }),
            }
        }
        EntityIndex::Global(i) => Extern::Global(Global {
            store,
            index: instance.globals[i as usize],
        }),
        EntityIndex::Tag(i) => Extern::Tag(Tag {
            store,
            index: instance.tags[i as usize],
        }),
    }
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match (actual_max, max) {
            (_, None) => true,
            (Some(a), Some(m)) => a <= m,
            (None, Some(_)) => false,
        }
}

fn table_matches(store: &StoreInner, actual: TableType, expected: TableType) -> bool {
    let engine = &store.engine;
    actual.table64 == expected.table64
        && engine.ref_is_subtype(actual.element, expected.element)
        && engine.ref_is_subtype(expected.element, actual.element)
        && limits_match(
            actual.minimum,
            actual.maximum,
            expected.minimum,
            expected.maximum,
        )
}

fn memory_matches(actual: MemoryType, expected: MemoryType) -> bool {
    actual.memory64 == expected.memory64
        && actual.shared == expected.shared
        && actual.page_size_log2 == expected.page_size_log2
        && limits_match(
            actual.minimum,
            actual.maximum,
            expected.minimum,
            expected.maximum,
        )
}

fn check_import(store: &StoreInner, kind: &ImportKind, provided: &Extern) -> bool {
    match (kind, provided) {
        (ImportKind::Func(expected), Extern::Func(f)) => store
            .engine
            .id_is_subtype(store.funcs[f.index as usize].ty, *expected),
        (ImportKind::Table(expected), Extern::Table(t)) => table_matches(
            store,
            store.tables[t.index as usize].current_type(),
            *expected,
        ),
        (ImportKind::Memory(expected), Extern::SharedMemory(m)) => {
            memory_matches(m.ty(), *expected)
        }
        (ImportKind::Memory(expected), Extern::Memory(m)) => {
            memory_matches(store.memories[m.index as usize].ty(), *expected)
        }
        (ImportKind::Global(expected), Extern::Global(g)) => {
            let actual = store.globals[g.index as usize].ty;
            actual.mutability == expected.mutability
                && match expected.mutability {
                    Mutability::Const => store
                        .engine
                        .valtype_is_subtype(actual.content, expected.content),
                    Mutability::Var => actual.content == expected.content,
                }
        }
        (ImportKind::Tag(expected), Extern::Tag(t)) => {
            let actual = store.tags[t.index as usize].ty;
            actual == *expected
                || (store.engine.id_is_subtype(actual, *expected)
                    && store.engine.id_is_subtype(*expected, actual))
        }
        _ => false,
    }
}

/// What a dropped element segment holds; shared so that dropping allocates nothing.
static DROPPED_ELEMS: LazyLock<Arc<[u64]>> = LazyLock::new(|| Arc::new([]));
/// What a dropped data segment holds; shared so that dropping allocates nothing.
static DROPPED_DATA: LazyLock<Arc<[u8]>> = LazyLock::new(|| Arc::new([]));

fn segment_trap(kind: TrapKind) -> Error {
    Error::Trap(Trap::new(kind, WasmBacktrace::default()))
}

pub(crate) fn instantiate<T>(
    store: &mut Store<T>,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    let (instance, start) = instantiate_without_start(store, module, imports)?;
    if let Some(start) = start {
        start.call(&mut *store, &[], &mut [])?;
    }
    Ok(instance)
}

/// Instantiates `module` up to its start function, which it returns for the caller to run
/// (`instantiate` calls it, `Linker::instantiate_async` awaits it).
pub(crate) fn instantiate_without_start<T>(
    store: &mut Store<T>,
    module: &Module,
    imports: &[Extern],
) -> Result<(Instance, Option<Func>)> {
    let m = &module.inner;
    if !crate::Engine::same(&m.engine, &store.inner.engine) {
        return Err(Error::Usage(
            "module and store belong to different engines".into(),
        ));
    }
    if imports.len() != m.imports.len() {
        return Err(Error::Link(format!(
            "expected {} imports, found {}",
            m.imports.len(),
            imports.len()
        )));
    }
    let mut funcs = Vec::with_capacity(m.func_type_ids.len());
    let mut tables = Vec::with_capacity(m.table_types.len());
    let mut memories = Vec::with_capacity(m.memory_types.len());
    let mut globals = Vec::with_capacity(m.global_types.len());
    let mut tags = Vec::with_capacity(m.tag_types.len());
    for (import, provided) in m.imports.iter().zip(imports) {
        match provided {
            Extern::SharedMemory(shared)
                if !crate::Engine::same(&shared.engine, &store.inner.engine) =>
            {
                return Err(Error::Usage(
                    "shared memory belongs to another engine".into(),
                ));
            }
            Extern::SharedMemory(_) => {}
            other if other.store_id() != Some(store.inner.id) => {
                return Err(Error::Usage("import belongs to another store".into()));
            }
            _ => {}
        }
        if !check_import(&store.inner, &import.kind, provided) {
            let expected = match &import.kind {
                ImportKind::Func(_) => "function",
                ImportKind::Table(_) => "table",
                ImportKind::Memory(_) => "memory",
                ImportKind::Global(_) => "global",
                ImportKind::Tag(_) => "tag",
            };
            return Err(Error::Link(format!(
                "incompatible import type for `{}::{}`: expected {expected}, found {}",
                import.module,
                import.name,
                provided.kind_name()
            )));
        }
        match provided {
            Extern::Func(f) => funcs.push(f.index),
            Extern::Table(t) => tables.push(t.index),
            Extern::Memory(mem) => memories.push(mem.index),
            Extern::SharedMemory(shared) => {
                let entity = MemoryEntity::new_shared(shared.inner.clone())?;
                memories.push(store.inner.push_memory(entity).index);
            }
            Extern::Global(g) => globals.push(g.index),
            Extern::Tag(t) => tags.push(t.index),
        }
    }

    let (max_instances, max_tables, max_memories) = store.count_limits();
    if store.inner.instances.len() >= max_instances {
        return Err(Error::Instantiation(format!(
            "instance limit of {max_instances} reached"
        )));
    }
    if store.inner.tables.len() + m.tables.len() > max_tables {
        return Err(Error::Instantiation(format!(
            "table limit of {max_tables} reached"
        )));
    }
    if store.inner.memories.len() + m.memories.len() > max_memories {
        return Err(Error::Instantiation(format!(
            "memory limit of {max_memories} reached"
        )));
    }
    // Ask the limiter about memories and tables before anything is added to the store.
    for def in &m.tables {
        if !store.table_growing(0, def.ty.minimum, def.ty.maximum)? {
            return Err(Error::Instantiation(format!(
                "table of {} elements exceeds the store's resource limits",
                def.ty.minimum
            )));
        }
    }
    for ty in &m.memories {
        let entity = store.create_memory(*ty)?;
        memories.push(store.inner.push_memory(entity).index);
    }

    let inner = &mut store.inner;
    let instance_index = inner.instances.len() as u32;
    inner
        .funcs
        .reserve(m.func_type_ids.len() - m.num_imported_funcs as usize);
    for (i, (ty, sig)) in m
        .func_type_ids
        .iter()
        .zip(&m.func_sigs)
        .enumerate()
        .skip(m.num_imported_funcs as usize)
    {
        let defined = i as u32 - m.num_imported_funcs;
        let func = inner.push_func(FuncEntity {
            ty: *ty,
            sig: sig.clone(),
            kind: FuncKind::Wasm {
                instance: instance_index,
                index: defined,
            },
        });
        funcs.push(func.index);
    }
    for ty in &m.tag_types[m.num_imported_tags as usize..] {
        let tag = inner.push_tag(TagEntity {
            ty: *ty,
            sig: m.engine.func_type(*ty),
        });
        tags.push(tag.index);
    }
    let func_ref = |funcs: &[u32], f: u32| funcs[f as usize] as u64 + 1;
    let engine = m.engine.clone();
    let fields = |ty: u32| crate::runtime::gc::field_count(&engine, &m.type_ids, ty);

    for def in &m.globals {
        let value = def.init.eval(
            |g| inner.globals[globals[g as usize] as usize].value,
            |f| func_ref(&funcs, f),
            &mut |r| crate::runtime::gc::const_alloc(&mut inner.gc, &engine, &m.type_ids, r),
            &fields,
        )?;
        inner.globals.push(GlobalEntity { value, ty: def.ty });
        globals.push((inner.globals.len() - 1) as u32);
    }
    for def in &m.tables {
        let init = match &def.init {
            Some(expr) => expr.eval(
                |g| inner.globals[globals[g as usize] as usize].value,
                |f| func_ref(&funcs, f),
                &mut |r| crate::runtime::gc::const_alloc(&mut inner.gc, &engine, &m.type_ids, r),
                &fields,
            )? as u64,
            None => 0,
        };
        inner.tables.push(TableEntity::new(def.ty, init)?);
        tables.push((inner.tables.len() - 1) as u32);
    }

    let mut elems = Vec::with_capacity(m.elems.len());
    for seg in &m.elems {
        let items: Arc<[u64]> = match &seg.items {
            ElemItems::Funcs(indices) => indices.iter().map(|f| func_ref(&funcs, *f)).collect(),
            ElemItems::Exprs(exprs) => {
                let mut items = Vec::with_capacity(exprs.len());
                for e in exprs.iter() {
                    items.push(e.eval(
                        |g| inner.globals[globals[g as usize] as usize].value,
                        |f| func_ref(&funcs, f),
                        &mut |r| {
                            crate::runtime::gc::const_alloc(&mut inner.gc, &engine, &m.type_ids, r)
                        },
                        &fields,
                    )? as u64);
                }
                items.into()
            }
        };
        elems.push(items);
    }
    // Constant expressions may have allocated GC objects: the heap's growth is the limiter's to
    // allow, as at any allocation.
    if !store.reserve_gc_heap(None)? {
        return Err(Error::Instantiation(
            "GC heap exceeds the store's resource limits".into(),
        ));
    }
    let inner = &mut store.inner;
    let data: Vec<Arc<[u8]>> = m.data.iter().map(|d| d.bytes.clone()).collect();

    inner.instances.push(InstanceEntity {
        module: module.clone(),
        funcs: funcs.into(),
        tables: tables.into(),
        memories: memories.into(),
        globals: globals.into(),
        tags: tags.into(),
        data,
        elems,
    });
    let instance = Instance {
        store: inner.id,
        index: instance_index,
    };

    // Active element segments, then active data segments, in order; each is dropped once applied.
    for (i, seg) in m.elems.iter().enumerate() {
        let inst = &inner.instances[instance_index as usize];
        match &seg.mode {
            ElemMode::Passive => continue,
            ElemMode::Declared => {}
            ElemMode::Active { table, offset } => {
                let offset = offset.eval(
                    |g| inner.globals[inst.globals[g as usize] as usize].value,
                    |_| 0,
                    &mut |_| Ok(0),
                    &|_| 0,
                )? as u64;
                let table_index = inst.tables[*table as usize] as usize;
                let items = inst.elems[i].clone();
                let table = &mut inner.tables[table_index];
                let dst = usize::try_from(offset)
                    .ok()
                    .and_then(|start| Some(start..start.checked_add(items.len())?))
                    .and_then(|range| table.elements.get_mut(range))
                    .ok_or_else(|| segment_trap(TrapKind::TableOutOfBounds))?;
                dst.copy_from_slice(&items);
            }
        }
        inner.instances[instance_index as usize].elems[i] = DROPPED_ELEMS.clone();
    }
    for (i, seg) in m.data.iter().enumerate() {
        let DataMode::Active { memory, offset } = &seg.mode else {
            continue;
        };
        let inst = &inner.instances[instance_index as usize];
        let offset = offset.eval(
            |g| inner.globals[inst.globals[g as usize] as usize].value,
            |_| 0,
            &mut |_| Ok(0),
            &|_| 0,
        )? as u64;
        let memory_index = inst.memories[*memory as usize] as usize;
        let bytes = seg.bytes.clone();
        let mem = &mut inner.memories[memory_index];
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(bytes.len())?))
            .filter(|range| range.end as u64 <= mem.size_bytes())
            .ok_or_else(|| segment_trap(TrapKind::MemoryOutOfBounds))?;
        match mem.shared() {
            // SAFETY: the range lies inside the memory, checked just above (shared memories only
            // grow).
            Some(shared) => unsafe { shared.write_bytes(range.start, &bytes) },
            None => {
                mem.data_mut()[range.clone()].copy_from_slice(&bytes);
                mem.note_written(range);
            }
        }
        inner.instances[instance_index as usize].data[i] = DROPPED_DATA.clone();
    }

    let start = m.start.map(|start| Func {
        store: store.inner.id,
        index: store.inner.instances[instance_index as usize].funcs[start as usize],
    });
    Ok((instance, start))
}

impl<T> Caller<'_, T> {
    /// An export of the calling instance (`None` when called from the host directly).
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        Instance {
            store: self.store.inner.id,
            index: instance,
        }
        .get_export(&*self.store, name)
    }
}
