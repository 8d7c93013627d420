//! Preview1 behaviour that must match Wasmtime's, checked at the ABI boundary with WAT guests: opening
//! with unusual flag combinations, the rights and file types `fd_fdstat_get` reports, narrowing rights,
//! and modules importing the older `wasi_unstable` (preview0).
//!
//! Each guest is built call by call with [`Guest`]; every call's errno lands in a results array that
//! the test reads back with the guest's memory.

use std::ffi::CStr;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};

use ward::{Engine, Linker, Module, Store};
use ward_wasi::{DirPerms, Errno, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

const FD_READ: u64 = 1 << 1;
const FD_SEEK: u64 = 1 << 2;
const FD_TELL: u64 = 1 << 5;
const FD_WRITE: u64 = 1 << 6;
const PATH_CREATE_FILE: u64 = 1 << 10;
const FD_READDIR: u64 = 1 << 14;

const O_CREAT: u32 = 1;
const O_DIRECTORY: u32 = 2;
const O_TRUNC: u32 = 8;

const FDFLAG_APPEND: u16 = 1;
const FDFLAG_DSYNC: u16 = 2;
const FDFLAG_RSYNC: u16 = 8;
const FDFLAG_SYNC: u16 = 16;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;

/// Where the guests keep things in their one page of memory.
mod at {
    /// A `fdstat` or `filestat` result (64 bytes).
    pub const STAT: u32 = 0;
    /// A second stat result.
    pub const STAT2: u32 = 64;
    /// Descriptors returned by `path_open`, one `u32` each.
    pub const FD: u32 = 128;
    /// Scratch results (`nwritten`, new offsets).
    pub const SCRATCH: u32 = 192;
    /// One iovec.
    pub const IOVEC: u32 = 256;
    /// One subscription and one event for `poll_oneoff`.
    pub const SUBSCRIPTION: u32 = 512;
    pub const EVENT: u32 = 640;
    /// The errno of each checked call.
    pub const ERRNOS: u32 = 4096;
    /// Strings.
    pub const DATA: u32 = 8192;
}

/// A WAT guest assembled call by call.
struct Guest {
    module: &'static str,
    data: String,
    body: String,
    calls: u32,
    next_data: u32,
}

/// What a guest left behind.
struct Outcome {
    errnos: Vec<i32>,
    memory: Vec<u8>,
}

impl Outcome {
    fn u16_at(&self, at: u32) -> u16 {
        u16::from_le_bytes(
            self.memory[at as usize..at as usize + 2]
                .try_into()
                .unwrap(),
        )
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(
            self.memory[at as usize..at as usize + 4]
                .try_into()
                .unwrap(),
        )
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(
            self.memory[at as usize..at as usize + 8]
                .try_into()
                .unwrap(),
        )
    }

    /// `fs_filetype` of a `fdstat` at `at`.
    fn filetype(&self, at: u32) -> u8 {
        self.memory[at as usize]
    }

    fn fdstat_flags(&self, at: u32) -> u16 {
        self.u16_at(at + 2)
    }

    fn rights_base(&self, at: u32) -> u64 {
        self.u64_at(at + 8)
    }

    fn rights_inheriting(&self, at: u32) -> u64 {
        self.u64_at(at + 16)
    }
}

fn errno(e: Errno) -> i32 {
    i32::from(e.code())
}

/// Every import the guests use, with its preview1 signature (identical in preview0).
const IMPORTS: &[(&str, &str)] = &[
    ("fd_write", "(param i32 i32 i32 i32) (result i32)"),
    ("fd_read", "(param i32 i32 i32 i32) (result i32)"),
    ("fd_seek", "(param i32 i64 i32 i32) (result i32)"),
    ("fd_fdstat_get", "(param i32 i32) (result i32)"),
    ("fd_fdstat_set_rights", "(param i32 i64 i64) (result i32)"),
    ("fd_filestat_get", "(param i32 i32) (result i32)"),
    (
        "path_open",
        "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
    ),
    (
        "path_link",
        "(param i32 i32 i32 i32 i32 i32 i32) (result i32)",
    ),
    (
        "path_filestat_get",
        "(param i32 i32 i32 i32 i32) (result i32)",
    ),
    ("poll_oneoff", "(param i32 i32 i32 i32) (result i32)"),
];

impl Guest {
    fn new() -> Self {
        Self::importing("wasi_snapshot_preview1")
    }

    fn importing(module: &'static str) -> Self {
        Guest {
            module,
            data: String::new(),
            body: String::new(),
            calls: 0,
            next_data: at::DATA,
        }
    }

    /// Places `text` in memory; returns its pointer and length as WAT operands.
    fn string(&mut self, text: &str) -> String {
        let ptr = self.next_data;
        self.data
            .push_str(&format!("(data (i32.const {ptr}) \"{text}\")\n"));
        self.next_data += text.len() as u32 + 1;
        format!("(i32.const {ptr}) (i32.const {})", text.len())
    }

    /// Appends a WASI call (WAT returning an errno); returns the index of its errno in the results.
    fn call(&mut self, wat: &str) -> usize {
        let slot = at::ERRNOS + 4 * self.calls;
        self.body
            .push_str(&format!("(i32.store (i32.const {slot}) {wat})\n"));
        self.calls += 1;
        self.calls as usize - 1
    }

    /// Appends an instruction whose result is not checked.
    fn raw(&mut self, wat: &str) {
        self.body.push_str(wat);
        self.body.push('\n');
    }

    /// `path_open(dir, lookup, path, oflags, base, 0, fdflags) -> fd@FD+4*slot`.
    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        dir: &str,
        lookup: u32,
        path: &str,
        oflags: u32,
        base: u64,
        fdflags: u16,
        slot: u32,
    ) -> usize {
        let path = self.string(path);
        let out = at::FD + 4 * slot;
        self.call(&format!(
            "(call $path_open {dir} (i32.const {lookup}) {path} (i32.const {oflags}) \
             (i64.const {base}) (i64.const 0) (i32.const {fdflags}) (i32.const {out}))"
        ))
    }

    /// `fd_write(fd, text)`.
    fn write(&mut self, fd: &str, text: &str) -> usize {
        let ptr = self.next_data;
        let _ = self.string(text);
        self.raw(&format!(
            "(i32.store (i32.const {iov}) (i32.const {ptr})) \
             (i32.store (i32.const {len_at}) (i32.const {len}))",
            iov = at::IOVEC,
            len_at = at::IOVEC + 4,
            len = text.len()
        ));
        self.call(&format!(
            "(call $fd_write {fd} (i32.const {}) (i32.const 1) (i32.const {}))",
            at::IOVEC,
            at::SCRATCH
        ))
    }

    /// `fd_seek(fd, offset, whence) -> SCRATCH`.
    fn seek(&mut self, fd: &str, offset: i64, whence: u32) -> usize {
        self.call(&format!(
            "(call $fd_seek {fd} (i64.const {offset}) (i32.const {whence}) (i32.const {}))",
            at::SCRATCH
        ))
    }

    fn fdstat(&mut self, fd: &str, out: u32) -> usize {
        self.call(&format!("(call $fd_fdstat_get {fd} (i32.const {out}))"))
    }

    fn run(self, ctx: WasiCtx) -> Outcome {
        let imports: String = IMPORTS
            .iter()
            .map(|(name, sig)| {
                format!(
                    "(import \"{}\" \"{name}\" (func ${name} {sig}))\n",
                    self.module
                )
            })
            .collect();
        let wat = format!(
            "(module {imports} (memory (export \"memory\") 1) {} (func (export \"run\") {}))",
            self.data, self.body
        );
        let engine = Engine::default();
        let module = Module::new(&engine, &wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let mut linker: Linker<WasiCtx> = Linker::new(&engine);
        ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        instance
            .get_typed_func::<(), ()>(&store, "run")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        let memory = memory.data(&store).to_vec();
        let errnos = (0..self.calls)
            .map(|i| {
                let at = (at::ERRNOS + 4 * i) as usize;
                i32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
            })
            .collect();
        Outcome { errnos, memory }
    }
}

/// The descriptor `path_open` stored in slot `slot`, as a WAT operand.
fn opened(slot: u32) -> String {
    format!("(i32.load (i32.const {}))", at::FD + 4 * slot)
}

const PREOPEN: &str = "(i32.const 3)";

fn preopen(dir: &std::path::Path, perms: DirPerms) -> WasiCtx {
    WasiCtxBuilder::new()
        .preopened_dir(dir, "/sandbox", perms)
        .unwrap()
        .build()
}

#[test]
fn open_with_create_truncate_and_append_truncates_then_appends() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("log"), "old content").unwrap();
    let mut guest = Guest::new();
    let rights = FD_WRITE | FD_SEEK | FD_TELL;
    guest.open(
        PREOPEN,
        0,
        "log",
        O_CREAT | O_TRUNC,
        rights,
        FDFLAG_APPEND,
        0,
    );
    guest.write(&opened(0), "ab");
    // Seeking back does not matter to an appending descriptor: the next write still goes to the end.
    guest.seek(&opened(0), 0, 0);
    guest.write(&opened(0), "cd");
    guest.fdstat(&opened(0), at::STAT);
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    assert_eq!(out.errnos, [0, 0, 0, 0, 0]);
    assert_eq!(fs::read_to_string(dir.path().join("log")).unwrap(), "abcd");
    assert_eq!(out.fdstat_flags(at::STAT) & FDFLAG_APPEND, FDFLAG_APPEND);
}

