//! WASI preview1 (`wasi_snapshot_preview1`) for the ward runtime, sandboxed with cap-std.
//! Modules built for the older `wasi_unstable` (preview0) run too, mapped onto preview1, and
//! components get WASI 0.2 (the `wasi:cli/command` world) from [`p2`], on the same context and
//! sandbox.
//!
//! Build a [`WasiCtx`] with [`WasiCtxBuilder`], keep it in the store's data, and register the host
//! functions with [`add_to_linker`]. Every path a guest names is resolved by cap-std beneath one of its
//! preopened directories, so `..`, absolute paths and symlinks cannot leave them; read-only preopens
//! refuse every change with `EPERM`; bad guest pointers give `EFAULT`. `proc_exit(n)` ends the call
//! into the guest with [`ward::Error::Exit`]`(n)`.
//!
//! A [`policy::Policy`] (TOML, deny by default) states everything a guest may use and builds the
//! context and the store limits from it; [`WasiCtxBuilder::audit`] writes an audit log of every
//! capability decision ([`audit`]); [`WasiCtxBuilder::deterministic`] makes clocks virtual,
//! randomness seeded and file metadata host-independent (`docs/DETERMINISM.md`).
//!
//! ```
//! use ward::{Engine, Linker, Module, Store};
//! use ward_wasi::{OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "fd_write"
//!         (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!       (memory (export "memory") 1)
//!       (data (i32.const 16) "hi\n")
//!       (func (export "_start")
//!         (i32.store (i32.const 0) (i32.const 16))   ;; iovec.buf
//!         (i32.store (i32.const 4) (i32.const 3))    ;; iovec.len
//!         (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
//! "#)?;
//! let stdout = OutputBuffer::new();
//! let ctx = WasiCtxBuilder::new().stdout(Stdio::Buffer(stdout.clone())).build();
//! let mut linker: Linker<WasiCtx> = Linker::new(&engine);
//! ward_wasi::add_to_linker(&mut linker, |ctx| ctx)?;
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! instance.get_typed_func::<(), ()>(&store, "_start")?.call(&mut store, ())?;
//! assert_eq!(stdout.contents(), b"hi\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod abi;
pub mod audit;
mod ctx;
mod determinism;
mod errno;
mod fs;
mod guest;
pub mod p1;
pub mod p2;
mod path;
pub mod policy;
mod poll;
mod process;
mod snapshot;
mod sock;
mod table;
mod threads;
pub mod trace;

use ward::{AsContext, Caller, Extern, Linker, Module};

pub use abi::{MODULE, UNSTABLE_MODULE};
pub use audit::RunEnd;
pub use ctx::{DirPerms, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder, WasiError};
pub use determinism::DEFAULT_EPOCH_SECONDS;
pub use errno::Errno;
pub use threads::{DEFAULT_MAX_THREADS, WasiThreads};

use abi::Snapshot;
use ctx::WasiState;
use errno::WasiResult;
use guest::GuestMemory;

/// Whether `module` imports anything from WASI: `wasi_snapshot_preview1` or `wasi_unstable`.
pub fn imports_wasi(module: &Module) -> bool {
    module
        .imports()
        .any(|i| i.module() == MODULE || i.module() == UNSTABLE_MODULE)
}

