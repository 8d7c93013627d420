//! Type objects: `wasm_valtype_t`, the four extern types and `wasm_externtype_t`, import and export
//! types.
//!
//! `wasm.h` converts a function, global, table or memory type to an extern type and back by
//! pointer (`wasm_functype_as_externtype`), so all five are one Rust type, [`wasm_externtype_t`],
//! whose variant says which it is; the specific names are aliases of it. Accessors that return
//! `const` pointers point into the object (a function type owns its parameter vector).

use std::ptr;

use ward::{
    ExternType, FuncType, GlobalType, HeapType, MemoryType, Mutability, TableType, ValType,
};

use crate::entry;
use crate::vec::{OwnedVec, wasm_name_t, wasm_valtype_vec_t};

/// `wasm_valkind_t` values.
pub(crate) const WASM_I32: u8 = 0;
pub(crate) const WASM_I64: u8 = 1;
pub(crate) const WASM_F32: u8 = 2;
pub(crate) const WASM_F64: u8 = 3;
/// Not in `wasm.h`: the kind this library reports for `v128` (later versions of the header use 4).
pub(crate) const WASM_V128: u8 = 4;
pub(crate) const WASM_EXTERNREF: u8 = 128;
pub(crate) const WASM_FUNCREF: u8 = 129;

/// `wasm_externkind_t` values.
pub(crate) const WASM_EXTERN_FUNC: u8 = 0;
pub(crate) const WASM_EXTERN_GLOBAL: u8 = 1;
pub(crate) const WASM_EXTERN_TABLE: u8 = 2;
pub(crate) const WASM_EXTERN_MEMORY: u8 = 3;

/// `wasm_limits_t`: `max` is `u32::MAX` when there is no maximum.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wasm_limits_t {
    /// Minimum.
    pub min: u32,
    /// Maximum, or `u32::MAX` for none.
    pub max: u32,
}

impl wasm_limits_t {
    fn new(min: u64, max: Option<u64>) -> Self {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        wasm_limits_t {
            min: clamp(min),
            max: max.map_or(u32::MAX, clamp),
        }
    }

    fn max(&self) -> Option<u32> {
        (self.max != u32::MAX).then_some(self.max)
    }
}

/// A value type. Keeps ward's full type: a reference type `wasm.h` cannot name reports the kind of
/// its hierarchy (`funcref` for function references, `externref` for the rest).
#[derive(Clone, Debug)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

/// The `wasm_valkind_t` of a ward type.
pub(crate) fn valkind(ty: ValType) -> u8 {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::V128 => WASM_V128,
        ValType::Ref(r) if is_func_heap(r.heap) => WASM_FUNCREF,
        ValType::Ref(_) => WASM_EXTERNREF,
    }
}

/// Whether `heap` is in the function hierarchy.
pub(crate) fn is_func_heap(heap: HeapType) -> bool {
    match heap {
        HeapType::Func | HeapType::NoFunc => true,
        // A concrete type may be a struct or array type too, but only function types can reach the
        // C API as values (wasm.h has no struct or array values).
        HeapType::Concrete(_) => true,
        _ => false,
    }
}

fn valtype_from_kind(kind: u8) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WASM_V128 => ValType::V128,
        WASM_EXTERNREF => ValType::EXTERNREF,
        WASM_FUNCREF => ValType::FUNCREF,
        _ => return None,
    })
}

fn boxed<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes ownership of an `own` argument; `None` if it is null.
///
/// # Safety
/// `p` is null or was made by `Box::into_raw` in this library and is handed over.
pub(crate) unsafe fn take_box<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

entry! {
    /// A value type of kind `kind`; null for an unknown kind.
    fn wasm_valtype_new(kind: u8) -> *mut wasm_valtype_t = ptr::null_mut(); {
        valtype_from_kind(kind).map_or(ptr::null_mut(), |ty| boxed(wasm_valtype_t { ty }))
    }
}

entry! {
    /// The kind of a value type.
    fn wasm_valtype_kind(ty: *const wasm_valtype_t) -> u8 = WASM_I32; {
        // SAFETY: `ty` is null or a live value type.
        unsafe { ty.as_ref() }.map_or(WASM_I32, |t| valkind(t.ty))
    }
}

