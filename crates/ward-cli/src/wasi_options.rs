//! The guest's WASI view from the `ward run` command line: `--dir`, `--dir-ro`, `--env`, and Wasmtime's
//! `-S KEY[=VALUE]` options (several separated by commas, or the `[wasi]` table of a `--config`
//! file), checked into a [`WasiOptions`]; [`build_wasi`] turns them into a `WasiCtx`.
//!
//! ward implements WASI preview1 for core modules only. Keys that Wasmtime accepts and ward cannot
//! honour are refused with a reason rather than ignored, so a run never has less than it asked for:
//! `inherit-network=y` (preview1 has no way to open sockets; `tcplisten` grants listeners).
//! `preview2` is accepted either way: for a core module Wasmtime's `preview2=y` only picks how it
//! implements preview1, and the module behaves the same under ward's preview1 (components are
//! refused when they are loaded). Called by `main.rs`.

use anyhow::{Context, Result, anyhow, bail};
use ward_wasi::{DirPerms, WasiCtx, WasiCtxBuilder, WasiError};

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
        help: "not supported: preview1 cannot open sockets (grant listeners with tcplisten)",
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
            "inherit-network" => {
                if on()? {
                    bail!(
                        "`-S inherit-network` is not supported: ward's WASI (preview1) cannot open \
                         sockets; grant a listening socket with `-S tcplisten=ADDR` instead"
                    );
                }
            }
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

/// Sets `key` in `env`, replacing an earlier value.
fn set_env(env: &mut Vec<(String, String)>, key: &str, value: String) {
    match env.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => env.push((key.to_string(), value)),
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

/// Builds the guest's WASI view from the command line: nothing is granted unless a flag says so.
pub fn build_wasi(args: &RunArgs, options: &WasiOptions, argv: &[String]) -> Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder.args(argv).context("guest arguments")?;
    let mut env = if options.inherit_env {
        host_environment()
    } else {
        Vec::new()
    };
    for value in &args.envs {
        let (key, val) = match value.split_once('=') {
            Some((key, val)) => (key, val.to_string()),
            None => match std::env::var(value) {
                Ok(val) => (value.as_str(), val),
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
        if key.is_empty() {
            bail!("--env \"{value}\": the variable has no name");
        }
        set_env(&mut env, key, val);
    }
    for (key, val) in &env {
        builder
            .env(key, val)
            .map_err(|e| anyhow!("--env \"{key}\": {e}"))?;
    }
    let preopens = args
        .dirs
        .iter()
        .map(|v| parse_preopen("--dir", v, false))
        .chain(
            args.dirs_ro
                .iter()
                .map(|v| parse_preopen("--dir-ro", v, true)),
        )
        .collect::<Result<Vec<_>>>()?;
    for (preopen, flag) in preopens.iter().zip(
        std::iter::repeat_n("--dir", args.dirs.len())
            .chain(std::iter::repeat_n("--dir-ro", args.dirs_ro.len())),
    ) {
        builder
            .preopened_dir(&preopen.host, &preopen.guest, preopen.perms)
            .map_err(|e| match e {
                WasiError::Preopen { source, .. } => {
                    anyhow!("{flag} \"{}\": {}", preopen.host, describe_io(&source))
                }
                other => anyhow!("{flag} \"{}\": {other}", preopen.host),
            })?;
    }
    // Listeners get the descriptors after the preopened directories.
    for address in &options.tcp_listen {
        let listener = std::net::TcpListener::bind(address.as_str()).map_err(|e| {
            anyhow!(
                "-S tcplisten={address}: failed to listen there: {}",
                describe_io(&e)
            )
        })?;
        builder.preopened_socket(listener);
    }
    Ok(builder.build())
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
        let error = parse("inherit-network=y").unwrap_err().to_string();
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
