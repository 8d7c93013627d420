//! Preview1 syscalls called by the WASI 0.2 host on a scratch memory: the arguments a syscall
//! would read from the guest's memory (paths, buffers) are laid out in a host buffer, and what it
//! writes there is read back. So every check of the preview1 host (cap-std resolution beneath
//! the preopen, read-only preopens, rights, the audit log) holds for components unchanged. Used by
//! the interface modules of `p2`.

use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::guest::GuestMemory;

/// Where the inputs start in the scratch memory; the words below are for small results.
const INPUTS: usize = 64;

/// Runs `syscall` on a scratch memory holding `inputs` (each at an 8-aligned offset) followed by
/// `out_len` bytes for its output. It gets each input's `(ptr, len)` and the output's pointer;
/// returns the output bytes. Inputs too large for a 32-bit memory fail with `ENOMEM`.
pub(crate) fn call(
    ctx: &mut WasiState,
    inputs: &[&[u8]],
    out_len: usize,
    syscall: impl FnOnce(&mut WasiState, &mut GuestMemory<'_>, &[(u32, u32)], u32) -> WasiResult,
) -> WasiResult<Vec<u8>> {
    let mut bytes = vec![0u8; INPUTS];
    let mut spans = Vec::with_capacity(inputs.len());
    for input in inputs {
        let ptr = bytes.len().next_multiple_of(8);
        bytes.resize(ptr, 0);
        bytes.extend_from_slice(input);
        spans.push((to_u32(ptr)?, to_u32(input.len())?));
    }
    let out = bytes.len().next_multiple_of(8);
    bytes.resize(out.checked_add(out_len).ok_or(Errno::Nomem)?, 0);
    let out_ptr = to_u32(out)?;
    to_u32(bytes.len())?;
    syscall(ctx, &mut GuestMemory::new(&mut bytes), &spans, out_ptr)?;
    bytes.drain(..out);
    Ok(bytes)
}

fn to_u32(n: usize) -> WasiResult<u32> {
    u32::try_from(n).map_err(|_| Errno::Nomem)
}

/// Reads a little-endian `u64` at `at` of a syscall's output.
pub(crate) fn u64_at(out: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(bytes) = out.get(at..at + 8) {
        word.copy_from_slice(bytes);
    }
    u64::from_le_bytes(word)
}

/// Reads a little-endian `u32` at `at` of a syscall's output.
pub(crate) fn u32_at(out: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(bytes) = out.get(at..at + 4) {
        word.copy_from_slice(bytes);
    }
    u32::from_le_bytes(word)
}

/// A preview1 `iovec` of one buffer at `ptr` of `len` bytes.
pub(crate) fn iovec(ptr: u32, len: u32) -> [u8; 8] {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&ptr.to_le_bytes());
    bytes[4..].copy_from_slice(&len.to_le_bytes());
    bytes
}

/// Reads up to `len` bytes from `fd`, at `offset` (`fd_pread`) or at its position (`fd_read`).
pub(crate) fn read(
    ctx: &mut WasiState,
    fd: u32,
    len: u32,
    offset: Option<u64>,
) -> WasiResult<Vec<u8>> {
    // Output: the count (8 bytes), the iovec (8), then the data.
    let out_len = 16 + len as usize;
    let mut out = call(ctx, &[], out_len, |ctx, mem, _, out| {
        mem.write_bytes(out + 8, &iovec(out + 16, len))?;
        match offset {
            Some(offset) => crate::fs::fd_pread(ctx, mem, fd, out + 8, 1, offset, out),
            None => crate::fs::fd_read(ctx, mem, fd, out + 8, 1, out),
        }
    })?;
    let n = (u32_at(&out, 0) as usize).min(len as usize);
    out.drain(..16);
    out.truncate(n);
    Ok(out)
}

/// Writes `data` to `fd`, at `offset` (`fd_pwrite`) or at its position (`fd_write`); returns how
/// many bytes were written.
pub(crate) fn write(
    ctx: &mut WasiState,
    fd: u32,
    data: &[u8],
    offset: Option<u64>,
) -> WasiResult<usize> {
    let out = call(ctx, &[data], 16, |ctx, mem, spans, out| {
        let (ptr, len) = spans[0];
        mem.write_bytes(out + 8, &iovec(ptr, len))?;
        match offset {
            Some(offset) => crate::fs::fd_pwrite(ctx, mem, fd, out + 8, 1, offset, out),
            None => crate::fs::fd_write(ctx, mem, fd, out + 8, 1, out),
        }
    })?;
    Ok(u32_at(&out, 0) as usize)
}

/// Bytes of a preview1 `filestat`.
pub(crate) const FILESTAT: usize = 64;

/// The preview1 `filestat` of `fd` (`fd_filestat_get`): device at 0, inode at 8, file type at
/// 16, links at 24, size at 32, then the access, modification and status-change times.
pub(crate) fn filestat(ctx: &mut WasiState, fd: u32) -> WasiResult<Vec<u8>> {
    call(ctx, &[], FILESTAT, |ctx, mem, _, out| {
        crate::fs::fd_filestat_get(ctx, mem, crate::abi::Snapshot::Preview1, fd, out)
    })
}
