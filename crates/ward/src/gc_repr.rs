//! How GC values are represented, as far as the engine and the translator need to know: the slot
//! encoding of references (`i31`, heap handles, internalized and externalized host references) and
//! the layout of struct and array objects ([`Layout`], [`Storage`]).
//!
//! # Encoding of references in slots
//!
//! Values of the `any` hierarchy are untyped 64-bit slots like everything else:
//! - `0` is null;
//! - low bit `1`: an `i31` whose 31 bits sit above the tag bit;
//! - low bits `00` (not zero): a heap object, `generation << 34 | (heap index + 1) << 2`, where the
//!   28-bit generation of the heap slot changes each time an object there is collected, so a stale
//!   handle does not name the slot's next object;
//! - low bits `10`: a host `externref` internalized by `any.convert_extern`, `externref slot << 2 | 2`.
//!
//! `extern.convert_any` of a host extern's internalized form gives back the original `externref` slot;
//! of any other `anyref` it sets bit 63 ([`EXTERNALIZED`]), which no host `externref` slot has (those
//! are `store extern index + 1 < 2^32`), so `any.convert_extern` can undo it exactly.
//!
//! # Object layout
//!
//! Fields and elements take their own size ([`Storage::size`]): packed `i8` and `i16` one and two
//! bytes, `i32`/`f32` four, `i64`/`f64` and references a word, `v128` two words. Struct fields are
//! laid out in order, each aligned to its size, so references are whole words and a subtype keeps
//! its supertype's offsets ([`Layout::of_struct`]); a value never straddles two words.
//!
//! Plain data that names nothing else in the crate: the engine's type registry keeps a [`Layout`] per struct and array type,
//! the translator puts [`Storage`] and [`TraceMask`] into instructions, constant expressions encode
//! `i31` and converted references, and the runtime's heap (`runtime::gc`) stores objects by these
//! layouts.

/// Bit set on an `externref` slot that wraps an `anyref` (see the module docs).
pub(crate) const EXTERNALIZED: u64 = 1 << 63;

/// How a struct field or array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Packed `i8`: one byte.
    I8,
    /// Packed `i16`: two bytes.
    I16,
    /// `i32` or `f32`: four bytes.
    I32,
    /// `i64` or `f64`: one word.
    I64,
    /// A reference: one word, traced by the collector.
    Ref,
    /// A `v128`: two words.
    V128,
}

impl Storage {
    pub fn from_wasm(ty: wasmparser::StorageType) -> Storage {
        use wasmparser::ValType as V;
        match ty {
            wasmparser::StorageType::I8 => Storage::I8,
            wasmparser::StorageType::I16 => Storage::I16,
            wasmparser::StorageType::Val(V::I32 | V::F32) => Storage::I32,
            wasmparser::StorageType::Val(V::I64 | V::F64) => Storage::I64,
            wasmparser::StorageType::Val(V::V128) => Storage::V128,
            wasmparser::StorageType::Val(V::Ref(_)) => Storage::Ref,
        }
    }

    /// Interpreter slots a value of this storage takes (two for a `v128`).
    pub fn slots(self) -> usize {
        if self == Storage::V128 { 2 } else { 1 }
    }

    /// Bytes a field or element takes in an object (and an element in a data segment).
    pub fn size(self) -> usize {
        match self {
            Storage::I8 => 1,
            Storage::I16 => 2,
            Storage::I32 => 4,
            Storage::I64 | Storage::Ref => 8,
            Storage::V128 => 16,
        }
    }

    /// Sign-extends a packed value (for `get_s`) to an `i32` slot.
    pub fn sign_extend(self, value: u64) -> u64 {
        match self {
            Storage::I8 => value as u8 as i8 as i32 as u32 as u64,
            Storage::I16 => value as u16 as i16 as i32 as u32 as u64,
            _ => value,
        }
    }
}

/// Words of an object traced by the collector: bit `i` set means word `i` holds a reference.
/// [`TRACE_ALL`] traces every word (arrays of references, exception payloads, and structs with a
/// reference beyond the 63rd word, which are then traced conservatively like a stack).
pub(crate) type TraceMask = u64;

/// Trace every word of an object.
pub(crate) const TRACE_ALL: TraceMask = u64::MAX;

/// Layout of a struct or array type, kept by the engine's type registry.
///
/// Fields are laid out in declaration order, each aligned to its size (a `v128` to 8 bytes), so a
/// subtype, whose fields extend its supertype's, has the supertype's field offsets. References are
/// therefore word-aligned, and packed fields share words.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    Struct {
        /// Storage of each field.
        fields: Box<[Storage]>,
        /// Byte offset of each field.
        offsets: Box<[u32]>,
        /// Words of an object.
        words: u32,
        /// Words holding references.
        trace: TraceMask,
        /// Every field takes whole words, in the order (and number) of the slots that
        /// `struct.new` takes: the slots can be copied as they are.
        slot_order: bool,
    },
    Array(Storage),
}

impl Layout {
    /// The layout of a struct with fields stored as `fields`.
    pub fn of_struct(fields: Box<[Storage]>) -> Layout {
        let mut offsets = Vec::with_capacity(fields.len());
        let mut bytes = 0usize;
        let mut trace: TraceMask = 0;
        for f in fields.iter() {
            let align = f.size().min(8);
            bytes = bytes.next_multiple_of(align);
            offsets.push(bytes as u32);
            if *f == Storage::Ref {
                let word = bytes / 8;
                trace |= if word < 63 { 1 << word } else { TRACE_ALL };
            }
            bytes += f.size();
        }
        let slot_order = fields
            .iter()
            .all(|f| matches!(f, Storage::I64 | Storage::Ref | Storage::V128));
        Layout::Struct {
            fields,
            offsets: offsets.into(),
            words: bytes.div_ceil(8) as u32,
            trace,
            slot_order,
        }
    }

    /// Interpreter slots the fields of a struct take (what `struct.new` pops).
    pub fn slots(&self) -> usize {
        match self {
            Layout::Struct { fields, .. } => fields.iter().map(|f| f.slots()).sum(),
            Layout::Array(storage) => storage.slots(),
        }
    }

    pub fn from_composite(inner: &wasmparser::CompositeInnerType) -> Option<Layout> {
        match inner {
            wasmparser::CompositeInnerType::Struct(s) => Some(Layout::of_struct(
                s.fields
                    .iter()
                    .map(|f| Storage::from_wasm(f.element_type))
                    .collect(),
            )),
            wasmparser::CompositeInnerType::Array(a) => {
                Some(Layout::Array(Storage::from_wasm(a.0.element_type)))
            }
            _ => None,
        }
    }
}

/// Encodes an `i31` value.
pub(crate) fn i31_encode(value: u64) -> u64 {
    ((value as u32 & 0x7fff_ffff) as u64) << 1 | 1
}

/// Whether a non-null `any` slot value is an `i31`.
pub(crate) fn is_i31(raw: u64) -> bool {
    raw & 1 == 1
}

/// Whether a non-null `any` slot value is an internalized host `externref`.
pub(crate) fn is_host_any(raw: u64) -> bool {
    raw & 3 == 2
}

/// `any.convert_extern`.
pub(crate) fn internalize(raw: u64) -> u64 {
    if raw == 0 {
        0
    } else if raw & EXTERNALIZED != 0 {
        raw & !EXTERNALIZED
    } else {
        (raw << 2) | 2
    }
}

/// `extern.convert_any`.
pub(crate) fn externalize(raw: u64) -> u64 {
    if raw == 0 {
        0
    } else if is_host_any(raw) {
        raw >> 2
    } else {
        raw | EXTERNALIZED
    }
}
