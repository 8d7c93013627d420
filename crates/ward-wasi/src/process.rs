//! Arguments, environment, clocks and randomness: the syscalls that do not touch descriptors.
//!
//! Clocks are read with `clock_gettime` and randomness comes from the host's `getrandom`, unless the
//! context makes them virtual or seeded (`determinism`). The audit log counts clock and random use and
//! records which environment variables the guest read. Called from the linker glue in `lib.rs` and,
//! for clock deadlines, from `poll`.

use std::io;

use crate::abi::clock;
use crate::ctx::WasiState;
use crate::determinism::{Clocks, Randomness, VIRTUAL_RESOLUTION_NANOS};
use crate::errno::{Errno, WasiResult};
use crate::guest::GuestMemory;

/// Writes `count` and total NUL-terminated size of `items` (`args_sizes_get`, `environ_sizes_get`).
pub fn sizes_get(
    items: &[Vec<u8>],
    mem: &mut GuestMemory<'_>,
    count: u32,
    buf_size: u32,
) -> WasiResult {
    let total: usize = items.iter().map(|item| item.len() + 1).sum();
    mem.write_u32(
        count,
        u32::try_from(items.len()).map_err(|_| Errno::Overflow)?,
    )?;
    mem.write_u32(buf_size, u32::try_from(total).map_err(|_| Errno::Overflow)?)
}

/// Writes the pointer array and the NUL-terminated strings of `items` (`args_get`, `environ_get`).
pub fn strings_get(
    items: &[Vec<u8>],
    mem: &mut GuestMemory<'_>,
    pointers: u32,
    buf: u32,
) -> WasiResult {
    let mut at = buf;
    for (i, item) in items.iter().enumerate() {
        let slot = (i as u32)
            .checked_mul(4)
            .and_then(|o| pointers.checked_add(o))
            .ok_or(Errno::Fault)?;
        mem.write_u32(slot, at)?;
        mem.write_bytes(at, item)?;
        let end = at.checked_add(item.len() as u32).ok_or(Errno::Fault)?;
        mem.write_u8(end, 0)?;
        at = end.checked_add(1).ok_or(Errno::Fault)?;
    }
    Ok(())
}

pub fn args_sizes_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> WasiResult {
    sizes_get(&ctx.args, mem, count, size)
}

pub fn args_get(ctx: &mut WasiState, mem: &mut GuestMemory<'_>, argv: u32, buf: u32) -> WasiResult {
    strings_get(&ctx.args, mem, argv, buf)
}

pub fn environ_sizes_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> WasiResult {
    // Every libc asks for the sizes first (and stops there when there is nothing): the read is
    // audited here.
    if let Some(log) = ctx.audit.as_mut() {
        let names: Vec<String> = ctx
            .env
            .iter()
            .map(|entry| {
                let name = entry.split(|&b| b == b'=').next().unwrap_or_default();
                String::from_utf8_lossy(name).into_owned()
            })
            .collect();
        let record = log
            .record("env")
            .strs("names", names.iter().map(String::as_str))
            .bool("allowed", true)
            .str("rule", "granted environment");
        log.write(record);
    }
    sizes_get(&ctx.env, mem, count, size)
}

pub fn environ_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    environ: u32,
    buf: u32,
) -> WasiResult {
    strings_get(&ctx.env, mem, environ, buf)
}

pub(crate) fn host_clock(id: u32) -> WasiResult<libc::clockid_t> {
    Ok(match id {
        clock::REALTIME => libc::CLOCK_REALTIME,
        clock::MONOTONIC => libc::CLOCK_MONOTONIC,
        clock::PROCESS_CPUTIME => libc::CLOCK_PROCESS_CPUTIME_ID,
        clock::THREAD_CPUTIME => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::Inval),
    })
}

fn timespec_nanos(ts: libc::timespec) -> u64 {
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The current time of WASI clock `id`, in nanoseconds.
pub(crate) fn now(id: u32) -> WasiResult<u64> {
    let host = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and `host` a clock id the kernel knows.
    if unsafe { libc::clock_gettime(host, &mut ts) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(timespec_nanos(ts))
}

pub fn clock_res_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    id: u32,
    resolution: u32,
) -> WasiResult {
    let host = host_clock(id)?;
    if let Clocks::Virtual(_) = ctx.clocks {
        return mem.write_u64(resolution, VIRTUAL_RESOLUTION_NANOS);
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as in `now`.
    if unsafe { libc::clock_getres(host, &mut ts) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    mem.write_u64(resolution, timespec_nanos(ts).max(1))
}

/// The time of clock `id` for the guest: the host's, or the virtual clock's after counting the fuel
/// the store has left (`fuel_left`, `None` without fuel metering).
pub(crate) fn guest_now(ctx: &mut WasiState, id: u32, fuel_left: Option<u64>) -> WasiResult<u64> {
    host_clock(id)?;
    if let Some(log) = ctx.audit.as_mut() {
        log.count_clock(id);
    }
    match &mut ctx.clocks {
        Clocks::Real => now(id),
        Clocks::Virtual(clock) => {
            clock.observe_fuel(fuel_left);
            Ok(clock.read(id))
        }
    }
}

pub fn clock_time_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    time: u32,
    fuel_left: Option<u64>,
) -> WasiResult {
    let value = guest_now(ctx, id, fuel_left)?;
    mem.write_u64(time, value)
}

pub fn random_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> WasiResult {
    mem.check(buf, len)?;
    if let Some(log) = ctx.audit.as_mut() {
        log.count_random(len);
    }
    // Filled here and copied in (the guest memory may be shared with other threads); at most the
    // guest memory's size, which `check` just bounded.
    let mut bytes = vec![0u8; len as usize];
    if let Randomness::Seeded(generator) = &mut ctx.random {
        generator.fill(&mut bytes);
        return mem.write_bytes(buf, &bytes);
    }
    let mut out = &mut bytes[..];
    while !out.is_empty() {
        // SAFETY: `out` is a valid, exclusively borrowed buffer of `out.len()` bytes.
        let n = unsafe { libc::getrandom(out.as_mut_ptr().cast(), out.len(), 0) };
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error.into());
        }
        out = &mut out[n as usize..];
    }
    mem.write_bytes(buf, &bytes)
}
