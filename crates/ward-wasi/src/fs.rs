//! The `fd_*` syscalls: reading, writing, seeking, metadata, directory listing and descriptor
//! management on already-open descriptors.
//!
//! Called from the linker glue in `lib.rs` with the context taken out of the store and the caller's
//! memory; each returns `Ok(())` or the errno for the guest.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirEntryExt;
use std::time::{Duration, SystemTime};

use cap_std::fs::{FileExt, FileType, FileTypeExt, Metadata, MetadataExt};

use crate::abi::{fdflags, filetype, fstflags, rights, size, whence};
use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::guest::{GuestMemory, total_len};
use crate::table::{Descriptor, Stream};

/// One read never asks for more than this many bytes (a short read is always allowed).
const MAX_IO: usize = 64 << 20;

pub(crate) fn wasi_filetype(ty: FileType) -> u8 {
    if ty.is_dir() {
        filetype::DIRECTORY
    } else if ty.is_file() {
        filetype::REGULAR_FILE
    } else if ty.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ty.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ty.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ty.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

fn nanos(seconds: i64, nanos: i64) -> u64 {
    (seconds as i128 * 1_000_000_000 + nanos as i128).clamp(0, u64::MAX as i128) as u64
}

/// Writes a `filestat` for `meta` at `ptr`.
pub(crate) fn write_filestat(mem: &mut GuestMemory<'_>, ptr: u32, meta: &Metadata) -> WasiResult {
    let mut bytes = [0u8; size::FILESTAT as usize];
    bytes[0..8].copy_from_slice(&meta.dev().to_le_bytes());
    bytes[8..16].copy_from_slice(&meta.ino().to_le_bytes());
    bytes[16] = wasi_filetype(meta.file_type());
    bytes[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
    bytes[32..40].copy_from_slice(&meta.len().to_le_bytes());
    bytes[40..48].copy_from_slice(&nanos(meta.atime(), meta.atime_nsec()).to_le_bytes());
    bytes[48..56].copy_from_slice(&nanos(meta.mtime(), meta.mtime_nsec()).to_le_bytes());
    bytes[56..64].copy_from_slice(&nanos(meta.ctime(), meta.ctime_nsec()).to_le_bytes());
    mem.write_bytes(ptr, &bytes)
}

/// The times requested by a `*_set_times` call: `None` leaves a time unchanged.
pub(crate) fn requested_times(
    atim: u64,
    mtim: u64,
    flags: u16,
) -> WasiResult<(Option<SystemTime>, Option<SystemTime>)> {
    let pick = |value: u64, set: u16, now: u16| -> WasiResult<Option<SystemTime>> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(value))),
            (false, true) => Ok(Some(SystemTime::now())),
            (false, false) => Ok(None),
        }
    };
    if flags & !(fstflags::ATIM | fstflags::ATIM_NOW | fstflags::MTIM | fstflags::MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    Ok((
        pick(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        pick(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ))
}

/// Applies `times` to an open host descriptor.
fn set_times_on(fd: impl AsFd, times: (Option<SystemTime>, Option<SystemTime>)) -> WasiResult {
    let file = std::fs::File::from(fd.as_fd().try_clone_to_owned()?);
    let mut spec = std::fs::FileTimes::new();
    if let Some(atime) = times.0 {
        spec = spec.set_accessed(atime);
    }
    if let Some(mtime) = times.1 {
        spec = spec.set_modified(mtime);
    }
    file.set_times(spec)?;
    Ok(())
}

pub fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult {
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let data = mem.gather(&buffers)?;
    let n = match ctx.descriptor(fd)? {
        Descriptor::Stream(stream) => stream.write(&data)?,
        Descriptor::File(open) if open.write => {
            open.file.write_all(&data)?;
            data.len()
        }
        Descriptor::Socket(socket) => socket.write(&data)?,
        Descriptor::File(_) | Descriptor::Dir(_) | Descriptor::Listener(_) => {
            return Err(Errno::Badf);
        }
    };
    mem.write_u32(nwritten, n as u32)
}

pub fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult {
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let mut data = vec![0u8; total_len(&buffers, MAX_IO)];
    let n = match ctx.descriptor(fd)? {
        Descriptor::Stream(stream) => stream.read(&mut data)?,
        Descriptor::File(open) if open.read => open.file.read(&mut data)?,
        Descriptor::Socket(socket) => socket.read(&mut data)?,
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::File(_) | Descriptor::Listener(_) => return Err(Errno::Badf),
    };
    mem.scatter(&buffers, &data[..n])?;
    mem.write_u32(nread, n as u32)
}

pub fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult {
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let mut data = vec![0u8; total_len(&buffers, MAX_IO)];
    let open = ctx.file(fd)?;
    if !open.read {
        return Err(Errno::Badf);
    }
    let n = open.file.read_at(&mut data, offset)?;
    mem.scatter(&buffers, &data[..n])?;
    mem.write_u32(nread, n as u32)
}

pub fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult {
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let data = mem.gather(&buffers)?;
    let open = ctx.file(fd)?;
    if !open.write {
        return Err(Errno::Badf);
    }
    let n = open.file.write_at(&data, offset)?;
    mem.write_u32(nwritten, n as u32)
}

pub fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    how: u8,
    newoffset: u32,
) -> WasiResult {
    let open = ctx.file(fd)?;
    let from = match how {
        whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        whence::CUR => SeekFrom::Current(offset),
        whence::END => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    let position = open.file.seek(from)?;
    mem.write_u64(newoffset, position)
}

pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, offset: u32) -> WasiResult {
    let position = ctx.file(fd)?.file.stream_position()?;
    mem.write_u64(offset, position)
}

pub fn fd_close(ctx: &mut WasiCtx, fd: u32) -> WasiResult {
    ctx.fds.remove(&fd).map(drop).ok_or(Errno::Badf)
}

pub fn fd_sync(ctx: &mut WasiCtx, fd: u32, data_only: bool) -> WasiResult {
    match ctx.descriptor(fd)? {
        Descriptor::File(open) => {
            if data_only {
                open.file.sync_data()?
            } else {
                open.file.sync_all()?
            }
        }
        Descriptor::Dir(open) => open.dir.try_clone()?.into_std_file().sync_all()?,
        _ => return Err(Errno::Inval),
    }
    Ok(())
}

pub fn fd_advise(ctx: &mut WasiCtx, fd: u32, _offset: u64, _len: u64, advice: u8) -> WasiResult {
    ctx.file(fd)?;
    // Advice is a hint; checking it is all that is required.
    if advice > 5 {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}

pub fn fd_allocate(ctx: &mut WasiCtx, fd: u32, offset: u64, len: u64) -> WasiResult {
    let open = ctx.file(fd)?;
    if !open.mutable {
        return Err(Errno::READ_ONLY);
    }
    if !open.write {
        return Err(Errno::Badf);
    }
    let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
    if len == 0 {
        return Err(Errno::Inval);
    }
    if open.file.metadata()?.len() < end {
        open.file.set_len(end)?;
    }
    Ok(())
}

pub fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    let (ty, flags, base, inheriting) = match ctx.descriptor(fd)? {
        Descriptor::Stream(stream) => {
            let ty = match stream {
                Stream::File(file) => Metadata::from_file(file)
                    .map(|m| wasi_filetype(m.file_type()))
                    .unwrap_or(filetype::UNKNOWN),
                _ => filetype::CHARACTER_DEVICE,
            };
            let base = rights::FD_READ
                | rights::FD_WRITE
                | rights::POLL_FD_READWRITE
                | rights::FD_FILESTAT_GET;
            (ty, 0, base, 0)
        }
        Descriptor::File(open) => {
            let ty = wasi_filetype(open.file.metadata()?.file_type());
            let mut base = rights::FILE_READ;
            if open.write {
                base |= rights::FILE_WRITE;
            }
            if open.mutable {
                base |= rights::FD_FILESTAT_SET_TIMES;
            }
            // SAFETY: the descriptor is owned by `open.file` and stays open for the call.
            let fl = unsafe { libc::fcntl(open.file.as_raw_fd(), libc::F_GETFL) };
            let mut flags = 0;
            if fl >= 0 && fl & libc::O_APPEND != 0 {
                flags |= fdflags::APPEND;
            }
            if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
                flags |= fdflags::NONBLOCK;
            }
            (ty, flags, base, 0)
        }
        Descriptor::Dir(open) => {
            let mut base = rights::DIR_READ;
            if open.writable {
                base |= rights::DIR_WRITE;
            }
            // Inheriting rights stay complete even for read-only directories, so that a guest's libc
            // asks for write access and gets a clear EPERM from path_open instead of a silent
            // read-only descriptor.
            let inheriting = rights::DIR_READ
                | rights::DIR_WRITE
                | rights::FILE_READ
                | rights::FILE_WRITE
                | rights::FD_FILESTAT_SET_TIMES;
            (filetype::DIRECTORY, 0, base, inheriting)
        }
        Descriptor::Listener(_) => (
            filetype::SOCKET_STREAM,
            0,
            rights::SOCK_ACCEPT | rights::POLL_FD_READWRITE,
            0,
        ),
        Descriptor::Socket(_) => (filetype::SOCKET_STREAM, 0, rights::SOCKET, 0),
    };
    let mut bytes = [0u8; 24];
    bytes[0] = ty;
    bytes[2..4].copy_from_slice(&flags.to_le_bytes());
    bytes[8..16].copy_from_slice(&base.to_le_bytes());
    bytes[16..24].copy_from_slice(&inheriting.to_le_bytes());
    mem.write_bytes(ptr, &bytes)
}