#[test]
fn opening_a_directory_with_write_rights_is_eisdir() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    let mut guest = Guest::new();
    guest.open(PREOPEN, 0, "sub", O_DIRECTORY, FD_READ | FD_WRITE, 0, 0);
    guest.open(PREOPEN, 0, "sub", 0, FD_WRITE, 0, 1);
    guest.open(PREOPEN, 0, "sub", O_DIRECTORY, FD_READDIR, 0, 2);
    guest.fdstat(&opened(2), at::STAT);
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    let eisdir = errno(Errno::Isdir);
    assert_eq!(out.errnos, [eisdir, eisdir, 0, 0]);
    assert_eq!(out.filetype(at::STAT), FILETYPE_DIRECTORY);

    // Beneath a read-only preopen any write access is refused first, as Wasmtime does.
    let mut guest = Guest::new();
    guest.open(PREOPEN, 0, "sub", O_DIRECTORY, FD_WRITE, 0, 0);
    let out = guest.run(preopen(dir.path(), DirPerms::ReadOnly));
    assert_eq!(out.errnos, [errno(Errno::Perm)]);
}

#[test]
fn fdstat_reports_the_access_mode_a_file_was_opened_with() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "data").unwrap();
    let mut guest = Guest::new();
    guest.open(PREOPEN, 0, "f", 0, FD_WRITE, 0, 0);
    guest.fdstat(&opened(0), at::STAT);
    guest.open(PREOPEN, 0, "f", 0, FD_READ, 0, 1);
    guest.fdstat(&opened(1), at::STAT2);
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    assert_eq!(out.errnos, [0, 0, 0, 0]);
    let write_only = out.rights_base(at::STAT);
    assert_eq!(
        write_only & FD_READ,
        0,
        "write-only file advertises FD_READ"
    );
    assert_eq!(write_only & FD_WRITE, FD_WRITE);
    let read_only = out.rights_base(at::STAT2);
    assert_eq!(
        read_only & FD_WRITE,
        0,
        "read-only file advertises FD_WRITE"
    );
    assert_eq!(read_only & FD_READ, FD_READ);
    assert_eq!(out.filetype(at::STAT), FILETYPE_REGULAR_FILE);
}

