//! The descriptor table: what a guest file descriptor refers to ([`Descriptor`]) and lookups on
//! [`WasiCtx`] that turn a missing or wrong-kind descriptor into the right errno.
//!
//! A directory remembers whether it is writable; files opened beneath a read-only directory remember
//! that too, so every mutation can be refused with `EPERM` however the guest reaches the file.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use cap_std::fs::{Dir, File};

use crate::ctx::{OutputBuffer, Stdio, WasiCtx};
use crate::errno::{Errno, WasiResult};

/// An open regular file (or other non-directory node) beneath a preopen.
pub(crate) struct OpenFile {
    pub file: File,
    pub read: bool,
    pub write: bool,
    /// False when the file was reached through a read-only preopen.
    pub mutable: bool,
}

/// An open directory; `preopen` is the guest-visible name of a preopened one.
pub(crate) struct OpenDir {
    pub dir: Dir,
    pub writable: bool,
    pub preopen: Option<String>,
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

impl WasiCtx {
    pub(crate) fn descriptor(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        self.fds.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn dir(&self, fd: u32) -> WasiResult<&OpenDir> {
        match self.fds.get(&fd) {
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
        match self.fds.get_mut(&fd) {
            Some(Descriptor::File(file)) => Ok(file),
            Some(Descriptor::Dir(_)) => Err(Errno::Isdir),
            Some(Descriptor::Stream(_) | Descriptor::Socket(_) | Descriptor::Listener(_)) => {
                Err(Errno::Spipe)
            }
            None => Err(Errno::Badf),
        }
    }

    /// Inserts `descriptor` at the lowest free number.
    pub(crate) fn insert(&mut self, descriptor: Descriptor) -> WasiResult<u32> {
        let mut number = 0u32;
        for &used in self.fds.keys() {
            if used != number {
                break;
            }
            number = number.checked_add(1).ok_or(Errno::Mfile)?;
        }
        self.fds.insert(number, descriptor);
        Ok(number)
    }
}
