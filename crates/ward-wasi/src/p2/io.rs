//! `wasi:io/{error,poll,streams}`: errors (`to-debug-string`), pollables (ready at once, or at a
//! monotonic-clock instant) with `poll`, and input and output streams over preview1 descriptors.
//! Writes complete before they return, so `flush` has nothing to wait for and an output stream
//! is always ready; reads of a file never block; standard input inherited from the host is
//! polled, so a non-blocking `read` of it returns no bytes when none are there, and its pollable
//! waits for input. Used by `p2::add_to_linker`.

use ward::component::{HostResource, Linker, Val};

use super::cli::{clock_now, sleep_for};
use super::scratch;
use super::state::{Resource, StreamAt};
use super::{Host, Types, arg_bytes, arg_rep, arg_u64, bytes_val, err, interface, ok, unit};
use crate::ctx::{WasiCtx, WasiState};
use crate::determinism::Clocks;
use crate::errno::Errno;
use crate::table::Descriptor;

/// What one `check-write` allows (writes complete at once; this bounds one call's copy).
const WRITE_BUDGET: u64 = 1 << 20;

/// Most bytes one `read` returns.
const MAX_READ: u64 = 1 << 20;

pub(super) fn define<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>, types: &Types)
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut error = linker.instance(&interface("wasi:io/error"));
    let ty = types.error.clone();
    host.func(
        &mut error,
        "[method]error.to-debug-string",
        move |ctx, params, _| {
            let rep = arg_rep(params, 0, &ty)?;
            Ok(Val::String(match ctx.p2.get(rep)? {
                Resource::Error(errno) => format!("WASI error {}", errno.name()),
                _ => "error".to_string(),
            }))
        },
    );

    let mut poll = linker.instance(&interface("wasi:io/poll"));
    let ty = types.pollable.clone();
    host.func(
        &mut poll,
        "[method]pollable.ready",
        move |ctx, params, fuel| {
            let rep = arg_rep(params, 0, &ty)?;
            Ok(Val::Bool(ready(ctx, rep, fuel)?))
        },
    );
    let ty = types.pollable.clone();
    host.func(
        &mut poll,
        "[method]pollable.block",
        move |ctx, params, fuel| {
            let rep = arg_rep(params, 0, &ty)?;
            wait(ctx, &[rep], fuel)?;
            Ok(unit())
        },
    );
    let ty = types.pollable.clone();
    host.func(&mut poll, "poll", move |ctx, params, fuel| {
        let Some(Val::List(items)) = params.first() else {
            return Err(ward::Error::msg("poll takes a list"));
        };
        let reps = (0..items.len())
            .map(|i| arg_rep(items, i, &ty))
            .collect::<ward::Result<Vec<_>>>()?;
        if reps.is_empty() {
            return Err(ward::Error::msg("poll called with no pollables"));
        }
        let ready = wait(ctx, &reps, fuel)?;
        Ok(Val::List(ready.into_iter().map(Val::U32).collect()))
    });

    let mut streams = linker.instance(&interface("wasi:io/streams"));
    streams.define_resource("error", &types.error);
    streams.define_resource("pollable", &types.pollable);
    for blocking in [false, true] {
        let (read, skip) = if blocking {
            (
                "[method]input-stream.blocking-read",
                "[method]input-stream.blocking-skip",
            )
        } else {
            ("[method]input-stream.read", "[method]input-stream.skip")
        };
        let t = types.clone();
        host.func(&mut streams, read, move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.input)?;
            let len = arg_u64(params, 1)?;
            if !blocking
                && let Some(fd) = host_poll_fd(ctx, rep)?
                && !host_fd_ready(fd)?
            {
                // Nothing to read yet: a non-blocking read returns no bytes.
                return Ok(ok(Some(bytes_val(Vec::new()))));
            }
            Ok(match stream_read(ctx, rep, len)? {
                Ok(bytes) => ok(Some(bytes_val(bytes))),
                Err(e) => err(stream_error(ctx, e, &t.error)?),
            })
        });
        let t = types.clone();
        host.func(&mut streams, skip, move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.input)?;
            let len = arg_u64(params, 1)?;
            Ok(match stream_read(ctx, rep, len)? {
                Ok(bytes) => ok(Some(Val::U64(bytes.len() as u64))),
                Err(e) => err(stream_error(ctx, e, &t.error)?),
            })
        });
    }
    for (name, ty) in [
        ("[method]input-stream.subscribe", types.input.clone()),
        ("[method]output-stream.subscribe", types.output.clone()),
    ] {
        let pollable = types.pollable.clone();
        host.func(&mut streams, name, move |ctx, params, _| {
            let rep = arg_rep(params, 0, &ty)?;
            // Output is always ready (writes complete at once); so is input from a file.
            let host_fd = host_poll_fd(ctx, rep)?;
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        });
    }
    let t = types.clone();
    host.func(
        &mut streams,
        "[method]output-stream.check-write",
        move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.output)?;
            output_of(ctx, rep)?;
            Ok(ok(Some(Val::U64(WRITE_BUDGET))))
        },
    );
    for (name, zeroes) in [
        ("[method]output-stream.write", false),
        ("[method]output-stream.blocking-write-and-flush", false),
        ("[method]output-stream.write-zeroes", true),
        (
            "[method]output-stream.blocking-write-zeroes-and-flush",
            true,
        ),
    ] {
        let t = types.clone();
        host.func(&mut streams, name, move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.output)?;
            let data = match zeroes {
                true => vec![0; arg_u64(params, 1)?.min(WRITE_BUDGET) as usize],
                false => arg_bytes(params, 1)?,
            };
            let written = stream_write(ctx, rep, &data);
            write_result(ctx, written, &t.error)
        });
    }
    for name in [
        "[method]output-stream.flush",
        "[method]output-stream.blocking-flush",
    ] {
        let t = types.clone();
        host.func(&mut streams, name, move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.output)?;
            output_of(ctx, rep)?;
            Ok(ok(None))
        });
    }
    for name in [
        "[method]output-stream.splice",
        "[method]output-stream.blocking-splice",
    ] {
        let t = types.clone();
        host.func(&mut streams, name, move |ctx, params, _| {
            let out = arg_rep(params, 0, &t.output)?;
            let input = arg_rep(params, 1, &t.input)?;
            let len = arg_u64(params, 2)?;
            let bytes = match stream_read(ctx, input, len)? {
                Ok(bytes) => bytes,
                Err(e) => return Ok(err(stream_error(ctx, e, &t.error)?)),
            };
            match stream_write(ctx, out, &bytes) {
                Ok(()) => Ok(ok(Some(Val::U64(bytes.len() as u64)))),
                Err(e) => Ok(err(stream_error(ctx, e, &t.error)?)),
            }
        });
    }
}

