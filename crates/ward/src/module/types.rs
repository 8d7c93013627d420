//! Canonical ids for a module's types: registers the rec groups of a module, as its own validator
//! left them, in the engine's type registry (`type_registry`), and converts the module's types that
//! name defined types (tables, globals, cast targets) into ward's types with canonical ids.
//!
//! A module is validated by a validator of its own, so its type ids ([`CoreTypeId`]) mean something
//! only within the module; [`CanonicalTypes`] maps them to engine-wide [`TypeId`]s. Used by `module`
//! (compilation) and the translator (cast targets, GC instruction immediates).

use std::ops::Range;
use std::sync::Arc;

use wasmparser::types::{CoreTypeId, TypeIdentifier, TypesRef};
use wasmparser::{CompositeInnerType, StorageType, SubType, UnpackedIndex};

use crate::engine::Engine;
use crate::type_registry::{
    CompositeKey, FieldKey, HeapKey, RecGroupKey, RegisteredTypes, StorageKey, SubTypeKey, TypeRef,
    ValKey,
};
use crate::types::{FuncType, HeapType, RefType, TypeId, ValType};
use crate::{Error, Result};

/// A module's types with their canonical ids.
pub(crate) struct CanonicalTypes<'a> {
    /// The module's types, from its own validator.
    pub types: TypesRef<'a>,
    /// Canonical id of each of the module's type ids, by the id's index (shared with a lazily
    /// translated module, which builds a `CanonicalTypes` for each translation).
    canonical: Arc<[Option<TypeId>]>,
}

/// What registering a module's types gives the module.
pub(crate) struct RegisteredModuleTypes<'a> {
    pub canonical: CanonicalTypes<'a>,
    /// Keeps the module's types registered while the module lives.
    pub registration: RegisteredTypes,
    /// Module type index → module-local id.
    pub local_ids: Vec<CoreTypeId>,
    /// Module type index → canonical id.
    pub type_ids: Vec<TypeId>,
    /// Module type index → signature, for function types.
    pub signatures: Vec<Option<FuncType>>,
}

/// Registers the rec groups of a validated module's types in the engine, in order.
pub(crate) fn register<'a>(
    engine: &Engine,
    types: TypesRef<'a>,
) -> Result<RegisteredModuleTypes<'a>> {
    let local_ids: Vec<CoreTypeId> = (0..types.core_type_count_in_module())
        .map(|i| types.core_type_at_in_module(i))
        .collect();
    let mut canonical: Vec<Option<TypeId>> = Vec::new();
    let mut registrar = engine.inner.types.registrar();
    for id in &local_ids {
        if canonical.get(id.index()).copied().flatten().is_some() {
            continue;
        }
        let members: Vec<CoreTypeId> = types
            .rec_group_elements(types.rec_group_id_of(*id))
            .collect();
        // A rec group's ids are consecutive.
        let start = members.first().map_or(id.index(), |first| first.index());
        let group = start..start + members.len();
        let key = RecGroupKey(
            members
                .iter()
                .map(|member| sub_type_key(&types[*member], &group, &canonical))
                .collect::<Result<_>>()?,
        );
        let ids = registrar.register(key)?;
        if canonical.len() < group.end {
            canonical.resize(group.end, None);
        }
        for (member, canonical_id) in members.iter().zip(ids) {
            canonical[member.index()] = Some(*canonical_id);
        }
    }
    let canonical = CanonicalTypes {
        types,
        canonical: canonical.into(),
    };
    let type_ids: Vec<TypeId> = local_ids.iter().map(|id| canonical.id(*id)).collect();
    let signatures = type_ids
        .iter()
        .map(|id| registrar.info(*id).and_then(|info| info.func.clone()))
        .collect();
    Ok(RegisteredModuleTypes {
        canonical,
        registration: registrar.finish(),
        local_ids,
        type_ids,
        signatures,
    })
}

