//! WASI error numbers ([`Errno`]) and their mapping from host I/O errors.
//!
//! Every preview1 function returns one of these as its `i32` result; `0` is success. The numbering is
//! the one fixed by the `wasi_snapshot_preview1` witx definitions, which differs from Linux's. Used by
//! every syscall module; depends on nothing else in the crate.

use std::io;

macro_rules! errnos {
    ($($name:ident = $code:literal, $doc:literal;)*) => {
        /// A WASI preview1 error number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Errno {
            $(#[doc = $doc] $name = $code,)*
        }

        impl Errno {
            /// The symbolic name, as in the WASI specification (`"NOENT"`, `"ROFS"`, …).
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }
        }
    };
}

errnos! {
    TooBig = 1, "Argument list too long.";
    Acces = 2, "Permission denied.";
    Addrinuse = 3, "Address in use.";
    Addrnotavail = 4, "Address not available.";
    Again = 6, "Resource unavailable, or operation would block.";
    Already = 7, "Connection already in progress.";
    Badf = 8, "Bad file descriptor.";
    Busy = 10, "Device or resource busy.";
    Connaborted = 13, "Connection aborted.";
    Connrefused = 14, "Connection refused.";
    Connreset = 15, "Connection reset.";
    Exist = 20, "File exists.";
    Fault = 21, "Bad address (a guest pointer or length outside linear memory).";
    Fbig = 22, "File too large.";
    Intr = 27, "Interrupted function.";
    Inval = 28, "Invalid argument.";
    Io = 29, "I/O error.";
    Isdir = 31, "Is a directory.";
    Loop = 32, "Too many levels of symbolic links.";
    Mfile = 33, "File descriptor value too large.";
    Mlink = 34, "Too many links.";
    Nametoolong = 37, "Filename too long.";
    Nfile = 41, "Too many files open in system.";
    Nobufs = 42, "No buffer space available.";
    Nodev = 43, "No such device.";
    Noent = 44, "No such file or directory.";
    Nomem = 48, "Not enough space.";
    Nospc = 51, "No space left on device.";
    Nosys = 52, "Function not supported.";
    Notconn = 53, "The socket is not connected.";
    Notdir = 54, "Not a directory or a symbolic link to a directory.";
    Notempty = 55, "Directory not empty.";
    Notsock = 57, "Not a socket.";
    Notsup = 58, "Not supported.";
    Notty = 59, "Inappropriate I/O control operation.";
    Nxio = 60, "No such device or address.";
    Overflow = 61, "Value too large to be stored in data type.";
    Perm = 63, "Operation not permitted.";
    Pipe = 64, "Broken pipe.";
    Range = 68, "Result too large.";
    Rofs = 69, "Read-only file system.";
    Spipe = 70, "Invalid seek.";
    Timedout = 73, "Connection timed out.";
    Txtbsy = 74, "Text file busy.";
    Xdev = 75, "Cross-device link.";
    Notcapable = 76, "Capabilities insufficient (the path would leave the preopened directory).";
}

impl Errno {
    /// The numeric code a guest sees.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The WASI error number for a Linux/POSIX `errno` value, if there is one.
    fn from_raw_os_error(code: i32) -> Option<Errno> {
        Some(match code {
            libc::E2BIG => Errno::TooBig,
            libc::EACCES => Errno::Acces,
            libc::EADDRINUSE => Errno::Addrinuse,
            libc::EADDRNOTAVAIL => Errno::Addrnotavail,
            libc::EAGAIN => Errno::Again,
            libc::EALREADY => Errno::Already,
            libc::EBADF => Errno::Badf,
            libc::EBUSY => Errno::Busy,
            libc::ECONNABORTED => Errno::Connaborted,
            libc::ECONNREFUSED => Errno::Connrefused,
            libc::ECONNRESET => Errno::Connreset,
            libc::EEXIST => Errno::Exist,
            libc::EFAULT => Errno::Fault,
            libc::EFBIG => Errno::Fbig,
            libc::EINTR => Errno::Intr,
            libc::EINVAL => Errno::Inval,
            libc::EIO => Errno::Io,
            libc::EISDIR => Errno::Isdir,
            libc::ELOOP => Errno::Loop,
            libc::EMFILE => Errno::Mfile,
            libc::EMLINK => Errno::Mlink,
            libc::ENAMETOOLONG => Errno::Nametoolong,
            libc::ENFILE => Errno::Nfile,
            libc::ENOBUFS => Errno::Nobufs,
            libc::ENODEV => Errno::Nodev,
            libc::ENOENT => Errno::Noent,
            libc::ENOMEM => Errno::Nomem,
            libc::ENOSPC => Errno::Nospc,
            libc::ENOSYS => Errno::Nosys,
            libc::ENOTCONN => Errno::Notconn,
            libc::ENOTDIR => Errno::Notdir,
            libc::ENOTEMPTY => Errno::Notempty,
            libc::ENOTSOCK => Errno::Notsock,
            libc::EOPNOTSUPP => Errno::Notsup,
            libc::ENOTTY => Errno::Notty,
            libc::ENXIO => Errno::Nxio,
            libc::EOVERFLOW => Errno::Overflow,
            libc::EPERM => Errno::Perm,
            libc::EPIPE => Errno::Pipe,
            libc::ERANGE => Errno::Range,
            libc::EROFS => Errno::Rofs,
            libc::ESPIPE => Errno::Spipe,
            libc::ETIMEDOUT => Errno::Timedout,
            libc::ETXTBSY => Errno::Txtbsy,
            libc::EXDEV => Errno::Xdev,
            _ => return None,
        })
    }
}

impl Errno {
    /// What an access to a path outside every preopen gets. Wasmtime answers `EPERM`, and ward does
    /// the same so that programs behave identically under both (`ENOTCAPABLE` would be more specific).
    pub const ESCAPE: Errno = Errno::Perm;

    /// What a mutation through a read-only preopen gets: `EPERM`, as with Wasmtime.
    pub const READ_ONLY: Errno = Errno::Perm;
}

impl From<io::Error> for Errno {
    fn from(error: io::Error) -> Errno {
        if let Some(errno) = error.raw_os_error().and_then(Errno::from_raw_os_error) {
            return errno;
        }
        match error.kind() {
            io::ErrorKind::NotFound => Errno::Noent,
            // cap-std reports a path that would leave its directory as PermissionDenied without an OS
            // error code.
            io::ErrorKind::PermissionDenied => Errno::ESCAPE,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => Errno::Inval,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::Unsupported => Errno::Notsup,
            io::ErrorKind::OutOfMemory => Errno::Nomem,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::NotADirectory => Errno::Notdir,
            io::ErrorKind::IsADirectory => Errno::Isdir,
            io::ErrorKind::DirectoryNotEmpty => Errno::Notempty,
            io::ErrorKind::ReadOnlyFilesystem => Errno::Rofs,
            _ => Errno::Io,
        }
    }
}

/// The result of a WASI function before it is turned into an `i32` for the guest.
pub type WasiResult<T = ()> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_map_to_wasi_numbers_not_linux_ones() {
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(libc::ENOENT)).code(),
            44
        );
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(libc::EROFS)).code(),
            69
        );
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(libc::EXDEV)).code(),
            75
        );
    }

    #[test]
    fn sandbox_escape_without_os_code_is_notcapable() {
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, "outside");
        assert_eq!(Errno::from(escape), Errno::Perm);
    }
}
