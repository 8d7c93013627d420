//! Resources at run time: the resource types each instantiation makes ([`ResourceRt`]), the values
//! that carry a resource across a call ([`ResourceAny`]), and each component instance's handle
//! table ([`HandleTable`]) with the canonical ABI's checks (unknown handles, wrong types, owned
//! handles dropped while lent, borrows left at the end of a call). Used by `abi` (lifting and
//! lowering `own`/`borrow`) and `instance` (`resource.new`/`rep`/`drop`). Resource types the host
//! defines ([`HostResource`], made by `LinkerInstance::resource`) have no owning instance and a
//! host destructor.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::errors::trap;
use crate::Result;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a resource type or a component instance.
pub(crate) fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A resource type made by one instantiation of the component that defines it.
#[derive(Debug)]
pub(crate) struct ResourceRt {
    pub id: u64,
    /// The id of the component instance that defined it (and whose core code sees `rep`s).
    pub owner: u64,
    /// The destructor: a core function `(param i32)` or the host's.
    pub dtor: Option<Dtor>,
    /// For a host resource type defined for a Rust type `R` ([`Resource<R>`](super::Resource)):
    /// `R`'s type id.
    pub host_type: Option<TypeId>,
    /// `R`'s name, for error messages (empty without a host type).
    pub host_type_name: &'static str,
}

/// The id of no resource type: that of the placeholder a [`Resource<R>`](super::Resource) is
/// lowered with, which knows only its host type `R` until the instance it goes to resolves it.
const UNRESOLVED: u64 = 0;

impl ResourceRt {
    /// A resource type defined by component instance `owner` (or the host) with destructor
    /// `dtor`.
    pub(crate) fn new(owner: u64, dtor: Option<Dtor>) -> Self {
        ResourceRt {
            id: fresh_id(),
            owner,
            dtor,
            host_type: None,
            host_type_name: "",
        }
    }

    /// The placeholder for host resource type `R` (see [`UNRESOLVED`]).
    pub(crate) fn unresolved<R: 'static>() -> Self {
        ResourceRt {
            id: UNRESOLVED,
            owner: HOST_OWNER,
            dtor: None,
            host_type: Some(TypeId::of::<R>()),
            host_type_name: std::any::type_name::<R>(),
        }
    }

    /// Whether this is a placeholder to be resolved by the instance a resource goes to.
    pub(crate) fn is_unresolved(&self) -> bool {
        self.id == UNRESOLVED
    }
}

/// The id no component instance has: the owner of resource types the host defines.
pub(crate) const HOST_OWNER: u64 = 0;

/// What runs when an owned handle of a resource type is dropped.
#[derive(Clone)]
pub(crate) enum Dtor {
    /// A guest's core function `(param i32)`.
    Core(crate::Func),
    /// A host destructor: a [`HostDtor<T>`] with the store's data type erased.
    Host(Arc<dyn Any + Send + Sync>),
}

impl std::fmt::Debug for Dtor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dtor::Core(func) => f.debug_tuple("Core").field(func).finish(),
            Dtor::Host(_) => f.write_str("Host"),
        }
    }
}

/// A host resource's destructor for stores holding `T`: it gets the representation.
pub(crate) type HostDtor<T> = Arc<dyn Fn(&mut crate::Store<T>, u32) -> Result<()> + Send + Sync>;

impl Dtor {
    /// Runs the destructor on `rep` in `store`.
    pub(crate) fn run<T: 'static>(&self, store: &mut crate::Store<T>, rep: u32) -> Result<()> {
        match self {
            Dtor::Core(func) => func.call(store, &[crate::Val::I32(rep as i32)], &mut []),
            Dtor::Host(host) => {
                let f = host.downcast_ref::<HostDtor<T>>().ok_or_else(|| {
                    crate::Error::Usage(
                        "a host resource dropped in a store of another data type".into(),
                    )
                })?;
                f(store, rep)
            }
        }
    }
}

/// A resource type the host defines with `LinkerInstance::resource`: the host makes owned
/// handles of it ([`HostResource::own`]) with a representation of its choosing (usually an index
/// into a table of its own), and recognises the handles guests pass back
/// ([`HostResource::rep_of`]).
#[derive(Clone, Debug)]
pub struct HostResource {
    pub(crate) rt: Arc<ResourceRt>,
}

