//! Shared linear memories (the threads proposal): one [`SharedMemoryInner`] used by any number of
//! stores on any number of threads, its word-atomic byte access, and the parking table behind
//! `memory.atomic.wait` and `memory.atomic.notify`.
//!
//! # Memory model
//!
//! Wasm code on several threads reads and writes a shared memory concurrently, with accesses of any
//! size at any alignment, atomic or not. In Rust, two unsynchronized accesses to overlapping bytes are
//! undefined behaviour unless both are atomic **and of the same size at the same address** (or both
//! are reads): plain loads and stores racing with other threads are data races, and an `AtomicU8`
//! store racing with an `AtomicU32` load of the same bytes is a mixed-size race.
//!
//! ward therefore touches the bytes of a shared memory in exactly one way: as naturally aligned
//! 64-bit words, through `AtomicU64`. Every access, from Wasm or from the host, of any width, is
//! made of atomic operations on the aligned words that contain its bytes, so no two accesses ever
//! partially overlap and none is non-atomic. On top of that:
//! - a load reads the word (or the two words an unaligned access spans) and extracts its bytes;
//! - a store replaces its bytes in the word with a compare-exchange loop, leaving the other bytes
//!   as another thread may just have written them (a whole aligned word is stored directly);
//! - a read-modify-write or compare-exchange of 1, 2, 4 or 8 bytes (aligned, as Wasm requires for
//!   atomics, so inside one word) is a compare-exchange loop on its word, or the native 64-bit
//!   operation for 8 bytes.
//!
//! Ordinary Wasm accesses use `Relaxed`, Wasm's atomic instructions `SeqCst`. Non-atomic accesses
//! that span two words may tear between the words, which Wasm's memory model allows; no access
//! ever observes a byte value that no thread wrote. The memory is little-endian: byte `i` of a word
//! is bits `8 i ..` of the word's value read with `u64::from_le`.
//!
//! A shared memory reserves its maximum size when it is created and never moves, so the base
//! pointer every store caches stays valid; its size only grows, under a lock, and is published
//! with `Release` after the new pages are accessible.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::reservation::MemoryReservation;
use crate::types::MemoryType;
use crate::{Error, Result};

/// The state of one shared memory, shared by every store that uses it.
pub(crate) struct SharedMemoryInner {
    /// The reservation (of the maximum size); locked to grow.
    reservation: Mutex<MemoryReservation>,
    /// Its base address, fixed for the memory's life and 8-byte aligned (page aligned).
    base: *mut u8,
    /// Current size in bytes.
    size: AtomicU64,
    ty: MemoryType,
    max_bytes: u64,
    parking: Parking,
}

// SAFETY: all access to the memory's bytes goes through `AtomicU64` operations on aligned words
// (see the module docs), the reservation is behind a mutex, and the size is atomic.
unsafe impl Send for SharedMemoryInner {}
// SAFETY: as above.
unsafe impl Sync for SharedMemoryInner {}

impl std::fmt::Debug for SharedMemoryInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("ty", &self.ty)
            .field("size", &self.size_bytes())
            .finish()
    }
}

/// The low `n` bytes of a word.
fn low_mask(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (n * 8)) - 1
    }
}

/// The pieces of the byte range `at..at + len` that lie in one word each, as (offset from `at`,
/// length).
fn word_pieces(at: usize, len: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut done = 0;
    std::iter::from_fn(move || {
        (done < len).then(|| {
            let n = (len - done).min(8 - (at + done) % 8);
            let piece = (done, n);
            done += n;
            piece
        })
    })
}

