//! A small WASI preview1 host for the real-program benchmarks, the same for every engine.
//!
//! Only what the benchmark programs (CoreMark, QuickJS) call is implemented for real: arguments,
//! clocks, writes to stdout and stderr, `random_get` (deterministic) and `proc_exit`. There is no
//! file system: no directory is preopened, so every `path_*` call and every other descriptor answers
//! `EBADF`. Each engine links these functions through its untyped `func_new`, so all three pay the
//! same for a host call; the programs make few of them.
//!
//! The functions work on the guest memory as a byte slice and on a [`WasiState`]; the glue per engine
//! (in `programs.rs`) only converts arguments and finds the `memory` export.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// `errno` values of WASI preview1.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const NOSYS: i32 = 52;
    pub const SPIPE: i32 = 70;
}

/// The state of one program run: its arguments and what it wrote.
pub struct WasiState {
    args: Vec<Vec<u8>>,
    /// Bytes written to descriptor 1.
    pub stdout: Vec<u8>,
    /// Bytes written to descriptor 2.
    pub stderr: Vec<u8>,
    /// The status passed to `proc_exit`, once called.
    pub exit: Option<i32>,
    /// How many WASI calls the program made (counted by the engines' glue).
    pub calls: u64,
    started: Instant,
    random: u64,
}

impl WasiState {
    /// A run with `args` as its argv (the first is the program name).
    pub fn new(args: &[&str]) -> Self {
        WasiState {
            args: args
                .iter()
                .map(|a| {
                    let mut bytes = a.as_bytes().to_vec();
                    bytes.push(0);
                    bytes
                })
                .collect(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit: None,
            calls: 0,
            started: Instant::now(),
            random: 0x2545_f491_4f6c_dd1d,
        }
    }
}

/// The error a host function returns to stop the guest (`proc_exit`); the status is in
/// [`WasiState::exit`].
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}

impl std::error::Error for Exit {}

/// The type of a parameter of a WASI function.
#[derive(Clone, Copy)]
pub enum Param {
    /// `i32`
    I32,
    /// `i64`
    I64,
}

/// A WASI function: `(memory, state, arguments) -> errno`, or `Err` to stop the program.
pub type HostFn = fn(&mut [u8], &mut WasiState, &[i64]) -> Result<i32, Exit>;

/// One import of `wasi_snapshot_preview1`.
pub struct Import {
    /// The import's name.
    pub name: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// Whether it returns an `errno` (`i32`); only `proc_exit` returns nothing.
    pub returns: bool,
    /// The implementation.
    pub func: HostFn,
}

const I: Param = Param::I32;
const L: Param = Param::I64;

macro_rules! import {
    ($name:literal, [$($p:expr),*], $f:expr) => {
        Import { name: $name, params: &[$($p),*], returns: true, func: $f }
    };
}

/// Every function the shim defines (a module may import any subset).
pub const IMPORTS: &[Import] = &[
    import!("args_sizes_get", [I, I], args_sizes_get),
    import!("args_get", [I, I], args_get),
    import!("environ_sizes_get", [I, I], |m, _, a| {
        write_u32s(m, &[(a[0], 0), (a[1], 0)])
    }),
    import!("environ_get", [I, I], |_, _, _| Ok(errno::SUCCESS)),
    import!("clock_res_get", [I, I], |m, _, a| write_u64(m, a[1], 1_000)),
    import!("clock_time_get", [I, L, I], clock_time_get),
    import!("fd_write", [I, I, I, I], fd_write),
    import!("fd_read", [I, I, I, I], fd_read),
    import!("fd_close", [I], |_, _, a| Ok(stdio_or_badf(a[0]))),
    import!("fd_fdstat_get", [I, I], fd_fdstat_get),
    import!("fd_fdstat_set_flags", [I, I], |_, _, a| Ok(stdio_or_badf(
        a[0]
    ))),
    import!("fd_filestat_get", [I, I], fd_filestat_get),
    import!("fd_seek", [I, L, I, I], |_, _, a| {
        Ok(if is_stdio(a[0]) {
            errno::SPIPE
        } else {
            errno::BADF
        })
    }),
    import!("fd_prestat_get", [I, I], badf),
    import!("fd_prestat_dir_name", [I, I, I], badf),
    import!("fd_readdir", [I, I, I, L, I], badf),
    import!("fd_sync", [I], badf),
    import!("path_create_directory", [I, I, I], badf),
    import!("path_filestat_get", [I, I, I, I, I], badf),
    import!("path_filestat_set_times", [I, I, I, I, L, L, I], badf),
    import!("path_open", [I, I, I, I, I, L, L, I, I], badf),
    import!("path_remove_directory", [I, I, I], badf),
    import!("path_rename", [I, I, I, I, I, I], badf),
    import!("path_unlink_file", [I, I, I], badf),
    import!("poll_oneoff", [I, I, I, I], |_, _, _| Ok(errno::NOSYS)),
    import!("sched_yield", [], |_, _, _| Ok(errno::SUCCESS)),
    import!("random_get", [I, I], random_get),
    Import {
        name: "proc_exit",
        params: &[I],
        returns: false,
        func: |_, state, a| {
            state.exit = Some(a[0] as i32);
            Err(Exit(a[0] as i32))
        },
    },
];

