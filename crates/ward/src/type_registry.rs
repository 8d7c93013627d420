//! The engine's registry of canonical types: every rec group registered by a module or a host
//! signature gets one engine-wide [`TypeId`] per type, equal ids for equal (iso-recursive) types, and
//! the runtime facts about each type ([`TypeInfo`]: signature, declared supertype, object layout).
//!
//! Canonicalization: a rec group is keyed by its structural form ([`RecGroupKey`]), in which a type
//! reference inside the group is its position in the group and a reference outside it is the
//! canonical id of the (already registered) type it names. Two groups are the same type exactly when
//! their keys are equal, which is the spec's rule for rec groups of different modules.
//!
//! Lifetime: registered groups are reference-counted. A module holds one reference to each of its
//! groups and a store one to each host signature it uses (both through [`RegisteredTypes`]), and a
//! group holds one to every other group it names, so a type lives while anything can still reach it.
//! A group whose count drops to zero is removed and its ids' slots are freed. A freed slot is reused
//! only with a new generation, so an id never means two types: one kept past its type's release (in a
//! `FuncType` the embedder held on to, say) names nothing and equals no later type. Running out of
//! slots is an ordinary error, never a panic.
//!
//! Depends on `types` and `gc_repr` (layouts); used by `engine` (queries), `module` (registration of a
//! module's types) and `store` (host signatures).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use wasmparser::AbstractHeapType;

use crate::gc_repr::{Layout, Storage};
use crate::types::{FuncType, HeapType, RefType, TypeId, ValType};
use crate::{Error, Result};

/// A type reference in the structural form of a rec group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TypeRef {
    /// The type at this position of the same rec group.
    InGroup(u32),
    /// A type of another, registered rec group.
    Canonical(TypeId),
}

/// A heap type in structural form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HeapKey {
    Abstract { shared: bool, ty: AbstractHeapType },
    Concrete(TypeRef),
    Exact(TypeRef),
}

/// A value type in structural form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ValKey {
    I32,
    I64,
    F32,
    F64,
    V128,
    Ref { nullable: bool, heap: HeapKey },
}

/// The storage type of a struct field or array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StorageKey {
    I8,
    I16,
    Val(ValKey),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FieldKey {
    pub storage: StorageKey,
    pub mutable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CompositeKey {
    Func {
        params: Box<[ValKey]>,
        results: Box<[ValKey]>,
    },
    Struct(Box<[FieldKey]>),
    Array(FieldKey),
    Cont(TypeRef),
}

/// One type of a rec group in structural form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SubTypeKey {
    pub is_final: bool,
    pub supertype: Option<TypeRef>,
    pub shared: bool,
    pub descriptor: Option<TypeRef>,
    pub describes: Option<TypeRef>,
    pub composite: CompositeKey,
}

/// The structural form of a rec group: equal keys are equal types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RecGroupKey(pub Box<[SubTypeKey]>);

impl RecGroupKey {
    /// The group of one final function type without supertypes, as a host signature or
    /// `(type (func …))` in a module defines it. Host signatures name no defined types.
    pub fn host_func(ty: &FuncType) -> Result<RecGroupKey> {
        let convert = |tys: &[ValType]| -> Result<Box<[ValKey]>> {
            tys.iter().map(|t| host_val_key(*t)).collect()
        };
        Ok(RecGroupKey(Box::new([SubTypeKey {
            is_final: true,
            supertype: None,
            shared: false,
            descriptor: None,
            describes: None,
            composite: CompositeKey::Func {
                params: convert(ty.params())?,
                results: convert(ty.results())?,
            },
        }])))
    }

    /// Every reference to a type outside the group.
    fn outer_refs(&self) -> impl Iterator<Item = TypeId> {
        let mut refs = Vec::new();
        for sub in &self.0 {
            sub.push_refs(&mut refs);
        }
        refs.into_iter().filter_map(|r| match r {
            TypeRef::Canonical(id) => Some(id),
            TypeRef::InGroup(_) => None,
        })
    }
}

