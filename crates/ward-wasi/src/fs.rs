//! The `fd_*` syscalls: reading, writing, seeking, metadata, directory listing and descriptor
//! management on already-open descriptors.
//!
//! Called from the linker glue in `lib.rs` with the context taken out of the store and the caller's
//! memory; each returns `Ok(())` or the errno for the guest.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirEntryExt;
use std::time::{Duration, SystemTime};

use cap_std::fs::{FileExt, FileType, FileTypeExt, Metadata, MetadataExt};

use crate::abi::{Filestat, Snapshot, Whence, fdflags, filetype, fstflags, rights, size};
use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::guest::{GuestMemory, total_len};
use crate::table::{Descriptor, OpenFile, Rights};

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

/// The `filestat` of host metadata.
pub(crate) fn filestat(meta: &Metadata) -> Filestat {
    Filestat {
        dev: meta.dev(),
        ino: meta.ino(),
        filetype: wasi_filetype(meta.file_type()),
        nlink: meta.nlink(),
        size: meta.len(),
        atim: nanos(meta.atime(), meta.atime_nsec()),
        mtim: nanos(meta.mtime(), meta.mtime_nsec()),
        ctim: nanos(meta.ctime(), meta.ctime_nsec()),
    }
}

/// `stat` as a deterministic run reports it when `stable` (see
/// [`crate::WasiCtxBuilder::stable_metadata`]): no timestamps, device or inode numbers, one link, and
/// directories of size 0; the file type and a file's size (its contents) stay.
pub(crate) fn stabilize(stat: Filestat, stable: bool) -> Filestat {
    if !stable {
        return stat;
    }
    Filestat {
        dev: 0,
        ino: 0,
        nlink: 1,
        size: if stat.filetype == filetype::DIRECTORY {
            0
        } else {
            stat.size
        },
        atim: 0,
        mtim: 0,
        ctim: 0,
        filetype: stat.filetype,
    }
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

/// Checks that `open` was opened for writing. A file beneath a read-only preopen is never writable,
/// and writing it is refused like every other mutation there, with `EPERM`.
fn writable(open: &OpenFile) -> WasiResult {
    if open.write {
        Ok(())
    } else if !open.mutable {
        Err(Errno::READ_ONLY)
    } else {
        Err(Errno::Badf)
    }
}

pub fn fd_write(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_WRITE)?;
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let data = mem.gather(&buffers)?;
    let n = match ctx.descriptor(fd)? {
        Descriptor::Stream(stream) => stream.write(&data)?,
        Descriptor::File(open) => {
            writable(open)?;
            open.file.write_all(&data)?;
            data.len()
        }
        Descriptor::Socket(socket) => socket.write(&data)?,
        Descriptor::Dir(_) | Descriptor::Listener(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nwritten, n as u32)
}

pub fn fd_read(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_READ)?;
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
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_READ | rights::FD_SEEK)?;
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
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_WRITE | rights::FD_SEEK)?;
    let buffers = mem.iovecs(iovs, iovs_len)?;
    let data = mem.gather(&buffers)?;
    let open = ctx.file(fd)?;
    writable(open)?;
    let n = open.file.write_at(&data, offset)?;
    mem.write_u32(nwritten, n as u32)
}

