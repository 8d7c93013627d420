//! `wasm_config_t`, `wasm_engine_t` and `wasm_store_t`, and [`StoreCtx`]: the C side of a store.
//!
//! A [`StoreCtx`] owns the ward store and what `wasm.h` adds to it: host info attached to store
//! objects, the table behind host references passed into Wasm as `externref`, traps raised by host
//! callbacks on their way out, and where exported functions came from (for trap frames). Handles to
//! store objects hold an `Rc<StoreCtx>`.
//!
//! Re-entrancy: a host callback may call back into the API on the same store (a callback calling
//! `wasm_func_call`, or reading a global). ward hands the callback the store as `Caller`, which
//! borrows it mutably for the callback's duration, so the API must reach the store through that
//! borrow meanwhile. [`StoreCtx::with_store`] therefore uses the pointer the innermost running
//! callback installed ([`StoreCtx::enter_callback`]) and the store itself only when no callback
//! runs; a nested `with_store` outside a callback is a bug and panics instead of aliasing.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use crate::entry;
use crate::module::ModuleObj;
use crate::object::{HostInfo, Obj};
use crate::trap::TrapObj;

/// The ward store type behind a `wasm_store_t`.
pub(crate) type WardStore = ward::Store<StoreData>;

/// The data of a ward store made through the C API (host data lives on the C side).
#[derive(Default)]
pub(crate) struct StoreData {
    /// The store's resource limits.
    pub limits: ward::StoreLimits,
    /// The WASI context its WASI imports use (`ward_store_set_wasi`; empty until set).
    pub wasi: ward_wasi::WasiCtx,
}

/// Most instances a store may hold. ward's default (10,000) is a guard for untrusted modules
/// instantiating through a `Linker`; through `wasm.h` the host itself instantiates, and
/// `finalize.c` makes 100,001 instances in one store, so the bound is only the index space.
const MAX_INSTANCES: usize = u32::MAX as usize;

/// Engine settings.
pub struct wasm_config_t {
    pub(crate) config: ward::Config,
}

/// An engine.
pub struct wasm_engine_t {
    pub(crate) engine: ward::Engine,
}

/// A store: one reference to a [`StoreCtx`].
pub struct wasm_store_t {
    pub(crate) ctx: Rc<StoreCtx>,
}

/// Where an exported function came from: the instance and module that exported it and its index in
/// that module (used to attribute trap frames, since ward's frames do not name their instance).
#[derive(Clone)]
pub(crate) struct FuncOrigin {
    pub instance: ward::Instance,
    pub module: std::sync::Arc<ModuleObj>,
}

/// Identity of a store object, for host info.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ObjKey {
    Func(ward::Func),
    Global(ward::Global),
    Table(ward::Table),
    Memory(ward::Memory),
    Instance(ward::Instance),
    Extern(ward::ExternRef),
    Any(ward::AnyRef),
    Exn(ward::ExnRef),
}

/// Host info of store objects: where each object's entry is, and the entries in the order they
/// were first set (finalized in that order, so finalizers run in a predictable order).
type HostInfoTable = (HashMap<ObjKey, usize>, Vec<Option<HostInfo>>);

/// The C side of a store.
pub struct StoreCtx {
    /// Host info of store objects.
    host_info: RefCell<HostInfoTable>,
    /// Objects passed into Wasm as `externref`: the `u64` a host reference boxes names one here.
    pub(crate) host_refs: RefCell<HashMap<u64, Obj>>,
    /// `externref`s already made for objects with a stable id (so passing one twice reuses it).
    pub(crate) host_ref_cache: RefCell<HashMap<u64, ward::ExternRef>>,
    /// Traps returned by host callbacks, until the call that reaches the C caller picks them up.
    pub(crate) pending_traps: RefCell<HashMap<u64, Rc<TrapObj>>>,
    /// Exported functions' origins (see [`FuncOrigin`]), recorded by `wasm_instance_exports`.
    pub(crate) func_origins: RefCell<HashMap<ward::Func, FuncOrigin>>,
    /// The module of each instance made through the API.
    pub(crate) instance_modules: RefCell<HashMap<ward::Instance, std::sync::Arc<ModuleObj>>>,
    /// The store a running callback was handed (null when none runs).
    active: Cell<*mut WardStore>,
    /// Whether `with_store` is running outside any callback.
    busy: Cell<bool>,
    pub(crate) engine: ward::Engine,
    store: UnsafeCell<WardStore>,
}

