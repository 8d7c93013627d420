//! Functions: host functions from C callbacks, calls, and function types and arities.
//!
//! A C callback becomes a ward host function ([`Callback`]) that converts the arguments to
//! `wasm_val_t`s, makes the store ward lent it the one the API uses while the callback runs
//! (`StoreCtx::enter_callback`), calls the C function, and converts its results back, or turns the
//! trap it returned into an error that comes out of `wasm_func_call` as that same trap.

use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use ward::{AsContextMut, Caller, Error, FuncType, Val};

use crate::entry;
use crate::object::{Finalizer, Obj, wasm_func_t, wasm_ref_t};
use crate::store::{FuncOrigin, StoreCtx, WardStore, store_ctx, wasm_store_t};
use crate::trap::{HostTrap, TrapObj, TrapSite, trap_from_error, trap_handle, wasm_trap_t};
use crate::types::{take_box, wasm_externtype_t, wasm_functype_t};
use crate::val::{to_c, to_ward, wasm_val_t};
use crate::vec::{CElem, CVec, wasm_val_vec_t};

/// `wasm_func_callback_t`.
pub type wasm_func_callback_t =
    Option<unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t>;
/// `wasm_func_callback_with_env_t`.
pub type wasm_func_callback_with_env_t = Option<
    unsafe extern "C" fn(
        *mut c_void,
        *const wasm_val_vec_t,
        *mut wasm_val_vec_t,
    ) -> *mut wasm_trap_t,
>;

enum CallbackFn {
    Plain(unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t),
    WithEnv(
        unsafe extern "C" fn(
            *mut c_void,
            *const wasm_val_vec_t,
            *mut wasm_val_vec_t,
        ) -> *mut wasm_trap_t,
    ),
}

/// A C callback as a ward host function.
struct Callback {
    function: CallbackFn,
    env: *mut c_void,
    finalizer: Finalizer,
    /// The store context this function belongs to; it owns the ward store that owns this callback,
    /// so it outlives every call.
    ctx: *const StoreCtx,
    ty: FuncType,
}

// SAFETY: ward requires host functions to be `Send + Sync` because a `ward::Store` may move between
// threads. This one lives in the ward store inside a `StoreCtx`, which is neither `Send` nor `Sync`
// (it is behind `Rc`), so the store, and this callback with its raw pointers, stay on the thread
// that made them; `wasm.h` likewise requires a store to be used by one thread at a time.
unsafe impl Send for Callback {}
// SAFETY: as for `Send`.
unsafe impl Sync for Callback {}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some(finalize) = self.finalizer {
            // SAFETY: the host gave this finalizer for `env`, to be called once when the function
            // goes; the function goes with its store, now.
            unsafe { finalize(self.env) };
        }
    }
}

impl Callback {
    fn call(
        &self,
        mut caller: Caller<'_, crate::store::StoreData>,
        params: &[Val],
        results: &mut [Val],
    ) -> ward::Result<()> {
        // SAFETY: `ctx` outlives this call (see the field's doc).
        let ctx = unsafe { &*self.ctx };
        // SAFETY: `ctx` is a live `Rc` allocation; this makes one more counted reference to it.
        let ctx_rc = unsafe {
            Rc::increment_strong_count(self.ctx);
            Rc::from_raw(self.ctx)
        };
        let store: *mut WardStore = caller.as_context_mut();
        let _entered = ctx.enter_callback(store);
        let args = ctx.with_store(|store| {
            params
                .iter()
                .map(|v| to_c(&ctx_rc, store, *v))
                .collect::<Result<Vec<_>, _>>()
        });
        let mut args = CVec::from_vec(args.map_err(Error::msg)?);
        let mut out = CVec::from_vec(results.iter().map(|_| wasm_val_t::blank()).collect());
        // SAFETY: the callback has the signature `wasm.h` gives it; `args` and `out` are vectors
        // of the right sizes that this function owns and frees afterwards.
        let trap = unsafe {
            match self.function {
                CallbackFn::Plain(f) => f(&args, &mut out),
                CallbackFn::WithEnv(f) => f(self.env, &args, &mut out),
            }
        };
        // SAFETY: `args` was made by `from_vec` and its values are owned by it.
        unsafe { args.delete() };
        // SAFETY: a non-null result is an `own` trap handle.
        let result = match unsafe { take_box(trap) } {
            Some(trap) => {
                let trap = match trap.obj {
                    Obj::Trap(t) => t,
                    _ => TrapObj::new(b"host callback returned a non-trap reference", vec![]),
                };
                let error = HostTrap {
                    id: trap.id,
                    message: trap.text(),
                };
                ctx.pending_traps.borrow_mut().insert(trap.id, trap);
                Err(Error::Host(error.into()))
            }
            // SAFETY: the callback wrote (or left blank) each result; values are valid.
            None => unsafe { self.take_results(ctx, &out, results) },
        };
        // SAFETY: `out` was made by `from_vec`; its values are owned by it.
        unsafe { out.delete() };
        result
    }