pub fn fd_fdstat_set_flags(ctx: &mut WasiCtx, fd: u32, flags: u16) -> WasiResult {
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 || flags & !0x1f != 0 {
        return Err(Errno::Notsup);
    }
    let raw = match ctx.descriptor(fd)? {
        Descriptor::File(open) => {
            if flags & fdflags::APPEND != 0 && !open.mutable {
                return Err(Errno::READ_ONLY);
            }
            if flags & fdflags::APPEND != 0 && !open.write {
                return Err(Errno::Badf);
            }
            open.file.as_raw_fd()
        }
        Descriptor::Socket(socket) => {
            socket.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
            return Ok(());
        }
        Descriptor::Listener(listener) => {
            listener.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
            return Ok(());
        }
        // Streams and directories have no flags to change; accept and ignore nonblock.
        Descriptor::Stream(_) | Descriptor::Dir(_) => {
            return if flags & fdflags::APPEND != 0 {
                Err(Errno::Notsup)
            } else {
                Ok(())
            };
        }
    };
    let mut os_flags = 0;
    if flags & fdflags::APPEND != 0 {
        os_flags |= libc::O_APPEND;
    }
    if flags & fdflags::NONBLOCK != 0 {
        os_flags |= libc::O_NONBLOCK;
    }
    // SAFETY: `raw` belongs to a descriptor in the table, open for the duration of the call; F_SETFL
    // changes only status flags of that open file description.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, os_flags) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

pub fn fd_fdstat_set_rights(ctx: &mut WasiCtx, fd: u32) -> WasiResult {
    ctx.descriptor(fd)?;
    // Rights are reported but not narrowed per descriptor; access is governed by how it was opened.
    Err(Errno::Notsup)
}

pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    let meta = match ctx.descriptor(fd)? {
        Descriptor::File(open) => open.file.metadata()?,
        Descriptor::Dir(open) => open.dir.dir_metadata()?,
        Descriptor::Stream(Stream::File(file)) => Metadata::from_file(file)?,
        Descriptor::Stream(_) | Descriptor::Socket(_) | Descriptor::Listener(_) => {
            let mut bytes = [0u8; size::FILESTAT as usize];
            bytes[16] = match ctx.descriptor(fd)? {
                Descriptor::Stream(_) => filetype::CHARACTER_DEVICE,
                _ => filetype::SOCKET_STREAM,
            };
            bytes[24] = 1;
            return mem.write_bytes(ptr, &bytes);
        }
    };
    write_filestat(mem, ptr, &meta)
}

