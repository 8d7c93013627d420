//! Bounds-checked access to the guest's linear memory.
//!
//! Every pointer and length a guest passes goes through [`GuestMemory`]; anything outside the memory
//! (including arithmetic overflow of `ptr + len`) is [`Errno::Fault`], never a host panic. Values are
//! little-endian as in Wasm. Used by all syscall modules.

use std::ffi::OsStr;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// `len` bytes at `ptr`.
    pub fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// `len` writable bytes at `ptr`.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    fn array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
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
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
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
            out.extend_from_slice(self.slice(b.ptr, b.len)?);
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
            self.slice_mut(b.ptr, n as u32)?.copy_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    /// A path argument: raw bytes, interpreted as a host path without UTF-8 requirements.
    pub fn path(&self, ptr: u32, len: u32) -> WasiResult<&Path> {
        let bytes = self.slice(ptr, len)?;
        if bytes.contains(&0) {
            return Err(Errno::Inval);
        }
        Ok(Path::new(OsStr::from_bytes(bytes)))
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
        assert_eq!(mem.slice(u32::MAX, 2), Err(Errno::Fault));
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
