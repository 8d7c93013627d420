//! Functions: the [`Func`] handle, typed calls ([`TypedFunc`]), host functions from Rust closures
//! ([`IntoFunc`]) and the [`Caller`] a host function receives.
//!
//! Calls go to the executor in `interp::exec`; host closures are stored type-erased in the store as
//! `Fn(Caller, &[Val], &mut [Val])`.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::handle::{ExnRef, StoreId};
use crate::interp::exec;
use crate::store::{AsContext, AsContextMut, HostFunc, Store};
use crate::types::{FuncType, ValType, push_slots};
use crate::values::{AnyRef, ExternRef, V128, Val, describe, vals_from_slots};
use crate::{Engine, Error, Result};

/// A function in a store: defined by a module instance or by the host.
///
/// ```
/// use ward::{Engine, Func, FuncType, Instance, Module, Store, Val, ValType};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// // A host function with a signature known only at run time, called with `Val`s.
/// let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
/// let max = Func::new(&mut store, ty, |_caller, params, results| {
///     results[0] = Val::I32(params[0].unwrap_i32().max(params[1].unwrap_i32()));
///     Ok(())
/// })?;
/// let mut results = [Val::I32(0)];
/// max.call(&mut store, &[Val::I32(3), Val::I32(9)], &mut results)?;
/// assert!(matches!(results[0], Val::I32(9)));
/// // Or passed to a module as an import.
/// let module = Module::new(&engine, r#"(module (import "" "max" (func $max (param i32 i32) (result i32)))
///     (func (export "clamp0") (param i32) (result i32) (call $max (local.get 0) (i32.const 0))))"#)?;
/// let instance = Instance::new(&mut store, &module, &[max.into()])?;
/// let clamp0 = instance.get_func(&store, "clamp0").unwrap();
/// clamp0.call(&mut store, &[Val::I32(-5)], &mut results)?;
/// assert!(matches!(results[0], Val::I32(0)));
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Func {
    /// A host function with a dynamic signature.
    pub fn new<T>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        store.as_context_mut().push_host_func(ty, Arc::new(func))
    }

    /// A host function from a Rust closure whose parameter and result types give the signature.
    pub fn wrap<T, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, host) = func.into_host();
        store
            .as_context_mut()
            .push_host_func(ty, host)
            .expect("signatures made from Rust types use only numeric and abstract reference types")
    }

    fn check_store(&self, id: StoreId) -> Result<()> {
        if self.store == id {
            Ok(())
        } else {
            Err(Error::Usage("function used with the wrong store".into()))
        }
    }

    /// The function's signature.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let inner = &store.as_context().inner;
        assert_eq!(self.store, inner.id, "function used with the wrong store");
        inner.funcs[self.index as usize].sig.clone()
    }

    /// Calls the function with dynamically typed arguments; results are written to `results`.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut();
        let (sig, raw) = self.raw_args(&store.inner, params)?;
        if results.len() != sig.results().len() {
            return Err(Error::Usage(format!(
                "expected {} results, got room for {}",
                sig.results().len(),
                results.len()
            )));
        }
        let out = exec::invoke(store, self.index, &raw)
            .map_err(|err| crate::coredump::attach(&store.inner, err))?;
        for (slot, val) in
            results
                .iter_mut()
                .zip(vals_from_slots(&out, sig.results(), &store.inner))
        {
            *slot = val;
        }
        Ok(())
    }

    /// The function's signature and `params` as raw slots, checked against it.
    pub(crate) fn raw_args(
        &self,
        inner: &crate::runtime::store::StoreInner,
        params: &[Val],
    ) -> Result<(FuncType, Vec<u64>)> {
        self.check_store(inner.id)?;
        let sig = inner.funcs[self.index as usize].sig.clone();
        if params.len() != sig.params().len() {
            return Err(Error::Usage(format!(
                "expected {} arguments, got {}",
                sig.params().len(),
                params.len()
            )));
        }
        let mut raw = Vec::with_capacity(params.len());
        for (i, (val, ty)) in params.iter().zip(sig.params()).enumerate() {
            if !val.matches(inner, *ty) {
                return Err(Error::Usage(format!(
                    "argument {i} has type {} but the function expects {ty}",
                    describe(val)
                )));
            }
            push_slots(&mut raw, val.to_raw(inner.id)?, *ty);
        }
        Ok((sig, raw))
    }

    /// A statically typed view of this function; fails if the signature differs.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let ty = self.ty(&store);
        if ty.params() != P::valtypes().as_slice() || ty.results() != R::valtypes().as_slice() {
            return Err(Error::Usage(format!(
                "function has type {ty}, not {}",
                FuncType::new(P::valtypes(), R::valtypes())
            )));
        }
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }
}

