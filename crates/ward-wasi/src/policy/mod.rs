//! One capability policy for a guest, deny by default: what [`Policy`] grants (directories,
//! environment, arguments, standard streams, clocks, randomness, network, limits), read from TOML
//! ([`Policy::from_toml`], in `parse`), written back ([`Policy::to_toml`], in `write`), narrowed by
//! an embedder's own restrictions ([`Policy::narrowed`]) and turned into the WASI context and the
//! store's limits ([`Policy::wasi`], [`Policy::configure`], [`Policy::store_limits`]).
//!
//! `ward run --policy` uses exactly these functions; a command line without a policy becomes one
//! too, so there is one path from "what is granted" to "what the guest gets". The file format is
//! documented on [`Policy::from_toml`].
//!
//! ```
//! use ward_wasi::policy::Policy;
//!
//! let policy = Policy::from_toml(r#"
//!     args = ["--fast"]
//!     [env]
//!     vars = { LANG = "C" }
//!     [stdio]
//!     stdout = "captured"
//!     [limits]
//!     fuel = 1_000_000
//!     memory = "16MiB"
//! "#)?;
//! assert_eq!(policy.limits.fuel, Some(1_000_000));
//! let wasi = policy.wasi("prog.wasm")?;
//! assert!(wasi.stdout.is_some());
//! # Ok::<(), ward_wasi::policy::PolicyError>(())
//! ```

mod parse;
mod units;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use crate::ctx::{DirPerms, OutputBuffer, Stdio, WasiCtxBuilder, WasiError};

pub use units::{format_duration, parse_bytes, parse_duration};

/// What a guest may use. The default grants nothing: no directories, no environment, no
/// arguments, null standard streams, real clocks and randomness, no network and no limits beyond
/// the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The guest's arguments after its program name (`None`: whatever the embedder gives).
    pub args: Option<Vec<String>>,
    /// Preopened directories, in descriptor order.
    pub dirs: Vec<DirGrant>,
    /// Environment variables, in the guest's order (a policy file gives values by name, then
    /// inherited variables; see [`Policy::sort_env`]).
    pub env: Vec<EnvGrant>,
    /// Standard input.
    pub stdin: StdioGrant,
    /// Standard output.
    pub stdout: StdioGrant,
    /// Standard error.
    pub stderr: StdioGrant,
    /// The clocks the guest reads.
    pub clocks: ClockPolicy,
    /// Where `random_get` takes its bytes.
    pub random: RandomPolicy,
    /// Directory listings sorted by name and no host-dependent file metadata (set by
    /// `deterministic = true`, with virtual clocks and seeded randomness).
    pub stable_metadata: bool,
    /// Sockets.
    pub network: NetworkPolicy,
    /// Resource limits.
    pub limits: PolicyLimits,
}

/// One directory the guest may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The host directory (relative paths are relative to the embedder's working directory).
    pub host: PathBuf,
    /// The name the guest sees it under (`/data`, `.`).
    pub guest: String,
    /// Read-only or read-write.
    pub perms: DirPerms,
}

/// One environment variable the guest sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvGrant {
    /// A value the policy gives.
    Value {
        /// The name.
        name: String,
        /// The value.
        value: String,
    },
    /// The host's variable of this name, if the host has it when the context is built.
    Inherit(String),
}

impl EnvGrant {
    /// The variable's name.
    pub fn name(&self) -> &str {
        match self {
            EnvGrant::Value { name, .. } | EnvGrant::Inherit(name) => name,
        }
    }
}

/// Where one standard stream is connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StdioGrant {
    /// Nothing: reads see end of file, writes are discarded.
    #[default]
    Null,
    /// The host process's own stream.
    Inherit,
    /// A host file: read for stdin, created or truncated for stdout and stderr.
    File(PathBuf),
    /// An in-memory buffer the embedder reads after the run (stdout and stderr only).
    Captured,
}

/// The guest's clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockPolicy {
    /// The host's clocks.
    #[default]
    Real,
    /// Virtual clocks whose wall clock starts this many seconds after the Unix epoch.
    Virtual {
        /// The wall clock's start, in seconds since 1970-01-01T00:00:00Z.
        epoch_seconds: u64,
    },
}

/// The guest's randomness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RandomPolicy {
    /// The host's `getrandom`.
    #[default]
    Real,
    /// A reproducible stream from this seed.
    Seeded(u64),
}