/// Defines `_delete` and `_copy` for a boxed, `Clone` object type.
macro_rules! own_copy_delete {
    ($ty:ty, $delete:ident, $copy:ident) => {
        entry! {
            /// Deletes the object.
            fn $delete(p: *mut $ty) = (); {
                // SAFETY: `p` is null or an owned object of this type (`wasm.h` contract).
                drop(unsafe { take_box(p) });
            }
        }
        entry! {
            /// A copy of the object.
            fn $copy(p: *const $ty) -> *mut $ty = ptr::null_mut(); {
                // SAFETY: `p` is null or a live object of this type.
                unsafe { p.as_ref() }.map_or(ptr::null_mut(), |o| boxed(o.clone()))
            }
        }
    };
}

own_copy_delete!(wasm_valtype_t, wasm_valtype_delete, wasm_valtype_copy);

/// Function, global, table and memory types, and extern types (one of those).
#[derive(Clone)]
pub struct wasm_externtype_t {
    pub(crate) kind: TypeKind,
}

/// What a [`wasm_externtype_t`] is.
#[derive(Clone)]
pub(crate) enum TypeKind {
    Func {
        ty: FuncType,
        params: OwnedVec<*mut wasm_valtype_t>,
        results: OwnedVec<*mut wasm_valtype_t>,
    },
    Global {
        ty: GlobalType,
        content: Box<wasm_valtype_t>,
    },
    Table {
        ty: TableType,
        element: Box<wasm_valtype_t>,
        limits: wasm_limits_t,
    },
    Memory {
        ty: MemoryType,
        limits: wasm_limits_t,
    },
}

/// `wasm_functype_t` and the others are views of [`wasm_externtype_t`].
pub type wasm_functype_t = wasm_externtype_t;
/// A global type (a [`wasm_externtype_t`]).
pub type wasm_globaltype_t = wasm_externtype_t;
/// A table type (a [`wasm_externtype_t`]).
pub type wasm_tabletype_t = wasm_externtype_t;
/// A memory type (a [`wasm_externtype_t`]).
pub type wasm_memorytype_t = wasm_externtype_t;

fn valtypes(tys: &[ValType]) -> OwnedVec<*mut wasm_valtype_t> {
    OwnedVec::new(tys.iter().map(|&ty| boxed(wasm_valtype_t { ty })).collect())
}

impl wasm_externtype_t {
    pub(crate) fn func(ty: FuncType) -> Self {
        let (params, results) = (valtypes(ty.params()), valtypes(ty.results()));
        wasm_externtype_t {
            kind: TypeKind::Func {
                ty,
                params,
                results,
            },
        }
    }

    pub(crate) fn global(ty: GlobalType) -> Self {
        wasm_externtype_t {
            kind: TypeKind::Global {
                ty,
                content: Box::new(wasm_valtype_t { ty: ty.content }),
            },
        }
    }

    pub(crate) fn table(ty: TableType) -> Self {
        wasm_externtype_t {
            kind: TypeKind::Table {
                ty,
                element: Box::new(wasm_valtype_t {
                    ty: ValType::Ref(ty.element),
                }),
                limits: wasm_limits_t::new(ty.minimum, ty.maximum),
            },
        }
    }

    pub(crate) fn memory(ty: MemoryType) -> Self {
        wasm_externtype_t {
            kind: TypeKind::Memory {
                ty,
                limits: wasm_limits_t::new(ty.minimum, ty.maximum),
            },
        }
    }

    /// The `wasm.h` form of a ward extern type; `None` for a tag, which `wasm.h` cannot describe.
    pub(crate) fn from_ward(ty: ExternType) -> Option<Self> {
        Some(match ty {
            ExternType::Func(f) => Self::func(f),
            ExternType::Global(g) => Self::global(g),
            ExternType::Table(t) => Self::table(t),
            ExternType::Memory(m) => Self::memory(m),
            ExternType::Tag(_) => return None,
        })
    }

    pub(crate) fn kind_code(&self) -> u8 {
        match self.kind {
            TypeKind::Func { .. } => WASM_EXTERN_FUNC,
            TypeKind::Global { .. } => WASM_EXTERN_GLOBAL,
            TypeKind::Table { .. } => WASM_EXTERN_TABLE,
            TypeKind::Memory { .. } => WASM_EXTERN_MEMORY,
        }
    }

    pub(crate) fn as_func(&self) -> Option<&FuncType> {
        match &self.kind {
            TypeKind::Func { ty, .. } => Some(ty),
            _ => None,
        }
    }
}