impl SubTypeKey {
    /// Appends every type reference of this type to `out`.
    fn push_refs(&self, out: &mut Vec<TypeRef>) {
        fn val_ref(v: &ValKey) -> Option<TypeRef> {
            match v {
                ValKey::Ref {
                    heap: HeapKey::Concrete(r) | HeapKey::Exact(r),
                    ..
                } => Some(*r),
                _ => None,
            }
        }
        fn field_ref(f: &FieldKey) -> Option<TypeRef> {
            match &f.storage {
                StorageKey::Val(v) => val_ref(v),
                StorageKey::I8 | StorageKey::I16 => None,
            }
        }
        out.extend(
            [self.supertype, self.descriptor, self.describes]
                .into_iter()
                .flatten(),
        );
        match &self.composite {
            CompositeKey::Func { params, results } => {
                out.extend(params.iter().chain(results.iter()).filter_map(val_ref));
            }
            CompositeKey::Struct(fields) => out.extend(fields.iter().filter_map(field_ref)),
            CompositeKey::Array(field) => out.extend(field_ref(field)),
            CompositeKey::Cont(r) => out.push(*r),
        }
    }
}

fn host_val_key(ty: ValType) -> Result<ValKey> {
    Ok(match ty {
        ValType::I32 => ValKey::I32,
        ValType::I64 => ValKey::I64,
        ValType::F32 => ValKey::F32,
        ValType::F64 => ValKey::F64,
        ValType::V128 => ValKey::V128,
        ValType::Ref(r) => {
            let Some(ty) = r.heap.to_abstract() else {
                return Err(Error::Usage(
                    "host function signatures cannot name defined types".into(),
                ));
            };
            ValKey::Ref {
                nullable: r.nullable,
                heap: HeapKey::Abstract { shared: false, ty },
            }
        }
    })
}

/// What the runtime needs to know about a canonical type.
#[derive(Debug, Clone)]
pub(crate) struct TypeInfo {
    /// The function signature, for function types.
    pub func: Option<FuncType>,
    /// Declared supertype.
    pub supertype: Option<TypeId>,
    /// Object layout, for struct and array types.
    pub layout: Option<Layout>,
}

impl TypeInfo {
    /// The facts about `sub`, a type of the group whose types get the ids `group`.
    fn new(sub: &SubTypeKey, group: &[TypeId]) -> TypeInfo {
        let resolve = |r: TypeRef| match r {
            TypeRef::InGroup(i) => group[i as usize],
            TypeRef::Canonical(id) => id,
        };
        let val = |v: &ValKey| val_type(*v, &resolve);
        let storage = |s: StorageKey| match s {
            StorageKey::I8 => Storage::I8,
            StorageKey::I16 => Storage::I16,
            StorageKey::Val(ValKey::I32 | ValKey::F32) => Storage::I32,
            StorageKey::Val(ValKey::I64 | ValKey::F64) => Storage::I64,
            StorageKey::Val(ValKey::V128) => Storage::V128,
            StorageKey::Val(ValKey::Ref { .. }) => Storage::Ref,
        };
        let (func, layout) = match &sub.composite {
            CompositeKey::Func { params, results } => (
                Some(FuncType::new(
                    params.iter().map(val),
                    results.iter().map(val),
                )),
                None,
            ),
            CompositeKey::Struct(fields) => (
                None,
                Some(Layout::of_struct(
                    fields.iter().map(|f| storage(f.storage)).collect(),
                )),
            ),
            CompositeKey::Array(field) => (None, Some(Layout::Array(storage(field.storage)))),
            CompositeKey::Cont(_) => (None, None),
        };
        TypeInfo {
            func,
            supertype: sub.supertype.map(resolve),
            layout,
        }
    }
}

fn val_type(v: ValKey, resolve: &impl Fn(TypeRef) -> TypeId) -> ValType {
    match v {
        ValKey::I32 => ValType::I32,
        ValKey::I64 => ValType::I64,
        ValKey::F32 => ValType::F32,
        ValKey::F64 => ValType::F64,
        ValKey::V128 => ValType::V128,
        ValKey::Ref { nullable, heap } => {
            let heap = match heap {
                HeapKey::Concrete(r) | HeapKey::Exact(r) => HeapType::Concrete(resolve(r)),
                HeapKey::Abstract { ty, .. } => HeapType::from_abstract(ty),
            };
            ValType::Ref(RefType { nullable, heap })
        }
    }
}

