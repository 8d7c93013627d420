//! Globals, tables, memories, and externs (any of those or a function) with their conversions.
//!
//! All of them are [`wasm_ref_t`] handles, so `wasm_func_as_extern` and `wasm_extern_as_func`
//! return the pointer they are given (or null when the kind differs). A shared memory exported by a
//! module is a memory here too; its bytes are only reachable atomically in ward, so
//! `wasm_memory_data` returns null for it.

use std::ptr;
use std::rc::Rc;

use ward::{Extern, Val, ValType};

use crate::entry;
use crate::object::{
    Obj, handle, wasm_extern_t, wasm_global_t, wasm_memory_t, wasm_ref_t, wasm_table_t,
};
use crate::store::{StoreCtx, WardStore, store_ctx, wasm_store_t};
use crate::types::{
    TypeKind, WASM_EXTERN_FUNC, WASM_EXTERN_GLOBAL, WASM_EXTERN_MEMORY, WASM_EXTERN_TABLE,
    WASM_FUNCREF, wasm_externtype_t, wasm_globaltype_t, wasm_memorytype_t, wasm_tabletype_t,
};
use crate::val::{to_c, to_ward, wasm_val_t};

/// The store and object of a store-object handle.
///
/// # Safety
/// `p` is null or a live handle.
unsafe fn stored<'a>(p: *const wasm_ref_t) -> Option<(&'a Rc<StoreCtx>, &'a Obj)> {
    // SAFETY: the caller's contract.
    let h = unsafe { handle(p) }?;
    Some((h.store.as_ref()?, &h.obj))
}

/// A handle for an export or other extern of `store`.
pub(crate) fn extern_handle(ctx: &Rc<StoreCtx>, ext: Extern) -> Option<*mut wasm_extern_t> {
    let obj = match ext {
        Extern::Func(f) => Obj::Func(f),
        Extern::Global(g) => Obj::Global(g),
        Extern::Table(t) => Obj::Table(t),
        Extern::Memory(m) => Obj::Memory(m),
        Extern::SharedMemory(m) => Obj::SharedMemory(m),
        _ => return None,
    };
    Some(wasm_ref_t::boxed(ctx, obj))
}

/// The ward extern of an extern handle.
pub(crate) fn ward_extern(obj: &Obj) -> Option<Extern> {
    Some(match obj {
        Obj::Func(f) => Extern::Func(*f),
        Obj::Global(g) => Extern::Global(*g),
        Obj::Table(t) => Extern::Table(*t),
        Obj::Memory(m) => Extern::Memory(*m),
        Obj::SharedMemory(m) => Extern::SharedMemory(m.clone()),
        _ => return None,
    })
}

entry! {
    /// The kind of an extern.
    fn wasm_extern_kind(ext: *const wasm_extern_t) -> u8 = WASM_EXTERN_FUNC; {
        // SAFETY: `ext` is null or live.
        match unsafe { handle(ext) }.map(|h| &h.obj) {
            Some(Obj::Global(_)) => WASM_EXTERN_GLOBAL,
            Some(Obj::Table(_)) => WASM_EXTERN_TABLE,
            Some(Obj::Memory(_) | Obj::SharedMemory(_)) => WASM_EXTERN_MEMORY,
            _ => WASM_EXTERN_FUNC,
        }
    }
}

/// The current type of an extern object (tables and memories report their current size as
/// minimum).
fn extern_type(store: &WardStore, obj: &Obj) -> Option<wasm_externtype_t> {
    Some(match obj {
        Obj::Func(f) => wasm_externtype_t::func(f.ty(store)),
        Obj::Global(g) => wasm_externtype_t::global(g.ty(store)),
        Obj::Table(t) => wasm_externtype_t::table(t.ty(store)),
        Obj::Memory(m) => wasm_externtype_t::memory(m.ty(store)),
        Obj::SharedMemory(m) => wasm_externtype_t::memory(m.ty()),
        _ => return None,
    })
}

entry! {
    /// The extern's current type.
    fn wasm_extern_type(ext: *const wasm_extern_t) -> *mut wasm_externtype_t = ptr::null_mut(); {
        // SAFETY: `ext` is null or live.
        let Some((ctx, obj)) = (unsafe { stored(ext) }) else { return ptr::null_mut() };
        ctx.with_store(|store| extern_type(store, obj))
            .map_or(ptr::null_mut(), |t| Box::into_raw(Box::new(t)))
    }
}