own_copy_delete!(wasm_externtype_t, wasm_functype_delete, wasm_functype_copy);
own_copy_delete!(
    wasm_externtype_t,
    wasm_globaltype_delete,
    wasm_globaltype_copy
);
own_copy_delete!(
    wasm_externtype_t,
    wasm_tabletype_delete,
    wasm_tabletype_copy
);
own_copy_delete!(
    wasm_externtype_t,
    wasm_memorytype_delete,
    wasm_memorytype_copy
);
own_copy_delete!(
    wasm_externtype_t,
    wasm_externtype_delete,
    wasm_externtype_copy
);

/// Takes the value types out of an `own` vector, deleting it.
///
/// # Safety
/// `vec` is null or an owned vector of value types made by this library.
unsafe fn take_valtypes(vec: *mut wasm_valtype_vec_t) -> Vec<ValType> {
    if vec.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller's contract: the vector and its elements are handed over.
    let elements = unsafe { (*vec).take() };
    elements
        .into_iter()
        // SAFETY: each element is null or an owned value type.
        .filter_map(|p| unsafe { take_box(p) })
        .map(|b| b.ty)
        .collect()
}

entry! {
    /// A function type; takes ownership of both vectors.
    fn wasm_functype_new(params: *mut wasm_valtype_vec_t, results: *mut wasm_valtype_vec_t)
        -> *mut wasm_functype_t = ptr::null_mut(); {
        // SAFETY: both are `own` vectors of value types (`wasm.h` contract).
        let (params, results) = unsafe { (take_valtypes(params), take_valtypes(results)) };
        boxed(wasm_externtype_t::func(FuncType::new(params, results)))
    }
}

/// The parameter or result vector of a function type; null if `ty` is not one.
///
/// # Safety
/// `ty` is null or a live type object.
unsafe fn func_part(ty: *const wasm_functype_t, results: bool) -> *const wasm_valtype_vec_t {
    // SAFETY: the caller's contract.
    match unsafe { ty.as_ref() }.map(|t| &t.kind) {
        Some(TypeKind::Func {
            params, results: r, ..
        }) => &(if results { r } else { params }).0,
        _ => ptr::null(),
    }
}

entry! {
    /// The parameter types (owned by the function type).
    fn wasm_functype_params(ty: *const wasm_functype_t) -> *const wasm_valtype_vec_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        unsafe { func_part(ty, false) }
    }
}

entry! {
    /// The result types (owned by the function type).
    fn wasm_functype_results(ty: *const wasm_functype_t) -> *const wasm_valtype_vec_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        unsafe { func_part(ty, true) }
    }
}

entry! {
    /// A global type; takes ownership of `content`.
    fn wasm_globaltype_new(content: *mut wasm_valtype_t, mutability: u8) -> *mut wasm_globaltype_t
        = ptr::null_mut(); {
        // SAFETY: `content` is an `own` value type.
        let Some(content) = (unsafe { take_box(content) }) else { return ptr::null_mut() };
        let mutability = if mutability == 0 { Mutability::Const } else { Mutability::Var };
        boxed(wasm_externtype_t::global(GlobalType::new(content.ty, mutability)))
    }
}

entry! {
    /// The value type of a global type (owned by it).
    fn wasm_globaltype_content(ty: *const wasm_globaltype_t) -> *const wasm_valtype_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        match unsafe { ty.as_ref() }.map(|t| &t.kind) {
            Some(TypeKind::Global { content, .. }) => &**content,
            _ => ptr::null(),
        }
    }
}

entry! {
    /// `WASM_CONST` (0) or `WASM_VAR` (1).
    fn wasm_globaltype_mutability(ty: *const wasm_globaltype_t) -> u8 = 0; {
        // SAFETY: `ty` is null or a live type.
        match unsafe { ty.as_ref() }.map(|t| &t.kind) {
            Some(TypeKind::Global { ty, .. }) => u8::from(ty.mutability == Mutability::Var),
            _ => 0,
        }
    }
}

entry! {
    /// A table type; takes ownership of `element`, which must be a reference type.
    fn wasm_tabletype_new(element: *mut wasm_valtype_t, limits: *const wasm_limits_t)
        -> *mut wasm_tabletype_t = ptr::null_mut(); {
        // SAFETY: `element` is an `own` value type; `limits` is null or valid.
        let (element, limits) = unsafe { (take_box(element), limits.as_ref()) };
        let (Some(element), Some(limits)) = (element, limits) else { return ptr::null_mut() };
        let ValType::Ref(r) = element.ty else { return ptr::null_mut() };
        boxed(wasm_externtype_t::table(TableType::new(r, limits.min, limits.max())))
    }
}

