//! Typed host resources, as Wasmtime's users know them: [`Resource<R>`], an owned or borrowed
//! handle of the host resource type that `LinkerInstance::host_resource::<R>` defines, which
//! `func_wrap` host functions and typed calls take and return; and [`ResourceTable`], a table of
//! host values the store's data can hold, whose indices serve as the representations.
//!
//! A `Resource<R>` knows its representation and whether it is owned, not its run-time resource
//! type: it is lowered as a placeholder naming `R`, which the receiving instance resolves to the
//! resource type it imported for `R` (`InstanceState::resolve_resource`), and a resource lifted
//! from a guest becomes a `Resource<R>` only if its type is `R`'s. Depends on `resources` and
//! `typed`; used by host code.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::resources::{ResourceAny, ResourceRt};
use super::typed::{ComponentType, Lift, Lower};
use super::types::Type;
use super::val::Val;
use crate::{Error, Result};

/// A handle of the host resource type of Rust type `R`: its representation (usually an index
/// into a [`ResourceTable`]) and whether it is owned (`own<R>`) or borrowed (`borrow<R>`).
///
/// The type of `R` is checked when the handle crosses into or out of a component: a handle of
/// another resource type is an error then, not when `get_typed_func` checks the function's type.
pub struct Resource<R> {
    rep: u32,
    own: bool,
    _type: PhantomData<fn() -> R>,
}

impl<R: 'static> Resource<R> {
    /// An owned handle with representation `rep`, to give to a guest.
    pub fn new_own(rep: u32) -> Self {
        Resource {
            rep,
            own: true,
            _type: PhantomData,
        }
    }

    /// A borrowed handle with representation `rep`, to lend to a guest for one call.
    pub fn new_borrow(rep: u32) -> Self {
        Resource {
            rep,
            own: false,
            _type: PhantomData,
        }
    }

    /// The representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether the handle is owned rather than borrowed.
    pub fn owned(&self) -> bool {
        self.own
    }

    /// `resource` as a typed handle, if its type is the host resource type of `R`.
    pub fn try_from_resource_any(resource: &ResourceAny) -> Result<Self> {
        if resource.ty.host_type == Some(std::any::TypeId::of::<R>()) {
            Ok(Resource {
                rep: resource.rep,
                own: resource.own,
                _type: PhantomData,
            })
        } else {
            Err(Error::Usage(format!(
                "resource type mismatch: expected host resource `{}`, got {}",
                std::any::type_name::<R>(),
                if resource.ty.host_type.is_some() {
                    format!("host resource `{}`", resource.ty.host_type_name)
                } else {
                    "a resource of another type".to_string()
                }
            )))
        }
    }
}

impl<R> fmt::Debug for Resource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}

impl<R: 'static> ComponentType for Resource<R> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Own(_) | Type::Borrow(_) => Ok(()),
            _ => Err(Error::Usage(format!(
                "type mismatch: Resource<{}> is not the component type {ty}",
                std::any::type_name::<R>()
            ))),
        }
    }
}

impl<R: 'static> Lower for Resource<R> {
    fn lower(&self) -> Val {
        Val::Resource(ResourceAny {
            ty: Arc::new(ResourceRt::unresolved::<R>()),
            rep: self.rep,
            own: self.own,
        })
    }
}

impl<R: 'static> Lift for Resource<R> {
    fn lift(value: Val) -> Result<Self> {
        match value {
            Val::Resource(resource) => Self::try_from_resource_any(&resource),
            other => Err(Error::Usage(format!(
                "expected a value for Resource<{}>, got {other:?}",
                std::any::type_name::<R>()
            ))),
        }
    }
}

/// Why a [`ResourceTable`] operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceTableError {
    /// The table holds as many entries as representations can count.
    #[error("resource table has no space")]
    Full,
    /// No entry has the handle's representation.
    #[error("resource not present")]
    NotPresent,
    /// The entry is of another Rust type than the handle's.
    #[error("resource is of another type")]
    WrongType,
}

impl From<ResourceTableError> for Error {
    fn from(error: ResourceTableError) -> Self {
        Error::Host(anyhow::Error::new(error))
    }
}

