//! The GC heap: structs, arrays and `i31` values of the Wasm GC proposal, thrown exceptions, and the
//! collector.
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
//! An object records its canonical type id (casts compare it with the engine's subtype relation) and
//! its contents as 64-bit words: a struct's fields in declaration order (a `v128` field takes two
//! words, packed `i8`/`i16` fields one word holding the masked value), an array's elements likewise.
//! An exception is an object too (its tag and payload words), and an `exnref` slot holds its handle,
//! so exceptions are collected like everything else. Objects never move; a handle is an index into
//! the heap's object table, reused after the object is collected.
//!
//! # Collection
//!
//! Mark-sweep, non-moving, triggered on allocation: when the bytes allocated since the last
//! collection would pass the next threshold (twice the live bytes after the last collection, at
//! least 1 MiB), the heap is collected first. If the heap would still exceed
//! [`Config::max_gc_heap`](crate::Config::max_gc_heap) the allocation traps with
//! [`TrapKind::GcHeapExhausted`](crate::TrapKind::GcHeapExhausted).
//!
//! Roots are found **conservatively**: slots are untyped, so every word of the live part of each
//! interpreter value stack (the running activation up to the top of its current frame, and every
//! activation suspended in a host call), every global, table element and element segment item, and
//! every word of a reachable object (struct fields, array elements, exception payloads), is treated
//! as a possible reference. A word that decodes to the handle of a live object (exactly, after removing [`EXTERNALIZED`])
//! keeps that object alive. An integer that happens to equal a handle only retains garbage longer;
//! a real reference is never missed, and since objects never move nothing has to be rewritten.
//! References the host holds as [`Val`](crate::Val)s outside of a call are not roots yet: an
//! `AnyRef` or `ExnRef` (an uncaught exception) kept by the host across a later call that collects
//! may be freed; its handle then names nothing (the generation no longer matches), so passing it back
//! to Wasm or inspecting it fails with a usage error. Values passed to a host function stay rooted for the duration of that call (they are still in the
//! suspended stack).
//!
//! Used by the executor (allocation and field access instructions) and `values` (host views).

use std::ptr::NonNull;

use crate::trap::TrapKind;
use crate::types::TypeId;

/// Bit set on an `externref` slot that wraps an `anyref` (see the module docs).
pub(crate) const EXTERNALIZED: u64 = 1 << 63;

/// How a struct field or array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    I8,
    I16,
    /// A one-slot value (numbers and references).
    Narrow,
    /// A `v128`: two words.
    Wide,
}

impl Storage {
    pub fn from_wasm(ty: wasmparser::StorageType) -> Storage {
        match ty {
            wasmparser::StorageType::I8 => Storage::I8,
            wasmparser::StorageType::I16 => Storage::I16,
            wasmparser::StorageType::Val(wasmparser::ValType::V128) => Storage::Wide,
            wasmparser::StorageType::Val(_) => Storage::Narrow,
        }
    }

    /// Words taken in an object.
    pub fn words(self) -> usize {
        if self == Storage::Wide { 2 } else { 1 }
    }

    /// Keeps only the bits a packed field stores.
    pub fn pack(self, value: u64) -> u64 {
        match self {
            Storage::I8 => value & 0xff,
            Storage::I16 => value & 0xffff,
            _ => value,
        }
    }

    /// Sign-extends a packed value (for `get_s`).
    pub fn sign_extend(self, value: u64) -> u64 {
        match self {
            Storage::I8 => value as u8 as i8 as i32 as u32 as u64,
            Storage::I16 => value as u16 as i16 as i32 as u32 as u64,
            _ => value,
        }
    }
}

/// Layout of a struct or array type, kept by the engine's type registry.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    Struct {
        /// Storage of each field.
        fields: Box<[Storage]>,
        /// First word of each field.
        offsets: Box<[u32]>,
        /// Total words.
        words: u32,
    },
    Array(Storage),
}