/// One id slot: the type it holds now, if any, and the generation ids of that type carry.
struct Slot {
    generation: u32,
    entry: Option<TypeEntry>,
}

struct TypeEntry {
    info: TypeInfo,
    /// Index of the type's group in `State::groups`.
    group: u32,
}

struct Group {
    key: Arc<RecGroupKey>,
    types: Box<[TypeId]>,
    /// Holders of this group: modules, host signatures and other groups naming it.
    refs: usize,
    /// The other groups this group's types name, each once; released with this group.
    uses: Box<[u32]>,
}

struct State {
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    groups: Vec<Option<Group>>,
    free_groups: Vec<u32>,
    by_key: HashMap<Arc<RecGroupKey>, u32>,
    /// Most slots there may be: ids are `u32` indices (less in tests of exhaustion).
    max_slots: usize,
}

/// The engine-wide registry of canonical types. See the module docs.
pub(crate) struct TypeRegistry {
    state: RwLock<State>,
}

impl Default for TypeRegistry {
    fn default() -> Self {
        TypeRegistry::with_max_slots(u32::MAX as usize)
    }
}

impl TypeRegistry {
    fn with_max_slots(max_slots: usize) -> TypeRegistry {
        TypeRegistry {
            state: RwLock::new(State {
                slots: Vec::new(),
                free_slots: Vec::new(),
                groups: Vec::new(),
                free_groups: Vec::new(),
                by_key: HashMap::new(),
                max_slots,
            }),
        }
    }

