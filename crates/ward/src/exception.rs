//! Exception handling entities: [`Tag`] (an exception tag, importable and exportable) and [`ExnRef`]
//! (a thrown exception: its tag and payload values).
//!
//! Tags live in the store like functions and globals; instances that import the same tag share one
//! store entry, so catching compares store tag indices. A thrown exception is an object in the store's
//! GC heap (`runtime::gc::ObjectKind::Exception`: its store tag and payload words); an `exnref` slot holds its
//! heap handle and null is 0, so unreachable exceptions are collected like structs and arrays.
//!
//! Used by the executor (`throw`, `throw_ref`, `try_table`), by instantiation (tag imports and exports)
//! and by host code, which sees uncaught exceptions as [`Error::Exception`] and may inspect, create and
//! rethrow them. The `ExnRef` type itself is defined in `handle`, below the error type that carries
//! it; its methods are here.

use crate::handle::{ExnRef, StoreId};
use crate::runtime::gc::{GcObject, ObjectKind};
use crate::runtime::store::{StoreInner, TagEntity};
use crate::store::{AsContext, AsContextMut};
use crate::types::{FuncType, push_slots};
use crate::values::{Val, describe, vals_from_slots};
use crate::{Error, Result};

/// An exception tag: identifies a kind of exception and the types of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Tag {
    /// A new tag whose exceptions carry values of the parameter types of `ty` (which must have no
    /// results). Two tags made this way are distinct even with equal types.
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> Result<Tag> {
        if !ty.results().is_empty() {
            return Err(Error::Usage("a tag's type cannot have results".into()));
        }
        let inner = &mut store.as_context_mut().inner;
        let id = inner.host_func_type(ty)?;
        Ok(inner.push_tag(TagEntity {
            ty: id,
            sig: ty.clone(),
        }))
    }

    /// The tag's type: its parameters are the payload types.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let inner = &store.as_context().inner;
        assert_eq!(self.store, inner.id, "tag used with the wrong store");
        inner.tags[self.index as usize].sig.clone()
    }
}

impl ExnRef {
    /// A new exception of `tag` with payload `values`, e.g. for a host function to throw by returning
    /// `Err(Error::Exception(exn))`.
    pub fn new(mut store: impl AsContextMut, tag: Tag, values: &[Val]) -> Result<ExnRef> {
        let store = store.as_context_mut();
        let inner = &mut store.inner;
        if tag.store != inner.id {
            return Err(Error::Usage("tag used with the wrong store".into()));
        }
        let entity = &inner.tags[tag.index as usize];
        let (ty, sig) = (entity.ty, entity.sig.clone());
        if values.len() != sig.params().len() {
            return Err(Error::Usage(format!(
                "tag payload has {} values, got {}",
                sig.params().len(),
                values.len()
            )));
        }
        let mut payload = Vec::new();
        for (i, (val, ty)) in values.iter().zip(sig.params()).enumerate() {
            if !val.matches(inner, *ty) {
                return Err(Error::Usage(format!(
                    "payload value {i} has type {} but the tag expects {ty}",
                    describe(val)
                )));
            }
            push_slots(&mut payload, val.to_raw(inner.id)?, *ty);
        }
        // Host-made exceptions do not trigger a collection (the payload being copied is not rooted
        // anywhere yet); the exception is rooted for the host once made.
        if !inner.gc.fits(payload.len()) || !store.reserve_gc_heap(Some(payload.len()))? {
            return Err(Error::Usage("GC heap exhausted".into()));
        }
        let inner = &mut store.inner;
        let raw = inner.gc.alloc(GcObject {
            ty,
            kind: ObjectKind::Exception { tag: tag.index },
            words: payload.into(),
        });
        inner.root_for_host(raw);
        Ok(ExnRef {
            store: inner.id,
            raw,
        })
    }

    /// The exception's store tag and payload words.
    fn entity<'a>(&self, inner: &'a StoreInner) -> Result<(u32, &'a [u64])> {
        if self.store != inner.id {
            return Err(Error::Usage("exception used with the wrong store".into()));
        }
        match inner.gc.get(self.raw) {
            Some(GcObject {
                kind: ObjectKind::Exception { tag },
                words,
                ..
            }) => Ok((*tag, words)),
            _ => Err(Error::Usage(
                "exception reference is no longer valid (it was collected)".into(),
            )),
        }
    }

    /// The exception's tag.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag> {
        let inner = &store.as_context().inner;
        let (tag, _) = self.entity(inner)?;
        Ok(Tag {
            store: inner.id,
            index: tag,
        })
    }

    /// The exception's payload values, typed by its tag.
    pub fn payload(&self, store: impl AsContext) -> Result<Vec<Val>> {
        let inner = &store.as_context().inner;
        let (tag, payload) = self.entity(inner)?;
        let sig = &inner.tags[tag as usize].sig;
        Ok(vals_from_slots(payload, sig.params(), inner))
    }
}

impl StoreInner {
    /// Adds a tag to the store and returns its handle.
    pub fn push_tag(&mut self, entity: TagEntity) -> Tag {
        self.tags.push(entity);
        Tag {
            store: self.id,
            index: (self.tags.len() - 1) as u32,
        }
    }
}
