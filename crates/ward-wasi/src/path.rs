//! The `path_*` syscalls: everything that names a path relative to a directory descriptor.
//!
//! Paths are resolved only by cap-std beneath the directory's handle, so `..`, absolute paths and
//! symlinks (including ones the guest made) cannot reach outside it; such attempts fail with
//! `EPERM` (as Wasmtime answers; or `ENOENT` where the host reports so). Every mutation first checks that the
//! directory is writable and fails with `EPERM` otherwise. With an audit log on, every open and every
//! mutation is recorded with the guest path, whether it was allowed and the rule that decided
//! (`audit_path_call`). Called from the linker glue in `lib.rs`.

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
use crate::fs::{filestat, requested_times, set_status_flags, stabilize};
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

impl OpenRequest {
    /// The mode for the audit log: `read`, `write` or `read-write`, with `+create`, `+excl`,
    /// `+trunc`, `+append` and `+directory` as asked.
    fn mode(&self) -> String {
        let mut mode = match (self.read, self.write) {
            (_, false) => "read",
            (false, true) => "write",
            (true, true) => "read-write",
        }
        .to_string();
        for (on, name) in [
            (self.create, "+create"),
            (self.exclusive, "+excl"),
            (self.truncate, "+trunc"),
            (self.status_flags & fdflags::APPEND != 0, "+append"),
            (self.directory, "+directory"),
        ] {
            if on {
                mode.push_str(name);
            }
        }
        mode
    }
}

/// Whether cap-std refused `error`'s path for leading outside its directory (its own error, with no
/// OS error code; the host's own `EACCES` has one).
fn is_escape(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::PermissionDenied && error.raw_os_error().is_none()
}

