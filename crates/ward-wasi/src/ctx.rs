//! The guest's view of the world: [`WasiCtx`] (arguments, environment, open descriptors) and the
//! [`WasiCtxBuilder`] an embedder uses to grant it.
//!
//! Nothing is inherited from the host unless the builder says so: by default the guest has no
//! arguments, no environment, no directories, an empty stdin and discarded stdout/stderr. Descriptor
//! state lives in [`crate::table`]; the syscalls in `fs`, `path`, `poll`, `process` and `sock` read and
//! change it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use cap_std::fs::Dir;

use crate::audit::{AuditLog, RunEnd};
use crate::determinism::{Clocks, DEFAULT_EPOCH_SECONDS, Randomness, SeededRandom, VirtualClock};
use crate::table::{Descriptor, Entry, OpenDir, Origin, Stream};
use crate::trace::{Recorder, Replayer, TraceError, Tracing};

/// Whether a preopened directory may be changed by the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirPerms {
    /// The guest may read, create, change and delete anything beneath the directory.
    ReadWrite,
    /// The guest may only read; every mutation fails with `EPERM`.
    ReadOnly,
}

/// A shared in-memory byte buffer that collects a guest's output stream.
///
/// Clone it before handing it to the builder and read it with [`OutputBuffer::contents`] afterwards.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer(Arc<Mutex<Vec<u8>>>);

impl OutputBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn append(&self, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
    }
}

/// Where one of the guest's standard streams (fd 0, 1 or 2) is connected.
#[derive(Debug, Default)]
pub enum Stdio {
    /// Nothing: reads see end of file and writes are discarded. The default.
    #[default]
    Null,
    /// The host process's own stream with the same number.
    Inherit,
    /// A host file or pipe opened by the embedder.
    File(std::fs::File),
    /// Fixed bytes for the guest to read (meaningful for stdin).
    Bytes(Vec<u8>),
    /// An in-memory buffer that collects what the guest writes (meaningful for stdout and stderr).
    Buffer(OutputBuffer),
}

/// Errors of building a [`WasiCtx`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasiError {
    /// A directory to preopen could not be opened on the host.
    #[error("cannot open directory \"{}\": {source}", path.display())]
    Preopen {
        /// The host path.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A preopen's guest name is not usable (empty or containing NUL).
    #[error("invalid guest path \"{0}\" for a preopened directory")]
    GuestPath(String),
    /// An argument or environment entry contains a NUL byte, which the guest could not see.
    #[error("{0:?} contains a NUL byte")]
    Nul(String),
    /// An environment variable name is empty or contains `=`.
    #[error("invalid environment variable name {0:?}")]
    EnvName(String),
    /// The WASI state cannot be saved for a snapshot, or saved state cannot be restored here
    /// (see [`WasiCtx::snapshot_state`]).
    #[error("{0}")]
    Snapshot(String),
}

/// The state of WASI for one guest: arguments, environment and its table of open descriptors.
///
/// Build one with [`WasiCtxBuilder`], keep it in the store's data and give
/// [`add_to_linker`](crate::add_to_linker) a way to reach it. The state is shared by the threads of a
/// wasi-threads program: [`WasiCtx::share`] gives another handle to the same descriptors, and each
/// call into WASI holds the state's lock while it runs.
#[derive(Default, Clone)]
pub struct WasiCtx {
    state: std::sync::Arc<std::sync::Mutex<WasiState>>,
    /// The recording or replay of the guest's calls, if any (outside the state's lock, so that a
    /// context without one pays a single `Option` test per call).
    pub(crate) trace: Option<Arc<Mutex<Tracing>>>,
}

/// What a [`WasiCtx`] shares between its handles.
#[derive(Default)]
pub(crate) struct WasiState {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) fds: BTreeMap<u32, Entry>,
    /// Where clock reads come from.
    pub(crate) clocks: Clocks,
    /// Where random bytes come from.
    pub(crate) random: Randomness,
    /// Directory listings sorted by name, and no host-dependent metadata (timestamps, device and
    /// inode numbers, directory sizes) reported.
    pub(crate) stable_metadata: bool,
    /// The audit log, if the embedder asked for one.
    pub(crate) audit: Option<AuditLog>,
    /// The WASI 0.2 host's streams, pollables and other resources (components only).
    pub(crate) p2: crate::p2::state::Resources,
    /// What `wasi:sockets` may do (components only; preview1 uses preopened listeners).
    pub(crate) network: NetworkGrants,
}

