//! `poll_oneoff`: wait for clock deadlines and descriptor readiness.
//!
//! Regular files, in-memory streams and output streams are always ready. Host stdin and sockets are
//! waited on with `poll(2)`, bounded by the earliest clock deadline. Without such descriptors the call
//! sleeps until the earliest deadline. With virtual clocks (`determinism`) nothing sleeps: a call
//! that would wait for a deadline advances virtual time to it and returns at once, and host
//! descriptors are only polled without waiting (unless no deadline was given). Called from the linker
//! glue in `lib.rs`.

use std::io;
use std::time::{Duration, Instant};

use crate::abi::{
    EVENT_FD_READWRITE_HANGUP, SUBSCRIPTION_CLOCK_ABSTIME, Snapshot, eventtype, rights, size,
};
use crate::ctx::WasiState;
use crate::determinism::Clocks;
use crate::errno::{Errno, WasiResult};
use crate::process::now;
use crate::table::{Descriptor, Stream};

/// One event to report.
struct Event {
    userdata: u64,
    error: Errno,
    ok: bool,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn ready(userdata: u64, kind: u8, nbytes: u64) -> Self {
        Event {
            userdata,
            error: Errno::Inval,
            ok: true,
            kind,
            nbytes,
            flags: 0,
        }
    }

    fn failed(userdata: u64, kind: u8, error: Errno) -> Self {
        Event {
            userdata,
            error,
            ok: false,
            kind,
            nbytes: 0,
            flags: 0,
        }
    }