impl SharedMemoryInner {
    /// A shared memory of type `ty` (which must have a maximum): its whole maximum is reserved.
    pub fn new(ty: MemoryType) -> Result<Arc<SharedMemoryInner>> {
        let maximum = ty
            .maximum
            .ok_or_else(|| Error::Instantiation("a shared memory needs a maximum size".into()))?;
        let index_limit: u64 = if ty.memory64 { 1 << 48 } else { 1 << 32 };
        let max_bytes = maximum
            .checked_mul(ty.page_size())
            .filter(|m| *m <= index_limit)
            .ok_or_else(|| Error::Instantiation("shared memory maximum is too large".into()))?;
        let size = ty
            .minimum
            .checked_mul(ty.page_size())
            .filter(|s| *s <= max_bytes)
            .ok_or_else(|| Error::Instantiation("memory minimum size is too large".into()))?;
        // Under Miri address space cannot be reserved without backing it, and growth would move
        // the memory: make all of it accessible at once there.
        let accessible = if cfg!(miri) { max_bytes } else { size };
        let reservation = usize::try_from(max_bytes)
            .ok()
            .zip(usize::try_from(accessible).ok())
            .and_then(|(reserve, accessible)| MemoryReservation::new(reserve, accessible))
            .ok_or_else(|| {
                Error::Instantiation(format!(
                    "failed to reserve a shared memory of {max_bytes} bytes"
                ))
            })?;
        let base = reservation.base();
        Ok(Arc::new(SharedMemoryInner {
            reservation: Mutex::new(reservation),
            base,
            size: AtomicU64::new(size),
            ty,
            max_bytes,
            parking: Parking::default(),
        }))
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            minimum: self.size_bytes() >> self.ty.page_size_log2,
            ..self.ty
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    pub fn pages(&self) -> u64 {
        self.size_bytes() >> self.ty.page_size_log2
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the maximum would be
    /// passed or the host cannot provide the pages.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let mut reservation = self.reservation.lock().unwrap_or_else(|e| e.into_inner());
        let size = self.size.load(Ordering::Acquire);
        let new_size = delta
            .checked_mul(self.ty.page_size())
            .and_then(|d| d.checked_add(size))
            .filter(|s| *s <= self.max_bytes)?;
        if !reservation.commit(usize::try_from(new_size).ok()?) {
            return None;
        }
        self.size.store(new_size, Ordering::Release);
        Some(size >> self.ty.page_size_log2)
    }

    /// The word holding byte `at`.
    ///
    /// # Safety
    /// `at` is below the memory's current size.
    unsafe fn word(&self, at: usize) -> &AtomicU64 {
        // SAFETY: the base is page aligned, so `at / 8 * 8` is 8-byte aligned; the word lies in
        // committed memory (commits are whole host pages, so a word containing a byte below the
        // size is committed); it lives as long as `self`, and every access to it is atomic (see
        // the module docs).
        unsafe { AtomicU64::from_ptr(self.base.add(at & !7).cast::<u64>()) }
    }

    /// Reads `n <= 8` bytes at `at` (in bounds, checked by the caller) as a little-endian number.
    ///
    /// # Safety
    /// `at + n` is at most the memory's current size.
    pub unsafe fn load(&self, at: usize, n: usize, order: Ordering) -> u64 {
        let shift = (at % 8) * 8;
        // SAFETY: `at` is in bounds (the caller's contract).
        let low = u64::from_le(unsafe { self.word(at) }.load(order)) >> shift;
        if at % 8 + n <= 8 {
            return low & low_mask(n);
        }
        // SAFETY: the access ends in the next word, in bounds (the caller's contract).
        let high = u64::from_le(unsafe { self.word(at + 8) }.load(order));
        (low | high << (64 - shift)) & low_mask(n)
    }

    /// Writes the low `n <= 8` bytes of `value` at `at`.
    ///
    /// # Safety
    /// `at + n` is at most the memory's current size.
    pub unsafe fn store(&self, at: usize, n: usize, value: u64, order: Ordering) {
        let in_first = n.min(8 - at % 8);
        // SAFETY: the caller's contract.
        unsafe { self.store_in_word(at, in_first, value, order) };
        if in_first < n {
            // SAFETY: the rest lies in the next word, in bounds.
            unsafe {
                self.store_in_word(at + in_first, n - in_first, value >> (in_first * 8), order)
            };
        }
    }

    /// Writes the low `n` bytes of `value` at `at`, all inside one word.
    ///
    /// # Safety
    /// As for [`SharedMemoryInner::store`], and `at % 8 + n <= 8`.
    unsafe fn store_in_word(&self, at: usize, n: usize, value: u64, order: Ordering) {
        // SAFETY: the caller's contract.
        let word = unsafe { self.word(at) };
        if n == 8 {
            word.store(value.to_le(), order);
            return;
        }
        let shift = (at % 8) * 8;
        let mask = low_mask(n) << shift;
        let bits = (value << shift) & mask;
        let failure = if order == Ordering::Relaxed {
            Ordering::Relaxed
        } else {
            Ordering::SeqCst
        };
        let _ = word.fetch_update(order, failure, |old| {
            Some(((u64::from_le(old) & !mask) | bits).to_le())
        });
    }

    /// Replaces the `n`-byte value at `at` (aligned to `n`) with `update(old)`, `SeqCst`, and returns
    /// the old value; with `update` returning `None` nothing is written.
    ///
    /// # Safety
    /// `at + n` is at most the memory's current size, and `at` is a multiple of `n`.
    pub unsafe fn update(&self, at: usize, n: usize, update: impl Fn(u64) -> Option<u64>) -> u64 {
        // SAFETY: the caller's contract.
        let word = unsafe { self.word(at) };
        let shift = (at % 8) * 8;
        let mask = low_mask(n);
        let mut old_value = 0;
        let _ = word.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
            let whole = u64::from_le(old);
            old_value = (whole >> shift) & mask;
            let new = update(old_value)? & mask;
            Some(((whole & !(mask << shift)) | new << shift).to_le())
        });
        old_value
    }

    /// Copies bytes out of the memory, `Relaxed`.
    ///
    /// # Safety
    /// `at + out.len()` is at most the memory's current size.
    pub unsafe fn read_bytes(&self, at: usize, out: &mut [u8]) {
        for (done, n) in word_pieces(at, out.len()) {
            // SAFETY: inside the range the caller checked.
            let value = unsafe { self.load(at + done, n, Ordering::Relaxed) };
            out[done..done + n].copy_from_slice(&value.to_le_bytes()[..n]);
        }
    }

    /// Copies bytes into the memory, `Relaxed`.
    ///
    /// # Safety
    /// `at + bytes.len()` is at most the memory's current size.
    pub unsafe fn write_bytes(&self, at: usize, bytes: &[u8]) {
        for (done, n) in word_pieces(at, bytes.len()) {
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&bytes[done..done + n]);
            // SAFETY: inside the range the caller checked; `n` stays inside one word.
            unsafe {
                self.store_in_word(at + done, n, u64::from_le_bytes(word), Ordering::Relaxed)
            };
        }
    }

    /// Sets `len` bytes from `at` to `value`.
    ///
    /// # Safety
    /// `at + len` is at most the memory's current size.
    pub unsafe fn fill(&self, at: usize, len: usize, value: u8) {
        let pattern = u64::from_le_bytes([value; 8]);
        for (done, n) in word_pieces(at, len) {
            // SAFETY: inside the range the caller checked; `n` stays inside one word.
            unsafe { self.store_in_word(at + done, n, pattern, Ordering::Relaxed) };
        }
    }

    /// Copies `len` bytes from `src` in `from` to `dst` in `to`, which may be the same memory
    /// (then as `memmove` does: overlapping ranges are handled).
    ///
    /// # Safety
    /// Both ranges end at most at their memories' current sizes.
    pub unsafe fn copy(from: &Self, src: usize, to: &Self, dst: usize, len: usize) {
        let mut buf = [0u8; 256];
        let chunks = len.div_ceil(buf.len());
        for i in 0..chunks {
            // Forwards when copying down, backwards when copying up, so overlap is handled.
            let chunk = if dst <= src { i } else { chunks - 1 - i };
            let start = chunk * buf.len();
            let n = (len - start).min(buf.len());
            // SAFETY: inside the ranges the caller checked.
            unsafe {
                from.read_bytes(src + start, &mut buf[..n]);
                to.write_bytes(dst + start, &buf[..n]);
            }
        }
    }

    /// `memory.atomic.notify`: wakes up to `count` threads waiting at `addr`; returns how many.
    pub fn notify(&self, addr: u64, count: u32) -> u32 {
        self.parking.notify(addr, count)
    }

    /// `memory.atomic.wait32/64`: if the `n`-byte value at `at` equals `expected`, waits until
    /// notified (0) or until `timeout` passes (2); returns 1 at once if it differs.
    ///
    /// # Safety
    /// `at + n` is at most the memory's current size.
    pub unsafe fn wait(
        &self,
        at: usize,
        n: usize,
        expected: u64,
        timeout: Option<Duration>,
    ) -> u32 {
        let deadline = timeout.map(|t| Instant::now() + t);
        // SAFETY: the caller's contract.
        let check = || unsafe { self.load(at, n, Ordering::SeqCst) } == expected;
        self.parking.wait(at as u64, check, deadline)
    }
}