/// The network a component may use through `wasi:sockets`; nothing by default.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NetworkGrants {
    /// Sockets may be created, bound, connected and listened on, as the host's own would be.
    pub(crate) inherit: bool,
    /// Host names may be resolved (`wasi:sockets/ip-name-lookup`).
    pub(crate) name_lookup: bool,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("WasiCtx")
            .field("args", &state.args.len())
            .field("env", &state.env.len())
            .field("fds", &state.fds.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WasiCtx {
    /// A builder granting nothing yet.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// Another handle to the same state (for a thread of a wasi-threads program).
    pub fn share(&self) -> WasiCtx {
        self.clone()
    }

    /// The state, locked (a panic in another thread's syscall does not poison it for good: the
    /// state stays consistent between syscalls, which each leave it whole or not at all).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, WasiState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the audit log (if the builder set one): writes the summary record, saying how the run
    /// ended, and flushes. Call it once the run is over, whether it returned, exited or trapped;
    /// later calls only flush. Errors are the log's own write errors.
    pub fn finish_audit(&self, end: &RunEnd) -> io::Result<()> {
        match self.lock().audit.as_mut() {
            Some(log) => log.finish(end),
            None => Ok(()),
        }
    }

    /// Ends a recording (flushing the trace) or a replay (checking that the run made every recorded
    /// call). Call it once the run is over; a context without a trace has nothing to do.
    pub fn finish_trace(&self) -> Result<(), TraceError> {
        let Some(trace) = &self.trace else {
            return Ok(());
        };
        match &mut *trace.lock().unwrap_or_else(PoisonError::into_inner) {
            Tracing::Record(recorder) => recorder.finish(),
            Tracing::Replay(replayer) => replayer.finish(),
        }
    }

    /// Whether clocks are virtual (set by [`WasiCtxBuilder::virtual_clocks`] or
    /// [`WasiCtxBuilder::deterministic`]).
    pub fn has_virtual_clocks(&self) -> bool {
        matches!(self.lock().clocks, Clocks::Virtual(_))
    }
}

/// Grants a guest its arguments, environment, directories, sockets and standard streams.
///
/// ```no_run
/// use ward_wasi::{DirPerms, OutputBuffer, Stdio, WasiCtxBuilder};
///
/// let stdout = OutputBuffer::new();
/// let ctx = WasiCtxBuilder::new()
///     .args(["prog.wasm", "--verbose"])?
///     .env("LANG", "C")?
///     .preopened_dir("/srv/data", "/data", DirPerms::ReadOnly)?
///     .stdout(Stdio::Buffer(stdout.clone()))
///     .build();
/// # Ok::<(), ward_wasi::WasiError>(())
/// ```
#[derive(Debug, Default)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    stdio: [Stdio; 3],
    preopens: Vec<(Dir, String, DirPerms)>,
    sockets: Vec<std::net::TcpListener>,
    clocks: Clocks,
    random: Randomness,
    stable_metadata: bool,
    audit: Option<AuditLog>,
    trace: Option<Tracing>,
    network: NetworkGrants,
}