impl Layout {
    /// The layout of a struct with fields stored as `fields`, laid out in order.
    pub fn of_struct(fields: Box<[Storage]>) -> Layout {
        let mut offsets = Vec::with_capacity(fields.len());
        let mut words = 0u32;
        for f in fields.iter() {
            offsets.push(words);
            words += f.words() as u32;
        }
        Layout::Struct {
            fields,
            offsets: offsets.into(),
            words,
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

/// What a heap object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    Struct,
    /// An array and the storage of its elements.
    Array(Storage),
    /// A thrown exception of store tag `tag`; its words are the payload slots.
    Exception {
        tag: u32,
    },
}

/// A struct, array or exception on the heap.
#[derive(Debug)]
pub(crate) struct GcObject {
    pub ty: TypeId,
    pub kind: ObjectKind,
    pub words: Box<[u64]>,
}

impl GcObject {
    fn size_bytes(words: usize) -> usize {
        32 + words * 8
    }

    /// Number of elements of an array.
    pub fn len(&self) -> usize {
        match self.kind {
            ObjectKind::Array(s) => self.words.len() / s.words(),
            _ => self.words.len(),
        }
    }
}

/// The per-store heap of GC objects.
pub(crate) struct GcHeap {
    objects: Vec<Option<GcObject>>,
    free: Vec<u32>,
    /// Bytes of live (or not yet collected) objects.
    bytes: usize,
    /// Collect before an allocation makes `bytes` pass this.
    threshold: usize,
    limit: usize,
    marks: Vec<bool>,
    /// Generation of each heap slot, advanced when its object is collected.
    generations: Vec<u32>,
    /// Completed collections (for tests and diagnostics).
    pub collections: u64,
}

const MIN_THRESHOLD: usize = 1 << 20;
/// Where a handle's generation starts, above the 32-bit index and the 2 tag bits.
const GENERATION_SHIFT: u32 = 34;
/// Generations wrap within 28 bits, below [`EXTERNALIZED`].
const GENERATION_MASK: u32 = (1 << 28) - 1;

impl GcHeap {
    pub fn new(limit: usize) -> GcHeap {
        GcHeap {
            objects: Vec::new(),
            free: Vec::new(),
            bytes: 0,
            threshold: MIN_THRESHOLD.min(limit),
            limit,
            marks: Vec::new(),
            generations: Vec::new(),
            collections: 0,
        }
    }

    /// Whether an object of `words` words should be preceded by a collection.
    pub fn wants_collection(&self, words: usize) -> bool {
        self.bytes.saturating_add(GcObject::size_bytes(words)) > self.threshold
    }

    /// Whether an object of `words` words fits under the heap limit.
    pub fn fits(&self, words: usize) -> bool {
        words
            .checked_mul(8)
            .and_then(|b| b.checked_add(32))
            .and_then(|b| b.checked_add(self.bytes))
            .is_some_and(|b| b <= self.limit)
    }

    /// Adds an object (the caller checked [`GcHeap::fits`]) and returns its slot encoding.
    pub fn alloc(&mut self, object: GcObject) -> u64 {
        self.bytes += GcObject::size_bytes(object.words.len());
        let index = match self.free.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(object);
                i
            }
            None => {
                self.objects.push(Some(object));
                self.generations.push(0);
                (self.objects.len() - 1) as u32
            }
        };
        (self.generations[index as usize] as u64) << GENERATION_SHIFT | (index as u64 + 1) << 2
    }

    /// The heap index a slot value refers to, if it is the handle of a live object.
    fn handle(&self, raw: u64) -> Option<usize> {
        let raw = raw & !EXTERNALIZED;
        if raw & 3 != 0 {
            return None;
        }
        let index = usize::try_from(((raw >> 2) & u32::MAX as u64).checked_sub(1)?).ok()?;
        let generation = (raw >> GENERATION_SHIFT) as u32;
        if self.generations.get(index) != Some(&generation) {
            return None;
        }
        self.objects.get(index)?.as_ref().map(|_| index)
    }

    /// The object a slot value refers to.
    pub fn get(&self, raw: u64) -> Option<&GcObject> {
        self.objects[self.handle(raw)?].as_ref()
    }

    pub fn get_mut(&mut self, raw: u64) -> Option<&mut GcObject> {
        let index = self.handle(raw)?;
        self.objects[index].as_mut()
    }

