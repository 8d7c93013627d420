//! [`Val`]: a Wasm value as the host sees it, and [`ExternRef`]: a host value passed into Wasm by reference.
//!
//! Inside the interpreter values are untyped 64-bit slots; this module converts between the two using
//! the static type. A function reference is encoded as `store function index + 1`, an external reference
//! as `store extern index + 1`, and null as 0.

use std::any::Any;

use crate::func::Func;
use crate::gc_repr::{self, EXTERNALIZED};
use crate::handle::{ExnRef, StoreId};
use crate::runtime::gc;
use crate::runtime::store::StoreInner;
use crate::store::{AsContext, AsContextMut};
use crate::types::{HeapType, RefType, ValType, slot_width};
use crate::{Error, Result};

/// A host value a Wasm program can hold as an `externref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    /// The slot encoding: `store extern index + 1`, or an `anyref` with `gc_repr::EXTERNALIZED` set.
    pub(crate) raw: u64,
}

impl ExternRef {
    /// Boxes `value` into the store and returns a reference to it. The `Result` is Wasmtime's
    /// shape (its GC heap can be full); ward keeps host values outside the GC heap, so this
    /// does not fail.
    pub fn new<T: Any + Send + Sync>(mut store: impl AsContextMut, value: T) -> Result<ExternRef> {
        let store = store.as_context_mut();
        let inner = &mut store.inner;
        inner.externs.push(Box::new(value));
        Ok(ExternRef {
            store: inner.id,
            raw: inner.externs.len() as u64,
        })
    }

    /// The host value behind this reference, or `None` if the reference is a Wasm reference
    /// converted with `extern.convert_any` rather than host data. Fails for another store's
    /// reference.
    pub fn data<'a, S: AsContext + 'a>(
        &self,
        store: &'a S,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>> {
        let inner = &store.as_context().inner;
        if inner.id != self.store {
            return Err(Error::Usage("externref used with the wrong store".into()));
        }
        if self.raw & EXTERNALIZED != 0 {
            return Ok(None);
        }
        Ok(Some(inner.externs[(self.raw - 1) as usize].as_ref()))
    }
}

/// A non-null reference of the `any` hierarchy: an `i31`, a struct or array object, or a host
/// `externref` converted with `any.convert_extern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef {
    pub(crate) store: StoreId,
    /// The slot encoding (see `gc_repr`).
    pub(crate) raw: u64,
}

impl AnyRef {
    /// An `i31` reference holding the low 31 bits of `value`.
    pub fn i31(store: impl AsContext, value: i32) -> AnyRef {
        AnyRef {
            store: store.as_context().inner.id,
            raw: gc_repr::i31_encode(value as u32 as u64),
        }
    }

    /// An `i31` reference (Wasmtime's constructor; `i31` values are not heap objects, so nothing
    /// is allocated).
    pub fn from_i31(store: impl AsContextMut, value: I31) -> Rooted<AnyRef> {
        AnyRef::i31(store.as_context(), value.get_i32())
    }

    /// Whether this is an `i31` reference.
    pub fn is_i31(&self, store: impl AsContext) -> Result<bool> {
        check_store(self.store, store.as_context().inner.id)?;
        Ok(gc_repr::is_i31(self.raw))
    }

    /// The `i31` value, or `None` for other references.
    pub fn as_i31(&self, store: impl AsContext) -> Result<Option<I31>> {
        check_store(self.store, store.as_context().inner.id)?;
        Ok(gc_repr::is_i31(self.raw).then(|| I31::wrapping_u32((self.raw as u32) >> 1)))
    }

    /// The `i31` value; an error for other references.
    pub fn unwrap_i31(&self, store: impl AsContext) -> Result<I31> {
        self.as_i31(store)?
            .ok_or_else(|| Error::Usage("the reference is not an i31".into()))
    }

    /// `any.convert_extern` of a non-null `externref`.
    pub fn from_extern(extern_ref: ExternRef) -> AnyRef {
        AnyRef {
            store: extern_ref.store,
            raw: gc_repr::internalize(extern_ref.raw),
        }
    }

    /// `extern.convert_any`: this reference as an `externref` (the original one for references made
    /// by [`AnyRef::from_extern`]).
    pub fn to_extern(&self) -> ExternRef {
        ExternRef {
            store: self.store,
            raw: gc_repr::externalize(self.raw),
        }
    }

    /// Whether this is a struct object. An error when the reference belongs to another store or
    /// names an object that was collected (its root had ended, see [`RootScope`](crate::RootScope)).
    pub fn is_struct(&self, store: impl AsContext) -> Result<bool> {
        self.object_kind(&store.as_context().inner, |kind| {
            matches!(kind, gc::ObjectKind::Struct { .. })
        })
    }

