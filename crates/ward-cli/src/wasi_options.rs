//! The guest's WASI view from the `ward run` command line: `--dir`, `--dir-ro`, `--env`, and Wasmtime's
//! `-S KEY[=VALUE]` options (several separated by commas, or the `[wasi]` table of a `--config`
//! file), checked into a [`WasiOptions`]. A command line becomes a `ward_wasi::policy::Policy`
//! ([`policy_from_flags`]), or, next to `--policy FILE`, the restrictions it puts on that file's
//! policy ([`narrowing_from_flags`]); [`build_wasi`] turns the policy into a `WasiCtx` through the
//! library's own `Policy::wasi`, so `ward run` with flags, with a policy and an embedder reading the
//! same policy all grant the same way.
//!
//! ward implements WASI preview1 for core modules only. Keys that Wasmtime accepts and ward cannot
//! honour are refused with a reason rather than ignored, so a run never has less than it asked for:
//! `inherit-network=y` for a core module (preview1 has no way to open sockets; `tcplisten` grants
//! listeners), see [`check_module_options`]; components get `wasi:sockets` with it.
//! `preview2` is accepted either way: for a core module Wasmtime's `preview2=y` only picks how it
//! implements preview1, and the module behaves the same under ward's preview1 (components get
//! WASI 0.2, see `run_component.rs`). Called by `main.rs`.

use anyhow::{Result, anyhow, bail};
use ward_wasi::policy::{
    DirGrant, EnvGrant, Narrowing, Policy, PolicyLimits, PolicyWasi, RandomPolicy, StdioGrant,
};
use ward_wasi::{DirPerms, WasiCtx};

use crate::{RunArgs, describe_io};

/// One `-S` key: its name, the shape of its value and what it does (for `-S help`).
struct WasiKey {
    name: &'static str,
    value: &'static str,
    help: &'static str,
}

/// Every `-S` key ward knows, in the order `-S help` lists them.
const WASI_KEYS: &[WasiKey] = &[
    WasiKey {
        name: "inherit-env",
        value: "[=y|n]",
        help: "pass the whole host environment to the guest (--env adds or overrides variables)",
    },
    WasiKey {
        name: "inherit-network",
        value: "[=y|n]",
        help: "let a component use the host's network through wasi:sockets (not for core modules)",
    },
    WasiKey {
        name: "allow-ip-name-lookup",
        value: "[=y|n]",
        help: "let a component resolve host names through wasi:sockets/ip-name-lookup",
    },
    WasiKey {
        name: "tcplisten",
        value: "=ADDR",
        help: "bind a TCP listener on ADDR (e.g. 127.0.0.1:8080) and grant it to the guest",
    },
    WasiKey {
        name: "preview2",
        value: "[=y|n]",
        help: "accepted: core modules get ward's preview1 either way (components are not supported yet)",
    },
    WasiKey {
        name: "threads",
        value: "[=y|n]",
        help: "let the guest start threads (wasi-threads, `wasi::thread-spawn`)",
    },
];

/// The WASI options in effect for one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WasiOptions {
    /// The guest may start threads (`-S threads`).
    pub threads: bool,
    /// The guest sees the host's whole environment (`-S inherit-env`).
    pub inherit_env: bool,
    /// Addresses to bind TCP listeners on and grant to the guest, in order (`-S tcplisten`).
    pub tcp_listen: Vec<String>,
    /// A component may use the host's network (`-S inherit-network`).
    pub inherit_network: bool,
    /// A component may resolve host names (`-S allow-ip-name-lookup`).
    pub allow_ip_name_lookup: bool,
}