entry! {
    /// The element type of a table type (owned by it).
    fn wasm_tabletype_element(ty: *const wasm_tabletype_t) -> *const wasm_valtype_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        match unsafe { ty.as_ref() }.map(|t| &t.kind) {
            Some(TypeKind::Table { element, .. }) => &**element,
            _ => ptr::null(),
        }
    }
}

entry! {
    /// The limits of a table type (owned by it).
    fn wasm_tabletype_limits(ty: *const wasm_tabletype_t) -> *const wasm_limits_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        match unsafe { ty.as_ref() }.map(|t| &t.kind) {
            Some(TypeKind::Table { limits, .. }) => limits,
            _ => ptr::null(),
        }
    }
}

entry! {
    /// A memory type of 64 KiB pages.
    fn wasm_memorytype_new(limits: *const wasm_limits_t) -> *mut wasm_memorytype_t = ptr::null_mut(); {
        // SAFETY: `limits` is null or valid.
        let Some(limits) = (unsafe { limits.as_ref() }) else { return ptr::null_mut() };
        boxed(wasm_externtype_t::memory(MemoryType::new(limits.min, limits.max())))
    }
}

entry! {
    /// The limits of a memory type, in pages (owned by it).
    fn wasm_memorytype_limits(ty: *const wasm_memorytype_t) -> *const wasm_limits_t = ptr::null(); {
        // SAFETY: `ty` is null or a live type.
        match unsafe { ty.as_ref() }.map(|t| &t.kind) {
            Some(TypeKind::Memory { limits, .. }) => limits,
            _ => ptr::null(),
        }
    }
}

entry! {
    /// The kind of an extern type.
    fn wasm_externtype_kind(ty: *const wasm_externtype_t) -> u8 = WASM_EXTERN_FUNC; {
        // SAFETY: `ty` is null or a live type.
        unsafe { ty.as_ref() }.map_or(WASM_EXTERN_FUNC, wasm_externtype_t::kind_code)
    }
}

/// Defines the pointer conversions between extern types and one specific kind.
macro_rules! externtype_views {
    ($code:expr; $to_extern:ident, $to_extern_const:ident, $from_extern:ident, $from_extern_const:ident) => {
        entry! {
            /// The same object viewed as an extern type.
            fn $to_extern(ty: *mut wasm_externtype_t) -> *mut wasm_externtype_t = ptr::null_mut(); {
                ty
            }
        }
        entry! {
            /// The same object viewed as an extern type.
            fn $to_extern_const(ty: *const wasm_externtype_t) -> *const wasm_externtype_t = ptr::null(); {
                ty
            }
        }
        entry! {
            /// The same object if it is of this kind, else null.
            fn $from_extern(ty: *mut wasm_externtype_t) -> *mut wasm_externtype_t = ptr::null_mut(); {
                // SAFETY: `ty` is null or a live type.
                match unsafe { ty.as_ref() } {
                    Some(t) if t.kind_code() == $code => ty,
                    _ => ptr::null_mut(),
                }
            }
        }
        entry! {
            /// The same object if it is of this kind, else null.
            fn $from_extern_const(ty: *const wasm_externtype_t) -> *const wasm_externtype_t = ptr::null(); {
                // SAFETY: `ty` is null or a live type.
                match unsafe { ty.as_ref() } {
                    Some(t) if t.kind_code() == $code => ty,
                    _ => ptr::null(),
                }
            }
        }
    };
}

externtype_views!(WASM_EXTERN_FUNC; wasm_functype_as_externtype, wasm_functype_as_externtype_const,
    wasm_externtype_as_functype, wasm_externtype_as_functype_const);
externtype_views!(WASM_EXTERN_GLOBAL; wasm_globaltype_as_externtype,
    wasm_globaltype_as_externtype_const, wasm_externtype_as_globaltype,
    wasm_externtype_as_globaltype_const);
externtype_views!(WASM_EXTERN_TABLE; wasm_tabletype_as_externtype,
    wasm_tabletype_as_externtype_const, wasm_externtype_as_tabletype,
    wasm_externtype_as_tabletype_const);
externtype_views!(WASM_EXTERN_MEMORY; wasm_memorytype_as_externtype,
    wasm_memorytype_as_externtype_const, wasm_externtype_as_memorytype,
    wasm_externtype_as_memorytype_const);