pub fn fd_filestat_set_size(ctx: &mut WasiCtx, fd: u32, size: u64) -> WasiResult {
    let open = ctx.file(fd)?;
    if !open.mutable {
        return Err(Errno::READ_ONLY);
    }
    if !open.write {
        return Err(Errno::Badf);
    }
    open.file.set_len(size)?;
    Ok(())
}

pub fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u16,
) -> WasiResult {
    let times = requested_times(atim, mtim, flags)?;
    match ctx.descriptor(fd)? {
        Descriptor::File(open) if open.mutable => set_times_on(&open.file, times),
        Descriptor::Dir(open) if open.writable => set_times_on(&open.dir, times),
        Descriptor::File(_) | Descriptor::Dir(_) => Err(Errno::READ_ONLY),
        _ => Err(Errno::Badf),
    }
}

pub fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult {
    let dir = &ctx
        .dir(fd)
        .map_err(|e| if e == Errno::Notdir { Errno::Badf } else { e })?
        .dir;
    let this = dir.dir_metadata()?;
    let parent_ino = dir.metadata("..").map(|m| m.ino()).unwrap_or(this.ino());
    let mut entries = vec![
        (this.ino(), filetype::DIRECTORY, b".".to_vec()),
        (parent_ino, filetype::DIRECTORY, b"..".to_vec()),
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let ty = entry
            .file_type()
            .map(wasi_filetype)
            .unwrap_or(filetype::UNKNOWN);
        entries.push((entry.ino(), ty, entry.file_name().as_bytes().to_vec()));
    }
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (index, (ino, ty, name)) in entries.iter().enumerate().skip(skip) {
        let mut header = [0u8; size::DIRENT as usize];
        header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = *ty;
        out.extend_from_slice(&header);
        out.extend_from_slice(name);
        if out.len() >= buf_len as usize {
            break;
        }
    }
    // A truncated last entry tells the guest's libc to retry with a larger buffer.
    out.truncate(buf_len as usize);
    mem.write_bytes(buf, &out)?;
    mem.write_u32(bufused, out.len() as u32)
}

