//! The GC heap: the structs and arrays of the Wasm GC proposal and thrown exceptions as objects of
//! a store, and the collector.
//!
//! How references are encoded in slots and how struct fields are laid out is in `gc_repr` (the
//! engine and the translator need it too); this module is the runtime side.
//!
//! # Objects
//!
//! An object records its canonical type id (casts compare it with the engine's subtype relation),
//! what it is ([`ObjectKind`]: a struct with the mask of its words that hold references, an array
//! with its element storage and length, or an exception with its tag) and its contents as 64-bit
//! words, laid out as `gc_repr` describes. An exception's words are its payload slots, and an
//! `exnref` slot holds its handle, so exceptions are collected like everything else. Objects never
//! move; a handle is an index into the heap's object table, reused after the object is collected.
//!
//! # Collection
//!
//! Mark-sweep, non-moving, triggered on allocation: when the bytes allocated since the last
//! collection would pass the next threshold (twice the live bytes after the last collection, at
//! least 1 MiB), the heap is collected first. If the heap would still exceed
//! [`Config::max_gc_heap`](crate::Config::max_gc_heap) the allocation traps with
//! [`TrapKind::GcHeapExhausted`](crate::TrapKind::GcHeapExhausted). With a resource limiter
//! installed, the heap also asks it for room ([`ResourceLimiter::gc_heap_growing`](crate::ResourceLimiter::gc_heap_growing), in 64 KiB
//! steps) when an allocation passes what it granted so far; when the limiter refuses, the heap
//! collects and asks once more for what is still missing before the allocation traps.
//!
//! Roots are found **conservatively**: slots are untyped, so every word of the live part of each
//! interpreter value stack (the running activation up to the top of its current frame, and every
//! activation suspended in a host call), every global, table element and element segment item is
//! treated as a possible reference. A word that decodes to the handle of a live object (exactly,
//! after removing [`EXTERNALIZED`]) keeps that object alive. An integer that happens to equal a
//! handle only retains garbage longer; a real reference is never missed, and since objects never
//! move nothing has to be rewritten. Inside the heap, tracing is **precise**: only the words an
//! object's kind marks as references are followed (a struct's reference fields, the elements of an
//! array of references, an exception's payload), so arrays of numbers, however large, cost the mark
//! phase nothing and numbers in objects never retain garbage.
//!
//! References handed to the host as [`Val`](crate::Val)s (`AnyRef`, `ExnRef`: call results,
//! global and table reads, exception payloads, uncaught exceptions, a host function's parameters)
//! are roots too, kept last in, first out in `StoreInner::host_roots`: those made during a host
//! function call are released when it returns, those made inside a [`RootScope`](crate::RootScope)
//! when it is dropped, and the others when the store is dropped (Wasmtime's `Rooted` model); an
//! [`OwnedRooted`](crate::OwnedRooted) keeps its object alive until its last clone is dropped.
//!
//! Used by the executor (allocation and field access instructions), instantiation (constant
//! expressions), `exception` and `values` (host views). The store (`runtime::store`) owns the heap.

use std::ptr::NonNull;

use crate::gc_repr::{EXTERNALIZED, Layout, Storage, TRACE_ALL, TraceMask};
use crate::types::TypeId;

/// What a heap object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    /// A struct and the words of it that hold references.
    Struct { trace: TraceMask },
    /// An array: the storage of its elements and their number.
    Array { storage: Storage, len: u32 },
    /// A thrown exception of store tag `tag`; its words are the payload slots.
    Exception { tag: u32 },
}

/// Words an array of `len` elements of `storage` takes.
pub(crate) fn array_words(storage: Storage, len: usize) -> Option<usize> {
    Some(len.checked_mul(storage.size())?.div_ceil(8))
}

/// Words an object keeps inside its table entry instead of in a separate allocation.
const INLINE_WORDS: usize = 2;

/// An object's contents: up to [`INLINE_WORDS`] words inline (most structs: no allocation of their
/// own, which halved the memory of a million small structs), more on the heap. Used as a slice.
#[derive(Debug, Clone)]
pub(crate) enum Words {
    Inline { len: u8, words: [u64; INLINE_WORDS] },
    Heap(Box<[u64]>),
}

