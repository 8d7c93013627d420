//! Reference objects: the one Rust type behind `wasm_ref_t` and every `wasm.h` reference type
//! (func, global, table, memory, extern, instance, module, trap, foreign), with identity
//! (`wasm_*_same`), copies, deletion and host info.
//!
//! `wasm.h` converts between these by pointer (`wasm_func_as_extern`, `wasm_ref_as_func`), so a
//! handle of any of them is a boxed [`wasm_ref_t`] whose [`Obj`] says what it refers to; the
//! specific names are aliases. A handle is one owner: `_copy` makes another handle to the same
//! object, `_delete` drops one handle, and `_same` compares objects.
//!
//! Host info lives with the object, not the handle: for store objects in the store's table
//! (finalized when the store goes, since ward keeps store objects until then), for modules, traps
//! and foreign objects in the object (finalized with its last handle).

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::entry;
use crate::module::ModuleObj;
use crate::store::{ObjKey, StoreCtx, wasm_store_t};
use crate::trap::TrapObj;
use crate::types::take_box;

/// A fresh id for an object with identity outside any store (modules, traps, foreign objects).
pub(crate) fn fresh_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A finalizer as `wasm.h` passes it.
pub(crate) type Finalizer = Option<unsafe extern "C" fn(*mut c_void)>;

/// Host data attached to an object, with the finalizer to run when it is released.
pub struct HostInfo {
    pub(crate) data: *mut c_void,
    finalizer: Finalizer,
}

// SAFETY: host info is only data and a finalizer for the host to interpret; a shared module's host
// info may be finalized on whichever thread drops the module last, which `wasm.h` permits (modules
// are the one sharable object, and sharing is the host's choice).
unsafe impl Send for HostInfo {}

impl HostInfo {
    pub(crate) fn new(data: *mut c_void, finalizer: Finalizer) -> Self {
        HostInfo { data, finalizer }
    }
}

impl Drop for HostInfo {
    fn drop(&mut self) {
        if let Some(finalize) = self.finalizer {
            // SAFETY: the host registered this finalizer for this data, to be called once when the
            // object lets go of it; this is that one time.
            unsafe { finalize(self.data) };
        }
    }
}

/// A foreign object (`wasm_foreign_new`): identity and host info only.
pub struct Foreign {
    pub(crate) id: u64,
    host_info: RefCell<Option<HostInfo>>,
}

/// What a handle refers to.
#[derive(Clone)]
pub(crate) enum Obj {
    Func(ward::Func),
    Global(ward::Global),
    Table(ward::Table),
    Memory(ward::Memory),
    SharedMemory(ward::SharedMemory),
    Instance(ward::Instance),
    /// A non-null reference value `wasm.h` has no object kind for (an `anyref`, `exnref`, or an
    /// `externref` made by Wasm), kept so that it can be passed back in.
    Value(ward::Val),
    Foreign(Rc<Foreign>),
    Trap(Rc<TrapObj>),
    Module(Arc<ModuleObj>),
}

impl Obj {
    /// The store-table key of a store object; `None` for objects with their own host info.
    fn key(&self) -> Option<ObjKey> {
        Some(match self {
            Obj::Func(f) => ObjKey::Func(*f),
            Obj::Global(g) => ObjKey::Global(*g),
            Obj::Table(t) => ObjKey::Table(*t),
            Obj::Memory(m) => ObjKey::Memory(*m),
            Obj::Instance(i) => ObjKey::Instance(*i),
            Obj::Value(ward::Val::ExternRef(Some(e))) => ObjKey::Extern(*e),
            Obj::Value(ward::Val::AnyRef(Some(a))) => ObjKey::Any(*a),
            Obj::Value(ward::Val::ExnRef(Some(e))) => ObjKey::Exn(*e),
            _ => return None,
        })
    }

