//! The `ward.h` extensions (`crates/ward-c-api/include/ward.h`): fuel, epochs, resource limits,
//! module errors with messages, and WASI preview1 with preopened directories.
//!
//! WASI fits `wasm.h`'s positional imports like this: the store's data holds a
//! [`ward_wasi::WasiCtx`] (set by `ward_store_set_wasi`), and `ward_wasi_imports` resolves a
//! module's WASI imports through a ward `Linker` with WASI defined, leaving the other slots null for
//! the host to fill in. A guest's `proc_exit(n)` comes out as a trap whose exit status
//! `ward_trap_exit_status` reads.

use std::ffi::{CStr, c_char};
use std::ptr;

use ward_wasi::{DirPerms, WasiCtxBuilder};

use crate::entry;
use crate::externs::extern_handle;
use crate::module::{ModuleObj, module_obj, wasm_module_t};
use crate::object::{Obj, wasm_ref_t};
use crate::store::{StoreData, store_ctx, wasm_config_t, wasm_engine_t, wasm_store_t};
use crate::trap::wasm_trap_t;
use crate::vec::{CVec, wasm_byte_vec_t, wasm_extern_vec_t, wasm_name_t};

entry! {
    /// Meter execution with fuel.
    fn ward_config_consume_fuel(config: *mut wasm_config_t, enable: bool) = (); {
        // SAFETY: `config` is null or live.
        if let Some(c) = unsafe { config.as_mut() } {
            c.config.consume_fuel(enable);
        }
    }
}

entry! {
    /// Check epoch deadlines while running.
    fn ward_config_epoch_interruption(config: *mut wasm_config_t, enable: bool) = (); {
        // SAFETY: `config` is null or live.
        if let Some(c) = unsafe { config.as_mut() } {
            c.config.epoch_interruption(enable);
        }
    }
}

entry! {
    /// Advances the engine's epoch.
    fn ward_engine_increment_epoch(engine: *mut wasm_engine_t) = (); {
        // SAFETY: `engine` is null or live.
        if let Some(e) = unsafe { engine.as_ref() } {
            e.engine.increment_epoch();
        }
    }
}

entry! {
    /// Sets the fuel left; false if the engine does not consume fuel.
    fn ward_store_set_fuel(store: *mut wasm_store_t, fuel: u64) -> bool = false; {
        // SAFETY: `store` is null or live.
        let Some(ctx) = (unsafe { store_ctx(store) }) else { return false };
        ctx.with_store(|s| s.set_fuel(fuel).is_ok())
    }
}

entry! {
    /// Writes the fuel left; false if the engine does not consume fuel.
    fn ward_store_get_fuel(store: *const wasm_store_t, out: *mut u64) -> bool = false; {
        // SAFETY: `store` is null or live.
        let Some(ctx) = (unsafe { store_ctx(store) }) else { return false };
        match ctx.with_store(|s| s.get_fuel()) {
            Ok(fuel) if !out.is_null() => {
                // SAFETY: `out` points to writable storage for a `u64`.
                unsafe { out.write(fuel) };
                true
            }
            _ => false,
        }
    }
}

entry! {
    /// Sets the epoch deadline `ticks` past the current epoch.
    fn ward_store_set_epoch_deadline(store: *mut wasm_store_t, ticks: u64) = (); {
        // SAFETY: `store` is null or live.
        if let Some(ctx) = unsafe { store_ctx(store) } {
            ctx.with_store(|s| s.set_epoch_deadline(ticks));
        }
    }
}

entry! {
    /// Sets the store's resource limits (`usize::MAX`: none).
    fn ward_store_set_limits(store: *mut wasm_store_t, memory_size: usize, table_elements: usize,
        instances: usize, tables: usize, memories: usize) = (); {
        // SAFETY: `store` is null or live.
        let Some(ctx) = (unsafe { store_ctx(store) }) else { return };
        let mut limits = ward::StoreLimitsBuilder::new()
            .instances(instances)
            .tables(tables)
            .memories(memories);
        if memory_size != usize::MAX {
            limits = limits.memory_size(memory_size);
        }
        if table_elements != usize::MAX {
            limits = limits.table_elements(table_elements);
        }
        let limits = limits.build();
        ctx.with_store(|s| s.data_mut().limits = limits);
    }
}

entry! {
    /// `wasm_module_new` that says why it failed.
    fn ward_module_new(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t,
        error_out: *mut wasm_name_t) -> *mut wasm_module_t = ptr::null_mut(); {
        let fail = |message: String| {
            if !error_out.is_null() {
                let mut bytes = message.into_bytes();
                bytes.push(0);
                // SAFETY: `error_out` is writable vector storage.
                unsafe { error_out.write(CVec::from_vec(bytes)) };
            }
            ptr::null_mut()
        };
        // SAFETY: `store` is null or live; `binary` is null or a valid byte vector.
        let (ctx, bytes) = unsafe { (store_ctx(store), binary.as_ref().map(|b| b.as_slice())) };
        let (Some(ctx), Some(bytes)) = (ctx, bytes) else {
            return fail("ward_module_new: null store or binary".into());
        };
        match ModuleObj::compile(&ctx.engine, bytes) {
            Ok(module) => wasm_ref_t::boxed_unstored(Obj::Module(module)),
            Err(error) => fail(error.to_string()),
        }
    }
}

/// A WASI configuration being built.
pub struct ward_wasi_config_t {
    builder: WasiCtxBuilder,
}