impl HostResource {
    pub(crate) fn new(dtor: Option<Dtor>) -> Self {
        HostResource {
            rt: Arc::new(ResourceRt::new(HOST_OWNER, dtor)),
        }
    }

    /// The host resource type of Rust type `R`, whose handles are [`Resource<R>`](super::Resource).
    pub(crate) fn of<R: 'static>(dtor: Option<Dtor>) -> Self {
        HostResource {
            rt: Arc::new(ResourceRt {
                host_type: Some(TypeId::of::<R>()),
                host_type_name: std::any::type_name::<R>(),
                ..ResourceRt::new(HOST_OWNER, dtor)
            }),
        }
    }

    /// An owned handle of this type with representation `rep`, to return to a guest.
    pub fn own(&self, rep: u32) -> ResourceAny {
        ResourceAny {
            ty: self.rt.clone(),
            rep,
            own: true,
        }
    }

    /// The representation of `resource` if it is of this type (owned or borrowed).
    pub fn rep_of(&self, resource: &ResourceAny) -> Option<u32> {
        (resource.ty.id == self.rt.id).then_some(resource.rep)
    }
}

/// A resource passed across a call: its type, its representation and whether it is owned or
/// borrowed.
#[derive(Debug, Clone)]
pub struct ResourceAny {
    pub(crate) ty: Arc<ResourceRt>,
    pub(crate) rep: u32,
    pub(crate) own: bool,
}

impl PartialEq for ResourceAny {
    fn eq(&self, other: &Self) -> bool {
        self.ty.id == other.ty.id && self.rep == other.rep && self.own == other.own
    }
}

impl ResourceAny {
    /// The resource's representation (what its defining component's core code works with).
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether this is an owned handle (`own`) rather than a borrowed one.
    pub fn owned(&self) -> bool {
        self.own
    }
}

/// One handle-table entry.
#[derive(Debug)]
enum Slot {
    Free,
    Own {
        ty: Arc<ResourceRt>,
        rep: u32,
        /// Borrows of this handle lent out to calls in progress.
        lends: u32,
    },
    Borrow {
        ty: Arc<ResourceRt>,
        rep: u32,
        /// The call (an index into the instance's borrow scopes) the borrow lives for.
        scope: usize,
    },
}

/// What `remove` took out of the table.
pub(crate) enum Removed {
    Own(ResourceAny),
    Borrow { scope: usize },
}

/// A component instance's handles. Index 0 is never a valid handle.
#[derive(Debug, Default)]
pub(crate) struct HandleTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

fn unknown(handle: u32) -> crate::Error {
    trap(format!("unknown handle index {handle}"))
}

fn wrong_type(handle: u32) -> crate::Error {
    trap(format!(
        "handle index {handle} used with the wrong type, expected guest-defined resource but \
         found a different guest-defined resource"
    ))
}

impl HandleTable {
    fn insert(&mut self, slot: Slot) -> Result<u32> {
        if self.slots.is_empty() {
            self.slots.push(Slot::Free);
        }
        if let Some(index) = self.free.pop() {
            self.slots[index as usize] = slot;
            return Ok(index);
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|i| *i < 1 << 28)
            .ok_or_else(|| trap("too many handles"))?;
        self.slots.push(slot);
        Ok(index)
    }

    /// A new owned handle.
    pub fn insert_own(&mut self, ty: Arc<ResourceRt>, rep: u32) -> Result<u32> {
        self.insert(Slot::Own { ty, rep, lends: 0 })
    }

    /// A new borrowed handle living for the call at `scope`.
    pub fn insert_borrow(&mut self, ty: Arc<ResourceRt>, rep: u32, scope: usize) -> Result<u32> {
        self.insert(Slot::Borrow { ty, rep, scope })
    }

    fn slot(&self, handle: u32) -> Result<&Slot> {
        match self.slots.get(handle as usize) {
            Some(Slot::Free) | None => Err(unknown(handle)),
            Some(slot) => Ok(slot),
        }
    }

    /// Checks a slot's type against `expected` (when the caller knows it).
    fn check_type(handle: u32, ty: &ResourceRt, expected: Option<&ResourceRt>) -> Result<()> {
        match expected {
            Some(expected) if expected.id != ty.id => Err(wrong_type(handle)),
            _ => Ok(()),
        }
    }