/// Threads waiting in `memory.atomic.wait`, by address, in arrival order.
#[derive(Default)]
struct Parking {
    queues: Mutex<HashMap<u64, VecDeque<Arc<Waiter>>>>,
}

/// One waiting thread: `woken` is set (under the parking lock) by the notify that picks it.
#[derive(Default)]
struct Waiter {
    woken: std::sync::atomic::AtomicBool,
    wake: Condvar,
}

impl Parking {
    fn wait(&self, addr: u64, still_expected: impl Fn() -> bool, deadline: Option<Instant>) -> u32 {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        // Compared under the lock that `notify` takes, so a notify after a store that changed the
        // value cannot be missed between the comparison and the enqueue.
        if !still_expected() {
            return 1;
        }
        let me = Arc::new(Waiter::default());
        queues.entry(addr).or_default().push_back(me.clone());
        loop {
            if me.woken.load(Ordering::Relaxed) {
                return 0;
            }
            queues = match deadline {
                None => me.wake.wait(queues).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        if let Some(queue) = queues.get_mut(&addr) {
                            queue.retain(|w| !Arc::ptr_eq(w, &me));
                            if queue.is_empty() {
                                queues.remove(&addr);
                            }
                        }
                        return 2;
                    }
                    me.wake
                        .wait_timeout(queues, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    fn notify(&self, addr: u64, count: u32) -> u32 {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = queues.get_mut(&addr) else {
            return 0;
        };
        let mut woken = 0;
        while woken < count {
            let Some(waiter) = queue.pop_front() else {
                break;
            };
            waiter.woken.store(true, Ordering::Relaxed);
            waiter.wake.notify_one();
            woken += 1;
        }
        if queue.is_empty() {
            queues.remove(&addr);
        }
        woken
    }
}