/// Host values of any type, each behind a [`Resource`] whose representation is its index.
/// Kept in a store's data, it lets host functions and destructors find the value behind a
/// handle a guest passes (`get`, `get_mut`) or drops (`delete`). Indices of deleted entries are
/// reused.
#[derive(Default)]
pub struct ResourceTable {
    entries: Vec<Option<Box<dyn Any + Send>>>,
    free: Vec<u32>,
    len: usize,
}

impl fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTable")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl ResourceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, returning an owned handle to it.
    pub fn push<R: Send + 'static>(
        &mut self,
        value: R,
    ) -> std::result::Result<Resource<R>, ResourceTableError> {
        let entry: Box<dyn Any + Send> = Box::new(value);
        let index = match self.free.pop() {
            Some(index) => {
                self.entries[index as usize] = Some(entry);
                index
            }
            None => {
                let index =
                    u32::try_from(self.entries.len()).map_err(|_| ResourceTableError::Full)?;
                self.entries.push(Some(entry));
                index
            }
        };
        self.len += 1;
        Ok(Resource::new_own(index))
    }

    fn entry(&self, rep: u32) -> std::result::Result<&(dyn Any + Send), ResourceTableError> {
        match self.entries.get(rep as usize) {
            Some(Some(entry)) => Ok(entry.as_ref()),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    /// The value behind `resource`.
    pub fn get<R: 'static>(
        &self,
        resource: &Resource<R>,
    ) -> std::result::Result<&R, ResourceTableError> {
        self.entry(resource.rep)?
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value behind `resource`, writable.
    pub fn get_mut<R: 'static>(
        &mut self,
        resource: &Resource<R>,
    ) -> std::result::Result<&mut R, ResourceTableError> {
        match self.entries.get_mut(resource.rep as usize) {
            Some(Some(entry)) => entry.downcast_mut().ok_or(ResourceTableError::WrongType),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    /// Removes the value behind `resource` and returns it.
    pub fn delete<R: 'static>(
        &mut self,
        resource: Resource<R>,
    ) -> std::result::Result<R, ResourceTableError> {
        self.entry(resource.rep)?
            .downcast_ref::<R>()
            .ok_or(ResourceTableError::WrongType)?;
        let entry = self.entries[resource.rep as usize]
            .take()
            .expect("checked present above");
        self.free.push(resource.rep);
        self.len -= 1;
        Ok(*entry.downcast().expect("checked the type above"))
    }

    /// How many values the table holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_indices_are_reused_and_stale_handles_fail() {
        let mut table = ResourceTable::new();
        let a = table.push(1u8).unwrap();
        let b = table.push(String::from("b")).unwrap();
        assert_eq!((a.rep(), b.rep()), (0, 1));
        assert_eq!(table.delete(a).unwrap(), 1);
        assert_eq!(
            table.get(&Resource::<u8>::new_own(0)).unwrap_err(),
            ResourceTableError::NotPresent
        );
        let c = table.push(3u8).unwrap();
        assert_eq!(c.rep(), 0);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_handle_of_another_type_is_refused() {
        let mut table = ResourceTable::new();
        let s = table.push(String::from("s")).unwrap();
        let as_number = Resource::<u32>::new_borrow(s.rep());
        assert_eq!(
            table.get(&as_number).unwrap_err(),
            ResourceTableError::WrongType
        );
        assert_eq!(
            table.delete(Resource::<u32>::new_own(s.rep())).unwrap_err(),
            ResourceTableError::WrongType
        );
        assert_eq!(table.get(&s).unwrap(), "s");
        table.get_mut(&s).unwrap().push('!');
        assert_eq!(table.delete(s).unwrap(), "s!");
        assert!(table.is_empty());
    }

    #[test]
    fn typed_handles_lift_only_from_their_own_host_type() {
        let resource = ResourceAny {
            ty: Arc::new(ResourceRt::unresolved::<String>()),
            rep: 7,
            own: true,
        };
        let typed = Resource::<String>::lift(Val::Resource(resource.clone())).unwrap();
        assert_eq!((typed.rep(), typed.owned()), (7, true));
        let err = Resource::<u32>::lift(Val::Resource(resource)).unwrap_err();
        assert!(
            err.to_string().contains("expected host resource `u32`"),
            "{err}"
        );
    }
}
