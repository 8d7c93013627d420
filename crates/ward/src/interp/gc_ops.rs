//! The exception-handling and GC instructions, kept out of the dispatch loop of `exec::run` so that
//! its hot scalar paths keep their register allocation: with these arms inlined the compiler spilled
//! `ip` and `fp` around every instruction (measured with callgrind: a 7-instruction scalar loop went
//! from 165 to 237 machine instructions per iteration; out of line it is back to 165).
//!
//! Called by `exec` with the running frame; allocation collects through `gc::collect`.

use super::bytecode::{GcOp, Instr, Slot};
use super::translate::SideTables;
use crate::gc::{self, GcObject, ObjectKind, Storage};
use crate::store::StoreInner;
use crate::trap::TrapKind;

/// How execution continues after an instruction run here.
pub(super) enum Outcome {
    /// With the next instruction.
    Next,
    /// At this instruction of the function.
    Jump(u32),
    /// By throwing this exception (heap handle).
    Throw(u64),
    /// With a trap.
    Trap(TrapKind),
}

/// The running frame's slots.
#[derive(Clone, Copy)]
pub(super) struct GcFrame {
    pub slots: *mut u64,
    pub fp: usize,
    pub frame_size: usize,
}

/// Up to 16 bytes as a little-endian number.
fn le_bytes(bytes: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(buf)
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
    let (slots, fp, frame_size) = (frame.slots, frame.fp, frame.frame_size);
    // SAFETY (slot accesses): the caller's contract.
    let get = |s: Slot| {
        debug_assert!((s as usize) < frame_size);
        // SAFETY: `s` is an operand slot, below the frame size (the caller's contract).
        unsafe { *slots.add(fp + s as usize) }
    };
    let set = |s: Slot, v: u64| {
        debug_assert!((s as usize) < frame_size);
        // SAFETY: as in `get`.
        unsafe { *slots.add(fp + s as usize) = v }
    };
    let test = |store: &StoreInner, cast: u32, raw: u64| {
        super::cast::ref_test(store, raw, side_tables.casts[cast as usize])
    };
    use Instr as I;
    match instr {
        I::Throw { tag, base } => {
            // SAFETY: the caller's contract.
            match unsafe { new_exception(store, instance, frame, tag, base) } {
                Ok(exn) => return Outcome::Throw(exn),
                Err(kind) => return Outcome::Trap(kind),
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
        I::RefI31 { dst, src } => set(dst, gc::i31_encode(get(src))),
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
        I::AnyConvertExtern { dst, src } => set(dst, gc::internalize(get(src))),
        I::ExternConvertAny { dst, src } => set(dst, gc::externalize(get(src))),
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
            if let Err(kind) = unsafe { heap_op(store, side_tables, instance, frame, other) } {
                return Outcome::Trap(kind);
            }
        }
    }
    Outcome::Next
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
) -> Result<u64, TrapKind> {
    let GcFrame {
        slots,
        fp,
        frame_size,
    } = frame;
    let tag = store.instances[instance as usize].tags[tag as usize];
    let entity = &store.tags[tag as usize];
    let (ty, n) = (entity.ty, crate::values::slot_count(entity.sig.params()));
    if store.gc.wants_collection(n) {
        // SAFETY: the caller's contract: the frame is in bounds.
        let live = unsafe { std::slice::from_raw_parts(slots, fp + frame_size) };
        gc::collect(store, live);
    }
    if !store.gc.fits(n) {
        return Err(TrapKind::GcHeapExhausted);
    }
    debug_assert!(base as usize + n <= frame_size);
    // SAFETY: the payload span lies inside the frame (translator invariant).
    let payload: Box<[u64]> =
        unsafe { std::slice::from_raw_parts(slots.add(fp + base as usize), n) }.into();
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
) -> Result<(), TrapKind> {
    let GcFrame {
        slots,
        fp,
        frame_size,
    } = frame;
    macro_rules! fail {
        ($kind:expr) => {
            return Err($kind)
        };
    }
    // SAFETY (all slot accesses): see the function's safety section.
    macro_rules! get {
        ($slot:expr) => {{
            let s: Slot = $slot;
            debug_assert!((s as usize) < frame_size);
            // SAFETY: `s` is an operand slot, below the frame size (the function's contract).
            unsafe { *slots.add(fp + s as usize) }
        }};
    }
    macro_rules! set {
        ($slot:expr, $value:expr) => {{
            let s: Slot = $slot;
            let v: u64 = $value;
            debug_assert!((s as usize) < frame_size);
            // SAFETY: as in `get!`.
            unsafe { *slots.add(fp + s as usize) = v }
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
                Storage::Wide => set128!($dst, $value),
                Storage::Narrow => set!($dst, $value as u64),
                packed => {
                    let v = packed.pack($value as u64);
                    set!(
                        $dst,
                        if $site.signed {
                            packed.sign_extend(v)
                        } else {
                            v
                        }
                    )
                }
            }
        };
    }
    macro_rules! frame_words {
        ($base:expr, $n:expr) => {{
            let base: Slot = $base;
            let n: usize = $n;
            debug_assert!(base as usize + n <= frame_size);
            // SAFETY: the span lies inside the frame (translator invariant). Every use reads the
            // slice before the next write to a slot, so no write goes through `slots` while it lives.
            unsafe { std::slice::from_raw_parts(slots.add(fp + base as usize), n) }
        }};
    }
    // Makes room for an object of `$words` words: collects first when the heap's threshold would be
    // passed (roots: the slots up to the top of this frame, see `gc::collect`), and fails if the
    // object still does not fit under the heap limit.
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
            let site = side_tables.gc_sites[site as usize];
            let words = gc_reserve!(Some(site.words as usize));
            let words: Box<[u64]> = frame_words!(base, words).into();
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Struct,
                words,
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::StructNewDefault,
            dst,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let words = gc_reserve!(Some(site.words as usize));
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Struct,
                words: vec![0; words].into(),
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::StructGet,
            dst,
            base: obj,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let Some(object) = store.gc.get(get!(obj)) else {
                fail!(TrapKind::NullStructReference)
            };
            let value = gc::read_words(object, site.offset as usize, site.storage)?;
            put_field!(dst, value, site);
        }
        I::Gc {
            op: GcOp::StructSet,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let n = site.storage.words();
            let value = frame_words!(base + 1, n);
            let at = site.offset as usize;
            let Some(object) = store.gc.get_mut(get!(base)) else {
                fail!(TrapKind::NullStructReference)
            };
            match object.words.get_mut(at..at + n) {
                Some(dst) => dst.copy_from_slice(value),
                None => fail!(TrapKind::NullStructReference),
            }
        }
        I::Gc {
            op: GcOp::ArrayNew,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let w = site.storage.words();
            let init = frame_words!(base, w);
            let len = get!(base + w as u32) as u32 as usize;
            let words = gc_reserve!(len.checked_mul(w));
            let mut all = Vec::with_capacity(words);
            for _ in 0..len {
                all.extend_from_slice(init);
            }
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Array(site.storage),
                words: all.into(),
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::ArrayNewDefault,
            dst,
            base: len,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let len = get!(len) as u32 as usize;
            let words = gc_reserve!(len.checked_mul(site.storage.words()));
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Array(site.storage),
                words: vec![0; words].into(),
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::ArrayNewFixed,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let words = gc_reserve!((site.count as usize).checked_mul(site.storage.words()));
            let words: Box<[u64]> = frame_words!(base, words).into();
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Array(site.storage),
                words,
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::ArrayNewData,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let offset = get!(base) as u32 as usize;
            let len = get!(base + 1) as u32 as usize;
            let data = store.instances[instance as usize].data[site.segment as usize].clone();
            let bytes = site.elem_bytes as usize;
            in_bounds!(
                offset,
                len as u64 * bytes as u64,
                data.len(),
                TrapKind::OutOfBoundsSegmentAccess
            );
            let words = gc_reserve!(len.checked_mul(site.storage.words()));
            let mut all = Vec::with_capacity(words);
            for chunk in data[offset..offset + len * bytes].chunks_exact(bytes) {
                let value = le_bytes(chunk);
                all.push(value as u64);
                if site.storage == Storage::Wide {
                    all.push((value >> 64) as u64);
                }
            }
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Array(site.storage),
                words: all.into(),
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::ArrayNewElem,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let offset = get!(base) as u32 as usize;
            let len = get!(base + 1) as u32 as usize;
            let items = store.instances[instance as usize].elems[site.segment as usize].clone();
            in_bounds!(offset, len, items.len(), TrapKind::TableOutOfBounds);
            let words = gc_reserve!(Some(len));
            let raw = store.gc.alloc(GcObject {
                ty: site.ty,
                kind: ObjectKind::Array(site.storage),
                words: items[offset..offset + words].into(),
            });
            set!(dst, raw)
        }
        I::Gc {
            op: GcOp::ArrayGet,
            dst,
            base,
            site,
        } => {
            let site = side_tables.gc_sites[site as usize];
            let index = get!(base + 1) as u32 as usize;
            let Some(object) = store.gc.get(get!(base)) else {
                fail!(TrapKind::NullArrayReference)
            };
            let w = site.storage.words();
            let value = gc::read_words(object, index.saturating_mul(w), site.storage)?;
            put_field!(dst, value, site);
        }
        I::Gc {
            op: GcOp::ArraySet,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let w = site.storage.words();
            let index = get!(base + 1) as u32 as usize;
            let value = frame_words!(base + 2, w);
            let Some(object) = store.gc.get_mut(get!(base)) else {
                fail!(TrapKind::NullArrayReference)
            };
            let at = index.saturating_mul(w);
            match object.words.get_mut(at..at.saturating_add(w)) {
                Some(dst) => dst.copy_from_slice(value),
                None => fail!(TrapKind::ArrayOutOfBounds),
            }
        }
        I::Gc {
            op: GcOp::ArrayFill,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let w = site.storage.words();
            let offset = get!(base + 1) as u32 as usize;
            let value = frame_words!(base + 2, w);
            let n = get!(base + 2 + w as u32) as u32 as usize;
            let len = array_len!(get!(base));
            in_bounds!(offset, n, len, TrapKind::ArrayOutOfBounds);
            let object = store.gc.get_mut(get!(base)).expect("checked above");
            for chunk in object.words[offset * w..(offset + n) * w].chunks_exact_mut(w) {
                chunk.copy_from_slice(value);
            }
        }
        I::Gc {
            op: GcOp::ArrayCopy,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let w = site.storage.words();
            let (dst_ref, dst_off) = (get!(base), get!(base + 1) as u32 as usize);
            let (src_ref, src_off) = (get!(base + 2), get!(base + 3) as u32 as usize);
            let n = get!(base + 4) as u32 as usize;
            let dst_len = array_len!(dst_ref);
            let src_len = array_len!(src_ref);
            in_bounds!(dst_off, n, dst_len, TrapKind::ArrayOutOfBounds);
            in_bounds!(src_off, n, src_len, TrapKind::ArrayOutOfBounds);
            let src_range = src_off * w..(src_off + n) * w;
            if dst_ref == src_ref {
                let object = store.gc.get_mut(dst_ref).expect("checked above");
                object.words.copy_within(src_range, dst_off * w);
            } else {
                let words: Vec<u64> =
                    store.gc.get(src_ref).expect("checked above").words[src_range].to_vec();
                let object = store.gc.get_mut(dst_ref).expect("checked above");
                object.words[dst_off * w..(dst_off + n) * w].copy_from_slice(&words);
            }
        }
        I::Gc {
            op: GcOp::ArrayInitData,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
            let w = site.storage.words();
            let offset = get!(base + 1) as u32 as usize;
            let source = get!(base + 2) as u32 as usize;
            let n = get!(base + 3) as u32 as usize;
            let len = array_len!(get!(base));
            in_bounds!(offset, n, len, TrapKind::ArrayOutOfBounds);
            let data = store.instances[instance as usize].data[site.segment as usize].clone();
            let bytes = site.elem_bytes as usize;
            in_bounds!(
                source,
                n as u64 * bytes as u64,
                data.len(),
                TrapKind::OutOfBoundsSegmentAccess
            );
            let object = store.gc.get_mut(get!(base)).expect("checked above");
            let chunks = data[source..source + n * bytes].chunks_exact(bytes);
            for (i, chunk) in chunks.enumerate() {
                let value = le_bytes(chunk);
                let at = (offset + i) * w;
                object.words[at] = value as u64;
                if w == 2 {
                    object.words[at + 1] = (value >> 64) as u64;
                }
            }
        }
        I::Gc {
            op: GcOp::ArrayInitElem,
            base,
            site,
            ..
        } => {
            let site = side_tables.gc_sites[site as usize];
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