/// An import: module name, field name and type.
#[derive(Clone)]
pub struct wasm_importtype_t {
    module: OwnedVec<u8>,
    name: OwnedVec<u8>,
    ty: Box<wasm_externtype_t>,
}

impl wasm_importtype_t {
    pub(crate) fn new(module: &str, name: &str, ty: wasm_externtype_t) -> Self {
        wasm_importtype_t {
            module: crate::vec::name_from(module),
            name: crate::vec::name_from(name),
            ty: Box::new(ty),
        }
    }
}

/// An export: name and type.
#[derive(Clone)]
pub struct wasm_exporttype_t {
    name: OwnedVec<u8>,
    ty: Box<wasm_externtype_t>,
}

impl wasm_exporttype_t {
    pub(crate) fn new(name: &str, ty: wasm_externtype_t) -> Self {
        wasm_exporttype_t {
            name: crate::vec::name_from(name),
            ty: Box::new(ty),
        }
    }
}

own_copy_delete!(
    wasm_importtype_t,
    wasm_importtype_delete,
    wasm_importtype_copy
);
own_copy_delete!(
    wasm_exporttype_t,
    wasm_exporttype_delete,
    wasm_exporttype_copy
);

/// Takes an `own` name vector.
///
/// # Safety
/// `name` is null or an owned byte vector made by this library.
unsafe fn take_name(name: *mut wasm_name_t) -> OwnedVec<u8> {
    if name.is_null() {
        return OwnedVec::new(Vec::new());
    }
    // SAFETY: the caller's contract.
    OwnedVec::new(unsafe { (*name).take() })
}

entry! {
    /// An import type; takes ownership of all three arguments.
    fn wasm_importtype_new(module: *mut wasm_name_t, name: *mut wasm_name_t,
        ty: *mut wasm_externtype_t) -> *mut wasm_importtype_t = ptr::null_mut(); {
        // SAFETY: all three are `own` arguments made by this library.
        let (module, name, ty) = unsafe { (take_name(module), take_name(name), take_box(ty)) };
        let Some(ty) = ty else { return ptr::null_mut() };
        boxed(wasm_importtype_t { module, name, ty })
    }
}

entry! {
    /// The module name of an import (owned by it).
    fn wasm_importtype_module(ty: *const wasm_importtype_t) -> *const wasm_name_t = ptr::null(); {
        // SAFETY: `ty` is null or live.
        unsafe { ty.as_ref() }.map_or(ptr::null(), |t| &t.module.0)
    }
}

entry! {
    /// The field name of an import (owned by it).
    fn wasm_importtype_name(ty: *const wasm_importtype_t) -> *const wasm_name_t = ptr::null(); {
        // SAFETY: `ty` is null or live.
        unsafe { ty.as_ref() }.map_or(ptr::null(), |t| &t.name.0)
    }
}

entry! {
    /// The type of an import (owned by it).
    fn wasm_importtype_type(ty: *const wasm_importtype_t) -> *const wasm_externtype_t = ptr::null(); {
        // SAFETY: `ty` is null or live.
        unsafe { ty.as_ref() }.map_or(ptr::null(), |t| &*t.ty)
    }
}

entry! {
    /// An export type; takes ownership of both arguments.
    fn wasm_exporttype_new(name: *mut wasm_name_t, ty: *mut wasm_externtype_t)
        -> *mut wasm_exporttype_t = ptr::null_mut(); {
        // SAFETY: both are `own` arguments made by this library.
        let (name, ty) = unsafe { (take_name(name), take_box(ty)) };
        let Some(ty) = ty else { return ptr::null_mut() };
        boxed(wasm_exporttype_t { name, ty })
    }
}

entry! {
    /// The name of an export (owned by it).
    fn wasm_exporttype_name(ty: *const wasm_exporttype_t) -> *const wasm_name_t = ptr::null(); {
        // SAFETY: `ty` is null or live.
        unsafe { ty.as_ref() }.map_or(ptr::null(), |t| &t.name.0)
    }
}

entry! {
    /// The type of an export (owned by it).
    fn wasm_exporttype_type(ty: *const wasm_exporttype_t) -> *const wasm_externtype_t = ptr::null(); {
        // SAFETY: `ty` is null or live.
        unsafe { ty.as_ref() }.map_or(ptr::null(), |t| &*t.ty)
    }
}