impl Words {
    /// `len` zero words.
    pub fn zeroed(len: usize) -> Words {
        if len <= INLINE_WORDS {
            Words::Inline {
                len: len as u8,
                words: [0; INLINE_WORDS],
            }
        } else {
            Words::Heap(vec![0; len].into_boxed_slice())
        }
    }
}

impl From<&[u64]> for Words {
    fn from(slice: &[u64]) -> Words {
        if slice.len() <= INLINE_WORDS {
            let mut words = [0; INLINE_WORDS];
            words[..slice.len()].copy_from_slice(slice);
            Words::Inline {
                len: slice.len() as u8,
                words,
            }
        } else {
            Words::Heap(slice.into())
        }
    }
}

impl From<Vec<u64>> for Words {
    fn from(vec: Vec<u64>) -> Words {
        if vec.len() <= INLINE_WORDS {
            Words::from(&vec[..])
        } else {
            Words::Heap(vec.into_boxed_slice())
        }
    }
}

impl From<Box<[u64]>> for Words {
    fn from(boxed: Box<[u64]>) -> Words {
        if boxed.len() <= INLINE_WORDS {
            Words::from(&boxed[..])
        } else {
            Words::Heap(boxed)
        }
    }
}

impl std::ops::Deref for Words {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        match self {
            Words::Inline { len, words } => &words[..*len as usize],
            Words::Heap(words) => words,
        }
    }
}

impl std::ops::DerefMut for Words {
    fn deref_mut(&mut self) -> &mut [u64] {
        match self {
            Words::Inline { len, words } => &mut words[..*len as usize],
            Words::Heap(words) => words,
        }
    }
}

/// A struct, array or exception on the heap.
///
/// Contents are words; a field or element of `size` bytes at byte offset `at` (a multiple of its
/// size, or of 8 for a `v128`) lives in word `at / 8` at bit `(at % 8) * 8`, little-endian in the
/// arithmetic sense. A packed value never straddles two words, and a data segment's bytes, read as
/// little-endian words, are exactly the words of an array made from it.
#[derive(Debug)]
pub(crate) struct GcObject {
    pub ty: TypeId,
    pub kind: ObjectKind,
    pub words: Words,
}

/// The low `size` bytes of a value.
fn size_mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

/// Reads the value of `storage` at byte offset `at` of `words` (zero-extended), if in bounds.
pub(crate) fn read_value(words: &[u64], at: usize, storage: Storage) -> Option<u128> {
    let word = at / 8;
    match storage {
        Storage::V128 => {
            let pair = words.get(word..word + 2)?;
            Some(pair[0] as u128 | (pair[1] as u128) << 64)
        }
        _ => {
            let shift = (at % 8) * 8;
            Some(((words.get(word)? >> shift) & size_mask(storage.size())) as u128)
        }
    }
}

/// Writes `value` (its low bytes) as `storage` at byte offset `at` of `words`, if in bounds.
pub(crate) fn write_value(
    words: &mut [u64],
    at: usize,
    storage: Storage,
    value: u128,
) -> Option<()> {
    let word = at / 8;
    match storage {
        Storage::V128 => {
            let pair = words.get_mut(word..word + 2)?;
            pair[0] = value as u64;
            pair[1] = (value >> 64) as u64;
        }
        Storage::I64 | Storage::Ref => *words.get_mut(word)? = value as u64,
        packed => {
            let shift = (at % 8) * 8;
            let mask = size_mask(packed.size()) << shift;
            let w = words.get_mut(word)?;
            *w = (*w & !mask) | ((value as u64) << shift & mask);
        }
    }
    Some(())
}

/// A value of `storage` read from interpreter slots (two for a `v128`).
pub(crate) fn from_slots(slots: &[u64], storage: Storage) -> u128 {
    match (storage, slots) {
        (Storage::V128, [lo, hi, ..]) => *lo as u128 | (*hi as u128) << 64,
        (_, [v, ..]) => *v as u128,
        _ => 0,
    }
}

/// The words of a struct of `layout` whose field values are in `slots`, in field order.
pub(crate) fn struct_words(layout: &Layout, slots: &[u64]) -> Words {
    let Layout::Struct {
        fields,
        offsets,
        words,
        slot_order,
        ..
    } = layout
    else {
        unreachable!("a struct layout")
    };
    if *slot_order {
        return slots.into();
    }
    let mut out = Words::zeroed(*words as usize);
    let mut slot = 0;
    for (storage, at) in fields.iter().zip(offsets.iter()) {
        let value = from_slots(&slots[slot..], *storage);
        write_value(&mut out, *at as usize, *storage, value).expect("the layout's own offsets");
        slot += storage.slots();
    }
    out
}

