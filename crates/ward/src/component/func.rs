//! Component functions ([`Func`]) and their calls: lowering arguments into the callee, calling
//! its core function, lifting the result and running `post-return` (`Func::call`), and the core
//! function `canon lower` makes of a component function (`lower`), all through the canonical ABI
//! (`abi`) over a store's memory (`StoreMemory`). Used by `instance`.
//!
//! The `async` options run synchronously: an `async` lower calls its callee to completion and
//! returns the status `RETURNED`, an `async` lift (without `callback`) takes its result from the
//! `task.return` its core function calls (`task_return`). A call that would have to wait — into
//! an instance applying backpressure or already busy — fails as unsupported async instead, as
//! does a call of a function lifted with a `callback`.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::abi::{self, FlatReader, GuestMemory, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::definition::StringEncoding;
use super::errors::{internal, trap};
use super::resources::ResourceAny;
use super::state::{InstanceState, TASK_CONTEXT_SLOTS, TaskResult};
use super::types::{FuncType, ResourceType, Type};
use super::val::Val;
use crate::store::{AsContextMut, Store};
use crate::{Error, Memory, Result, ValType};

/// A component function: a core function lifted with `canon lift`, or a host function.
#[derive(Clone, Debug)]
pub struct Func {
    inner: Arc<FuncInner>,
}

#[derive(Debug)]
struct FuncInner {
    ty: FuncType,
    kind: FuncKind,
}

#[derive(Debug)]
enum FuncKind {
    Lifted {
        core: crate::Func,
        options: ResolvedOptions,
        instance: Arc<InstanceState>,
    },
    Host(HostFunc),
}

/// A host function's closure for stores holding `T`.
pub(super) type HostFn<T> =
    Arc<dyn Fn(&mut Store<T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync>;

/// A host function's closure with its store data type erased (a [`HostFn<T>`] inside); it gets
/// its type from the import it satisfies.
#[derive(Clone)]
pub(super) struct HostFunc(Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostFunc")
    }
}

impl HostFunc {
    pub(super) fn new<T: 'static>(
        f: impl Fn(&mut Store<T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        let f: HostFn<T> = Arc::new(f);
        HostFunc(Arc::new(f))
    }
}

/// Canonical options with their indices resolved to items of a store.
#[derive(Debug, Clone, Default)]
pub(super) struct ResolvedOptions {
    pub(super) encoding: StringEncoding,
    pub(super) memory: Option<Memory>,
    pub(super) realloc: Option<crate::Func>,
    pub(super) post_return: Option<crate::Func>,
    pub(super) is_async: bool,
    pub(super) callback: bool,
}

/// Whether two function types have the same shape: the same names and types, resource types
/// compared as resources (their identities are checked when handles are used).
pub(super) fn same_shape(a: &FuncType, b: &FuncType) -> bool {
    let text = |ty: &FuncType| {
        let params: Vec<String> = ty.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let result = ty.result.as_ref().map(|t| t.to_string());
        (params, result)
    };
    text(a) == text(b)
}

/// A store's memory and `realloc`, and an instance's handle table, as the canonical ABI's
/// [`GuestMemory`].
struct StoreMemory<'s, T> {
    store: &'s mut Store<T>,
    memory: Option<Memory>,
    realloc: Option<crate::Func>,
    /// Whether the host is on the other side (see [`GuestMemory::host_boundary`]).
    host: bool,
    /// The instance whose handles the values' resources come from or go to.
    instance: Arc<InstanceState>,
    /// Owned handles lent to the call as borrows, returned once it is over.
    lent: RefCell<Vec<u32>>,
}

impl<'s, T> StoreMemory<'s, T> {
    fn new(
        store: &'s mut Store<T>,
        options: &ResolvedOptions,
        instance: &Arc<InstanceState>,
        host: bool,
    ) -> Self {
        StoreMemory {
            store,
            memory: options.memory,
            realloc: options.realloc,
            host,
            instance: instance.clone(),
            lent: RefCell::default(),
        }
    }

