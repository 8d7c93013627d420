//! Resource limits a host sets on a store: the [`ResourceLimiter`] trait consulted before memories and
//! tables grow and before instances are created, the ready-made [`StoreLimits`], and what stops running
//! Wasm: the [`InterruptHandle`], the wall-clock deadline and the epoch deadline's [`UpdateDeadline`].
//!
//! Fuel and deadlines are set on the store (`Store::set_fuel`, `Store::set_epoch_deadline`,
//! `Store::set_wall_clock_deadline`); the checks themselves are instructions the translator emits (see
//! `interp::translate`) and the decisions at a check are made in `interp::interruption`.
//!
//! # What stops running Wasm
//!
//! With [`Config::epoch_interruption`](crate::Config::epoch_interruption) on, every function entry and
//! loop header is an *interruption point*. Three things can stop Wasm there, each with
//! [`TrapKind::Interrupt`] (or the epoch callback's error):
//!
//! - **An interrupt request** ([`InterruptHandle::interrupt`], from any thread). It is consumed by the
//!   trap it causes, so the store's next call runs normally. A request made while no Wasm runs in the
//!   store stays pending and interrupts the next call at its first interruption point.
//!   `Store::clear_interrupt` withdraws a pending request.
//! - **A wall-clock deadline** (`Store::set_wall_clock_deadline`, `Store::set_wall_clock_deadline_at`).
//!   It is an absolute instant and covers the Wasm that runs until the outermost call into Wasm
//!   (`Func::call`, or instantiation's start function) that starts after it is set returns, by a result,
//!   a trap or an error. Then it is disarmed, so a later call on the store starts clean even after the
//!   instant has passed; arm it again before each call that needs one. Calls nested in host functions
//!   are covered by the outer call's deadline. No thread is involved: the interruption points read the
//!   clock, but only while a deadline is armed and then only every `CLOCK_CHECK_INTERVAL` points.
//! - **The epoch deadline** (`Store::set_epoch_deadline`, against `Engine::increment_epoch`). It is an
//!   absolute epoch and stays in force across calls until set again. When it is reached, the store
//!   traps (`Store::epoch_deadline_trap`, the default) or asks its callback
//!   (`Store::epoch_deadline_callback`), which may extend the deadline with
//!   [`UpdateDeadline::Continue`], stop with [`UpdateDeadline::Interrupt`], or fail the call with an
//!   error.
//!
//! Without `Config::epoch_interruption` no interruption points exist: deadlines and requests have no
//! effect on running code, and code pays nothing for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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

    /// The store's GC heap wants to grow from `current` to `desired` bytes: its objects with their
    /// bookkeeping, asked in steps of 64 KiB. The heap's size is its high-water mark (collections
    /// do not shrink it), and [`Config::max_gc_heap`](crate::Config::max_gc_heap) caps it in any
    /// case. Refusing makes the allocation trap with
    /// [`TrapKind::GcHeapExhausted`](crate::TrapKind::GcHeapExhausted) (or fail instantiation).
    fn gc_heap_growing(&mut self, current: usize, desired: usize) -> Result<bool> {
        let _ = (current, desired);
        Ok(true)
    }

    /// A memory growth from `current` to `desired` bytes that this limiter allowed failed anyway
    /// (the host could not provide the memory): a limiter that keeps totals takes it back here.
    fn memory_grow_failed(&mut self, current: usize, desired: usize) {
        let _ = (current, desired);
    }

    /// A table growth from `current` to `desired` elements that this limiter allowed failed anyway.
    fn table_grow_failed(&mut self, current: usize, desired: usize) {
        let _ = (current, desired);
    }

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
    /// Most bytes all memories, tables and the GC heap of the store may take together.
    total_size: Option<usize>,
    /// Bytes the store's memories, tables and GC heap take now (as granted by this limiter).
    used: usize,
}