/// The structural form of a type of the group whose local ids are `group`.
fn sub_type_key(
    sub: &SubType,
    group: &Range<usize>,
    canonical: &[Option<TypeId>],
) -> Result<SubTypeKey> {
    let type_ref = |index: UnpackedIndex| -> Result<TypeRef> {
        match index {
            UnpackedIndex::Id(id) if group.contains(&id.index()) => {
                Ok(TypeRef::InGroup((id.index() - group.start) as u32))
            }
            UnpackedIndex::Id(id) => canonical
                .get(id.index())
                .copied()
                .flatten()
                .map(TypeRef::Canonical)
                .ok_or_else(|| internal("a type names a type defined after it")),
            UnpackedIndex::RecGroup(i) => Ok(TypeRef::InGroup(i)),
            UnpackedIndex::Module(_) => Err(internal("a validated type names a module index")),
        }
    };
    let val = |ty: wasmparser::ValType| -> Result<ValKey> {
        Ok(match ty {
            wasmparser::ValType::I32 => ValKey::I32,
            wasmparser::ValType::I64 => ValKey::I64,
            wasmparser::ValType::F32 => ValKey::F32,
            wasmparser::ValType::F64 => ValKey::F64,
            wasmparser::ValType::V128 => ValKey::V128,
            wasmparser::ValType::Ref(r) => ValKey::Ref {
                nullable: r.is_nullable(),
                heap: match r.heap_type() {
                    wasmparser::HeapType::Abstract { shared, ty } => {
                        HeapKey::Abstract { shared, ty }
                    }
                    wasmparser::HeapType::Concrete(index) => HeapKey::Concrete(type_ref(index)?),
                    wasmparser::HeapType::Exact(index) => HeapKey::Exact(type_ref(index)?),
                },
            },
        })
    };
    let field = |f: &wasmparser::FieldType| -> Result<FieldKey> {
        Ok(FieldKey {
            storage: match f.element_type {
                StorageType::I8 => StorageKey::I8,
                StorageType::I16 => StorageKey::I16,
                StorageType::Val(v) => StorageKey::Val(val(v)?),
            },
            mutable: f.mutable,
        })
    };
    let composite = match &sub.composite_type.inner {
        CompositeInnerType::Func(f) => CompositeKey::Func {
            params: f.params().iter().map(|t| val(*t)).collect::<Result<_>>()?,
            results: f.results().iter().map(|t| val(*t)).collect::<Result<_>>()?,
        },
        CompositeInnerType::Struct(s) => {
            CompositeKey::Struct(s.fields.iter().map(field).collect::<Result<_>>()?)
        }
        CompositeInnerType::Array(a) => CompositeKey::Array(field(&a.0)?),
        CompositeInnerType::Cont(c) => CompositeKey::Cont(type_ref(c.0.unpack())?),
    };
    let optional =
        |index: Option<wasmparser::PackedIndex>| index.map(|i| type_ref(i.unpack())).transpose();
    Ok(SubTypeKey {
        is_final: sub.is_final,
        supertype: optional(sub.supertype_idxs.first().copied())?,
        shared: sub.composite_type.shared,
        descriptor: optional(sub.composite_type.descriptor_idx)?,
        describes: optional(sub.composite_type.describes_idx)?,
        composite,
    })
}

/// An inconsistency in a validated module's types: reported rather than trusted.
fn internal(message: &str) -> Error {
    Error::Invalid {
        message: format!("internal error canonicalizing types: {message}"),
        offset: 0,
    }
}

impl<'a> CanonicalTypes<'a> {
    /// The canonical ids of `types` that an earlier `CanonicalTypes` of the same types found
    /// ([`CanonicalTypes::canonical_ids`]).
    pub fn with_ids(types: TypesRef<'a>, canonical: Arc<[Option<TypeId>]>) -> Self {
        CanonicalTypes { types, canonical }
    }

    /// The canonical id of each of the module's type ids, by the id's index.
    pub fn canonical_ids(&self) -> Arc<[Option<TypeId>]> {
        self.canonical.clone()
    }

    /// The canonical id of one of the module's (local) type ids.
    pub fn id(&self, local: CoreTypeId) -> TypeId {
        self.canonical
            .get(local.index())
            .copied()
            .flatten()
            .expect("every type of the module is registered with it")
    }

    /// Converts a validated reference type outside type definitions (which name types by module
    /// index or by local id).
    pub fn ref_type(&self, r: wasmparser::RefType) -> RefType {
        let heap = match r.heap_type() {
            wasmparser::HeapType::Abstract { ty, .. } => HeapType::from_abstract(ty),
            wasmparser::HeapType::Concrete(index) | wasmparser::HeapType::Exact(index) => {
                let local = match index {
                    UnpackedIndex::Module(i) => self.types.core_type_at_in_module(i),
                    UnpackedIndex::Id(id) => id,
                    UnpackedIndex::RecGroup(_) => {
                        unreachable!("rec-group-relative indices occur only in type definitions")
                    }
                };
                HeapType::Concrete(self.id(local))
            }
        };
        RefType {
            nullable: r.is_nullable(),
            heap,
        }
    }

    /// Converts a validated value type outside type definitions.
    pub fn val_type(&self, ty: wasmparser::ValType) -> ValType {
        match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(self.ref_type(r)),
        }
    }
}