pub fn fd_renumber(ctx: &mut WasiCtx, from: u32, to: u32) -> WasiResult {
    if !ctx.fds.contains_key(&from) || !ctx.fds.contains_key(&to) {
        return Err(Errno::Badf);
    }
    if from != to {
        let descriptor = ctx.fds.remove(&from).ok_or(Errno::Badf)?;
        ctx.fds.insert(to, descriptor);
    }
    Ok(())
}

pub fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    match ctx.fds.get(&fd) {
        Some(Descriptor::Dir(dir)) => {
            let name = dir.preopen.as_ref().ok_or(Errno::Badf)?;
            // tag 0 (a directory), padding, then the name length; written at once so that a pointer
            // near the end of memory is a fault rather than an overflow.
            let mut prestat = [0u8; 8];
            prestat[4..].copy_from_slice(&(name.len() as u32).to_le_bytes());
            mem.write_bytes(ptr, &prestat)
        }
        _ => Err(Errno::Badf),
    }
}

pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult {
    match ctx.fds.get(&fd) {
        Some(Descriptor::Dir(dir)) => {
            let name = dir.preopen.as_ref().ok_or(Errno::Badf)?;
            if (path_len as usize) < name.len() {
                return Err(Errno::Nametoolong);
            }
            mem.write_bytes(path, name.as_bytes())
        }
        _ => Err(Errno::Badf),
    }
}