    /// The representation behind `handle` (owned or borrowed), for `resource.rep` and borrows.
    pub fn rep(
        &self,
        handle: u32,
        expected: Option<&ResourceRt>,
    ) -> Result<(Arc<ResourceRt>, u32)> {
        match self.slot(handle)? {
            Slot::Own { ty, rep, .. } | Slot::Borrow { ty, rep, .. } => {
                Self::check_type(handle, ty, expected)?;
                Ok((ty.clone(), *rep))
            }
            Slot::Free => Err(unknown(handle)),
        }
    }

    /// Lends `handle` to a call: an owned handle cannot be dropped until [`HandleTable::unlend`].
    /// Returns whether it was an owned handle (a borrowed one is simply passed on).
    pub fn lend(&mut self, handle: u32) -> Result<bool> {
        match self.slots.get_mut(handle as usize) {
            Some(Slot::Own { lends, .. }) => {
                *lends += 1;
                Ok(true)
            }
            Some(Slot::Borrow { .. }) => Ok(false),
            Some(Slot::Free) | None => Err(unknown(handle)),
        }
    }

    /// Ends a lend made by [`HandleTable::lend`].
    pub fn unlend(&mut self, handle: u32) {
        if let Some(Slot::Own { lends, .. }) = self.slots.get_mut(handle as usize) {
            *lends = lends.saturating_sub(1);
        }
    }

    /// Removes `handle` (for `resource.drop` or to pass an owned handle on). An owned handle
    /// lent out cannot be removed.
    pub fn remove(&mut self, handle: u32, expected: Option<&ResourceRt>) -> Result<Removed> {
        let removed = match self.slot(handle)? {
            Slot::Own { ty, rep, lends } => {
                Self::check_type(handle, ty, expected)?;
                if *lends != 0 {
                    return Err(trap("cannot remove owned resource while borrowed"));
                }
                Removed::Own(ResourceAny {
                    ty: ty.clone(),
                    rep: *rep,
                    own: true,
                })
            }
            Slot::Borrow { ty, scope, .. } => {
                Self::check_type(handle, ty, expected)?;
                Removed::Borrow { scope: *scope }
            }
            Slot::Free => return Err(unknown(handle)),
        };
        self.slots[handle as usize] = Slot::Free;
        self.free.push(handle);
        Ok(removed)
    }

    /// Removes an owned handle to pass it on; a borrowed one cannot be.
    pub fn take_own(&mut self, handle: u32, expected: Option<&ResourceRt>) -> Result<ResourceAny> {
        if let Slot::Borrow { .. } = self.slot(handle)? {
            return Err(trap(format!(
                "handle index {handle} is a borrow, not an owned handle"
            )));
        }
        match self.remove(handle, expected)? {
            Removed::Own(resource) => Ok(resource),
            Removed::Borrow { .. } => unreachable!("checked above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_type() -> Arc<ResourceRt> {
        Arc::new(ResourceRt::new(HOST_OWNER, None))
    }

    #[test]
    fn handles_start_at_one_and_are_reused_after_removal() {
        let ty = resource_type();
        let mut table = HandleTable::default();
        assert_eq!(table.insert_own(ty.clone(), 10).unwrap(), 1);
        assert_eq!(table.insert_own(ty.clone(), 11).unwrap(), 2);
        table.take_own(1, Some(&ty)).unwrap();
        assert_eq!(table.insert_own(ty.clone(), 12).unwrap(), 1);
        assert_eq!(table.rep(1, Some(&ty)).unwrap().1, 12);
    }

    #[test]
    fn unknown_and_mistyped_handles_trap() {
        let (a, b) = (resource_type(), resource_type());
        let mut table = HandleTable::default();
        let err = table.rep(0, None).unwrap_err();
        assert!(err.to_string().contains("unknown handle index 0"), "{err}");
        let h = table.insert_own(a, 1).unwrap();
        let err = table.rep(h, Some(&b)).unwrap_err();
        assert!(err.to_string().contains("wrong type"), "{err}");
    }

    #[test]
    fn a_lent_owned_handle_cannot_be_dropped_until_returned() {
        let ty = resource_type();
        let mut table = HandleTable::default();
        let h = table.insert_own(ty.clone(), 1).unwrap();
        assert!(table.lend(h).unwrap());
        let err = table.remove(h, Some(&ty)).err().expect("lent handle");
        assert!(err.to_string().contains("while borrowed"), "{err}");
        table.unlend(h);
        assert!(table.remove(h, Some(&ty)).is_ok());
    }
}