/// Bytes one table element counts for in [`StoreLimitsBuilder::total_size`] (a reference slot).
pub const TABLE_ELEMENT_BYTES: usize = 8;

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_COUNT_LIMIT,
            tables: DEFAULT_COUNT_LIMIT,
            memories: DEFAULT_COUNT_LIMIT,
            trap_on_grow_failure: false,
            total_size: None,
            used: 0,
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

    /// Most bytes all of the store's linear memories, tables and GC heap may take together (a table
    /// element counts [`TABLE_ELEMENT_BYTES`], the GC heap its high-water mark, see
    /// [`ResourceLimiter::gc_heap_growing`]), so that a guest with many memories or tables, or many
    /// GC objects, gets no more than one budget in all. A growth beyond it fails like one beyond a
    /// per-memory limit; a GC allocation beyond it traps with
    /// [`TrapKind::GcHeapExhausted`](crate::TrapKind::GcHeapExhausted).
    ///
    /// ```
    /// use ward::{Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};
    ///
    /// let engine = Engine::default();
    /// // Three memories of 2 pages each: 384 KiB in all, against a 256 KiB budget.
    /// let module = Module::new(&engine, r#"(module (memory 2) (memory 2) (memory 2))"#)?;
    /// let mut store = Store::new(&engine, StoreLimitsBuilder::new().total_size(256 << 10).build());
    /// store.limiter(|limits: &mut StoreLimits| limits);
    /// assert!(Linker::new(&engine).instantiate(&mut store, &module).is_err());
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn total_size(mut self, bytes: usize) -> Self {
        self.0.total_size = Some(bytes);
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

impl StoreLimits {
    /// Whether the store-wide total allows `extra` more bytes; if so, counts them as used.
    fn take_from_total(&mut self, extra: usize) -> bool {
        let used = self.used.saturating_add(extra);
        if self.total_size.is_some_and(|total| used > total) {
            return false;
        }
        self.used = used;
        true
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        let allowed = self.memory_size.is_none_or(|limit| desired <= limit)
            && self.take_from_total(desired.saturating_sub(current));
        if !allowed && self.trap_on_grow_failure {
            return Err(limit_trap(TrapKind::MemoryLimitExceeded));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        let extra = desired
            .saturating_sub(current)
            .saturating_mul(TABLE_ELEMENT_BYTES);
        let allowed =
            self.table_elements.is_none_or(|limit| desired <= limit) && self.take_from_total(extra);
        if !allowed && self.trap_on_grow_failure {
            return Err(limit_trap(TrapKind::TableLimitExceeded));
        }
        Ok(allowed)
    }

    fn gc_heap_growing(&mut self, current: usize, desired: usize) -> Result<bool> {
        let allowed = self.take_from_total(desired.saturating_sub(current));
        if !allowed && self.trap_on_grow_failure {
            return Err(limit_trap(TrapKind::GcHeapExhausted));
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, current: usize, desired: usize) {
        self.used = self.used.saturating_sub(desired.saturating_sub(current));
    }

    fn table_grow_failed(&mut self, current: usize, desired: usize) {
        let bytes = desired
            .saturating_sub(current)
            .saturating_mul(TABLE_ELEMENT_BYTES);
        self.used = self.used.saturating_sub(bytes);
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

/// Stops Wasm running in one store from any thread: the next interruption point (function entry or
/// loop header) traps with [`TrapKind::Interrupt`]. Needs
/// [`Config::epoch_interruption`](crate::Config::epoch_interruption).
///
/// ```
/// use ward::{Config, Engine, Linker, Module, Store, TrapKind};
///
/// let mut config = Config::new();
/// config.epoch_interruption(true);
/// let engine = Engine::new(&config)?;
/// let module = Module::new(&engine, r#"(module (func (export "spin") (loop $l (br $l))))"#)?;
/// let mut store = Store::new(&engine, ());
/// let spin = Linker::new(&engine).instantiate(&mut store, &module)?.get_func(&store, "spin").unwrap();
/// let handle = store.interrupt_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_millis(10));
///     handle.interrupt();
/// });
/// let err = spin.call(&mut store, &[], &mut []).unwrap_err();
/// assert_eq!(err.as_trap().map(|t| t.kind()), Some(TrapKind::Interrupt));
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    pub(crate) flag: Arc<AtomicBool>,
}

impl InterruptHandle {
    /// Requests an interruption. Wasm running in the store traps at its next interruption point, and
    /// that trap consumes the request. Made while no Wasm runs, the request stays pending until the
    /// store's next call into Wasm traps on it (or `Store::clear_interrupt` withdraws it).
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// What the epoch deadline callback (`Store::epoch_deadline_callback`) decides when the store's epoch
/// deadline is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDeadline {
    /// Keep running with the deadline set this many ticks after the engine's current epoch.
    Continue(u64),
    /// Stop: the running Wasm traps with [`TrapKind::Interrupt`].
    Interrupt,
}

/// How many interruption points pass between two reads of the clock while a wall-clock deadline is
/// armed. Reading the clock (`Instant::now`, a vDSO call on Linux) costs tens of nanoseconds, several
/// interruption points' worth; once per 256 points it adds well under a nanosecond per point, while a
/// deadline is still noticed within 256 loop iterations or function entries of its instant.
pub(crate) const CLOCK_CHECK_INTERVAL: u32 = 256;

/// A store's wall-clock deadline: armed by `Store::set_wall_clock_deadline`, disarmed when the outermost
/// call into Wasm returns (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClockDeadline {
    /// The instant, while armed.
    at: Option<Instant>,
    /// Interruption points left until [`Self::passed_if_due`] looks at the clock. Counted down at every
    /// point, armed or not: with a deadline armed, first testing whether one is armed made the `sieve`
    /// kernel run 8 % more instructions than without (callgrind), the bare decrement 0.5 %; unarmed
    /// both cost the same. Disarmed it starts at `u32::MAX`, so it comes due only every four billion
    /// points, harmlessly.
    countdown: u32,
}

impl Default for WallClockDeadline {
    fn default() -> Self {
        WallClockDeadline {
            at: None,
            countdown: u32::MAX,
        }
    }
}

impl WallClockDeadline {
    /// Arms the deadline for `at`; the next interruption point reads the clock.
    pub fn arm(&mut self, at: Instant) {
        self.at = Some(at);
        self.countdown = 1;
    }

    /// Removes the deadline.
    pub fn disarm(&mut self) {
        *self = WallClockDeadline::default();
    }

    /// Counts one interruption point; true when it is time to call [`Self::passed_if_due`], which
    /// must then be called before the next `tick`.
    #[inline(always)]
    pub fn tick(&mut self) -> bool {
        self.countdown = self.countdown.wrapping_sub(1);
        self.countdown == 0
    }

    /// Interruption points left until the clock is read (compiled code counts them down in its
    /// context, `native::context`, and writes the count back).
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    pub fn countdown(&self) -> u32 {
        self.countdown
    }

    /// Sets what [`Self::countdown`] returns.
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    pub fn set_countdown(&mut self, countdown: u32) {
        self.countdown = countdown;
    }

    /// Whether the armed instant has passed, reading the clock only if [`Self::tick`] said it is time
    /// (and starting the next countdown then).
    pub fn passed_if_due(&mut self) -> bool {
        if self.countdown != 0 {
            return false;
        }
        match self.at {
            Some(at) => {
                self.countdown = CLOCK_CHECK_INTERVAL;
                Instant::now() >= at
            }
            None => {
                self.countdown = u32::MAX;
                false
            }
        }
    }
}
