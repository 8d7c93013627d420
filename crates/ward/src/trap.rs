//! Traps and the library's error type.
//!
//! A [`Trap`] is what Wasm execution ends with when it cannot continue: it carries a [`TrapKind`] and a
//! [`WasmBacktrace`] built from the interpreter's frame chain. [`Error`] is the one error type of the public
//! API; it wraps traps, validation failures, link errors and errors raised by host functions.

use std::fmt;

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
    pub(crate) fn capture(depth: usize, mut frame: impl FnMut(usize) -> FrameInfo) -> Self {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    kind: TrapKind,
    backtrace: WasmBacktrace,
}

impl Trap {
    pub(crate) fn new(kind: TrapKind, backtrace: WasmBacktrace) -> Self {
        Trap { kind, backtrace }
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
    /// An error raised by a host function.
    #[error("{0}")]
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// A Wasm exception was thrown and not caught. A host function may return this error to throw
    /// (or rethrow) the exception into its Wasm caller.
    #[error("{0}")]
    Exception(crate::ExnRef),
    /// A host function ended the guest with an exit code (WASI `proc_exit`).
    #[error("exit with code {0}")]
    Exit(i32),
}

impl Error {
    /// An error raised by host code with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::Host(message.to_string().into())
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

/// The ward result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