/// The monotonic clock's reading for the guest.
fn monotonic_now(ctx: &mut WasiState, fuel: Option<u64>) -> ward::Result<u64> {
    clock_now(ctx, crate::abi::clock::MONOTONIC, fuel).map_err(|e| ward::Error::msg(e.name()))
}

/// The host descriptor whose readiness input stream `rep` waits for, if reading it could block
/// (standard input inherited from the host, or a connected socket); `None` for an output stream.
fn host_poll_fd(ctx: &WasiState, rep: u32) -> ward::Result<Option<i32>> {
    Ok(match ctx.p2.get(rep)? {
        Resource::Input {
            fd,
            at: StreamAt::Cursor,
        } => match ctx.get(*fd) {
            Some(Descriptor::Stream(stream)) => stream.poll_fd(),
            Some(Descriptor::Socket(socket)) => Some(std::os::fd::AsRawFd::as_raw_fd(socket)),
            _ => None,
        },
        _ => None,
    })
}

/// Whether host descriptor `fd` can be read without blocking (or is at its end or failed).
fn host_fd_ready(fd: i32) -> ward::Result<bool> {
    let mut pollfd = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    while !crate::poll::poll_fds(&mut pollfd, 0).map_err(|e| ward::Error::msg(e.name()))? {}
    Ok(pollfd[0].revents != 0)
}

fn ready(ctx: &mut WasiState, rep: u32, fuel: Option<u64>) -> ward::Result<bool> {
    let Resource::Pollable { deadline, host_fd } = ctx.p2.get(rep)? else {
        return Err(ward::Error::msg("not a pollable"));
    };
    match (*deadline, *host_fd) {
        (Some(deadline), _) => Ok(monotonic_now(ctx, fuel)? >= deadline),
        (None, Some(fd)) => host_fd_ready(fd),
        (None, None) => Ok(true),
    }
}