    /// Returns the handles lent for the call.
    fn end_lends(&self) {
        let mut handles = self.instance.handles();
        for handle in self.lent.borrow_mut().drain(..) {
            handles.unlend(handle);
        }
    }
}

impl<T> GuestMemory for StoreMemory<'_, T> {
    fn bytes(&self) -> Result<&[u8]> {
        let memory = self
            .memory
            .ok_or_else(|| Error::Usage("the canonical options name no memory".into()))?;
        Ok(memory.data(&*self.store))
    }

    fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        let memory = self
            .memory
            .ok_or_else(|| Error::Usage("the canonical options name no memory".into()))?;
        Ok(memory.data_mut(&mut *self.store))
    }

    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let realloc = self
            .realloc
            .ok_or_else(|| Error::Usage("the canonical options name no realloc".into()))?;
        let args = [old_ptr, old_size, align, new_size].map(|x| crate::Val::I32(x as i32));
        let mut result = [crate::Val::I32(0)];
        realloc.call(&mut *self.store, &args, &mut result)?;
        match result[0] {
            crate::Val::I32(ptr) => Ok(ptr as u32),
            _ => Err(internal("realloc returned a non-i32")),
        }
    }

    fn host_boundary(&self) -> bool {
        self.host
    }

    fn lift_own(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let expected = self.instance.resource_rt(ty);
        self.instance
            .handles()
            .take_own(handle, expected.as_deref())
    }

    fn lift_borrow(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let expected = self.instance.resource_rt(ty);
        let mut handles = self.instance.handles();
        let (rt, rep) = handles.rep(handle, expected.as_deref())?;
        if handles.lend(handle)? {
            self.lent.borrow_mut().push(handle);
        }
        Ok(ResourceAny {
            ty: rt,
            rep,
            own: false,
        })
    }

    fn lower_own(&self, ty: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        let rt = self.instance.resolve_resource(ty, resource)?;
        self.instance.handles().insert_own(rt, resource.rep)
    }

    fn lower_borrow(&self, ty: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        let rt = self.instance.resolve_resource(ty, resource)?;
        // The instance that defines the resource type sees the representation itself.
        if rt.owner == self.instance.id {
            return Ok(resource.rep);
        }
        let mut scopes = self.instance.scopes();
        let scope = scopes
            .len()
            .checked_sub(1)
            .ok_or_else(|| internal("a borrow lowered outside a call"))?;
        scopes[scope] += 1;
        drop(scopes);
        self.instance
            .handles()
            .insert_borrow(rt, resource.rep, scope)
    }
}

fn param_types(ty: &FuncType) -> Vec<Type> {
    ty.params.iter().map(|(_, t)| t.clone()).collect()
}

/// The core signature `canon lower` gives a component function of type `ty`.
fn lowered_signature(ty: &FuncType) -> crate::FuncType {
    let mut params = abi::flatten_all(ty.params.iter().map(|(_, t)| t));
    if params.len() > MAX_FLAT_PARAMS {
        params = vec![ValType::I32];
    }
    let mut results = abi::flatten_all(ty.result.iter());
    if results.len() > MAX_FLAT_RESULTS {
        params.push(ValType::I32);
        results.clear();
    }
    crate::FuncType::new(params, results)
}

/// How many flat parameters an `async` lower passes as they are; more go through memory.
const MAX_FLAT_ASYNC_PARAMS: usize = 4;

/// The subtask status an `async` lower returns for a call that ran to completion.
const SUBTASK_RETURNED: i32 = 2;

/// The core signature `canon lower … async` gives a component function of type `ty`: its
/// parameters (through memory past four flat values), a pointer for its result if it has one,
/// and the subtask status as the result.
fn async_lowered_signature(ty: &FuncType) -> crate::FuncType {
    let mut params = abi::flatten_all(ty.params.iter().map(|(_, t)| t));
    if params.len() > MAX_FLAT_ASYNC_PARAMS {
        params = vec![ValType::I32];
    }
    if ty.result.is_some() {
        params.push(ValType::I32);
    }
    crate::FuncType::new(params, [ValType::I32])
}