    /// Mark-sweep from `roots` (every word is treated as a possible reference).
    pub fn collect(&mut self, roots: impl IntoIterator<Item = u64>) {
        self.marks.clear();
        self.marks.resize(self.objects.len(), false);
        let mut work: Vec<usize> = Vec::new();
        for raw in roots {
            if let Some(i) = self.handle(raw)
                && !self.marks[i]
            {
                self.marks[i] = true;
                work.push(i);
            }
        }
        while let Some(i) = work.pop() {
            let object = self.objects[i].as_ref().expect("marked objects are live");
            for &raw in object.words.iter() {
                if let Some(j) = self.handle(raw)
                    && !self.marks[j]
                {
                    self.marks[j] = true;
                    work.push(j);
                }
            }
        }
        let mut live = 0;
        for (i, slot) in self.objects.iter_mut().enumerate() {
            if let Some(object) = slot {
                if self.marks[i] {
                    live += GcObject::size_bytes(object.words.len());
                } else {
                    *slot = None;
                    self.generations[i] = (self.generations[i] + 1) & GENERATION_MASK;
                    self.free.push(i as u32);
                }
            }
        }
        self.bytes = live;
        self.threshold = live
            .saturating_mul(2)
            .max(MIN_THRESHOLD)
            .min(self.limit)
            .max(live);
        self.collections += 1;
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

/// Reads element or field words `at..at + storage.words()`; traps on a bad index.
pub(crate) fn read_words(object: &GcObject, at: usize, storage: Storage) -> Result<u128, TrapKind> {
    let words = object
        .words
        .get(at..at + storage.words())
        .ok_or(TrapKind::ArrayOutOfBounds)?;
    Ok(match words {
        [lo, hi] => *lo as u128 | (*hi as u128) << 64,
        [w] => *w as u128,
        _ => 0,
    })
}

/// The live slots of an activation suspended in a host call: roots for the collector.
///
/// `slots` is the activation's own base pointer into its value stack (from the one `as_mut_ptr` the
/// executor takes when the activation starts), so the collector reads the slots with that
/// allocation's provenance rather than through an address turned back into a pointer.
pub(crate) struct SuspendedStack {
    pub slots: NonNull<u64>,
    /// Slots from `slots` that hold values (up to the end of the host call's arguments).
    pub live: usize,
}

// SAFETY: an entry is only dereferenced by `collect`, through the `&mut StoreInner` that owns the
// list, while the activation it names is suspended on the same thread's host stack; moving the
// store to another thread moves no access to the slots with it.
unsafe impl Send for SuspendedStack {}

/// Collects the store's heap. `current` is the live part of the running activation's value stack.
pub(crate) fn collect(store: &mut crate::store::StoreInner, current: &[u64]) {
    let mut roots: Vec<u64> = current.to_vec();
    for stack in &store.suspended_stacks {
        // SAFETY: each entry names the live slots of an activation suspended in a host call; its
        // stack is owned by that activation's `invoke` call, which is still on the host stack, does
        // not touch its slots until the host returns, and removes the entry first (see
        // `exec::call_host_suspended`).
        let slots = unsafe { std::slice::from_raw_parts(stack.slots.as_ptr(), stack.live) };
        roots.extend_from_slice(slots);
    }
    for global in &store.globals {
        roots.push(global.value as u64);
    }
    for table in &store.tables {
        roots.extend_from_slice(&table.elements);
    }
    for instance in &store.instances {
        for segment in &instance.elems {
            roots.extend_from_slice(segment);
        }
    }
    store.gc.collect(roots);
}

/// Allocates an object for a constant expression during instantiation. No collection runs here (the
/// instance being built is not yet reachable from the store's roots); an object that does not fit
/// under the heap limit fails instantiation.
pub(crate) fn const_alloc(
    heap: &mut GcHeap,
    engine: &crate::Engine,
    type_ids: &[TypeId],
    request: crate::module::ConstAlloc<'_>,
) -> crate::Result<u64> {
    use crate::module::ConstAlloc;
    let ty_index = match request {
        ConstAlloc::Struct { ty, .. }
        | ConstAlloc::Array { ty, .. }
        | ConstAlloc::ArrayRepeat { ty, .. } => ty,
    };
    let ty = type_ids[ty_index as usize];
    let layout = engine
        .type_info(ty)
        .and_then(|i| i.layout)
        .expect("validated: struct or array type registered at compile time");
    let push = |out: &mut Vec<u64>, value: u128, storage: Storage| {
        out.push(value as u64);
        if storage == Storage::Wide {
            out.push((value >> 64) as u64);
        }
    };
    let (kind, words) = match (request, &layout) {
        (
            ConstAlloc::Struct { fields, .. },
            Layout::Struct {
                fields: storage,
                words,
                ..
            },
        ) => {
            let mut out = Vec::with_capacity(*words as usize);
            match fields {
                Some(values) => {
                    for (value, s) in values.iter().zip(storage.iter()) {
                        push(&mut out, *value, *s);
                    }
                }
                None => out.resize(*words as usize, 0),
            }
            (ObjectKind::Struct, out)
        }
        (ConstAlloc::Array { elems, .. }, Layout::Array(storage)) => {
            let mut out = Vec::with_capacity(elems.len() * storage.words());
            for value in elems {
                push(&mut out, *value, *storage);
            }
            (ObjectKind::Array(*storage), out)
        }
        (ConstAlloc::ArrayRepeat { init, len, .. }, Layout::Array(storage)) => {
            let words = (len as usize).saturating_mul(storage.words());
            if !heap.fits(words) {
                return Err(crate::Error::Instantiation(
                    "GC heap exhausted while evaluating a constant expression".into(),
                ));
            }
            let mut out = Vec::with_capacity(words);
            for _ in 0..len {
                push(&mut out, init, *storage);
            }
            (ObjectKind::Array(*storage), out)
        }
        _ => unreachable!("validated: the allocation matches its type's kind"),
    };
    if !heap.fits(words.len()) {
        return Err(crate::Error::Instantiation(
            "GC heap exhausted while evaluating a constant expression".into(),
        ));
    }
    Ok(heap.alloc(GcObject {
        ty,
        kind,
        words: words.into(),
    }))
}

/// Number of fields of struct type `type_index` of a module (0 for other types).
pub(crate) fn field_count(engine: &crate::Engine, type_ids: &[TypeId], type_index: u32) -> usize {
    match engine
        .type_info(type_ids[type_index as usize])
        .and_then(|i| i.layout)
    {
        Some(Layout::Struct { fields, .. }) => fields.len(),
        _ => 0,
    }
}
