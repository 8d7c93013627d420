//! The runtime layer: what a store holds while code runs. The store's internals and the entities
//! its handles index (`store`), linear memories (`memory`), tables (`table`), the GC heap and its
//! collector (`gc`).
//!
//! Depends on the engine layer (`engine`, `module`, `types`, `type_registry`, `gc_repr`) and on
//! the leaves below everything (`trap`, `handle`, `limits`); names nothing of the public API
//! files above it (`store`'s `Store<T>`, the handles in `func`, `global`, `table`, `memory`,
//! `exception`, `values`, `instance`, `linker`), which use it.

pub(crate) mod gc;
pub(crate) mod memory;
pub(crate) mod store;
pub(crate) mod table;