    /// Whether this is an array object (errors as for [`AnyRef::is_struct`]).
    pub fn is_array(&self, store: impl AsContext) -> Result<bool> {
        self.object_kind(&store.as_context().inner, |kind| {
            matches!(kind, gc::ObjectKind::Array { .. })
        })
    }

    /// `test` of the heap object's kind; `false` for an `i31` or a converted `externref`.
    fn object_kind(
        &self,
        inner: &StoreInner,
        test: impl FnOnce(&gc::ObjectKind) -> bool,
    ) -> Result<bool> {
        check_store(self.store, inner.id)?;
        if gc_repr::is_i31(self.raw) || gc_repr::is_host_any(self.raw) {
            return Ok(false);
        }
        match inner.gc.get(self.raw) {
            Some(object) => Ok(test(&object.kind)),
            None => Err(Error::Usage(
                "the reference names a collected object (its root had ended)".into(),
            )),
        }
    }
}

/// The value of an `i31ref`: 31 bits, read as unsigned or as signed (Wasmtime's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct I31(u32);

impl I31 {
    /// `value` if it fits in 31 unsigned bits.
    pub fn new_u32(value: u32) -> Option<I31> {
        (value >> 31 == 0).then_some(I31(value))
    }

    /// `value` if it fits in 31 signed bits.
    pub fn new_i32(value: i32) -> Option<I31> {
        ((value << 1) >> 1 == value).then_some(I31(value as u32 & 0x7fff_ffff))
    }

    /// The low 31 bits of `value`.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value`.
    pub fn wrapping_i32(value: i32) -> I31 {
        I31(value as u32 & 0x7fff_ffff)
    }

    /// The value, zero-extended.
    pub fn get_u32(&self) -> u32 {
        self.0
    }

