//! Identities every layer may carry: [`StoreId`], which each handle holds so that it cannot be used
//! with another store, and the [`ExnRef`] handle itself.
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
