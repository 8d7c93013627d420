//! The exception-handling and GC instructions, run out of line by their handlers (each an
//! `#[out_of_line]` handler in `fast` that calls [`execute`] through `ops::heap_op`), so that the
//! chained handlers of scalar code keep their registers. (When these ran inlined in one dispatch
//! `match`, the compiler spilled `ip` and `fp` around every instruction: callgrind, a 7-instruction
//! scalar loop went from 165 to 237 machine instructions per iteration.)
//!
//! Called by `ops` with the running frame, and by `exec` to grow the heap ([`make_room`]);
//! allocation collects through `gc::collect`.

use super::bytecode::{BranchOffset, CastIndex, GcOp, Instr, Slot};
use super::translate::SideTables;
use crate::gc_repr::{self, Storage};
use crate::runtime::gc::{self, GcObject, ObjectKind};
use crate::runtime::store::StoreInner;
use crate::trap::TrapKind;

/// How execution continues after an instruction run here.
pub(super) enum Outcome {
    /// With the next instruction.
    Next,
    /// At this instruction of the function.
    Jump(BranchOffset),
    /// By throwing this exception (heap handle).
    Throw(u64),
    /// With a trap.
    Trap(TrapKind),
    /// By making room for an object of `words` words beyond the GC heap's grant ([`make_room`]),
    /// and then running the same instruction again (it changed nothing yet), or trapping with
    /// [`TrapKind::GcHeapExhausted`] if there is none.
    GrowHeap { words: usize },
}

/// The running frame's slots.
#[derive(Clone, Copy)]
pub(super) struct GcFrame {
    pub slots: *mut u64,
    pub fp: usize,
    pub frame_size: usize,
}

impl GcFrame {
    /// Slot `s` of the frame.
    ///
    /// # Safety
    /// `slots[..fp + frame_size]` is valid for reads and `s < frame_size` (an operand slot of an
    /// instruction of the entered frame).
    pub unsafe fn get(self, s: Slot) -> u64 {
        debug_assert!(s.index() < self.frame_size);
        // SAFETY: the caller's contract.
        unsafe { *self.slots.add(self.fp + s.index()) }
    }

    /// Writes slot `s` of the frame.
    ///
    /// # Safety
    /// As for [`GcFrame::get`], for writes.
    pub unsafe fn set(self, s: Slot, v: u64) {
        debug_assert!(s.index() < self.frame_size);
        // SAFETY: the caller's contract.
        unsafe { *self.slots.add(self.fp + s.index()) = v }
    }
}

/// Executes an exception-handling or GC instruction (see the module docs for why here).
///
/// # Safety
/// As for [`heap_op`].
#[inline(never)]
pub(super) unsafe fn execute(
    store: &mut StoreInner,
    side_tables: &SideTables,
    instance: u32,
    frame: GcFrame,
    instr: &Instr,
) -> Outcome {
    let instr = *instr;
    // SAFETY: operand slots of an entered frame (the caller's contract).
    let get = |s: Slot| unsafe { frame.get(s) };
    // SAFETY: as for `get`.
    let set = |s: Slot, v: u64| unsafe { frame.set(s, v) };
    let test = |store: &StoreInner, cast: CastIndex, raw: u64| {
        super::cast::ref_test(store, raw, side_tables.casts[cast.index()])
    };
    use Instr as I;
    match instr {
        I::Throw { tag, base } => {
            // SAFETY: the caller's contract.
            match unsafe { new_exception(store, instance, frame, tag, base) } {
                Ok(exn) => return Outcome::Throw(exn),
                Err(outcome) => return outcome,
            }
        }
        I::ThrowRef { src } => {
            let raw = get(src);
            return if raw == 0 {
                Outcome::Trap(TrapKind::NullReference)
            } else {
                Outcome::Throw(raw)
            };
        }
        I::RefEq { dst, a, b } => set(dst, (get(a) == get(b)) as u64),
        I::RefI31 { dst, src } => set(dst, gc_repr::i31_encode(get(src))),
        I::I31GetS { dst, src } | I::I31GetU { dst, src } => {
            let raw = get(src);
            if raw == 0 {
                return Outcome::Trap(TrapKind::NullI31Reference);
            }
            let value = if matches!(instr, I::I31GetS { .. }) {
                ((raw as u32 as i32) >> 1) as u32 as u64
            } else {
                (raw >> 1) & 0x7fff_ffff
            };
            set(dst, value)
        }
        I::AnyConvertExtern { dst, src } => set(dst, gc_repr::internalize(get(src))),
        I::ExternConvertAny { dst, src } => set(dst, gc_repr::externalize(get(src))),
        I::RefTest { dst, src, cast } => set(dst, test(store, cast, get(src)) as u64),
        I::RefCast { src, cast } => {
            if !test(store, cast, get(src)) {
                return Outcome::Trap(TrapKind::CastFailure);
            }
        }
        I::BrOnCast { src, cast, target } => {
            if test(store, cast, get(src)) {
                return Outcome::Jump(target);
            }
        }
        I::BrOnCastFail { src, cast, target } => {
            if !test(store, cast, get(src)) {
                return Outcome::Jump(target);
            }
        }
        other => {
            // SAFETY: the caller's contract is `heap_op`'s.
            if let Err(outcome) = unsafe { heap_op(store, side_tables, instance, frame, other) } {
                return outcome;
            }
        }
    }
    Outcome::Next
}

