//! Resource limits a host sets on a store: the [`ResourceLimiter`] trait consulted before memories and
//! tables grow and before instances are created, the ready-made [`StoreLimits`], and the
//! [`InterruptHandle`] that stops running Wasm from another thread (used by wall-clock deadlines).
//!
//! Fuel and epoch deadlines live on the store (`Store::set_fuel`, `Store::set_epoch_deadline`); the
//! checks themselves are instructions the translator emits (see `interp::translate`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::trap::{Trap, TrapKind, WasmBacktrace};
use crate::{Error, Result};

/// Decides whether a store may grow memories and tables and create more instances.
///
/// Returning `Ok(false)` makes the growth fail the Wasm way (`memory.grow` returns -1); returning an
/// error traps (or fails instantiation) with that error.
pub trait ResourceLimiter: Send {
    /// A memory wants to grow from `current` to `desired` bytes (`maximum` is its declared maximum).
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_COUNT_LIMIT
    }

    /// Most tables the store may hold.
    fn tables(&self) -> usize {
        DEFAULT_COUNT_LIMIT
    }

    /// Most memories the store may hold.
    fn memories(&self) -> usize {
        DEFAULT_COUNT_LIMIT
    }
}

/// Default for the instance, table and memory counts of a store.
pub const DEFAULT_COUNT_LIMIT: usize = 10_000;

/// Limits on a store's memories, tables and instances; build with [`StoreLimitsBuilder`].
#[derive(Debug, Clone)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    tables: usize,
    memories: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_COUNT_LIMIT,
            tables: DEFAULT_COUNT_LIMIT,
            memories: DEFAULT_COUNT_LIMIT,
            trap_on_grow_failure: false,
        }
    }
}

/// Builds [`StoreLimits`].
#[derive(Debug, Clone, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits beyond the default counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Largest size in bytes any one memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// Most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// Most instances in the store.
    pub fn instances(mut self, count: usize) -> Self {
        self.0.instances = count;
        self
    }

    /// Most tables in the store.
    pub fn tables(mut self, count: usize) -> Self {
        self.0.tables = count;
        self
    }

    /// Most memories in the store.
    pub fn memories(mut self, count: usize) -> Self {
        self.0.memories = count;
        self
    }

    /// Trap (instead of returning -1) when a growth is refused by these limits.
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

fn limit_trap(kind: TrapKind) -> Error {
    Error::Trap(Trap::new(kind, WasmBacktrace::default()))
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        let allowed = self.memory_size.is_none_or(|limit| desired <= limit);
        if !allowed && self.trap_on_grow_failure {
            return Err(limit_trap(TrapKind::MemoryLimitExceeded));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        let allowed = self.table_elements.is_none_or(|limit| desired <= limit);
        if !allowed && self.trap_on_grow_failure {
            return Err(limit_trap(TrapKind::TableLimitExceeded));
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

/// Stops Wasm running in one store from any thread: the next function entry or loop header traps
/// with [`TrapKind::Interrupt`]. Needs [`Config::epoch_interruption`](crate::Config::epoch_interruption).
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    pub(crate) flag: Arc<AtomicBool>,
}

impl InterruptHandle {
    /// Requests the interruption. It stays in effect until the store clears it
    /// (`Store::clear_interrupt`).
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}
