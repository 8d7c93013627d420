//! Tables as the store keeps them: [`TableEntity`], a vector of elements and the table's type.
//!
//! Elements are encoded references (see `values`): 0 is null. Used by the store (creation and growth
//! under the resource limiter), `instance` (segments), the executor (`table.*`, `call_indirect`) and
//! the public [`Table`](crate::Table) handle.

use crate::types::TableType;
use crate::{Error, Result};

/// Most elements a table may hold, so a guest cannot make the host allocate without bound.
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table in the store.
pub(crate) struct TableEntity {
    pub elements: Vec<u64>,
    pub ty: TableType,
}

impl TableEntity {
    pub fn new(ty: TableType, init: u64) -> Result<Self> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return Err(Error::Instantiation(format!(
                "table minimum size {} exceeds the limit of {MAX_TABLE_ELEMENTS} elements",
                ty.minimum
            )));
        }
        Ok(TableEntity {
            elements: vec![init; ty.minimum as usize],
            ty,
        })
    }

    pub fn size(&self) -> u64 {
        self.elements.len() as u64
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` when not allowed.
    pub fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.ty.maximum.unwrap_or(u64::MAX) || new > MAX_TABLE_ELEMENTS {
            return None;
        }
        self.elements.resize(new as usize, init);
        Some(old)
    }

    pub fn current_type(&self) -> TableType {
        TableType {
            minimum: self.size(),
            ..self.ty
        }
    }
}