#[allow(clippy::too_many_arguments)]
pub fn fd_seek(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    snapshot: Snapshot,
    fd: u32,
    offset: i64,
    how: u8,
    newoffset: u32,
) -> WasiResult {
    let whence = snapshot.whence(how);
    // Asking where the offset is only needs the right to tell.
    let needed = if whence == Some(Whence::Cur) && offset == 0 {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    ctx.require(fd, needed)?;
    let open = ctx.file(fd)?;
    let from = match whence.ok_or(Errno::Inval)? {
        Whence::Set => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        Whence::Cur => SeekFrom::Current(offset),
        Whence::End => SeekFrom::End(offset),
    };
    let position = open.file.seek(from)?;
    mem.write_u64(newoffset, position)
}

pub fn fd_tell(ctx: &mut WasiState, mem: &mut GuestMemory<'_>, fd: u32, offset: u32) -> WasiResult {
    ctx.require(fd, rights::FD_TELL)?;
    let position = ctx.file(fd)?.file.stream_position()?;
    mem.write_u64(offset, position)
}

pub fn fd_close(ctx: &mut WasiState, fd: u32) -> WasiResult {
    ctx.fds.remove(&fd).map(drop).ok_or(Errno::Badf)
}

pub fn fd_sync(ctx: &mut WasiState, fd: u32, data_only: bool) -> WasiResult {
    let needed = if data_only {
        rights::FD_DATASYNC
    } else {
        rights::FD_SYNC
    };
    ctx.require(fd, needed)?;
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

pub fn fd_advise(ctx: &mut WasiState, fd: u32, _offset: u64, _len: u64, advice: u8) -> WasiResult {
    ctx.require(fd, rights::FD_ADVISE)?;
    ctx.file(fd)?;
    // Advice is a hint; checking it is all that is required.
    if advice > 5 {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}

pub fn fd_allocate(ctx: &mut WasiState, fd: u32, offset: u64, len: u64) -> WasiResult {
    ctx.require(fd, rights::FD_ALLOCATE)?;
    let open = ctx.file(fd)?;
    writable(open)?;
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
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    let entry = ctx.entry(fd)?;
    let rights = entry.rights();
    let (ty, flags) = match &entry.descriptor {
        Descriptor::Stream(stream) => (stream.filetype(), 0),
        Descriptor::File(open) => {
            let ty = wasi_filetype(open.file.metadata()?.file_type());
            (ty, status_flags(open.file.as_raw_fd()))
        }
        Descriptor::Dir(_) => (filetype::DIRECTORY, 0),
        Descriptor::Listener(_) | Descriptor::Socket(_) => (filetype::SOCKET_STREAM, 0),
    };
    let mut bytes = [0u8; size::FDSTAT as usize];
    bytes[0] = ty;
    bytes[2..4].copy_from_slice(&flags.to_le_bytes());
    bytes[8..16].copy_from_slice(&rights.base.to_le_bytes());
    bytes[16..24].copy_from_slice(&rights.inheriting.to_le_bytes());
    mem.write_bytes(ptr, &bytes)
}

/// The `fdflags` a host descriptor has (only `APPEND` and `NONBLOCK` can be set in ward).
pub(crate) fn status_flags(raw: RawFd) -> u16 {
    // SAFETY: `raw` belongs to a descriptor in the table, open for the duration of the call; F_GETFL
    // only reads its status flags.
    let os_flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    let mut flags = 0;
    if os_flags >= 0 && os_flags & libc::O_APPEND != 0 {
        flags |= fdflags::APPEND;
    }
    if os_flags >= 0 && os_flags & libc::O_NONBLOCK != 0 {
        flags |= fdflags::NONBLOCK;
    }
    flags
}

pub fn fd_fdstat_set_flags(ctx: &mut WasiState, fd: u32, flags: u16) -> WasiResult {
    ctx.require(fd, rights::FD_FDSTAT_SET_FLAGS)?;
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 || flags & !0x1f != 0 {
        return Err(Errno::Notsup);
    }
    let raw = match ctx.descriptor(fd)? {
        Descriptor::File(open) => {
            if flags & fdflags::APPEND != 0 {
                writable(open)?;
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
    set_status_flags(raw, flags)
}

/// Sets the `APPEND` and `NONBLOCK` status flags of a host descriptor to those in `flags`.
pub(crate) fn set_status_flags(raw: RawFd, flags: u16) -> WasiResult {
    let mut os_flags = 0;
    if flags & fdflags::APPEND != 0 {
        os_flags |= libc::O_APPEND;
    }
    if flags & fdflags::NONBLOCK != 0 {
        os_flags |= libc::O_NONBLOCK;
    }
    // SAFETY: `raw` belongs to an open descriptor the caller holds for the duration of the call;
    // F_SETFL changes only status flags of that open file description.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, os_flags) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// Narrows the rights of `fd` to `base` and `inheriting`. Rights can only be given up: asking for
/// one the descriptor does not have now is `ENOTCAPABLE` and changes nothing.
pub fn fd_fdstat_set_rights(
    ctx: &mut WasiState,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult {
    let entry = ctx.entry(fd)?;
    let now = entry.rights();
    let wanted = Rights { base, inheriting };
    if wanted.without(now) != Rights::default() {
        return Err(Errno::Notcapable);
    }
    let given_up = now.without(wanted);
    entry.dropped.base |= given_up.base;
    entry.dropped.inheriting |= given_up.inheriting;
    Ok(())
}

pub fn fd_filestat_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    snapshot: Snapshot,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_FILESTAT_GET)?;
    let stat = match ctx.descriptor(fd)? {
        Descriptor::File(open) => filestat(&open.file.metadata()?),
        Descriptor::Dir(open) => filestat(&open.dir.dir_metadata()?),
        // A stream redirected to a regular file shows that file; any other stream only its type,
        // as under Wasmtime.
        Descriptor::Stream(stream) => match stream.regular_file() {
            Some(file) => filestat(&Metadata::from_file(&file)?),
            None => Filestat {
                filetype: stream.filetype(),
                ..Filestat::default()
            },
        },
        Descriptor::Socket(_) | Descriptor::Listener(_) => Filestat {
            filetype: filetype::SOCKET_STREAM,
            nlink: 1,
            ..Filestat::default()
        },
    };
    mem.write_bytes(ptr, &stabilize(stat, ctx.stable_metadata).encode(snapshot))
}

pub fn fd_filestat_set_size(ctx: &mut WasiState, fd: u32, size: u64) -> WasiResult {
    ctx.require(fd, rights::FD_FILESTAT_SET_SIZE)?;
    let open = ctx.file(fd)?;
    writable(open)?;
    open.file.set_len(size)?;
    Ok(())
}

pub fn fd_filestat_set_times(
    ctx: &mut WasiState,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u16,
) -> WasiResult {
    ctx.require(fd, rights::FD_FILESTAT_SET_TIMES)?;
    let times = requested_times(atim, mtim, flags)?;
    match ctx.descriptor(fd)? {
        Descriptor::File(open) if open.mutable => set_times_on(&open.file, times),
        Descriptor::Dir(open) if open.writable => set_times_on(&open.dir, times),
        Descriptor::File(_) | Descriptor::Dir(_) => Err(Errno::READ_ONLY),
        _ => Err(Errno::Badf),
    }
}

pub fn fd_readdir(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult {
    ctx.require(fd, rights::FD_READDIR)?;
    let stable = ctx.stable_metadata;
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
    // The host lists entries in an order of its own (creation order, hash order, ...).
    if stable {
        entries[2..].sort_by(|a, b| a.2.cmp(&b.2));
        for entry in &mut entries {
            entry.0 = 0;
        }
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

pub fn fd_renumber(ctx: &mut WasiState, from: u32, to: u32) -> WasiResult {
    if !ctx.fds.contains_key(&from) || !ctx.fds.contains_key(&to) {
        return Err(Errno::Badf);
    }
    if from != to {
        let entry = ctx.fds.remove(&from).ok_or(Errno::Badf)?;
        ctx.fds.insert(to, entry);
    }
    Ok(())
}

pub fn fd_prestat_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ptr: u32,
) -> WasiResult {
    match ctx.get(fd) {
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
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult {
    match ctx.get(fd) {
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
