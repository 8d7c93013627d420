//! Instances: instantiation with imports given in the module's import order, and exports.

use std::ptr;

use crate::entry;
use crate::externs::{extern_handle, ward_extern};
use crate::module::{module_obj, wasm_module_t};
use crate::object::{Obj, wasm_instance_t, wasm_ref_t};
use crate::store::{FuncOrigin, store_ctx, wasm_store_t};
use crate::trap::{TrapObj, TrapSite, trap_from_error, trap_handle, wasm_trap_t};
use crate::vec::{CVec, wasm_extern_vec_t};

entry! {
    /// Instantiates `module` with `imports` (in the module's import order). On failure returns null
    /// and, if `trap` is not null, stores a trap describing the failure there (a trap in the start
    /// function, or a link or instantiation error); on success stores null there.
    fn wasm_instance_new(store: *mut wasm_store_t, module: *const wasm_module_t,
        imports: *const wasm_extern_vec_t, trap: *mut *mut wasm_trap_t)
        -> *mut wasm_instance_t = ptr::null_mut(); {
        let report = |t: *mut wasm_trap_t| {
            if !trap.is_null() {
                // SAFETY: `trap` points to writable storage for a trap pointer.
                unsafe { trap.write(t) };
            } else if !t.is_null() {
                // SAFETY: nobody takes the trap; delete it.
                drop(unsafe { crate::types::take_box(t) });
            }
        };
        // SAFETY: `store` and `module` are null or live.
        let (ctx, module) = unsafe { (store_ctx(store), module_obj(module)) };
        let (Some(ctx), Some(module)) = (ctx, module) else {
            report(trap_handle(TrapObj::new(b"wasm_instance_new: null store or module", vec![])));
            return ptr::null_mut();
        };
        // Owned for the call: a callback run by the start function may delete the last handles to
        // the store and module.
        let (ctx, module) = (&ctx.clone(), &module.clone());
        // SAFETY: `imports` is null or a valid vector of extern handles.
        let handles = unsafe { imports.as_ref().map_or(&[][..], |v| v.as_slice()) };
        let mut externs = Vec::with_capacity(handles.len());
        for (i, &h) in handles.iter().enumerate() {
            // SAFETY: each element is null or a live handle.
            let h = unsafe { crate::object::handle(h) };
            let ext = h
                .filter(|h| h.store.as_ref().is_some_and(|s| std::rc::Rc::ptr_eq(s, ctx)))
                .and_then(|h| ward_extern(&h.obj));
            let Some(ext) = ext else {
                let message = format!("wasm_instance_new: import {i} is null, not an extern, or from another store");
                report(trap_handle(TrapObj::new(message.as_bytes(), vec![])));
                return ptr::null_mut();
            };
            externs.push(ext);
        }
        match ctx.with_store(|store| ward::Instance::new(store, &module.module, &externs)) {
            Ok(instance) => {
                report(ptr::null_mut());
                ctx.instance_modules.borrow_mut().insert(instance, module.clone());
                wasm_ref_t::boxed(ctx, Obj::Instance(instance))
            }
            Err(error) => {
                let site = TrapSite { module, instance: None };
                report(trap_handle(trap_from_error(ctx, error, Some(site))));
                ptr::null_mut()
            }
        }
    }
}

entry! {
    /// Writes the instance's exports, in module order, to `out` (owned by the caller; tags are
    /// left out, as in `wasm_module_exports`).
    fn wasm_instance_exports(instance: *const wasm_instance_t, out: *mut wasm_extern_vec_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `instance` is null or live.
        let exports = match unsafe { crate::object::handle(instance) } {
            Some(wasm_ref_t { store: Some(ctx), obj: Obj::Instance(i) }) => {
                let exports = ctx.with_store(|store| i.exports(&*store));
                let module = ctx.instance_modules.borrow().get(i).cloned();
                let mut origins = ctx.func_origins.borrow_mut();
                exports
                    .into_iter()
                    .filter_map(|(_, ext)| {
                        if let (ward::Extern::Func(f), Some(module)) = (&ext, &module) {
                            origins.entry(*f).or_insert_with(|| FuncOrigin {
                                instance: *i,
                                module: module.clone(),
                            });
                        }
                        extern_handle(ctx, ext)
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(exports)) };
    }
}
