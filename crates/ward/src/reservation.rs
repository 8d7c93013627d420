//! Address space for linear memories: a [`MemoryReservation`] (an `mmap` `PROT_NONE` range whose prefix
//! is made read/write as the memory grows) and the engine's [`MemoryPool`] of released reservations.
//!
//! Creating and destroying a reservation costs three system calls (`mmap`, `mprotect`, `munmap`), which
//! made instantiating a small module about 15 µs of kernel time. A store hands its memories' reservations
//! back to the engine's pool when it is dropped; the pool zeroes them and gives them to later memories,
//! //! so instantiation usually needs at most one `madvise`.
//!
//! A platform leaf below the engine and the runtime (it names nothing else in the crate): the engine
//! owns the pool, which its stores share, and `runtime::memory` makes linear memories of reservations.

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::Mutex;

/// A range of address space owned by one linear memory.
pub(crate) struct MemoryReservation {
    base: NonNull<u8>,
    /// Bytes reserved.
    reserved: usize,
    /// Bytes made read/write (a multiple of the host page size). Every committed byte that is not part
    /// of the memory's current size is zero.
    committed: usize,
}

// SAFETY: the reservation is plain memory owned by exactly one `MemoryEntity` (or by the pool); it has no
// thread affinity, and all access goes through `&self`/`&mut self` of its owner.
unsafe impl Send for MemoryReservation {}
// SAFETY: as above; shared references only read the base pointer and sizes.
unsafe impl Sync for MemoryReservation {}

pub(crate) fn host_page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 4096 }
}

fn round_up(value: usize, to: usize) -> Option<usize> {
    value.checked_add(to - 1).map(|v| v / to * to)
}

impl MemoryReservation {
    /// Reserves `reserve` bytes of address space and makes the first `accessible` read/write.
    pub fn new(reserve: usize, accessible: usize) -> Option<Self> {
        // Miri cannot map address space without backing it, so there a reservation is exactly its
        // accessible part: every growth then moves the memory, and a stale cached base is a
        // use-after-free that Miri reports.
        let reserve = if cfg!(miri) { accessible } else { reserve };
        let reserved = round_up(reserve.max(accessible), host_page_size())?;
        if reserved == 0 {
            return Some(MemoryReservation {
                base: NonNull::dangling(),
                reserved: 0,
                committed: 0,
            });
        }
        let mut reservation = MemoryReservation {
            base: address_space::reserve(reserved)?,
            reserved,
            committed: 0,
        };
        reservation.commit(accessible).then_some(reservation)
    }

    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Makes the first `bytes` bytes read/write (they read as zero unless written since). Fails if they
    /// exceed the reservation.
    pub fn commit(&mut self, bytes: usize) -> bool {
        let Some(bytes) = round_up(bytes, host_page_size()) else {
            return false;
        };
        if bytes > self.reserved {
            return false;
        }
        if bytes <= self.committed {
            return true;
        }
        // SAFETY: `[committed, bytes)` lies inside the reservation made in `new`, which this value
        // owns; changing its protection affects no other memory.
        if !unsafe { address_space::make_accessible(self.base, self.committed..bytes) } {
            return false;
        }
        self.committed = bytes;
        true
    }

    /// Bytes of address space reserved.
    #[cfg(any(test, feature = "cranelift"))]
    pub fn reserved(&self) -> usize {
        self.reserved
    }

    /// Bytes made read/write.
    #[cfg(test)]
    pub fn committed(&self) -> usize {
        self.committed
    }

    /// Makes everything past the first `bytes` bytes (rounded up to a host page) inaccessible
    /// again, so that an access there faults. Fails if the kernel refuses.
    pub fn protect_beyond(&mut self, bytes: usize) -> bool {
        let Some(bytes) = round_up(bytes, host_page_size()) else {
            return false;
        };
        if bytes >= self.committed {
            return true;
        }
        // SAFETY: `[bytes, committed)` lies inside the reservation made in `new`, which this value
        // owns exclusively (`&mut self`); no memory's bytes live there (its size is at most `bytes`).
        if !unsafe { address_space::make_inaccessible(self.base, bytes..self.committed) } {
            return false;
        }
        self.committed = bytes;
        true
    }

