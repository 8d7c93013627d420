//! What one engine reports about one module, in terms every engine can be compared on: the
//! [`Value`]s a call returned, the [`TrapClass`] it trapped with, or that it ran out of fuel or stack
//! ([`Outcome::Exhausted`], never compared). The engine adapters (`engine_ward.rs`,
//! `engine_wasmtime.rs`, `engine_wasmi.rs`) translate into these types and implement [`Engine`];
//! the differential driver in `oracle.rs` compares them.

/// A value as every engine can report it. References compare by kind only: identities differ
/// between engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    Null,
    Func,
    Extern,
    /// A non-null reference of the `any` hierarchy (struct, array, i31).
    Any,
    /// A non-null exception reference.
    Exn,
}

impl Value {
    /// Equality, except that any scalar NaN equals any other (vectors compare bit for bit: the
    /// generator canonicalizes NaNs, and no campaign has seen lanes differ).
    pub fn same(self, other: Value) -> bool {
        match (self, other) {
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
            }
            (a, b) => a == b,
        }
    }
}

/// Trap kinds grouped where the engines name the same condition differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapClass {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    NullReference,
    DivisionByZero,
    IntegerOverflow,
    BadConversion,
    SignatureMismatch,
    ArrayOutOfBounds,
    CastFailure,
    /// A trap without a counterpart in the other engines: it agrees with any trap.
    Other,
}

/// What a call (or an instantiation) did in one engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapClass),
    /// A Wasm exception escaped to the host.
    Thrown,
    /// Fuel, stack or GC heap ran out: the engines meter and limit differently, so not comparable.
    Exhausted,
    /// Any other error (a host-side usage or instantiation error).
    Failed(String),
}

/// Whether two outcomes agree; `None` when they cannot be compared (exhaustion in either engine).
pub fn agree(a: &Outcome, b: &Outcome) -> Option<bool> {
    match (a, b) {
        (Outcome::Exhausted, _) | (_, Outcome::Exhausted) => None,
        (Outcome::Returned(x), Outcome::Returned(y)) => {
            Some(x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same(*q)))
        }
        (Outcome::Trapped(x), Outcome::Trapped(y)) => {
            Some(x == y || *x == TrapClass::Other || *y == TrapClass::Other)
        }
        (Outcome::Thrown, Outcome::Thrown) | (Outcome::Failed(_), Outcome::Failed(_)) => Some(true),
        _ => Some(false),
    }
}

/// The parameter types arguments are drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A nullable reference: called with null.
    NullableRef,
    /// A non-nullable reference: there is no argument to call with.
    NonNullableRef,
}

/// One instance of the generated module in one engine. Calls pass references as [`Value::Null`];
/// each engine makes the null of its parameter's type.
pub trait Engine {
    /// The engine's name in reports.
    fn name(&self) -> &'static str;
    /// Calls the exported function `name`.
    fn call(&mut self, name: &str, args: &[Value]) -> Outcome;
    /// The bytes of exported memory `name`.
    fn memory(&mut self, name: &str) -> Option<&[u8]>;
    /// The value of exported global `name`.
    fn global(&mut self, name: &str) -> Option<Value>;
    /// The elements of exported table `name`.
    fn table(&mut self, name: &str) -> Option<Vec<Value>>;
}

/// Fuel for each engine's store (the whole case: instantiation and every call).
pub const FUEL: u64 = 20_000;

/// The most bytes one memory may grow to, in every engine's store. Without a common limit a
/// memory without a maximum grows as far as each engine's own resource limits allow: ward grew a
/// memory64 to 61 TiB where Wasmtime returned -1 (both are allowed by the spec).
pub const MEMORY_BYTES: usize = 16 << 20;

/// The most elements one table may grow to, in every engine's store.
pub const TABLE_ELEMENTS: usize = 10_000;