/// Defines the pointer conversions between externs and one kind.
macro_rules! extern_views {
    ($is:pat => $to:ident, $to_const:ident, $from:ident, $from_const:ident) => {
        entry! {
            /// The same handle viewed as an extern.
            fn $to(p: *mut wasm_ref_t) -> *mut wasm_extern_t = ptr::null_mut(); { p }
        }
        entry! {
            /// The same handle viewed as an extern.
            fn $to_const(p: *const wasm_ref_t) -> *const wasm_extern_t = ptr::null(); { p }
        }
        entry! {
            /// The same handle if the extern is of this kind, else null.
            fn $from(p: *mut wasm_extern_t) -> *mut wasm_ref_t = ptr::null_mut(); {
                // SAFETY: `p` is null or live.
                match unsafe { handle(p) }.map(|h| &h.obj) {
                    Some($is) => p,
                    _ => ptr::null_mut(),
                }
            }
        }
        entry! {
            /// The same handle if the extern is of this kind, else null.
            fn $from_const(p: *const wasm_extern_t) -> *const wasm_ref_t = ptr::null(); {
                // SAFETY: `p` is null or live.
                match unsafe { handle(p) }.map(|h| &h.obj) {
                    Some($is) => p,
                    _ => ptr::null(),
                }
            }
        }
    };
}

extern_views!(Obj::Func(_) => wasm_func_as_extern, wasm_func_as_extern_const, wasm_extern_as_func,
    wasm_extern_as_func_const);
extern_views!(Obj::Global(_) => wasm_global_as_extern, wasm_global_as_extern_const,
    wasm_extern_as_global, wasm_extern_as_global_const);
extern_views!(Obj::Table(_) => wasm_table_as_extern, wasm_table_as_extern_const,
    wasm_extern_as_table, wasm_extern_as_table_const);
extern_views!(Obj::Memory(_) | Obj::SharedMemory(_) => wasm_memory_as_extern,
    wasm_memory_as_extern_const, wasm_extern_as_memory, wasm_extern_as_memory_const);

// Globals.

entry! {
    /// A global of type `ty` holding `val`; null if the value does not fit the type.
    fn wasm_global_new(store: *mut wasm_store_t, ty: *const wasm_globaltype_t,
        val: *const wasm_val_t) -> *mut wasm_global_t = ptr::null_mut(); {
        // SAFETY: `store`, `ty` and `val` are null or live/valid.
        let (ctx, ty, val) = unsafe { (store_ctx(store), ty.as_ref(), val.as_ref()) };
        let (Some(ctx), Some(ty), Some(val)) = (ctx, ty, val) else { return ptr::null_mut() };
        let TypeKind::Global { ty, .. } = &ty.kind else { return ptr::null_mut() };
        let made = ctx.with_store(|store| {
            // SAFETY: `val` is a valid value.
            let value = unsafe { to_ward(ctx, store, val, ty.content) }.ok()?;
            ward::Global::new(&mut *store, *ty, value).ok()
        });
        made.map_or(ptr::null_mut(), |g| wasm_ref_t::boxed(ctx, Obj::Global(g)))
    }
}

/// The store and global of a global handle.
///
/// # Safety
/// `p` is null or live.
unsafe fn global_of<'a>(p: *const wasm_global_t) -> Option<(&'a Rc<StoreCtx>, ward::Global)> {
    // SAFETY: the caller's contract.
    match unsafe { stored(p) }? {
        (ctx, Obj::Global(g)) => Some((ctx, *g)),
        _ => None,
    }
}

entry! {
    /// The global's type.
    fn wasm_global_type(global: *const wasm_global_t) -> *mut wasm_globaltype_t = ptr::null_mut(); {
        // SAFETY: `global` is null or live.
        let Some((ctx, g)) = (unsafe { global_of(global) }) else { return ptr::null_mut() };
        let ty = ctx.with_store(|store| g.ty(&*store));
        Box::into_raw(Box::new(wasm_externtype_t::global(ty)))
    }
}

entry! {
    /// Writes the global's value to `out` (a reference is owned by the caller). A `v128` global
    /// reads as kind 4 with its low 64 bits, since `wasm.h` has no `v128` values.
    fn wasm_global_get(global: *const wasm_global_t, out: *mut wasm_val_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `global` is null or live.
        let Some((ctx, g)) = (unsafe { global_of(global) }) else { return };
        let value = ctx.with_store(|store| {
            let value = g.get(&*store);
            match value {
                Val::V128(bits) => Ok(wasm_val_t {
                    kind: crate::types::WASM_V128,
                    of: crate::val::wasm_val_union { i64: bits as i64 },
                }),
                value => to_c(ctx, store, value),
            }
        });
        if let Ok(value) = value {
            // SAFETY: `out` is writable storage for a value.
            unsafe { out.write(value) };
        }
    }
}