    /// Whether two objects are the same.
    fn same(&self, other: &Obj) -> bool {
        match (self, other) {
            (Obj::SharedMemory(a), Obj::SharedMemory(b)) => a == b,
            (Obj::Foreign(a), Obj::Foreign(b)) => Rc::ptr_eq(a, b),
            (Obj::Trap(a), Obj::Trap(b)) => Rc::ptr_eq(a, b),
            (Obj::Module(a), Obj::Module(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.key().is_some() && a.key() == b.key(),
        }
    }

    /// A stable id for objects living outside stores (see `StoreCtx::host_ref_cache`).
    pub(crate) fn stable_id(&self) -> Option<u64> {
        match self {
            Obj::Foreign(f) => Some(f.id),
            Obj::Trap(t) => Some(t.id),
            Obj::Module(m) => Some(m.id),
            _ => None,
        }
    }
}

/// A handle: the object and, for store objects, the store.
#[derive(Clone)]
pub struct wasm_ref_t {
    pub(crate) store: Option<Rc<StoreCtx>>,
    pub(crate) obj: Obj,
}

/// A function handle (a [`wasm_ref_t`]).
pub type wasm_func_t = wasm_ref_t;
/// A global handle (a [`wasm_ref_t`]).
pub type wasm_global_t = wasm_ref_t;
/// A table handle (a [`wasm_ref_t`]).
pub type wasm_table_t = wasm_ref_t;
/// A memory handle (a [`wasm_ref_t`]).
pub type wasm_memory_t = wasm_ref_t;
/// An extern handle: a function, global, table or memory (a [`wasm_ref_t`]).
pub type wasm_extern_t = wasm_ref_t;
/// An instance handle (a [`wasm_ref_t`]).
pub type wasm_instance_t = wasm_ref_t;
/// A foreign object handle (a [`wasm_ref_t`]).
pub type wasm_foreign_t = wasm_ref_t;

impl wasm_ref_t {
    /// A new owned handle to `obj` in `store`.
    pub(crate) fn boxed(store: &Rc<StoreCtx>, obj: Obj) -> *mut wasm_ref_t {
        Box::into_raw(Box::new(wasm_ref_t {
            store: Some(store.clone()),
            obj,
        }))
    }

    /// A new owned handle to an object outside any store.
    pub(crate) fn boxed_unstored(obj: Obj) -> *mut wasm_ref_t {
        Box::into_raw(Box::new(wasm_ref_t { store: None, obj }))
    }

    fn host_info(&self) -> *mut c_void {
        let own = |cell: &RefCell<Option<HostInfo>>| {
            cell.borrow().as_ref().map_or(ptr::null_mut(), |i| i.data)
        };
        match (&self.obj, &self.store) {
            (Obj::Foreign(f), _) => own(&f.host_info),
            (Obj::Trap(t), _) => own(&t.host_info),
            (Obj::Module(m), _) => m.host_info_data(),
            (obj, Some(store)) => obj.key().map_or(ptr::null_mut(), |k| store.host_info(k)),
            _ => ptr::null_mut(),
        }
    }

    fn set_host_info(&self, info: HostInfo) {
        let set_own = |cell: &RefCell<Option<HostInfo>>, info| {
            let old = cell.borrow_mut().replace(info);
            drop(old);
        };
        match (&self.obj, &self.store) {
            (Obj::Foreign(f), _) => set_own(&f.host_info, info),
            (Obj::Trap(t), _) => set_own(&t.host_info, info),
            (Obj::Module(m), _) => m.set_host_info(info),
            (obj, Some(store)) => match obj.key() {
                Some(key) => store.set_host_info(key, info),
                // A shared memory has no key ward exposes; its host info is dropped (finalized)
                // at once.
                None => drop(info),
            },
            _ => drop(info),
        }
    }
}

/// The handle behind a pointer; `None` for null.
///
/// # Safety
/// `p` is null or a live handle.
pub(crate) unsafe fn handle<'a>(p: *const wasm_ref_t) -> Option<&'a wasm_ref_t> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }
}

