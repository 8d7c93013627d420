//! Linear memory as the store keeps it: [`MemoryEntity`], a reservation of address space whose
//! accessible prefix grows in place (see `crate::reservation`), or a store's view of a shared memory
//! ([`SharedMemoryInner`], in `shared`).
//!
//! The reservation is mapped `PROT_NONE` up front and made read/write page by page as the memory grows,
//! so the base address does not move while the memory stays within its reservation (growing past it
//! moves the memory to a larger reservation). The interpreter checks every access against the current
//! size explicitly. Reservations come from, and go back to, the engine's [`MemoryPool`], which makes
//! instantiating small modules cheap. Used by the store (ownership, release to the pool, growth
//! under the resource limiter), `instance` (creation, data segments), the executor (raw access) and
//! the public [`Memory`](crate::Memory) and [`SharedMemory`](crate::SharedMemory) handles.

mod shared;

use std::ops::Range;
use std::sync::Arc;

pub(crate) use shared::SharedMemoryInner;

use crate::reservation::{MemoryPool, MemoryReservation, host_page_size};
use crate::types::MemoryType;
use crate::{Error, Result};

/// Checks that `[start, start + len)` lies within `size` bytes; returns the range as `usize`s.
/// Every bulk memory operation (interpreter and compiled code) bounds its access with this.
#[inline]
pub(crate) fn range_in(start: u64, len: u64, size: u64) -> Option<Range<usize>> {
    let end = start.checked_add(len)?;
    if end <= size {
        Some(start as usize..end as usize)
    } else {
        None
    }
}

/// The most bytes a memory of type `ty` may have whatever its declared maximum: 4 GiB for a 32-bit
/// memory and 256 TiB (ward's limit, what 48-bit virtual addresses allow) for a 64-bit one, in whole
/// pages. The page count must also fit the index type, so a 32-bit memory of 1-byte pages ends at
/// 2^32 - 1 bytes, where one of 64 KiB pages reaches 2^32 bytes (65,536 pages).
pub(crate) fn max_bytes_for_index(ty: &MemoryType) -> u64 {
    let (address_limit, failure): (u64, u64) = if ty.memory64 {
        (1 << 48, u64::MAX)
    } else {
        (1 << 32, u32::MAX as u64)
    };
    let pages = (address_limit >> ty.page_size_log2).min(failure);
    pages << ty.page_size_log2
}

/// The store-owned state of one linear memory.
pub(crate) struct MemoryEntity {
    reservation: MemoryReservation,
    /// Current size in bytes (what bounds checks compare against).
    size: u64,
    ty: MemoryType,
    /// Hard maximum in bytes: the declared maximum or the index type's limit.
    max_bytes: u64,
    reservation_hint: u64,
    /// The memory sits in a guard reservation (see `new_in`) and must never move: compiled code
    /// accesses it without bounds checks, relying on the reservation around it.
    guarded: bool,
    /// Bytes known to lie on resident pages because instantiation wrote them (active data segments):
    /// the pool clears these in place instead of discarding the pages (see `MemoryReservation::zero`).
    written: Range<usize>,
    /// A shared memory's state (then `reservation` is empty and unused): its bytes are only touched
    /// through the word-atomic accessors of [`SharedMemoryInner`].
    shared: Option<Arc<SharedMemoryInner>>,
}

impl MemoryEntity {
    /// A memory of type `ty` in a newly mapped reservation of up to `reservation_hint` bytes.
    #[cfg(test)]
    pub fn new(ty: MemoryType, reservation_hint: u64) -> Result<Self> {
        Self::new_in(&MemoryPool::new(0), ty, reservation_hint, 0)
    }