/// Room for an object of `words` words beyond the GC heap's grant: asks the store's resource
/// limiter and, if it refuses, collects (roots: `live` and the rest of the store, as at any
/// collection) and asks again for what is still missing. `Ok(false)`: there is no room.
pub(super) fn make_room<E: super::host::Embedder>(
    store: &mut E,
    live: &[u64],
    words: usize,
) -> crate::Result<bool> {
    let Some((current, desired)) = store.inner().gc.needs_grant(words) else {
        return Ok(true);
    };
    if store.gc_heap_growing(current, desired)? {
        return Ok(true);
    }
    gc::collect(store.inner(), live);
    match store.inner().gc.needs_grant(words) {
        None => Ok(true),
        Some((current, desired)) => store.gc_heap_growing(current, desired),
    }
}

/// `throw`: allocates an exception of module tag `tag` of `instance` with the payload at `base..`
/// and returns its handle.
///
/// # Safety
/// As for [`execute`]: the payload span lies in the entered frame.
#[inline(never)]
pub(super) unsafe fn new_exception(
    store: &mut StoreInner,
    instance: u32,
    frame: GcFrame,
    tag: u32,
    base: Slot,
) -> Result<u64, Outcome> {
    let GcFrame {
        slots,
        fp,
        frame_size,
    } = frame;
    let tag = store.instances[instance as usize].tags[tag as usize];
    let entity = &store.tags[tag as usize];
    let (ty, n) = (entity.ty, crate::types::slot_count(entity.sig.params()));
    if store.gc.wants_collection(n) {
        // SAFETY: the caller's contract: the frame is in bounds.
        let live = unsafe { std::slice::from_raw_parts(slots, fp + frame_size) };
        gc::collect(store, live);
    }
    if !store.gc.fits(n) {
        return Err(Outcome::Trap(TrapKind::GcHeapExhausted));
    }
    if store.gc.needs_grant(n).is_some() {
        return Err(Outcome::GrowHeap { words: n });
    }
    debug_assert!(base.index() + n <= frame_size);
    // SAFETY: the payload span lies inside the frame (translator invariant).
    let payload: gc::Words =
        unsafe { std::slice::from_raw_parts(slots.add(fp + base.index()), n) }.into();
    Ok(store.gc.alloc(GcObject {
        ty,
        kind: ObjectKind::Exception { tag },
        words: payload,
    }))
}

