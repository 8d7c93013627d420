//! The C API's own unsafe paths, driven through the `extern "C"` functions from Rust and small
//! enough to run under Miri (`cargo +nightly miri test -p ward-c-api --test reentrancy`, with and
//! without `-Zmiri-tree-borrows`): a host callback calling back into its own store
//! (`wasm_func_call`, `wasm_global_get`, `wasm_global_set`) while ward is running it, which
//! `StoreCtx::with_store` and `enter_callback` make sound (no two live `&mut` to the store
//! overlap); a callback's trap crossing ward; a host reference round-tripping through Wasm; and
//! finalizers running with the store.

use std::ffi::c_void;
use std::ptr;

use ward_c::*;

/// What the callback needs: the instance's exports (`double`, then the global `g`).
struct Env {
    exports: wasm_extern_vec_t,
}

const DOUBLE: usize = 0;
const G: usize = 1;
const CALL_HOST: usize = 2;

fn i32_val(i: i32) -> wasm_val_t {
    wasm_val_t {
        kind: 0,
        of: wasm_val_union { i32: i },
    }
}

/// host(x) = double(x) + g, and sets g to double(x).
unsafe extern "C" fn host(
    env: *mut c_void,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: `env` is the `Env` given to `wasm_func_new_with_env`, alive for the whole test;
    // `args` and `results` are the vectors ward's C API passes (one i32 each).
    unsafe {
        let env = &*(env as *const Env);
        let x = (*(*args).data).of.i32;
        let exports = std::slice::from_raw_parts(env.exports.data, env.exports.size);
        let mut arg = [i32_val(x)];
        let mut out = [i32_val(0)];
        let args = wasm_val_vec_t {
            size: 1,
            data: arg.as_mut_ptr(),
        };
        let mut outs = wasm_val_vec_t {
            size: 1,
            data: out.as_mut_ptr(),
        };
        let trap = wasm_func_call(wasm_extern_as_func(exports[DOUBLE]), &args, &mut outs);
        if !trap.is_null() {
            return trap;
        }
        let global = wasm_extern_as_global(exports[G]);
        let mut old = i32_val(0);
        wasm_global_get(global, &mut old);
        wasm_global_set(global, &out[0]);
        (*(*results).data) = i32_val(out[0].of.i32 + old.of.i32);
    }
    ptr::null_mut()
}

#[test]
fn callbacks_reenter_their_store() {
    let binary = wat::parse_str(
        r#"(module
             (import "" "host" (func $host (param i32) (result i32)))
             (func (export "double") (param i32) (result i32)
               (i32.add (local.get 0) (local.get 0)))
             (global (export "g") (mut i32) (i32.const 5))
             (func (export "call_host") (param i32) (result i32)
               (call $host (local.get 0))))"#,
    )
    .expect("the module parses");
    // SAFETY: every call follows wasm.h's contract: live objects, owned arguments handed over,
    // vectors of the sizes the functions need.
    unsafe {
        let engine = wasm_engine_new();
        let store = wasm_store_new(engine);
        let bytes = wasm_byte_vec_t {
            size: binary.len(),
            data: binary.as_ptr().cast_mut(),
        };
        let module = wasm_module_new(store, &bytes);
        assert!(!module.is_null());

        // Reached only through this pointer (the callback reads it too).
        let env: *mut Env = Box::into_raw(Box::new(Env {
            exports: wasm_extern_vec_t {
                size: 0,
                data: ptr::null_mut(),
            },
        }));
        let mut params = std::mem::zeroed::<wasm_valtype_vec_t>();
        let mut results = std::mem::zeroed::<wasm_valtype_vec_t>();
        let mut param = [wasm_valtype_new(0)];
        let mut result = [wasm_valtype_new(0)];
        wasm_valtype_vec_new(&mut params, 1, param.as_mut_ptr());
        wasm_valtype_vec_new(&mut results, 1, result.as_mut_ptr());
        let ty = wasm_functype_new(&mut params, &mut results);
        let func = wasm_func_new_with_env(store, ty, Some(host), env.cast(), None);
        wasm_functype_delete(ty);

        let mut import = [wasm_func_as_extern(func)];
        let imports = wasm_extern_vec_t {
            size: 1,
            data: import.as_mut_ptr(),
        };
        let instance = wasm_instance_new(store, module, &imports, ptr::null_mut());
        assert!(!instance.is_null());
        wasm_instance_exports(instance, &raw mut (*env).exports);
        assert_eq!((*env).exports.size, 3);

        let call_host = wasm_extern_as_func(*(*env).exports.data.add(CALL_HOST));
        let mut arg = [i32_val(10)];
        let mut out = [i32_val(0)];
        let args = wasm_val_vec_t {
            size: 1,
            data: arg.as_mut_ptr(),
        };
        let mut outs = wasm_val_vec_t {
            size: 1,
            data: out.as_mut_ptr(),
        };
        let trap = wasm_func_call(call_host, &args, &mut outs);
        assert!(trap.is_null());
        assert_eq!(out[0].of.i32, 25);
        let mut g = i32_val(0);
        wasm_global_get(wasm_extern_as_global(*(*env).exports.data.add(G)), &mut g);
        assert_eq!(g.of.i32, 20);

        wasm_extern_vec_delete(&raw mut (*env).exports);
        wasm_instance_delete(instance);
        wasm_func_delete(func);
        wasm_module_delete(module);
        wasm_store_delete(store);
        wasm_engine_delete(engine);
        drop(Box::from_raw(env));
    }
}

