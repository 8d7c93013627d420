//! The `path_*` syscalls: everything that names a path relative to a directory descriptor.
//!
//! Paths are resolved only by cap-std beneath the directory's handle, so `..`, absolute paths and
//! symlinks (including ones the guest made) cannot reach outside it; such attempts fail with
//! `EPERM` (as Wasmtime answers; or `ENOENT` where the host reports so). Every mutation first checks that the
//! directory is writable and fails with `EPERM` otherwise. Called from the linker glue in `lib.rs`.

use std::path::Path;

use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, SystemTimeSpec,
};
use cap_std::fs::{Dir, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use crate::abi::{LOOKUP_SYMLINK_FOLLOW, Snapshot, fdflags, oflags, rights};
use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::fs::{filestat, requested_times, set_status_flags};
use crate::guest::GuestMemory;
use crate::table::{Descriptor, Entry, OpenDir, OpenFile, Rights};

fn follows(lookup_flags: u32) -> bool {
    lookup_flags & LOOKUP_SYMLINK_FOLLOW != 0
}

/// What `path_open` was asked to do, decoded from its flags and rights.
struct OpenRequest {
    follow: bool,
    create: bool,
    directory: bool,
    exclusive: bool,
    truncate: bool,
    read: bool,
    write: bool,
    /// The `APPEND` and `NONBLOCK` flags, set on the host descriptor after opening it.
    status_flags: u16,
}

impl OpenRequest {
    fn decode(dirflags: u32, oflags: u16, rights_base: u64, fdflags: u16) -> WasiResult<Self> {
        if oflags & !0xf != 0 {
            return Err(Errno::Inval);
        }
        // Wasmtime refuses these too: cap-std cannot open with O_SYNC or O_DSYNC, and ward will not
        // pretend to honour them.
        if fdflags & (fdflags::SYNC | fdflags::DSYNC | fdflags::RSYNC) != 0 {
            return Err(Errno::Notsup);
        }
        let append = fdflags & fdflags::APPEND != 0;
        let request = OpenRequest {
            follow: follows(dirflags),
            create: oflags & oflags::CREAT != 0,
            directory: oflags & oflags::DIRECTORY != 0,
            exclusive: oflags & oflags::EXCL != 0,
            truncate: oflags & oflags::TRUNC != 0,
            read: rights_base & (rights::FD_READ | rights::FD_READDIR) != 0,
            write: append || rights_base & rights::FILE_WRITE != 0,
            status_flags: fdflags & (fdflags::APPEND | fdflags::NONBLOCK),
        };
        if request.directory && (request.create || request.truncate) {
            return Err(Errno::Inval);
        }
        Ok(request)
    }

    /// Whether the open could change the file system.
    fn mutates(&self) -> bool {
        self.create || self.truncate || self.write
    }

    /// The rights the directory needs for this open.
    fn needed_rights(&self) -> u64 {
        let mut needed = rights::PATH_OPEN;
        if self.create {
            needed |= rights::PATH_CREATE_FILE;
        }
        if self.truncate {
            needed |= rights::PATH_FILESTAT_SET_SIZE;
        }
        needed
    }
}

#[allow(clippy::too_many_arguments)]
pub fn path_open(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags: u16,
    rights_base: u64,
    fdflags: u16,
    opened: u32,
) -> WasiResult {
    let request = OpenRequest::decode(dirflags, oflags, rights_base, fdflags)?;
    let path = mem.path(path, path_len)?;
    ctx.require(fd, request.needed_rights())?;
    let parent = ctx.dir(fd)?;
    if request.mutates() && !parent.writable {
        return Err(Errno::READ_ONLY);
    }
    // What the guest gave up for the directory's children it cannot ask back for them.
    let withheld = ctx.fds.get(&fd).map_or(0, |entry| entry.dropped.inheriting);
    if rights_base & withheld != 0 {
        return Err(Errno::Notcapable);
    }
    let descriptor = if request.directory {
        let dir = if request.follow {
            parent.dir.open_dir(&path)?
        } else {
            parent.dir.open_dir_nofollow(&path)?
        };
        // Checked after opening, so that a missing path or a file is reported as such first.
        if request.write {
            return Err(Errno::Isdir);
        }
        Descriptor::Dir(OpenDir {
            dir,
            writable: parent.writable,
            preopen: None,
            origin: parent.origin.child(&path),
        })
    } else {
        let mut options = OpenOptions::new();
        // Creating or truncating needs a writable host descriptor even if the guest only reads.
        // Appending is set after opening: cap-std (like std) refuses append together with truncate.
        let os_write = request.write || request.create || request.truncate;
        options
            .read(request.read || !os_write)
            .write(os_write)
            .truncate(request.truncate)
            .create(request.create && !request.exclusive)
            .create_new(request.create && request.exclusive)
            .follow(if request.follow {
                FollowSymlinks::Yes
            } else {
                FollowSymlinks::No
            })
            .maybe_dir(!os_write);
        let file = parent.dir.open_with(&path, &options)?;
        if file.metadata()?.is_dir() {
            Descriptor::Dir(OpenDir {
                dir: Dir::from_std_file(file.into_std()),
                writable: parent.writable,
                preopen: None,
                origin: parent.origin.child(&path),
            })
        } else {
            if request.status_flags != 0 {
                set_status_flags(file.as_raw_fd(), request.status_flags)?;
            }
            Descriptor::File(OpenFile {
                file,
                read: request.read || !os_write,
                write: request.write,
                mutable: parent.writable,
                origin: parent.origin.child(&path),
            })
        }
    };
    let all = descriptor.rights();
    let dropped = Rights {
        base: all.base & withheld,
        inheriting: all.inheriting & withheld,
    };
    let number = ctx.insert_entry(Entry {
        descriptor,
        dropped,
    })?;
    if let Err(e) = mem.write_u32(opened, number) {
        ctx.fds.remove(&number);
        return Err(e);
    }
    Ok(())
}

pub fn path_create_directory(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult {
    let path = mem.path(path, path_len)?;
    ctx.require(fd, rights::PATH_CREATE_DIRECTORY)?;
    ctx.writable_dir(fd)?.dir.create_dir(path)?;
    Ok(())
}

pub fn path_remove_directory(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult {
    let path = mem.path(path, path_len)?;
    ctx.require(fd, rights::PATH_REMOVE_DIRECTORY)?;
    ctx.writable_dir(fd)?.dir.remove_dir(path)?;
    Ok(())
}

pub fn path_unlink_file(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult {
    let path = mem.path(path, path_len)?;
    ctx.require(fd, rights::PATH_UNLINK_FILE)?;
    let dir = &ctx.writable_dir(fd)?.dir;
    // A trailing slash names a directory, which unlink never removes.
    if path.as_os_str().as_bytes().ends_with(b"/") {
        return Err(if dir.metadata(path).map(|m| m.is_dir()).unwrap_or(false) {
            Errno::Isdir
        } else {
            Errno::Notdir
        });
    }
    dir.remove_file(path)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn path_rename(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    old: u32,
    old_len: u32,
    new_fd: u32,
    new: u32,
    new_len: u32,
) -> WasiResult {
    let old = mem.path(old, old_len)?;
    let new = mem.path(new, new_len)?;
    ctx.require(fd, rights::PATH_RENAME_SOURCE)?;
    ctx.require(new_fd, rights::PATH_RENAME_TARGET)?;
    let from = &ctx.writable_dir(fd)?.dir;
    let to = &ctx.writable_dir(new_fd)?.dir;
    from.rename(old, to, new)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn path_link(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old: u32,
    old_len: u32,
    new_fd: u32,
    new: u32,
    new_len: u32,
) -> WasiResult {
    let old = mem.path(old, old_len)?;
    let new = mem.path(new, new_len)?;
    ctx.require(old_fd, rights::PATH_LINK_SOURCE)?;
    ctx.require(new_fd, rights::PATH_LINK_TARGET)?;
    // The source must be writable too: a link from a read-only preopen into a writable one would
    // make the read-only file writable.
    let from = &ctx.writable_dir(old_fd)?.dir;
    let to = &ctx.writable_dir(new_fd)?.dir;
    // A hard link to what a symlink points to is not made (`linkat` with `AT_SYMLINK_FOLLOW` could
    // not be confined by cap-std); Wasmtime answers EINVAL too.
    if follows(old_flags) {
        return Err(Errno::Inval);
    }
    from.hard_link(old, to, new)?;
    Ok(())
}

pub fn path_symlink(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    target: u32,
    target_len: u32,
    fd: u32,
    link: u32,
    link_len: u32,
) -> WasiResult {
    let target = mem.path(target, target_len)?;
    let link = mem.path(link, link_len)?;
    ctx.require(fd, rights::PATH_SYMLINK)?;
    let dir = &ctx.writable_dir(fd)?.dir;
    // An absolute target could never be followed inside the sandbox and would point host tools at
    // host paths, so it is refused.
    if target.is_absolute() {
        return Err(Errno::ESCAPE);
    }
    dir.symlink(target, link)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn path_readlink(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult {
    let path = mem.path(path, path_len)?;
    ctx.require(fd, rights::PATH_READLINK)?;
    let target = ctx.dir(fd)?.dir.read_link_contents(path)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write_bytes(buf, &bytes[..n])?;
    mem.write_u32(bufused, n as u32)
}

#[allow(clippy::too_many_arguments)]
pub fn path_filestat_get(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    snapshot: Snapshot,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    buf: u32,
) -> WasiResult {
    let path = mem.path(path, path_len)?;
    ctx.require(fd, rights::PATH_FILESTAT_GET)?;
    let dir = &ctx.dir(fd)?.dir;
    let meta = if follows(flags) {
        dir.metadata(path)?
    } else {
        dir.symlink_metadata(path)?
    };
    mem.write_bytes(buf, &filestat(&meta).encode(snapshot))
}

#[allow(clippy::too_many_arguments)]
pub fn path_filestat_set_times(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u16,
) -> WasiResult {
    let path: &Path = &mem.path(path, path_len)?;
    let (atime, mtime) = requested_times(atim, mtim, fst_flags)?;
    let spec = |t: Option<std::time::SystemTime>| {
        t.map(|t| SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t)))
    };
    ctx.require(fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let dir = &ctx.writable_dir(fd)?.dir;
    if follows(flags) {
        dir.set_times(path, spec(atime), spec(mtime))?;
    } else {
        dir.set_symlink_times(path, spec(atime), spec(mtime))?;
    }
    Ok(())
}
