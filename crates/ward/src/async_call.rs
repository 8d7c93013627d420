//! Async calls without fibers: [`Func::call_async`], [`TypedFunc::call_async`],
//! [`Linker::instantiate_async`], async host functions ([`Linker::func_wrap_async`],
//! [`Linker::func_new_async`]) and async yields ([`Store::fuel_async_yield_interval`],
//! [`Store::epoch_deadline_async_yield_and_update`]).
//!
//! A call into Wasm runs in the executor until it pauses (`interp::exec::Mode::ASYNC`): at a call
//! of an async host function, when its fuel slice runs out, or at an epoch deadline. The paused
//! activation is plain data — value stack, frame records, registers — so the call's future simply
//! holds it while it awaits the host's future or yields, then resumes it. No fiber, no second
//! native stack: a pending call costs the Wasm stack it uses. While a host future runs, the
//! paused stack is parked in the store, where the collector sees its references
//! (`runtime::store::ParkedStack`); a call dropped before the host finished leaves its stack to be
//! dropped by the store.
//!
//! Uses the executor's pausable entry points (`interp::exec`) and the store's host functions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::embedder::write_results;
use crate::func::{Caller, Func, TypedFunc, WasmParams, WasmResults, WasmRet};
use crate::handle::Instance;
use crate::instance::instantiate_without_start;
use crate::interp::exec::{self, Mode, Outcome, PauseReason, Paused};
use crate::interp::stack::ExecStack;
use crate::linker::{Definition, InstancePre, Linker, define_imports};
use crate::module::Module;
use crate::runtime::store::{FuncKind, ParkedStack};
use crate::store::{AsContextMut, AsyncHostFunc, Store};
use crate::types::{FuncType, slot_count};
use crate::values::{Val, vals_from_slots};
use crate::{Error, Result};

impl Func {
    /// Calls the function like [`Func::call`], awaiting the async host functions it reaches and
    /// yielding where [`Store::fuel_async_yield_interval`] and
    /// [`Store::epoch_deadline_async_yield_and_update`] say. Needs
    /// [`Config::async_support`](crate::Config::async_support).
    ///
    /// Dropping the future cancels the call: the Wasm code does not go on.
    pub async fn call_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut();
        check_async_support(store)?;
        let (sig, raw) = self.raw_args(&store.inner, params)?;
        if results.len() != sig.results().len() {
            return Err(Error::Usage(format!(
                "expected {} results, got room for {}",
                sig.results().len(),
                results.len()
            )));
        }
        let out = run_async(store, self.index, raw).await?;
        for (slot, val) in
            results
                .iter_mut()
                .zip(vals_from_slots(&out, sig.results(), &store.inner))
        {
            *slot = val;
        }
        Ok(())
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function like [`TypedFunc::call`], asynchronously (see [`Func::call_async`]).
    pub async fn call_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: P,
    ) -> Result<R> {
        let params = params.into_vals();
        let mut results = vec![Val::I32(0); R::valtypes().len()];
        self.func()
            .call_async(store.as_context_mut(), &params, &mut results)
            .await?;
        R::from_vals(&results).ok_or_else(|| Error::Usage("result types changed".into()))
    }
}

impl<T: Send + 'static> Linker<T> {
    /// Defines `module::name` as an async host function with a dynamic signature: `func` returns a
    /// future that fills `results`. Only [`Func::call_async`] and [`TypedFunc::call_async`] can
    /// reach it.
    pub fn func_new_async(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl for<'a> Fn(
            Caller<'a, T>,
            &'a [Val],
            &'a mut [Val],
        ) -> Box<dyn Future<Output = Result<()>> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        let host: AsyncHostFunc<T> = Arc::new(func);
        self.insert(module, name, Definition::AsyncHost(ty, host))
    }

    /// Defines `module::name` as an async host function with Rust parameter and result types:
    /// `func` takes the caller and the parameters (a tuple) and returns a boxed future of the
    /// results, as in Wasmtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ward::Result<()> {
    /// use ward::{Config, Engine, Linker, Module, Store};
    ///
    /// let mut config = Config::new();
    /// config.async_support(true);
    /// let engine = Engine::new(&config)?;
    /// let mut linker: Linker<u32> = Linker::new(&engine);
    /// linker.func_wrap_async("host", "double", |caller, (x,): (i32,)| {
    ///     Box::new(async move { Ok(x * 2 + *caller.data() as i32) })
    /// })?;
    /// let module = Module::new(&engine, r#"(module
    ///     (import "host" "double" (func $double (param i32) (result i32)))
    ///     (func (export "run") (param i32) (result i32) (call $double (local.get 0))))"#)?;
    /// let mut store = Store::new(&engine, 1);
    /// let instance = linker.instantiate_async(&mut store, &module).await?;
    /// let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    /// assert_eq!(run.call_async(&mut store, 20).await?, 41);
    /// # Ok(())
    /// # }
    /// ```
    pub fn func_wrap_async<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl for<'a> Fn(
            Caller<'a, T>,
            Params,
        ) -> Box<dyn Future<Output = Result<Results>> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self>
    where
        Params: WasmResults + Send + 'static,
        Results: WasmRet + Send + 'static,
    {
        let ty = FuncType::new(Params::valtypes(), Results::valtypes());
        let host: AsyncHostFunc<T> = Arc::new(move |caller, params, results| {
            let params = Params::from_vals(params);
            let future = params.map(|params| Box::into_pin(func(caller, params)));
            Box::new(async move {
                let Some(future) = future else {
                    return Err(Error::Usage(
                        "async host function arguments have the wrong types".into(),
                    ));
                };
                future.await?.into_results(results)
            })
        });
        self.insert(module, name, Definition::AsyncHost(ty, host))
    }

    /// Resolves `module`'s imports and instantiates it, awaiting its start function (which may
    /// call async host functions).
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut();
        let definitions = self.resolve(module)?;
        instantiate_async_with(store, module, definitions).await
    }
}

