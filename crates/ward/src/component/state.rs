//! The canonical ABI's state of one component instance ([`InstanceState`]): the `may_enter` and
//! `may_leave` flags, the handle table, the run-time resource types its definitions made, and the
//! per-call borrow scopes, task-local storage and `task.return` results. Made by `instance`; used by `func` and
//! `builtins`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::errors::trap;
use super::resources::{HandleTable, ResourceAny, ResourceRt, fresh_id};
use super::types::{ResourceType, Type};
use super::val::Val;
use crate::{Error, Result};

/// The error for a resource of type `found` passed where one of `expected` belongs.
fn resource_mismatch(found: &ResourceRt, expected: &ResourceRt) -> Error {
    let describe = |rt: &ResourceRt| match rt.host_type {
        Some(_) => format!("host resource `{}`", rt.host_type_name),
        None if rt.owner == super::resources::HOST_OWNER => "a host resource".to_string(),
        None => "a guest-defined resource".to_string(),
    };
    Error::Usage(format!(
        "resource type mismatch: {} passed where {} is expected",
        describe(found),
        describe(expected)
    ))
}

/// The canonical ABI's per-instance state.
#[derive(Debug)]
pub(super) struct InstanceState {
    pub(super) id: u64,
    /// Cleared while a call into the instance runs (and for good after a trap in it).
    pub(super) may_enter: AtomicBool,
    /// Cleared while the instance runs `post-return`.
    pub(super) may_leave: AtomicBool,
    pub(super) handles: Mutex<HandleTable>,
    /// The run-time resource type behind each static resource id of the component's types.
    pub(super) resources: Mutex<HashMap<ResourceType, Arc<ResourceRt>>>,
    /// For each call into the instance in progress (innermost last), how many borrowed handles
    /// it holds; each must be dropped before the call returns.
    pub(super) borrow_scopes: Mutex<Vec<u32>>,
    /// The task-local storage (`context.get`/`context.set`) of each call into the instance in
    /// progress, innermost last; it lasts until the call's `post-return` is over.
    pub(super) task_contexts: Mutex<Vec<[u32; TASK_CONTEXT_SLOTS]>>,
    /// The backpressure counter (`backpressure.inc`/`dec`); synchronous calls never wait on it.
    pub(super) backpressure: Mutex<u32>,
    /// What `task.return` delivered to each call into the instance in progress, innermost last.
    pub(super) task_results: Mutex<Vec<TaskResult>>,
}

/// The result of one call into an instance, as far as `task.return` is concerned.
#[derive(Debug)]
pub(super) enum TaskResult {
    /// A synchronously lifted call: its core function returns the result; `task.return` traps.
    /// It may block (call an `async` function synchronously) only if its own type is `async`.
    Sync { may_block: bool },
    /// An `async`-lifted call whose result of type `expected` has not been returned yet.
    Pending { expected: Option<Type> },
    /// An `async`-lifted call that returned its result (`task.return` may not run again).
    Returned(Option<Val>),
}

/// The slots of task-local storage (the threading proposal's two).
pub(super) const TASK_CONTEXT_SLOTS: usize = 2;

impl InstanceState {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(InstanceState {
            id: fresh_id(),
            may_enter: AtomicBool::new(true),
            may_leave: AtomicBool::new(true),
            handles: Mutex::default(),
            resources: Mutex::default(),
            borrow_scopes: Mutex::default(),
            task_contexts: Mutex::default(),
            backpressure: Mutex::default(),
            task_results: Mutex::default(),
        })
    }

    /// Traps unless the instance may call out (it may not while it runs `post-return`).
    pub(super) fn check_may_leave(&self) -> Result<()> {
        if self.may_leave.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(trap("cannot leave component instance"))
        }
    }

    pub(super) fn handles(&self) -> MutexGuard<'_, HandleTable> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn scopes(&self) -> MutexGuard<'_, Vec<u32>> {
        self.borrow_scopes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn task_contexts(&self) -> MutexGuard<'_, Vec<[u32; TASK_CONTEXT_SLOTS]>> {
        self.task_contexts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn task_results(&self) -> MutexGuard<'_, Vec<TaskResult>> {
        self.task_results.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn resource_rt(&self, ty: &ResourceType) -> Option<Arc<ResourceRt>> {
        let resources = self.resources.lock().unwrap_or_else(|e| e.into_inner());
        resources.get(ty).cloned()
    }

    /// The run-time type a resource passed as the instance's resource type `ty` takes: `ty`'s,
    /// which a [`Resource<R>`](super::Resource) lowered by the host gets here (it names only its
    /// host type `R`). A resource of another type is an error.
    pub(super) fn resolve_resource(
        &self,
        ty: &ResourceType,
        resource: &ResourceAny,
    ) -> Result<Arc<ResourceRt>> {
        match self.resource_rt(ty) {
            Some(expected) if expected.id == resource.ty.id => Ok(expected),
            Some(expected) if resource.ty.is_unresolved() => {
                if expected.host_type.is_some() && expected.host_type == resource.ty.host_type {
                    Ok(expected)
                } else {
                    Err(resource_mismatch(&resource.ty, &expected))
                }
            }
            Some(expected) => Err(resource_mismatch(&resource.ty, &expected)),
            // A type the instance has not bound (it neither defines nor imports it by name).
            None if resource.ty.is_unresolved() => Err(Error::Usage(format!(
                "a `Resource<{}>` passed where the component's resource type is not a host type",
                resource.ty.host_type_name
            ))),
            None => Ok(resource.ty.clone()),
        }
    }

    pub(super) fn bind_resource(&self, ty: Option<ResourceType>, rt: Option<&Arc<ResourceRt>>) {
        if let (Some(ty), Some(rt)) = (ty, rt) {
            let mut resources = self.resources.lock().unwrap_or_else(|e| e.into_inner());
            resources.insert(ty, rt.clone());
        }
    }
}