impl StoreCtx {
    /// Runs `f` with the store (see the module docs for which reference that is).
    pub(crate) fn with_store<R>(&self, f: impl FnOnce(&mut WardStore) -> R) -> R {
        let active = self.active.get();
        if !active.is_null() {
            // SAFETY: `active` was derived from the `&mut` store ward lent the innermost running
            // callback (`enter_callback`); that borrow lasts until the callback returns, and the
            // callback's own code does not touch the store while the C code it called runs, so
            // this is the only use of the store now.
            return f(unsafe { &mut *active });
        }
        assert!(
            !self.busy.get(),
            "store used re-entrantly outside a host callback"
        );
        self.busy.set(true);
        struct Unbusy<'a>(&'a Cell<bool>);
        impl Drop for Unbusy<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _unbusy = Unbusy(&self.busy);
        // SAFETY: no callback runs and `busy` was clear, so no other reference to the store exists;
        // the store is only reached through this cell.
        f(unsafe { &mut *self.store.get() })
    }

    /// Makes `store` (the store a host callback was lent) the one `with_store` uses until the
    /// returned guard is dropped.
    pub(crate) fn enter_callback(&self, store: *mut WardStore) -> impl Drop + '_ {
        struct Restore<'a> {
            ctx: &'a StoreCtx,
            active: *mut WardStore,
            busy: bool,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.ctx.active.set(self.active);
                self.ctx.busy.set(self.busy);
            }
        }
        Restore {
            ctx: self,
            active: self.active.replace(store),
            busy: self.busy.replace(false),
        }
    }

    /// Host info of a store object.
    pub(crate) fn host_info(&self, key: ObjKey) -> *mut c_void {
        let table = self.host_info.borrow();
        table
            .0
            .get(&key)
            .and_then(|&at| table.1[at].as_ref())
            .map_or(ptr::null_mut(), |info| info.data)
    }

    /// Sets host info of a store object; a previous one is finalized.
    pub(crate) fn set_host_info(&self, key: ObjKey, info: HostInfo) {
        let old = {
            let mut table = self.host_info.borrow_mut();
            let (index, infos) = &mut *table;
            match index.get(&key) {
                Some(&at) => infos[at].replace(info),
                None => {
                    index.insert(key, infos.len());
                    infos.push(Some(info));
                    None
                }
            }
        };
        // Finalized after the borrow ends, in case the finalizer calls back into the API.
        drop(old);
    }
}

impl Drop for StoreCtx {
    fn drop(&mut self) {
        // Host info first, in the order it was set; then the side tables; then (as fields drop)
        // the ward store with its host functions, whose environments' finalizers run last.
        let (_, infos) = std::mem::take(self.host_info.get_mut());
        drop(infos);
        self.host_refs.get_mut().clear();
        self.pending_traps.get_mut().clear();
        self.func_origins.get_mut().clear();
        self.instance_modules.get_mut().clear();
    }
}

entry! {
    /// The default configuration.
    fn wasm_config_new() -> *mut wasm_config_t = ptr::null_mut(); {
        Box::into_raw(Box::new(wasm_config_t { config: ward::Config::new() }))
    }
}

entry! {
    /// Deletes a configuration.
    fn wasm_config_delete(config: *mut wasm_config_t) = (); {
        // SAFETY: `config` is null or owned.
        drop(unsafe { crate::types::take_box(config) });
    }
}

entry! {
    /// An engine with the default configuration.
    fn wasm_engine_new() -> *mut wasm_engine_t = ptr::null_mut(); {
        Box::into_raw(Box::new(wasm_engine_t { engine: ward::Engine::default() }))
    }
}

entry! {
    /// An engine with `config`, which is consumed.
    fn wasm_engine_new_with_config(config: *mut wasm_config_t) -> *mut wasm_engine_t = ptr::null_mut(); {
        // SAFETY: `config` is null or owned.
        let config = unsafe { crate::types::take_box(config) };
        let config = config.map(|c| c.config).unwrap_or_default();
        match ward::Engine::new(&config) {
            Ok(engine) => Box::into_raw(Box::new(wasm_engine_t { engine })),
            Err(_) => ptr::null_mut(),
        }
    }
}

entry! {
    /// Deletes an engine handle (stores and modules keep the engine alive as long as they need it).
    fn wasm_engine_delete(engine: *mut wasm_engine_t) = (); {
        // SAFETY: `engine` is null or owned.
        drop(unsafe { crate::types::take_box(engine) });
    }
}

entry! {
    /// A new store in `engine`.
    fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t = ptr::null_mut(); {
        // SAFETY: `engine` is null or live.
        let Some(engine) = (unsafe { engine.as_ref() }) else { return ptr::null_mut() };
        let ctx = StoreCtx {
            host_info: RefCell::default(),
            host_refs: RefCell::default(),
            host_ref_cache: RefCell::default(),
            pending_traps: RefCell::default(),
            func_origins: RefCell::default(),
            instance_modules: RefCell::default(),
            active: Cell::new(ptr::null_mut()),
            busy: Cell::new(false),
            engine: engine.engine.clone(),
            store: UnsafeCell::new(new_ward_store(&engine.engine)),
        };
        Box::into_raw(Box::new(wasm_store_t { ctx: Rc::new(ctx) }))
    }
}

entry! {
    /// Deletes the store handle; the store goes when no object handle into it remains either.
    fn wasm_store_delete(store: *mut wasm_store_t) = (); {
        // SAFETY: `store` is null or owned.
        drop(unsafe { crate::types::take_box(store) });
    }
}

/// A ward store with the C API's limits.
fn new_ward_store(engine: &ward::Engine) -> WardStore {
    let limits = ward::StoreLimitsBuilder::new()
        .instances(MAX_INSTANCES)
        .build();
    let data = StoreData {
        limits,
        ..StoreData::default()
    };
    let mut store = ward::Store::new(engine, data);
    store.limiter(|data| &mut data.limits);
    store
}

/// The context of a store argument; `None` for null.
///
/// # Safety
/// `store` is null or a live store.
pub(crate) unsafe fn store_ctx<'a>(store: *const wasm_store_t) -> Option<&'a Rc<StoreCtx>> {
    // SAFETY: the caller's contract.
    unsafe { store.as_ref() }.map(|s| &s.ctx)
}