/// The feature named when an `async` call would have to wait, which ward cannot do.
const ASYNC_WAIT: &str =
    "async: a call that would have to wait (the callee is busy or applies backpressure)";

/// Makes the core function of `canon lower` of `callee` (whose type, as the lowering component
/// sees it, is `ty`) for instance `state`.
pub(super) fn lower<T: 'static>(
    store: &mut Store<T>,
    callee: Func,
    ty: FuncType,
    options: ResolvedOptions,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    if options.is_async {
        return async_lower(store, callee, ty, options, state);
    }
    let signature = lowered_signature(&ty);
    crate::Func::new(&mut *store, signature, move |caller, args, results| {
        state.check_may_leave()?;
        // Calling an `async` function synchronously may block, which a task whose own type is
        // not `async` (or instantiation, which runs outside any task) may not do.
        if ty.is_async
            && matches!(
                state.task_results().last(),
                Some(TaskResult::Sync { may_block: false }) | None
            )
        {
            return Err(trap("cannot block a synchronous task before returning"));
        }
        let params = param_types(&ty);
        let flat_params = abi::flatten_all(params.iter());
        let mut memory = StoreMemory::new(caller.store, &options, &state, false);
        let values = if flat_params.len() <= MAX_FLAT_PARAMS {
            let mut reader = FlatReader::new(args);
            params
                .iter()
                .map(|t| abi::lift_flat(&memory, options.encoding, &mut reader, t))
                .collect::<Result<Vec<_>>>()?
        } else {
            let ptr = core_u32(args.first())?;
            abi::load_spilled(&memory, options.encoding, ptr, &params)?
        };
        let result = callee.call_values(memory.store, &values, false);
        memory.end_lends();
        let result = result?;
        if let (Some(t), Some(value)) = (&ty.result, &result) {
            let flat_results = abi::flatten_all(std::iter::once(t));
            if flat_results.len() <= MAX_FLAT_RESULTS {
                let mut out = Vec::new();
                abi::lower_flat(&mut memory, options.encoding, value, t, &mut out)?;
                for (slot, v) in results.iter_mut().zip(out) {
                    *slot = v;
                }
            } else {
                let ptr = core_u32(args.last())?;
                if !ptr.is_multiple_of(abi::alignment(t)) {
                    return Err(trap("unaligned pointer"));
                }
                abi::store(&mut memory, options.encoding, value, t, ptr)?;
            }
        }
        Ok(())
    })
}

/// Makes the core function of `canon lower … async` of `callee`: it calls the callee to
/// completion, stores the result through the pointer that follows the parameters and returns
/// `RETURNED`.
fn async_lower<T: 'static>(
    store: &mut Store<T>,
    callee: Func,
    ty: FuncType,
    options: ResolvedOptions,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let signature = async_lowered_signature(&ty);
    crate::Func::new(&mut *store, signature, move |caller, args, results| {
        state.check_may_leave()?;
        if callee.would_wait() {
            return Err(Error::Unsupported {
                feature: ASYNC_WAIT.into(),
                offset: 0,
            });
        }
        let params = param_types(&ty);
        let flat_params = abi::flatten_all(params.iter());
        let mut memory = StoreMemory::new(caller.store, &options, &state, false);
        let values = if flat_params.len() <= MAX_FLAT_ASYNC_PARAMS {
            let mut reader = FlatReader::new(args);
            params
                .iter()
                .map(|t| abi::lift_flat(&memory, options.encoding, &mut reader, t))
                .collect::<Result<Vec<_>>>()?
        } else {
            let ptr = core_u32(args.first())?;
            abi::load_spilled(&memory, options.encoding, ptr, &params)?
        };
        let result = callee.call_values(memory.store, &values, false);
        memory.end_lends();
        let result = result?;
        if let (Some(t), Some(value)) = (&ty.result, &result) {
            let ptr = core_u32(args.last())?;
            if !ptr.is_multiple_of(abi::alignment(t)) {
                return Err(trap("unaligned pointer"));
            }
            abi::store(&mut memory, options.encoding, value, t, ptr)?;
        }
        results[0] = crate::Val::I32(SUBTASK_RETURNED);
        Ok(())
    })
}

