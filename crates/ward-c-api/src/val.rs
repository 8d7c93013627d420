//! `wasm_val_t` and conversions between it and ward's [`Val`].
//!
//! Numbers convert directly. A reference value holds an owned `wasm_ref_t*` (or null): a function
//! reference is a function handle; any other object passed where Wasm expects an `externref` is
//! boxed into the store as a [`HostRefKey`] naming it in `StoreCtx::host_refs`, so the same object
//! comes back out when Wasm returns it. `v128` has no `wasm.h` representation and is refused.

use std::rc::Rc;

use ward::{AnyRef, HeapType, Val, ValType};

use crate::entry;
use crate::object::{Obj, fresh_id, wasm_ref_t};
use crate::store::{StoreCtx, WardStore};
use crate::types::{
    WASM_EXTERNREF, WASM_F32, WASM_F64, WASM_FUNCREF, WASM_I32, WASM_I64, is_func_heap, valkind,
};
use crate::vec::CElem;

/// The payload of a `wasm_val_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    /// `WASM_I32`.
    pub i32: i32,
    /// `WASM_I64`.
    pub i64: i64,
    /// `WASM_F32`.
    pub f32: f32,
    /// `WASM_F64`.
    pub f64: f64,
    /// `WASM_EXTERNREF`, `WASM_FUNCREF`: an owned reference or null.
    pub ref_: *mut wasm_ref_t,
}

/// A value: a kind and its payload.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_val_t {
    /// The `wasm_valkind_t`.
    pub kind: u8,
    /// The value.
    pub of: wasm_val_union,
}

impl wasm_val_t {
    fn reference(kind: u8, r: *mut wasm_ref_t) -> Self {
        wasm_val_t {
            kind,
            of: wasm_val_union { ref_: r },
        }
    }

    fn is_ref(&self) -> bool {
        self.kind >= WASM_EXTERNREF
    }
}

impl CElem for wasm_val_t {
    fn blank() -> Self {
        wasm_val_t::reference(WASM_EXTERNREF, std::ptr::null_mut())
    }
    unsafe fn copy_elem(&self) -> Self {
        if !self.is_ref() {
            return *self;
        }
        // SAFETY: a reference value holds null or a live handle (the caller's contract).
        let copy = unsafe { crate::object::handle(self.of.ref_) }
            .map_or(std::ptr::null_mut(), |h| Box::into_raw(Box::new(h.clone())));
        wasm_val_t::reference(self.kind, copy)
    }
    unsafe fn delete_elem(self) {
        if self.is_ref() {
            // SAFETY: a reference value owns its handle (null or made by this library).
            drop(unsafe { crate::types::take_box(self.of.ref_) });
        }
    }
}

entry! {
    /// Releases the reference a value owns, if any.
    fn wasm_val_delete(val: *mut wasm_val_t) = (); {
        if !val.is_null() {
            // SAFETY: `val` is a valid owned value; it is left holding a null reference.
            unsafe {
                val.read().delete_elem();
                val.write(wasm_val_t::blank());
            }
        }
    }
}

entry! {
    /// Copies `src` into `out` (a new handle for a reference).
    fn wasm_val_copy(out: *mut wasm_val_t, src: *const wasm_val_t) = (); {
        if out.is_null() || src.is_null() {
            return;
        }
        // SAFETY: `src` is a valid value and `out` writable storage for one.
        unsafe { out.write((*src).copy_elem()) };
    }
}

/// What an `externref` made for a C object holds: its key in `StoreCtx::host_refs`.
struct HostRefKey(u64);

/// The `externref` standing for `obj` in `store`.
fn host_externref(ctx: &StoreCtx, store: &mut WardStore, obj: &Obj) -> ward::ExternRef {
    match obj {
        Obj::Value(Val::ExternRef(Some(e))) => return *e,
        Obj::Value(Val::AnyRef(Some(a))) => return a.to_extern(),
        _ => {}
    }
    let stable = obj.stable_id();
    if let Some(id) = stable
        && let Some(e) = ctx.host_ref_cache.borrow().get(&id)
    {
        return *e;
    }
    let key = stable.unwrap_or_else(fresh_id);
    ctx.host_refs.borrow_mut().insert(key, obj.clone());
    let e = ward::ExternRef::new(&mut *store, HostRefKey(key))
        .expect("ward keeps host values outside the GC heap, so making an externref cannot fail");
    if stable.is_some() {
        ctx.host_ref_cache.borrow_mut().insert(key, e);
    }
    e
}

/// The object an `externref` stands for, if the host made it.
fn host_object(ctx: &StoreCtx, store: &WardStore, e: ward::ExternRef) -> Option<Obj> {
    let data = e.data(store).ok().flatten()?;
    let key = data.downcast_ref::<HostRefKey>()?;
    ctx.host_refs.borrow().get(&key.0).cloned()
}