    /// The value, sign-extended.
    pub fn get_i32(&self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

/// A Wasm value.
///
/// ```
/// use ward::{Val, ValType};
///
/// let v = Val::I32(-1);
/// assert_eq!(v.unwrap_i32(), -1);
/// assert_eq!(v.i64(), None); // the typed accessors check the type
/// // Floats are kept as bits, so NaN payloads survive a round trip.
/// let nan = Val::F32(0x7fc0_1234);
/// assert!(nan.unwrap_f32().is_nan());
/// assert!(matches!(nan, Val::F32(0x7fc0_1234)));
/// assert!(matches!(Val::from(1.5f64), Val::F64(bits) if bits == 1.5f64.to_bits()));
/// assert!(matches!(Val::default_for(ValType::FUNCREF), Some(Val::FuncRef(None))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float, as its bits (so NaN payloads survive).
    F32(u32),
    /// A 64-bit float, as its bits.
    F64(u64),
    /// A 128-bit vector.
    V128(u128),
    /// A function reference or null.
    FuncRef(Option<Func>),
    /// An external reference or null.
    ExternRef(Option<ExternRef>),
    /// An exception reference or null.
    ExnRef(Option<ExnRef>),
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`, struct and array
    /// references) or null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The zero value (or null) of a type, if it has one.
    pub fn default_for(ty: ValType) -> Option<Val> {
        Some(match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if !r.nullable => return None,
            ValType::Ref(r) if is_func_heap(r.heap) => Val::FuncRef(None),
            ValType::Ref(r) if is_exn_heap(r.heap) => Val::ExnRef(None),
            ValType::Ref(r) if is_any_heap_abstract(r.heap) => Val::AnyRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        })
    }

    /// The value as an `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The value as an `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The value as an `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The value as an `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The value as a `v128`, if it is one.
    pub fn v128(&self) -> Option<V128> {
        if let Val::V128(v) = self {
            Some(V128(*v))
        } else {
            None
        }
    }

    /// The function reference (`Some(None)` for null), if the value is a `funcref`.
    pub fn funcref(&self) -> Option<Option<&Func>> {
        if let Val::FuncRef(f) = self {
            Some(f.as_ref())
        } else {
            None
        }
    }

    /// The external reference (`Some(None)` for null), if the value is an `externref`.
    pub fn externref(&self) -> Option<Option<&ExternRef>> {
        if let Val::ExternRef(e) = self {
            Some(e.as_ref())
        } else {
            None
        }
    }

    /// The `anyref`-hierarchy reference (`Some(None)` for null), if the value is one.
    pub fn anyref(&self) -> Option<Option<&AnyRef>> {
        if let Val::AnyRef(a) = self {
            Some(a.as_ref())
        } else {
            None
        }
    }

    /// The `i32`; panics if the value is of another type.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32()
            .expect("unwrap_i32 of a value that is not an i32")
    }

    /// The `i64`; panics if the value is of another type.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64()
            .expect("unwrap_i64 of a value that is not an i64")
    }

    /// The `f32`; panics if the value is of another type.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32()
            .expect("unwrap_f32 of a value that is not an f32")
    }

    /// The `f64`; panics if the value is of another type.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64()
            .expect("unwrap_f64 of a value that is not an f64")
    }

    /// The `v128`; panics if the value is of another type.
    pub fn unwrap_v128(&self) -> V128 {
        self.v128()
            .expect("unwrap_v128 of a value that is not a v128")
    }

    /// The function reference or `None` for null; panics if the value is not a `funcref`.
    pub fn unwrap_funcref(&self) -> Option<&Func> {
        self.funcref()
            .expect("unwrap_funcref of a value that is not a funcref")
    }

    /// Wasmtime's `Ref::unwrap_func` (ward's tables hold `Val`s, so `table.get(..)` code calling
    /// it compiles): [`Val::unwrap_funcref`].
    pub fn unwrap_func(&self) -> Option<&Func> {
        self.unwrap_funcref()
    }

    /// Wasmtime's `Ref::unwrap_extern`: [`Val::unwrap_externref`].
    pub fn unwrap_extern(&self) -> Option<&ExternRef> {
        self.unwrap_externref()
    }

    /// Wasmtime's `Ref::unwrap_any`: [`Val::unwrap_anyref`].
    pub fn unwrap_any(&self) -> Option<&AnyRef> {
        self.unwrap_anyref()
    }

    /// The external reference or `None` for null; panics if the value is not an `externref`.
    pub fn unwrap_externref(&self) -> Option<&ExternRef> {
        self.externref()
            .expect("unwrap_externref of a value that is not an externref")
    }

    /// The `anyref`-hierarchy reference or `None` for null; panics if the value is not one.
    pub fn unwrap_anyref(&self) -> Option<&AnyRef> {
        self.anyref()
            .expect("unwrap_anyref of a value that is not an anyref")
    }

    /// Whether this value is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
        )
    }

    /// Whether the value can be passed where `ty` is expected (checks the kind, nullability, and for
    /// function references the signature).
    pub(crate) fn matches(&self, store: &StoreInner, ty: ValType) -> bool {
        match (self, ty) {
            (Val::I32(_), ValType::I32)
            | (Val::I64(_), ValType::I64)
            | (Val::F32(_), ValType::F32)
            | (Val::F64(_), ValType::F64)
            | (Val::V128(_), ValType::V128) => true,
            (
                Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None),
                ValType::Ref(r),
            ) => r.nullable,
            (Val::AnyRef(Some(a)), ValType::Ref(r)) => {
                a.store == store.id
                    && (a.raw & EXTERNALIZED) == 0
                    && (gc_repr::is_i31(a.raw)
                        || gc_repr::is_host_any(a.raw)
                        || store.gc.get(a.raw).is_some())
                    && crate::interp::cast::ref_test(
                        store,
                        a.raw,
                        RefType {
                            nullable: false,
                            ..r
                        },
                    )
            }
            (Val::ExnRef(Some(e)), ValType::Ref(r)) => {
                e.store == store.id
                    && matches!(r.heap, HeapType::Exn)
                    && store
                        .gc
                        .get(e.raw)
                        .is_some_and(|o| matches!(o.kind, gc::ObjectKind::Exception { .. }))
            }
            (Val::FuncRef(Some(f)), ValType::Ref(r)) => {
                f.store == store.id
                    && match r.heap {
                        HeapType::Func => true,
                        HeapType::Concrete(id) => {
                            let actual = store.funcs[f.index as usize].ty;
                            store.engine.id_is_subtype(actual, id)
                        }
                        _ => false,
                    }
            }
            (Val::ExternRef(Some(e)), ValType::Ref(r)) => {
                e.store == store.id && matches!(r.heap, HeapType::Extern)
            }
            (Val::FuncRef(Some(_)) | Val::ExternRef(Some(_)) | Val::ExnRef(Some(_)), _) => false,
            _ => false,
        }
    }

    /// Encodes the value into interpreter slots (two for `v128`).
    pub(crate) fn to_raw(self, store: StoreId) -> Result<u128> {
        Ok(match self {
            Val::I32(v) => v as u32 as u128,
            Val::I64(v) => v as u64 as u128,
            Val::F32(v) => v as u128,
            Val::F64(v) => v as u128,
            Val::V128(v) => v,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => 0,
            Val::AnyRef(Some(a)) => {
                check_store(a.store, store)?;
                a.raw as u128
            }
            Val::ExnRef(Some(e)) => {
                check_store(e.store, store)?;
                e.raw as u128
            }
            Val::FuncRef(Some(f)) => {
                check_store(f.store, store)?;
                f.index as u128 + 1
            }
            Val::ExternRef(Some(e)) => {
                check_store(e.store, store)?;
                e.raw as u128
            }
        })
    }

    /// Decodes a slot value of type `ty`.
    pub(crate) fn from_raw(raw: u128, ty: ValType, inner: &StoreInner) -> Val {
        let store = inner.id;
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            ValType::V128 => Val::V128(raw),
            ValType::Ref(r) => {
                let index = (raw as u64).checked_sub(1).map(|i| i as u32);
                let any = match r.heap {
                    HeapType::Concrete(id) => inner.engine.type_is(id, |i| i.func.is_none()),
                    heap => is_any_heap_abstract(heap),
                };
                if any {
                    inner.root_for_host(raw as u64);
                    Val::AnyRef((raw != 0).then_some(AnyRef {
                        store,
                        raw: raw as u64,
                    }))
                } else if r.heap == HeapType::Extern || r.heap == HeapType::NoExtern {
                    Val::ExternRef((raw != 0).then_some(ExternRef {
                        store,
                        raw: raw as u64,
                    }))
                } else if is_func_heap(r.heap) {
                    Val::FuncRef(index.map(|index| Func { store, index }))
                } else if is_exn_heap(r.heap) {
                    inner.root_for_host(raw as u64);
                    Val::ExnRef((raw != 0).then_some(ExnRef {
                        store,
                        raw: raw as u64,
                    }))
                } else {
                    Val::ExternRef(index.map(|_| ExternRef {
                        store,
                        raw: raw as u64,
                    }))
                }
            }
        }
    }
}

/// Decodes values of types `tys` from consecutive slots.
pub(crate) fn vals_from_slots(slots: &[u64], tys: &[ValType], store: &StoreInner) -> Vec<Val> {
    let mut at = 0;
    tys.iter()
        .map(|ty| {
            let mut raw = slots[at] as u128;
            if slot_width(*ty) == 2 {
                raw |= (slots[at + 1] as u128) << 64;
            }
            at += slot_width(*ty);
            Val::from_raw(raw, *ty, store)
        })
        .collect()
}

/// Abstract heap types of the `any` hierarchy (concrete types need the engine to tell).
pub(crate) fn is_any_heap_abstract(heap: HeapType) -> bool {
    matches!(
        heap,
        HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None
    )
}

pub(crate) fn is_exn_heap(heap: HeapType) -> bool {
    matches!(heap, HeapType::Exn | HeapType::NoExn)
}

pub(crate) fn is_func_heap(heap: HeapType) -> bool {
    matches!(
        heap,
        HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_)
    )
}

/// The reference type a [`Val`] reference belongs to, for error messages.
pub(crate) fn describe(val: &Val) -> String {
    match val {
        Val::I32(_) => "i32".into(),
        Val::I64(_) => "i64".into(),
        Val::F32(_) => "f32".into(),
        Val::F64(_) => "f64".into(),
        Val::V128(_) => "v128".into(),
        Val::FuncRef(_) => ValType::Ref(RefType::FUNCREF).to_string(),
        Val::ExternRef(_) => ValType::Ref(RefType::EXTERNREF).to_string(),
        Val::ExnRef(_) => "exnref".into(),
        Val::AnyRef(_) => "anyref".into(),
    }
}

fn check_store(a: StoreId, b: StoreId) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(Error::Usage("value used with the wrong store".into()))
    }
}

/// A 128-bit SIMD value, as typed functions take and return it: `TypedFunc<V128, V128>`.
/// [`Val::V128`] holds the same bits as a `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V128(pub(crate) u128);

impl V128 {
    /// The vector's bits, lane 0 in the least significant bits.
    pub fn as_u128(&self) -> u128 {
        self.0
    }
}

impl From<u128> for V128 {
    fn from(bits: u128) -> V128 {
        V128(bits)
    }
}

impl From<V128> for u128 {
    fn from(v: V128) -> u128 {
        v.0
    }
}

macro_rules! val_from_ref {
    ($($ty:ty => $variant:ident),*) => {$(
        impl From<$ty> for Val {
            fn from(r: $ty) -> Val {
                Val::$variant(Some(r))
            }
        }
        impl From<Option<$ty>> for Val {
            fn from(r: Option<$ty>) -> Val {
                Val::$variant(r)
            }
        }
    )*};
}

val_from_ref!(Func => FuncRef, ExternRef => ExternRef, AnyRef => AnyRef, ExnRef => ExnRef);

/// Wasmtime's name for a GC reference the host holds (`Option<Rooted<ExternRef>>` in typed
/// signatures). In ward a reference is its own handle: an [`ExternRef`]'s host value lives as long
/// as its store, and the store roots every [`AnyRef`] and [`ExnRef`] it hands to the host until
/// the enclosing host call or [`RootScope`](crate::RootScope) ends (or the store is dropped).
pub type Rooted<T> = T;

impl From<V128> for Val {
    fn from(v: V128) -> Val {
        Val::V128(v.0)
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
