//! Linear memory: a [`MemoryReservation`] of address space whose accessible prefix grows in place, and
//! the public [`Memory`] handle.
//!
//! The reservation is mapped `PROT_NONE` up front and made read/write page by page as the memory grows,
//! so the base address does not move while the memory stays within its reservation (growing past it
//! moves the memory to a larger reservation). The interpreter checks every access against the current
//! size explicitly. Used by `store` (ownership), `instance` (creation) and the executor (raw access).

use std::ptr::NonNull;

use crate::store::{AsContext, AsContextMut, StoreId};
use crate::types::MemoryType;
use crate::{Error, Result};

/// A range of address space owned by one linear memory.
pub(crate) struct MemoryReservation {
    base: NonNull<u8>,
    /// Bytes reserved.
    reserved: usize,
    /// Bytes made read/write (a multiple of the host page size).
    committed: usize,
}

// SAFETY: the reservation is plain memory owned by exactly one `MemoryEntity`; it has no thread
// affinity, and all access goes through `&self`/`&mut self` of its owner.
unsafe impl Send for MemoryReservation {}
// SAFETY: as above; shared references only read the base pointer and sizes.
unsafe impl Sync for MemoryReservation {}

fn host_page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 4096 }
}

fn round_up(value: usize, to: usize) -> Option<usize> {
    value.checked_add(to - 1).map(|v| v / to * to)
}

impl MemoryReservation {
    /// Reserves `reserve` bytes of address space and makes the first `accessible` read/write.
    fn new(reserve: usize, accessible: usize) -> Option<Self> {
        let page = host_page_size();
        let reserved = round_up(reserve.max(accessible), page)?;
        if reserved == 0 {
            return Some(MemoryReservation {
                base: NonNull::dangling(),
                reserved: 0,
                committed: 0,
            });
        }
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory; the result is checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        let mut reservation = MemoryReservation {
            base: NonNull::new(ptr.cast()).expect("mmap does not return null on success"),
            reserved,
            committed: 0,
        };
        reservation.commit(accessible).then_some(reservation)
    }

    /// Makes the first `bytes` bytes read/write. Fails if they exceed the reservation.
    fn commit(&mut self, bytes: usize) -> bool {
        let Some(bytes) = round_up(bytes, host_page_size()) else {
            return false;
        };
        if bytes > self.reserved {
            return false;
        }
        if bytes <= self.committed {
            return true;
        }
        // SAFETY: `[committed, bytes)` lies inside the reservation mapped in `new`, which this value
        // owns; changing its protection affects no other memory.
        let rc = unsafe {
            libc::mprotect(
                self.base.as_ptr().add(self.committed).cast(),
                bytes - self.committed,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return false;
        }
        self.committed = bytes;
        true
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        if self.reserved > 0 {
            // SAFETY: the mapping was created in `new` with exactly this base and length and is
            // unmapped only here.
            unsafe { libc::munmap(self.base.as_ptr().cast(), self.reserved) };
        }
    }
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
}

impl MemoryEntity {
    pub fn new(ty: MemoryType, reservation_hint: u64) -> Result<Self> {
        let index_limit: u64 = if ty.memory64 { 1 << 48 } else { 1 << 32 };
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
            .and_then(|(reserve, size)| MemoryReservation::new(reserve, size))
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
        })
    }

    pub fn ty(&self) -> MemoryType {
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
        self.size
    }

    pub fn pages(&self) -> u64 {
        self.size >> self.ty.page_size_log2
    }

    pub fn base(&self) -> *mut u8 {
        self.reservation.base.as_ptr()
    }

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
            let mut moved = MemoryReservation::new(usize::try_from(reserve).ok()?, new_usize)?;
            let old = self.data();
            // SAFETY: `moved` has at least `new_usize >= old.len()` committed bytes and is a fresh
            // mapping, so the ranges do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(old.as_ptr(), moved.base.as_ptr(), old.len()) };
            moved.committed = moved.committed.max(new_usize);
            self.reservation = moved;
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
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut();
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

    /// Current size in pages.
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

    /// Grows by `delta` pages and returns the previous size in pages.
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
    fn zero_sized_memory_has_empty_data() {
        let mem = MemoryEntity::new(MemoryType::new(0, Some(0)), 1 << 20).unwrap();
        assert!(mem.data().is_empty());
    }
}