/// Makes the core function of `canon task.return` for instance `state`: it lifts a result of
/// type `result` (flat, or through memory past sixteen flat values) and hands it to the
/// innermost `async`-lifted call into the instance, which must expect that type.
pub(super) fn task_return<T: 'static>(
    store: &mut Store<T>,
    result: Option<Type>,
    options: ResolvedOptions,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let types: Vec<Type> = result.iter().cloned().collect();
    let mut params = abi::flatten_all(types.iter());
    let spilled = params.len() > MAX_FLAT_PARAMS;
    if spilled {
        params = vec![ValType::I32];
    }
    crate::Func::new(
        &mut *store,
        crate::FuncType::new(params, []),
        move |caller, args, _| {
            state.check_may_leave()?;
            match state.task_results().last() {
                Some(TaskResult::Pending { expected }) => {
                    let shown = |t: &Option<Type>| t.as_ref().map(|t| t.to_string());
                    if shown(expected) != shown(&result) {
                        return Err(trap("invalid `task.return` signature"));
                    }
                }
                Some(TaskResult::Returned(_)) => {
                    return Err(trap("`task.return` called more than once"));
                }
                Some(TaskResult::Sync { .. }) | None => {
                    return Err(trap("`task.return` called outside an `async`-lifted call"));
                }
            }
            let memory = StoreMemory::new(caller.store, &options, &state, false);
            let mut values = if spilled {
                let ptr = core_u32(args.first())?;
                abi::load_spilled(&memory, options.encoding, ptr, &types)?
            } else {
                let mut reader = FlatReader::new(args);
                types
                    .iter()
                    .map(|t| abi::lift_flat(&memory, options.encoding, &mut reader, t))
                    .collect::<Result<Vec<_>>>()?
            };
            memory.end_lends();
            if let Some(slot) = state.task_results().last_mut() {
                *slot = TaskResult::Returned(values.pop());
            }
            Ok(())
        },
    )
}

/// Calls host function `host` of type `ty`, checking the result it gives.
fn call_host<T: 'static>(
    store: &mut Store<T>,
    ty: &FuncType,
    host: &HostFunc,
    params: &[Val],
) -> Result<Option<Val>> {
    let f = host.0.downcast_ref::<HostFn<T>>().ok_or_else(|| {
        Error::Usage("a host function called with a store of another data type".into())
    })?;
    let mut results = vec![Val::Bool(false); usize::from(ty.result.is_some())];
    f(store, params, &mut results)?;
    let result = results.pop();
    if let (Some(t), Some(value)) = (&ty.result, &result) {
        value.check(t).map_err(|e| {
            Error::Usage(format!(
                "the host function returned a value of the wrong type: {e}"
            ))
        })?;
    }
    Ok(result)
}

/// Whether a value of type `ty` can hold resource handles.
fn has_resources(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) => true,
        Type::List(t) | Type::Option(t) => has_resources(t),
        Type::Map(kv) => has_resources(&kv.0) || has_resources(&kv.1),
        Type::Record(fields) => fields.iter().any(|(_, t)| has_resources(t)),
        Type::Tuple(types) => types.iter().any(has_resources),
        Type::Variant(cases) => cases
            .iter()
            .any(|(_, t)| t.as_ref().is_some_and(has_resources)),
        Type::Result { ok, err } => [ok, err]
            .into_iter()
            .any(|t| t.as_deref().is_some_and(has_resources)),
        _ => false,
    }
}