/// Defines the `wasm.h` reference functions (`delete`, `copy`, `same`, host info) of one name.
macro_rules! ref_base {
    ($delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident) => {
        entry! {
            /// Deletes this handle (the object lives on while other handles or its store need it).
            fn $delete(p: *mut wasm_ref_t) = (); {
                // SAFETY: `p` is null or an owned handle.
                drop(unsafe { take_box(p) });
            }
        }
        entry! {
            /// Another handle to the same object.
            fn $copy(p: *const wasm_ref_t) -> *mut wasm_ref_t = ptr::null_mut(); {
                // SAFETY: `p` is null or live.
                unsafe { handle(p) }.map_or(ptr::null_mut(), |h| Box::into_raw(Box::new(h.clone())))
            }
        }
        entry! {
            /// Whether both handles refer to the same object.
            fn $same(a: *const wasm_ref_t, b: *const wasm_ref_t) -> bool = false; {
                // SAFETY: each is null or live.
                match unsafe { (handle(a), handle(b)) } {
                    (Some(a), Some(b)) => {
                        let same_store = match (&a.store, &b.store) {
                            (Some(x), Some(y)) => Rc::ptr_eq(x, y),
                            (None, None) => true,
                            _ => false,
                        };
                        same_store && a.obj.same(&b.obj)
                    }
                    (None, None) => true,
                    _ => false,
                }
            }
        }
        entry! {
            /// The object's host info (null if none was set).
            fn $get(p: *const wasm_ref_t) -> *mut c_void = ptr::null_mut(); {
                // SAFETY: `p` is null or live.
                unsafe { handle(p) }.map_or(ptr::null_mut(), wasm_ref_t::host_info)
            }
        }
        entry! {
            /// Sets the object's host info, without a finalizer (a previous one is finalized).
            fn $set(p: *mut wasm_ref_t, info: *mut c_void) = (); {
                // SAFETY: `p` is null or live.
                if let Some(h) = unsafe { handle(p) } {
                    h.set_host_info(HostInfo::new(info, None));
                }
            }
        }
        entry! {
            /// Sets the object's host info and the finalizer to call with it when the object goes
            /// (a previous host info is finalized now).
            fn $set_fin(p: *mut wasm_ref_t, info: *mut c_void, finalizer: Finalizer) = (); {
                // SAFETY: `p` is null or live.
                if let Some(h) = unsafe { handle(p) } {
                    h.set_host_info(HostInfo::new(info, finalizer));
                }
            }
        }
    };
}

/// Defines a reference type's conversions to and from `wasm_ref_t` (same pointer; null if the
/// reference is of another kind), plus its `ref_base` functions.
macro_rules! ref_type {
    ($is:pat => $delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident,
     $as_ref:ident, $as_ref_const:ident, $from_ref:ident, $from_ref_const:ident) => {
        ref_base!($delete, $copy, $same, $get, $set, $set_fin);
        entry! {
            /// The same handle viewed as a `wasm_ref_t`.
            fn $as_ref(p: *mut wasm_ref_t) -> *mut wasm_ref_t = ptr::null_mut(); { p }
        }
        entry! {
            /// The same handle viewed as a `wasm_ref_t`.
            fn $as_ref_const(p: *const wasm_ref_t) -> *const wasm_ref_t = ptr::null(); { p }
        }
        entry! {
            /// The same handle if it refers to an object of this kind, else null.
            fn $from_ref(p: *mut wasm_ref_t) -> *mut wasm_ref_t = ptr::null_mut(); {
                // SAFETY: `p` is null or live.
                match unsafe { handle(p) }.map(|h| &h.obj) {
                    Some($is) => p,
                    _ => ptr::null_mut(),
                }
            }
        }
        entry! {
            /// The same handle if it refers to an object of this kind, else null.
            fn $from_ref_const(p: *const wasm_ref_t) -> *const wasm_ref_t = ptr::null(); {
                // SAFETY: `p` is null or live.
                match unsafe { handle(p) }.map(|h| &h.obj) {
                    Some($is) => p,
                    _ => ptr::null(),
                }
            }
        }
    };
}

ref_base!(
    wasm_ref_delete,
    wasm_ref_copy,
    wasm_ref_same,
    wasm_ref_get_host_info,
    wasm_ref_set_host_info,
    wasm_ref_set_host_info_with_finalizer
);