    /// A memory of type `ty` in a reservation of up to `reservation_hint` bytes taken from `pool`.
    ///
    /// With `guard` not 0 (the engine's `memory_guard`, which is 0 unless `reservation_hint` is at
    /// least 4 GiB), a memory compiled code can access — 32-bit, unshared, 64 KiB pages — gets a
    /// reservation of `reservation_hint + guard` bytes whatever its maximum, with nothing past its
    /// length accessible: compiled code relies on every address from its length up to 4 GiB plus
    /// `guard` faulting (`Memory0::guard_bytes`), and the memory never moves.
    pub fn new_in(
        pool: &MemoryPool,
        ty: MemoryType,
        reservation_hint: u64,
        guard: u64,
    ) -> Result<Self> {
        let guarded =
            guard > 0 && !ty.memory64 && !ty.shared && ty.page_size_log2 == 16 && !cfg!(miri);
        let index_limit = max_bytes_for_index(&ty);
        let max_bytes = ty
            .maximum
            .and_then(|m| m.checked_mul(ty.page_size()))
            .unwrap_or(index_limit)
            .min(index_limit);
        let size = ty
            .minimum
            .checked_mul(ty.page_size())
            .filter(|s| *s <= max_bytes)
            .ok_or_else(|| Error::Instantiation("memory minimum size is too large".into()))?;
        let reserve = if guarded {
            reservation_hint.saturating_add(guard)
        } else {
            reservation_hint.min(max_bytes).max(size)
        };
        let reservation = usize::try_from(reserve)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(reserve, size)| {
                let mut reservation = pool.acquire(reserve, size)?;
                // A reused reservation may have more committed than this memory's size, and
                // compiled code relies on every byte past the length faulting.
                (!guarded || reservation.protect_beyond(size)).then_some(reservation)
            })
            .ok_or_else(|| {
                Error::Instantiation(format!(
                    "failed to allocate a linear memory of {size} bytes"
                ))
            })?;
        Ok(MemoryEntity {
            reservation,
            size,
            ty,
            max_bytes,
            reservation_hint,
            guarded,
            written: 0..0,
            shared: None,
        })
    }

    /// A store's entity for the shared memory `shared` (which other stores may use too).
    pub fn new_shared(shared: Arc<SharedMemoryInner>) -> Result<Self> {
        let ty = shared.ty();
        Ok(MemoryEntity {
            reservation: MemoryReservation::new(0, 0)
                .ok_or_else(|| Error::Instantiation("failed to create a memory".into()))?,
            size: 0,
            ty,
            max_bytes: shared.max_bytes(),
            reservation_hint: 0,
            guarded: false,
            written: 0..0,
            shared: Some(shared),
        })
    }

    /// The shared memory this entity stands for, if it is one.
    pub fn shared(&self) -> Option<&Arc<SharedMemoryInner>> {
        self.shared.as_ref()
    }

    /// Hands the memory's address space back to `pool` for reuse.
    pub fn release_to(self, pool: &MemoryPool) {
        if self.shared.is_none() {
            pool.release(self.reservation, self.written);
        }
    }

    /// Records that `range` (inside the memory) was just written, so its pages are resident. Only one
    /// run of host pages is tracked; a write that neither touches nor adjoins it is not recorded, so
    /// the run never covers a page that was not written.
    pub fn note_written(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let page = host_page_size();
        let pages = range.start / page * page..range.end.div_ceil(page) * page;
        if self.written.is_empty() {
            self.written = pages;
        } else if pages.start <= self.written.end && self.written.start <= pages.end {
            self.written = self.written.start.min(pages.start)..self.written.end.max(pages.end);
        }
    }

    pub fn ty(&self) -> MemoryType {
        if let Some(shared) = &self.shared {
            return shared.ty();
        }
        MemoryType {
            minimum: self.size >> self.ty.page_size_log2,
            ..self.ty
        }
    }

    /// The most bytes this memory can ever have: its declared maximum or its index type's limit.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn size_bytes(&self) -> u64 {
        match &self.shared {
            Some(shared) => shared.size_bytes(),
            None => self.size,
        }
    }

    pub fn pages(&self) -> u64 {
        self.size_bytes() >> self.ty.page_size_log2
    }

    #[cfg(feature = "cranelift")]
    /// Bytes of address space from the base that belong to this memory (its reservation; 0 for
    /// a shared memory, whose bytes live elsewhere).
    pub fn reserved_bytes(&self) -> usize {
        match &self.shared {
            Some(_) => 0,
            None => self.reservation.reserved(),
        }
    }

    pub fn base(&self) -> *mut u8 {
        match &self.shared {
            Some(shared) => shared.base(),
            None => self.reservation.base(),
        }
    }

    /// The memory's bytes; empty for a shared memory, whose bytes other threads may be writing
    /// (use its word-atomic accessors instead).
    pub fn data(&self) -> &[u8] {
        // SAFETY: `size` bytes from the base are committed read/write (maintained by `new` and `grow`)
        // and the shared borrow of `self` excludes writers through this entity.
        unsafe { std::slice::from_raw_parts(self.base(), self.size as usize) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, with the exclusive borrow of `self` excluding all other access.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.size as usize) }
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` (memory unchanged) when the
    /// maximum would be exceeded or the host cannot provide the memory.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        if let Some(shared) = &self.shared {
            return shared.grow(delta);
        }
        let old_pages = self.pages();
        let new_size = delta
            .checked_mul(self.ty.page_size())
            .and_then(|d| d.checked_add(self.size))
            .filter(|s| *s <= self.max_bytes)?;
        let new_usize = usize::try_from(new_size).ok()?;
        if !self.reservation.commit(new_usize) {
            if self.guarded {
                // Its reservation covers the largest size it can have, so the kernel refused the
                // pages: the growth fails. Moving it would take it out of its guard region.
                return None;
            }
            // Move to a larger reservation, doubling to keep repeated growth amortised.
            let reserve = (new_size.max(self.size.saturating_mul(2)))
                .max(self.reservation_hint)
                .min(self.max_bytes)
                .max(new_size);
            let moved = MemoryReservation::new(usize::try_from(reserve).ok()?, new_usize)?;
            let old = self.data();
            // SAFETY: `moved` has at least `new_usize >= old.len()` committed bytes and is a fresh
            // mapping, so the ranges do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(old.as_ptr(), moved.base(), old.len()) };
            self.reservation = moved;
            // The copy made every old page resident, but the run is only a hint; start afresh.
            self.written = 0..0;
        }
        self.size = new_size;
        Some(old_pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_within_reservation_keeps_base_and_contents() {
        let mut mem = MemoryEntity::new(MemoryType::new(1, None), 1 << 24).unwrap();
        let base = mem.base();
        mem.data_mut()[65535] = 7;
        assert_eq!(mem.grow(3), Some(1));
        assert_eq!(mem.base(), base);
        assert_eq!(mem.data().len(), 4 * 65536);
        assert_eq!(mem.data()[65535], 7);
        mem.data_mut()[4 * 65536 - 1] = 9;
    }

    #[test]
    fn growth_past_reservation_moves_and_keeps_contents() {
        let mut mem = MemoryEntity::new(MemoryType::new(1, None), 65536).unwrap();
        mem.data_mut()[100] = 42;
        assert_eq!(mem.grow(2), Some(1));
        assert_eq!(mem.data()[100], 42);
        assert_eq!(mem.pages(), 3);
    }

    #[test]
    fn growth_beyond_maximum_fails_without_change() {
        let mut mem = MemoryEntity::new(MemoryType::new(1, Some(2)), 1 << 20).unwrap();
        assert_eq!(mem.grow(2), None);
        assert_eq!(mem.pages(), 1);
        assert_eq!(mem.grow(1), Some(1));
    }

    /// A memory compiled code may access without checks reserves 4 GiB plus the guard whatever
    /// its maximum, commits only its length (also in a reservation a larger memory used before),
    /// and never moves: growth beyond its maximum fails in place.
    #[test]
    #[cfg(not(miri))]
    fn guarded_memories_reserve_the_guard_and_commit_only_their_length() {
        let pool = MemoryPool::new(4);
        let (hint, guard) = (1u64 << 32, 1u64 << 20);
        let mut big = MemoryEntity::new_in(&pool, MemoryType::new(1, None), hint, guard).unwrap();
        assert!(big.guarded);
        assert_eq!(big.reservation.reserved() as u64, hint + guard);
        let base = big.base();
        assert_eq!(big.grow(3), Some(1));
        big.data_mut()[4 * 65536 - 1] = 7;
        assert_eq!(big.reservation.committed(), 4 * 65536);
        big.release_to(&pool);
        let mut small =
            MemoryEntity::new_in(&pool, MemoryType::new(1, Some(2)), hint, guard).unwrap();
        assert_eq!(small.base(), base, "the pooled reservation is reused");
        assert_eq!(small.reservation.committed(), 65536);
        assert_eq!(small.reservation.reserved() as u64, hint + guard);
        assert_eq!(small.grow(1), Some(1));
        assert_eq!(small.data()[2 * 65536 - 1], 0);
        assert_eq!(small.grow(1), None);
        assert_eq!(small.base(), base);
        // Without a guard (or for a 64-bit memory) the reservation follows the maximum.
        let plain = MemoryEntity::new_in(&pool, MemoryType::new(1, Some(2)), hint, 0).unwrap();
        assert!(!plain.guarded);
        let mut mem64 = MemoryType::new(1, Some(2));
        mem64.memory64 = true;
        assert!(
            !MemoryEntity::new_in(&pool, mem64, hint, guard)
                .unwrap()
                .guarded
        );
    }

    #[test]
    fn released_memory_is_reused_zeroed_and_keeps_growing() {
        let pool = MemoryPool::new(4);
        let mut mem = MemoryEntity::new_in(&pool, MemoryType::new(3, None), 1 << 24, 0).unwrap();
        let base = mem.base();
        mem.data_mut()[1024..1300].fill(0x11);
        mem.note_written(1024..1300);
        mem.data_mut()[3 * 65536 - 1] = 0x22;
        mem.release_to(&pool);

        let mut again = MemoryEntity::new_in(&pool, MemoryType::new(1, None), 1 << 24, 0).unwrap();
        assert_eq!(again.base(), base, "the reservation is reused");
        assert_eq!(again.data().len(), 65536);
        assert!(again.data().iter().all(|b| *b == 0));
        // Pages committed by the previous memory are zero when this one grows into them.
        assert_eq!(again.grow(2), Some(1));
        assert_eq!(again.base(), base);
        assert!(again.data().iter().all(|b| *b == 0));
        again.data_mut()[100] = 42;
        // Growing past the reservation moves the memory and keeps its contents.
        assert_eq!(again.grow(256), Some(3));
        assert_eq!(again.data()[100], 42);
        assert!(again.data()[101..].iter().all(|b| *b == 0));
    }

    #[test]
    fn memory64_and_bounded_memories_reuse_fitting_reservations() {
        let pool = MemoryPool::new(4);
        let mem64 = MemoryType {
            memory64: true,
            ..MemoryType::new(2, None)
        };
        let mut first = MemoryEntity::new_in(&pool, mem64, 1 << 24, 0).unwrap();
        first.data_mut().fill(7);
        let base = first.base();
        first.release_to(&pool);
        // A memory with a small maximum reserves little, so the 16 MiB reservation fits it.
        let mut bounded =
            MemoryEntity::new_in(&pool, MemoryType::new(1, Some(2)), 1 << 24, 0).unwrap();
        assert_eq!(bounded.base(), base);
        assert!(bounded.data().iter().all(|b| *b == 0));
        assert_eq!(bounded.grow(1), Some(1));
        assert_eq!(bounded.grow(1), None, "the declared maximum still applies");
        bounded.release_to(&pool);
        let again = MemoryEntity::new_in(&pool, mem64, 1 << 24, 0).unwrap();
        assert_eq!(again.base(), base);
        assert!(again.data().iter().all(|b| *b == 0));
    }

    #[test]
    fn note_written_tracks_one_run_of_whole_pages() {
        let page = host_page_size();
        let mut mem = MemoryEntity::new(MemoryType::new(4, None), 1 << 24).unwrap();
        mem.note_written(10..20);
        assert_eq!(mem.written, 0..page);
        mem.note_written(page + 5..page + 6);
        assert_eq!(
            mem.written,
            0..2 * page,
            "an adjoining write extends the run"
        );
        mem.note_written(10 * page..10 * page + 1);
        assert_eq!(mem.written, 0..2 * page, "a distant write is left out");
        mem.note_written(0..0);
        assert_eq!(mem.written, 0..2 * page);
    }

    #[test]
    fn zero_sized_memory_has_empty_data() {
        let mem = MemoryEntity::new(MemoryType::new(0, Some(0)), 1 << 20).unwrap();
        assert!(mem.data().is_empty());
    }
}