static FINALIZED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn count_finalize(_: *mut c_void) {
    FINALIZED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Returns a trap with the message "no".
unsafe extern "C" fn refuse(
    env: *mut c_void,
    _args: *const wasm_val_vec_t,
    _results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    let message = wasm_byte_vec_t {
        size: 3,
        data: c"no".as_ptr().cast_mut().cast(),
    };
    // SAFETY: `env` is the store (live during the call) and `message` a valid byte vector.
    unsafe { wasm_trap_new(env.cast(), &message) }
}

#[test]
fn callback_traps_and_host_references_cross_wasm_intact() {
    let binary = wat::parse_str(
        r#"(module
             (import "" "refuse" (func $refuse))
             (func (export "call_refuse") (call $refuse))
             (func (export "id") (param externref) (result externref) (local.get 0)))"#,
    )
    .expect("the module parses");
    // SAFETY: as in `callbacks_reenter_their_store`.
    unsafe {
        let engine = wasm_engine_new();
        let store = wasm_store_new(engine);
        let bytes = wasm_byte_vec_t {
            size: binary.len(),
            data: binary.as_ptr().cast_mut(),
        };
        let module = wasm_module_new(store, &bytes);
        let mut none = std::mem::zeroed::<wasm_valtype_vec_t>();
        let mut none2 = std::mem::zeroed::<wasm_valtype_vec_t>();
        wasm_valtype_vec_new_empty(&mut none);
        wasm_valtype_vec_new_empty(&mut none2);
        let ty = wasm_functype_new(&mut none, &mut none2);
        let func =
            wasm_func_new_with_env(store, ty, Some(refuse), store.cast(), Some(count_finalize));
        wasm_functype_delete(ty);
        let mut import = [wasm_func_as_extern(func)];
        let imports = wasm_extern_vec_t {
            size: 1,
            data: import.as_mut_ptr(),
        };
        let instance = wasm_instance_new(store, module, &imports, ptr::null_mut());
        let mut exports = std::mem::zeroed::<wasm_extern_vec_t>();
        wasm_instance_exports(instance, &mut exports);

        // The callback's trap comes out of the call with its message.
        let empty = wasm_val_vec_t {
            size: 0,
            data: ptr::null_mut(),
        };
        let mut no_results = wasm_val_vec_t {
            size: 0,
            data: ptr::null_mut(),
        };
        let trap = wasm_func_call(wasm_extern_as_func(*exports.data), &empty, &mut no_results);
        assert!(!trap.is_null());
        let mut message = std::mem::zeroed::<wasm_byte_vec_t>();
        wasm_trap_message(trap, &mut message);
        assert_eq!(
            std::slice::from_raw_parts(message.data, message.size),
            b"no\0"
        );
        wasm_byte_vec_delete(&mut message);
        wasm_trap_delete(trap);

        // A foreign object passed through Wasm comes back as the same object with its host info.
        let foreign = wasm_foreign_new(store);
        wasm_foreign_set_host_info_with_finalizer(
            foreign,
            ptr::without_provenance_mut(7),
            Some(count_finalize),
        );
        let mut arg = [wasm_val_t {
            kind: 128,
            of: wasm_val_union {
                ref_: wasm_foreign_as_ref(foreign),
            },
        }];
        let mut out = [wasm_val_t {
            kind: 128,
            of: wasm_val_union {
                ref_: ptr::null_mut(),
            },
        }];
        let args = wasm_val_vec_t {
            size: 1,
            data: arg.as_mut_ptr(),
        };
        let mut outs = wasm_val_vec_t {
            size: 1,
            data: out.as_mut_ptr(),
        };
        let trap = wasm_func_call(wasm_extern_as_func(*exports.data.add(1)), &args, &mut outs);
        assert!(trap.is_null());
        assert!(wasm_ref_same(out[0].of.ref_, wasm_foreign_as_ref(foreign)));
        assert_eq!(
            wasm_ref_get_host_info(out[0].of.ref_),
            ptr::without_provenance_mut(7)
        );
        wasm_val_delete(&mut out[0]);
        wasm_foreign_delete(foreign);

        wasm_extern_vec_delete(&mut exports);
        wasm_instance_delete(instance);
        wasm_func_delete(func);
        wasm_module_delete(module);
        let before = FINALIZED.load(std::sync::atomic::Ordering::Relaxed);
        wasm_store_delete(store);
        // The callback's environment and the foreign object (held by the store, which Wasm saw it
        // in) are finalized with the store.
        assert_eq!(
            FINALIZED.load(std::sync::atomic::Ordering::Relaxed) - before,
            2
        );
        wasm_engine_delete(engine);
    }
}
