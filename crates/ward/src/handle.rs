//! Identities every layer may carry: [`StoreId`], which each handle holds so that it cannot be used
//! with another store, the [`ExnRef`] handle itself, and the plain handles [`Instance`], [`Memory`]
//! and [`Global`] (their methods are in `instance`, `memory` and `global`; a core dump, made where
//! a trap leaves the executor, names them without depending on those files).
//!
//! `ExnRef` is defined here, below everything, because the error type (`trap::Error::Exception`)
//! carries it and every layer returns that error; its methods, which need a store, are in
//! `exception` with [`Tag`](crate::Tag). Names nothing else in the crate.

use std::sync::atomic::{AtomicU64, Ordering};

/// Identity of a store, carried by handles so they cannot be used with another store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId(u64);

impl StoreId {
    /// An identity no other store of this process has.
    pub(crate) fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A reference to an exception: what `throw` creates and `catch_ref` hands to Wasm, and what an
/// uncaught exception carries out of a call as [`Error::Exception`](crate::Error::Exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    /// The heap handle (see `runtime::gc`).
    pub(crate) raw: u64,
}

impl std::fmt::Display for ExnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

/// An instantiated module in a store.
///
/// ```
/// use ward::{Engine, Instance, Module, Store, Val};
///
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (global (export "answer") i32 (i32.const 42))
///     (memory (export "mem") 1 2))"#)?;
/// let mut store = Store::new(&engine, ());
/// // No imports, so no linker is needed.
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let answer = instance.get_global(&mut store, "answer").unwrap();
/// assert!(matches!(answer.get(&store), Val::I32(42)));
/// let mem = instance.get_memory(&store, "mem").unwrap();
/// assert_eq!(mem.size(&store), 1);
/// assert!(instance.get_func(&store, "missing").is_none());
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

/// A linear memory in a store.
///
/// ```
/// use ward::{Engine, Memory, MemoryType, Store};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let memory = Memory::new(&mut store, MemoryType::new(1, Some(3)))?;
/// memory.write(&mut store, 100, b"ward")?;
/// let mut buf = [0u8; 4];
/// memory.read(&store, 100, &mut buf)?;
/// assert_eq!(&buf, b"ward");
/// assert_eq!(memory.grow(&mut store, 2)?, 1); // returns the old size in pages
/// assert_eq!(memory.data_size(&store), 3 * 65536);
/// assert!(memory.grow(&mut store, 1).is_err()); // past the maximum
/// assert!(memory.read(&store, 3 * 65536 - 2, &mut buf).is_err()); // out of bounds
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

/// A global in a store.
///
/// ```
/// use ward::{Engine, Global, GlobalType, Instance, Module, Mutability, Store, Val, ValType};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let counter = Global::new(&mut store, GlobalType::new(ValType::I64, Mutability::Var), Val::I64(1))?;
/// let module = Module::new(&engine, r#"(module (global $g (import "" "g") (mut i64))
///     (func (export "double") (global.set $g (i64.mul (global.get $g) (i64.const 2)))))"#)?;
/// let instance = Instance::new(&mut store, &module, &[counter.into()])?;
/// let double = instance.get_typed_func::<(), ()>(&store, "double")?;
/// double.call(&mut store, ())?;
/// double.call(&mut store, ())?;
/// assert!(matches!(counter.get(&store), Val::I64(4)));
/// // An immutable global refuses `set`.
/// let pi = Global::new(&mut store, GlobalType::new(ValType::F64, Mutability::Const), Val::F64(3.14f64.to_bits()))?;
/// assert!(pi.set(&mut store, Val::F64(0)).is_err());
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}