/// The words of an array of `len` elements, each `value`.
pub(crate) fn repeated_words(storage: Storage, len: usize, value: u128) -> Option<Words> {
    let words = array_words(storage, len)?;
    let out = match storage {
        Storage::V128 => {
            let mut out = Vec::with_capacity(words);
            for _ in 0..len {
                out.extend_from_slice(&[value as u64, (value >> 64) as u64]);
            }
            out
        }
        _ => {
            // The element repeated across a word; padding after the last element is unobservable.
            vec![pattern_word(value as u64, storage.size()); words]
        }
    };
    Some(out.into())
}

/// `value` repeated across a word for elements of `size < 8` bytes.
fn pattern_word(value: u64, size: usize) -> u64 {
    let mut pattern = value & size_mask(size);
    let mut filled = size;
    while filled < 8 {
        pattern |= pattern << (filled * 8);
        filled *= 2;
    }
    pattern
}

/// Sets elements `start..start + n` of an array of `storage` to `value` (the caller checked the
/// range): element by element at the ends, whole words of the repeated value in between.
pub(crate) fn fill_elements(
    words: &mut [u64],
    storage: Storage,
    start: usize,
    n: usize,
    value: u128,
) {
    let size = storage.size();
    if size >= 8 {
        for i in start..start + n {
            write_value(words, i * size, storage, value).expect("in bounds");
        }
        return;
    }
    let (mut at, end) = (start * size, (start + n) * size);
    while at < end && at % 8 != 0 {
        write_value(words, at, storage, value).expect("in bounds");
        at += size;
    }
    let whole = (end - at) / 8;
    words[at / 8..at / 8 + whole].fill(pattern_word(value as u64, size));
    at += whole * 8;
    while at < end {
        write_value(words, at, storage, value).expect("in bounds");
        at += size;
    }
}

/// The words of an array made of the little-endian bytes `data` (whole elements; see [`GcObject`]).
pub(crate) fn words_of_bytes(data: &[u8]) -> Words {
    data.chunks(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(word)
        })
        .collect::<Vec<u64>>()
        .into()
}

/// Byte `at` of `words` (see [`GcObject`]).
fn byte_at(words: &[u64], at: usize) -> u8 {
    (words[at / 8] >> ((at % 8) * 8)) as u8
}

fn set_byte(words: &mut [u64], at: usize, byte: u8) {
    let shift = (at % 8) * 8;
    let w = &mut words[at / 8];
    *w = (*w & !(0xff << shift)) | (byte as u64) << shift;
}

/// Copies `bytes` into `words` from byte offset `at` (the caller checked the range).
pub(crate) fn write_bytes(words: &mut [u64], at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        set_byte(words, at + i, *b);
    }
}

/// Whether byte offsets `src` and `dst` and length `len` are all whole words.
fn whole_words(src: usize, dst: usize, len: usize) -> bool {
    (src | dst | len).is_multiple_of(8)
}

/// Copies `len` bytes within `words` from byte offset `src` to `dst`, as `memmove` does (the caller
/// checked both ranges). Whole-word copies when the offsets and length allow.
pub(crate) fn copy_bytes_within(words: &mut [u64], src: usize, dst: usize, len: usize) {
    if whole_words(src, dst, len) {
        words.copy_within(src / 8..(src + len) / 8, dst / 8);
    } else if dst <= src {
        for i in 0..len {
            let b = byte_at(words, src + i);
            set_byte(words, dst + i, b);
        }
    } else {
        for i in (0..len).rev() {
            let b = byte_at(words, src + i);
            set_byte(words, dst + i, b);
        }
    }
}

/// Copies `len` bytes from byte offset `src` of `from` to byte offset `dst` of `to` (the caller
/// checked both ranges).
pub(crate) fn copy_bytes(from: &[u64], src: usize, to: &mut [u64], dst: usize, len: usize) {
    if whole_words(src, dst, len) {
        to[dst / 8..(dst + len) / 8].copy_from_slice(&from[src / 8..(src + len) / 8]);
    } else {
        for i in 0..len {
            set_byte(to, dst + i, byte_at(from, src + i));
        }
    }
}

