//! ward: a WebAssembly runtime with a sandbox-first embedding API.
//!
//! The API follows the shape Wasmtime users know: an [`Engine`] compiles [`Module`]s; a [`Store`] holds
//! instances and host data; a [`Linker`] resolves imports; [`Func`]/[`TypedFunc`] call into Wasm; traps
//! come back as [`Error::Trap`] with a [`TrapKind`] and a Wasm backtrace.
//!
//! ```
//! use ward::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "host" "double" (func $double (param i32) (result i32)))
//!       (func (export "run") (param i32) (result i32)
//!         local.get 0
//!         call $double
//!         i32.const 1
//!         i32.add))
//! "#)?;
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let mut store = Store::new(&engine, ());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
//! assert_eq!(run.call(&mut store, 20)?, 41);
//! # Ok::<(), ward::Error>(())
//! ```
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod aot;
mod async_call;
mod backtrace;
pub mod component;
mod coredump;
mod embedder;
mod engine;
mod exception;
mod func;
mod gc_repr;
mod global;
mod handle;
mod instance;
mod interp;
mod limits;
mod linker;
mod memory;
mod module;
#[cfg(feature = "cranelift")]
mod native;
mod proposals;
mod reservation;
mod roots;
mod runtime;
mod snapshot;
mod store;
mod table;
mod tier;
mod trap;
mod type_registry;
mod types;
mod values;

pub use aot::ArtifactError;
pub use coredump::WasmCoreDump;
pub use engine::{CacheStatistics, Config, Engine, Strategy};
pub use exception::Tag;
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use handle::{ExnRef, Global, Instance, Memory, StoreId};
pub use instance::Extern;
pub use limits::{
    InterruptHandle, ResourceLimiter, StoreLimits, StoreLimitsBuilder, TABLE_ELEMENT_BYTES,
    UpdateDeadline,
};
pub use linker::{InstancePre, Linker};
pub use memory::{SharedMemory, WaitResult};
pub use module::{ExportType, ImportType, Module};
pub use proposals::WasmProposal;
pub use roots::{GcHeapOutOfMemory, OwnedRooted, RootScope};
pub use snapshot::{PauseReason, PausedCall, ResumableCall};
pub use store::{AsContext, AsContextMut, Store, StoreContextMut};
pub use table::Table;
pub use trap::{Error, FrameInfo, Result, Trap, TrapKind, WasmBacktrace};
pub use types::{
    ExternType, FuncType, GlobalType, HeapType, MemoryType, Mutability, RefType, TableType, TypeId,
    ValType,
};
pub use values::{AnyRef, ExternRef, I31, Rooted, V128, Val};

/// What ward's exported macros name; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use anyhow;
}