impl WasiOptions {
    /// Applies the options of one `-S` value (`KEY[=VALUE]`, several separated by commas).
    pub fn apply_list(&mut self, list: &str) -> Result<()> {
        for item in list.split(',') {
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (item, None),
            };
            self.apply(key, value)?;
        }
        Ok(())
    }

    /// Applies one option; `value` is `None` for a bare key (`-S threads`, meaning `=y`).
    pub fn apply(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        let on = || match value.unwrap_or("y") {
            "y" | "yes" | "true" => Ok(true),
            "n" | "no" | "false" => Ok(false),
            other => bail!("invalid value `{other}` for `-S {key}`: expected y or n"),
        };
        match key {
            "threads" => self.threads = on()?,
            "inherit-env" => self.inherit_env = on()?,
            "inherit-network" => self.inherit_network = on()?,
            "allow-ip-name-lookup" => self.allow_ip_name_lookup = on()?,
            "preview2" => {
                // Checked for a valid value; core modules run the same either way.
                on()?;
            }
            "tcplisten" => match value {
                Some(address) if !address.is_empty() => self.tcp_listen.push(address.to_string()),
                _ => bail!("`-S tcplisten` needs an address, e.g. `-S tcplisten=127.0.0.1:8080`"),
            },
            "help" => bail!("`-S help` must be given on its own"),
            other => bail!(
                "unknown WASI option `-S {other}` (supported: {}; `-S help` describes them)",
                WASI_KEYS
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        Ok(())
    }
}

/// Refuses what a core module cannot have: `-S inherit-network` and `-S allow-ip-name-lookup`
/// (preview1 cannot open sockets or resolve names).
pub fn check_module_options(options: &WasiOptions) -> Result<()> {
    if options.inherit_network || options.allow_ip_name_lookup {
        bail!(
            "`-S inherit-network` and `-S allow-ip-name-lookup` are for components: a core \
             module's WASI (preview1) cannot open sockets; grant a listening socket with \
             `-S tcplisten=ADDR` instead"
        );
    }
    Ok(())
}

/// The text of `-S help`: every key with its value and what it does.
pub fn wasi_options_help() -> String {
    let mut text =
        String::from("Available WASI options (-S KEY[=VALUE], several separated by commas):\n\n");
    for key in WASI_KEYS {
        text.push_str(&format!(
            "  -S {:<24} {}\n",
            format!("{}{}", key.name, key.value),
            key.help
        ));
    }
    text
}

/// A `--dir`/`--dir-ro` value: host path, guest name and permission.
#[derive(Debug, PartialEq)]
struct Preopen {
    host: String,
    guest: String,
    perms: DirPerms,
}

/// Parses `HOST[::GUEST][::ro]`; `read_only` is set for `--dir-ro`.
fn parse_preopen(flag: &str, value: &str, read_only: bool) -> Result<Preopen> {
    let mut parts: Vec<&str> = value.split("::").collect();
    let mut perms = if read_only {
        DirPerms::ReadOnly
    } else {
        DirPerms::ReadWrite
    };
    if parts.len() > 1 {
        match parts.last().copied() {
            Some("ro") => {
                parts.pop();
                perms = DirPerms::ReadOnly;
            }
            Some("rw") if !read_only => {
                parts.pop();
            }
            _ => {}
        }
    }
    match parts.as_slice() {
        [host] if !host.is_empty() => Ok(Preopen {
            host: host.to_string(),
            guest: host.to_string(),
            perms,
        }),
        [host, guest] if !host.is_empty() && !guest.is_empty() => Ok(Preopen {
            host: host.to_string(),
            guest: guest.to_string(),
            perms,
        }),
        _ => bail!("{flag} \"{value}\": expected HOST[::GUEST] or HOST::GUEST::ro"),
    }
}

/// The host's whole environment, for `-S inherit-env` (variables that are not UTF-8 are left out,
/// with a warning, as WASI strings must be).
fn host_environment() -> Vec<(String, String)> {
    let mut env = Vec::new();
    for (key, value) in std::env::vars_os() {
        match (key.into_string(), value.into_string()) {
            (Ok(key), Ok(value)) => env.push((key, value)),
            (key, _) => eprintln!(
                "warning: -S inherit-env: the host variable {key:?} is not valid UTF-8; the guest \
                 will not see it"
            ),
        }
    }
    env
}

/// The directories `--dir` and `--dir-ro` name, checked to exist, as grants.
fn flag_dirs(args: &RunArgs) -> Result<Vec<DirGrant>> {
    let flagged = args
        .dirs
        .iter()
        .map(|v| ("--dir", parse_preopen("--dir", v, false)))
        .chain(
            args.dirs_ro
                .iter()
                .map(|v| ("--dir-ro", parse_preopen("--dir-ro", v, true))),
        );
    let mut grants = Vec::new();
    for (flag, preopen) in flagged {
        let preopen = preopen?;
        match std::fs::metadata(&preopen.host) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!("{flag} \"{}\": Not a directory", preopen.host),
            Err(e) => bail!("{flag} \"{}\": {}", preopen.host, describe_io(&e)),
        }
        grants.push(DirGrant {
            host: preopen.host.into(),
            guest: preopen.guest,
            perms: preopen.perms,
        });
    }
    Ok(grants)
}

