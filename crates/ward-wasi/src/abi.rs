//! Constants and struct layouts of `wasi_snapshot_preview1` for wasm32 (little-endian, 32-bit
//! pointers): flags, rights, file types and the byte offsets the syscalls read and write.
//!
//! One place for every number taken from the witx definitions; the syscall modules use only these names.
//! The older `wasi_unstable` (preview0) shares almost all of them; [`Snapshot`] holds the few layouts
//! that differ (`whence`, `filestat`, clock subscriptions).

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The import module name of WASI preview0, which ward maps onto preview1.
pub const UNSTABLE_MODULE: &str = "wasi_unstable";

/// Which WASI snapshot a guest imported a function from. The functions are the same; a few struct
/// layouts and enum values are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Snapshot {
    /// `wasi_unstable`.
    Preview0,
    /// `wasi_snapshot_preview1`.
    Preview1,
}

/// Where a clock subscription's fields sit in a `subscription`, and the struct's size.
pub(crate) struct SubscriptionLayout {
    pub size: u32,
    pub clock_id: u32,
    pub timeout: u32,
    pub flags: u32,
}

impl Snapshot {
    /// The import module name.
    pub fn module(self) -> &'static str {
        match self {
            Snapshot::Preview0 => UNSTABLE_MODULE,
            Snapshot::Preview1 => MODULE,
        }
    }

    /// The `whence` of `fd_seek`, decoded: preview0 numbers them `CUR, END, SET`; preview1 `SET, CUR,
    /// END`.
    pub fn whence(self, raw: u8) -> Option<Whence> {
        match (self, raw) {
            (Snapshot::Preview1, 0) | (Snapshot::Preview0, 2) => Some(Whence::Set),
            (Snapshot::Preview1, 1) | (Snapshot::Preview0, 0) => Some(Whence::Cur),
            (Snapshot::Preview1, 2) | (Snapshot::Preview0, 1) => Some(Whence::End),
            _ => None,
        }
    }

    /// The size of a `filestat`: preview0's link count is a `u32`, so everything after it moves up.
    pub fn filestat_size(self) -> u32 {
        match self {
            Snapshot::Preview0 => 56,
            Snapshot::Preview1 => 64,
        }
    }

    /// Preview0's clock subscription starts with a `u64` identifier, pushing the rest down by 8.
    pub fn subscription(self) -> SubscriptionLayout {
        match self {
            Snapshot::Preview0 => SubscriptionLayout {
                size: 56,
                clock_id: 24,
                timeout: 32,
                flags: 48,
            },
            Snapshot::Preview1 => SubscriptionLayout {
                size: 48,
                clock_id: 16,
                timeout: 24,
                flags: 40,
            },
        }
    }
}

/// A decoded `whence` of `fd_seek`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Whence {
    Set,
    Cur,
    End,
}

/// The metadata `fd_filestat_get` and `path_filestat_get` report, before it is laid out for a
/// snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    /// The bytes of the `filestat` struct as `snapshot` lays it out.
    pub fn encode(&self, snapshot: Snapshot) -> Vec<u8> {
        let mut bytes = vec![0u8; snapshot.filestat_size() as usize];
        bytes[0..8].copy_from_slice(&self.dev.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ino.to_le_bytes());
        bytes[16] = self.filetype;
        let rest = match snapshot {
            Snapshot::Preview0 => {
                let nlink = u32::try_from(self.nlink).unwrap_or(u32::MAX);
                bytes[20..24].copy_from_slice(&nlink.to_le_bytes());
                24
            }
            Snapshot::Preview1 => {
                bytes[24..32].copy_from_slice(&self.nlink.to_le_bytes());
                32
            }
        };
        for (i, value) in [self.size, self.atim, self.mtim, self.ctim]
            .into_iter()
            .enumerate()
        {
            let at = rest + 8 * i;
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }
}

/// `filetype` values.
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags` bits.
pub mod fdflags {
    pub const APPEND: u16 = 1;
    pub const DSYNC: u16 = 2;
    pub const NONBLOCK: u16 = 4;
    pub const RSYNC: u16 = 8;
    pub const SYNC: u16 = 16;
}

/// `oflags` bits of `path_open`.
pub mod oflags {
    pub const CREAT: u16 = 1;
    pub const DIRECTORY: u16 = 2;
    pub const EXCL: u16 = 4;
    pub const TRUNC: u16 = 8;
}

/// `lookupflags`: follow a symlink in the last path component.
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `fstflags` bits of the `*_set_times` calls.
pub mod fstflags {
    pub const ATIM: u16 = 1;
    pub const ATIM_NOW: u16 = 2;
    pub const MTIM: u16 = 4;
    pub const MTIM_NOW: u16 = 8;
}

/// `clockid` values.
pub mod clock {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME: u32 = 2;
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `rights` bits (reported by `fd_fdstat_get`; requested by `path_open`).
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Rights of every open file, whatever its access mode.
    pub const FILE_ANY: u64 = FD_SEEK
        | FD_TELL
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE;
    /// Rights a file gains when opened for writing.
    pub const FILE_WRITE: u64 = FD_WRITE | FD_DATASYNC | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
    /// Rights of a directory for lookups that change nothing.
    pub const DIR_READ: u64 = FD_READDIR
        | PATH_OPEN
        | PATH_READLINK
        | PATH_FILESTAT_GET
        | FD_FILESTAT_GET
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC;
    /// Rights a directory gains when it is writable.
    pub const DIR_WRITE: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | FD_FILESTAT_SET_TIMES;
    /// Rights a preopen's children may have (its inheriting rights) beneath a read-only directory.
    pub const INHERIT_READ: u64 = DIR_READ | FILE_ANY | FD_READ;
    /// Rights children of a writable directory may have in addition.
    pub const INHERIT_WRITE: u64 = DIR_WRITE | FILE_WRITE;
    /// Rights of a connected socket.
    pub const SOCKET: u64 =
        FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | POLL_FD_READWRITE | SOCK_SHUTDOWN;
}

/// `eventtype` of subscriptions and events.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`: the timeout is an absolute time of the clock.
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
/// `eventrwflags`: the peer hung up.
pub const EVENT_FD_READWRITE_HANGUP: u16 = 1;

/// `riflags` of `sock_recv`.
pub const RECV_PEEK: u16 = 1;
/// `sdflags` of `sock_shutdown`.
pub mod sdflags {
    pub const RD: u8 = 1;
    pub const WR: u8 = 2;
}

/// Byte sizes of the structs passed through memory.
pub mod size {
    pub const IOVEC: u32 = 8;
    pub const DIRENT: u32 = 24;
    pub const EVENT: u32 = 32;
    pub const FDSTAT: u32 = 24;
}
