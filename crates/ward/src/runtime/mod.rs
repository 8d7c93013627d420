//! The runtime layer: what a store holds while code runs. The store's internals and the entities
//! its handles index (`store`), linear memories (`memory`), tables (`table`), the GC heap and its
//! collector (`gc`).
//!
//! Depends on the engine layer (`engine`, `module`, `type_registry`), on `limits`, and on the leaves
//! below everything (`trap`, `handle`, `types`, `gc_repr`, `reservation`). Names nothing of the
//! public API files above it (`store`'s `Store<T>`, the handles in `func`, `global`, `table`,
//! `memory`, `exception`, `values`, `instance`), which use it; the executor (`interp::exec`) reads
//! and writes the entities directly. `docs/DESIGN-NOTES.md` maps every file to its layer.

pub(crate) mod gc;
pub(crate) mod memory;
pub(crate) mod store;
pub(crate) mod table;