/// The variables `--env` names, in order, later ones replacing earlier ones; `--env KEY` passes
/// the host's value on (with a warning if the host has none).
fn flag_env(args: &RunArgs) -> Result<Vec<EnvGrant>> {
    let mut grants: Vec<EnvGrant> = Vec::new();
    for value in &args.envs {
        let grant = match value.split_once('=') {
            Some((key, val)) => EnvGrant::Value {
                name: key.to_string(),
                value: val.to_string(),
            },
            None => match std::env::var(value) {
                Ok(_) => EnvGrant::Inherit(value.clone()),
                // Nothing to pass on: say so rather than silently give the guest less than asked.
                Err(std::env::VarError::NotPresent) => {
                    eprintln!(
                        "warning: --env \"{value}\": the host has no such variable; the guest will not see it"
                    );
                    continue;
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    bail!("--env \"{value}\": the host's value is not valid UTF-8")
                }
            },
        };
        let name = grant.name();
        if name.is_empty() {
            bail!("--env \"{value}\": the variable has no name");
        }
        if name.contains('\0')
            || matches!(&grant, EnvGrant::Value { value, .. } if value.contains('\0'))
        {
            bail!("--env \"{name}\": {:?} contains a NUL byte", value);
        }
        match grants.iter_mut().find(|g| g.name() == name) {
            Some(existing) => *existing = grant,
            None => grants.push(grant),
        }
    }
    Ok(grants)
}

/// The addresses `-S tcplisten` names, checked to be `IP:PORT`.
fn flag_listen(options: &WasiOptions) -> Result<Vec<String>> {
    for address in &options.tcp_listen {
        if address.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "-S tcplisten={address}: failed to listen there: not an IP:PORT address (e.g. \
                 127.0.0.1:8080)"
            );
        }
    }
    Ok(options.tcp_listen.clone())
}

/// The policy a command line without `--policy` grants: stdio inherited, and what `--dir`,
/// `--dir-ro`, `--env`, `-S inherit-env`, `-S tcplisten`, the limit flags, `--deterministic` and
/// `--seed` say. `guest_args` are the guest's arguments after its program name.
pub fn policy_from_flags(
    args: &RunArgs,
    options: &WasiOptions,
    limits: &PolicyLimits,
    guest_args: Vec<String>,
) -> Result<Policy> {
    let mut env: Vec<EnvGrant> = Vec::new();
    if options.inherit_env {
        for (name, _) in host_environment() {
            env.push(EnvGrant::Inherit(name));
        }
    }
    for grant in flag_env(args)? {
        match env.iter_mut().find(|g| g.name() == grant.name()) {
            Some(existing) => *existing = grant,
            None => env.push(grant),
        }
    }
    let mut policy = Policy {
        args: Some(guest_args),
        dirs: flag_dirs(args)?,
        env,
        stdin: StdioGrant::Inherit,
        stdout: StdioGrant::Inherit,
        stderr: StdioGrant::Inherit,
        limits: *limits,
        ..Policy::default()
    };
    policy.network.listen = flag_listen(options)?;
    policy.network.inherit = options.inherit_network;
    policy.network.name_lookup = options.allow_ip_name_lookup;
    policy.sort_env();
    if args.deterministic {
        policy.make_deterministic();
    }
    if let Some(seed) = args.seed {
        policy.random = RandomPolicy::Seeded(seed);
    }
    Ok(policy)
}