/// Network grants. Preview1 cannot open sockets: listeners are bound when the context is built and
/// handed to the guest. Components use `wasi:sockets`, which `inherit` opens to the host's network
/// and `name_lookup` to name resolution; `connect` is kept for a finer grant to come.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Addresses (`IP:PORT`) the guest may listen on.
    pub listen: Vec<String>,
    /// Addresses (`HOST:PORT`) the guest may connect to.
    pub connect: Vec<String>,
    /// Whether the guest may resolve names.
    pub name_lookup: bool,
    /// Whether a component may use the host's network through `wasi:sockets` (create sockets,
    /// bind, listen, accept, connect).
    pub inherit: bool,
}

/// Resource limits; `None` leaves the engine's default (unlimited, or its built-in stack size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Fuel (one unit per Wasm instruction).
    pub fuel: Option<u64>,
    /// Bytes of any one linear memory.
    pub memory: Option<u64>,
    /// Elements of any one table.
    pub table_elements: Option<u64>,
    /// Instances.
    pub instances: Option<u64>,
    /// Bytes of Wasm stack.
    pub stack: Option<u64>,
    /// Wall-clock time of the run.
    pub wall_time: Option<Duration>,
}

/// Errors of reading, narrowing or applying a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not TOML.
    #[error("invalid TOML at line {line}: {message}")]
    Toml {
        /// The 1-based line of the error.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A key the policy format does not have.
    #[error("unknown key `{key}` at line {line}{hint}")]
    UnknownKey {
        /// The key, with the tables it is in (`limits.fule`).
        key: String,
        /// The 1-based line.
        line: usize,
        /// Which keys there are, as " (expected …)".
        hint: String,
    },
    /// A key whose value is wrong.
    #[error("`{key}` at line {line}: {reason}")]
    Invalid {
        /// The key (`dir[2].host`).
        key: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Asking for more than the policy grants.
    #[error("{0}")]
    NotGranted(String),
    /// A grant could not be made on the host (a directory that vanished, a file, a socket).
    #[error("{what}: {source}")]
    Host {
        /// The grant.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The WASI builder refused a grant.
    #[error("{what}: {source}")]
    Wasi {
        /// The grant.
        what: String,
        /// Why.
        source: WasiError,
    },
}

/// What [`Policy::wasi`] makes: the WASI builder with every grant applied, and the buffers of
/// captured streams.
#[derive(Debug)]
pub struct PolicyWasi {
    /// The builder; add an audit log or other settings, then `build()` it.
    pub builder: WasiCtxBuilder,
    /// The guest's stdout, when the policy captures it.
    pub stdout: Option<OutputBuffer>,
    /// The guest's stderr, when the policy captures it.
    pub stderr: Option<OutputBuffer>,
}

/// Restrictions an embedder puts on a policy: [`Policy::narrowed`] applies them and refuses any
/// that would grant more (this is what `ward run`'s flags become next to `--policy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing {
    /// Directories named again: each must be granted by the policy (same guest name and host
    /// directory); read-only narrows a read-write grant, read-write of a read-only grant is refused.
    pub dirs: Vec<DirGrant>,
    /// Variables named again: a value replaces the policy's (the name must be granted), `Inherit`
    /// needs the policy to pass that host variable on.
    pub env: Vec<EnvGrant>,
    /// Arguments: refused if the policy fixes different ones.
    pub args: Option<Vec<String>>,
    /// Listen addresses: each must be in the policy's allowlist.
    pub listen: Vec<String>,
    /// Lower limits: each must not exceed the policy's.
    pub limits: PolicyLimits,
    /// Make the run deterministic (virtual clocks, seeded random, stable metadata).
    pub deterministic: bool,
    /// The seed of seeded randomness (replaces the policy's; a seed is not a capability).
    pub seed: Option<u64>,
}

impl Policy {
    /// The policy with `narrowing` applied; an error names the first restriction that would grant
    /// more than the policy does.
    pub fn narrowed(&self, narrowing: &Narrowing) -> Result<Policy, PolicyError> {
        let mut policy = self.clone();
        for wanted in &narrowing.dirs {
            let granted = policy
                .dirs
                .iter_mut()
                .find(|grant| grant.guest == wanted.guest && same_dir(&grant.host, &wanted.host))
                .ok_or_else(|| {
                    PolicyError::NotGranted(format!(
                        "directory \"{}\" (as \"{}\") is not granted by the policy",
                        wanted.host.display(),
                        wanted.guest
                    ))
                })?;
            match (granted.perms, wanted.perms) {
                (DirPerms::ReadOnly, DirPerms::ReadWrite) => {
                    return Err(PolicyError::NotGranted(format!(
                        "directory \"{}\" is granted read-only by the policy, not read-write",
                        wanted.host.display()
                    )));
                }
                (_, perms) => granted.perms = perms,
            }
        }
        for wanted in &narrowing.env {
            let granted = policy
                .env
                .iter_mut()
                .find(|grant| grant.name() == wanted.name())
                .ok_or_else(|| {
                    PolicyError::NotGranted(format!(
                        "environment variable {} is not granted by the policy",
                        wanted.name()
                    ))
                })?;
            match (&granted, wanted) {
                (EnvGrant::Value { .. }, EnvGrant::Inherit(name)) => {
                    return Err(PolicyError::NotGranted(format!(
                        "environment variable {name}: the policy gives it a value and does not \
                         pass the host's on"
                    )));
                }
                _ => *granted = wanted.clone(),
            }
        }
        if let Some(args) = &narrowing.args {
            match &policy.args {
                Some(fixed) if fixed != args => {
                    return Err(PolicyError::NotGranted(format!(
                        "the policy fixes the guest's arguments to {fixed:?}; {args:?} were given"
                    )));
                }
                _ => policy.args = Some(args.clone()),
            }
        }
        for address in &narrowing.listen {
            if !policy.network.listen.contains(address) {
                return Err(PolicyError::NotGranted(format!(
                    "listening on {address} is not granted by the policy (network.listen)"
                )));
            }
        }
        let limits = &mut policy.limits;
        let wanted = narrowing.limits;
        narrow_limit("fuel", &mut limits.fuel, wanted.fuel)?;
        narrow_limit("memory", &mut limits.memory, wanted.memory)?;
        narrow_limit(
            "table_elements",
            &mut limits.table_elements,
            wanted.table_elements,
        )?;
        narrow_limit("instances", &mut limits.instances, wanted.instances)?;
        narrow_limit("stack", &mut limits.stack, wanted.stack)?;
        narrow_limit("wall_time", &mut limits.wall_time, wanted.wall_time)?;
        if narrowing.deterministic {
            policy.make_deterministic();
        }
        if let Some(seed) = narrowing.seed {
            policy.random = RandomPolicy::Seeded(seed);
        }
        Ok(policy)
    }

    /// Puts the environment in the order [`Policy::from_toml`] reads it: given values by name, then
    /// inherited variables in their order (so that `to_toml` round-trips).
    pub fn sort_env(&mut self) {
        self.env.sort_by(|a, b| match (a, b) {
            (EnvGrant::Value { name: x, .. }, EnvGrant::Value { name: y, .. }) => x.cmp(y),
            (EnvGrant::Value { .. }, EnvGrant::Inherit(_)) => std::cmp::Ordering::Less,
            (EnvGrant::Inherit(_), EnvGrant::Value { .. }) => std::cmp::Ordering::Greater,
            (EnvGrant::Inherit(_), EnvGrant::Inherit(_)) => std::cmp::Ordering::Equal,
        });
    }

    /// Virtual clocks (from the policy's epoch if it has one, else [`crate::DEFAULT_EPOCH_SECONDS`]),
    /// seeded randomness (seed 0 unless the policy seeds it) and stable file metadata.
    pub fn make_deterministic(&mut self) {
        if self.clocks == ClockPolicy::Real {
            self.clocks = ClockPolicy::Virtual {
                epoch_seconds: crate::DEFAULT_EPOCH_SECONDS,
            };
        }
        if self.random == RandomPolicy::Real {
            self.random = RandomPolicy::Seeded(0);
        }
        self.stable_metadata = true;
    }

    /// Whether runs under this policy are deterministic (see `docs/DETERMINISM.md`).
    pub fn is_deterministic(&self) -> bool {
        self.clocks != ClockPolicy::Real
            && self.random != RandomPolicy::Real
            && self.stable_metadata
    }

    /// The WASI builder granting what the policy grants, with `argv0` as the program name: opens the
    /// directories, binds the listeners, opens stdio files and reads inherited variables now.
    pub fn wasi(&self, argv0: &str) -> Result<PolicyWasi, PolicyError> {
        let mut builder = WasiCtxBuilder::new();
        let wasi_error = |what: String| move |source| PolicyError::Wasi { what, source };
        builder
            .arg(argv0)
            .map_err(wasi_error("the program name".into()))?;
        for arg in self.args.iter().flatten() {
            builder.arg(arg).map_err(wasi_error("args".into()))?;
        }
        for grant in &self.env {
            let (name, value) = match grant {
                EnvGrant::Value { name, value } => (name, value.clone()),
                EnvGrant::Inherit(name) => match std::env::var(name) {
                    Ok(value) => (name, value),
                    Err(std::env::VarError::NotPresent) => continue,
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(PolicyError::NotGranted(format!(
                            "env.inherit: the host's {name} is not valid UTF-8"
                        )));
                    }
                },
            };
            builder
                .env(name, &value)
                .map_err(wasi_error(format!("env {name}")))?;
        }
        for grant in &self.dirs {
            builder
                .preopened_dir(&grant.host, &grant.guest, grant.perms)
                .map_err(|e| match e {
                    WasiError::Preopen { path, source } => PolicyError::Host {
                        what: format!("directory \"{}\"", path.display()),
                        source,
                    },
                    other => PolicyError::Wasi {
                        what: format!("directory \"{}\"", grant.host.display()),
                        source: other,
                    },
                })?;
        }
        builder.inherit_network(self.network.inherit);
        builder.allow_ip_name_lookup(self.network.name_lookup);
        for address in &self.network.listen {
            let listener = std::net::TcpListener::bind(address.as_str()).map_err(|source| {
                PolicyError::Host {
                    what: format!("network.listen {address}"),
                    source,
                }
            })?;
            builder.preopened_socket(listener);
        }
        let mut captured = [None, None];
        for (number, grant) in [&self.stdin, &self.stdout, &self.stderr]
            .into_iter()
            .enumerate()
        {
            let stdio = match grant {
                StdioGrant::Null => Stdio::Null,
                StdioGrant::Inherit => Stdio::Inherit,
                StdioGrant::File(path) => {
                    let opened = if number == 0 {
                        std::fs::File::open(path)
                    } else {
                        std::fs::File::create(path)
                    };
                    Stdio::File(opened.map_err(|source| PolicyError::Host {
                        what: format!("stdio file \"{}\"", path.display()),
                        source,
                    })?)
                }
                StdioGrant::Captured => {
                    let buffer = OutputBuffer::new();
                    if number > 0 {
                        captured[number - 1] = Some(buffer.clone());
                    }
                    Stdio::Buffer(buffer)
                }
            };
            match number {
                0 => builder.stdin(stdio),
                1 => builder.stdout(stdio),
                _ => builder.stderr(stdio),
            };
        }
        if let ClockPolicy::Virtual { epoch_seconds } = self.clocks {
            builder.virtual_clocks(epoch_seconds);
        }
        if let RandomPolicy::Seeded(seed) = self.random {
            builder.seeded_random(seed);
        }
        builder.stable_metadata(self.stable_metadata);
        let [stdout, stderr] = captured;
        Ok(PolicyWasi {
            builder,
            stdout,
            stderr,
        })
    }

    /// Turns on what the policy needs in the engine: fuel metering, epoch interruption for the wall
    /// time, the stack size, and for a deterministic policy canonical NaNs
    /// ([`ward::Config::deterministic`]).
    pub fn configure(&self, config: &mut ward::Config) {
        if self.is_deterministic() {
            config.deterministic(true);
        }
        if self.limits.fuel.is_some() {
            config.consume_fuel(true);
        }
        if self.limits.wall_time.is_some() {
            config.epoch_interruption(true);
        }
        if let Some(bytes) = self.limits.stack {
            config.max_wasm_stack(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
    }

    /// The store limits for memory, table elements and instances (add others to the builder).
    pub fn store_limits(&self) -> ward::StoreLimitsBuilder {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut builder = ward::StoreLimitsBuilder::new();
        if let Some(bytes) = self.limits.memory {
            builder = builder.memory_size(size(bytes));
        }
        if let Some(elements) = self.limits.table_elements {
            builder = builder.table_elements(size(elements));
        }
        if let Some(count) = self.limits.instances {
            builder = builder.instances(size(count));
        }
        builder
    }
}

/// Whether two host paths name the same directory (as given, or after resolving both).
fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Lowers `granted` to `wanted`, refusing to raise it.
fn narrow_limit<T: PartialOrd + Copy + std::fmt::Debug>(
    name: &str,
    granted: &mut Option<T>,
    wanted: Option<T>,
) -> Result<(), PolicyError> {
    match (*granted, wanted) {
        (Some(limit), Some(asked)) if asked > limit => Err(PolicyError::NotGranted(format!(
            "limit {name} = {asked:?} exceeds the policy's {limit:?}"
        ))),
        (_, Some(asked)) => {
            *granted = Some(asked);
            Ok(())
        }
        (_, None) => Ok(()),
    }
}
