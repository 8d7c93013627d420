//! The public linear-memory handles: [`Memory`], a memory of one store, and [`SharedMemory`], a
//! shared memory (threads proposal) usable from several stores and threads.
//!
//! A `Memory` is a store id and an index into the store's memories (`runtime::memory::MemoryEntity`);
//! a `SharedMemory` holds its `runtime::memory::SharedMemoryInner`. Bounds checks and growth go
//! through those and through the store's resource limiter.

use std::sync::Arc;

use crate::handle::Memory;
use crate::runtime::memory::{MemoryEntity, SharedMemoryInner, max_bytes_for_index};
use crate::runtime::store::StoreInner;
use crate::store::{AsContext, AsContextMut};
use crate::types::MemoryType;
use crate::{Error, Result};

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

    fn entity<'a>(&self, store: &'a StoreInner) -> &'a MemoryEntity {
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
/// handle, is atomic (see the memory model in `runtime/memory/shared.rs`), so there is no `data()`
/// slice; use [`SharedMemory::read`] and [`SharedMemory::write`].
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

impl StoreInner {
    /// Adds a memory to the store and returns its handle.
    pub fn push_memory(&mut self, entity: MemoryEntity) -> Memory {
        self.memories.push(entity);
        Memory {
            store: self.id,
            index: (self.memories.len() - 1) as u32,
        }
    }
}
