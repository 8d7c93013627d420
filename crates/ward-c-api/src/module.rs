//! Modules: compiling and validating binaries, import and export types, sharing between stores.
//!
//! A module handle refers to an `Arc<ModuleObj>`, which is not tied to a store: any store of the
//! same engine can instantiate it, and `wasm_module_share`/`wasm_module_obtain` pass it to stores on
//! other threads. `ModuleObj` also keeps where each function body starts in the binary, to turn
//! trap offsets into offsets within a function (ward does not expose function body offsets).
//! Tags have no `wasm.h` extern kind: a module's tag imports and exports are left out of its import
//! and export lists (and such a module cannot be instantiated through `wasm.h`).

use std::ops::Range;
use std::ptr;
use std::sync::{Arc, Mutex};

use crate::entry;
use crate::object::{HostInfo, Obj, fresh_id, wasm_ref_t};
use crate::store::{store_ctx, wasm_store_t};
use crate::types::{wasm_exporttype_t, wasm_externtype_t, wasm_importtype_t};
use crate::vec::{CVec, wasm_byte_vec_t, wasm_exporttype_vec_t, wasm_importtype_vec_t};

/// A compiled module and what the C API keeps beside it.
pub struct ModuleObj {
    pub(crate) id: u64,
    pub(crate) module: ward::Module,
    /// Function index → byte range of its body in the binary (defined functions only).
    bodies: Vec<Option<Range<usize>>>,
    host_info: Mutex<Option<HostInfo>>,
}

// Shared modules move between threads (`wasm_module_share`/`wasm_module_obtain`).
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<ModuleObj>();
};

/// A module handle (a [`wasm_ref_t`]).
pub type wasm_module_t = wasm_ref_t;

/// A module as passed between threads.
pub struct wasm_shared_module_t {
    module: Arc<ModuleObj>,
}

impl ModuleObj {
    /// Compiles a module binary.
    pub(crate) fn compile(engine: &ward::Engine, bytes: &[u8]) -> ward::Result<Arc<ModuleObj>> {
        let module = ward::Module::from_binary(engine, bytes)?;
        Ok(Arc::new(ModuleObj {
            id: fresh_id(),
            module,
            bodies: body_ranges(bytes),
            host_info: Mutex::new(None),
        }))
    }

    /// The body range of function `index`, if it is defined in this module.
    pub(crate) fn body_range(&self, index: u32) -> Option<Range<usize>> {
        self.bodies.get(index as usize).cloned().flatten()
    }

    pub(crate) fn host_info_data(&self) -> *mut std::ffi::c_void {
        let info = self.host_info.lock().unwrap_or_else(|e| e.into_inner());
        info.as_ref().map_or(ptr::null_mut(), |i| i.data)
    }

    pub(crate) fn set_host_info(&self, info: HostInfo) {
        let old = {
            let mut slot = self.host_info.lock().unwrap_or_else(|e| e.into_inner());
            slot.replace(info)
        };
        drop(old);
    }
}