    /// Makes every committed byte zero again, for the next memory to use this reservation. `resident`
    /// (clipped to the committed part and to whole host pages) is cleared in place: the caller knows
    /// its pages were written, so they are resident and clearing them costs no memory and spares the
    /// next user the page faults. The rest is dropped with `madvise(MADV_DONTNEED)`, after which the
    /// kernel supplies fresh zero pages on first touch, so untouched pages stay unbacked. Returns
    /// false if the kernel refused, in which case the contents are unspecified.
    pub fn zero(&mut self, resident: Range<usize>) -> bool {
        let page = host_page_size();
        let end = resident.end.min(self.committed) / page * page;
        let start = (resident.start / page * page).min(end);
        if start < end {
            // SAFETY: `[start, end)` lies inside the committed (read/write) part of this reservation,
            // which this value owns exclusively (`&mut self`).
            unsafe { std::ptr::write_bytes(self.base.as_ptr().add(start), 0, end - start) };
        }
        self.discard(0..start) && self.discard(end..self.committed)
    }

    /// Replaces the pages of `range` (page-aligned, inside the committed part) with zero-fill-on-demand
    /// pages.
    fn discard(&mut self, range: Range<usize>) -> bool {
        if range.is_empty() {
            return true;
        }
        // SAFETY: `range` lies inside this reservation's committed part (checked by the callers),
        // which this value owns exclusively (`&mut self`).
        unsafe { address_space::discard(self.base, range) }
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        if self.reserved > 0 {
            // SAFETY: the reservation was made in `new` with exactly this base and length and is
            // released only here.
            unsafe { address_space::release(self.base, self.reserved) };
        }
    }
}

/// The system calls behind a reservation: an `mmap` `PROT_NONE` range made read/write page by page.
#[cfg(not(miri))]
mod address_space {
    use std::ops::Range;
    use std::ptr::NonNull;