impl<T: Send + 'static> InstancePre<T> {
    /// Instantiates the module in `store`, awaiting its start function.
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<Instance> {
        let store = store.as_context_mut();
        instantiate_async_with(store, self.module(), self.definitions()).await
    }
}

async fn instantiate_async_with<T: Send>(
    store: &mut Store<T>,
    module: &Module,
    definitions: Vec<Definition<T>>,
) -> Result<Instance> {
    check_async_support(store)?;
    let imports = define_imports(store, definitions)?;
    let (instance, start) = instantiate_without_start(store, module, &imports)?;
    if let Some(start) = start {
        start.call_async(&mut *store, &[], &mut []).await?;
    }
    Ok(instance)
}

impl<T> Store<T> {
    /// Makes async calls ([`Func::call_async`]) yield to their executor after every `interval`
    /// units of fuel, then go on; `None` (the default) never yields for fuel. The store's fuel
    /// ([`Store::set_fuel`]) still bounds the whole call: when it is spent the call traps with
    /// [`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel). Needs fuel and async support.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        if !self.inner.engine.config().consume_fuel {
            return Err(Error::Usage(
                "fuel is not enabled: use Config::consume_fuel(true)".into(),
            ));
        }
        check_async_support(self)?;
        if interval == Some(0) {
            return Err(Error::Usage("the fuel yield interval must not be 0".into()));
        }
        self.fuel_yield_interval = interval;
        Ok(())
    }

    /// Makes an async call that reaches the epoch deadline yield to its executor, then go on with
    /// the deadline `delta` ticks after the current epoch (instead of trapping). Replaces any
    /// [epoch deadline callback](Store::epoch_deadline_callback). Synchronous calls still trap at
    /// the deadline.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.epoch_deadline_callback = None;
        self.epoch_yield_delta = Some(delta);
    }
}

fn check_async_support<T>(store: &Store<T>) -> Result<()> {
    if store.inner.engine.config().async_support {
        Ok(())
    } else {
        Err(Error::Usage(
            "async support is not enabled: use Config::async_support(true)".into(),
        ))
    }
}

/// Runs store function `entry` with raw arguments to its end, awaiting async host calls and
/// yielding as the store says; returns its raw results.
async fn run_async<T: Send>(store: &mut Store<T>, entry: u32, args: Vec<u64>) -> Result<Vec<u64>> {
    store.inner.purge_parked();
    if let FuncKind::AsyncHost { .. } = store.inner.funcs[entry as usize].kind {
        // An async host function called directly: await it with a stack of its own.
        let sig = store.inner.funcs[entry as usize].sig.clone();
        let width = slot_count(sig.params()).max(slot_count(sig.results()));
        let mut stack = ExecStack::with_contents(width * 8 + 8, &args, Vec::new())
            .ok_or_else(|| Error::Usage("too many arguments".into()))?;
        let outcome = call_host(store, entry, &mut stack, 0, None).await;
        outcome?;
        return Ok(stack.slots()[..slot_count(sig.results())].to_vec());
    }
    let fuel = FuelSlices::begin(store);
    let result = drive(store, entry, &args).await;
    fuel.end(store);
    result.map_err(|err| crate::coredump::attach(&store.inner, err))
}

/// The executor's pauses, served until the call ends.
async fn drive<T: Send>(store: &mut Store<T>, entry: u32, args: &[u64]) -> Result<Vec<u64>> {
    let mut outcome = exec::invoke_pausable(store, entry, args, Mode::ASYNC)?;
    loop {
        let mut paused = match outcome {
            Outcome::Done(results) => return Ok(results),
            Outcome::Paused(paused) => paused,
        };
        outcome = match paused.reason {
            PauseReason::HostCall { callee, fp, .. } => {
                let instance = paused.cur.instance;
                let result = call_host(store, callee, &mut paused.stack, fp, Some(instance)).await;
                exec::resume_after_host(store, *paused, result, Mode::ASYNC)?
            }
            PauseReason::OutOfFuel if FuelSlices::refill(store) => {
                YieldNow(false).await;
                exec::resume(store, *paused, Mode::ASYNC)?
            }
            PauseReason::Interrupt if epoch_yield(store) => {
                YieldNow(false).await;
                exec::resume(store, *paused, Mode::ASYNC)?
            }
            PauseReason::OutOfFuel | PauseReason::Interrupt => {
                return Err(give_up(store, &paused));
            }
        };
    }
}

