//! [`RootScope`]: bounds how long the GC references a host receives stay rooted.
//!
//! Every `AnyRef` or `ExnRef` the host receives (a call's results, a global or table read, an
//! exception's payload, an uncaught exception) keeps its object alive: the store roots it
//! (`StoreInner::host_roots`). Inside a host function those roots end when the function returns;
//! elsewhere they last until the store is dropped, unless a `RootScope` ends them sooner. This is
//! Wasmtime's `Rooted`/`RootScope` model; ward's references are the plain `Copy` handles, and a
//! handle used after its root ended and its object was collected fails with a usage error (the
//! heap's generations tell), never reaches another object.

use std::sync::Arc;

use crate::handle::{ExnRef, StoreId};
use crate::store::{AsContext, AsContextMut, Store};
use crate::values::{AnyRef, ExternRef};

/// A scope for the GC references the host receives: those received through it (or through the
/// store while it lives) stop being roots when it is dropped.
///
/// ```
/// use ward::{Engine, Instance, Module, RootScope, Store};
///
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (type $s (struct (field i32)))
///     (func (export "make") (param i32) (result anyref) (struct.new $s (local.get 0))))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let make = instance.get_typed_func::<i32, Option<ward::AnyRef>>(&store, "make")?;
/// for i in 0..1_000 {
///     // Without the scope, each result would stay rooted as long as the store lives.
///     let mut scope = RootScope::new(&mut store);
///     let object = make.call(&mut scope, i)?.unwrap();
///     assert!(object.is_struct(&scope)?);
/// }
/// # Ok::<(), ward::Error>(())
/// ```
pub struct RootScope<C: AsContextMut> {
    store: C,
    mark: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope on `store`.
    pub fn new(mut store: C) -> Self {
        let mark = store.as_context_mut().inner.host_roots_mark();
        RootScope { store, mark }
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;

    fn as_context(&self) -> &Store<C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> &mut Store<C::Data> {
        self.store.as_context_mut()
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        let mark = self.mark;
        self.store.as_context_mut().inner.release_host_roots(mark);
    }
}

/// Why a collection was asked for: an allocation of `bytes_needed` bytes that did not fit
/// (Wasmtime's type; `Store::gc(None)` is the common call).
pub struct GcHeapOutOfMemory<T> {
    inner: T,
    bytes_needed: u64,
}

impl<T> GcHeapOutOfMemory<T> {
    /// An allocation of `bytes_needed` bytes that did not fit, carrying `inner`.
    pub fn new(inner: T, bytes_needed: u64) -> Self {
        GcHeapOutOfMemory {
            inner,
            bytes_needed,
        }
    }

    /// The size of the allocation that did not fit.
    pub fn bytes_needed(&self) -> u64 {
        self.bytes_needed
    }

    /// The value it carries.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> std::fmt::Debug for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl<T> std::fmt::Display for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GC heap out of memory: {} bytes needed",
            self.bytes_needed
        )
    }
}

impl<T> std::error::Error for GcHeapOutOfMemory<T> {}

impl<T> Store<T> {
    /// Collects the store's GC heap now. Live objects are those reachable from Wasm (globals,
    /// tables, the stacks of calls in progress) and from the references the host holds (see
    /// [`RootScope`]). ward's heap does not grow in steps, so `why` changes nothing.
    pub fn gc(&mut self, why: Option<&GcHeapOutOfMemory<()>>) -> crate::Result<()> {
        let _ = why;
        crate::runtime::gc::collect(&mut self.inner, &[]);
        Ok(())
    }
}

impl<T> crate::Caller<'_, T> {
    /// Collects the store's GC heap from inside a host function (see [`Store::gc`]); the calling
    /// Wasm code's values stay alive.
    pub fn gc(&mut self, why: Option<&GcHeapOutOfMemory<()>>) -> crate::Result<()> {
        self.as_context_mut().gc(why)
    }
}

/// A GC reference that stays rooted for as long as this value (or a clone of it) lives, however
/// scopes come and go: Wasmtime's `OwnedRooted`. Made with `to_owned_rooted`; dereferences to the
/// reference.
///
/// ```
/// use ward::{Engine, Instance, Module, OwnedRooted, RootScope, Store, AnyRef};
///
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (type $s (struct (field i32)))
///     (func (export "make") (result anyref) (struct.new $s (i32.const 5))))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let make = instance.get_typed_func::<(), Option<AnyRef>>(&store, "make")?;
/// let kept: OwnedRooted<AnyRef> = {
///     let mut scope = RootScope::new(&mut store);
///     let object = make.call(&mut scope, ())?.unwrap();
///     object.to_owned_rooted(&mut scope)?
/// };
/// store.gc(None)?;
/// assert!(kept.is_struct(&store)?); // still alive after its scope ended
/// # Ok::<(), ward::Error>(())
/// ```
pub struct OwnedRooted<T> {
    value: T,
    alive: std::sync::Arc<()>,
}

impl<T: Copy> OwnedRooted<T> {
    /// The reference, for use now (Wasmtime returns a scoped `Rooted`; a ward reference is its own
    /// handle and stays rooted through this value).
    pub fn to_rooted(&self, store: impl AsContextMut) -> T {
        let _ = store;
        self.value
    }
}

impl<T> std::ops::Deref for OwnedRooted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Clone> Clone for OwnedRooted<T> {
    fn clone(&self) -> Self {
        OwnedRooted {
            value: self.value.clone(),
            alive: self.alive.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for OwnedRooted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OwnedRooted").field(&self.value).finish()
    }
}

/// Roots `raw` in `store` for as long as the returned flag has a strong reference.
fn owned_root(mut store: impl AsContextMut, owner: StoreId, raw: u64) -> crate::Result<Arc<()>> {
    let inner = &mut store.as_context_mut().inner;
    if inner.id != owner {
        return Err(crate::Error::Usage(
            "reference used with the wrong store".into(),
        ));
    }
    let alive = Arc::new(());
    inner.owned_roots.push((Arc::downgrade(&alive), raw));
    Ok(alive)
}

macro_rules! owned_rooted {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// This reference, rooted until the returned value and all its clones are dropped.
            pub fn to_owned_rooted(
                &self,
                store: impl AsContextMut,
            ) -> crate::Result<OwnedRooted<$ty>> {
                let alive = owned_root(store, self.store, self.raw)?;
                Ok(OwnedRooted { value: *self, alive })
            }
        }
    )*};
}

owned_rooted!(AnyRef, ExnRef, ExternRef);