    /// Maps `len` bytes (a whole number of host pages, more than zero) of inaccessible address space.
    pub fn reserve(len: usize) -> Option<NonNull<u8>> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory; the result is checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(NonNull::new(ptr.cast()).expect("mmap does not return null on success"))
    }

    /// Makes `range` (page-aligned) of the reservation at `base` read/write.
    ///
    /// # Safety
    /// `range` lies inside a reservation made by [`reserve`] at `base` that the caller owns.
    pub unsafe fn make_accessible(base: NonNull<u8>, range: Range<usize>) -> bool {
        // SAFETY: the caller's contract; changing the protection of owned pages affects no other
        // memory.
        let rc = unsafe {
            libc::mprotect(
                base.as_ptr().add(range.start).cast(),
                range.len(),
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        rc == 0
    }

    /// Makes `range` (page-aligned) of the reservation at `base` inaccessible; its contents are
    /// dropped (the pages read as zero if made accessible again).
    ///
    /// # Safety
    /// `range` lies inside a reservation made by [`reserve`] at `base` that the caller owns
    /// exclusively.
    pub unsafe fn make_inaccessible(base: NonNull<u8>, range: Range<usize>) -> bool {
        // SAFETY: the caller's contract; discarding and protecting owned pages of a private
        // anonymous mapping affects no other memory.
        unsafe {
            let at = base.as_ptr().add(range.start).cast();
            libc::madvise(at, range.len(), libc::MADV_DONTNEED) == 0
                && libc::mprotect(at, range.len(), libc::PROT_NONE) == 0
        }
    }

    /// Replaces the pages of `range` with zero-fill-on-demand pages.
    ///
    /// # Safety
    /// `range` (page-aligned) lies inside the accessible part of a reservation at `base` that the
    /// caller owns exclusively.
    pub unsafe fn discard(base: NonNull<u8>, range: Range<usize>) -> bool {
        // SAFETY: the caller's contract: a private anonymous mapping, where MADV_DONTNEED only
        // discards contents.
        let rc = unsafe {
            libc::madvise(
                base.as_ptr().add(range.start).cast(),
                range.len(),
                libc::MADV_DONTNEED,
            )
        };
        rc == 0
    }

    /// Unmaps a reservation.
    ///
    /// # Safety
    /// `base` and `len` are exactly those of a reservation made by [`reserve`], not used afterwards.
    pub unsafe fn release(base: NonNull<u8>, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { libc::munmap(base.as_ptr().cast(), len) };
    }
}

/// Under Miri, which cannot run `mmap`/`mprotect`: a reservation is a zeroed heap allocation that
/// is accessible from the start (`MemoryReservation::new` asks for exactly the accessible size, so
/// nothing beyond it is ever made accessible).
#[cfg(miri)]
mod address_space {
    use std::alloc::Layout;
    use std::ops::Range;
    use std::ptr::NonNull;

    fn layout(len: usize) -> Option<Layout> {
        Layout::from_size_align(len, super::host_page_size()).ok()
    }

    pub fn reserve(len: usize) -> Option<NonNull<u8>> {
        // SAFETY: `len` is more than zero (the caller's contract), so the layout is not zero-sized.
        NonNull::new(unsafe { std::alloc::alloc_zeroed(layout(len)?) })
    }

    /// # Safety
    /// As for the real `make_accessible`.
    pub unsafe fn make_accessible(_base: NonNull<u8>, _range: Range<usize>) -> bool {
        true
    }

    /// # Safety
    /// As for the real `make_inaccessible` (under Miri nothing beyond a memory is accessible).
    pub unsafe fn make_inaccessible(base: NonNull<u8>, range: Range<usize>) -> bool {
        // SAFETY: as in `discard`.
        unsafe { discard(base, range) }
    }

    /// # Safety
    /// As for the real `discard`.
    pub unsafe fn discard(base: NonNull<u8>, range: Range<usize>) -> bool {
        // SAFETY: the caller's contract: the range is owned, accessible memory.
        unsafe { std::ptr::write_bytes(base.as_ptr().add(range.start), 0, range.len()) };
        true
    }

    /// # Safety
    /// As for the real `release`.
    pub unsafe fn release(base: NonNull<u8>, len: usize) {
        let layout = layout(len).expect("the layout was valid when the reservation was made");
        // SAFETY: the caller's contract: `base` was allocated by `reserve` with this layout.
        unsafe { std::alloc::dealloc(base.as_ptr(), layout) };
    }
}

/// Released reservations kept by an engine for its next memories. Each pooled reservation has every
/// committed byte zero.
pub(crate) struct MemoryPool {
    slots: Mutex<Vec<MemoryReservation>>,
    capacity: usize,
}

impl MemoryPool {
    /// A pool keeping at most `capacity` reservations.
    pub fn new(capacity: usize) -> MemoryPool {
        MemoryPool {
            slots: Mutex::new(Vec::new()),
            capacity,
        }
    }

    fn is_full(&self) -> bool {
        self.capacity == 0
            || self.slots.lock().unwrap_or_else(|e| e.into_inner()).len() >= self.capacity
    }

    /// A reservation of at least `reserve` bytes with the first `accessible` read/write and zero, reused
    /// from the pool when one fits and newly mapped otherwise.
    pub fn acquire(&self, reserve: usize, accessible: usize) -> Option<MemoryReservation> {
        let reused = if self.capacity == 0 {
            None
        } else {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            // The most recently released first: its pages are the likeliest to be resident and cached.
            let at = slots
                .iter()
                .rposition(|slot| slot.reserved >= reserve.max(accessible));
            at.map(|at| slots.swap_remove(at))
        };
        match reused {
            Some(mut reservation) => reservation
                .commit(accessible)
                .then_some(reservation)
                .or_else(|| MemoryReservation::new(reserve, accessible)),
            None => MemoryReservation::new(reserve, accessible),
        }
    }

    /// Takes back a reservation no longer used by its memory; `resident` is the byte range its owner
    /// knows to be written (see [`MemoryReservation::zero`]). Unmaps it when the pool is full or the
    /// reservation cannot be zeroed.
    pub fn release(&self, mut reservation: MemoryReservation, resident: Range<usize>) {
        // Checked before zeroing so that a full pool costs no `madvise`; checked again below because
        // other stores may release memories meanwhile.
        if reservation.reserved == 0 || self.is_full() || !reservation.zero(resident) {
            return;
        }
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() < self.capacity {
            slots.push(reservation);
        }
        // Otherwise `reservation` is unmapped when it goes out of scope, after the lock is released.
        drop(slots);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(reservation: &MemoryReservation, len: usize) -> &[u8] {
        assert!(len <= reservation.committed);
        // SAFETY: `len` bytes from the base are committed read/write (checked above) and the shared
        // borrow of the reservation excludes writers for the slice's lifetime.
        unsafe { std::slice::from_raw_parts(reservation.base(), len) }
    }

    fn bytes_mut(reservation: &mut MemoryReservation, len: usize) -> &mut [u8] {
        assert!(len <= reservation.committed);
        // SAFETY: as in `bytes`, with the exclusive borrow excluding all other access.
        unsafe { std::slice::from_raw_parts_mut(reservation.base(), len) }
    }

    const KIB: usize = 1024;

    #[test]
    fn zero_clears_the_resident_run_and_discards_the_rest() {
        let mut reservation = MemoryReservation::new(1 << 20, 192 * KIB).unwrap();
        let data = bytes_mut(&mut reservation, 192 * KIB);
        for at in [0, 1024, 4095, 4096, 70_000, 192 * KIB - 1] {
            data[at] = 0xa5;
        }
        // An unaligned run is widened to the pages it touches, so byte 4095 is cleared in place.
        assert!(reservation.zero(1024..1300));
        assert!(bytes(&reservation, 192 * KIB).iter().all(|b| *b == 0));
    }

    #[test]
    fn zero_with_a_run_beyond_the_committed_part_clears_only_committed_bytes() {
        let mut reservation = MemoryReservation::new(1 << 20, 64 * KIB).unwrap();
        bytes_mut(&mut reservation, 64 * KIB)[64 * KIB - 1] = 1;
        assert!(reservation.zero(32 * KIB..usize::MAX));
        assert!(bytes(&reservation, 64 * KIB).iter().all(|b| *b == 0));
    }

    #[test]
    fn released_reservation_is_reused_with_every_byte_zero() {
        let pool = MemoryPool::new(4);
        let mut first = pool.acquire(1 << 20, 128 * KIB).unwrap();
        let base = first.base();
        bytes_mut(&mut first, 128 * KIB).fill(0xff);
        pool.release(first, 0..4096);
        let second = pool.acquire(1 << 20, 128 * KIB).unwrap();
        assert_eq!(second.base(), base, "the released reservation is reused");
        assert!(bytes(&second, 128 * KIB).iter().all(|b| *b == 0));
    }

    #[test]
    fn reused_reservation_commits_what_the_new_memory_needs() {
        let pool = MemoryPool::new(4);
        let first = pool.acquire(1 << 20, 64 * KIB).unwrap();
        let base = first.base();
        pool.release(first, 0..0);
        let mut second = pool.acquire(1 << 20, 256 * KIB).unwrap();
        assert_eq!(second.base(), base);
        let data = bytes_mut(&mut second, 256 * KIB);
        assert_eq!(data[256 * KIB - 1], 0);
        data[256 * KIB - 1] = 1;
    }

    #[test]
    fn a_reservation_too_small_for_the_request_is_not_reused() {
        let pool = MemoryPool::new(4);
        let small = pool.acquire(64 * KIB, 64 * KIB).unwrap();
        let base = small.base();
        pool.release(small, 0..0);
        let large = pool.acquire(1 << 20, 64 * KIB).unwrap();
        assert_ne!(large.base(), base);
        assert_eq!(large.reserved, 1 << 20);
        // The small one is still pooled and serves a request it fits.
        assert_eq!(pool.acquire(64 * KIB, 64 * KIB).unwrap().base(), base);
    }

    #[test]
    fn pool_keeps_at_most_its_capacity_and_none_when_disabled() {
        let pool = MemoryPool::new(1);
        let (a, b) = (
            pool.acquire(1 << 20, 0).unwrap(),
            pool.acquire(1 << 20, 0).unwrap(),
        );
        pool.release(a, 0..0);
        pool.release(b, 0..0);
        assert_eq!(pool.slots.lock().unwrap().len(), 1);

        let disabled = MemoryPool::new(0);
        disabled.release(disabled.acquire(1 << 20, 0).unwrap(), 0..0);
        assert!(disabled.slots.lock().unwrap().is_empty());
    }

    #[test]
    fn empty_reservations_are_not_pooled() {
        let pool = MemoryPool::new(4);
        pool.release(pool.acquire(0, 0).unwrap(), 0..0);
        assert!(pool.slots.lock().unwrap().is_empty());
    }
}
