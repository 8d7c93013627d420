//! The descriptor table: what a guest file descriptor refers to ([`Descriptor`]), the rights it has
//! ([`Rights`]), and lookups on `WasiState` that turn a missing or wrong-kind descriptor into the
//! right errno.
//!
//! A directory remembers whether it is writable; files opened beneath a read-only directory remember
//! that too, so every mutation can be refused with `EPERM` however the guest reaches the file.
//!
//! A descriptor's rights are derived from what it is and how it was opened ([`Descriptor::rights`]),
//! so `fd_fdstat_get` never advertises an operation that cannot work. The guest can only give rights
//! up (`fd_fdstat_set_rights`); each [`Entry`] records what was given up, and the syscalls refuse
//! those operations with `ENOTCAPABLE` (`WasiState::require`).

use std::io::{self, IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use cap_std::fs::{Dir, File};

use crate::abi::{filetype, rights};
use crate::ctx::{OutputBuffer, Stdio, WasiState};
use crate::errno::{Errno, WasiResult};

/// A pair of rights sets as `fd_fdstat_get` reports them: what the descriptor allows, and what
/// descriptors opened through it (a directory's children) may allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rights {
    pub base: u64,
    pub inheriting: u64,
}

impl Rights {
    /// The rights in `self` that are not in `other`.
    pub fn without(self, other: Rights) -> Rights {
        Rights {
            base: self.base & !other.base,
            inheriting: self.inheriting & !other.inheriting,
        }
    }
}

/// One slot of the descriptor table.
pub(crate) struct Entry {
    pub descriptor: Descriptor,
    /// Rights the guest gave up on this descriptor (or on the directory it was opened through, for
    /// its children). Always a subset of [`Descriptor::rights`].
    pub dropped: Rights,
}

impl Entry {
    /// The rights the descriptor has now.
    pub fn rights(&self) -> Rights {
        self.descriptor.rights().without(self.dropped)
    }
}

/// An open regular file (or other non-directory node) beneath a preopen.
pub(crate) struct OpenFile {
    pub file: File,
    pub read: bool,
    pub write: bool,
    /// False when the file was reached through a read-only preopen.
    pub mutable: bool,
    pub origin: Origin,
}

/// An open directory; `preopen` is the guest-visible name of a preopened one.
pub(crate) struct OpenDir {
    pub dir: Dir,
    pub writable: bool,
    pub preopen: Option<String>,
    pub origin: Origin,
}

/// Where a file or directory was opened: the guest name of the preopen it was reached through,
/// and the path beneath it as the guest gave it (joined through any directories opened on the
/// way). A snapshot re-opens it from these (`crate::snapshot`); a rename after opening is not
/// followed.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub preopen: String,
    pub path: std::path::PathBuf,
}

impl Origin {
    /// The origin of `path` opened beneath this one.
    pub fn child(&self, path: &std::path::Path) -> Origin {
        Origin {
            preopen: self.preopen.clone(),
            path: self.path.join(path),
        }
    }
}

/// Which standard stream of the host process an inherited stream is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostStream {
    Stdin,
    Stdout,
    Stderr,
}

/// A non-seekable byte stream: the guest's stdio.
pub(crate) enum Stream {
    Null,
    Host(HostStream),
    File(std::fs::File),
    Bytes(io::Cursor<Vec<u8>>),
    Buffer(OutputBuffer),
}

