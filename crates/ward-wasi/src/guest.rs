//! Bounds-checked access to the guest's linear memory.
//!
//! Every pointer and length a guest passes goes through [`GuestMemory`]; anything outside the memory
//! (including arithmetic overflow of `ptr + len`) is [`Errno::Fault`], never a host panic. Values are
//! little-endian as in Wasm. Used by all syscall modules.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::abi::size;
use crate::errno::{Errno, WasiResult};

/// A guest buffer described by an `iovec`/`ciovec`: its address and length in linear memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuestBuffer {
    pub ptr: u32,
    pub len: u32,
}

/// The linear memory of the calling instance for the duration of one syscall.
pub(crate) struct GuestMemory<'a> {
    bytes: Bytes<'a>,
    /// Every write, in order, when a trace is being recorded (`trace`).
    log: Option<Vec<(u32, Vec<u8>)>>,
}

/// Where a guest memory's bytes are.
enum Bytes<'a> {
    /// An unshared memory, borrowed for the syscall.
    Owned(&'a mut [u8]),
    /// A shared memory (wasi-threads): other threads may be using it, so it is read and written
    /// only through the memory's atomic accessors, copying in and out.
    Shared(&'a ward::SharedMemory),
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory {
            bytes: Bytes::Owned(bytes),
            log: None,
        }
    }

    /// A shared memory's view.
    pub fn shared(memory: &'a ward::SharedMemory) -> Self {
        GuestMemory {
            bytes: Bytes::Shared(memory),
            log: None,
        }
    }

    /// Starts keeping a copy of every write (for recording a trace).
    pub fn log_writes(&mut self) {
        self.log = Some(Vec::new());
    }

    /// The writes kept since [`GuestMemory::log_writes`].
    pub fn take_writes(&mut self) -> Vec<(u32, Vec<u8>)> {
        self.log.take().unwrap_or_default()
    }

    fn len(&self) -> usize {
        match &self.bytes {
            Bytes::Owned(bytes) => bytes.len(),
            Bytes::Shared(memory) => memory.data_size(),
        }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// Checks that `len` bytes at `ptr` lie inside the memory.
    pub fn check(&self, ptr: u32, len: u32) -> WasiResult {
        self.range(ptr, len).map(|_| ())
    }

    /// `len` bytes at `ptr` (a copy for a shared memory).
    pub fn read(&self, ptr: u32, len: u32) -> WasiResult<Cow<'_, [u8]>> {
        let range = self.range(ptr, len)?;
        Ok(match &self.bytes {
            Bytes::Owned(bytes) => Cow::Borrowed(&bytes[range]),
            Bytes::Shared(memory) => {
                let mut out = vec![0; range.len()];
                memory
                    .read(range.start, &mut out)
                    .map_err(|_| Errno::Fault)?;
                Cow::Owned(out)
            }
        })
    }

    fn array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(&self.read(ptr, N as u32)?);
        Ok(out)
    }

    pub fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        self.array(ptr).map(u16::from_le_bytes)
    }

    pub fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        self.array(ptr).map(u32::from_le_bytes)
    }

    pub fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        self.array(ptr).map(u64::from_le_bytes)
    }

    pub fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        self.array::<1>(ptr).map(|[b]| b)
    }

    pub fn write_bytes(&mut self, ptr: u32, bytes: &[u8]) -> WasiResult {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        let range = self.range(ptr, len)?;
        match &mut self.bytes {
            Bytes::Owned(memory) => memory[range].copy_from_slice(bytes),
            Bytes::Shared(memory) => memory.write(range.start, bytes).map_err(|_| Errno::Fault)?,
        }
        if let Some(log) = &mut self.log {
            log.push((ptr, bytes.to_vec()));
        }
        Ok(())
    }

    pub fn write_u8(&mut self, ptr: u32, value: u8) -> WasiResult {
        self.write_bytes(ptr, &[value])
    }

    pub fn write_u16(&mut self, ptr: u32, value: u16) -> WasiResult {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub fn write_u32(&mut self, ptr: u32, value: u32) -> WasiResult {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, value: u64) -> WasiResult {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// Reads `count` `iovec`s at `ptr`, checking that each buffer lies inside memory.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<GuestBuffer>> {
        let bytes = count.checked_mul(size::IOVEC).ok_or(Errno::Fault)?;
        self.range(ptr, bytes)?;
        (0..count)
            .map(|i| {
                let at = ptr + i * size::IOVEC;
                let buffer = GuestBuffer {
                    ptr: self.read_u32(at)?,
                    len: self.read_u32(at + 4)?,
                };
                self.range(buffer.ptr, buffer.len)?;
                Ok(buffer)
            })
            .collect()
    }

    /// The bytes of all `buffers`, concatenated.
    pub fn gather(&self, buffers: &[GuestBuffer]) -> WasiResult<Vec<u8>> {
        let mut out = Vec::new();
        for b in buffers {
            out.extend_from_slice(&self.read(b.ptr, b.len)?);
        }
        Ok(out)
    }

    /// Copies `data` into `buffers` in order, as far as it goes.
    pub fn scatter(&mut self, buffers: &[GuestBuffer], mut data: &[u8]) -> WasiResult {
        for b in buffers {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(b.len as usize);
            self.write_bytes(b.ptr, &data[..n])?;
            data = &data[n..];
        }
        Ok(())
    }

    /// A path argument: raw bytes, interpreted as a host path without UTF-8 requirements.
    pub fn path(&self, ptr: u32, len: u32) -> WasiResult<PathBuf> {
        let bytes = self.read(ptr, len)?;
        if bytes.contains(&0) {
            return Err(Errno::Inval);
        }
        Ok(Path::new(OsStr::from_bytes(&bytes)).to_path_buf())
    }
}

/// Total length of `buffers`, limited so one call never asks the host for an absurd allocation.
pub(crate) fn total_len(buffers: &[GuestBuffer], limit: usize) -> usize {
    buffers
        .iter()
        .map(|b| b.len as usize)
        .fold(0usize, |a, b| a.saturating_add(b))
        .min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_and_overflowing_ranges_are_faults() {
        let mut bytes = [0u8; 16];
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(12).unwrap(), 0);
        assert_eq!(mem.read_u32(13), Err(Errno::Fault));
        assert_eq!(mem.check(u32::MAX, 2), Err(Errno::Fault));
        assert_eq!(mem.iovecs(0, u32::MAX).unwrap_err(), Errno::Fault);
    }

    #[test]
    fn iovec_pointing_outside_memory_is_a_fault() {
        let mut bytes = [0u8; 32];
        bytes[0..4].copy_from_slice(&20u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&100u32.to_le_bytes());
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.iovecs(0, 1).unwrap_err(), Errno::Fault);
    }
}
