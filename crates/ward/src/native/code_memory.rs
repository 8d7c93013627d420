//! Executable memory for a module's machine code: mapped read-write, filled, then made read-execute,
//! so no page is ever writable and executable at once (W^X). Unmapped when the module is dropped.
//!
//! Only x86-64 is supported by the tier today (see `Engine::new`), where instruction fetch is
//! coherent with data writes and no instruction-cache flush is needed after the copy.

use std::ptr::NonNull;

/// A mapping of machine code, read-execute once [`CodeMemory::new`] returns.
pub(crate) struct CodeMemory {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is immutable (read-execute) after construction and owned by this value.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: shared access only reads or executes the code.
unsafe impl Sync for CodeMemory {}

fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(4096)
}

impl CodeMemory {
    /// Maps `pieces` one after another, each at an offset that is a multiple of its alignment
    /// (a power of two, at most a page); returns the mapping and each piece's offset in it.
    pub fn new(pieces: &[(&[u8], u32)]) -> std::io::Result<(CodeMemory, Vec<usize>)> {
        let page = page_size();
        let mut offsets = Vec::with_capacity(pieces.len());
        let mut end = 0usize;
        for (code, align) in pieces {
            let align = (*align as usize).clamp(1, page);
            if !align.is_power_of_two() {
                return Err(std::io::Error::other(
                    "code alignment is not a power of two",
                ));
            }
            let at = end.next_multiple_of(align);
            offsets.push(at);
            end = at
                .checked_add(code.len())
                .ok_or_else(|| std::io::Error::other("code too large"))?;
        }
        let len = end.max(1).next_multiple_of(page);
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast::<u8>()).expect("mmap does not return null on success");
        let memory = CodeMemory { base, len };
        for ((code, _), at) in pieces.iter().zip(&offsets) {
            // SAFETY: `at + code.len() <= end <= len`: inside the writable mapping made above,
            // which nothing else references yet; the source is a distinct allocation.
            unsafe {
                std::ptr::copy_nonoverlapping(code.as_ptr(), base.as_ptr().add(*at), code.len())
            };
        }
        // SAFETY: `base..base + len` is the mapping made above; from here on it is never written.
        let protected =
            unsafe { libc::mprotect(base.as_ptr().cast(), len, libc::PROT_READ | libc::PROT_EXEC) };
        if protected != 0 {
            // `memory` unmaps on drop.
            return Err(std::io::Error::last_os_error());
        }
        Ok((memory, offsets))
    }

    /// The address of byte `offset` of the code.
    pub fn at(&self, offset: usize) -> *const u8 {
        assert!(offset < self.len, "code offset inside the mapping");
        // SAFETY: `offset < len`, inside the mapping (checked above).
        unsafe { self.base.as_ptr().add(offset) }
    }

    /// The `len` bytes of code at `offset` (to write them into a precompiled module).
    pub fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "code range inside the mapping"
        );
        // SAFETY: the range lies inside the mapping (checked above), which is readable and never
        // written after `new`, and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(offset), len) }
    }

    /// The mapping's length in bytes (a multiple of the page size).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: `base..base + len` is the mapping this value owns; the module that owns this
        // value is dropped, so no function of it can be running (stores hold their modules while
        // their code may run).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_placed_aligned_and_read_back() {
        let a = [0xc3u8; 5];
        let b = [0x90u8; 3];
        let (memory, offsets) = CodeMemory::new(&[(&a, 16), (&b, 16)]).expect("map");
        assert_eq!(offsets, vec![0, 16]);
        assert_eq!(memory.len() % page_size(), 0);
        // SAFETY: both ranges lie in the readable mapping.
        let (ra, rb) = unsafe {
            (
                std::slice::from_raw_parts(memory.at(0), 5),
                std::slice::from_raw_parts(memory.at(16), 3),
            )
        };
        assert_eq!(ra, &a);
        assert_eq!(rb, &b);
    }

    #[test]
    fn a_bad_alignment_is_refused() {
        assert!(CodeMemory::new(&[(&[0u8; 4], 3)]).is_err());
    }

    #[test]
    fn placed_code_runs() {
        // x86-64 `mov eax, 42; ret`.
        #[cfg(target_arch = "x86_64")]
        {
            let code = [0xb8u8, 42, 0, 0, 0, 0xc3];
            let (memory, offsets) = CodeMemory::new(&[(&code, 16)]).expect("map");
            // SAFETY: the mapping is executable and holds a complete function with this signature.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(memory.at(offsets[0])) };
            assert_eq!(f(), 42);
        }
    }
}