ref_type!(Obj::Func(_) => wasm_func_delete, wasm_func_copy, wasm_func_same, wasm_func_get_host_info,
    wasm_func_set_host_info, wasm_func_set_host_info_with_finalizer, wasm_func_as_ref,
    wasm_func_as_ref_const, wasm_ref_as_func, wasm_ref_as_func_const);
ref_type!(Obj::Global(_) => wasm_global_delete, wasm_global_copy, wasm_global_same,
    wasm_global_get_host_info, wasm_global_set_host_info, wasm_global_set_host_info_with_finalizer,
    wasm_global_as_ref, wasm_global_as_ref_const, wasm_ref_as_global, wasm_ref_as_global_const);
ref_type!(Obj::Table(_) => wasm_table_delete, wasm_table_copy, wasm_table_same,
    wasm_table_get_host_info, wasm_table_set_host_info, wasm_table_set_host_info_with_finalizer,
    wasm_table_as_ref, wasm_table_as_ref_const, wasm_ref_as_table, wasm_ref_as_table_const);
ref_type!(Obj::Memory(_) | Obj::SharedMemory(_) => wasm_memory_delete, wasm_memory_copy,
    wasm_memory_same, wasm_memory_get_host_info, wasm_memory_set_host_info,
    wasm_memory_set_host_info_with_finalizer, wasm_memory_as_ref, wasm_memory_as_ref_const,
    wasm_ref_as_memory, wasm_ref_as_memory_const);
ref_type!(Obj::Func(_) | Obj::Global(_) | Obj::Table(_) | Obj::Memory(_) | Obj::SharedMemory(_) =>
    wasm_extern_delete, wasm_extern_copy, wasm_extern_same, wasm_extern_get_host_info,
    wasm_extern_set_host_info, wasm_extern_set_host_info_with_finalizer, wasm_extern_as_ref,
    wasm_extern_as_ref_const, wasm_ref_as_extern, wasm_ref_as_extern_const);
ref_type!(Obj::Instance(_) => wasm_instance_delete, wasm_instance_copy, wasm_instance_same,
    wasm_instance_get_host_info, wasm_instance_set_host_info,
    wasm_instance_set_host_info_with_finalizer, wasm_instance_as_ref, wasm_instance_as_ref_const,
    wasm_ref_as_instance, wasm_ref_as_instance_const);
ref_type!(Obj::Module(_) => wasm_module_delete, wasm_module_copy, wasm_module_same,
    wasm_module_get_host_info, wasm_module_set_host_info, wasm_module_set_host_info_with_finalizer,
    wasm_module_as_ref, wasm_module_as_ref_const, wasm_ref_as_module, wasm_ref_as_module_const);
ref_type!(Obj::Trap(_) => wasm_trap_delete, wasm_trap_copy, wasm_trap_same, wasm_trap_get_host_info,
    wasm_trap_set_host_info, wasm_trap_set_host_info_with_finalizer, wasm_trap_as_ref,
    wasm_trap_as_ref_const, wasm_ref_as_trap, wasm_ref_as_trap_const);
ref_type!(Obj::Foreign(_) => wasm_foreign_delete, wasm_foreign_copy, wasm_foreign_same,
    wasm_foreign_get_host_info, wasm_foreign_set_host_info,
    wasm_foreign_set_host_info_with_finalizer, wasm_foreign_as_ref, wasm_foreign_as_ref_const,
    wasm_ref_as_foreign, wasm_ref_as_foreign_const);

entry! {
    /// A new foreign object: an opaque reference the host can pass to Wasm as an `externref` and
    /// attach host info to.
    fn wasm_foreign_new(store: *mut wasm_store_t) -> *mut wasm_foreign_t = ptr::null_mut(); {
        // Foreign objects need no store; `store` only has to be valid if given.
        let _ = store;
        wasm_ref_t::boxed_unstored(Obj::Foreign(Rc::new(Foreign {
            id: fresh_id(),
            host_info: RefCell::new(None),
        })))
    }
}