/// Converts a C value to a ward value of type `ty` (the parameter, result or global type).
///
/// # Safety
/// `val` is a valid value (a reference one holds null or a live handle).
pub(crate) unsafe fn to_ward(
    ctx: &StoreCtx,
    store: &mut WardStore,
    val: &wasm_val_t,
    ty: ValType,
) -> Result<Val, String> {
    let expected = valkind(ty);
    let kind_ok = match ty {
        ValType::Ref(_) => val.is_ref(),
        _ => val.kind == expected,
    };
    if !kind_ok {
        return Err(format!(
            "a value of kind {} where {ty} is expected",
            val.kind
        ));
    }
    // SAFETY: the union field read is the one `kind` says is set (checked just above).
    unsafe {
        Ok(match ty {
            ValType::I32 => Val::I32(val.of.i32),
            ValType::I64 => Val::I64(val.of.i64),
            ValType::F32 => Val::F32(val.of.f32.to_bits()),
            ValType::F64 => Val::F64(val.of.f64.to_bits()),
            ValType::V128 => return Err("v128 values cannot cross the wasm.h API".into()),
            ValType::Ref(r) => {
                // SAFETY: a reference value holds null or a live handle (the caller's contract).
                let Some(h) = crate::object::handle(val.of.ref_) else {
                    return Val::default_for(ty)
                        .ok_or_else(|| format!("null where the non-nullable {ty} is expected"));
                };
                if let Some(s) = &h.store
                    && !std::ptr::eq(Rc::as_ptr(s), ctx)
                {
                    return Err("a reference from another store".into());
                }
                return ref_to_ward(ctx, store, &h.obj, r.heap);
            }
        })
    }
}

fn ref_to_ward(
    ctx: &StoreCtx,
    store: &mut WardStore,
    obj: &Obj,
    heap: HeapType,
) -> Result<Val, String> {
    if is_func_heap(heap) {
        return match obj {
            Obj::Func(f) => Ok(Val::FuncRef(Some(*f))),
            _ => Err("a non-function reference where a function reference is expected".into()),
        };
    }
    Ok(match (heap, obj) {
        (HeapType::Exn | HeapType::NoExn, Obj::Value(v @ Val::ExnRef(_))) => *v,
        (HeapType::Exn | HeapType::NoExn, _) => {
            return Err("a non-exception reference where an exnref is expected".into());
        }
        (HeapType::Extern | HeapType::NoExtern, _) => {
            Val::ExternRef(Some(host_externref(ctx, store, obj)))
        }
        // The `any` hierarchy: a Wasm value as it was, a host object internalized.
        (_, Obj::Value(v @ Val::AnyRef(_))) => *v,
        (_, _) => Val::AnyRef(Some(AnyRef::from_extern(host_externref(ctx, store, obj)))),
    })
}

/// Converts a ward value to an owned C value; `v128` is refused.
pub(crate) fn to_c(ctx: &Rc<StoreCtx>, store: &WardStore, val: Val) -> Result<wasm_val_t, String> {
    let number = |kind, of| Ok(wasm_val_t { kind, of });
    let obj = match val {
        Val::I32(i32) => return number(WASM_I32, wasm_val_union { i32 }),
        Val::I64(i64) => return number(WASM_I64, wasm_val_union { i64 }),
        Val::F32(bits) => {
            let f32 = f32::from_bits(bits);
            return number(WASM_F32, wasm_val_union { f32 });
        }
        Val::F64(bits) => {
            let f64 = f64::from_bits(bits);
            return number(WASM_F64, wasm_val_union { f64 });
        }
        Val::V128(_) => return Err("v128 values cannot cross the wasm.h API".into()),
        Val::FuncRef(f) => {
            let r = f.map_or(std::ptr::null_mut(), |f| {
                wasm_ref_t::boxed(ctx, Obj::Func(f))
            });
            return Ok(wasm_val_t::reference(WASM_FUNCREF, r));
        }
        _ if val.is_null() => None,
        Val::ExternRef(Some(e)) => Some(host_object(ctx, store, e).unwrap_or(Obj::Value(val))),
        Val::AnyRef(Some(a)) => {
            Some(host_object(ctx, store, a.to_extern()).unwrap_or(Obj::Value(val)))
        }
        other => Some(Obj::Value(other)),
    };
    let r = obj.map_or(std::ptr::null_mut(), |obj| match obj {
        Obj::Foreign(_) | Obj::Trap(_) | Obj::Module(_) => wasm_ref_t::boxed_unstored(obj),
        obj => wasm_ref_t::boxed(ctx, obj),
    });
    Ok(wasm_val_t::reference(WASM_EXTERNREF, r))
}