    /// Converts the callback's results.
    ///
    /// # Safety
    /// The values in `out` are valid.
    unsafe fn take_results(
        &self,
        ctx: &StoreCtx,
        out: &wasm_val_vec_t,
        results: &mut [Val],
    ) -> ward::Result<()> {
        // SAFETY: `out` was made by `from_vec` with `results.len()` values.
        let values = unsafe { out.as_slice() };
        ctx.with_store(|store| {
            for (i, ((slot, value), ty)) in results
                .iter_mut()
                .zip(values)
                .zip(self.ty.results())
                .enumerate()
            {
                // SAFETY: the caller's contract.
                *slot = unsafe { to_ward(ctx, store, value, *ty) }
                    .map_err(|e| Error::msg(format!("host callback result {i}: {e}")))?;
            }
            Ok(())
        })
    }
}

/// Makes a host function.
///
/// # Safety
/// `store` and `ty` are null or live.
unsafe fn new_func(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    function: CallbackFn,
    env: *mut c_void,
    finalizer: Finalizer,
) -> *mut wasm_func_t {
    // SAFETY: the caller's contract.
    let (ctx, ty) = unsafe {
        (
            store_ctx(store),
            ty.as_ref().and_then(wasm_externtype_t::as_func),
        )
    };
    // On failure the environment stays the caller's: its finalizer is not called.
    let (Some(ctx), Some(ty)) = (ctx, ty) else {
        return ptr::null_mut();
    };
    let callback = Callback {
        function,
        env,
        finalizer,
        ctx: Rc::as_ptr(ctx),
        ty: ty.clone(),
    };
    let made = ctx.with_store(|store| {
        ward::Func::new(store, ty.clone(), move |caller, params, results| {
            callback.call(caller, params, results)
        })
    });
    match made {
        Ok(func) => wasm_ref_t::boxed(ctx, Obj::Func(func)),
        Err(_) => ptr::null_mut(),
    }
}

entry! {
    /// A host function of type `ty` calling `callback`.
    fn wasm_func_new(store: *mut wasm_store_t, ty: *const wasm_functype_t,
        callback: wasm_func_callback_t) -> *mut wasm_func_t = ptr::null_mut(); {
        let Some(callback) = callback else { return ptr::null_mut() };
        // SAFETY: `store` and `ty` are null or live.
        unsafe { new_func(store, ty, CallbackFn::Plain(callback), ptr::null_mut(), None) }
    }
}

entry! {
    /// A host function of type `ty` calling `callback` with `env`; `finalizer` (if any) is called
    /// with `env` when the function goes (with its store). Returns null, leaving `env` to the
    /// caller without finalizing it, if the store, type or callback is null.
    fn wasm_func_new_with_env(store: *mut wasm_store_t, ty: *const wasm_functype_t,
        callback: wasm_func_callback_with_env_t, env: *mut c_void, finalizer: Finalizer)
        -> *mut wasm_func_t = ptr::null_mut(); {
        let Some(callback) = callback else { return ptr::null_mut() };
        // SAFETY: `store` and `ty` are null or live.
        unsafe { new_func(store, ty, CallbackFn::WithEnv(callback), env, finalizer) }
    }
}

/// The store and function of a function handle.
///
/// # Safety
/// `p` is null or a live handle.
unsafe fn func_of<'a>(p: *const wasm_func_t) -> Option<(&'a Rc<StoreCtx>, ward::Func)> {
    // SAFETY: the caller's contract.
    let h = unsafe { crate::object::handle(p) }?;
    match (&h.store, &h.obj) {
        (Some(ctx), Obj::Func(f)) => Some((ctx, *f)),
        _ => None,
    }
}

