//! Traps and the library's error type.
//!
//! A [`Trap`] is what Wasm execution ends with when it cannot continue: it carries a [`TrapKind`] and a
//! [`WasmBacktrace`] built from the interpreter's frame chain. [`Error`] is the one error type of the public
//! API; it wraps traps, validation failures, link errors and errors raised by host functions.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Why Wasm execution stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrapKind {
    /// The `unreachable` instruction was executed.
    Unreachable,
    /// A load or store outside the bounds of a linear memory.
    MemoryOutOfBounds,
    /// A table access outside the bounds of a table.
    TableOutOfBounds,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table entry.
    UninitializedElement,
    /// `call_indirect` found a function of another type.
    IndirectCallTypeMismatch,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Signed integer overflow in division, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// `ref.as_non_null` (or a cast) of a null reference.
    NullReference,
    /// `call_ref` of a null function reference.
    NullFunctionReference,
    /// The Wasm call stack exceeded its configured limit.
    StackOverflow,
    /// A data or element segment access outside its bounds.
    OutOfBoundsSegmentAccess,
    /// The store ran out of fuel.
    OutOfFuel,
    /// The epoch deadline or wall-clock deadline was reached, or the store was interrupted.
    Interrupt,
    /// A memory grew beyond the store's limit (with `trap_on_grow_failure`).
    MemoryLimitExceeded,
    /// A table grew beyond the store's limit (with `trap_on_grow_failure`).
    TableLimitExceeded,
    /// A struct access through a null reference.
    NullStructReference,
    /// An array access through a null reference.
    NullArrayReference,
    /// `i31.get` of a null reference.
    NullI31Reference,
    /// An array access outside the array's bounds.
    ArrayOutOfBounds,
    /// `ref.cast` of a value not of the target type.
    CastFailure,
    /// A GC allocation did not fit in the configured heap even after a collection.
    GcHeapExhausted,
    /// An atomic access at an address that is not a multiple of its size.
    UnalignedAtomic,
    /// `memory.atomic.wait` on a memory that is not shared.
    AtomicWaitOnUnsharedMemory,
}

impl TrapKind {
    /// The message the spec test suite uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::NullReference => "null reference",
            TrapKind::NullFunctionReference => "null function reference",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::OutOfBoundsSegmentAccess => "out of bounds memory access",
            TrapKind::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapKind::Interrupt => "interrupted: deadline reached",
            TrapKind::MemoryLimitExceeded => "memory size limit exceeded",
            TrapKind::TableLimitExceeded => "table size limit exceeded",
            TrapKind::NullStructReference => "null structure reference",
            TrapKind::NullArrayReference => "null array reference",
            TrapKind::NullI31Reference => "null i31 reference",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::CastFailure => "cast failure",
            TrapKind::GcHeapExhausted => "GC heap exhausted",
            TrapKind::UnalignedAtomic => "unaligned atomic",
            TrapKind::AtomicWaitOnUnsharedMemory => "atomic wait on non-shared memory",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One frame of a [`WasmBacktrace`], innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The function's name from the module's name section, if any.
    pub func_name: Option<String>,
    /// The module's name, if any.
    pub module_name: Option<String>,
    /// Byte offset of the executing instruction in the module binary, if known.
    pub module_offset: Option<usize>,
    /// The store's index of the instance the frame runs in (for core dumps).
    pub(crate) instance: Option<u32>,
    /// Byte offset of the instruction from the start of its function's body, if known.
    pub(crate) func_offset: Option<usize>,
}

impl FrameInfo {
    /// Index of the function in its module's function index space.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from the module's name section, if any.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The module's name from its name section, if any.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Byte offset of the executing instruction in the module binary, if known.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset
    }

    /// Byte offset of the executing instruction from the start of its function's body (its
    /// local declarations), if known.
    pub fn func_offset(&self) -> Option<usize> {
        self.func_offset
    }
}

/// The Wasm frames live when a trap happened, innermost first.
///
/// A deep stack (runaway recursion ends with hundreds of thousands of frames) keeps only its innermost
/// [`WasmBacktrace::INNERMOST_FRAMES`] and outermost [`WasmBacktrace::OUTERMOST_FRAMES`] frames and
/// counts the rest in [`WasmBacktrace::elided`], so a trap stays small to keep, format and print.
/// The display also folds runs of identical consecutive frames (recursion) into one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    /// The frames kept, innermost first. When frames were elided they sat between
    /// `frames[INNERMOST_FRAMES - 1]` and `frames[INNERMOST_FRAMES]`.
    pub frames: Vec<FrameInfo>,
    /// How many frames in the middle of the stack were left out.
    pub elided: usize,
}