/// A function with a signature checked once, called with Rust values.
///
/// ```
/// use ward::{Engine, Instance, Module, Store};
///
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func (export "divmod") (param i32 i32) (result i32 i32)
///       (i32.div_u (local.get 0) (local.get 1))
///       (i32.rem_u (local.get 0) (local.get 1))))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// // The signature is checked here, once; calls then take and return Rust values.
/// let divmod = instance.get_typed_func::<(u32, u32), (u32, u32)>(&store, "divmod")?;
/// assert_eq!(divmod.call(&mut store, (17, 5))?, (3, 2));
/// // A wrong signature is refused.
/// assert!(instance.get_typed_func::<i64, i64>(&store, "divmod").is_err());
/// // Traps come back as errors.
/// let err = divmod.call(&mut store, (1, 0)).unwrap_err();
/// assert_eq!(err.downcast_ref::<ward::Trap>().unwrap().kind(), ward::TrapKind::IntegerDivisionByZero);
/// # Ok::<(), ward::Error>(())
/// ```
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let params = params.into_vals();
        let mut results = vec![Val::I32(0); R::valtypes().len()];
        self.func.call(&mut store, &params, &mut results)?;
        R::from_vals(&results).ok_or_else(|| Error::Usage("result types changed".into()))
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// What a host function sees of its caller: the store and the calling instance's exports.
///
/// ```
/// use ward::{Caller, Engine, Linker, Module, Store};
///
/// let engine = Engine::default();
/// let mut linker = Linker::new(&engine);
/// // Read a string out of the calling instance's memory.
/// linker.func_wrap("env", "print", |mut caller: Caller<'_, Vec<String>>, ptr: u32, len: u32| -> ward::Result<()> {
///     let memory = caller.get_export("memory").and_then(|e| e.into_memory()).unwrap();
///     let mut bytes = vec![0; len as usize];
///     memory.read(&caller, ptr as usize, &mut bytes)?;
///     caller.data_mut().push(String::from_utf8_lossy(&bytes).into_owned());
///     Ok(())
/// })?;
/// let module = Module::new(&engine, r#"(module
///     (import "env" "print" (func $print (param i32 i32)))
///     (memory (export "memory") 1)
///     (data (i32.const 8) "hello")
///     (func (export "run") (call $print (i32.const 8) (i32.const 5))))"#)?;
/// let mut store = Store::new(&engine, Vec::new());
/// let instance = linker.instantiate(&mut store, &module)?;
/// instance.get_typed_func::<(), ()>(&store, "run")?.call(&mut store, ())?;
/// assert_eq!(store.data(), &["hello".to_string()]);
/// # Ok::<(), ward::Error>(())
/// ```
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut Store<T>,
    pub(crate) instance: Option<u32>,
}

impl<T> Caller<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.store.engine()
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self.store
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self.store
    }
}

/// A Rust type that corresponds to one Wasm value type.
pub trait WasmTy: Sized + Send + 'static {
    /// The Wasm type.
    fn valtype() -> ValType;
    /// Converts from a value of that type.
    fn from_val(val: Val) -> Option<Self>;
    /// Converts into a value.
    fn into_val(self) -> Val;
}

macro_rules! wasm_ty {
    ($($ty:ty => $vt:expr, $pat:pat => $from:expr, $me:ident => $into:expr;)*) => {$(
        impl WasmTy for $ty {
            fn valtype() -> ValType { $vt }
            fn from_val(val: Val) -> Option<Self> {
                match val { $pat => Some($from), _ => None }
            }
            fn into_val(self) -> Val { let $me = self; $into }
        }
    )*};
}

wasm_ty! {
    i32 => ValType::I32, Val::I32(v) => v, v => Val::I32(v);
    u32 => ValType::I32, Val::I32(v) => v as u32, v => Val::I32(v as i32);
    i64 => ValType::I64, Val::I64(v) => v, v => Val::I64(v);
    u64 => ValType::I64, Val::I64(v) => v as u64, v => Val::I64(v as i64);
    f32 => ValType::F32, Val::F32(v) => f32::from_bits(v), v => Val::F32(v.to_bits());
    f64 => ValType::F64, Val::F64(v) => f64::from_bits(v), v => Val::F64(v.to_bits());
    Option<Func> => ValType::FUNCREF, Val::FuncRef(v) => v, v => Val::FuncRef(v);
    Option<ExternRef> => ValType::EXTERNREF, Val::ExternRef(v) => v, v => Val::ExternRef(v);
    Option<AnyRef> => ValType::ANYREF, Val::AnyRef(v) => v, v => Val::AnyRef(v);
    Option<ExnRef> => ValType::EXNREF, Val::ExnRef(v) => v, v => Val::ExnRef(v);
    V128 => ValType::V128, Val::V128(v) => V128(v), v => Val::V128(v.0);
}

/// Parameters of a [`TypedFunc`]: a [`WasmTy`] or a tuple of them.
pub trait WasmParams {
    /// The Wasm types.
    fn valtypes() -> Vec<ValType>;
    /// The values.
    fn into_vals(self) -> Vec<Val>;
}

/// Results of a [`TypedFunc`]: a [`WasmTy`] or a tuple of them.
pub trait WasmResults: Sized {
    /// The Wasm types.
    fn valtypes() -> Vec<ValType>;
    /// Rebuilds the Rust value.
    fn from_vals(vals: &[Val]) -> Option<Self>;
}