/// Runs one syscall with the context's state locked and the caller's memory exported as `memory`:
/// an unshared memory is borrowed, a shared one (wasi-threads) is copied in and out. A module
/// without an exported memory gets an empty one, so every pointer it passes is `EFAULT`. `name` and
/// `args` identify the call for a trace ([`trace`]).
fn with_ctx<T>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    (name, args): (&'static str, &[u64]),
    syscall: impl FnOnce(&mut WasiState, &mut GuestMemory<'_>) -> WasiResult,
) -> ward::Result<i32> {
    with_ctx_handle(caller, get, (name, args), |ctx, mem| {
        syscall(&mut ctx.lock(), mem)
    })
}

/// Runs `body` with the caller's memory (see [`with_ctx`]).
fn with_memory<T, R>(
    caller: &mut Caller<'_, T>,
    body: impl FnOnce(&mut GuestMemory<'_>) -> R,
) -> R {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => body(&mut GuestMemory::new(memory.data_mut(caller))),
        Some(Extern::SharedMemory(memory)) => body(&mut GuestMemory::shared(&memory)),
        _ => body(&mut GuestMemory::new(&mut [])),
    }
}

/// As [`with_ctx`], for a syscall that locks the context's state itself (one that blocks, and
/// must not hold the lock meanwhile).
fn with_ctx_handle<T>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    (name, args): (&'static str, &[u64]),
    syscall: impl FnOnce(&WasiCtx, &mut GuestMemory<'_>) -> WasiResult,
) -> ward::Result<i32> {
    let ctx = get(caller.data_mut()).share();
    let Some(trace) = ctx.trace.clone() else {
        let result = with_memory(caller, |mem| syscall(&ctx, mem));
        return Ok(i32::from(trace::errno_of(&result)));
    };
    let mut tracing = trace
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match &mut *tracing {
        trace::Tracing::Record(recorder) => {
            let (result, writes) = with_memory(caller, |mem| {
                mem.log_writes();
                let result = syscall(&ctx, mem);
                (result, mem.take_writes())
            });
            let errno = trace::errno_of(&result);
            recorder.call(&trace::Call {
                name: name.to_string(),
                args: args.to_vec(),
                errno,
                writes,
            });
            Ok(i32::from(errno))
        }
        trace::Tracing::Replay(replayer) => {
            // A divergence names the Wasm code that made the call.
            let call = replayer.expect_call(name, args).map_err(|e| {
                let backtrace = ward::WasmBacktrace::capture(&*caller);
                ward::Error::msg(format!("{e}\nwasm backtrace:\n{backtrace}"))
            })?;
            let index = replayer.index - 1;
            with_memory(caller, |mem| replay_call(&ctx, mem, &call))
                .map_err(|()| ward::Error::msg(trace::TraceError::Memory { index }.to_string()))?;
            Ok(trace::errno_result(call.errno))
        }
    }
}

/// Puts a recorded call's effects on the guest: its memory writes, and for a write to stdout or
/// stderr the bytes it wrote, on this context's own stream.
/// Fails if a write falls outside the memory.
fn replay_call(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, call: &trace::Call) -> Result<(), ()> {
    for (at, bytes) in &call.writes {
        mem.write_bytes(*at, bytes).map_err(|_| ())?;
    }
    let output_pointer = match call.name.as_str() {
        "fd_write" => call.args.get(3),
        "fd_pwrite" => call.args.get(4),
        _ => None,
    };
    if let (Some(&written_at), 0, Some(&fd @ (1 | 2))) =
        (output_pointer, call.errno, call.args.first())
    {
        let (iovs, count) = (call.args[1] as u32, call.args[2] as u32);
        let written = mem.read_u32(written_at as u32).map_err(|_| ())? as usize;
        let buffers = mem.iovecs(iovs, count).map_err(|_| ())?;
        let mut data = mem.gather(&buffers).map_err(|_| ())?;
        data.truncate(written);
        if let Some(table::Descriptor::Stream(stream)) = ctx
            .lock()
            .fds
            .get_mut(&(fd as u32))
            .map(|e| &mut e.descriptor)
        {
            let _ = stream.write(&data);
        }
    }
    Ok(())
}

/// The bits of a Wasm argument as a trace keeps them (an `i32` zero-extended).
trait ArgBits {
    fn bits(self) -> u64;
}

impl ArgBits for i32 {
    fn bits(self) -> u64 {
        u64::from(self as u32)
    }
}

impl ArgBits for i64 {
    fn bits(self) -> u64 {
        self as u64
    }
}

/// Defines every WASI function in `linker`, under `wasi_snapshot_preview1` and again under
/// `wasi_unstable`; `get` finds the [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> ward::Result<()> {
    for snapshot in [Snapshot::Preview1, Snapshot::Preview0] {
        add_snapshot_to_linker(linker, get, snapshot)?;
    }
    Ok(())
}

/// Defines the functions of one snapshot. Preview0 has the same functions as preview1 except
/// `sock_accept`; the few whose structs or enums differ are told which `snapshot` they serve.
fn add_snapshot_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
    snapshot: Snapshot,
) -> ward::Result<()> {
    let module = snapshot.module();
    // Guest integers arrive as Wasm's signed types; the casts below reinterpret them as the unsigned
    // WASI types (pointers, sizes, flags) they are.
    macro_rules! wasi {
        ($name:literal, |$ctx:ident, $mem:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
            linker.func_wrap(
                module,
                $name,
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> ward::Result<i32> {
                    let args = [$(ArgBits::bits($arg)),*];
                    with_ctx(&mut caller, get, ($name, &args), |$ctx, $mem| $body)
                },
            )?;
        };
    }

    wasi!("args_get", |c, m, a: i32, b: i32| process::args_get(
        c, m, a as u32, b as u32
    ));
    wasi!("args_sizes_get", |c, m, a: i32, b: i32| {
        process::args_sizes_get(c, m, a as u32, b as u32)
    });
    wasi!("environ_get", |c, m, a: i32, b: i32| process::environ_get(
        c, m, a as u32, b as u32
    ));
    wasi!("environ_sizes_get", |c, m, a: i32, b: i32| {
        process::environ_sizes_get(c, m, a as u32, b as u32)
    });
    wasi!("clock_res_get", |c, m, id: i32, out: i32| {
        process::clock_res_get(c, m, id as u32, out as u32)
    });
    linker.func_wrap(
        module,
        "clock_time_get",
        move |mut caller: Caller<'_, T>, id: i32, precision: i64, out: i32| -> ward::Result<i32> {
            // A virtual clock advances with the fuel executed (nothing else reads it here).
            let fuel_left = caller.as_context().get_fuel().ok();
            let args = [id.bits(), precision.bits(), out.bits()];
            with_ctx(&mut caller, get, ("clock_time_get", &args), |c, m| {
                process::clock_time_get(c, m, id as u32, precision as u64, out as u32, fuel_left)
            })
        },
    )?;
    wasi!("random_get", |c, m, buf: i32, len: i32| {
        process::random_get(c, m, buf as u32, len as u32)
    });
    wasi!("sched_yield", |_c, _m| {
        std::thread::yield_now();
        Ok(())
    });
    wasi!("proc_raise", |_c, _m, _signal: i32| Err(Errno::Notsup));
    linker.func_wrap(
        module,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> ward::Result<()> {
            if let Some(trace) = get(caller.data_mut()).trace.clone() {
                match &mut *trace
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                {
                    trace::Tracing::Record(recorder) => recorder.exit(code),
                    trace::Tracing::Replay(replayer) => replayer
                        .expect_exit(code)
                        .map_err(|e| ward::Error::msg(e.to_string()))?,
                }
            }
            Err(ward::Error::Exit(code))
        },
    )?;

    wasi!("fd_advise", |c,
                        _m,
                        fd: i32,
                        offset: i64,
                        len: i64,
                        advice: i32| {
        fs::fd_advise(c, fd as u32, offset as u64, len as u64, advice as u8)
    });
    wasi!("fd_allocate", |c, _m, fd: i32, offset: i64, len: i64| {
        fs::fd_allocate(c, fd as u32, offset as u64, len as u64)
    });
    wasi!("fd_close", |c, _m, fd: i32| fs::fd_close(c, fd as u32));
    wasi!("fd_datasync", |c, _m, fd: i32| fs::fd_sync(
        c, fd as u32, true
    ));
    wasi!("fd_sync", |c, _m, fd: i32| fs::fd_sync(c, fd as u32, false));
    wasi!(
        "fd_fdstat_get",
        |c, m, fd: i32, out: i32| fs::fd_fdstat_get(c, m, fd as u32, out as u32)
    );
    wasi!("fd_fdstat_set_flags", |c, _m, fd: i32, flags: i32| {
        fs::fd_fdstat_set_flags(c, fd as u32, flags as u16)
    });
    wasi!(
        "fd_fdstat_set_rights",
        |c, _m, fd: i32, base: i64, inheriting: i64| {
            fs::fd_fdstat_set_rights(c, fd as u32, base as u64, inheriting as u64)
        }
    );
    wasi!("fd_filestat_get", |c, m, fd: i32, out: i32| {
        fs::fd_filestat_get(c, m, snapshot, fd as u32, out as u32)
    });
    wasi!("fd_filestat_set_size", |c, _m, fd: i32, size: i64| {
        fs::fd_filestat_set_size(c, fd as u32, size as u64)
    });
    wasi!(
        "fd_filestat_set_times",
        |c, _m, fd: i32, atim: i64, mtim: i64, flags: i32| {
            fs::fd_filestat_set_times(c, fd as u32, atim as u64, mtim as u64, flags as u16)
        }
    );
    wasi!("fd_pread", |c,
                       m,
                       fd: i32,
                       iovs: i32,
                       len: i32,
                       offset: i64,
                       out: i32| {
        fs::fd_pread(
            c,
            m,
            fd as u32,
            iovs as u32,
            len as u32,
            offset as u64,
            out as u32,
        )
    });
    wasi!("fd_pwrite", |c,
                        m,
                        fd: i32,
                        iovs: i32,
                        len: i32,
                        offset: i64,
                        out: i32| {
        fs::fd_pwrite(
            c,
            m,
            fd as u32,
            iovs as u32,
            len as u32,
            offset as u64,
            out as u32,
        )
    });
    wasi!("fd_read", |c, m, fd: i32, iovs: i32, len: i32, out: i32| {
        fs::fd_read(c, m, fd as u32, iovs as u32, len as u32, out as u32)
    });
    wasi!("fd_write", |c,
                       m,
                       fd: i32,
                       iovs: i32,
                       len: i32,
                       out: i32| {
        fs::fd_write(c, m, fd as u32, iovs as u32, len as u32, out as u32)
    });
    wasi!("fd_prestat_get", |c, m, fd: i32, out: i32| {
        fs::fd_prestat_get(c, m, fd as u32, out as u32)
    });
    wasi!(
        "fd_prestat_dir_name",
        |c, m, fd: i32, path: i32, len: i32| {
            fs::fd_prestat_dir_name(c, m, fd as u32, path as u32, len as u32)
        }
    );
    wasi!("fd_readdir", |c,
                         m,
                         fd: i32,
                         buf: i32,
                         len: i32,
                         cookie: i64,
                         out: i32| {
        fs::fd_readdir(
            c,
            m,
            fd as u32,
            buf as u32,
            len as u32,
            cookie as u64,
            out as u32,
        )
    });
    wasi!("fd_renumber", |c, _m, from: i32, to: i32| fs::fd_renumber(
        c,
        from as u32,
        to as u32
    ));
    wasi!("fd_seek", |c,
                      m,
                      fd: i32,
                      offset: i64,
                      whence: i32,
                      out: i32| {
        fs::fd_seek(c, m, snapshot, fd as u32, offset, whence as u8, out as u32)
    });
    wasi!("fd_tell", |c, m, fd: i32, out: i32| fs::fd_tell(
        c, m, fd as u32, out as u32
    ));

    wasi!(
        "path_create_directory",
        |c, m, fd: i32, path: i32, len: i32| {
            path::path_create_directory(c, m, fd as u32, path as u32, len as u32)
        }
    );
    wasi!(
        "path_filestat_get",
        |c, m, fd: i32, flags: i32, path: i32, len: i32, out: i32| {
            path::path_filestat_get(
                c,
                m,
                snapshot,
                fd as u32,
                flags as u32,
                path as u32,
                len as u32,
                out as u32,
            )
        }
    );
    wasi!(
        "path_filestat_set_times",
        |c, m, fd: i32, flags: i32, path: i32, len: i32, atim: i64, mtim: i64, fst: i32| {
            path::path_filestat_set_times(
                c,
                m,
                fd as u32,
                flags as u32,
                path as u32,
                len as u32,
                atim as u64,
                mtim as u64,
                fst as u16,
            )
        }
    );
    wasi!("path_link", |c,
                        m,
                        old_fd: i32,
                        old_flags: i32,
                        old: i32,
                        old_len: i32,
                        new_fd: i32,
                        new: i32,
                        new_len: i32| {
        path::path_link(
            c,
            m,
            old_fd as u32,
            old_flags as u32,
            old as u32,
            old_len as u32,
            new_fd as u32,
            new as u32,
            new_len as u32,
        )
    });
    wasi!("path_open", |c,
                        m,
                        fd: i32,
                        dirflags: i32,
                        path: i32,
                        len: i32,
                        oflags: i32,
                        base: i64,
                        _inheriting: i64,
                        fdflags: i32,
                        out: i32| {
        path::path_open(
            c,
            m,
            fd as u32,
            dirflags as u32,
            path as u32,
            len as u32,
            oflags as u16,
            base as u64,
            fdflags as u16,
            out as u32,
        )
    });
    wasi!("path_readlink", |c,
                            m,
                            fd: i32,
                            path: i32,
                            len: i32,
                            buf: i32,
                            buf_len: i32,
                            out: i32| {
        path::path_readlink(
            c,
            m,
            fd as u32,
            path as u32,
            len as u32,
            buf as u32,
            buf_len as u32,
            out as u32,
        )
    });
    wasi!(
        "path_remove_directory",
        |c, m, fd: i32, path: i32, len: i32| {
            path::path_remove_directory(c, m, fd as u32, path as u32, len as u32)
        }
    );
    wasi!("path_rename", |c,
                          m,
                          fd: i32,
                          old: i32,
                          old_len: i32,
                          new_fd: i32,
                          new: i32,
                          new_len: i32| {
        path::path_rename(
            c,
            m,
            fd as u32,
            old as u32,
            old_len as u32,
            new_fd as u32,
            new as u32,
            new_len as u32,
        )
    });
    wasi!("path_symlink", |c,
                           m,
                           target: i32,
                           target_len: i32,
                           fd: i32,
                           link: i32,
                           link_len: i32| {
        path::path_symlink(
            c,
            m,
            target as u32,
            target_len as u32,
            fd as u32,
            link as u32,
            link_len as u32,
        )
    });
    wasi!("path_unlink_file", |c, m, fd: i32, path: i32, len: i32| {
        path::path_unlink_file(c, m, fd as u32, path as u32, len as u32)
    });

    linker.func_wrap(
        module,
        "poll_oneoff",
        move |mut caller: Caller<'_, T>,
              subs: i32,
              events: i32,
              count: i32,
              out: i32|
              -> ward::Result<i32> {
            let fuel_left = caller.as_context().get_fuel().ok();
            let args = [subs.bits(), events.bits(), count.bits(), out.bits()];
            with_ctx_handle(&mut caller, get, ("poll_oneoff", &args), |c, m| {
                poll::poll_oneoff(
                    c,
                    m,
                    snapshot,
                    (subs as u32, events as u32, count as u32, out as u32),
                    fuel_left,
                )
            })
        },
    )?;

    if snapshot == Snapshot::Preview1 {
        wasi!("sock_accept", |c, m, fd: i32, flags: i32, out: i32| {
            sock::sock_accept(c, m, fd as u32, flags as u16, out as u32)
        });
    }
    wasi!("sock_recv", |c,
                        m,
                        fd: i32,
                        iovs: i32,
                        len: i32,
                        flags: i32,
                        out_len: i32,
                        out_flags: i32| {
        sock::sock_recv(
            c,
            m,
            fd as u32,
            iovs as u32,
            len as u32,
            flags as u16,
            out_len as u32,
            out_flags as u32,
        )
    });
    wasi!("sock_send", |c,
                        m,
                        fd: i32,
                        iovs: i32,
                        len: i32,
                        _flags: i32,
                        out: i32| {
        sock::sock_send(c, m, fd as u32, iovs as u32, len as u32, out as u32)
    });
    wasi!("sock_shutdown", |c, _m, fd: i32, how: i32| {
        sock::sock_shutdown(c, fd as u32, how as u8)
    });
    Ok(())
}