impl WasmBacktrace {
    /// Innermost frames a backtrace keeps.
    pub const INNERMOST_FRAMES: usize = 64;
    /// Outermost frames a backtrace keeps.
    pub const OUTERMOST_FRAMES: usize = 16;

    /// The backtrace of a stack `depth` frames deep, where `frame(i)` describes the `i`-th frame from
    /// the innermost; only the frames kept are described, so the cost does not grow with `depth`.
    pub(crate) fn from_frames(depth: usize, mut frame: impl FnMut(usize) -> FrameInfo) -> Self {
        let kept = Self::INNERMOST_FRAMES + Self::OUTERMOST_FRAMES;
        if depth <= kept {
            return WasmBacktrace {
                frames: (0..depth).map(frame).collect(),
                elided: 0,
            };
        }
        let outermost = depth - Self::OUTERMOST_FRAMES..depth;
        WasmBacktrace {
            frames: (0..Self::INNERMOST_FRAMES)
                .chain(outermost)
                .map(&mut frame)
                .collect(),
            elided: depth - kept,
        }
    }

    /// The frames kept, innermost first (Wasmtime's accessor for [`WasmBacktrace::frames`]).
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The backtrace of a stack whose innermost frames are `self`'s and whose outer frames are
    /// `outer`'s (the callers of `self`'s outermost frame), capped as one backtrace is.
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    pub(crate) fn join(self, outer: WasmBacktrace) -> WasmBacktrace {
        if outer.depth() == 0 {
            return self;
        }
        let inner_depth = self.depth();
        // Frame `depth` (counted over all frames, elided ones included) of a backtrace; only kept
        // frames are asked for: `from_frames` asks for the innermost and outermost frames of the
        // whole, which are among the innermost and outermost kept frames of each part.
        let frame_of = |part: &WasmBacktrace, depth: usize| -> FrameInfo {
            let gap = part.gap();
            let index = if depth < gap {
                depth
            } else {
                depth.saturating_sub(part.elided)
            };
            part.frames[index.min(part.frames.len() - 1)].clone()
        };
        WasmBacktrace::from_frames(inner_depth + outer.depth(), |depth| {
            if depth < inner_depth {
                frame_of(&self, depth)
            } else {
                frame_of(&outer, depth - inner_depth)
            }
        })
    }

    /// How many frames were live at the trap, including elided ones.
    pub fn depth(&self) -> usize {
        self.frames.len() + self.elided
    }

    /// Where the elided frames sat: the number of frames kept before them.
    fn gap(&self) -> usize {
        Self::INNERMOST_FRAMES.min(self.frames.len())
    }
}

impl fmt::Display for WasmBacktrace {
    /// One line per frame, numbered from the innermost; a run of identical frames prints once with a
    /// repeat count, and elided frames as one line with their count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gap = self.gap();
        let (inner, outer) = self.frames.split_at(gap);
        write_frames(f, inner, 0)?;
        if self.elided > 0 {
            writeln!(f, "       ... {} frames elided ...", self.elided)?;
        }
        write_frames(f, outer, gap + self.elided)
    }
}

/// Writes `frames`, numbered from `first`, folding runs of identical frames.
fn write_frames(f: &mut fmt::Formatter<'_>, frames: &[FrameInfo], first: usize) -> fmt::Result {
    let mut at = 0;
    while at < frames.len() {
        let frame = &frames[at];
        let run = frames[at..]
            .iter()
            .take_while(|other| *other == frame)
            .count();
        write!(f, "  {:>3}: ", first + at)?;
        if let Some(offset) = frame.module_offset {
            write!(f, "{offset:#8x} - ")?;
        }
        if let Some(module) = &frame.module_name {
            write!(f, "{module}!")?;
        }
        match &frame.func_name {
            Some(name) => writeln!(f, "{name}")?,
            None => writeln!(f, "<wasm function {}>", frame.func_index)?,
        }
        if run > 1 {
            writeln!(
                f,
                "       ... frame {} repeated {} more times",
                first + at,
                run - 1
            )?;
        }
        at += run;
    }
    Ok(())
}