/// The signature of a function handle.
///
/// # Safety
/// `p` is null or a live handle.
unsafe fn func_type(p: *const wasm_func_t) -> Option<FuncType> {
    // SAFETY: the caller's contract.
    let (ctx, f) = unsafe { func_of(p) }?;
    Some(ctx.with_store(|store| f.ty(&*store)))
}

entry! {
    /// The function's type.
    fn wasm_func_type(func: *const wasm_func_t) -> *mut wasm_functype_t = ptr::null_mut(); {
        // SAFETY: `func` is null or live.
        unsafe { func_type(func) }
            .map_or(ptr::null_mut(), |ty| Box::into_raw(Box::new(wasm_externtype_t::func(ty))))
    }
}

entry! {
    /// The number of parameters.
    fn wasm_func_param_arity(func: *const wasm_func_t) -> usize = 0; {
        // SAFETY: `func` is null or live.
        unsafe { func_type(func) }.map_or(0, |ty| ty.params().len())
    }
}

entry! {
    /// The number of results.
    fn wasm_func_result_arity(func: *const wasm_func_t) -> usize = 0; {
        // SAFETY: `func` is null or live.
        unsafe { func_type(func) }.map_or(0, |ty| ty.results().len())
    }
}

/// A trap handle with `message`.
fn trap_message(message: &str) -> *mut wasm_trap_t {
    trap_handle(TrapObj::new(message.as_bytes(), vec![]))
}

entry! {
    /// Calls the function. Returns null and writes the results (owned by the caller) on success,
    /// or returns the trap. `args` must have the function's parameter count; `results` may be
    /// shorter (results that do not fit are dropped) or longer (extra slots are left alone).
    fn wasm_func_call(func: *const wasm_func_t, args: *const wasm_val_vec_t,
        results: *mut wasm_val_vec_t) -> *mut wasm_trap_t
        = trap_message("internal error in the ward C API"); {
        // SAFETY: `func` is null or live.
        let Some((ctx, f)) = (unsafe { func_of(func) }) else {
            return trap_message("wasm_func_call: not a function");
        };
        // Owned for the call: a callback may delete the last handles to the function and store.
        let ctx = &ctx.clone();
        // SAFETY: `args` and `results` are null or valid vectors; the caller owns the values.
        let (args, results) = unsafe {
            (args.as_ref().map_or(&[][..], |a| a.as_slice()),
             results.as_mut().map_or(&mut [][..], |r| r.as_mut_slice()))
        };
        let origin = ctx.func_origins.borrow().get(&f).cloned();
        let outcome = ctx.with_store(|store| {
            let ty = f.ty(&*store);
            // The results vector need not match the result count, as the `wasm.h` examples expect
            // (`trap.c` calls a function returning an i32 with no room for it): as many results
            // as fit are written, and extra slots are left alone.
            if args.len() != ty.params().len() {
                return Err(Error::msg(format!(
                    "wasm_func_call: the function takes {} arguments, given {}",
                    ty.params().len(),
                    args.len()
                )));
            }
            let mut params = Vec::with_capacity(args.len());
            for (i, (arg, ty)) in args.iter().zip(ty.params()).enumerate() {
                // SAFETY: the caller's values are valid.
                let val = unsafe { to_ward(ctx, store, arg, *ty) }
                    .map_err(|e| Error::msg(format!("wasm_func_call: argument {i}: {e}")))?;
                params.push(val);
            }
            let mut out = vec![Val::I32(0); ty.results().len()];
            f.call(&mut *store, &params, &mut out)?;
            let out = out
                .into_iter()
                .take(results.len())
                .map(|v| to_c(ctx, store, v))
                .collect::<Result<Vec<_>, _>>();
            out.map_err(Error::msg)
        });
        match outcome {
            Ok(values) => {
                for (slot, value) in results.iter_mut().zip(values) {
                    *slot = value;
                }
                ptr::null_mut()
            }
            Err(error) => {
                let site = origin.as_ref().map(|o: &FuncOrigin| TrapSite {
                    module: &o.module,
                    instance: Some(o.instance),
                });
                trap_handle(trap_from_error(ctx, error, site))
            }
        }
    }
}