impl GcObject {
    /// Bytes an object of `words` words is counted for: its entry in the heap, and its words when
    /// they do not fit inside the entry.
    fn size_bytes(words: usize) -> usize {
        let outside = if words <= INLINE_WORDS { 0 } else { words };
        outside.saturating_mul(8).saturating_add(OBJECT_OVERHEAD)
    }

    /// Number of elements of an array (of words of anything else).
    pub fn len(&self) -> usize {
        match self.kind {
            ObjectKind::Array { len, .. } => len as usize,
            _ => self.words.len(),
        }
    }

    /// Calls `visit` with each word the collector must treat as a reference.
    fn for_each_traced(&self, mut visit: impl FnMut(u64)) {
        let mask = match self.kind {
            ObjectKind::Struct { trace } => trace,
            ObjectKind::Array {
                storage: Storage::Ref,
                ..
            }
            | ObjectKind::Exception { .. } => TRACE_ALL,
            ObjectKind::Array { .. } => return,
        };
        if mask == TRACE_ALL {
            self.words.iter().for_each(|w| visit(*w));
        } else {
            let mut rest = mask;
            while rest != 0 {
                let i = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                if let Some(w) = self.words.get(i) {
                    visit(*w);
                }
            }
        }
    }
}

/// Bytes of bookkeeping per object: its table entry, generation and mark.
const OBJECT_OVERHEAD: usize = size_of::<Option<GcObject>>() + size_of::<u32>() + size_of::<bool>();

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
    /// Bytes the store's resource limiter has granted the heap (`usize::MAX` without a limiter):
    /// an allocation that would pass it first asks for more (see [`GcHeap::needs_grant`]).
    granted: usize,
    /// Completed collections (for tests and diagnostics).
    pub collections: u64,
}