fn no_nul(text: &str) -> Result<Vec<u8>, WasiError> {
    if text.contains('\0') {
        Err(WasiError::Nul(text.to_string()))
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

impl WasiCtxBuilder {
    /// A builder granting nothing: no args, no env, no preopens, null stdio.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one argument (the first is conventionally the program name).
    pub fn arg(&mut self, arg: &str) -> Result<&mut Self, WasiError> {
        self.args.push(no_nul(arg)?);
        Ok(self)
    }

    /// Appends several arguments.
    pub fn args<S: AsRef<str>>(
        &mut self,
        args: impl IntoIterator<Item = S>,
    ) -> Result<&mut Self, WasiError> {
        for arg in args {
            self.arg(arg.as_ref())?;
        }
        Ok(self)
    }

    /// Sets one environment variable for the guest.
    pub fn env(&mut self, key: &str, value: &str) -> Result<&mut Self, WasiError> {
        if key.is_empty() || key.contains('=') {
            return Err(WasiError::EnvName(key.to_string()));
        }
        let mut entry = no_nul(key)?;
        entry.push(b'=');
        entry.extend(no_nul(value)?);
        self.env.push(entry);
        Ok(self)
    }

    /// Sets the guest's stdin.
    pub fn stdin(&mut self, stdio: Stdio) -> &mut Self {
        self.stdio[0] = stdio;
        self
    }

    /// Sets the guest's stdout.
    pub fn stdout(&mut self, stdio: Stdio) -> &mut Self {
        self.stdio[1] = stdio;
        self
    }

    /// Sets the guest's stderr.
    pub fn stderr(&mut self, stdio: Stdio) -> &mut Self {
        self.stdio[2] = stdio;
        self
    }

    /// Connects all three standard streams to the host process's own.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.stdio = [Stdio::Inherit, Stdio::Inherit, Stdio::Inherit];
        self
    }

    /// Opens the host directory `host` and grants it to the guest under the name `guest` (what the
    /// guest's libc matches absolute and relative paths against, e.g. `/data` or `.`).
    pub fn preopened_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: &str,
        perms: DirPerms,
    ) -> Result<&mut Self, WasiError> {
        let host = host.as_ref();
        let dir = Dir::open_ambient_dir(host, cap_std::ambient_authority()).map_err(|source| {
            WasiError::Preopen {
                path: host.to_path_buf(),
                source,
            }
        })?;
        self.preopened_cap_dir(dir, guest, perms)
    }

    /// Grants an already opened cap-std directory to the guest under the name `guest`.
    pub fn preopened_cap_dir(
        &mut self,
        dir: Dir,
        guest: &str,
        perms: DirPerms,
    ) -> Result<&mut Self, WasiError> {
        if guest.is_empty() || guest.contains('\0') {
            return Err(WasiError::GuestPath(guest.to_string()));
        }
        self.preopens.push((dir, guest.to_string(), perms));
        Ok(self)
    }

    /// Grants a listening TCP socket; the guest accepts connections on it with `sock_accept`.
    /// Sockets get descriptors after all preopened directories.
    pub fn preopened_socket(&mut self, listener: std::net::TcpListener) -> &mut Self {
        self.sockets.push(listener);
        self
    }

    /// Lets a component use the host's network through `wasi:sockets`: create TCP sockets, bind,
    /// listen, accept and connect (Wasmtime's `-S inherit-network`). Off by default, when every
    /// socket operation returns `access-denied`. Core modules are not affected.
    pub fn inherit_network(&mut self, allow: bool) -> &mut Self {
        self.network.inherit = allow;
        self
    }

    /// Lets a component resolve host names through `wasi:sockets/ip-name-lookup` (Wasmtime's
    /// `-S allow-ip-name-lookup`). Off by default, when lookups fail with
    /// `permanent-resolver-failure`, as under Wasmtime.
    pub fn allow_ip_name_lookup(&mut self, allow: bool) -> &mut Self {
        self.network.name_lookup = allow;
        self
    }

    /// Makes the clocks virtual: the wall clock starts `epoch_seconds` after the Unix epoch, and
    /// time advances only with the guest's own clock reads, executed fuel and `poll_oneoff` sleeps
    /// (which return at once). See `docs/DETERMINISM.md`.
    pub fn virtual_clocks(&mut self, epoch_seconds: u64) -> &mut Self {
        self.clocks = Clocks::Virtual(VirtualClock::new(epoch_seconds));
        self
    }

    /// Makes `random_get` return a reproducible stream generated from `seed` instead of host
    /// randomness (not suitable for secrets).
    pub fn seeded_random(&mut self, seed: u64) -> &mut Self {
        self.random = Randomness::Seeded(SeededRandom::new(seed));
        self
    }

    /// Lists directories sorted by name and reports fixed values for file metadata that depends on
    /// the host rather than on the files' contents: timestamps (0), device and inode numbers (0),
    /// link counts (1) and directory sizes (0).
    pub fn stable_metadata(&mut self, on: bool) -> &mut Self {
        self.stable_metadata = on;
        self
    }

    /// Everything [`virtual_clocks`](Self::virtual_clocks) (from 2000-01-01T00:00:00Z),
    /// [`seeded_random`](Self::seeded_random) and [`stable_metadata`](Self::stable_metadata) do: the
    /// guest's run depends only on its module, its inputs and what it is granted.
    ///
    /// ```
    /// let ctx = ward_wasi::WasiCtxBuilder::new().deterministic(42).build();
    /// assert!(ctx.has_virtual_clocks());
    /// ```
    pub fn deterministic(&mut self, seed: u64) -> &mut Self {
        self.virtual_clocks(DEFAULT_EPOCH_SECONDS)
            .seeded_random(seed)
            .stable_metadata(true)
    }

    /// Writes an audit log of the guest's capability decisions to `out`, as JSON Lines (the records
    /// are described in [`crate::audit`]). End it with [`WasiCtx::finish_audit`].
    pub fn audit(&mut self, out: impl io::Write + Send + 'static) -> &mut Self {
        self.audit = Some(AuditLog::new(Box::new(out)));
        self
    }

    /// Records every WASI call the guest makes (arguments, result and the bytes written into its
    /// memory) to `out` as a trace for [`WasiCtxBuilder::replay`]; `module` is the module's binary,
    /// whose hash the trace keeps. End it with [`WasiCtx::finish_trace`]. See [`crate::trace`].
    pub fn record(&mut self, out: impl io::Write + Send + 'static, module: &[u8]) -> &mut Self {
        self.trace = Some(Tracing::Record(Recorder::new(Box::new(out), module)));
        self
    }

    /// Answers every WASI call from the trace `bytes` instead of the host: no file system, network,
    /// clock or randomness is touched, and writes to stdout and stderr go to this builder's streams.
    /// Fails if `bytes` is not a trace of this format or was recorded for another module than
    /// `module` (the module's binary). A call that differs from the recorded one fails the call into
    /// the guest with [`TraceError::Diverged`].
    pub fn replay(&mut self, bytes: Vec<u8>, module: &[u8]) -> Result<&mut Self, TraceError> {
        self.trace = Some(Tracing::Replay(Replayer::new(bytes, module)?));
        Ok(self)
    }

    /// The context. Descriptors: 0–2 stdio, then the preopened directories in the order granted, then
    /// sockets. The builder is left empty.
    pub fn build(&mut self) -> WasiCtx {
        let mut builder = std::mem::take(self);
        if let Some(log) = builder.audit.as_mut() {
            for listener in &builder.sockets {
                let address = listener
                    .local_addr()
                    .map_or_else(|_| "unknown".to_string(), |a| a.to_string());
                let record = log
                    .record("bind")
                    .str("address", &address)
                    .bool("allowed", true)
                    .str("rule", "granted listener");
                log.write(record);
            }
        }
        let stdio = builder
            .stdio
            .into_iter()
            .enumerate()
            .map(|(number, stdio)| Descriptor::Stream(Stream::from_stdio(stdio, number as u32)));
        let preopens = builder.preopens.into_iter().map(|(dir, guest, perms)| {
            Descriptor::Dir(OpenDir {
                dir,
                writable: perms == DirPerms::ReadWrite,
                origin: Origin {
                    preopen: guest.clone(),
                    path: PathBuf::new(),
                },
                preopen: Some(guest),
            })
        });
        let sockets = builder.sockets.into_iter().map(Descriptor::Listener);
        let fds = (0..)
            .zip(stdio.chain(preopens).chain(sockets))
            .map(|(number, descriptor)| {
                let entry = Entry {
                    descriptor,
                    dropped: Default::default(),
                };
                (number, entry)
            })
            .collect();
        WasiCtx {
            trace: builder.trace.map(|trace| Arc::new(Mutex::new(trace))),
            state: std::sync::Arc::new(std::sync::Mutex::new(WasiState {
                args: builder.args,
                env: builder.env,
                fds,
                clocks: builder.clocks,
                random: builder.random,
                stable_metadata: builder.stable_metadata,
                audit: builder.audit,
                p2: Default::default(),
                network: builder.network,
            })),
        }
    }
}
