//! [`Store<T>`]: owns every instance, function, memory, table and global, plus the host's data `T`;
//! and [`AsContext`]/[`AsContextMut`], how the API's methods take a store.
//!
//! The store's state that does not depend on `T` is `runtime::store::StoreInner`; public handles
//! ([`Func`], [`Memory`](crate::Memory), …) are a store id plus an index into its vectors. This file
//! adds what involves the host: its data, its functions, the resource limiter it installs and the
//! epoch deadline callback. Only the store's owner can touch it, so a store is `Send` but used by one
//! thread at a time. Used by everything that runs code: `instance`, `func`, the executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::func::{Caller, Func};
use crate::handle::StoreId;
use crate::limits::{
    DEFAULT_COUNT_LIMIT, InterruptHandle, ResourceLimiter, UpdateDeadline, WallClockDeadline,
};
use crate::runtime::memory::{MemoryEntity, SharedMemoryInner};
use crate::runtime::store::{FuncEntity, FuncKind, StoreInner};
use crate::runtime::table::TableEntity;
use crate::types::{FuncType, MemoryType, TableType};
use crate::values::Val;
use crate::{Error, Result};

/// A host function as the store keeps it.
pub(crate) type HostFunc<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static>;

/// An async host function as the store keeps it: the future it returns borrows the caller, the
/// parameters and the results until it completes.
pub(crate) type AsyncHostFunc<T> = Arc<
    dyn for<'a> Fn(
            Caller<'a, T>,
            &'a [Val],
            &'a mut [Val],
        ) -> Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>
        + Send
        + Sync
        + 'static,
>;

