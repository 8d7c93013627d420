//! Linear memory: the store-owned [`MemoryEntity`] (a reservation of address space whose accessible
//! prefix grows in place, see `reservation`) and the public [`Memory`] handle.
//!
//! The reservation is mapped `PROT_NONE` up front and made read/write page by page as the memory grows,
//! so the base address does not move while the memory stays within its reservation (growing past it
//! moves the memory to a larger reservation). The interpreter checks every access against the current
//! size explicitly. Reservations come from, and go back to, the engine's [`MemoryPool`], which makes
//! instantiating small modules cheap. Used by `store` (ownership, release to the pool), `instance`
//! (creation, data segments) and the executor (raw access).

mod reservation;
mod shared;

use std::ops::Range;
use std::sync::Arc;

pub(crate) use reservation::MemoryPool;
use reservation::{MemoryReservation, host_page_size};
pub(crate) use shared::SharedMemoryInner;

use crate::handle::StoreId;
use crate::store::{AsContext, AsContextMut};
use crate::types::MemoryType;
use crate::{Error, Result};

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
        Self::new_in(&MemoryPool::new(0), ty, reservation_hint)
    }

    /// A memory of type `ty` in a reservation of up to `reservation_hint` bytes taken from `pool`.
    pub fn new_in(pool: &MemoryPool, ty: MemoryType, reservation_hint: u64) -> Result<Self> {
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
        let reserve = reservation_hint.min(max_bytes).max(size);
        let reservation = usize::try_from(reserve)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(reserve, size)| pool.acquire(reserve, size))
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