#[test]
fn directories_advertise_no_file_io_and_read_only_ones_no_write_inheritance() {
    let dir = tempfile::tempdir().unwrap();
    for (perms, writable) in [(DirPerms::ReadWrite, true), (DirPerms::ReadOnly, false)] {
        let mut guest = Guest::new();
        guest.fdstat(PREOPEN, at::STAT);
        let out = guest.run(preopen(dir.path(), perms));
        assert_eq!(out.errnos, [0]);
        assert_eq!(
            out.rights_base(at::STAT) & (FD_READ | FD_WRITE | FD_SEEK),
            0
        );
        assert_ne!(out.rights_base(at::STAT) & FD_READDIR, 0);
        let inheriting = out.rights_inheriting(at::STAT);
        assert_ne!(inheriting & FD_READ, 0, "{perms:?}");
        let write = FD_WRITE | PATH_CREATE_FILE;
        let expected = if writable { write } else { 0 };
        assert_eq!(inheriting & write, expected, "{perms:?}");
    }
}

#[test]
fn sync_fdflags_on_open_are_enotsup_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut guest = Guest::new();
    for (slot, flag) in [FDFLAG_SYNC, FDFLAG_DSYNC, FDFLAG_RSYNC]
        .into_iter()
        .enumerate()
    {
        guest.open(PREOPEN, 0, "new", O_CREAT, FD_WRITE, flag, slot as u32);
    }
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    assert_eq!(out.errnos, [errno(Errno::Notsup); 3]);
    assert!(!dir.path().join("new").exists());
}

