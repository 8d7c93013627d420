//! The `cancellable` flag byte of the async ABI's waiting builtins, read as the component model
//! defines it today.
//!
//! `waitable-set.wait`/`poll`, `thread.yield` and the `thread.suspend*`/`thread.yield-then-*`
//! builtins carry one byte after their opcode: a boolean, `0x01` meaning `cancellable`. The pinned
//! wasmparser (0.263) predates that rule and accepts only `0x00` there, so a valid component that
//! asks for a cancellable wait fails to validate. [`normalize`] runs before validation: it checks
//! each such byte (`0x00` or `0x01`, else malformed, "invalid boolean value") and hands wasmparser
//! a copy with every `0x01` turned into `0x00`. Nothing else changes, lengths included, so every
//! offset in the copy is the original's. The flag itself is dropped: ward runs none of these
//! builtins (they fail as unsupported async when called), so cancellation never arises.
//!
//! The walk follows the section structure only as far as it needs: component sections nest, canon
//! sections are read item by item with wasmparser's own reader. Anything it cannot read is left
//! as it is for the validator to report. Called by `parse`.

use std::borrow::Cow;

use wasmparser::{BinaryReader, CanonicalFunction};

use crate::{Error, Result};

/// Section ids of the component binary format that the walk looks into.
const COMPONENT_SECTION: u8 = 4;
const CANON_SECTION: u8 = 8;

/// Opcodes of the canon builtins whose first immediate is the `cancellable` flag byte:
/// `thread.yield`, `waitable-set.wait`, `waitable-set.poll`, `thread.suspend`,
/// `thread.suspend-then-resume`, `thread.yield-then-resume`, `thread.suspend-then-promote` and
/// `thread.yield-then-promote`.
const FLAGGED_OPCODES: [u8; 8] = [0x0c, 0x20, 0x21, 0x29, 0x2a, 0x2b, 0x2c, 0x2d];

/// The component preamble after the magic: version `0x0d 0x00`, layer `0x01 0x00`.
const COMPONENT_HEADER: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

/// `bytes` with every `cancellable` flag set to `0x00`, borrowed when none was set. A flag byte
/// other than `0x00` or `0x01` is malformed.
pub(crate) fn normalize(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    let mut copy: Option<Vec<u8>> = None;
    walk_component(bytes, 0, &mut |offset| {
        copy.get_or_insert_with(|| bytes.to_vec())[offset] = 0x00;
    })?;
    Ok(copy.map_or(Cow::Borrowed(bytes), Cow::Owned))
}

/// Walks the component starting at `start`, calling `clear` with the offset of each flag byte
/// set to `0x01`. Stops quietly where the binary cannot be read (the validator reports that).
fn walk_component(bytes: &[u8], start: usize, clear: &mut dyn FnMut(usize)) -> Result<()> {
    let Some(header) = bytes.get(start..start + COMPONENT_HEADER.len()) else {
        return Ok(());
    };
    if header != COMPONENT_HEADER {
        return Ok(());
    }
    let mut reader = BinaryReader::new(bytes, 0);
    if reader.read_bytes(start + COMPONENT_HEADER.len()).is_err() {
        return Ok(());
    }
    while !reader.eof() {
        let Ok(id) = reader.read_u8() else {
            return Ok(());
        };
        let Ok(size) = reader.read_var_u32() else {
            return Ok(());
        };
        let content = reader.current_position();
        let Some(end) = content
            .checked_add(size as usize)
            .filter(|&e| e <= bytes.len())
        else {
            return Ok(());
        };
        match id {
            // A nested component ends where its section does; walk it on its own bytes so that
            // its end is not mistaken for more sections.
            COMPONENT_SECTION => walk_component(&bytes[..end], content, clear)?,
            CANON_SECTION => walk_canon_section(&bytes[..end], content, clear)?,
            _ => {}
        }
        if reader.read_bytes(size as usize).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Walks one canon section's items, whose content starts at `start` and ends with `bytes`.
fn walk_canon_section(bytes: &[u8], start: usize, clear: &mut dyn FnMut(usize)) -> Result<()> {
    let mut reader = BinaryReader::new(bytes, 0);
    if reader.read_bytes(start).is_err() {
        return Ok(());
    }
    let Ok(count) = reader.read_var_u32() else {
        return Ok(());
    };
    for _ in 0..count {
        let item = reader.current_position();
        let Some(&opcode) = bytes.get(item) else {
            return Ok(());
        };
        if FLAGGED_OPCODES.contains(&opcode) {
            let Some(&flag) = bytes.get(item + 1) else {
                return Ok(());
            };
            match flag {
                0x00 => {}
                0x01 => {
                    // Read the item as if the flag were clear, which is what the copy will hold.
                    let mut patched = bytes[item..].to_vec();
                    patched[1] = 0x00;
                    let mut item_reader = BinaryReader::new(&patched, item as u64);
                    if item_reader.read::<CanonicalFunction>().is_err() {
                        return Ok(());
                    }
                    clear(item + 1);
                    // The item reader's positions count from the item's first byte.
                    if reader.read_bytes(item_reader.current_position()).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                _ => {
                    return Err(Error::Invalid {
                        message: format!(
                            "invalid boolean value (0x{flag:02x}) for the `cancellable` flag"
                        ),
                        offset: item + 1,
                    });
                }
            }
        }
        if reader.read::<CanonicalFunction>().is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component with one canon section holding `items` (`count` of them).
    fn component_with_canon(count: u8, items: &[u8]) -> Vec<u8> {
        let mut bytes = COMPONENT_HEADER.to_vec();
        bytes.push(CANON_SECTION);
        bytes.push(items.len() as u8 + 1);
        bytes.push(count);
        bytes.extend_from_slice(items);
        bytes
    }

    #[test]
    fn a_cancellable_wait_is_cleared_in_a_copy_of_the_same_length() {
        let bytes = component_with_canon(2, &[0x20, 0x01, 0x00, 0x0c, 0x01]);
        let normalized = normalize(&bytes).expect("a boolean flag is well formed");
        assert_eq!(normalized.len(), bytes.len());
        assert_eq!(
            &normalized[COMPONENT_HEADER.len() + 3..],
            &[0x20, 0x00, 0x00, 0x0c, 0x00]
        );
    }

    #[test]
    fn a_component_without_set_flags_is_borrowed() {
        let bytes = component_with_canon(1, &[0x21, 0x00, 0x00]);
        assert!(matches!(normalize(&bytes), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn a_flag_that_is_not_a_boolean_is_malformed() {
        let bytes = component_with_canon(1, &[0x20, 0x02, 0x00]);
        let error = normalize(&bytes).expect_err("0x02 is not a boolean");
        assert!(
            error.to_string().contains("invalid boolean value"),
            "{error}"
        );
    }

    #[test]
    fn flags_in_nested_components_are_cleared() {
        let inner = component_with_canon(1, &[0x2d, 0x01]);
        let mut outer = COMPONENT_HEADER.to_vec();
        outer.push(COMPONENT_SECTION);
        outer.push(inner.len() as u8);
        outer.extend_from_slice(&inner);
        let normalized = normalize(&outer).expect("well formed");
        assert_eq!(normalized.last(), Some(&0x00));
    }

    #[test]
    fn truncated_binaries_are_left_to_the_validator() {
        let bytes = component_with_canon(3, &[0x20, 0x01]);
        for len in 0..bytes.len() {
            let _ = normalize(&bytes[..len]);
        }
    }
}