/// What the command line asks of a `--policy`: the directories, variables, arguments, listeners and
/// limits it names, to be checked against the policy's grants by [`Policy::narrowed`].
/// `-S inherit-env` cannot narrow anything and is refused.
pub fn narrowing_from_flags(
    args: &RunArgs,
    options: &WasiOptions,
    limits: &PolicyLimits,
    guest_args: Option<Vec<String>>,
) -> Result<Narrowing> {
    if options.inherit_env {
        bail!(
            "-S inherit-env cannot be used with --policy: it would grant the whole host \
             environment (list the variables in the policy's env.inherit)"
        );
    }
    if options.inherit_network || options.allow_ip_name_lookup {
        bail!(
            "-S inherit-network and -S allow-ip-name-lookup cannot be used with --policy: grant \
             the network in the policy (network.inherit, network.name_lookup)"
        );
    }
    Ok(Narrowing {
        dirs: flag_dirs(args)?,
        env: flag_env(args)?,
        args: guest_args,
        listen: flag_listen(options)?,
        limits: *limits,
        deterministic: args.deterministic,
        seed: args.seed,
    })
}

/// Reads the policy file at `path`.
pub fn read_policy(path: &std::path::Path) -> Result<Policy> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("failed to read policy \"{shown}\": {}", describe_io(&e)))?;
    Policy::from_toml(&text).map_err(|e| anyhow!("policy \"{shown}\": {e}"))
}

/// The guest's WASI context and its captured streams from `policy`, with `argv0` as the program
/// name, an audit log written to `audit` and a trace of the module (its binary) recorded to
/// `record` if given.
pub fn build_wasi(
    policy: &Policy,
    argv0: &str,
    audit: Option<std::fs::File>,
    record: Option<(std::fs::File, &[u8])>,
) -> Result<(WasiCtx, PolicyWasi)> {
    let mut wasi = policy.wasi(argv0).map_err(|e| anyhow!("{e}"))?;
    if let Some(file) = audit {
        wasi.builder.audit(file);
    }
    if let Some((file, module)) = record {
        wasi.builder.record(file, module);
    }
    let ctx = wasi.builder.build();
    Ok((ctx, wasi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &str) -> Result<WasiOptions> {
        let mut options = WasiOptions::default();
        options.apply_list(list)?;
        Ok(options)
    }

    #[test]
    fn bare_keys_mean_yes_and_listeners_accumulate() {
        let options =
            parse("threads,inherit-env=y,tcplisten=127.0.0.1:1,tcplisten=[::1]:2").unwrap();
        assert!(options.threads && options.inherit_env);
        assert_eq!(options.tcp_listen, ["127.0.0.1:1", "[::1]:2"]);
        assert_eq!(
            parse("preview2=n,inherit-network=n").unwrap(),
            WasiOptions::default()
        );
    }

    #[test]
    fn unsupported_requests_are_refused_with_a_reason() {
        assert_eq!(parse("preview2").unwrap(), WasiOptions::default());
        assert!(parse("preview2=maybe").is_err());
        let network = parse("inherit-network=y,allow-ip-name-lookup").unwrap();
        assert!(network.inherit_network && network.allow_ip_name_lookup);
        let error = check_module_options(&network).unwrap_err().to_string();
        assert!(error.contains("tcplisten"), "{error}");
        let error = parse("tcplisten").unwrap_err().to_string();
        assert!(error.contains("needs an address"), "{error}");
    }

    #[test]
    fn unknown_keys_are_named_with_the_supported_ones() {
        let error = parse("nn=y").unwrap_err().to_string();
        assert!(error.contains("`-S nn`"), "{error}");
        for key in WASI_KEYS {
            assert!(error.contains(key.name), "{error}");
        }
    }
}