/// The heap asks a resource limiter for room in steps of this many bytes (a Wasm page), so that a
/// growing heap does not consult it at every allocation.
const GRANT_STEP: usize = 64 << 10;

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
            granted: usize::MAX,
            collections: 0,
        }
    }

    /// Every heap slot (an object, or `None` for a free one), each slot's generation and the free
    /// list: what a snapshot writes.
    pub fn parts(&self) -> (&[Option<GcObject>], &[u32], &[u32]) {
        (&self.objects, &self.generations, &self.free)
    }

    /// Bytes the objects of `objects` count against the heap's limit.
    pub fn bytes_of(objects: &[Option<GcObject>]) -> usize {
        objects
            .iter()
            .flatten()
            .map(|o| GcObject::size_bytes(o.words.len()))
            .sum()
    }

    /// Replaces the heap's contents with restored ones, which the caller checked: each free-list
    /// entry names an empty slot, each generation is within the generation mask, and the objects
    /// fit the limit ([`GcHeap::bytes_of`]).
    pub fn restore(
        &mut self,
        objects: Vec<Option<GcObject>>,
        generations: Vec<u32>,
        free: Vec<u32>,
    ) {
        let bytes = Self::bytes_of(&objects);
        self.objects = objects;
        self.generations = generations;
        self.free = free;
        self.bytes = bytes;
        self.threshold = bytes
            .saturating_mul(2)
            .max(MIN_THRESHOLD)
            .min(self.limit)
            .max(bytes);
        self.marks.clear();
    }

    /// The grant a heap holding `total` bytes would need from the resource limiter beyond what it
    /// has, as `needs_grant_for` reports it (for a heap about to be replaced by a restored one).
    pub fn needs_grant_total(&self, total: usize) -> Option<(usize, usize)> {
        (total > self.granted).then(|| {
            let desired = total
                .checked_next_multiple_of(GRANT_STEP)
                .unwrap_or(usize::MAX);
            (self.granted, desired)
        })
    }

    /// The heap's limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The largest generation a heap slot can have.
    pub const MAX_GENERATION: u32 = GENERATION_MASK;

    /// A resource limiter now decides how far the heap may grow: it will be asked for everything
    /// the heap holds, from nothing.
    pub fn limit_by_grants(&mut self) {
        self.granted = 0;
    }

    /// When an object of `words` words would take the heap past what the resource limiter granted:
    /// the current grant and the one to ask for. The heap's grant is its high-water mark, like a
    /// memory's size: collections do not give it back.
    pub fn needs_grant(&self, words: usize) -> Option<(usize, usize)> {
        self.needs_grant_for(GcObject::size_bytes(words))
    }

    /// When the heap's objects and `extra` more bytes are past its grant: as [`GcHeap::needs_grant`].
    pub fn needs_grant_for(&self, extra: usize) -> Option<(usize, usize)> {
        let needed = self.bytes.saturating_add(extra);
        (needed > self.granted).then(|| {
            let desired = needed
                .checked_next_multiple_of(GRANT_STEP)
                .unwrap_or(usize::MAX);
            (self.granted, desired)
        })
    }

    /// Records a grant of `bytes` from the resource limiter.
    pub fn grant(&mut self, bytes: usize) {
        self.granted = self.granted.max(bytes);
    }

    /// Whether an object of `words` words should be preceded by a collection.
    pub fn wants_collection(&self, words: usize) -> bool {
        self.bytes.saturating_add(GcObject::size_bytes(words)) > self.threshold
    }

    /// Whether an object of `words` words fits under the heap limit.
    pub fn fits(&self, words: usize) -> bool {
        let outside = if words <= INLINE_WORDS { 0 } else { words };
        outside
            .checked_mul(8)
            .and_then(|b| b.checked_add(OBJECT_OVERHEAD))
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
        handle_in(&self.objects, &self.generations, raw)
    }

    /// The object a slot value refers to.
    pub fn get(&self, raw: u64) -> Option<&GcObject> {
        self.objects[self.handle(raw)?].as_ref()
    }

    pub fn get_mut(&mut self, raw: u64) -> Option<&mut GcObject> {
        let index = self.handle(raw)?;
        self.objects[index].as_mut()
    }

    /// Two different objects, the first shared and the second mutable.
    pub fn get_pair_mut(&mut self, a: u64, b: u64) -> Option<(&GcObject, &mut GcObject)> {
        let (i, j) = (self.handle(a)?, self.handle(b)?);
        if i == j {
            return None;
        }
        let (low, high) = self.objects.split_at_mut(i.max(j));
        let (first, second) = if i < j {
            (low[i].as_ref()?, high[0].as_mut()?)
        } else {
            (high[0].as_ref()?, low[j].as_mut()?)
        };
        Some((first, second))
    }

    /// Marks the objects that `roots` (each word a possible reference) name and queues them on
    /// `work` for [`GcHeap::trace`].
    fn mark_roots(&mut self, roots: &[u64], work: &mut Vec<usize>) {
        for &raw in roots {
            if let Some(i) = self.handle(raw)
                && !self.marks[i]
            {
                self.marks[i] = true;
                work.push(i);
            }
        }
    }

    /// Marks everything reachable from the objects on `work`.
    fn trace(&mut self, work: &mut Vec<usize>) {
        while let Some(i) = work.pop() {
            let object = self.objects[i].as_ref().expect("marked objects are live");
            let (objects, generations, marks) = (&self.objects, &self.generations, &mut self.marks);
            object.for_each_traced(|raw| {
                if let Some(j) = handle_in(objects, generations, raw)
                    && !marks[j]
                {
                    marks[j] = true;
                    work.push(j);
                }
            });
        }
    }

    /// Frees every unmarked object and sets the next threshold.
    fn sweep(&mut self) {
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

    /// Mark-sweep from the root sets `roots` (every word is treated as a possible reference).
    pub fn collect<'a>(&mut self, roots: impl IntoIterator<Item = &'a [u64]>) {
        self.marks.clear();
        self.marks.resize(self.objects.len(), false);
        let mut work = Vec::new();
        for set in roots {
            self.mark_roots(set, &mut work);
            self.trace(&mut work);
        }
        self.sweep();
    }
}

