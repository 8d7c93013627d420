//! [`RootScope`]: bounds how long the GC references a host receives stay rooted.
//!
//! Every `AnyRef` or `ExnRef` the host receives (a call's results, a global or table read, an
//! exception's payload, an uncaught exception) keeps its object alive: the store roots it
//! (`StoreInner::host_roots`). Inside a host function those roots end when the function returns;
//! elsewhere they last until the store is dropped, unless a `RootScope` ends them sooner. This is
//! Wasmtime's `Rooted`/`RootScope` model; ward's references are the plain `Copy` handles, and a
//! handle used after its root ended and its object was collected fails with a usage error (the
//! heap's generations tell), never reaches another object.

use crate::store::{AsContext, AsContextMut, Store};

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
///     assert!(object.is_struct(&scope));
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