/// A linear memory in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Memory {
    /// Creates a memory of type `ty` in the store.
    ///
    /// The page size must be 64 KiB or 1 byte (`page_size_log2` 16 or 0), and the minimum and
    /// maximum at most the pages the index type addresses (for a 32-bit memory, 65,536 pages of
    /// 64 KiB or 2^32 - 1 pages of 1 byte).
    ///
    /// ```
    /// # use ward::{Engine, Memory, MemoryType, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let memory = Memory::new(&mut store, MemoryType::new(10, Some(100)).with_page_size_log2(0))?;
    /// assert_eq!(memory.size(&store), 10);
    /// assert_eq!(memory.data_size(&store), 10);
    /// assert_eq!(memory.grow(&mut store, 5)?, 10);
    /// assert_eq!(memory.data_size(&store), 15);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut();
        if !matches!(ty.page_size_log2, 0 | 16) {
            return Err(Error::Usage(format!(
                "unsupported memory page size 2^{} bytes (must be 1 byte or 64 KiB)",
                ty.page_size_log2
            )));
        }
        let page_limit = max_bytes_for_index(&ty) >> ty.page_size_log2;
        if ty.minimum > page_limit || ty.maximum.is_some_and(|m| m > page_limit || m < ty.minimum) {
            return Err(Error::Usage(format!(
                "memory limits of {} to {:?} pages are invalid (at most {page_limit} pages of {} bytes)",
                ty.minimum,
                ty.maximum,
                ty.page_size()
            )));
        }
        let entity = store.create_memory(ty)?;
        Ok(store.inner.push_memory(entity))
    }

    fn entity<'a>(&self, store: &'a crate::store::StoreInner) -> &'a MemoryEntity {
        assert_eq!(self.store, store.id, "memory used with the wrong store");
        &store.memories[self.index as usize]
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.entity(&store.as_context().inner).ty()
    }

    /// Current size in pages of the memory's page size ([`MemoryType::page_size`]).
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.entity(&store.as_context().inner).pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.entity(&store.as_context().inner).size_bytes() as usize
    }

    /// The memory's bytes.
    pub fn data<'a, S: AsContext + 'a>(&self, store: &'a S) -> &'a [u8] {
        self.entity(&store.as_context().inner).data()
    }

    /// The memory's bytes, writable.
    pub fn data_mut<'a, S: AsContextMut + 'a>(&self, store: &'a mut S) -> &'a mut [u8] {
        let inner = &mut store.as_context_mut().inner;
        assert_eq!(self.store, inner.id, "memory used with the wrong store");
        inner.memories[self.index as usize].data_mut()
    }

    /// The memory's bytes and the store's host data, both writable at once (a host function
    /// that copies guest bytes into its own state needs both).
    pub fn data_and_store_mut<'a, T: 'a, S: AsContextMut<Data = T> + 'a>(
        &self,
        store: &'a mut S,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.as_context_mut();
        assert_eq!(
            self.store, store.inner.id,
            "memory used with the wrong store"
        );
        let (memories, data) = store.memories_and_data_mut();
        (memories[self.index as usize].data_mut(), data)
    }

    /// A pointer to the memory's first byte. It stays valid until the memory grows (growing may
    /// move an unshared memory), and reading or writing through it must not overlap a borrow made
    /// by [`Memory::data`] or [`Memory::data_mut`].
    pub fn data_ptr(&self, store: impl AsContext) -> *mut u8 {
        self.entity(&store.as_context().inner).base()
    }

    /// Copies `buffer.len()` bytes starting at `offset` out of the memory.
    pub fn read(&self, store: impl AsContext, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let data = self.entity(&store.as_context().inner).data();
        let src = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| Error::Usage("out of bounds memory access".into()))?;
        buffer.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buffer` into the memory at `offset`.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buffer: &[u8]) -> Result<()> {
        let data = self.data_mut(&mut store);
        let dst = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or_else(|| Error::Usage("out of bounds memory access".into()))?;
        dst.copy_from_slice(buffer);
        Ok(())
    }

    /// Grows by `delta` pages of the memory's page size and returns the previous size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = store.as_context_mut();
        assert_eq!(
            self.store, store.inner.id,
            "memory used with the wrong store"
        );
        store
            .grow_memory(self.index as usize, delta)?
            .ok_or_else(|| Error::Usage("failed to grow memory".into()))
    }
}

/// A linear memory shared between threads (the threads proposal): usable by any number of stores
/// of its engine, on any thread, at once. Every access to its bytes, from Wasm or through this
/// handle, is atomic (see the memory model in `memory/shared.rs`), so there is no `data()` slice;
/// use [`SharedMemory::read`] and [`SharedMemory::write`].
#[derive(Clone)]
pub struct SharedMemory {
    pub(crate) inner: Arc<SharedMemoryInner>,
    pub(crate) engine: crate::Engine,
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl PartialEq for SharedMemory {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for SharedMemory {}

/// What [`SharedMemory::atomic_wait32`] and [`SharedMemory::atomic_wait64`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify.
    Ok,
    /// The value differed from the expected one: no wait.
    Mismatch,
    /// The timeout passed.
    TimedOut,
}

impl SharedMemory {
    /// A new shared memory of type `ty`, which must be shared and have a maximum (all of which is
    /// reserved now: the memory never moves).
    pub fn new(engine: &crate::Engine, ty: MemoryType) -> Result<SharedMemory> {
        if !ty.shared {
            return Err(Error::Usage(
                "SharedMemory::new needs a shared memory type".into(),
            ));
        }
        Ok(SharedMemory {
            inner: SharedMemoryInner::new(ty)?,
            engine: engine.clone(),
        })
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty(&self) -> MemoryType {
        self.inner.ty()
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.inner.pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.inner.size_bytes() as usize
    }

    /// Grows by `delta` pages and returns the previous size in pages.
    pub fn grow(&self, delta: u64) -> Result<u64> {
        self.inner
            .grow(delta)
            .ok_or_else(|| Error::Usage("failed to grow memory".into()))
    }

    fn check(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end as u64 <= self.inner.size_bytes() => Ok(()),
            _ => Err(Error::Usage("out of bounds memory access".into())),
        }
    }

    /// Copies `buffer.len()` bytes starting at `offset` out of the memory.
    pub fn read(&self, offset: usize, buffer: &mut [u8]) -> Result<()> {
        self.check(offset, buffer.len())?;
        // SAFETY: in bounds, checked above; the memory only grows.
        unsafe { self.inner.read_bytes(offset, buffer) };
        Ok(())
    }

    /// Copies `buffer` into the memory at `offset`.
    pub fn write(&self, offset: usize, buffer: &[u8]) -> Result<()> {
        self.check(offset, buffer.len())?;
        // SAFETY: as in `read`.
        unsafe { self.inner.write_bytes(offset, buffer) };
        Ok(())
    }

    /// Wakes up to `count` threads waiting at `addr`; returns how many were woken.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> Result<u32> {
        self.check(addr as usize, 4)?;
        if !addr.is_multiple_of(4) {
            return Err(Error::Usage("unaligned atomic access".into()));
        }
        Ok(self.inner.notify(addr, count))
    }

    /// Waits at `addr` while the `u32` there equals `expected`, until notified or `timeout` passes.
    pub fn atomic_wait32(
        &self,
        addr: u64,
        expected: u32,
        timeout: Option<std::time::Duration>,
    ) -> Result<WaitResult> {
        self.wait(addr, 4, expected.into(), timeout)
    }

    /// Waits at `addr` while the `u64` there equals `expected`, until notified or `timeout` passes.
    pub fn atomic_wait64(
        &self,
        addr: u64,
        expected: u64,
        timeout: Option<std::time::Duration>,
    ) -> Result<WaitResult> {
        self.wait(addr, 8, expected, timeout)
    }

    fn wait(
        &self,
        addr: u64,
        n: usize,
        expected: u64,
        timeout: Option<std::time::Duration>,
    ) -> Result<WaitResult> {
        self.check(addr as usize, n)?;
        if !addr.is_multiple_of(n as u64) {
            return Err(Error::Usage("unaligned atomic access".into()));
        }
        // SAFETY: in bounds and aligned, checked above.
        Ok(
            match unsafe { self.inner.wait(addr as usize, n, expected, timeout) } {
                0 => WaitResult::Ok,
                1 => WaitResult::Mismatch,
                _ => WaitResult::TimedOut,
            },
        )
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

    #[test]
    fn released_memory_is_reused_zeroed_and_keeps_growing() {
        let pool = MemoryPool::new(4);
        let mut mem = MemoryEntity::new_in(&pool, MemoryType::new(3, None), 1 << 24).unwrap();
        let base = mem.base();
        mem.data_mut()[1024..1300].fill(0x11);
        mem.note_written(1024..1300);
        mem.data_mut()[3 * 65536 - 1] = 0x22;
        mem.release_to(&pool);

        let mut again = MemoryEntity::new_in(&pool, MemoryType::new(1, None), 1 << 24).unwrap();
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
        let mut first = MemoryEntity::new_in(&pool, mem64, 1 << 24).unwrap();
        first.data_mut().fill(7);
        let base = first.base();
        first.release_to(&pool);
        // A memory with a small maximum reserves little, so the 16 MiB reservation fits it.
        let mut bounded =
            MemoryEntity::new_in(&pool, MemoryType::new(1, Some(2)), 1 << 24).unwrap();
        assert_eq!(bounded.base(), base);
        assert!(bounded.data().iter().all(|b| *b == 0));
        assert_eq!(bounded.grow(1), Some(1));
        assert_eq!(bounded.grow(1), None, "the declared maximum still applies");
        bounded.release_to(&pool);
        let again = MemoryEntity::new_in(&pool, mem64, 1 << 24).unwrap();
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