/// The heap index `raw` names, if it is the handle of a live object of `objects`.
fn handle_in(objects: &[Option<GcObject>], generations: &[u32], raw: u64) -> Option<usize> {
    let raw = raw & !EXTERNALIZED;
    if raw & 3 != 0 {
        return None;
    }
    let index = usize::try_from(((raw >> 2) & u32::MAX as u64).checked_sub(1)?).ok()?;
    let generation = (raw >> GENERATION_SHIFT) as u32;
    if generations.get(index) != Some(&generation) {
        return None;
    }
    objects.get(index)?.as_ref().map(|_| index)
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
pub(crate) fn collect(store: &mut crate::runtime::store::StoreInner, current: &[u64]) {
    store.purge_parked();
    let suspended = store.suspended_stacks.iter().map(|stack| {
        // SAFETY: each entry names the live slots of an activation suspended in a host call; its
        // stack is owned by that activation's `invoke` call, which is still on the host stack, does
        // not touch its slots until the host returns, and removes the entry first (see
        // `exec::call_host_suspended`). The collector only reads the slots.
        unsafe { std::slice::from_raw_parts(stack.slots.as_ptr(), stack.live) }
    });
    // Stacks of async calls paused in host functions (those of dropped calls were dropped above).
    let parked = store
        .parked
        .iter()
        .map(|parked| &parked.stack.slots()[..parked.live]);
    let host_roots = store
        .host_roots
        .get_mut()
        .unwrap_or_else(|e| e.into_inner());
    store
        .owned_roots
        .retain(|(alive, _)| alive.strong_count() > 0);
    let owned: Vec<u64> = store.owned_roots.iter().map(|(_, raw)| *raw).collect();
    let globals: Vec<u64> = store.globals.iter().map(|g| g.value as u64).collect();
    let tables = store.tables.iter().map(|t| &t.elements[..]);
    let segments = store
        .instances
        .iter()
        .flat_map(|instance| instance.elems.iter().map(|s| &s[..]));
    let roots = std::iter::once(current)
        .chain(suspended)
        .chain(parked)
        .chain(std::iter::once(&host_roots[..]))
        .chain(std::iter::once(&owned[..]))
        .chain(std::iter::once(&globals[..]))
        .chain(tables)
        .chain(segments);
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
    let (kind, words) = match (request, &layout) {
        (ConstAlloc::Struct { fields, .. }, Layout::Struct { words, trace, .. }) => {
            let words = match fields {
                Some(values) => {
                    let mut slots = Vec::with_capacity(values.len() * 2);
                    let Layout::Struct {
                        fields: storage, ..
                    } = &layout
                    else {
                        unreachable!()
                    };
                    for (value, s) in values.iter().zip(storage.iter()) {
                        slots.push(*value as u64);
                        if *s == Storage::V128 {
                            slots.push((*value >> 64) as u64);
                        }
                    }
                    struct_words(&layout, &slots)
                }
                None => Words::zeroed(*words as usize),
            };
            (ObjectKind::Struct { trace: *trace }, words)
        }
        (ConstAlloc::Array { elems, .. }, Layout::Array(storage)) => {
            let len = elems.len();
            let mut out = vec![0; array_words(*storage, len).unwrap_or(0)];
            for (i, value) in elems.iter().enumerate() {
                write_value(&mut out, i * storage.size(), *storage, *value)
                    .expect("sized for the elements");
            }
            let len = u32::try_from(len).expect("validated: constant array sizes are small");
            (
                ObjectKind::Array {
                    storage: *storage,
                    len,
                },
                out.into(),
            )
        }
        (ConstAlloc::ArrayRepeat { init, len, .. }, Layout::Array(storage)) => {
            // Checked before the words are made: `len` comes from the module.
            let fits = array_words(*storage, len as usize).is_some_and(|w| heap.fits(w));
            let words = fits
                .then(|| repeated_words(*storage, len as usize, init))
                .flatten();
            let Some(words) = words else {
                return Err(crate::Error::Instantiation(
                    "GC heap exhausted while evaluating a constant expression".into(),
                ));
            };
            (
                ObjectKind::Array {
                    storage: *storage,
                    len,
                },
                words,
            )
        }
        _ => unreachable!("validated: the allocation matches its type's kind"),
    };
    if !heap.fits(words.len()) {
        return Err(crate::Error::Instantiation(
            "GC heap exhausted while evaluating a constant expression".into(),
        ));
    }
    Ok(heap.alloc(GcObject { ty, kind, words }))
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

#[cfg(test)]
mod tests {
    //! The collector on its own: what it frees, what it keeps, and how handles age.

    use super::*;

    fn ty() -> TypeId {
        TypeId {
            index: 0,
            generation: 0,
        }
    }

    /// A struct whose words at the positions of `trace` hold references.
    fn object(words: &[u64], trace: TraceMask) -> GcObject {
        GcObject {
            ty: ty(),
            kind: ObjectKind::Struct { trace },
            words: Words::from(words),
        }
    }

    fn array(storage: Storage, words: Vec<u64>) -> GcObject {
        let len = (words.len() * 8 / storage.size()) as u32;
        GcObject {
            ty: ty(),
            kind: ObjectKind::Array { storage, len },
            words: Words::from(words),
        }
    }

    #[test]
    fn objects_no_root_reaches_are_freed_and_reachable_ones_kept() {
        let mut heap = GcHeap::new(usize::MAX);
        let leaf = heap.alloc(object(&[7], 0));
        let middle = heap.alloc(object(&[leaf, 1], 0b01));
        let root = heap.alloc(object(&[middle], TRACE_ALL));
        let garbage = heap.alloc(object(&[leaf], TRACE_ALL));
        heap.collect([&[root][..]]);
        assert!(heap.get(root).is_some() && heap.get(middle).is_some());
        assert!(
            heap.get(leaf).is_some(),
            "reached through middle's traced word"
        );
        assert!(heap.get(garbage).is_none(), "no root reaches it");
        assert_eq!(heap.collections, 1);
    }

    #[test]
    fn words_outside_the_trace_mask_keep_nothing_alive() {
        let mut heap = GcHeap::new(usize::MAX);
        let target = heap.alloc(object(&[0], 0));
        // Word 0 is a number that happens to equal the target's handle; only word 1 is traced.
        let holder = heap.alloc(object(&[target, 0], 0b10));
        heap.collect([&[holder][..]]);
        assert!(heap.get(target).is_none());
        // The same bits in a traced word keep it.
        let target = heap.alloc(object(&[0], 0));
        let holder = heap.alloc(object(&[0, target], 0b10));
        heap.collect([&[holder][..]]);
        assert!(heap.get(target).is_some());
    }

    #[test]
    fn arrays_of_numbers_are_not_scanned_and_arrays_of_references_are() {
        let mut heap = GcHeap::new(usize::MAX);
        let a = heap.alloc(object(&[0], 0));
        let b = heap.alloc(object(&[0], 0));
        let numbers = heap.alloc(array(Storage::I64, vec![a, a, a]));
        let refs = heap.alloc(array(Storage::Ref, vec![0, b, 0]));
        heap.collect([&[numbers, refs][..]]);
        assert!(
            heap.get(a).is_none(),
            "an i64 array holds numbers, not references"
        );
        assert!(heap.get(b).is_some());
    }

    #[test]
    fn cycles_without_a_root_are_freed() {
        let mut heap = GcHeap::new(usize::MAX);
        let first = heap.alloc(object(&[0], TRACE_ALL));
        let second = heap.alloc(object(&[first], TRACE_ALL));
        heap.get_mut(first).unwrap().words[0] = second;
        heap.collect([&[first][..]]);
        assert!(heap.get(first).is_some() && heap.get(second).is_some());
        heap.collect(std::iter::empty::<&[u64]>());
        assert!(heap.get(first).is_none() && heap.get(second).is_none());
    }

    #[test]
    fn a_freed_slot_reused_does_not_answer_to_the_old_handle() {
        let mut heap = GcHeap::new(usize::MAX);
        let old = heap.alloc(object(&[1], 0));
        heap.collect(std::iter::empty::<&[u64]>());
        let new = heap.alloc(object(&[2], 0));
        assert_ne!(old, new, "the slot's generation advanced");
        assert!(heap.get(old).is_none(), "a stale handle names nothing");
        assert_eq!(&heap.get(new).unwrap().words[..], &[2]);
        // Numbers that are not handles (i31 values, tagged low bits, externalized bits) name nothing.
        assert!(heap.get(new | 1).is_none());
        assert!(heap.get(0).is_none());
    }

    #[test]
    fn the_heap_counts_live_bytes_against_its_limit() {
        let words = 4;
        let limit = GcObject::size_bytes(words) * 2;
        let mut heap = GcHeap::new(limit);
        assert!(heap.fits(words));
        let first = heap.alloc(object(&[0; 4], 0));
        assert!(heap.fits(words));
        let _second = heap.alloc(object(&[0; 4], 0));
        assert!(!heap.fits(words), "a third object passes the limit");
        // Collecting with only the first alive makes room again.
        heap.collect([&[first][..]]);
        assert!(heap.fits(words));
    }
}