/// Waits until at least one of `reps` is ready; returns the indices of those that are.
fn wait(ctx: &mut WasiState, reps: &[u32], fuel: Option<u64>) -> ward::Result<Vec<u32>> {
    loop {
        let mut ready_now = Vec::new();
        let mut earliest = None::<u64>;
        let mut host_fds = Vec::new();
        for (index, rep) in reps.iter().enumerate() {
            if ready(ctx, *rep, fuel)? {
                ready_now.push(index as u32);
            } else if let Resource::Pollable { deadline, host_fd } = ctx.p2.get(*rep)? {
                if let Some(deadline) = deadline {
                    earliest = Some(earliest.map_or(*deadline, |e| e.min(*deadline)));
                }
                host_fds.extend(*host_fd);
            }
        }
        if !ready_now.is_empty() {
            return Ok(ready_now);
        }
        let now = monotonic_now(ctx, fuel)?;
        let wait = earliest.map(|deadline| deadline.saturating_sub(now));
        if host_fds.is_empty() || matches!(ctx.clocks, Clocks::Virtual(_)) {
            // Only clocks to wait for (or virtual time, which never waits for the host).
            sleep_for(ctx, wait.unwrap_or(0));
        } else {
            let mut pollfds: Vec<libc::pollfd> = host_fds
                .iter()
                .map(|fd| libc::pollfd {
                    fd: *fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let timeout_ms = wait.map_or(-1, |nanos| {
                i32::try_from(nanos.div_ceil(1_000_000)).unwrap_or(i32::MAX)
            });
            crate::poll::poll_fds(&mut pollfds, timeout_ms)
                .map_err(|e| ward::Error::msg(e.name()))?;
        }
    }
}

/// A stream operation's failure: the stream is closed, or an errno.
enum StreamFailure {
    Closed,
    Failed(Errno),
}

/// `stream-error`: `closed`, or `last-operation-failed` with a new `error`.
fn stream_error(
    ctx: &mut WasiState,
    failure: StreamFailure,
    error_type: &HostResource,
) -> ward::Result<Val> {
    Ok(match failure {
        StreamFailure::Closed => Val::Variant("closed".into(), None),
        StreamFailure::Failed(errno) => {
            let rep = ctx.p2.insert(Resource::Error(errno))?;
            let error = error_type.own(rep);
            Val::Variant(
                "last-operation-failed".into(),
                Some(Box::new(Val::Resource(error))),
            )
        }
    })
}

/// The result of a write: `ok`, or a `stream-error`.
fn write_result(
    ctx: &mut WasiState,
    result: Result<(), StreamFailure>,
    error_type: &HostResource,
) -> ward::Result<Val> {
    Ok(match result {
        Ok(()) => ok(None),
        Err(e) => err(stream_error(ctx, e, error_type)?),
    })
}

/// The descriptor and position of output stream `rep`.
fn output_of(ctx: &WasiState, rep: u32) -> ward::Result<(u32, StreamAt)> {
    match ctx.p2.get(rep)? {
        Resource::Output { fd, at } => Ok((*fd, *at)),
        _ => Err(ward::Error::msg("not an output stream")),
    }
}

/// Reads at most `len` bytes from input stream `rep`; the end of the input is `closed`. The
/// outer error is a trap (an unknown stream).
fn stream_read(
    ctx: &mut WasiState,
    rep: u32,
    len: u64,
) -> ward::Result<Result<Vec<u8>, StreamFailure>> {
    let (fd, at) = match ctx.p2.get(rep)? {
        Resource::Input { fd, at } => (*fd, *at),
        _ => return Err(ward::Error::msg("not an input stream")),
    };
    let len = len.min(MAX_READ) as u32;
    if len == 0 {
        return Ok(Ok(Vec::new()));
    }
    let offset = match at {
        StreamAt::Offset(offset) => Some(offset),
        StreamAt::Cursor | StreamAt::Append => None,
    };
    let bytes = match scratch::read(ctx, fd, len, offset) {
        Ok(bytes) => bytes,
        Err(errno) => return Ok(Err(StreamFailure::Failed(errno))),
    };
    if bytes.is_empty() {
        return Ok(Err(StreamFailure::Closed));
    }
    if let (Some(offset), Resource::Input { at, .. }) = (offset, ctx.p2.get_mut(rep)?) {
        *at = StreamAt::Offset(offset + bytes.len() as u64);
    }
    Ok(Ok(bytes))
}

/// Writes all of `data` to output stream `rep`.
fn stream_write(ctx: &mut WasiState, rep: u32, data: &[u8]) -> Result<(), StreamFailure> {
    let (fd, at) = output_of(ctx, rep).map_err(|_| StreamFailure::Failed(Errno::Badf))?;
    let mut offset = match at {
        StreamAt::Offset(offset) => Some(offset),
        StreamAt::Cursor => None,
        StreamAt::Append => Some(file_size(ctx, fd).map_err(StreamFailure::Failed)?),
    };
    let mut rest = data;
    while !rest.is_empty() {
        let n = scratch::write(ctx, fd, rest, offset).map_err(StreamFailure::Failed)?;
        if n == 0 {
            return Err(StreamFailure::Closed);
        }
        rest = &rest[n.min(rest.len())..];
        offset = offset.map(|o| o + n as u64);
    }
    if let (Some(offset), StreamAt::Offset(_)) = (offset, at)
        && let Ok(Resource::Output { at, .. }) = ctx.p2.get_mut(rep)
    {
        *at = StreamAt::Offset(offset);
    }
    Ok(())
}

/// The size of the file behind `fd` (`fd_filestat_get`).
fn file_size(ctx: &mut WasiState, fd: u32) -> crate::errno::WasiResult<u64> {
    Ok(scratch::u64_at(&scratch::filestat(ctx, fd)?, 32))
}