/// Where each function body lies in a (valid) module binary, by function index.
fn body_ranges(binary: &[u8]) -> Vec<Option<Range<usize>>> {
    use wasmparser::{Parser, Payload, TypeRef};
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(binary) {
        match payload {
            Ok(Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        bodies.push(None);
                    }
                }
            }
            Ok(Payload::CodeSectionEntry(body)) => {
                let range = body.range();
                bodies.push(Some(range.start as usize..range.end as usize));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    bodies
}

/// The module of a module handle.
///
/// # Safety
/// `p` is null or a live handle.
pub(crate) unsafe fn module_obj<'a>(p: *const wasm_module_t) -> Option<&'a Arc<ModuleObj>> {
    // SAFETY: the caller's contract.
    match unsafe { crate::object::handle(p) }.map(|h| &h.obj) {
        Some(Obj::Module(m)) => Some(m),
        _ => None,
    }
}

entry! {
    /// Compiles a module binary; null if it is malformed or invalid.
    fn wasm_module_new(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t)
        -> *mut wasm_module_t = ptr::null_mut(); {
        // SAFETY: `store` is null or live; `binary` is null or a valid byte vector.
        let (ctx, bytes) = unsafe { (store_ctx(store), binary.as_ref().map(|b| b.as_slice())) };
        let (Some(ctx), Some(bytes)) = (ctx, bytes) else { return ptr::null_mut() };
        match ModuleObj::compile(&ctx.engine, bytes) {
            Ok(module) => wasm_ref_t::boxed_unstored(Obj::Module(module)),
            Err(_) => ptr::null_mut(),
        }
    }
}

entry! {
    /// Whether `binary` is a valid module ward can run.
    fn wasm_module_validate(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t) -> bool = false; {
        // SAFETY: `store` is null or live; `binary` is null or a valid byte vector.
        let (ctx, bytes) = unsafe { (store_ctx(store), binary.as_ref().map(|b| b.as_slice())) };
        let (Some(ctx), Some(bytes)) = (ctx, bytes) else { return false };
        ward::Module::validate(&ctx.engine, bytes).is_ok()
    }
}

entry! {
    /// Writes the module's import types, in order, to `out` (tags left out).
    fn wasm_module_imports(module: *const wasm_module_t, out: *mut wasm_importtype_vec_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `module` is null or live.
        let imports = unsafe { module_obj(module) }.map_or_else(Vec::new, |m| {
            m.module
                .imports()
                .filter_map(|i| {
                    let ty = wasm_externtype_t::from_ward(i.ty())?;
                    let import = wasm_importtype_t::new(i.module(), i.name(), ty);
                    Some(Box::into_raw(Box::new(import)))
                })
                .collect()
        });
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(imports)) };
    }
}

entry! {
    /// Writes the module's export types, in order, to `out` (tags left out).
    fn wasm_module_exports(module: *const wasm_module_t, out: *mut wasm_exporttype_vec_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `module` is null or live.
        let exports = unsafe { module_obj(module) }.map_or_else(Vec::new, |m| {
            m.module
                .exports()
                .filter_map(|e| {
                    let ty = wasm_externtype_t::from_ward(e.ty())?;
                    Some(Box::into_raw(Box::new(wasm_exporttype_t::new(e.name(), ty))))
                })
                .collect()
        });
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(exports)) };
    }
}

entry! {
    /// Not supported yet (ward has no compiled-module format): writes an empty vector.
    fn wasm_module_serialize(module: *const wasm_module_t, out: *mut wasm_byte_vec_t) = (); {
        let _ = module;
        if !out.is_null() {
            // SAFETY: `out` is writable vector storage.
            unsafe { out.write(CVec::empty()) };
        }
    }
}

entry! {
    /// Not supported yet (ward has no compiled-module format): returns null.
    fn wasm_module_deserialize(store: *mut wasm_store_t, bytes: *const wasm_byte_vec_t)
        -> *mut wasm_module_t = ptr::null_mut(); {
        let _ = (store, bytes);
        ptr::null_mut()
    }
}

entry! {
    /// The module, packaged to move to another thread.
    fn wasm_module_share(module: *const wasm_module_t) -> *mut wasm_shared_module_t = ptr::null_mut(); {
        // SAFETY: `module` is null or live.
        unsafe { module_obj(module) }.map_or(ptr::null_mut(), |m| {
            Box::into_raw(Box::new(wasm_shared_module_t { module: m.clone() }))
        })
    }
}

entry! {
    /// A module handle for `store` from a shared module; null if the store's engine differs.
    fn wasm_module_obtain(store: *mut wasm_store_t, shared: *const wasm_shared_module_t)
        -> *mut wasm_module_t = ptr::null_mut(); {
        // SAFETY: `store` and `shared` are null or live.
        let (ctx, shared) = unsafe { (store_ctx(store), shared.as_ref()) };
        let (Some(ctx), Some(shared)) = (ctx, shared) else { return ptr::null_mut() };
        if !ward::Engine::same(&ctx.engine, shared.module.module.engine()) {
            return ptr::null_mut();
        }
        wasm_ref_t::boxed_unstored(Obj::Module(shared.module.clone()))
    }
}

entry! {
    /// Deletes a shared module.
    fn wasm_shared_module_delete(shared: *mut wasm_shared_module_t) = (); {
        // SAFETY: `shared` is null or owned.
        drop(unsafe { crate::types::take_box(shared) });
    }
}
