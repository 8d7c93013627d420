//! Strings in linear memory for the canonical ABI, in its three encodings: UTF-8, UTF-16 and
//! latin1+UTF-16 (latin1 when every character fits, UTF-16 with the length's top bit set
//! otherwise), with the traps for invalid, misaligned and out-of-bounds strings. Used by `abi`.

use super::definition::StringEncoding;
use super::errors::trap;
use super::guest::{Allocation, GuestMemory, allocate, range_in};
use crate::{Error, Result};

/// The bit of a latin1+utf16 string's length that says it is UTF-16.
pub(super) const UTF16_TAG: u32 = 1 << 31;

fn string_out_of_bounds(mem: &dyn GuestMemory) -> Error {
    trap(if mem.host_boundary() {
        "string pointer/length out of bounds of memory"
    } else {
        "string content out-of-bounds"
    })
}

pub(super) fn load_string_from(
    mem: &dyn GuestMemory,
    encoding: StringEncoding,
    ptr: u32,
    tagged_len: u32,
) -> Result<String> {
    let bytes = mem.bytes()?;
    let (utf16, len) = match encoding {
        StringEncoding::Utf8 => (false, tagged_len),
        StringEncoding::Utf16 => (true, tagged_len),
        StringEncoding::CompactUtf16 => (tagged_len & UTF16_TAG != 0, tagged_len & !UTF16_TAG),
    };
    // A latin1+utf16 string is 2-aligned in both of its representations.
    if encoding != StringEncoding::Utf8 && !ptr.is_multiple_of(2) {
        return Err(trap("unaligned pointer"));
    }
    if utf16 {
        let range = range_in(bytes, ptr, 2 * len as u64).map_err(|_| string_out_of_bounds(mem))?;
        let units: Vec<u16> = bytes[range]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| trap("invalid utf-16"))
    } else {
        let range = range_in(bytes, ptr, len as u64).map_err(|_| string_out_of_bounds(mem))?;
        let content = &bytes[range];
        if encoding == StringEncoding::CompactUtf16 {
            // latin1
            Ok(content.iter().map(|b| *b as char).collect())
        } else {
            match std::str::from_utf8(content) {
                Ok(s) => Ok(s.to_string()),
                Err(e) if e.error_len().is_none() => Err(trap("incomplete utf-8 byte sequence")),
                Err(_) => Err(trap("invalid utf-8")),
            }
        }
    }
}

pub(super) fn store_string_into(
    mem: &mut dyn GuestMemory,
    encoding: StringEncoding,
    s: &str,
) -> Result<(u32, u32)> {
    let too_long = || trap("string too long");
    match encoding {
        StringEncoding::Utf8 => {
            let len = u32::try_from(s.len()).map_err(|_| too_long())?;
            let ptr = allocate(mem, 1, len, Allocation::String)?;
            mem.bytes_mut()?[ptr as usize..(ptr + len) as usize].copy_from_slice(s.as_bytes());
            Ok((ptr, len))
        }
        StringEncoding::CompactUtf16 if s.chars().all(|c| (c as u32) < 0x100) => {
            let latin1: Vec<u8> = s.chars().map(|c| c as u8).collect();
            let len = u32::try_from(latin1.len()).map_err(|_| too_long())?;
            let ptr = allocate(mem, 2, len, Allocation::String)?;
            mem.bytes_mut()?[ptr as usize..(ptr + len) as usize].copy_from_slice(&latin1);
            Ok((ptr, len))
        }
        StringEncoding::Utf16 | StringEncoding::CompactUtf16 => {
            let units: Vec<u16> = s.encode_utf16().collect();
            let len = u32::try_from(units.len()).map_err(|_| too_long())?;
            let bytes = len.checked_mul(2).ok_or_else(too_long)?;
            let ptr = allocate(mem, 2, bytes, Allocation::String)?;
            let target = &mut mem.bytes_mut()?[ptr as usize..(ptr + bytes) as usize];
            for (chunk, unit) in target.chunks_exact_mut(2).zip(units) {
                chunk.copy_from_slice(&unit.to_le_bytes());
            }
            let tag = if encoding == StringEncoding::CompactUtf16 {
                UTF16_TAG
            } else {
                0
            };
            Ok((ptr, len | tag))
        }
    }
}