fn badf(_: &mut [u8], _: &mut WasiState, _: &[i64]) -> Result<i32, Exit> {
    Ok(errno::BADF)
}

fn is_stdio(fd: i64) -> bool {
    (0..=2).contains(&fd)
}

fn stdio_or_badf(fd: i64) -> i32 {
    if is_stdio(fd) {
        errno::SUCCESS
    } else {
        errno::BADF
    }
}

/// The guest range `[ptr, ptr + len)`, if it is inside the memory.
fn range(mem: &[u8], ptr: i64, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= mem.len()).then_some(start..end)
}

fn read_u32(mem: &[u8], ptr: i64) -> Option<u32> {
    let r = range(mem, ptr, 4)?;
    Some(u32::from_le_bytes(mem[r].try_into().ok()?))
}

fn write_bytes(mem: &mut [u8], ptr: i64, bytes: &[u8]) -> bool {
    match range(mem, ptr, bytes.len()) {
        Some(r) => {
            mem[r].copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

fn write_u32s(mem: &mut [u8], values: &[(i64, u32)]) -> Result<i32, Exit> {
    for &(ptr, v) in values {
        if !write_bytes(mem, ptr, &v.to_le_bytes()) {
            return Ok(errno::FAULT);
        }
    }
    Ok(errno::SUCCESS)
}

fn write_u64(mem: &mut [u8], ptr: i64, v: u64) -> Result<i32, Exit> {
    Ok(if write_bytes(mem, ptr, &v.to_le_bytes()) {
        errno::SUCCESS
    } else {
        errno::FAULT
    })
}

fn args_sizes_get(mem: &mut [u8], state: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    let bytes: usize = state.args.iter().map(Vec::len).sum();
    write_u32s(
        mem,
        &[(a[0], state.args.len() as u32), (a[1], bytes as u32)],
    )
}

fn args_get(mem: &mut [u8], state: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    let (argv, mut buf) = (a[0], a[1]);
    for (i, arg) in state.args.iter().enumerate() {
        if !write_bytes(mem, argv + 4 * i as i64, &(buf as u32).to_le_bytes())
            || !write_bytes(mem, buf, arg)
        {
            return Ok(errno::FAULT);
        }
        buf += arg.len() as i64;
    }
    Ok(errno::SUCCESS)
}

fn clock_time_get(mem: &mut [u8], state: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    let ns = match a[0] {
        // REALTIME
        0 => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        // MONOTONIC, PROCESS_CPUTIME, THREAD_CPUTIME: time since the run started
        1..=3 => state.started.elapsed().as_nanos() as u64,
        _ => return Ok(errno::INVAL),
    };
    write_u64(mem, a[2], ns)
}

/// The `(pointer, length)` pairs of an iovec array.
fn iovecs(mem: &[u8], ptr: i64, count: i64) -> Option<Vec<(i64, usize)>> {
    (0..count)
        .map(|i| {
            let base = ptr + 8 * i;
            Some((
                read_u32(mem, base)? as i64,
                read_u32(mem, base + 4)? as usize,
            ))
        })
        .collect()
}

fn fd_write(mem: &mut [u8], state: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    let out = match a[0] {
        1 => &mut state.stdout,
        2 => &mut state.stderr,
        _ => return Ok(errno::BADF),
    };
    let Some(iovs) = iovecs(mem, a[1], a[2]) else {
        return Ok(errno::FAULT);
    };
    let mut written = 0u32;
    for (ptr, len) in iovs {
        let Some(r) = range(mem, ptr, len) else {
            return Ok(errno::FAULT);
        };
        out.extend_from_slice(&mem[r]);
        written += len as u32;
    }
    write_u32s(mem, &[(a[3], written)])
}

fn fd_read(mem: &mut [u8], _: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    // Standard input is empty.
    if a[0] != 0 {
        return Ok(errno::BADF);
    }
    write_u32s(mem, &[(a[3], 0)])
}

fn fd_fdstat_get(mem: &mut [u8], _: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    if !is_stdio(a[0]) {
        return Ok(errno::BADF);
    }
    // struct fdstat: filetype u8 (2 = character device), flags u16, rights_base u64,
    // rights_inheriting u64.
    let mut stat = [0u8; 24];
    stat[0] = 2;
    stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    Ok(if write_bytes(mem, a[1], &stat) {
        errno::SUCCESS
    } else {
        errno::FAULT
    })
}

fn fd_filestat_get(mem: &mut [u8], _: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    if !is_stdio(a[0]) {
        return Ok(errno::BADF);
    }
    // struct filestat (64 bytes), filetype at offset 16: character device.
    let mut stat = [0u8; 64];
    stat[16] = 2;
    Ok(if write_bytes(mem, a[1], &stat) {
        errno::SUCCESS
    } else {
        errno::FAULT
    })
}

fn random_get(mem: &mut [u8], state: &mut WasiState, a: &[i64]) -> Result<i32, Exit> {
    let Some(r) = range(mem, a[0], a[1] as u32 as usize) else {
        return Ok(errno::FAULT);
    };
    // xorshift64: the same bytes on every engine and every run.
    for byte in &mut mem[r] {
        let mut x = state.random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.random = x;
        *byte = x as u8;
    }
    Ok(errno::SUCCESS)
}
