//! Linear memory as the canonical ABI sees it ([`GuestMemory`]): bytes, the `realloc` that
//! allocates in them (`allocate` checks what it returns), bounds-checked little-endian reads and
//! writes, and the handle table that `own`/`borrow` values go through. `func` implements it over a
//! store; `abi`'s tests over a byte vector. Used by `abi` and `strings`.

use super::errors::trap;
use super::resources::ResourceAny;
use super::types::ResourceType;
use crate::{Error, Result};

/// Linear memory as the ABI sees it: bytes, and the `realloc` that allocates in them.
pub(crate) trait GuestMemory {
    /// The memory's bytes; an error if the function has no memory.
    fn bytes(&self) -> Result<&[u8]>;
    /// The memory's bytes, writable.
    fn bytes_mut(&mut self) -> Result<&mut [u8]>;
    /// Calls `realloc(old_ptr, old_size, align, new_size)`.
    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32>;
    /// Whether the values cross between the host and a component (rather than between two
    /// components). Only the wording of traps depends on it: the reference tests expect
    /// Wasmtime's, whose host path and component-to-component adapters word them differently.
    fn host_boundary(&self) -> bool {
        true
    }
    /// Takes the owned handle `handle` of resource type `ty` out of the instance's table.
    fn lift_own(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let _ = (ty, handle);
        Err(unsupported_resources())
    }
    /// Borrows `handle` of resource type `ty` for the duration of the call.
    fn lift_borrow(&self, ty: &ResourceType, handle: u32) -> Result<ResourceAny> {
        let _ = (ty, handle);
        Err(unsupported_resources())
    }
    /// Gives the instance an owned handle to `resource`, which must be of resource type `ty`.
    fn lower_own(&self, ty: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        let _ = (ty, resource);
        Err(unsupported_resources())
    }
    /// Gives the instance a borrowed handle to `resource` for the call (or its `rep`, if the
    /// instance defines the resource type); `resource` must be of resource type `ty`.
    fn lower_borrow(&self, ty: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        let _ = (ty, resource);
        Err(unsupported_resources())
    }
}

pub(super) fn unsupported_resources() -> Error {
    Error::Unsupported {
        feature: "resource handles in component calls".into(),
        offset: 0,
    }
}

pub(super) fn range_in(mem: &[u8], ptr: u32, len: u64) -> Result<std::ops::Range<usize>> {
    let end = ptr as u64 + len;
    if end > mem.len() as u64 {
        return Err(trap("out of bounds memory access"));
    }
    Ok(ptr as usize..end as usize)
}

/// What `realloc` allocates room for, which names its traps between components.
#[derive(Clone, Copy)]
pub(super) enum Allocation {
    String,
    List,
    Spilled,
}

/// Allocates `size` bytes with `realloc`, checking the result's alignment and bounds.
pub(super) fn allocate(
    mem: &mut dyn GuestMemory,
    align: u32,
    size: u32,
    what: Allocation,
) -> Result<u32> {
    let ptr = mem.realloc(0, 0, align, size)?;
    let host = mem.host_boundary();
    if !ptr.is_multiple_of(align) {
        return Err(trap(if host {
            "realloc return: result not aligned"
        } else {
            "unaligned pointer"
        }));
    }
    let available = mem.bytes()?.len() as u64;
    if ptr as u64 + size as u64 > available {
        return Err(trap(match (host, what) {
            (true, _) | (false, Allocation::Spilled) => "realloc return: beyond end of memory",
            (false, Allocation::String) => "string content out-of-bounds",
            (false, Allocation::List) => "list content out-of-bounds",
        }));
    }
    Ok(ptr)
}

pub(super) fn read_bytes<const N: usize>(mem: &dyn GuestMemory, ptr: u32) -> Result<[u8; N]> {
    let bytes = mem.bytes()?;
    let range = range_in(bytes, ptr, N as u64)?;
    Ok(bytes[range].try_into().expect("range of N bytes"))
}

pub(super) fn write_bytes(mem: &mut dyn GuestMemory, ptr: u32, data: &[u8]) -> Result<()> {
    let bytes = mem.bytes_mut()?;
    let range = range_in(bytes, ptr, data.len() as u64)?;
    bytes[range].copy_from_slice(data);
    Ok(())
}

pub(super) fn read_u32(mem: &dyn GuestMemory, ptr: u32) -> Result<u32> {
    Ok(u32::from_le_bytes(read_bytes(mem, ptr)?))
}

pub(super) fn read_uint(mem: &dyn GuestMemory, ptr: u32, size: u32) -> Result<u32> {
    Ok(match size {
        1 => read_bytes::<1>(mem, ptr)?[0] as u32,
        2 => u16::from_le_bytes(read_bytes(mem, ptr)?) as u32,
        _ => read_u32(mem, ptr)?,
    })
}

pub(super) fn write_uint(mem: &mut dyn GuestMemory, ptr: u32, size: u32, value: u32) -> Result<()> {
    match size {
        1 => write_bytes(mem, ptr, &[value as u8]),
        2 => write_bytes(mem, ptr, &(value as u16).to_le_bytes()),
        _ => write_bytes(mem, ptr, &value.to_le_bytes()),
    }
}