#[test]
fn path_link_following_symlinks_is_einval() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("target"), "data").unwrap();
    let mut guest = Guest::new();
    for (lookup, new) in [(LOOKUP_SYMLINK_FOLLOW, "followed"), (0, "plain")] {
        let old = guest.string("target");
        let new = guest.string(new);
        guest.call(&format!(
            "(call $path_link {PREOPEN} (i32.const {lookup}) {old} {PREOPEN} {new})"
        ));
    }
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    assert_eq!(out.errnos, [errno(Errno::Inval), 0]);
    assert!(!dir.path().join("followed").exists());
    assert_eq!(
        fs::read_to_string(dir.path().join("plain")).unwrap(),
        "data"
    );
}

/// `fd_fdstat_set_rights(fd, base of the fdstat at STAT without remove_base, inheriting without
/// remove_inheriting)`.
fn narrow(fd: &str, remove_base: u64, remove_inheriting: u64) -> String {
    format!(
        "(call $fd_fdstat_set_rights {fd} \
           (i64.and (i64.load (i32.const {base})) (i64.const {keep_base})) \
           (i64.and (i64.load (i32.const {inheriting})) (i64.const {keep_inheriting})))",
        base = at::STAT + 8,
        inheriting = at::STAT + 16,
        keep_base = !remove_base as i64,
        keep_inheriting = !remove_inheriting as i64,
    )
}

#[test]
fn set_rights_removes_rights_and_never_adds_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "data").unwrap();
    let mut guest = Guest::new();
    let f = opened(0);
    guest.open(PREOPEN, 0, "f", 0, FD_READ | FD_WRITE, 0, 0);
    guest.fdstat(&f, at::STAT);
    guest.call(&narrow(&f, FD_WRITE, 0));
    let write = guest.write(&f, "x");
    guest.fdstat(&f, at::STAT2);
    // Asking for FD_WRITE back (the rights read before narrowing) is refused.
    let add_back = guest.call(&narrow(&f, 0, 0));
    let read = guest.call(&format!(
        "(call $fd_read {f} (i32.const {}) (i32.const 1) (i32.const {}))",
        at::IOVEC,
        at::SCRATCH
    ));
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    assert_eq!(out.errnos[..3], [0, 0, 0]);
    assert_eq!(out.errnos[write], errno(Errno::Notcapable));
    assert_eq!(
        out.rights_base(at::STAT2),
        out.rights_base(at::STAT) & !FD_WRITE
    );
    assert_eq!(out.errnos[add_back], errno(Errno::Notcapable));
    assert_eq!(out.errnos[read], 0, "FD_READ was kept");
    assert_eq!(fs::read_to_string(dir.path().join("f")).unwrap(), "data");
}

#[test]
fn rights_a_directory_gave_up_are_missing_from_what_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "data").unwrap();
    let mut guest = Guest::new();
    guest.fdstat(PREOPEN, at::STAT);
    guest.call(&narrow(PREOPEN, PATH_CREATE_FILE, FD_SEEK));
    let create = guest.open(PREOPEN, 0, "new", O_CREAT, FD_READ, 0, 0);
    let ask_seek = guest.open(PREOPEN, 0, "f", 0, FD_READ | FD_SEEK, 0, 1);
    let open = guest.open(PREOPEN, 0, "f", 0, FD_READ, 0, 2);
    guest.fdstat(&opened(2), at::STAT2);
    let seek = guest.seek(&opened(2), 1, 0);
    let out = guest.run(preopen(dir.path(), DirPerms::ReadWrite));
    let notcapable = errno(Errno::Notcapable);
    assert_eq!(out.errnos[create], notcapable);
    assert!(!dir.path().join("new").exists());
    assert_eq!(out.errnos[ask_seek], notcapable);
    assert_eq!(out.errnos[open], 0);
    assert_eq!(out.rights_base(at::STAT2) & FD_SEEK, 0);
    assert_eq!(out.rights_base(at::STAT2) & FD_READ, FD_READ);
    assert_eq!(out.errnos[seek], notcapable);
}