/// Checks that every resource handle in `value` (of type `ty`, already checked) has the
/// resource type `instance` expects where it sits.
fn check_resources(instance: &InstanceState, value: &Val, ty: &Type) -> Result<()> {
    if !has_resources(ty) {
        return Ok(());
    }
    match (value, ty) {
        (Val::Resource(r), Type::Own(t) | Type::Borrow(t)) => {
            instance.resolve_resource(t, r).map(drop)
        }
        (Val::List(items), Type::List(t)) => items
            .iter()
            .try_for_each(|v| check_resources(instance, v, t)),
        (Val::Map(pairs), Type::Map(kv)) => pairs.iter().try_for_each(|(k, v)| {
            check_resources(instance, k, &kv.0)?;
            check_resources(instance, v, &kv.1)
        }),
        (Val::Record(values), Type::Record(fields)) => values
            .iter()
            .zip(fields.iter())
            .try_for_each(|((_, v), (_, t))| check_resources(instance, v, t)),
        (Val::Tuple(values), Type::Tuple(types)) => values
            .iter()
            .zip(types.iter())
            .try_for_each(|(v, t)| check_resources(instance, v, t)),
        (Val::Variant(name, Some(payload)), Type::Variant(cases)) => {
            match cases.iter().find(|(n, _)| n == name) {
                Some((_, Some(t))) => check_resources(instance, payload, t),
                _ => Ok(()),
            }
        }
        (Val::Option(Some(v)), Type::Option(t)) => check_resources(instance, v, t),
        (Val::Result(Ok(Some(v))), Type::Result { ok: Some(t), .. })
        | (Val::Result(Err(Some(v))), Type::Result { err: Some(t), .. }) => {
            check_resources(instance, v, t)
        }
        _ => Ok(()),
    }
}

pub(super) fn core_u32(value: Option<&crate::Val>) -> Result<u32> {
    match value {
        Some(crate::Val::I32(x)) => Ok(*x as u32),
        _ => Err(internal("expected an i32 pointer")),
    }
}

impl Func {
    /// A function lifted with `canon lift` from `core`, in instance `instance`.
    pub(super) fn lifted(
        ty: FuncType,
        core: crate::Func,
        options: ResolvedOptions,
        instance: Arc<InstanceState>,
    ) -> Func {
        Func {
            inner: Arc::new(FuncInner {
                ty,
                kind: FuncKind::Lifted {
                    core,
                    options,
                    instance,
                },
            }),
        }
    }

    /// Host function `host` at the type of the import it satisfies.
    pub(super) fn host(ty: FuncType, host: HostFunc) -> Func {
        Func {
            inner: Arc::new(FuncInner {
                ty,
                kind: FuncKind::Host(host),
            }),
        }
    }

    /// Whether a call would have to wait for the callee's instance (it is busy, or applies
    /// backpressure), which only an asynchronous caller may do.
    fn would_wait(&self) -> bool {
        match &self.inner.kind {
            FuncKind::Lifted { instance, .. } => {
                !instance.may_enter.load(Ordering::Relaxed)
                    || *instance
                        .backpressure
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        > 0
            }
            FuncKind::Host(_) => false,
        }
    }

    /// The function's component type.
    pub fn ty(&self) -> &FuncType {
        &self.inner.ty
    }