/// Picks the resource limiter out of the host data.
type LimiterFn<T> = Box<dyn FnMut(&mut T) -> &mut (dyn ResourceLimiter + 'static) + Send>;

/// A store borrowed mutably, as callbacks such as [`Store::epoch_deadline_callback`]'s receive it.
/// (Wasmtime's name for the same access; here it is simply `&mut Store<T>`.)
pub type StoreContextMut<'a, T> = &'a mut Store<T>;

/// Decides what happens when the epoch deadline is reached (see [`Store::epoch_deadline_callback`]).
pub(crate) type EpochDeadlineCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send>;

/// All runtime state of a group of instances, with host data `T`.
///
/// ```
/// use ward::{Engine, Linker, Module, Store};
///
/// let engine = Engine::default();
/// // The host data (here a counter) is reachable from host functions through `Caller`.
/// let mut store = Store::new(&engine, 0u32);
/// let mut linker = Linker::new(&engine);
/// linker.func_wrap("host", "tick", |mut caller: ward::Caller<'_, u32>| {
///     *caller.data_mut() += 1;
/// })?;
/// let module = Module::new(&engine, r#"
///     (module (import "host" "tick" (func $tick))
///       (func (export "run") call $tick call $tick))"#)?;
/// let instance = linker.instantiate(&mut store, &module)?;
/// instance.get_typed_func::<(), ()>(&store, "run")?.call(&mut store, ())?;
/// assert_eq!(*store.data(), 2);
/// # Ok::<(), ward::Error>(())
/// ```
pub struct Store<T> {
    pub(crate) inner: StoreInner,
    pub(crate) hosts: Vec<HostFunc<T>>,
    /// Async host functions (`FuncKind::AsyncHost` indexes them).
    pub(crate) async_hosts: Vec<AsyncHostFunc<T>>,
    /// With [`Store::fuel_async_yield_interval`]: how much fuel an async call runs before it
    /// yields.
    pub(crate) fuel_yield_interval: Option<u64>,
    /// With [`Store::epoch_deadline_async_yield_and_update`]: the deadline's extension after an
    /// async call yields at it.
    pub(crate) epoch_yield_delta: Option<u64>,
    limiter: Option<LimiterFn<T>>,
    /// Asked when the epoch deadline is reached; `None` traps (see `interp::interruption`).
    pub(crate) epoch_deadline_callback: Option<EpochDeadlineCallback<T>>,
    data: T,
}

impl<T> Store<T> {
    /// The store's memories and its host data, borrowed separately.
    pub(crate) fn memories_and_data_mut(&mut self) -> (&mut [MemoryEntity], &mut T) {
        (&mut self.inner.memories, &mut self.data)
    }

    /// A new store in `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: StoreInner {
                id: StoreId::fresh(),
                engine: engine.clone(),
                funcs: Vec::new(),
                instances: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                externs: Vec::new(),
                tags: Vec::new(),
                host_types: Default::default(),
                held_types: Default::default(),
                gc: crate::runtime::gc::GcHeap::new(engine.config().max_gc_heap),
                suspended_stacks: Vec::new(),
                host_roots: Default::default(),
                owned_roots: Vec::new(),
                stacks: Vec::new(),
                parked: Vec::new(),
                host_calls: Vec::new(),
                fuel_reserve: 0,
                activations: 0,
                fuel: 0,
                epoch_deadline: u64::MAX,
                interrupt: Arc::new(AtomicBool::new(false)),
                wall_clock: WallClockDeadline::default(),
            },
            hosts: Vec::new(),
            async_hosts: Vec::new(),
            fuel_yield_interval: None,
            epoch_yield_delta: None,
            limiter: None,
            epoch_deadline_callback: None,
            data,
        }
    }

    /// Sets the fuel available to Wasm code (needs [`Config::consume_fuel`](crate::Config::consume_fuel)).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.check_fuel_enabled()?;
        self.inner.fuel = fuel;
        self.inner.fuel_reserve = 0;
        Ok(())
    }

    /// The fuel left.
    pub fn get_fuel(&self) -> Result<u64> {
        self.check_fuel_enabled()?;
        Ok(self.inner.fuel.saturating_add(self.inner.fuel_reserve))
    }

    fn check_fuel_enabled(&self) -> Result<()> {
        if self.inner.engine.config().consume_fuel {
            Ok(())
        } else {
            Err(Error::Usage(
                "fuel is not enabled: use Config::consume_fuel(true)".into(),
            ))
        }
    }

    /// Lets Wasm run until the engine's epoch has advanced `ticks` beyond its current value (needs
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption)); then it traps with
    /// [`TrapKind::Interrupt`](crate::TrapKind::Interrupt), or asks the
    /// [epoch deadline callback](Store::epoch_deadline_callback) if one is installed.
    ///
    /// The deadline is an absolute epoch: it stays in force for later calls until set again.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.inner.epoch_deadline = self.inner.engine.current_epoch().saturating_add(ticks);
    }

    /// Makes reaching the epoch deadline trap with [`TrapKind::Interrupt`](crate::TrapKind::Interrupt),
    /// removing any [epoch deadline callback](Store::epoch_deadline_callback). This is the default.
    pub fn epoch_deadline_trap(&mut self) {
        self.epoch_deadline_callback = None;
    }

    /// Calls `callback` with the store whenever running Wasm reaches the epoch deadline, instead of
    /// trapping. [`UpdateDeadline::Continue(delta)`](UpdateDeadline::Continue) sets the deadline
    /// `delta` ticks after the current epoch and lets the Wasm continue;
    /// [`UpdateDeadline::Interrupt`] traps with [`TrapKind::Interrupt`](crate::TrapKind::Interrupt); an
    /// error ends the call into Wasm with that error. [`Store::epoch_deadline_trap`] removes the
    /// callback. As in Wasmtime, the callback stays installed after it runs even if it installed
    /// another or removed itself meanwhile; make such changes outside the callback.
    ///
    /// ```
    /// use ward::{Config, Engine, Linker, Module, Store, UpdateDeadline};
    ///
    /// let mut config = Config::new();
    /// config.epoch_interruption(true);
    /// let engine = Engine::new(&config)?;
    /// let module = Module::new(&engine, r#"(module (func (export "spin") (loop $l (br $l))))"#)?;
    /// let mut store = Store::new(&engine, 0u32);
    /// let spin = Linker::new(&engine).instantiate(&mut store, &module)?.get_func(&store, "spin").unwrap();
    /// // Deadline reached at every check: allow three of them, then give up.
    /// store.set_epoch_deadline(0);
    /// store.epoch_deadline_callback(|store| {
    ///     *store.data_mut() += 1;
    ///     if *store.data() < 3 {
    ///         Ok(UpdateDeadline::Continue(0))
    ///     } else {
    ///         Err(ward::Error::msg("out of time slices"))
    ///     }
    /// });
    /// let err = spin.call(&mut store, &[], &mut []).unwrap_err();
    /// assert_eq!(err.to_string(), "out of time slices");
    /// assert_eq!(*store.data(), 3);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + 'static,
    ) {
        self.epoch_deadline_callback = Some(Box::new(callback));
    }

    /// A handle that interrupts Wasm running in this store, usable from other threads (see
    /// [`InterruptHandle::interrupt`] for when a request takes effect).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle {
            flag: self.inner.interrupt.clone(),
        }
    }

    /// Withdraws a pending [`InterruptHandle`] request and disarms the wall-clock deadline. The epoch
    /// deadline is left as it is.
    pub fn clear_interrupt(&mut self) {
        self.inner.interrupt.store(false, Ordering::Relaxed);
        self.inner.wall_clock.disarm();
    }

    /// Arms a wall-clock deadline `timeout` from now: Wasm still running then traps with
    /// [`TrapKind::Interrupt`](crate::TrapKind::Interrupt). Needs
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption).
    ///
    /// The deadline covers the next call into Wasm ([`Func::call`], or the start function run by
    /// instantiation), including Wasm the host calls from inside it, and is disarmed when that call
    /// returns, however it ends: a later call on the store runs without a deadline unless one is armed
    /// again. A timeout too large to represent means no deadline. No thread is started; running Wasm
    /// reads the clock now and then at its interruption points.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ward::{Config, Engine, Linker, Module, Store, TrapKind};
    ///
    /// let mut config = Config::new();
    /// config.epoch_interruption(true);
    /// let engine = Engine::new(&config)?;
    /// let module = Module::new(&engine, r#"(module
    ///     (func (export "spin") (loop $l (br $l)))
    ///     (func (export "quick") (result i32) (i32.const 7)))"#)?;
    /// let mut store = Store::new(&engine, ());
    /// let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    /// let spin = instance.get_func(&store, "spin").unwrap();
    /// store.set_wall_clock_deadline(Duration::from_millis(10));
    /// let err = spin.call(&mut store, &[], &mut []).unwrap_err();
    /// assert_eq!(err.as_trap().map(|t| t.kind()), Some(TrapKind::Interrupt));
    /// // The deadline ended with the call it covered.
    /// let quick = instance.get_typed_func::<(), i32>(&store, "quick")?;
    /// assert_eq!(quick.call(&mut store, ())?, 7);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn set_wall_clock_deadline(&mut self, timeout: Duration) {
        match Instant::now().checked_add(timeout) {
            Some(at) => self.set_wall_clock_deadline_at(at),
            None => self.inner.wall_clock.disarm(),
        }
    }

    /// Arms a wall-clock deadline at instant `deadline`, like [`Store::set_wall_clock_deadline`]. Lets
    /// an embedder give several calls one shared budget: compute the instant once and arm it before
    /// each call. A deadline already past interrupts the next call at its first interruption point.
    pub fn set_wall_clock_deadline_at(&mut self, deadline: Instant) {
        self.inner.wall_clock.arm(deadline);
    }

    /// Installs a resource limiter found in the host data; it is consulted before memories and tables
    /// grow and before instances, memories and tables are created.
    pub fn limiter(
        &mut self,
        limiter: impl FnMut(&mut T) -> &mut (dyn ResourceLimiter + 'static) + Send + 'static,
    ) {
        self.limiter = Some(Box::new(limiter));
        self.inner.gc.limit_by_grants();
    }

    /// Asks the limiter, if one is installed, a question about growth; without a limiter the answer
    /// is yes.
    fn ask_limiter(
        &mut self,
        question: impl FnOnce(&mut dyn ResourceLimiter) -> Result<bool>,
    ) -> Result<bool> {
        match &mut self.limiter {
            None => Ok(true),
            Some(limiter) => question(limiter(&mut self.data)),
        }
    }

    /// Tells the limiter, if one is installed, that a growth it allowed failed.
    fn tell_limiter(&mut self, report: impl FnOnce(&mut dyn ResourceLimiter)) {
        if let Some(limiter) = &mut self.limiter {
            report(limiter(&mut self.data));
        }
    }

    /// Asks the limiter whether a memory may grow from `current` to `desired` bytes.
    pub(crate) fn memory_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool> {
        self.ask_limiter(|l| {
            l.memory_growing(saturate(current), saturate(desired), maximum.map(saturate))
        })
    }

    /// Asks the limiter whether a table may grow from `current` to `desired` elements.
    pub(crate) fn table_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool> {
        self.ask_limiter(|l| {
            l.table_growing(saturate(current), saturate(desired), maximum.map(saturate))
        })
    }

    /// Asks the limiter whether the GC heap may grow from `current` to `desired` bytes, and records
    /// the grant.
    pub(crate) fn gc_heap_growing(&mut self, current: usize, desired: usize) -> Result<bool> {
        let allowed = self.ask_limiter(|l| l.gc_heap_growing(current, desired))?;
        if allowed {
            self.inner.gc.grant(desired);
        }
        Ok(allowed)
    }

    /// Asks the limiter for room for an object of `words` words in the GC heap (for nothing more
    /// than the objects it holds with `None`), if the heap's grant does not cover it already.
    pub(crate) fn reserve_gc_heap(&mut self, words: Option<usize>) -> Result<bool> {
        let needs = match words {
            Some(words) => self.inner.gc.needs_grant(words),
            None => self.inner.gc.needs_grant_for(0),
        };
        match needs {
            None => Ok(true),
            Some((current, desired)) => self.gc_heap_growing(current, desired),
        }
    }

    /// A new memory of type `ty`, if the limiter allows its initial size.
    pub(crate) fn create_memory(&mut self, ty: MemoryType) -> Result<MemoryEntity> {
        let bytes = ty.minimum.saturating_mul(ty.page_size());
        let maximum = ty.maximum.map(|m| m.saturating_mul(ty.page_size()));
        if !self.memory_growing(0, bytes, maximum)? {
            return Err(Error::Instantiation(format!(
                "memory of {bytes} bytes exceeds the store's resource limits"
            )));
        }
        let engine = &self.inner.engine;
        let memory = if ty.shared {
            SharedMemoryInner::new(ty).and_then(MemoryEntity::new_shared)
        } else {
            MemoryEntity::new_in(
                &engine.inner.memory_pool,
                ty,
                engine.config().memory_reservation,
                engine.memory_guard(),
            )
        };
        if memory.is_err() {
            let bytes = saturate(bytes);
            self.tell_limiter(|l| l.memory_grow_failed(0, bytes));
        }
        memory
    }

    /// A new table of type `ty` filled with `init`, if the limiter allows its initial size.
    pub(crate) fn create_table(&mut self, ty: TableType, init: u64) -> Result<TableEntity> {
        if !self.table_growing(0, ty.minimum, ty.maximum)? {
            return Err(Error::Instantiation(format!(
                "table of {} elements exceeds the store's resource limits",
                ty.minimum
            )));
        }
        let table = TableEntity::new(ty, init);
        if table.is_err() {
            let elements = saturate(ty.minimum);
            self.tell_limiter(|l| l.table_grow_failed(0, elements));
        }
        table
    }

    /// Grows store memory `index` by `delta` pages if its type and the limiter allow; returns the old
    /// size in pages, `None` when refused, or the limiter's error.
    pub(crate) fn grow_memory(&mut self, index: usize, delta: u64) -> Result<Option<u64>> {
        let memory = &self.inner.memories[index];
        let current = memory.size_bytes();
        let Some(desired) = delta
            .checked_mul(memory.ty().page_size())
            .and_then(|d| d.checked_add(current))
            .filter(|d| *d <= memory.max_bytes())
        else {
            return Ok(None);
        };
        let maximum = memory
            .ty()
            .maximum
            .map(|m| m.saturating_mul(memory.ty().page_size()));
        if !self.memory_growing(current, desired, maximum)? {
            return Ok(None);
        }
        let grown = self.inner.memories[index].grow(delta);
        if grown.is_none() {
            let (current, desired) = (saturate(current), saturate(desired));
            self.tell_limiter(|l| l.memory_grow_failed(current, desired));
        }
        Ok(grown)
    }

    /// Grows store table `index` by `delta` elements set to `init`, like [`Store::grow_memory`].
    pub(crate) fn grow_table(
        &mut self,
        index: usize,
        delta: u64,
        init: u64,
    ) -> Result<Option<u64>> {
        let table = &self.inner.tables[index];
        let current = table.size();
        let maximum = table.ty.maximum;
        let Some(desired) = current
            .checked_add(delta)
            .filter(|d| *d <= maximum.unwrap_or(u64::MAX))
        else {
            return Ok(None);
        };
        if !self.table_growing(current, desired, maximum)? {
            return Ok(None);
        }
        let grown = self.inner.tables[index].grow(delta, init);
        if grown.is_none() {
            let (current, desired) = (saturate(current), saturate(desired));
            self.tell_limiter(|l| l.table_grow_failed(current, desired));
        }
        Ok(grown)
    }

    /// The limiter's (instances, tables, memories) counts.
    pub(crate) fn count_limits(&mut self) -> (usize, usize, usize) {
        match &mut self.limiter {
            None => (
                DEFAULT_COUNT_LIMIT,
                DEFAULT_COUNT_LIMIT,
                DEFAULT_COUNT_LIMIT,
            ),
            Some(limiter) => {
                let l = limiter(&mut self.data);
                (l.instances(), l.tables(), l.memories())
            }
        }
    }

    /// How many times the store's GC heap has been collected.
    pub fn gc_collections(&self) -> u64 {
        self.inner.gc.collections
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Consumes the store and returns the host data.
    pub fn into_data(self) -> T {
        self.data
    }

    pub(crate) fn push_async_host_func(
        &mut self,
        sig: FuncType,
        host: AsyncHostFunc<T>,
    ) -> Result<Func> {
        if !self.inner.engine.config().async_support {
            return Err(Error::Usage(
                "async host functions need Config::async_support(true)".into(),
            ));
        }
        let ty = self.inner.host_func_type(&sig)?;
        self.async_hosts.push(host);
        let index = (self.async_hosts.len() - 1) as u32;
        Ok(self.inner.push_func(FuncEntity {
            ty,
            sig,
            kind: FuncKind::AsyncHost { index },
        }))
    }

    pub(crate) fn push_host_func(&mut self, sig: FuncType, host: HostFunc<T>) -> Result<Func> {
        let ty = self.inner.host_func_type(&sig)?;
        self.hosts.push(host);
        let index = (self.hosts.len() - 1) as u32;
        Ok(self.inner.push_func(FuncEntity {
            ty,
            sig,
            kind: FuncKind::Host { index },
        }))
    }
}

impl StoreInner {
    /// Adds a function to the store and returns its handle.
    pub fn push_func(&mut self, entity: FuncEntity) -> Func {
        self.funcs.push(entity);
        Func {
            store: self.id,
            index: (self.funcs.len() - 1) as u32,
        }
    }
}

fn saturate(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Read access to a store: implemented by [`Store`], [`Caller`] and references to them.
pub trait AsContext {
    /// The host data type.
    type Data;
    /// The store.
    fn as_context(&self) -> &Store<Self::Data>;
}

/// Write access to a store.
pub trait AsContextMut: AsContext {
    /// The store, mutably.
    fn as_context_mut(&mut self) -> &mut Store<Self::Data>;
}

impl<T: Default> Default for Store<T> {
    /// A store in a new default [`Engine`] holding `T::default()`, as `Store::<()>::default()`.
    fn default() -> Self {
        Store::new(&Engine::default(), T::default())
    }
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> &mut Store<S::Data> {
        (**self).as_context_mut()
    }
}