/// What a host closure may return: `()`, a [`WasmTy`], a tuple of them, or a `Result` of those.
pub trait WasmRet {
    /// The Wasm result types.
    fn valtypes() -> Vec<ValType>;
    /// Writes the results.
    fn into_results(self, out: &mut [Val]) -> Result<()>;
}

macro_rules! single_ty {
    ($($ty:ty),*) => {$(
        impl WasmParams for $ty {
            fn valtypes() -> Vec<ValType> { vec![<$ty as WasmTy>::valtype()] }
            fn into_vals(self) -> Vec<Val> { vec![self.into_val()] }
        }
        impl WasmResults for $ty {
            fn valtypes() -> Vec<ValType> { vec![<$ty as WasmTy>::valtype()] }
            fn from_vals(vals: &[Val]) -> Option<Self> { <$ty>::from_val(*vals.first()?) }
        }
        impl WasmRet for $ty {
            fn valtypes() -> Vec<ValType> { vec![<$ty as WasmTy>::valtype()] }
            fn into_results(self, out: &mut [Val]) -> Result<()> { out[0] = self.into_val(); Ok(()) }
        }
    )*};
}

single_ty!(
    i32,
    u32,
    i64,
    u64,
    f32,
    f64,
    Option<Func>,
    Option<ExternRef>,
    Option<AnyRef>,
    Option<ExnRef>,
    V128
);

macro_rules! tuple_ty {
    ($($a:ident),*) => {
        impl<$($a: WasmTy),*> WasmParams for ($($a,)*) {
            fn valtypes() -> Vec<ValType> { vec![$($a::valtype()),*] }
            #[allow(non_snake_case)]
            fn into_vals(self) -> Vec<Val> { let ($($a,)*) = self; vec![$($a.into_val()),*] }
        }
        impl<$($a: WasmTy),*> WasmResults for ($($a,)*) {
            fn valtypes() -> Vec<ValType> { vec![$($a::valtype()),*] }
            #[allow(unused_mut, unused_variables)]
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut it = vals.iter();
                Some(($($a::from_val(*it.next()?)?,)*))
            }
        }
        impl<$($a: WasmTy),*> WasmRet for ($($a,)*) {
            fn valtypes() -> Vec<ValType> { vec![$($a::valtype()),*] }
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_results(self, out: &mut [Val]) -> Result<()> {
                let ($($a,)*) = self;
                let mut it = out.iter_mut();
                $(*it.next().expect("result count matches the signature") = $a.into_val();)*
                Ok(())
            }
        }
    };
}

tuple_ty!();
tuple_ty!(A1);
tuple_ty!(A1, A2);
tuple_ty!(A1, A2, A3);
tuple_ty!(A1, A2, A3, A4);
tuple_ty!(A1, A2, A3, A4, A5);
tuple_ty!(A1, A2, A3, A4, A5, A6);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
tuple_ty!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
tuple_ty!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
tuple_ty!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);

/// A host closure may fail with a ward [`Error`] or anything that converts into one, such as an
/// `anyhow::Error` (`-> anyhow::Result<i32>`).
impl<R: WasmRet, E: Into<Error>> WasmRet for std::result::Result<R, E> {
    fn valtypes() -> Vec<ValType> {
        R::valtypes()
    }
    fn into_results(self, out: &mut [Val]) -> Result<()> {
        self.map_err(Into::into)?.into_results(out)
    }
}

/// A Rust closure usable as a host function: `Fn(A1, …) -> R` or `Fn(Caller<T>, A1, …) -> R`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The signature and the type-erased host function.
    #[doc(hidden)]
    fn into_host(self) -> (FuncType, HostFunc<T>);
}

fn arg<A: WasmTy>(params: &[Val], i: usize) -> Result<A> {
    params
        .get(i)
        .and_then(|v| A::from_val(*v))
        .ok_or_else(|| Error::Usage(format!("host function argument {i} has the wrong type")))
}

macro_rules! into_func {
    ($($a:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T, F, $($a,)* R> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            $($a: WasmTy,)*
            R: WasmRet,
        {
            fn into_host(self) -> (FuncType, HostFunc<T>) {
                let ty = FuncType::new([$($a::valtype()),*], R::valtypes());
                let host: HostFunc<T> = Arc::new(move |_caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let mut i = 0;
                    $(let $a: $a = arg(params, i)?; i += 1;)*
                    (self)($($a),*).into_results(results)
                });
                (ty, host)
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T, F, $($a,)* R> IntoFunc<T, (Caller<'_, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            $($a: WasmTy,)*
            R: WasmRet,
        {
            fn into_host(self) -> (FuncType, HostFunc<T>) {
                let ty = FuncType::new([$($a::valtype()),*], R::valtypes());
                let host: HostFunc<T> = Arc::new(move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let mut i = 0;
                    $(let $a: $a = arg(params, i)?; i += 1;)*
                    (self)(caller, $($a),*).into_results(results)
                });
                (ty, host)
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1, A2);
into_func!(A1, A2, A3);
into_func!(A1, A2, A3, A4);
into_func!(A1, A2, A3, A4, A5);
into_func!(A1, A2, A3, A4, A5, A6);
into_func!(A1, A2, A3, A4, A5, A6, A7);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
into_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
into_func!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
into_func!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);