    /// Calls the function with `params`, writing its result (if it has one) to `results`, which
    /// must have room for exactly that many values. Runs the `post-return` function, if any,
    /// before returning.
    pub fn call<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let ty = &self.inner.ty;
        if params.len() != ty.params.len() {
            return Err(Error::Usage(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                params.len()
            )));
        }
        let expected_results = usize::from(ty.result.is_some());
        if results.len() != expected_results {
            return Err(Error::Usage(format!(
                "expected room for {expected_results} results, got {}",
                results.len()
            )));
        }
        for (value, (_, t)) in params.iter().zip(ty.params.iter()) {
            value.check(t)?;
            if let FuncKind::Lifted { instance, .. } = &self.inner.kind {
                // Before the call begins, so that a handle of the wrong type is the host's
                // error and leaves the instance usable.
                check_resources(instance, value, t)?;
            }
        }
        if let Some(result) = self.call_values(store.as_context_mut(), params, true)? {
            results[0] = result;
        }
        Ok(())
    }

    /// Lowers `params` into the callee, calls its core function, lifts the result and runs
    /// `post-return`; `host` says whether the caller is the host or another component.
    fn call_values<T: 'static>(
        &self,
        store: &mut Store<T>,
        params: &[Val],
        host: bool,
    ) -> Result<Option<Val>> {
        let ty = &self.inner.ty;
        let (core, options, instance) = match &self.inner.kind {
            FuncKind::Lifted {
                core,
                options,
                instance,
            } => (core, options, instance),
            FuncKind::Host(host) => return call_host(store, ty, host, params),
        };
        if options.callback {
            return Err(Error::Unsupported {
                feature: "async: the `callback` canonical option".into(),
                offset: 0,
            });
        }
        if !instance.may_enter.swap(false, Ordering::Relaxed) {
            return Err(trap("cannot enter component instance"));
        }
        instance.scopes().push(0);
        instance.task_contexts().push([0; TASK_CONTEXT_SLOTS]);
        instance.task_results().push(if options.is_async {
            TaskResult::Pending {
                expected: ty.result.clone(),
            }
        } else {
            TaskResult::Sync {
                may_block: ty.is_async,
            }
        });
        let types = param_types(ty);
        let mut memory = StoreMemory::new(store, options, instance, host);
        let flat_params = abi::flatten_all(types.iter());
        let mut core_args = Vec::with_capacity(flat_params.len());
        if flat_params.len() <= MAX_FLAT_PARAMS {
            for (value, t) in params.iter().zip(&types) {
                abi::lower_flat(&mut memory, options.encoding, value, t, &mut core_args)?;
            }
        } else {
            let ptr = abi::store_spilled(&mut memory, options.encoding, params, &types)?;
            core_args.push(crate::Val::I32(ptr as i32));
        }
        let store = memory.store;
        let core_ty = core.ty(&*store);
        let mut core_results: Vec<crate::Val> = core_ty
            .results()
            .iter()
            .map(|t| crate::Val::default_for(*t).unwrap_or(crate::Val::I32(0)))
            .collect();
        core.call(&mut *store, &core_args, &mut core_results)?;
        let borrows_left = instance.scopes().pop().unwrap_or(0);
        if borrows_left != 0 {
            return Err(trap("borrow handles still remain at the end of the call"));
        }
        let task_result = instance.task_results().pop();
        let memory = StoreMemory::new(store, options, instance, host);
        let result = match &ty.result {
            // An `async` lift's result came through `task.return`.
            _ if options.is_async => match task_result {
                Some(TaskResult::Returned(value)) => value,
                _ => {
                    return Err(trap(
                        "the `async` call returned without calling `task.return`",
                    ));
                }
            },
            None => None,
            Some(t) => {
                let flat = abi::flatten_all(std::iter::once(t));
                if flat.len() <= MAX_FLAT_RESULTS {
                    let mut reader = FlatReader::new(&core_results);
                    Some(abi::lift_flat(&memory, options.encoding, &mut reader, t)?)
                } else {
                    let ptr = core_u32(core_results.first())?;
                    let mut values =
                        abi::load_spilled(&memory, options.encoding, ptr, std::slice::from_ref(t))?;
                    values.pop()
                }
            }
        };
        let store = memory.store;
        if let Some(post_return) = options.post_return {
            instance.may_leave.store(false, Ordering::Relaxed);
            post_return.call(&mut *store, &core_results, &mut [])?;
            instance.may_leave.store(true, Ordering::Relaxed);
        }
        instance.task_contexts().pop();
        instance.may_enter.store(true, Ordering::Relaxed);
        Ok(result)
    }
}
