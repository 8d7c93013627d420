//! The public description of Wasm types: values, references, functions, memories, tables and globals.
//!
//! Concrete type references carry a [`TypeId`], the engine-wide canonical identity of a type (equal ids mean
//! equivalent types, across modules of one [`Engine`](crate::Engine)). Also how many interpreter
//! slots a value of a type takes ([`slot_width`], [`slot_count`], [`push_slots`]), which the executor
//! and the host-facing conversions (`values`, `func`, `exception`) share.

use std::fmt;
use std::sync::Arc;

/// Engine-wide identity of a defined (concrete) type.
///
/// Structurally equal types (equal rec groups, as the spec defines type equivalence) of modules alive
/// in one engine at the same time have equal ids. A type is released when nothing uses it any more
/// (no module, store or other type); its id is then never given to another type, so an id kept
/// longer names nothing and equals no later type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeId {
    /// Slot in the engine's type registry.
    pub(crate) index: u32,
    /// Which of the slot's successive types this is.
    pub(crate) generation: u32,
}

/// A heap type: what a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum HeapType {
    Func,
    NoFunc,
    Extern,
    NoExtern,
    Any,
    Eq,
    I31,
    Struct,
    Array,
    None,
    Exn,
    NoExn,
    /// A defined type.
    Concrete(TypeId),
}

impl HeapType {
    /// The heap type of a validated abstract wasmparser heap type.
    pub(crate) fn from_abstract(ty: wasmparser::AbstractHeapType) -> HeapType {
        use wasmparser::AbstractHeapType as A;
        match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            // Stack switching is not enabled in the validator, so these never validate.
            A::Cont | A::NoCont => HeapType::None,
        }
    }

    /// The abstract wasmparser heap type of an abstract heap type; `None` for a defined type.
    pub(crate) fn to_abstract(self) -> Option<wasmparser::AbstractHeapType> {
        use wasmparser::AbstractHeapType as A;
        Some(match self {
            HeapType::Func => A::Func,
            HeapType::NoFunc => A::NoFunc,
            HeapType::Extern => A::Extern,
            HeapType::NoExtern => A::NoExtern,
            HeapType::Any => A::Any,
            HeapType::Eq => A::Eq,
            HeapType::I31 => A::I31,
            HeapType::Struct => A::Struct,
            HeapType::Array => A::Array,
            HeapType::None => A::None,
            HeapType::Exn => A::Exn,
            HeapType::NoExn => A::NoExn,
            HeapType::Concrete(_) => return None,
        })
    }
}

/// A reference type: nullability and heap type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a value of this type.
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };
    /// `anyref`.
    pub const ANYREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Any,
    };
    /// `exnref`.
    pub const EXNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Exn,
    };
}

/// The type of a Wasm value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    Ref(RefType),
}

impl ValType {
    /// `funcref`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `anyref`.
    pub const ANYREF: ValType = ValType::Ref(RefType::ANYREF);
    /// `exnref`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Whether values of this type hold references.
    pub fn is_ref(&self) -> bool {
        matches!(self, ValType::Ref(_))
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => {
                let heap = match r.heap {
                    HeapType::Func => "func",
                    HeapType::NoFunc => "nofunc",
                    HeapType::Extern => "extern",
                    HeapType::NoExtern => "noextern",
                    HeapType::Any => "any",
                    HeapType::Eq => "eq",
                    HeapType::I31 => "i31",
                    HeapType::Struct => "struct",
                    HeapType::Array => "array",
                    HeapType::None => "none",
                    HeapType::Exn => "exn",
                    HeapType::NoExn => "noexn",
                    HeapType::Concrete(_) => "<concrete>",
                };
                if r.nullable {
                    write!(f, "(ref null {heap})")
                } else {
                    write!(f, "(ref {heap})")
                }
            }
        }
    }
}

/// Interpreter slots a value of type `ty` takes: two for `v128`, one otherwise.
pub(crate) fn slot_width(ty: ValType) -> usize {
    if matches!(ty, ValType::V128) { 2 } else { 1 }
}

/// Interpreter slots a sequence of values takes.
pub(crate) fn slot_count(tys: &[ValType]) -> usize {
    tys.iter().map(|t| slot_width(*t)).sum()
}

/// Appends the raw slots of `raw`, a value of type `ty`.
pub(crate) fn push_slots(out: &mut Vec<u64>, raw: u128, ty: ValType) {
    out.push(raw as u64);
    if slot_width(ty) == 2 {
        out.push((raw >> 64) as u64);
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Arc<[ValType]>,
    results: Arc<[ValType]>,
}

impl FuncType {
    /// A signature from parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| {
            tys.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// A linear memory's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Whether addresses are 64-bit.
    pub memory64: bool,
    /// Initial size in pages (of [`MemoryType::page_size`] bytes).
    pub minimum: u64,
    /// Maximum size in pages.
    pub maximum: Option<u64>,
    /// log2 of the page size in bytes: 16 for the default 64 KiB pages, 0 for the 1-byte pages of
    /// the custom page sizes proposal ([`Config::wasm_custom_page_sizes`](crate::Config::wasm_custom_page_sizes)).
    pub page_size_log2: u32,
    /// Whether the memory is shared between threads (the threads proposal; needs a maximum).
    pub shared: bool,
}

impl MemoryType {
    /// A 32-bit memory with 64 KiB pages.
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        MemoryType {
            memory64: false,
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            page_size_log2: 16,
            shared: false,
        }
    }

    /// A 32-bit shared memory with 64 KiB pages (shared memories need a maximum).
    pub fn shared(minimum: u32, maximum: u32) -> Self {
        MemoryType {
            shared: true,
            ..MemoryType::new(minimum, Some(maximum))
        }
    }

    /// A 64-bit memory (memory64) with 64 KiB pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> Self {
        MemoryType {
            memory64: true,
            minimum,
            maximum,
            page_size_log2: 16,
            shared: false,
        }
    }

    /// This type with pages of `2^page_size_log2` bytes instead: 0 (1-byte pages, the custom page
    /// sizes proposal) or 16 (64 KiB, the default). Sizes in pages (`minimum`, `maximum`,
    /// [`Memory::size`](crate::Memory::size), [`Memory::grow`](crate::Memory::grow)) count pages
    /// of this size.
    pub fn with_page_size_log2(self, page_size_log2: u32) -> Self {
        MemoryType {
            page_size_log2,
            ..self
        }
    }

    /// The page size in bytes (0 for a `page_size_log2` of 64 or more, which no memory accepts).
    pub fn page_size(&self) -> u64 {
        1u64.checked_shl(self.page_size_log2).unwrap_or(0)
    }
}

/// A table's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Whether indices are 64-bit.
    pub table64: bool,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements.
    pub maximum: Option<u64>,
}

impl TableType {
    /// A 32-bit table.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> Self {
        TableType {
            element,
            table64: false,
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
        }
    }
}

/// Whether a global can be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// `const`.
    Const,
    /// `mut`.
    Var,
}

/// A global's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Mutability.
    pub mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(FuncType),
}

impl ExternType {
    /// A short name of the kind: "function", "table", "memory", "global" or "tag".
    pub fn kind_name(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}