    fn encode(&self) -> [u8; size::EVENT as usize] {
        let mut bytes = [0u8; size::EVENT as usize];
        bytes[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        let error = if self.ok { 0 } else { self.error.code() };
        bytes[8..10].copy_from_slice(&error.to_le_bytes());
        bytes[10] = self.kind;
        bytes[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        bytes[24..26].copy_from_slice(&self.flags.to_le_bytes());
        bytes
    }
}

/// A subscription that has to wait on a host descriptor.
struct Waiter {
    userdata: u64,
    kind: u8,
    fd: i32,
}

/// Readiness that needs no waiting, or the host descriptor to wait on.
fn fd_readiness(ctx: &mut WasiState, fd: u32, kind: u8, userdata: u64) -> Result<Event, Waiter> {
    let read = kind == eventtype::FD_READ;
    let Some(entry) = ctx.fds.get_mut(&fd) else {
        return Ok(Event::failed(userdata, kind, Errno::Badf));
    };
    let needed = rights::POLL_FD_READWRITE
        | if read {
            rights::FD_READ
        } else {
            rights::FD_WRITE
        };
    if entry.dropped.base & needed != 0 {
        return Ok(Event::failed(userdata, kind, Errno::Notcapable));
    }
    let descriptor = &mut entry.descriptor;
    if let Some(raw) = descriptor.raw_fd() {
        return Err(Waiter {
            userdata,
            kind,
            fd: raw,
        });
    }
    Ok(match descriptor {
        Descriptor::File(open) => {
            let nbytes = if read {
                use std::io::Seek;
                let len = open.file.metadata().map(|m| m.len()).unwrap_or(0);
                let pos = open.file.stream_position().unwrap_or(len);
                len.saturating_sub(pos)
            } else {
                0
            };
            Event::ready(userdata, kind, nbytes)
        }
        Descriptor::Stream(Stream::Bytes(cursor)) if read => {
            let left = (cursor.get_ref().len() as u64).saturating_sub(cursor.position());
            Event::ready(userdata, kind, left)
        }
        Descriptor::Stream(_) => Event::ready(userdata, kind, 0),
        Descriptor::Dir(_) => Event::failed(userdata, kind, Errno::Badf),
        Descriptor::Listener(_) | Descriptor::Socket(_) => Event::ready(userdata, kind, 0),
    })
}

/// Waits as `subs` asks. Preview0 lays clock subscriptions out differently, hence `snapshot`.
/// `fuel_left` is the store's fuel, which a virtual clock counts as time.
///
/// Takes the context's handle rather than its locked state: the state is locked while the
/// subscriptions are read and released while the call sleeps or waits for descriptors, so that the
/// other threads of a wasi-threads program can make their own calls meanwhile.
pub fn poll_oneoff(
    ctx: &crate::WasiCtx,
    mem: &mut crate::guest::GuestMemory<'_>,
    snapshot: Snapshot,
    (subs, events, count, nevents): (u32, u32, u32, u32),
    fuel_left: Option<u64>,
) -> WasiResult {
    if count == 0 {
        return Err(Errno::Inval);
    }
    let layout = snapshot.subscription();
    let sub_bytes = count.checked_mul(layout.size).ok_or(Errno::Fault)?;
    mem.check(subs, sub_bytes)?;
    let event_bytes = count.checked_mul(size::EVENT).ok_or(Errno::Fault)?;
    mem.check(events, event_bytes)?;

    let start = Instant::now();
    let mut ready = Vec::new();
    let mut waiters = Vec::new();
    // (userdata, time left from `start`)
    let mut timers: Vec<(u64, Duration)> = Vec::new();
    let mut state = ctx.lock();
    let virtual_time = match &mut state.clocks {
        Clocks::Real => false,
        Clocks::Virtual(clock) => {
            clock.observe_fuel(fuel_left);
            true
        }
    };
    // The current time of clock `id`: the host's, or the virtual clock's without advancing it.
    let current = |state: &WasiState, id: u32| match &state.clocks {
        Clocks::Virtual(clock) => crate::process::host_clock(id).map(|_| clock.peek(id)),
        Clocks::Real => now(id),
    };
    for i in 0..count {
        let at = subs + i * layout.size;
        let userdata = mem.read_u64(at)?;
        let kind = mem.read_u8(at + 8)?;
        match kind {
            eventtype::CLOCK => {
                let id = mem.read_u32(at + layout.clock_id)?;
                let timeout = mem.read_u64(at + layout.timeout)?;
                let flags = mem.read_u16(at + layout.flags)?;
                let left = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                    current(&state, id).map(|current| timeout.saturating_sub(current))
                } else {
                    current(&state, id).map(|_| timeout)
                };
                match left {
                    Ok(nanos) => timers.push((userdata, Duration::from_nanos(nanos))),
                    Err(e) => ready.push(Event::failed(userdata, kind, e)),
                }
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = mem.read_u32(at + 16)?;
                match fd_readiness(&mut state, fd, kind, userdata) {
                    Ok(event) => ready.push(event),
                    Err(waiter) => waiters.push(waiter),
                }
            }
            _ => ready.push(Event::failed(userdata, kind, Errno::Inval)),
        }
    }
    drop(state);
    let earliest = timers.iter().map(|t| t.1).min();
    if virtual_time {
        return virtual_wait(
            ctx,
            mem,
            ready,
            &waiters,
            timers,
            earliest,
            (events, nevents),
        );
    }
    if ready.is_empty() && earliest != Some(Duration::ZERO) {
        if waiters.is_empty() {
            if let Some(log) = ctx.lock().audit.as_mut() {
                log.count_sleep();
            }
            std::thread::sleep(earliest.unwrap_or_default());
        } else {
            let mut pollfds = pollfds(&waiters);
            loop {
                let timeout_ms = match earliest {
                    None => -1,
                    Some(total) => {
                        let left = total.saturating_sub(start.elapsed());
                        // Round up so a deadline is never reported early.
                        left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
                    }
                };
                if poll_fds(&mut pollfds, timeout_ms)? {
                    break;
                }
            }
            collect_polled(&waiters, &pollfds, &mut ready);
        }
    }
    let elapsed = start.elapsed();
    for (userdata, left) in timers {
        if left <= elapsed {
            ready.push(Event::ready(userdata, eventtype::CLOCK, 0));
        }
    }
    write_events(mem, &ready, events, nevents)
}

fn write_events(
    mem: &mut crate::guest::GuestMemory<'_>,
    ready: &[Event],
    events: u32,
    nevents: u32,
) -> WasiResult {
    for (i, event) in ready.iter().enumerate() {
        mem.write_bytes(events + i as u32 * size::EVENT, &event.encode())?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

/// The `poll(2)` entries for `waiters`.
fn pollfds(waiters: &[Waiter]) -> Vec<libc::pollfd> {
    waiters
        .iter()
        .map(|w| libc::pollfd {
            fd: w.fd,
            events: if w.kind == eventtype::FD_READ {
                libc::POLLIN
            } else {
                libc::POLLOUT
            },
            revents: 0,
        })
        .collect()
}

/// Adds an event to `ready` for each waiter `poll(2)` reported.
fn collect_polled(waiters: &[Waiter], pollfds: &[libc::pollfd], ready: &mut Vec<Event>) {
    for (waiter, pollfd) in waiters.iter().zip(pollfds) {
        if pollfd.revents & libc::POLLNVAL != 0 {
            ready.push(Event::failed(waiter.userdata, waiter.kind, Errno::Badf));
        } else if pollfd.revents != 0 {
            let mut event = Event::ready(waiter.userdata, waiter.kind, 0);
            if pollfd.revents & libc::POLLHUP != 0 {
                event.flags = EVENT_FD_READWRITE_HANGUP;
            }
            ready.push(event);
        }
    }
}

/// `poll_oneoff` under a virtual clock: host descriptors are polled without waiting (blocking only
/// when no deadline could end the wait); if nothing is ready, virtual time jumps to the earliest
/// deadline and every timer due by then fires.
fn virtual_wait(
    ctx: &crate::WasiCtx,
    mem: &mut crate::guest::GuestMemory<'_>,
    mut ready: Vec<Event>,
    waiters: &[Waiter],
    timers: Vec<(u64, Duration)>,
    earliest: Option<Duration>,
    (events, nevents): (u32, u32),
) -> WasiResult {
    if ready.is_empty() && !waiters.is_empty() {
        let mut pollfds = pollfds(waiters);
        let timeout_ms = if earliest.is_some() { 0 } else { -1 };
        while !poll_fds(&mut pollfds, timeout_ms)? {}
        collect_polled(waiters, &pollfds, &mut ready);
    }
    let slept = match earliest {
        Some(earliest) if ready.is_empty() => earliest,
        _ => Duration::ZERO,
    };
    let mut state = ctx.lock();
    if let Clocks::Virtual(clock) = &mut state.clocks {
        clock.sleep(u64::try_from(slept.as_nanos()).unwrap_or(u64::MAX));
    }
    if let Some(log) = state.audit.as_mut().filter(|_| !slept.is_zero()) {
        log.count_sleep();
    }
    drop(state);
    for (userdata, left) in timers {
        if left <= slept {
            ready.push(Event::ready(userdata, eventtype::CLOCK, 0));
        }
    }
    write_events(mem, &ready, events, nevents)
}

/// One `poll(2)` of `pollfds` with `timeout_ms` (-1: no timeout): true when it returned, false when
/// a signal interrupted it (the caller polls again, with the time left).
pub(crate) fn poll_fds(pollfds: &mut [libc::pollfd], timeout_ms: i32) -> WasiResult<bool> {
    // SAFETY: `pollfds` is a valid array of `pollfds.len()` initialised entries.
    let rc = unsafe {
        libc::poll(
            pollfds.as_mut_ptr(),
            pollfds.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if rc >= 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::Interrupted {
        Ok(false)
    } else {
        Err(error.into())
    }
}
