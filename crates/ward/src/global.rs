//! The public [`Global`] handle: a global of a store, read and set by the host. The value cell is
//! the store's `runtime::store::GlobalEntity`.

use crate::handle::Global;
use crate::runtime::store::{GlobalEntity, StoreInner};
use crate::store::{AsContext, AsContextMut};
use crate::types::{GlobalType, Mutability};
use crate::values::Val;
use crate::{Error, Result};

impl Global {
    /// Creates a global of type `ty` holding `value`.
    ///
    /// A value type naming a defined type keeps that type registered while the store lives (see
    /// [`Table::new`](crate::Table::new)).
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let inner = &mut store.as_context_mut().inner;
        inner.hold_type(ty.content)?;
        if !value.matches(inner, ty.content) {
            return Err(Error::Usage(format!(
                "global value of type {} does not match the global type {}",
                crate::values::describe(&value),
                ty.content
            )));
        }
        let value = value.to_raw(inner.id)?;
        inner.globals.push(GlobalEntity { value, ty });
        Ok(Global {
            store: inner.id,
            index: (inner.globals.len() - 1) as u32,
        })
    }

    fn entity<'a>(&self, store: &'a StoreInner) -> &'a GlobalEntity {
        assert_eq!(self.store, store.id, "global used with the wrong store");
        &store.globals[self.index as usize]
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.entity(&store.as_context().inner).ty
    }

    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let inner = &store.as_context().inner;
        let entity = self.entity(inner);
        Val::from_raw(entity.value, entity.ty.content, inner)
    }

    /// Sets the value of a mutable global.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let inner = &mut store.as_context_mut().inner;
        let ty = self.entity(inner).ty;
        if ty.mutability != Mutability::Var {
            return Err(Error::Usage("cannot set an immutable global".into()));
        }
        if !value.matches(inner, ty.content) {
            return Err(Error::Usage("global value has the wrong type".into()));
        }
        inner.globals[self.index as usize].value = value.to_raw(inner.id)?;
        Ok(())
    }
}
