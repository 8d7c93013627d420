//! The public [`Table`] handle: a table of a store, read, written and grown by the host. The
//! table's elements are the store's `runtime::table::TableEntity`.

use crate::handle::StoreId;
use crate::runtime::store::StoreInner;
use crate::runtime::table::TableEntity;
use crate::store::{AsContext, AsContextMut};
use crate::types::TableType;
use crate::values::Val;
use crate::{Error, Result};

/// A table in a store.
///
/// ```
/// use ward::{Engine, Func, RefType, Store, Table, TableType, Val};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let table = Table::new(&mut store, TableType::new(RefType::FUNCREF, 2, Some(10)), Val::FuncRef(None))?;
/// let f = Func::wrap(&mut store, || 7i32);
/// table.set(&mut store, 1, Val::FuncRef(Some(f)))?;
/// assert!(matches!(table.get(&store, 0), Some(Val::FuncRef(None))));
/// assert!(matches!(table.get(&store, 1), Some(Val::FuncRef(Some(_)))));
/// assert_eq!(table.grow(&mut store, 3, Val::FuncRef(None))?, 2);
/// assert_eq!(table.size(&store), 5);
/// assert!(table.get(&store, 5).is_none());
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Table {
    /// Creates a table of type `ty` with every element set to `init`.
    ///
    /// An element type naming a defined type (taken from a module's types) keeps that type
    /// registered while the store lives, so modules compiled later with an equal type can import
    /// the table; it is an error if every module with the type has been dropped already.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = store.as_context_mut();
        store
            .inner
            .hold_type(crate::types::ValType::Ref(ty.element))?;
        if !init.matches(&store.inner, crate::types::ValType::Ref(ty.element)) {
            return Err(Error::Usage(
                "table initial value has the wrong type".into(),
            ));
        }
        let raw = init.to_raw(store.inner.id)? as u64;
        let entity = store.create_table(ty, raw)?;
        let inner = &mut store.inner;
        inner.tables.push(entity);
        Ok(Table {
            store: inner.id,
            index: (inner.tables.len() - 1) as u32,
        })
    }

    fn entity<'a>(&self, store: &'a StoreInner) -> &'a TableEntity {
        assert_eq!(self.store, store.id, "table used with the wrong store");
        &store.tables[self.index as usize]
    }

    /// The table's type, with its current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        self.entity(&store.as_context().inner).current_type()
    }

    /// Current number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.entity(&store.as_context().inner).size()
    }

    /// The element at `index`, if in bounds.
    pub fn get(&self, store: impl AsContext, index: u64) -> Option<Val> {
        let inner = &store.as_context().inner;
        let entity = self.entity(inner);
        let raw = *entity.elements.get(usize::try_from(index).ok()?)?;
        Some(Val::from_raw(
            raw as u128,
            crate::types::ValType::Ref(entity.ty.element),
            inner,
        ))
    }

    /// Sets the element at `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<()> {
        let inner = &mut store.as_context_mut().inner;
        let ty = self.entity(inner).ty;
        if !value.matches(inner, crate::types::ValType::Ref(ty.element)) {
            return Err(Error::Usage("table element has the wrong type".into()));
        }
        let raw = value.to_raw(inner.id)? as u64;
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| inner.tables[self.index as usize].elements.get_mut(i))
            .ok_or_else(|| Error::Usage("table index out of bounds".into()))?;
        *slot = raw;
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the previous size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let store = store.as_context_mut();
        let ty = self.entity(&store.inner).ty;
        if !init.matches(&store.inner, crate::types::ValType::Ref(ty.element)) {
            return Err(Error::Usage("table element has the wrong type".into()));
        }
        let raw = init.to_raw(store.inner.id)? as u64;
        store
            .grow_table(self.index as usize, delta, raw)?
            .ok_or_else(|| Error::Usage("failed to grow table".into()))
    }
}