/// The `fdstat` and `filestat` file types of fd 1 with `stdout` as the guest's stdout.
fn stdout_filetypes(stdout: Stdio) -> (u8, u8, u64) {
    let mut guest = Guest::new();
    guest.fdstat("(i32.const 1)", at::STAT);
    guest.call(&format!(
        "(call $fd_filestat_get (i32.const 1) (i32.const {}))",
        at::STAT2
    ));
    let out = guest.run(WasiCtxBuilder::new().stdout(stdout).build());
    assert_eq!(out.errnos, [0, 0]);
    (
        out.filetype(at::STAT),
        out.memory[at::STAT2 as usize + 16],
        out.rights_base(at::STAT),
    )
}

#[test]
fn stdio_that_is_not_a_terminal_is_not_a_character_device() {
    let dir = tempfile::tempdir().unwrap();
    let file = fs::File::create(dir.path().join("out")).unwrap();
    let (fdstat, filestat, rights) = stdout_filetypes(Stdio::File(file));
    assert_eq!(
        (fdstat, filestat),
        (FILETYPE_REGULAR_FILE, FILETYPE_REGULAR_FILE)
    );
    assert_eq!(rights & (FD_WRITE | FD_READ), FD_WRITE, "opened write-only");

    let (_reader, writer) = std::io::pipe().unwrap();
    let pipe = fs::File::from(OwnedFd::from(writer));
    let (fdstat, filestat, _) = stdout_filetypes(Stdio::File(pipe));
    assert_eq!((fdstat, filestat), (FILETYPE_UNKNOWN, FILETYPE_UNKNOWN));

    // /dev/null is a character device on the host, but not a terminal: isatty() must be false.
    let null = fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let (fdstat, _, _) = stdout_filetypes(Stdio::File(null));
    assert_eq!(fdstat, FILETYPE_UNKNOWN);

    for stdio in [Stdio::Null, Stdio::Buffer(OutputBuffer::new())] {
        let (fdstat, filestat, _) = stdout_filetypes(stdio);
        assert_ne!(fdstat, FILETYPE_CHARACTER_DEVICE);
        assert_ne!(filestat, FILETYPE_CHARACTER_DEVICE);
    }
}

/// A new pseudo-terminal: its primary side (keep it open) and its secondary side, which is what a
/// program's stdout is when it runs in a terminal.
fn pseudo_terminal() -> (fs::File, fs::File) {
    let primary = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/ptmx")
        .expect("pseudo-terminals are available");
    // SAFETY: `primary` is an open pty primary descriptor for the duration of the call.
    assert_eq!(unsafe { libc::unlockpt(primary.as_raw_fd()) }, 0);
    let mut name = [0 as libc::c_char; 64];
    // SAFETY: `name` is a writable buffer of `name.len()` bytes; ptsname_r NUL-terminates it on success.
    let rc = unsafe { libc::ptsname_r(primary.as_raw_fd(), name.as_mut_ptr(), name.len()) };
    assert_eq!(rc, 0);
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_str().unwrap();
    let secondary = fs::OpenOptions::new().write(true).open(name).unwrap();
    (primary, secondary)
}

#[test]
fn a_terminal_is_a_character_device_without_seek_rights() {
    let (_primary, secondary) = pseudo_terminal();
    let (fdstat, filestat, rights) = stdout_filetypes(Stdio::File(secondary));
    assert_eq!(fdstat, FILETYPE_CHARACTER_DEVICE);
    assert_eq!(filestat, FILETYPE_CHARACTER_DEVICE);
    // With both, wasi-libc's isatty() is true.
    assert_eq!(rights & (FD_SEEK | FD_TELL), 0);
}

// ---- wasi_unstable (preview0) ----

#[test]
fn imports_wasi_recognises_preview0_modules() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "wasi_unstable" "proc_exit" (func (param i32))))"#,
    )
    .unwrap();
    assert!(ward_wasi::imports_wasi(&module));
}