    /// A session registering the rec groups of one module (or one host signature) under one lock.
    pub fn registrar(self: &Arc<Self>) -> Registrar<'_> {
        Registrar {
            registry: self,
            state: self.write(),
            groups: Vec::new(),
        }
    }

    /// Registers `key` by itself: its ids and the registration holding them.
    pub fn register(
        self: &Arc<Self>,
        key: RecGroupKey,
    ) -> Result<(Box<[TypeId]>, RegisteredTypes)> {
        let mut registrar = self.registrar();
        let ids = registrar.register(key)?.into();
        Ok((ids, registrar.finish()))
    }

    /// A new hold on the group of `id`, if `id` names a registered type.
    pub fn retain(self: &Arc<Self>, id: TypeId) -> Option<RegisteredTypes> {
        let mut state = self.write();
        let group = state.group_of(id)?;
        state.groups[group as usize]
            .as_mut()
            .expect("groups of registered types are live")
            .refs += 1;
        Some(RegisteredTypes {
            registry: self.clone(),
            groups: Box::new([group]),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // The state is consistent between statements that can panic, so a poisoned lock is usable.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the facts about `id`, if it names a registered type.
    pub fn with_info<R>(&self, id: TypeId, f: impl FnOnce(&TypeInfo) -> R) -> Option<R> {
        self.read().info(id).map(f)
    }

    /// Whether `sub` is `sup` or declares it (transitively) as a supertype.
    pub fn is_subtype(&self, sub: TypeId, sup: TypeId) -> bool {
        if sub == sup {
            return true;
        }
        let state = self.read();
        let mut current = state.info(sub).and_then(|i| i.supertype);
        while let Some(id) = current {
            if id == sup {
                return true;
            }
            current = state.info(id).and_then(|i| i.supertype);
        }
        false
    }

    /// How many types are registered (for tests of release).
    #[cfg(test)]
    fn live_types(&self) -> usize {
        let state = self.read();
        state.slots.iter().filter(|s| s.entry.is_some()).count()
    }
}

impl State {
    fn info(&self, id: TypeId) -> Option<&TypeInfo> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_ref().map(|e| &e.info)
    }

    fn group_of(&self, id: TypeId) -> Option<u32> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_ref().map(|e| e.group)
    }

    fn register(&mut self, key: RecGroupKey) -> Result<u32> {
        if let Some(&group) = self.by_key.get(&key) {
            self.groups[group as usize]
                .as_mut()
                .expect("keyed groups are live")
                .refs += 1;
            return Ok(group);
        }
        let mut uses = Vec::new();
        for id in key.outer_refs() {
            let group = self.group_of(id).ok_or_else(|| {
                Error::Usage("a type names a type that is no longer registered".into())
            })?;
            if !uses.contains(&group) {
                uses.push(group);
            }
        }
        let count = key.0.len();
        let fresh = count.saturating_sub(self.free_slots.len());
        if fresh > self.max_slots - self.slots.len() {
            return Err(Error::Unsupported {
                feature: format!(
                    "implementation limit: more than {} types alive in one engine",
                    self.max_slots
                ),
                offset: 0,
            });
        }
        let ids: Box<[TypeId]> = (0..count)
            .map(|_| match self.free_slots.pop() {
                Some(index) => TypeId {
                    index,
                    generation: self.slots[index as usize].generation,
                },
                None => {
                    self.slots.push(Slot {
                        generation: 0,
                        entry: None,
                    });
                    TypeId {
                        index: (self.slots.len() - 1) as u32,
                        generation: 0,
                    }
                }
            })
            .collect();
        let group = match self.free_groups.pop() {
            Some(group) => group,
            None => {
                self.groups.push(None);
                (self.groups.len() - 1) as u32
            }
        };
        for (sub, id) in key.0.iter().zip(ids.iter()) {
            self.slots[id.index as usize].entry = Some(TypeEntry {
                info: TypeInfo::new(sub, &ids),
                group,
            });
        }
        for used in &uses {
            self.groups[*used as usize]
                .as_mut()
                .expect("used groups are live")
                .refs += 1;
        }
        let key = Arc::new(key);
        self.by_key.insert(key.clone(), group);
        self.groups[group as usize] = Some(Group {
            key,
            types: ids,
            refs: 1,
            uses: uses.into(),
        });
        Ok(group)
    }

    /// Drops one reference to `group`, removing it (and what only it used) when none is left.
    fn release(&mut self, group: u32) {
        let mut pending = vec![group];
        while let Some(group) = pending.pop() {
            let entry = self.groups[group as usize]
                .as_mut()
                .expect("a released group is live");
            entry.refs -= 1;
            if entry.refs > 0 {
                continue;
            }
            let entry = self.groups[group as usize]
                .take()
                .expect("checked just above");
            self.free_groups.push(group);
            self.by_key.remove(&*entry.key);
            for id in entry.types.iter() {
                let slot = &mut self.slots[id.index as usize];
                slot.entry = None;
                // A slot whose generations are used up is retired rather than risk an old id
                // matching a new type.
                if let Some(next) = slot.generation.checked_add(1) {
                    slot.generation = next;
                    self.free_slots.push(id.index);
                }
            }
            pending.extend_from_slice(&entry.uses);
        }
    }
}

/// Registration of the rec groups of one module or host signature, in order, under the registry's
/// lock. Groups registered by a registrar that is dropped unfinished (registration of a later group
/// failed) are released.
pub(crate) struct Registrar<'a> {
    registry: &'a Arc<TypeRegistry>,
    state: RwLockWriteGuard<'a, State>,
    groups: Vec<u32>,
}

impl Registrar<'_> {
    /// Registers a rec group (or finds the equal group already registered) and returns the canonical
    /// ids of its types, in order.
    pub fn register(&mut self, key: RecGroupKey) -> Result<&[TypeId]> {
        let group = self.state.register(key)?;
        self.groups.push(group);
        Ok(&self.state.groups[group as usize]
            .as_ref()
            .expect("just registered")
            .types)
    }

    /// The facts about a registered type.
    pub fn info(&self, id: TypeId) -> Option<&TypeInfo> {
        self.state.info(id)
    }

    /// Ends the session; the returned registration keeps the groups alive.
    pub fn finish(mut self) -> RegisteredTypes {
        RegisteredTypes {
            registry: self.registry.clone(),
            groups: std::mem::take(&mut self.groups).into(),
        }
    }
}

impl Drop for Registrar<'_> {
    fn drop(&mut self) {
        for group in self.groups.drain(..) {
            self.state.release(group);
        }
    }
}

/// A hold on registered rec groups (a module's, or a host signature's): they stay registered, and
/// their ids valid, until this is dropped.
pub(crate) struct RegisteredTypes {
    registry: Arc<TypeRegistry>,
    groups: Box<[u32]>,
}

