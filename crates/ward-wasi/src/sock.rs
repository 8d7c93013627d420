//! The `sock_*` syscalls on sockets the embedder granted ([`WasiCtxBuilder::preopened_socket`]).
//!
//! Preview1 cannot open sockets; a guest can only accept connections on a granted listener and talk
//! over the accepted streams. Called from the linker glue in `lib.rs`.
//!
//! [`WasiCtxBuilder::preopened_socket`]: crate::WasiCtxBuilder::preopened_socket

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::abi::{RECV_PEEK, fdflags, rights, sdflags};
use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::guest::{GuestMemory, total_len};
use crate::table::Descriptor;

fn not_a_socket(descriptor: Option<&Descriptor>) -> Errno {
    if descriptor.is_some() {
        Errno::Notsock
    } else {
        Errno::Badf
    }
}

pub fn sock_accept(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u16,
    opened: u32,
) -> WasiResult {
    ctx.require(fd, rights::SOCK_ACCEPT)?;
    if flags & !fdflags::NONBLOCK != 0 {
        return Err(Errno::Inval);
    }
    let (stream, peer) = match ctx.get(fd) {
        Some(Descriptor::Listener(listener)) => listener.accept()?,
        other => return Err(not_a_socket(other)),
    };
    if let Some(log) = ctx.audit.as_mut() {
        let record = log
            .record("accept")
            .num("fd", fd)
            .str("peer", &peer.to_string())
            .bool("allowed", true)
            .str("rule", "granted listener");
        log.write(record);
    }
    stream.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
    let number = ctx.insert(Descriptor::Socket(stream))?;
    mem.write_u32(opened, number)
}

#[allow(clippy::too_many_arguments)]
pub fn sock_recv(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u16,
    datalen: u32,
    out_flags: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_READ)?;
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let mut data = vec![0u8; total_len(&buffers, 64 << 20)];
    let n = match ctx.descriptor(fd).ok() {
        Some(Descriptor::Socket(socket)) if flags & RECV_PEEK != 0 => socket.peek(&mut data)?,
        Some(Descriptor::Socket(socket)) => socket.read(&mut data)?,
        other => return Err(not_a_socket(other.map(|d| &*d))),
    };
    mem.scatter(&buffers, &data[..n])?;
    mem.write_u32(datalen, n as u32)?;
    mem.write_u16(out_flags, 0)
}

pub fn sock_send(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    datalen: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_WRITE)?;
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let data = mem.gather(&buffers)?;
    let n = match ctx.descriptor(fd).ok() {
        Some(Descriptor::Socket(socket)) => socket.write(&data)?,
        other => return Err(not_a_socket(other.map(|d| &*d))),
    };
    mem.write_u32(datalen, n as u32)
}

pub fn sock_shutdown(ctx: &mut WasiState, fd: u32, how: u8) -> WasiResult {
    let how = match how {
        sdflags::RD => Shutdown::Read,
        sdflags::WR => Shutdown::Write,
        h if h == sdflags::RD | sdflags::WR => Shutdown::Both,
        _ => return Err(Errno::Inval),
    };
    ctx.require(fd, rights::SOCK_SHUTDOWN)?;
    match ctx.get(fd) {
        Some(Descriptor::Socket(socket)) => Ok(socket.shutdown(how)?),
        other => Err(not_a_socket(other)),
    }
}