entry! {
    /// Sets a mutable global (ignored if the global is immutable or the value does not fit).
    fn wasm_global_set(global: *mut wasm_global_t, val: *const wasm_val_t) = (); {
        // SAFETY: `global` and `val` are null or live/valid.
        let (Some((ctx, g)), Some(val)) = (unsafe { global_of(global) }, unsafe { val.as_ref() })
        else { return };
        ctx.with_store(|store| {
            let ty = g.ty(&*store).content;
            // SAFETY: `val` is a valid value.
            if let Ok(value) = unsafe { to_ward(ctx, store, val, ty) } {
                let _ = g.set(&mut *store, value);
            }
        });
    }
}

// Tables.

/// The ward value for a table element given as a reference (null allowed).
///
/// # Safety
/// `r` is null or live.
unsafe fn element(
    ctx: &StoreCtx,
    store: &mut WardStore,
    table: ward::Table,
    r: *mut wasm_ref_t,
) -> Option<Val> {
    let ty = ValType::Ref(table.ty(&*store).element);
    let val = wasm_val_t {
        kind: WASM_FUNCREF,
        of: crate::val::wasm_val_union { ref_: r },
    };
    // SAFETY: `val` holds `r`, which is null or live (borrowed, not consumed).
    unsafe { to_ward(ctx, store, &val, ty) }.ok()
}

/// The store and table of a table handle.
///
/// # Safety
/// `p` is null or live.
unsafe fn table_of<'a>(p: *const wasm_table_t) -> Option<(&'a Rc<StoreCtx>, ward::Table)> {
    // SAFETY: the caller's contract.
    match unsafe { stored(p) }? {
        (ctx, Obj::Table(t)) => Some((ctx, *t)),
        _ => None,
    }
}

entry! {
    /// A table of type `ty` with every element `init` (null allowed).
    fn wasm_table_new(store: *mut wasm_store_t, ty: *const wasm_tabletype_t, init: *mut wasm_ref_t)
        -> *mut wasm_table_t = ptr::null_mut(); {
        // SAFETY: `store` and `ty` are null or live.
        let (ctx, ty) = unsafe { (store_ctx(store), ty.as_ref()) };
        let (Some(ctx), Some(ty)) = (ctx, ty) else { return ptr::null_mut() };
        let TypeKind::Table { ty, .. } = &ty.kind else { return ptr::null_mut() };
        let made = ctx.with_store(|store| {
            let val = wasm_val_t { kind: WASM_FUNCREF, of: crate::val::wasm_val_union { ref_: init } };
            // SAFETY: `init` is null or live (borrowed).
            let init = unsafe { to_ward(ctx, store, &val, ValType::Ref(ty.element)) }.ok()?;
            ward::Table::new(&mut *store, *ty, init).ok()
        });
        made.map_or(ptr::null_mut(), |t| wasm_ref_t::boxed(ctx, Obj::Table(t)))
    }
}

entry! {
    /// The table's current type.
    fn wasm_table_type(table: *const wasm_table_t) -> *mut wasm_tabletype_t = ptr::null_mut(); {
        // SAFETY: `table` is null or live.
        let Some((ctx, t)) = (unsafe { table_of(table) }) else { return ptr::null_mut() };
        let ty = ctx.with_store(|store| t.ty(&*store));
        Box::into_raw(Box::new(wasm_externtype_t::table(ty)))
    }
}

entry! {
    /// The element at `index` (owned by the caller), or null if it is null or out of bounds.
    fn wasm_table_get(table: *const wasm_table_t, index: u32) -> *mut wasm_ref_t = ptr::null_mut(); {
        // SAFETY: `table` is null or live.
        let Some((ctx, t)) = (unsafe { table_of(table) }) else { return ptr::null_mut() };
        ctx.with_store(|store| {
            let value = t.get(&*store, index.into())?;
            to_c(ctx, store, value).ok()
        })
        // SAFETY: a reference value's payload is its handle.
        .map_or(ptr::null_mut(), |v| unsafe { v.of.ref_ })
    }
}

entry! {
    /// Sets the element at `index` (null allowed); false if out of bounds or of the wrong type.
    fn wasm_table_set(table: *mut wasm_table_t, index: u32, r: *mut wasm_ref_t) -> bool = false; {
        // SAFETY: `table` is null or live.
        let Some((ctx, t)) = (unsafe { table_of(table) }) else { return false };
        ctx.with_store(|store| {
            // SAFETY: `r` is null or live.
            let Some(value) = (unsafe { element(ctx, store, t, r) }) else { return false };
            t.set(&mut *store, index.into(), value).is_ok()
        })
    }
}

entry! {
    /// The number of elements.
    fn wasm_table_size(table: *const wasm_table_t) -> u32 = 0; {
        // SAFETY: `table` is null or live.
        let Some((ctx, t)) = (unsafe { table_of(table) }) else { return 0 };
        let size = ctx.with_store(|store| t.size(&*store));
        u32::try_from(size).unwrap_or(u32::MAX)
    }
}