/// Executes one of the heap-object GC instructions.
///
/// # Safety
/// `frame.slots[..frame.fp + frame.frame_size]` must be valid for reads and writes, and every slot
/// operand of `instr` must lie below `frame.frame_size` (both hold for a frame the executor entered).
unsafe fn heap_op(
    store: &mut StoreInner,
    side_tables: &SideTables,
    instance: u32,
    frame: GcFrame,
    instr: Instr,
) -> Result<(), Outcome> {
    let GcFrame {
        slots,
        fp,
        frame_size,
    } = frame;
    macro_rules! fail {
        ($kind:expr) => {
            return Err(Outcome::Trap($kind))
        };
    }
    // SAFETY: (all slot accesses) see the function's safety section.
    macro_rules! get {
        ($slot:expr) => {{
            let s: Slot = $slot;
            debug_assert!(s.index() < frame_size);
            // SAFETY: `s` is an operand slot, below the frame size (the function's contract).
            unsafe { *slots.add(fp + s.index()) }
        }};
    }
    macro_rules! set {
        ($slot:expr, $value:expr) => {{
            let s: Slot = $slot;
            let v: u64 = $value;
            debug_assert!(s.index() < frame_size);
            // SAFETY: as in `get!`.
            unsafe { *slots.add(fp + s.index()) = v }
        }};
    }
    macro_rules! set128 {
        ($slot:expr, $value:expr) => {{
            let s: Slot = $slot;
            let v: u128 = $value;
            set!(s, v as u64);
            set!(s + 1, (v >> 64) as u64);
        }};
    }
    // Writes a field or element read from an object to `dst`: two slots for a v128, one for other
    // values, with packed i8/i16 storage sign- or zero-extended as the get instruction asks.
    macro_rules! put_field {
        ($dst:expr, $value:expr, $site:expr) => {
            match $site.storage {
                Storage::V128 => set128!($dst, $value),
                Storage::I8 | Storage::I16 if $site.signed => {
                    set!($dst, $site.storage.sign_extend($value as u64))
                }
                _ => set!($dst, $value as u64),
            }
        };
    }
    macro_rules! frame_words {
        ($base:expr, $n:expr) => {{
            let base: Slot = $base;
            let n: usize = $n;
            debug_assert!(base.index() + n <= frame_size);
            // SAFETY: the span lies inside the frame (translator invariant). Every use reads the
            // slice before the next write to a slot, so no write goes through `slots` while it lives.
            unsafe { std::slice::from_raw_parts(slots.add(fp + base.index()), n) }
        }};
    }
    // Makes room for an object of `$words` words: collects first when the heap's threshold would be
    // passed (roots: the slots up to the top of this frame, see `gc::collect`), fails if the
    // object still does not fit under the heap limit, and has the executor ask the resource
    // limiter (and run the instruction again) if it passes the heap's grant. Nothing is changed
    // before this check, so running the instruction again is safe.
    macro_rules! gc_reserve {
        ($words:expr) => {{
            let words: Option<usize> = $words;
            let Some(words) = words else {
                fail!(TrapKind::GcHeapExhausted)
            };
            if store.gc.wants_collection(words) {
                // SAFETY: the frame is in bounds (the function's contract); the slice is only
                // read, by the collector, and nothing writes the slots until it returns.
                let live = unsafe { std::slice::from_raw_parts(slots, fp + frame_size) };
                gc::collect(store, live);
            }
            if !store.gc.fits(words) {
                fail!(TrapKind::GcHeapExhausted)
            }
            if store.gc.needs_grant(words).is_some() {
                return Err(Outcome::GrowHeap { words });
            }
            words
        }};
    }
    // The length of the array `$raw`, or a null-array trap.
    macro_rules! array_len {
        ($raw:expr) => {{
            let raw: u64 = $raw;
            match store.gc.get(raw) {
                Some(object) => object.len(),
                None => fail!(TrapKind::NullArrayReference),
            }
        }};
    }
    // `$start + $n <= $len`, as u64s.
    macro_rules! in_bounds {
        ($start:expr, $n:expr, $len:expr, $kind:expr) => {{
            let end = ($start as u64).checked_add($n as u64);
            if !end.is_some_and(|e| e <= $len as u64) {
                fail!($kind)
            }
        }};
    }
    // The object `$raw` names, mutably, or a trap of `$kind` for null.
    macro_rules! object_mut {
        ($raw:expr, $kind:expr) => {{
            let raw: u64 = $raw;
            match store.gc.get_mut(raw) {
                Some(object) => object,
                None => fail!($kind),
            }
        }};
    }
    // Allocates an object and writes its handle to `$dst`.
    macro_rules! alloc {
        ($dst:expr, $site:expr, $kind:expr, $words:expr) => {{
            let raw = store.gc.alloc(GcObject {
                ty: $site.ty,
                kind: $kind,
                words: $words,
            });
            set!($dst, raw)
        }};
    }
    // The kind of an array of `$len` elements made at `$site`.
    macro_rules! array_kind {
        ($site:expr, $len:expr) => {
            ObjectKind::Array {
                storage: $site.storage,
                len: $len as u32,
            }
        };
    }
    use Instr as I;
    match instr {
        I::ArrayLen { dst, src } => {
            let len = array_len!(get!(src));
            set!(dst, len as u64)
        }
        I::Gc {
            op: GcOp::StructNew,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let layout = &side_tables.layouts[site.layout as usize];
            gc_reserve!(Some(site.words as usize));
            let slots = frame_words!(base, site.count as usize);
            let words = gc::struct_words(layout, slots);
            alloc!(dst, site, ObjectKind::Struct { trace: site.trace }, words)
        }
        I::Gc {
            op: GcOp::StructNewDefault,
            dst,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let words = gc_reserve!(Some(site.words as usize));
            let kind = ObjectKind::Struct { trace: site.trace };
            alloc!(dst, site, kind, gc::Words::zeroed(words))
        }
        I::Gc {
            op: GcOp::StructGet,
            dst,
            base: obj,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let Some(object) = store.gc.get(get!(obj)) else {
                fail!(TrapKind::NullStructReference)
            };
            let value = gc::read_value(&object.words, site.offset as usize, site.storage)
                .expect("validated: the field lies in the struct");
            put_field!(dst, value, site);
        }
        I::Gc {
            op: GcOp::StructSet,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let value = gc::from_slots(frame_words!(base + 1, site.storage.slots()), site.storage);
            let object = object_mut!(get!(base), TrapKind::NullStructReference);
            gc::write_value(&mut object.words, site.offset as usize, site.storage, value)
                .expect("validated: the field lies in the struct");
        }
        I::Gc {
            op: GcOp::ArrayNew,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let w = site.storage.slots();
            let init = gc::from_slots(frame_words!(base, w), site.storage);
            let len = get!(base + w as u32) as u32 as usize;
            gc_reserve!(gc::array_words(site.storage, len));
            let Some(words) = gc::repeated_words(site.storage, len, init) else {
                fail!(TrapKind::GcHeapExhausted)
            };
            alloc!(dst, site, array_kind!(site, len), words)
        }
        I::Gc {
            op: GcOp::ArrayNewDefault,
            dst,
            base: len,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let len = get!(len) as u32 as usize;
            let words = gc_reserve!(gc::array_words(site.storage, len));
            alloc!(dst, site, array_kind!(site, len), gc::Words::zeroed(words))
        }
        I::Gc {
            op: GcOp::ArrayNewFixed,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let len = site.count as usize;
            let words = gc_reserve!(gc::array_words(site.storage, len));
            let slots = frame_words!(base, len * site.storage.slots());
            let mut out = vec![0; words];
            for (i, value) in slots.chunks_exact(site.storage.slots()).enumerate() {
                let value = gc::from_slots(value, site.storage);
                gc::write_value(&mut out, i * site.storage.size(), site.storage, value)
                    .expect("sized for the elements");
            }
            alloc!(dst, site, array_kind!(site, len), out.into())
        }
        I::Gc {
            op: GcOp::ArrayNewData,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let offset = get!(base) as u32 as usize;
            let len = get!(base + 1) as u32 as usize;
            let data = store.instances[instance as usize].data[site.segment as usize].clone();
            let bytes = len as u64 * site.storage.size() as u64;
            in_bounds!(
                offset,
                bytes,
                data.len(),
                TrapKind::OutOfBoundsSegmentAccess
            );
            gc_reserve!(gc::array_words(site.storage, len));
            let words = gc::words_of_bytes(&data[offset..offset + bytes as usize]);
            alloc!(dst, site, array_kind!(site, len), words)
        }
        I::Gc {
            op: GcOp::ArrayNewElem,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let offset = get!(base) as u32 as usize;
            let len = get!(base + 1) as u32 as usize;
            let items = store.instances[instance as usize].elems[site.segment as usize].clone();
            in_bounds!(offset, len, items.len(), TrapKind::TableOutOfBounds);
            gc_reserve!(Some(len));
            let words = items[offset..offset + len].into();
            alloc!(dst, site, array_kind!(site, len), words)
        }
        I::Gc {
            op: GcOp::ArrayGet,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site.index()];
            let index = get!(base + 1) as u32 as usize;
            let Some(object) = store.gc.get(get!(base)) else {
                fail!(TrapKind::NullArrayReference)
            };
            in_bounds!(index, 1, object.len(), TrapKind::ArrayOutOfBounds);
            let at = index * site.storage.size();
            let value = gc::read_value(&object.words, at, site.storage).expect("in bounds");
            put_field!(dst, value, site);
        }
        I::Gc {
            op: GcOp::ArraySet,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let index = get!(base + 1) as u32 as usize;
            let value = gc::from_slots(frame_words!(base + 2, site.storage.slots()), site.storage);
            let object = object_mut!(get!(base), TrapKind::NullArrayReference);
            in_bounds!(index, 1, object.len(), TrapKind::ArrayOutOfBounds);
            let at = index * site.storage.size();
            gc::write_value(&mut object.words, at, site.storage, value).expect("in bounds");
        }
        I::Gc {
            op: GcOp::ArrayFill,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let w = site.storage.slots();
            let offset = get!(base + 1) as u32 as usize;
            let value = gc::from_slots(frame_words!(base + 2, w), site.storage);
            let n = get!(base + 2 + w as u32) as u32 as usize;
            let object = object_mut!(get!(base), TrapKind::NullArrayReference);
            in_bounds!(offset, n, object.len(), TrapKind::ArrayOutOfBounds);
            gc::fill_elements(&mut object.words, site.storage, offset, n, value);
        }
        I::Gc {
            op: GcOp::ArrayCopy,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let size = site.storage.size();
            let (dst_ref, dst_off) = (get!(base), get!(base + 1) as u32 as usize);
            let (src_ref, src_off) = (get!(base + 2), get!(base + 3) as u32 as usize);
            let n = get!(base + 4) as u32 as usize;
            let dst_len = array_len!(dst_ref);
            let src_len = array_len!(src_ref);
            in_bounds!(dst_off, n, dst_len, TrapKind::ArrayOutOfBounds);
            in_bounds!(src_off, n, src_len, TrapKind::ArrayOutOfBounds);
            let (src, dst, len) = (src_off * size, dst_off * size, n * size);
            if dst_ref == src_ref {
                let object = store.gc.get_mut(dst_ref).expect("checked above");
                gc::copy_bytes_within(&mut object.words, src, dst, len);
            } else {
                let (from, to) = store
                    .gc
                    .get_pair_mut(src_ref, dst_ref)
                    .expect("checked above");
                gc::copy_bytes(&from.words, src, &mut to.words, dst, len);
            }
        }
        I::Gc {
            op: GcOp::ArrayInitData,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let size = site.storage.size();
            let offset = get!(base + 1) as u32 as usize;
            let source = get!(base + 2) as u32 as usize;
            let n = get!(base + 3) as u32 as usize;
            let len = array_len!(get!(base));
            in_bounds!(offset, n, len, TrapKind::ArrayOutOfBounds);
            let data = store.instances[instance as usize].data[site.segment as usize].clone();
            let bytes = n as u64 * size as u64;
            in_bounds!(
                source,
                bytes,
                data.len(),
                TrapKind::OutOfBoundsSegmentAccess
            );
            let object = store.gc.get_mut(get!(base)).expect("checked above");
            let data = &data[source..source + bytes as usize];
            gc::write_bytes(&mut object.words, offset * size, data);
        }
        I::Gc {
            op: GcOp::ArrayInitElem,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site.index()];
            let offset = get!(base + 1) as u32 as usize;
            let source = get!(base + 2) as u32 as usize;
            let n = get!(base + 3) as u32 as usize;
            let len = array_len!(get!(base));
            in_bounds!(offset, n, len, TrapKind::ArrayOutOfBounds);
            let items = store.instances[instance as usize].elems[site.segment as usize].clone();
            in_bounds!(source, n, items.len(), TrapKind::TableOutOfBounds);
            let object = store.gc.get_mut(get!(base)).expect("checked above");
            object.words[offset..offset + n].copy_from_slice(&items[source..source + n]);
        }
        other => unreachable!("not a GC heap instruction: {other:?}"),
    }
    Ok(())
}