fn give_up<T>(store: &Store<T>, paused: &Paused) -> Error {
    Error::Trap(paused.trap(&store.inner))
}

/// Whether an interruption that paused an async call was the epoch deadline with
/// [`Store::epoch_deadline_async_yield_and_update`] set; if so the deadline moves on.
fn epoch_yield<T>(store: &mut Store<T>) -> bool {
    let Some(delta) = store.epoch_yield_delta else {
        return false;
    };
    let now = store.inner.engine.current_epoch();
    if now < store.inner.epoch_deadline {
        // An interrupt request or a wall-clock deadline: those end the call.
        return false;
    }
    store.inner.epoch_deadline = now.saturating_add(delta);
    true
}

/// Calls async host function `func` with its arguments in `stack`'s slots from `fp` and writes its
/// results there. The stack is parked in the store while the host's future runs.
async fn call_host<T: Send>(
    store: &mut Store<T>,
    func: u32,
    stack: &mut ExecStack,
    fp: usize,
    instance: Option<u32>,
) -> Result<()> {
    let entity = &store.inner.funcs[func as usize];
    let FuncKind::AsyncHost { index } = entity.kind else {
        unreachable!("an async host call of a function that is not one")
    };
    let sig = entity.sig.clone();
    let width = slot_count(sig.params()).max(slot_count(sig.results()));
    // The references decoded for the host are rooted until it is done (as for a synchronous
    // host call; a cancelled call leaves them to the store).
    let roots = store.inner.host_roots_mark();
    let params = vals_from_slots(&stack.slots()[fp..fp + width], sig.params(), &store.inner);
    let mut results: Vec<Val> = sig
        .results()
        .iter()
        .map(|ty| Val::default_for(*ty).unwrap_or(Val::FuncRef(None)))
        .collect();
    let host = store.async_hosts[index as usize].clone();
    let alive = Arc::new(AtomicBool::new(true));
    store.inner.parked.push(ParkedStack {
        stack: std::mem::replace(stack, ExecStack::placeholder()),
        live: fp + width,
        alive: alive.clone(),
    });
    let cancelled = CancelOnDrop(Some(alive.clone()));
    let outcome = {
        let caller = Caller {
            store: &mut *store,
            instance,
        };
        Box::into_pin(host(caller, &params, &mut results)).await
    };
    drop(params);
    cancelled.disarm();
    let at = store
        .inner
        .parked
        .iter()
        .position(|p| Arc::ptr_eq(&p.alive, &alive))
        .expect("a parked stack stays in the store until its call takes it back");
    *stack = store.inner.parked.swap_remove(at).stack;
    let written = outcome.and_then(|()| {
        write_results(
            &store.inner,
            &results,
            sig.results(),
            &mut stack.slots_mut()[fp..fp + width],
        )
    });
    store.inner.release_host_roots(roots);
    written
}

/// Marks a parked stack dead if the call is dropped while its host function runs.
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(alive) = &self.0 {
            alive.store(false, Ordering::Relaxed);
        }
    }
}

/// The store's fuel handed out in slices of [`Store::fuel_async_yield_interval`] during an async
/// call: the rest waits in `StoreInner::fuel_reserve`.
struct FuelSlices {
    active: bool,
}

impl FuelSlices {
    fn begin<T>(store: &mut Store<T>) -> FuelSlices {
        let active =
            store.fuel_yield_interval.is_some() && store.inner.engine.config().consume_fuel;
        if active {
            let inner = &mut store.inner;
            inner.fuel_reserve = inner.fuel.saturating_add(inner.fuel_reserve);
            inner.fuel = 0;
            Self::refill(store);
        }
        FuelSlices { active }
    }

    /// Moves the next slice from the reserve to the store's fuel (added to what is left, so that a
    /// straight-line run costing more than a slice gets through after a few); false when the
    /// reserve is empty.
    fn refill<T>(store: &mut Store<T>) -> bool {
        let Some(interval) = store.fuel_yield_interval else {
            return false;
        };
        let inner = &mut store.inner;
        if inner.fuel_reserve == 0 {
            return false;
        }
        let more = inner.fuel_reserve.min(interval);
        inner.fuel += more;
        inner.fuel_reserve -= more;
        true
    }

    fn end<T>(self, store: &mut Store<T>) {
        if self.active {
            let inner = &mut store.inner;
            inner.fuel = inner.fuel.saturating_add(inner.fuel_reserve);
            inner.fuel_reserve = 0;
        }
    }
}

/// A future that is pending once (waking itself at once), so that the executor can run other
/// tasks.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