#[test]
fn preview0_guest_writes_seeks_and_stats_with_preview0_layouts() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "0123456789").unwrap();
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .stdout(Stdio::Buffer(stdout.clone()))
        .preopened_dir(dir.path(), "/sandbox", DirPerms::ReadOnly)
        .unwrap()
        .build();
    let mut guest = Guest::importing("wasi_unstable");
    guest.write("(i32.const 1)", "hello");
    guest.open(PREOPEN, 0, "f", 0, FD_READ | FD_SEEK, 0, 0);
    let f = opened(0);
    // Preview0 whence: CUR = 0, END = 1, SET = 2.
    let seek_set = guest.seek(&f, 3, 2);
    guest.raw(&format!(
        "(i64.store (i32.const {}) (i64.load (i32.const {})))",
        at::SCRATCH + 8,
        at::SCRATCH
    ));
    let seek_end = guest.seek(&f, -1, 1);
    // Fill the stat buffer so that bytes preview0's smaller filestat does not cover stay visible.
    guest.raw(&format!(
        "(memory.fill (i32.const {}) (i32.const 0xAA) (i32.const 128))",
        at::STAT
    ));
    let filestat = guest.call(&format!(
        "(call $fd_filestat_get {f} (i32.const {}))",
        at::STAT
    ));
    let path = guest.string("f");
    let path_filestat = guest.call(&format!(
        "(call $path_filestat_get {PREOPEN} (i32.const 0) {path} (i32.const {}))",
        at::STAT2
    ));
    let out = guest.run(ctx);
    assert_eq!(stdout.contents(), b"hello");
    assert_eq!(out.errnos, [0, 0, 0, 0, 0, 0]);
    assert_eq!(out.errnos[seek_set], 0);
    assert_eq!(out.u64_at(at::SCRATCH + 8), 3, "SET");
    assert_eq!(out.errnos[seek_end], 0);
    assert_eq!(out.u64_at(at::SCRATCH), 9, "END - 1");
    assert_eq!(out.errnos[filestat], 0);
    assert_eq!(out.errnos[path_filestat], 0);
    // filestat: dev u64, ino u64, filetype u8 @16, nlink u32 @20, size u64 @24, atim, mtim, ctim
    // u64 @32..56.
    for stat in [at::STAT, at::STAT2] {
        assert_eq!(out.memory[stat as usize + 16], FILETYPE_REGULAR_FILE);
        assert_eq!(out.u32_at(stat + 20), 1, "nlink");
        assert_eq!(out.u64_at(stat + 24), 10, "size");
        assert_ne!(out.u64_at(stat + 40), 0, "mtim");
    }
    assert_eq!(
        out.memory[at::STAT as usize + 56],
        0xAA,
        "wrote past 56 bytes"
    );
}

#[test]
fn preview0_poll_oneoff_reads_the_clock_subscription_layout() {
    let mut guest = Guest::importing("wasi_unstable");
    let sub = at::SUBSCRIPTION;
    // userdata @0, tag @8 (clock = 0), identifier @16, clock id @24 (monotonic), timeout @32,
    // precision @40, flags @48: a relative 1 ms timeout. Read as preview1, the identifier would be
    // an unknown clock.
    guest.raw(&format!(
        "(i64.store (i32.const {sub}) (i64.const 0x1234)) \
         (i32.store8 (i32.const {tag}) (i32.const 0)) \
         (i64.store (i32.const {identifier}) (i64.const 99)) \
         (i32.store (i32.const {id}) (i32.const 1)) \
         (i64.store (i32.const {timeout}) (i64.const 1000000)) \
         (i32.store16 (i32.const {flags}) (i32.const 0))",
        tag = sub + 8,
        identifier = sub + 16,
        id = sub + 24,
        timeout = sub + 32,
        flags = sub + 48,
    ));
    guest.call(&format!(
        "(call $poll_oneoff (i32.const {sub}) (i32.const {}) (i32.const 1) (i32.const {}))",
        at::EVENT,
        at::SCRATCH
    ));
    let started = std::time::Instant::now();
    let out = guest.run(WasiCtx::default());
    assert_eq!(out.errnos, [0]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1));
    assert_eq!(out.u32_at(at::SCRATCH), 1, "one event");
    assert_eq!(out.u64_at(at::EVENT), 0x1234, "userdata");
    assert_eq!(out.u16_at(at::EVENT + 8), 0, "error");
    assert_eq!(out.memory[at::EVENT as usize + 10], 0, "type: clock");
}