impl Drop for RegisteredTypes {
    fn drop(&mut self) {
        if self.groups.is_empty() {
            return;
        }
        let mut state = self.registry.write();
        for group in self.groups.iter() {
            state.release(*group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(params: &[ValType]) -> RecGroupKey {
        RecGroupKey::host_func(&FuncType::new(params.iter().copied(), [])).unwrap()
    }

    /// `(rec (struct (field (ref null 1))) (struct (field (ref null $outer))))`.
    fn pair(outer: TypeId) -> RecGroupKey {
        let field = |heap| FieldKey {
            storage: StorageKey::Val(ValKey::Ref {
                nullable: true,
                heap,
            }),
            mutable: false,
        };
        let sub = |f| SubTypeKey {
            is_final: true,
            supertype: None,
            shared: false,
            descriptor: None,
            describes: None,
            composite: CompositeKey::Struct(Box::new([f])),
        };
        RecGroupKey(Box::new([
            sub(field(HeapKey::Concrete(TypeRef::InGroup(1)))),
            sub(field(HeapKey::Concrete(TypeRef::Canonical(outer)))),
        ]))
    }

    #[test]
    fn equal_groups_share_ids_and_different_groups_do_not() {
        let registry = Arc::new(TypeRegistry::default());
        let (a, _ra) = registry.register(func(&[ValType::I32])).unwrap();
        let (b, _rb) = registry.register(func(&[ValType::I32])).unwrap();
        let (c, _rc) = registry.register(func(&[ValType::I64])).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(registry.live_types(), 2);
    }

    #[test]
    fn a_group_lives_until_its_last_holder_and_its_users_are_gone() {
        let registry = Arc::new(TypeRegistry::default());
        let (f, held_f) = registry.register(func(&[])).unwrap();
        let (p, held_p) = registry.register(pair(f[0])).unwrap();
        assert_eq!(registry.live_types(), 3);
        drop(held_f);
        // The pair names `f`, so `f` stays.
        assert_eq!(registry.live_types(), 3);
        assert!(registry.with_info(f[0], |_| ()).is_some());
        let retained = registry.retain(p[1]).unwrap();
        drop(held_p);
        assert_eq!(registry.live_types(), 3);
        drop(retained);
        assert_eq!(registry.live_types(), 0);
        assert!(registry.with_info(p[0], |_| ()).is_none());
    }

    #[test]
    fn a_released_id_never_names_a_later_type() {
        let registry = Arc::new(TypeRegistry::default());
        let (old, held) = registry.register(func(&[ValType::I32])).unwrap();
        drop(held);
        let (new, _held) = registry.register(func(&[ValType::I64])).unwrap();
        assert_eq!(old[0].index, new[0].index, "the slot is reused");
        assert_ne!(old[0], new[0]);
        assert!(registry.with_info(old[0], |_| ()).is_none());
        assert!(registry.retain(old[0]).is_none());
        let (again, _held) = registry.register(func(&[ValType::I32])).unwrap();
        assert_ne!(old[0], again[0]);
    }

    #[test]
    fn running_out_of_ids_is_an_error_and_release_makes_room() {
        let registry = Arc::new(TypeRegistry::with_max_slots(3));
        let (f, held_f) = registry.register(func(&[])).unwrap();
        let (_, held_p) = registry.register(pair(f[0])).unwrap();
        let Err(err) = registry.register(func(&[ValType::I32])) else {
            panic!("a fourth type fits in three slots");
        };
        assert!(err.to_string().contains("implementation limit"), "{err}");
        // A failed registration leaves nothing behind.
        assert_eq!(registry.live_types(), 3);
        drop((held_f, held_p));
        registry.register(func(&[ValType::I32])).unwrap();
    }

    #[test]
    fn a_failed_session_releases_the_groups_it_registered() {
        let registry = Arc::new(TypeRegistry::with_max_slots(2));
        let mut registrar = registry.registrar();
        let f = registrar.register(func(&[])).unwrap()[0];
        assert!(registrar.register(pair(f)).is_err());
        drop(registrar);
        assert_eq!(registry.live_types(), 0);
    }
}
