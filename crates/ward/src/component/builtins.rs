//! The builtins a component's `canon` definitions make into core functions: `resource.new`,
//! `resource.rep` and `resource.drop`, the task builtins that work in synchronous calls
//! (`context.get`/`set`, `backpressure.inc`/`dec`), and those ward cannot run. Used by
//! `instance`.

use std::sync::Arc;

use super::definition::{ResourceIntrinsic, TaskBuiltin};
use super::errors::trap;
use super::func::core_u32;
use super::resources::{Removed, ResourceRt};
use super::state::{InstanceState, TASK_CONTEXT_SLOTS};
use crate::store::Store;
use crate::{Error, Result, ValType};

/// Makes the core function of a task builtin for instance `state`.
pub(super) fn task_builtin<T: 'static>(
    store: &mut Store<T>,
    builtin: TaskBuiltin,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let slot_of = |slot: u32| -> Result<usize> {
        let slot = slot as usize;
        if slot < TASK_CONTEXT_SLOTS {
            Ok(slot)
        } else {
            Err(Error::Unsupported {
                feature: format!("task-local storage slot {slot}"),
                offset: 0,
            })
        }
    };
    let no_task = || trap("task-local storage used outside a call into the component");
    match builtin {
        TaskBuiltin::ContextGet(slot) => {
            let slot = slot_of(slot)?;
            crate::Func::new(
                &mut *store,
                crate::FuncType::new([], [ValType::I32]),
                move |_, _, results| {
                    let contexts = state.task_contexts();
                    let value = contexts.last().ok_or_else(no_task)?[slot];
                    results[0] = crate::Val::I32(value as i32);
                    Ok(())
                },
            )
        }
        TaskBuiltin::ContextSet(slot) => {
            let slot = slot_of(slot)?;
            crate::Func::new(
                &mut *store,
                crate::FuncType::new([ValType::I32], []),
                move |_, args, _| {
                    let value = core_u32(args.first())?;
                    let mut contexts = state.task_contexts();
                    contexts.last_mut().ok_or_else(no_task)?[slot] = value;
                    Ok(())
                },
            )
        }
        TaskBuiltin::BackpressureInc | TaskBuiltin::BackpressureDec => {
            let increment = builtin == TaskBuiltin::BackpressureInc;
            crate::Func::new(&mut *store, crate::FuncType::new([], []), move |_, _, _| {
                let mut counter = state.backpressure.lock().unwrap_or_else(|e| e.into_inner());
                *counter = if increment {
                    counter
                        .checked_add(1)
                        .filter(|c| *c <= u32::from(u16::MAX))
                        .ok_or_else(|| trap("backpressure counter overflow"))?
                } else {
                    counter
                        .checked_sub(1)
                        .ok_or_else(|| trap("backpressure counter underflow"))?
                };
                Ok(())
            })
        }
    }
}

/// Makes the core function of `resource.new`, `resource.rep` or `resource.drop` of resource type
/// `rt` in instance `state`.
pub(super) fn resource_intrinsic<T: 'static>(
    store: &mut Store<T>,
    intrinsic: ResourceIntrinsic,
    rt: Arc<ResourceRt>,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    let i32_arg = |args: &[crate::Val]| core_u32(args.first());
    match intrinsic {
        ResourceIntrinsic::New => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], [ValType::I32]),
            move |_, args, results| {
                state.check_may_leave()?;
                let handle = state.handles().insert_own(rt.clone(), i32_arg(args)?)?;
                results[0] = crate::Val::I32(handle as i32);
                Ok(())
            },
        ),
        ResourceIntrinsic::Rep => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], [ValType::I32]),
            // `resource.rep` may be called from `post-return`: it does not leave the instance.
            move |_, args, results| {
                let (_, rep) = state.handles().rep(i32_arg(args)?, Some(&rt))?;
                results[0] = crate::Val::I32(rep as i32);
                Ok(())
            },
        ),
        ResourceIntrinsic::Drop => crate::Func::new(
            &mut *store,
            crate::FuncType::new([ValType::I32], []),
            move |caller, args, _| {
                state.check_may_leave()?;
                let removed = state.handles().remove(i32_arg(args)?, Some(&rt))?;
                match removed {
                    Removed::Own(resource) => {
                        if let Some(dtor) = &resource.ty.dtor {
                            dtor.run(caller.store, resource.rep)?;
                        }
                    }
                    Removed::Borrow { scope } => {
                        if let Some(count) = state.scopes().get_mut(scope) {
                            *count = count.saturating_sub(1);
                        }
                    }
                }
                Ok(())
            },
        ),
    }
}

/// Makes the core function of a builtin ward cannot run: it fails with
/// [`Error::Unsupported`] naming `feature` (after the `may_leave` check every builtin makes).
pub(super) fn unsupported_builtin<T: 'static>(
    store: &mut Store<T>,
    feature: String,
    signature: crate::FuncType,
    offset: usize,
    state: Arc<InstanceState>,
) -> Result<crate::Func> {
    crate::Func::new(&mut *store, signature, move |_, _, _| {
        state.check_may_leave()?;
        Err(Error::Unsupported {
            feature: feature.clone(),
            offset,
        })
    })
}