/// A trap: the kind and where it happened.
///
/// Two traps are equal when their kinds are: the backtrace says where a trap happened, not what
/// it is. So Wasmtime code comparing with its trap codes, such as
/// `assert_eq!(err.downcast::<Trap>()?, Trap::OutOfFuel)`, works with the constants below, which
/// carry Wasmtime's names for the trap codes (they have empty backtraces).
///
/// ```
/// use ward::{Engine, Instance, Module, Store, Trap, TrapKind};
///
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func $inner (unreachable))
///     (func $outer (export "outer") (call $inner)))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let err = instance.get_typed_func::<(), ()>(&store, "outer")?.call(&mut store, ()).unwrap_err();
/// let trap = err.downcast_ref::<Trap>().unwrap();
/// assert_eq!(trap.kind(), TrapKind::Unreachable);
/// assert_eq!(*trap, Trap::UnreachableCodeReached); // Wasmtime's name for the same code
/// // The Wasm backtrace names the functions, innermost first.
/// let names: Vec<_> = trap.backtrace().frames().iter().map(|f| f.func_name().map(str::to_string)).collect();
/// assert_eq!(names, [Some("inner".to_string()), Some("outer".to_string())]);
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Trap {
    kind: TrapKind,
    backtrace: WasmBacktrace,
    /// A `WasmCoreDump` when the engine makes them (`Config::coredump_on_trap`); kept as `Any`
    /// because the dump names API handles from the layer above.
    coredump: Option<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for Trap {
    fn eq(&self, other: &Trap) -> bool {
        self.kind == other.kind
    }
}

impl Eq for Trap {}

impl PartialEq<TrapKind> for Trap {
    fn eq(&self, other: &TrapKind) -> bool {
        self.kind == *other
    }
}

impl From<TrapKind> for Trap {
    fn from(kind: TrapKind) -> Trap {
        Trap::new(kind, WasmBacktrace::default())
    }
}

/// Declares `Trap` constants with Wasmtime's names for ward's trap kinds.
macro_rules! wasmtime_trap_codes {
    ($($(#[$doc:meta])* $name:ident => $kind:ident,)*) => {
        /// Wasmtime's trap codes, as traps with no backtrace.
        #[allow(non_upper_case_globals)]
        impl Trap {
            $(
                $(#[$doc])*
                pub const $name: Trap = Trap::of_kind(TrapKind::$kind);
            )*
        }
    };
}

wasmtime_trap_codes! {
    /// The Wasm call stack exceeded its limit.
    StackOverflow => StackOverflow,
    /// A load or store outside the bounds of a linear memory.
    MemoryOutOfBounds => MemoryOutOfBounds,
    /// An atomic access at an unaligned address.
    HeapMisaligned => UnalignedAtomic,
    /// A table access outside the bounds of a table.
    TableOutOfBounds => TableOutOfBounds,
    /// An indirect call through a null table entry.
    IndirectCallToNull => UninitializedElement,
    /// An indirect call found a function of another type.
    BadSignature => IndirectCallTypeMismatch,
    /// Signed integer overflow.
    IntegerOverflow => IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero => IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger => BadConversionToInteger,
    /// The `unreachable` instruction was executed.
    UnreachableCodeReached => Unreachable,
    /// The epoch or wall-clock deadline was reached, or the store was interrupted.
    Interrupt => Interrupt,
    /// The store ran out of fuel.
    OutOfFuel => OutOfFuel,
    /// `memory.atomic.wait` on an unshared memory.
    AtomicWaitNonSharedMemory => AtomicWaitOnUnsharedMemory,
    /// A null reference where a non-null one was required.
    NullReference => NullReference,
    /// An array access outside the array's bounds.
    ArrayOutOfBounds => ArrayOutOfBounds,
    /// A GC allocation that does not fit in the heap.
    AllocationTooLarge => GcHeapExhausted,
    /// A failed `ref.cast`.
    CastFailure => CastFailure,
}

impl Trap {
    pub(crate) fn new(kind: TrapKind, backtrace: WasmBacktrace) -> Self {
        Trap {
            kind,
            backtrace,
            coredump: None,
        }
    }

    /// Attaches a core dump (see `coredump::attach`).
    pub(crate) fn set_coredump(&mut self, dump: Arc<dyn Any + Send + Sync>) {
        self.coredump = Some(dump);
    }

    /// Whether a core dump is attached.
    pub(crate) fn has_coredump(&self) -> bool {
        self.coredump.is_some()
    }

    /// The attached core dump, type-erased.
    pub(crate) fn coredump_any(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.coredump.as_deref()
    }

    const fn of_kind(kind: TrapKind) -> Self {
        Trap {
            kind,
            backtrace: WasmBacktrace {
                frames: Vec::new(),
                elided: 0,
            },
            coredump: None,
        }
    }

    /// The kind of trap.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }

    /// The Wasm frames live at the trap.
    pub fn backtrace(&self) -> &WasmBacktrace {
        &self.backtrace
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.kind)?;
        if !self.backtrace.frames.is_empty() {
            write!(f, "\nwasm backtrace:\n{}", self.backtrace)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// The error type of the ward API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A precompiled module (`Module::deserialize`) or code-cache entry was refused.
    #[error(transparent)]
    Artifact(#[from] crate::aot::ArtifactError),
    /// Wasm execution trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// The module text could not be parsed.
    #[error("failed to parse WebAssembly text: {0}")]
    Parse(String),
    /// The module binary is malformed or does not validate.
    #[error("invalid module at offset {offset:#x}: {message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Byte offset in the module binary.
        offset: usize,
    },
    /// The module uses a feature ward does not implement yet.
    #[error("unsupported feature at offset {offset:#x}: {feature}")]
    Unsupported {
        /// The feature or instruction.
        feature: String,
        /// Byte offset in the module binary.
        offset: usize,
    },
    /// Compiling the module would exceed a budget set on the [`Config`](crate::Config)
    /// (`max_translated_size`, `max_compile_time`).
    #[error("{0}")]
    CompileLimit(String),
    /// An import could not be satisfied.
    #[error("{0}")]
    Link(String),
    /// Instantiation failed (a segment out of bounds, a resource limit, …).
    #[error("{0}")]
    Instantiation(String),
    /// A value, handle or argument did not fit what the callee expects.
    #[error("{0}")]
    Usage(String),
    /// The configured compiler tier is not available: not built in (ward's `cranelift` feature),
    /// or unable to compile for the host.
    #[error("{0}")]
    CompilerUnavailable(String),
    /// An error raised by a host function, or any other error converted into a ward error (an
    /// [`anyhow::Error`], an [`std::io::Error`], [`format_err!`](crate::format_err)). Calls return
    /// it unchanged, so a host function's error comes back to the code that called into Wasm.
    #[error(transparent)]
    Host(anyhow::Error),
    /// A Wasm exception was thrown and not caught. A host function may return this error to throw
    /// (or rethrow) the exception into its Wasm caller.
    #[error("{0}")]
    Exception(crate::handle::ExnRef),
    /// A host function ended the guest with an exit code (WASI `proc_exit`).
    #[error("exit with code {0}")]
    Exit(i32),
    /// A snapshot could not be taken, or a snapshot file does not fit this store (see
    /// [`Store::snapshot`](crate::Store::snapshot)).
    #[error("snapshot: {0}")]
    Snapshot(String),
}

impl Error {
    /// An error raised by host code with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::Host(anyhow::Error::msg(message.to_string()))
    }

    /// The error's value of type `E`, if it holds one: the [`Trap`], its [`TrapKind`] or its
    /// [`WasmBacktrace`] for a trap, the [`ExnRef`](crate::ExnRef) of an uncaught exception, the
    /// error a host function raised (looked up as [`anyhow::Error::downcast_ref`] does, through
    /// its context), or the `Error` itself. This is how Wasmtime code gets at a trap:
    /// `err.downcast_ref::<Trap>()`.
    pub fn downcast_ref<E>(&self) -> Option<&E>
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        if let Some(me) = (self as &dyn Any).downcast_ref::<E>() {
            return Some(me);
        }
        match self {
            Error::Trap(trap) => {
                let candidates: [&dyn Any; 3] = [trap, &trap.kind, &trap.backtrace];
                let dump = trap.coredump.as_deref().map(|d| d as &dyn Any);
                candidates
                    .into_iter()
                    .chain(dump)
                    .find_map(|c| c.downcast_ref::<E>())
            }
            Error::Exception(exn) => (exn as &dyn Any).downcast_ref::<E>(),
            Error::Host(inner) => inner.downcast_ref::<E>().or_else(|| {
                inner
                    .downcast_ref::<Error>()
                    .and_then(|wrapped| wrapped.downcast_ref::<E>())
            }),
            _ => None,
        }
    }

    /// Whether [`Error::downcast_ref`] finds a value of type `E`.
    pub fn is<E>(&self) -> bool
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.downcast_ref::<E>().is_some()
    }

    /// The error's value of type `E` (see [`Error::downcast_ref`]), or the error itself if it holds
    /// none: `let trap = err.downcast::<Trap>()?;`.
    pub fn downcast<E>(self) -> std::result::Result<E, Error>
    where
        E: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        /// `value` as an `E`, or `value` back.
        fn take<E: 'static, V: 'static>(value: V) -> std::result::Result<E, V> {
            let boxed: Box<dyn Any> = Box::new(value);
            match boxed.downcast::<E>() {
                Ok(e) => Ok(*e),
                Err(boxed) => Err(*boxed.downcast::<V>().expect("the box holds a V")),
            }
        }
        match self {
            Error::Trap(trap) => {
                let trap = match take::<E, Trap>(trap) {
                    Ok(e) => return Ok(e),
                    Err(trap) => trap,
                };
                if let Ok(e) = take::<E, TrapKind>(trap.kind) {
                    return Ok(e);
                }
                if std::any::TypeId::of::<E>() == std::any::TypeId::of::<WasmBacktrace>() {
                    let Trap {
                        kind,
                        backtrace,
                        coredump,
                    } = trap;
                    return take::<E, WasmBacktrace>(backtrace).map_err(|backtrace| {
                        Error::Trap(Trap {
                            kind,
                            backtrace,
                            coredump,
                        })
                    });
                }
                Err(Error::Trap(trap))
            }
            Error::Exception(exn) => {
                take::<E, crate::handle::ExnRef>(exn).map_err(Error::Exception)
            }
            Error::Host(inner) => match inner.downcast::<E>() {
                Ok(e) => Ok(e),
                Err(inner) => match inner.downcast::<Error>() {
                    Ok(wrapped) => wrapped.downcast::<E>(),
                    Err(inner) => Err(Error::Host(inner)),
                },
            },
            other => take::<E, Error>(other),
        }
    }

    /// The trap, if this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn invalid(e: wasmparser::BinaryReaderError) -> Self {
        Error::Invalid {
            message: e.message().to_string(),
            offset: e.offset() as usize,
        }
    }
}