impl Stream {
    pub fn from_stdio(stdio: Stdio, number: u32) -> Stream {
        match stdio {
            Stdio::Null => Stream::Null,
            Stdio::Inherit => Stream::Host(match number {
                0 => HostStream::Stdin,
                1 => HostStream::Stdout,
                _ => HostStream::Stderr,
            }),
            Stdio::File(file) => Stream::File(file),
            Stdio::Bytes(bytes) => Stream::Bytes(io::Cursor::new(bytes)),
            Stdio::Buffer(buffer) => Stream::Buffer(buffer),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> WasiResult<usize> {
        match self {
            Stream::Null => Ok(0),
            Stream::Host(HostStream::Stdin) => read_host_stdin(buf),
            Stream::Host(_) | Stream::Buffer(_) => Err(Errno::Badf),
            Stream::File(file) => Ok(file.read(buf)?),
            Stream::Bytes(cursor) => Ok(cursor.read(buf)?),
        }
    }

    pub fn write(&mut self, data: &[u8]) -> WasiResult<usize> {
        match self {
            Stream::Null => Ok(data.len()),
            Stream::Host(HostStream::Stdin) | Stream::Bytes(_) => Err(Errno::Badf),
            Stream::Host(HostStream::Stdout) => {
                let mut out = io::stdout().lock();
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            Stream::Host(HostStream::Stderr) => {
                io::stderr().lock().write_all(data)?;
                Ok(data.len())
            }
            Stream::File(file) => {
                file.write_all(data)?;
                Ok(data.len())
            }
            Stream::Buffer(buffer) => {
                buffer.append(data);
                Ok(data.len())
            }
        }
    }

    /// A duplicate of the host descriptor behind the stream, if it has one.
    fn host_fd(&self) -> Option<OwnedFd> {
        let fd = match self {
            Stream::Host(HostStream::Stdin) => io::stdin().as_fd().try_clone_to_owned(),
            Stream::Host(HostStream::Stdout) => io::stdout().as_fd().try_clone_to_owned(),
            Stream::Host(HostStream::Stderr) => io::stderr().as_fd().try_clone_to_owned(),
            Stream::File(file) => file.as_fd().try_clone_to_owned(),
            Stream::Null | Stream::Bytes(_) | Stream::Buffer(_) => return None,
        };
        fd.ok()
    }

    /// The host file behind the stream when it is a regular file (stdio redirected to a file).
    pub fn regular_file(&self) -> Option<std::fs::File> {
        let file = std::fs::File::from(self.host_fd()?);
        file.metadata().ok()?.is_file().then_some(file)
    }

    /// The file type the guest sees. Only a terminal is a character device, because that is what a
    /// guest's `isatty` checks; a redirect to a regular file is one; pipes, sockets, `/dev/null` and
    /// in-memory streams are `UNKNOWN`, as under Wasmtime.
    pub fn filetype(&self) -> u8 {
        let Some(fd) = self.host_fd() else {
            return filetype::UNKNOWN;
        };
        let file = std::fs::File::from(fd);
        if file.is_terminal() {
            filetype::CHARACTER_DEVICE
        } else if file.metadata().is_ok_and(|meta| meta.is_file()) {
            filetype::REGULAR_FILE
        } else {
            filetype::UNKNOWN
        }
    }

    /// Whether the stream can be read and written, as [`Stream::read`] and [`Stream::write`] allow.
    fn access(&self) -> (bool, bool) {
        match self {
            Stream::Null => (true, true),
            Stream::Host(HostStream::Stdin) | Stream::Bytes(_) => (true, false),
            Stream::Host(_) | Stream::Buffer(_) => (false, true),
            Stream::File(file) => {
                // SAFETY: the descriptor is owned by `file`, open for the call; F_GETFL only reads
                // its status flags.
                let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
                if flags < 0 {
                    return (false, false);
                }
                match flags & libc::O_ACCMODE {
                    libc::O_RDONLY => (true, false),
                    libc::O_WRONLY => (false, true),
                    _ => (true, true),
                }
            }
        }
    }

    /// The host descriptor to wait on in `poll_oneoff`, when readiness is not immediate.
    pub fn poll_fd(&self) -> Option<i32> {
        match self {
            Stream::Host(HostStream::Stdin) => Some(0),
            _ => None,
        }
    }
}

/// Reads the host's stdin without buffering, so that `poll_oneoff` on fd 0 sees exactly what the guest
/// has not read yet.
fn read_host_stdin(buf: &mut [u8]) -> WasiResult<usize> {
    loop {
        // SAFETY: `buf` is a valid, exclusively borrowed byte buffer of `buf.len()` bytes, and fd 0
        // is only read here.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error.into());
        }
    }
}

/// What a guest file descriptor refers to.
pub(crate) enum Descriptor {
    Stream(Stream),
    File(OpenFile),
    Dir(OpenDir),
    Listener(TcpListener),
    Socket(TcpStream),
}

impl Descriptor {
    /// Every right the descriptor can use: a directory cannot be read or seeked like a file, a file
    /// opened write-only cannot be read, and nothing beneath a read-only preopen can be changed.
    pub fn rights(&self) -> Rights {
        let base = match self {
            Descriptor::Stream(stream) => {
                let (read, write) = stream.access();
                let mut base = rights::FD_FILESTAT_GET
                    | rights::FD_FDSTAT_SET_FLAGS
                    | rights::POLL_FD_READWRITE;
                if read {
                    base |= rights::FD_READ;
                }
                if write {
                    base |= rights::FD_WRITE;
                }
                base
            }
            Descriptor::File(open) => {
                let mut base = rights::FILE_ANY;
                if open.read {
                    base |= rights::FD_READ;
                }
                if open.write {
                    base |= rights::FILE_WRITE;
                }
                if open.mutable {
                    base |= rights::FD_FILESTAT_SET_TIMES;
                }
                base
            }
            Descriptor::Dir(open) => {
                return if open.writable {
                    Rights {
                        base: rights::DIR_READ | rights::DIR_WRITE,
                        inheriting: rights::INHERIT_READ | rights::INHERIT_WRITE,
                    }
                } else {
                    Rights {
                        base: rights::DIR_READ,
                        inheriting: rights::INHERIT_READ,
                    }
                };
            }
            Descriptor::Listener(_) => {
                rights::SOCK_ACCEPT | rights::FD_FDSTAT_SET_FLAGS | rights::POLL_FD_READWRITE
            }
            Descriptor::Socket(_) => rights::SOCKET,
        };
        Rights {
            base,
            inheriting: 0,
        }
    }

    /// The host descriptor backing this one, for `poll`.
    pub fn raw_fd(&self) -> Option<i32> {
        match self {
            Descriptor::Listener(l) => Some(l.as_raw_fd()),
            Descriptor::Socket(s) => Some(s.as_raw_fd()),
            Descriptor::Stream(s) => s.poll_fd(),
            Descriptor::File(_) | Descriptor::Dir(_) => None,
        }
    }
}

impl WasiState {
    pub(crate) fn entry(&mut self, fd: u32) -> WasiResult<&mut Entry> {
        self.fds.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn descriptor(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        Ok(&mut self.entry(fd)?.descriptor)
    }

    /// The descriptor at `fd`, if any, for lookups that report their own errno.
    pub(crate) fn get(&self, fd: u32) -> Option<&Descriptor> {
        self.fds.get(&fd).map(|entry| &entry.descriptor)
    }

    /// Fails with `ENOTCAPABLE` if the guest gave up any of `needed` on `fd`. A missing descriptor and
    /// rights the descriptor never had are left to the syscall, which knows the precise errno and
    /// its order (`EFAULT` for bad pointers, `EBADF` for writing a read-only file, ...).
    pub(crate) fn require(&self, fd: u32, needed: u64) -> WasiResult {
        if self
            .fds
            .get(&fd)
            .is_some_and(|entry| entry.dropped.base & needed != 0)
        {
            Err(Errno::Notcapable)
        } else {
            Ok(())
        }
    }

    pub(crate) fn dir(&self, fd: u32) -> WasiResult<&OpenDir> {
        match self.get(fd) {
            Some(Descriptor::Dir(dir)) => Ok(dir),
            Some(_) => Err(Errno::Notdir),
            None => Err(Errno::Badf),
        }
    }

    /// A directory the guest may change.
    pub(crate) fn writable_dir(&self, fd: u32) -> WasiResult<&OpenDir> {
        let dir = self.dir(fd)?;
        if dir.writable {
            Ok(dir)
        } else {
            Err(Errno::READ_ONLY)
        }
    }

    pub(crate) fn file(&mut self, fd: u32) -> WasiResult<&mut OpenFile> {
        match self.fds.get_mut(&fd).map(|entry| &mut entry.descriptor) {
            Some(Descriptor::File(file)) => Ok(file),
            Some(Descriptor::Dir(_)) => Err(Errno::Isdir),
            Some(Descriptor::Stream(_) | Descriptor::Socket(_) | Descriptor::Listener(_)) => {
                Err(Errno::Spipe)
            }
            None => Err(Errno::Badf),
        }
    }

    /// Inserts `descriptor`, with all its rights, at the lowest free number.
    pub(crate) fn insert(&mut self, descriptor: Descriptor) -> WasiResult<u32> {
        self.insert_entry(Entry {
            descriptor,
            dropped: Rights::default(),
        })
    }

    /// Inserts `entry` at the lowest free number.
    pub(crate) fn insert_entry(&mut self, entry: Entry) -> WasiResult<u32> {
        let mut number = 0u32;
        for &used in self.fds.keys() {
            if used != number {
                break;
            }
            number = number.checked_add(1).ok_or(Errno::Mfile)?;
        }
        self.fds.insert(number, entry);
        Ok(number)
    }
}