entry! {
    /// Grows the table by `delta` elements set to `init` (null allowed); false if it cannot.
    fn wasm_table_grow(table: *mut wasm_table_t, delta: u32, init: *mut wasm_ref_t) -> bool = false; {
        // SAFETY: `table` is null or live.
        let Some((ctx, t)) = (unsafe { table_of(table) }) else { return false };
        ctx.with_store(|store| {
            // SAFETY: `init` is null or live.
            let Some(value) = (unsafe { element(ctx, store, t, init) }) else { return false };
            t.grow(&mut *store, delta.into(), value).is_ok()
        })
    }
}

// Memories.

enum MemoryRef {
    Local(ward::Memory),
    Shared(ward::SharedMemory),
}

/// The store and memory of a memory handle.
///
/// # Safety
/// `p` is null or live.
unsafe fn memory_of<'a>(p: *const wasm_memory_t) -> Option<(&'a Rc<StoreCtx>, MemoryRef)> {
    // SAFETY: the caller's contract.
    match unsafe { stored(p) }? {
        (ctx, Obj::Memory(m)) => Some((ctx, MemoryRef::Local(*m))),
        (ctx, Obj::SharedMemory(m)) => Some((ctx, MemoryRef::Shared(m.clone()))),
        _ => None,
    }
}

entry! {
    /// A memory of type `ty`.
    fn wasm_memory_new(store: *mut wasm_store_t, ty: *const wasm_memorytype_t)
        -> *mut wasm_memory_t = ptr::null_mut(); {
        // SAFETY: `store` and `ty` are null or live.
        let (ctx, ty) = unsafe { (store_ctx(store), ty.as_ref()) };
        let (Some(ctx), Some(ty)) = (ctx, ty) else { return ptr::null_mut() };
        let TypeKind::Memory { ty, .. } = &ty.kind else { return ptr::null_mut() };
        ctx.with_store(|store| ward::Memory::new(store, *ty))
            .map_or(ptr::null_mut(), |m| wasm_ref_t::boxed(ctx, Obj::Memory(m)))
    }
}

entry! {
    /// The memory's current type.
    fn wasm_memory_type(memory: *const wasm_memory_t) -> *mut wasm_memorytype_t = ptr::null_mut(); {
        // SAFETY: `memory` is null or live.
        let Some((ctx, m)) = (unsafe { memory_of(memory) }) else { return ptr::null_mut() };
        let ty = match m {
            MemoryRef::Local(m) => ctx.with_store(|store| m.ty(&*store)),
            MemoryRef::Shared(m) => m.ty(),
        };
        Box::into_raw(Box::new(wasm_externtype_t::memory(ty)))
    }
}

entry! {
    /// The memory's bytes, valid until the memory grows or the store goes; null for a shared
    /// memory.
    fn wasm_memory_data(memory: *mut wasm_memory_t) -> *mut u8 = ptr::null_mut(); {
        // SAFETY: `memory` is null or live.
        match unsafe { memory_of(memory) } {
            Some((ctx, MemoryRef::Local(m))) => {
                ctx.with_store(|store| m.data_mut(store).as_mut_ptr())
            }
            _ => ptr::null_mut(),
        }
    }
}

entry! {
    /// The memory's size in bytes.
    fn wasm_memory_data_size(memory: *const wasm_memory_t) -> usize = 0; {
        // SAFETY: `memory` is null or live.
        match unsafe { memory_of(memory) } {
            Some((ctx, MemoryRef::Local(m))) => ctx.with_store(|store| m.data_size(&*store)),
            Some((_, MemoryRef::Shared(m))) => m.data_size(),
            None => 0,
        }
    }
}

entry! {
    /// The memory's size in pages.
    fn wasm_memory_size(memory: *const wasm_memory_t) -> u32 = 0; {
        // SAFETY: `memory` is null or live.
        let pages = match unsafe { memory_of(memory) } {
            Some((ctx, MemoryRef::Local(m))) => ctx.with_store(|store| m.size(&*store)),
            Some((_, MemoryRef::Shared(m))) => m.size(),
            None => 0,
        };
        u32::try_from(pages).unwrap_or(u32::MAX)
    }
}

entry! {
    /// Grows the memory by `delta` pages; false if it cannot.
    fn wasm_memory_grow(memory: *mut wasm_memory_t, delta: u32) -> bool = false; {
        // SAFETY: `memory` is null or live.
        match unsafe { memory_of(memory) } {
            Some((ctx, MemoryRef::Local(m))) => {
                ctx.with_store(|store| m.grow(store, delta.into()).is_ok())
            }
            Some((_, MemoryRef::Shared(m))) => m.grow(delta.into()).is_ok(),
            None => false,
        }
    }
}