/// A C string argument as UTF-8.
///
/// # Safety
/// `s` is null or a NUL-terminated string.
unsafe fn text<'a>(s: *const c_char) -> Option<&'a str> {
    // SAFETY: the caller's contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_str().ok())?
}

entry! {
    /// A WASI configuration granting nothing.
    fn ward_wasi_config_new() -> *mut ward_wasi_config_t = ptr::null_mut(); {
        Box::into_raw(Box::new(ward_wasi_config_t { builder: WasiCtxBuilder::new() }))
    }
}

entry! {
    /// Deletes a WASI configuration.
    fn ward_wasi_config_delete(config: *mut ward_wasi_config_t) = (); {
        // SAFETY: `config` is null or owned.
        drop(unsafe { crate::types::take_box(config) });
    }
}

entry! {
    /// Appends a guest argument.
    fn ward_wasi_config_arg(config: *mut ward_wasi_config_t, arg: *const c_char) -> bool = false; {
        // SAFETY: `config` is null or live; `arg` is null or a C string.
        let (Some(c), Some(arg)) = (unsafe { config.as_mut() }, unsafe { text(arg) }) else {
            return false;
        };
        c.builder.arg(arg).is_ok()
    }
}

entry! {
    /// Sets a guest environment variable.
    fn ward_wasi_config_env(config: *mut ward_wasi_config_t, key: *const c_char,
        value: *const c_char) -> bool = false; {
        // SAFETY: `config` is null or live; `key` and `value` are null or C strings.
        let (Some(c), Some(key), Some(value)) =
            (unsafe { config.as_mut() }, unsafe { text(key) }, unsafe { text(value) })
        else {
            return false;
        };
        c.builder.env(key, value).is_ok()
    }
}

entry! {
    /// Passes the host's standard streams to the guest.
    fn ward_wasi_config_inherit_stdio(config: *mut ward_wasi_config_t) = (); {
        // SAFETY: `config` is null or live.
        if let Some(c) = unsafe { config.as_mut() } {
            c.builder.inherit_stdio();
        }
    }
}

entry! {
    /// Grants a host directory to the guest.
    fn ward_wasi_config_preopen_dir(config: *mut ward_wasi_config_t, host_path: *const c_char,
        guest_path: *const c_char, read_only: bool) -> bool = false; {
        // SAFETY: `config` is null or live; the paths are null or C strings.
        let (Some(c), Some(host), Some(guest)) =
            (unsafe { config.as_mut() }, unsafe { text(host_path) }, unsafe { text(guest_path) })
        else {
            return false;
        };
        let perms = if read_only { DirPerms::ReadOnly } else { DirPerms::ReadWrite };
        c.builder.preopened_dir(host, guest, perms).is_ok()
    }
}

entry! {
    /// Gives the store a WASI context; consumes `config`.
    fn ward_store_set_wasi(store: *mut wasm_store_t, config: *mut ward_wasi_config_t) = (); {
        // SAFETY: `store` is null or live; `config` is null or owned.
        let (ctx, config) = unsafe { (store_ctx(store), crate::types::take_box(config)) };
        if let (Some(ctx), Some(mut config)) = (ctx, config) {
            let wasi = config.builder.build();
            ctx.with_store(|s| s.data_mut().wasi = wasi);
        }
    }
}

entry! {
    /// An imports vector for `module` with its WASI imports resolved and null elsewhere; returns the
    /// number of null entries.
    fn ward_wasi_imports(store: *mut wasm_store_t, module: *const wasm_module_t,
        out: *mut wasm_extern_vec_t) -> usize = 0; {
        if out.is_null() {
            return 0;
        }
        // SAFETY: `store` and `module` are null or live.
        let (ctx, module) = unsafe { (store_ctx(store), module_obj(module)) };
        let (Some(ctx), Some(module)) = (ctx, module) else {
            // SAFETY: `out` is writable vector storage.
            unsafe { out.write(CVec::empty()) };
            return 0;
        };
        let mut linker = ward::Linker::<StoreData>::new(&ctx.engine);
        let defined = ward_wasi::add_to_linker(&mut linker, |data: &mut StoreData| &mut data.wasi);
        let imports: Vec<*mut wasm_ref_t> = ctx.with_store(|s| {
            module
                .module
                .imports()
                .filter(|i| !matches!(i.ty(), ward::ExternType::Tag(_)))
                .map(|i| {
                    let (module_name, name) = (i.module(), i.name());
                    let is_wasi = module_name == ward_wasi::MODULE
                        || module_name == ward_wasi::UNSTABLE_MODULE;
                    let ext = (is_wasi && defined.is_ok())
                        .then(|| linker.get(&mut *s, module_name, name))
                        .flatten();
                    ext.and_then(|e| extern_handle(ctx, e)).unwrap_or(ptr::null_mut())
                })
                .collect()
        });
        let missing = imports.iter().filter(|p| p.is_null()).count();
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(imports)) };
        missing
    }
}

entry! {
    /// Whether the trap is a WASI `proc_exit`, and its status.
    fn ward_trap_exit_status(trap: *const wasm_trap_t, status: *mut i32) -> bool = false; {
        // SAFETY: `trap` is null or live.
        let code = match unsafe { crate::object::handle(trap) }.map(|h| &h.obj) {
            Some(Obj::Trap(t)) => t.exit_status,
            _ => None,
        };
        match code {
            Some(code) if !status.is_null() => {
                // SAFETY: `status` points to writable storage for an int.
                unsafe { status.write(code) };
                true
            }
            Some(_) => true,
            None => false,
        }
    }
}