/// `path` as the guest sees it beneath the directory it named as `base`.
fn join_guest(base: &str, path: &Path) -> String {
    let path = path.to_string_lossy();
    if base.ends_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Whether `path` leaves the directory it is resolved in, by its text alone: absolute, or with more
/// `..` than names before them.
fn leaves_lexically(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            std::path::Component::RootDir | std::path::Component::Prefix(_) => return true,
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// Writes the audit record of a path call on directory `fd` (the audit log is on): the guest path,
/// the `mode`, whether it was allowed, the rule that decided and the host's errno if an allowed
/// call failed.
/// `result` of a path operation, written to the audit log first when there is one (as `event`,
/// with the access `mode`).
fn audited(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    (event, mode): (&str, &str),
    fd: u32,
    path: (u32, u32),
    result: WasiResult,
) -> WasiResult {
    if ctx.audit.is_some() {
        audit_path_call(ctx, mem, event, fd, path, mode, &result, false);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn audit_path_call(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    event: &str,
    fd: u32,
    (path, path_len): (u32, u32),
    mode: &str,
    result: &WasiResult,
    escaped: bool,
) {
    let path = match mem.path(path, path_len) {
        Ok(path) => path.to_path_buf(),
        Err(_) => std::path::PathBuf::from("<unreadable>"),
    };
    let (guest_path, root, writable) = match ctx.dir(fd) {
        Ok(dir) => (
            join_guest(&dir.origin.preopen, &dir.origin.path.join(&path)),
            Some(dir.origin.preopen.clone()),
            dir.writable,
        ),
        Err(_) => (path.to_string_lossy().into_owned(), None, false),
    };
    let access = if writable { "read-write" } else { "read-only" };
    let (allowed, rule, errno) = match (result, &root) {
        (_, None) => (false, "not a directory descriptor".to_string(), None),
        (Err(Errno::Notcapable), _) => (false, "rights dropped by the guest".to_string(), None),
        (Err(Errno::Perm), Some(root)) if escaped || leaves_lexically(&path) => (
            false,
            format!("path leads outside preopen \"{root}\""),
            None,
        ),
        (Err(Errno::Perm), Some(root)) if !writable && mode != "read" => {
            (false, format!("read-only preopen \"{root}\""), None)
        }
        (Ok(()), Some(root)) => (true, format!("preopen \"{root}\" ({access})"), None),
        (Err(e), Some(root)) => (
            true,
            format!("preopen \"{root}\" ({access})"),
            Some(e.name().to_ascii_lowercase()),
        ),
    };
    let Some(log) = ctx.audit.as_mut() else {
        return;
    };
    let mut record = log
        .record(event)
        .str("path", &guest_path)
        .str("mode", mode)
        .bool("allowed", allowed)
        .str("rule", &rule);
    if let Some(errno) = errno {
        record = record.str("errno", &errno);
    }
    log.write(record);
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
    let mut escaped = false;
    let result = open(
        ctx,
        mem,
        fd,
        dirflags,
        (path, path_len),
        oflags,
        rights_base,
        fdflags,
        opened,
        &mut escaped,
    );
    if ctx.audit.is_some() {
        let mode = match OpenRequest::decode(dirflags, oflags, rights_base, fdflags) {
            Ok(request) => request.mode(),
            Err(_) => "invalid".to_string(),
        };
        audit_path_call(
            ctx,
            mem,
            "open",
            fd,
            (path, path_len),
            &mode,
            &result,
            escaped,
        );
    }
    result
}

/// `path_open` itself; `escaped` is set when cap-std refused a path that leads out of the
/// directory (for the audit log's rule).
#[allow(clippy::too_many_arguments)]
fn open(
    ctx: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    (path, path_len): (u32, u32),
    oflags: u16,
    rights_base: u64,
    fdflags: u16,
    opened: u32,
    escaped: &mut bool,
) -> WasiResult {
    let mut note = |error: std::io::Error| {
        *escaped = is_escape(&error);
        Errno::from(error)
    };
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
            parent.dir.open_dir(&path).map_err(&mut note)?
        } else {
            parent.dir.open_dir_nofollow(&path).map_err(&mut note)?
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
        let file = parent.dir.open_with(&path, &options).map_err(&mut note)?;
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
    let result = path_create_directory_unaudited(ctx, mem, fd, path, path_len);
    audited(ctx, mem, ("mkdir", "create"), fd, (path, path_len), result)
}

fn path_create_directory_unaudited(
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
    let result = path_remove_directory_unaudited(ctx, mem, fd, path, path_len);
    audited(ctx, mem, ("rmdir", "remove"), fd, (path, path_len), result)
}

fn path_remove_directory_unaudited(
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
    let result = path_unlink_file_unaudited(ctx, mem, fd, path, path_len);
    audited(ctx, mem, ("unlink", "remove"), fd, (path, path_len), result)
}

fn path_unlink_file_unaudited(
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
    let result = path_rename_unaudited(ctx, mem, fd, old, old_len, new_fd, new, new_len);
    audited(ctx, mem, ("rename", "rename"), fd, (old, old_len), result)
}

#[allow(clippy::too_many_arguments)]
fn path_rename_unaudited(
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
    let result = path_link_unaudited(
        ctx, mem, old_fd, old_flags, old, old_len, new_fd, new, new_len,
    );
    audited(ctx, mem, ("link", "link"), new_fd, (new, new_len), result)
}

#[allow(clippy::too_many_arguments)]
fn path_link_unaudited(
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
    let result = path_symlink_unaudited(ctx, mem, target, target_len, fd, link, link_len);
    audited(
        ctx,
        mem,
        ("symlink", "create"),
        fd,
        (link, link_len),
        result,
    )
}

fn path_symlink_unaudited(
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
    let stat = stabilize(filestat(&meta), ctx.stable_metadata);
    mem.write_bytes(buf, &stat.encode(snapshot))
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
    let result = path_filestat_set_times_unaudited(
        ctx, mem, fd, flags, path, path_len, atim, mtim, fst_flags,
    );
    audited(
        ctx,
        mem,
        ("set-times", "write"),
        fd,
        (path, path_len),
        result,
    )
}

#[allow(clippy::too_many_arguments)]
fn path_filestat_set_times_unaudited(
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