impl From<anyhow::Error> for Error {
    /// A ward error that travelled through `anyhow` (a host function that called into Wasm and
    /// passed its error on with `?`) comes back as itself, so a trap stays a trap; any other error
    /// becomes [`Error::Host`].
    fn from(error: anyhow::Error) -> Error {
        let is_plain_ward_error = error
            .downcast_ref::<Error>()
            .is_some_and(|inner| inner.to_string() == error.to_string());
        if is_plain_ward_error {
            return error
                .downcast::<Error>()
                .expect("checked by downcast_ref above");
        }
        match error.downcast::<Trap>() {
            Ok(trap) => Error::Trap(trap),
            Err(error) => Error::Host(error),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error::Host(error.into())
    }
}

impl From<TrapKind> for Error {
    fn from(kind: TrapKind) -> Error {
        Error::Trap(kind.into())
    }
}

/// A ward [`Error`] with a formatted message, or made from an error value, as
/// `anyhow::format_err!`/`anyhow!` make one: `format_err!("bad value {v}")`.
#[macro_export]
macro_rules! format_err {
    ($($arg:tt)*) => {
        $crate::Error::from($crate::__private::anyhow::anyhow!($($arg)*))
    };
}

/// Returns early with a [`format_err!`] error, converted into the function's error type (a ward
/// `Error`, or an `anyhow::Error`): `bail!("unknown mode {mode}")`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err(::core::convert::From::from($crate::format_err!($($arg)*)))
    };
}

/// Returns early with a [`format_err!`] error unless the condition holds:
/// `ensure!(len <= 64, "name too long: {len}")`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr $(,)?) => {
        if !$cond {
            $crate::bail!(::core::concat!("condition failed: `", ::core::stringify!($cond), "`"))
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::bail!($($arg)+)
        }
    };
}

/// The ward result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
