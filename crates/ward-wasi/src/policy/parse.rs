//! [`Policy::from_toml`]: the policy file format, read strictly. Every key is known or an error
//! naming it and its line; every value is checked (addresses parse, directories exist) before
//! anything runs.

use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::{
    ClockPolicy, DirGrant, EnvGrant, NetworkPolicy, Policy, PolicyError, PolicyLimits,
    RandomPolicy, StdioGrant, parse_bytes, parse_duration,
};
use crate::DirPerms;

/// The text being read, for turning byte offsets into line numbers.
struct Source<'a> {
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn invalid(&self, key: &str, at: usize, reason: impl Into<String>) -> PolicyError {
        PolicyError::Invalid {
            key: key.to_string(),
            line: self.line(at),
            reason: reason.into(),
        }
    }

    /// Fails on the first key of `table` not in `known`.
    fn only_keys(
        &self,
        prefix: &str,
        table: &DeTable<'_>,
        known: &[&str],
    ) -> Result<(), PolicyError> {
        for (key, _) in table.iter() {
            if !known.contains(&key.get_ref().as_ref()) {
                return Err(PolicyError::UnknownKey {
                    key: format!("{prefix}{}", key.get_ref()),
                    line: self.line(key.span().start),
                    hint: format!(" (expected one of: {})", known.join(", ")),
                });
            }
        }
        Ok(())
    }

    fn string(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<String, PolicyError> {
        value
            .get_ref()
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.invalid(key, value.span().start, expected("a string", value)))
    }

    fn bool(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<bool, PolicyError> {
        value
            .get_ref()
            .as_bool()
            .ok_or_else(|| self.invalid(key, value.span().start, expected("true or false", value)))
    }

    fn u64(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<u64, PolicyError> {
        let at = value.span().start;
        let integer = value
            .get_ref()
            .as_integer()
            .ok_or_else(|| self.invalid(key, at, expected("an integer", value)))?;
        u64::from_str_radix(integer.as_str(), integer.radix())
            .map_err(|_| self.invalid(key, at, "expected an integer from 0 to 2^64-1"))
    }

    /// A byte count: an integer, or a string such as "64MiB".
    fn bytes(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<u64, PolicyError> {
        match value.get_ref() {
            DeValue::String(text) => {
                parse_bytes(text).map_err(|reason| self.invalid(key, value.span().start, reason))
            }
            _ => self.u64(key, value),
        }
    }

    fn strings(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<Vec<String>, PolicyError> {
        let array = value.get_ref().as_array().ok_or_else(|| {
            self.invalid(
                key,
                value.span().start,
                expected("an array of strings", value),
            )
        })?;
        array
            .iter()
            .enumerate()
            .map(|(i, item)| self.string(&format!("{key}[{i}]"), item))
            .collect()
    }

    fn table<'t, 'i>(
        &self,
        key: &str,
        value: &'t Spanned<DeValue<'i>>,
    ) -> Result<&'t DeTable<'i>, PolicyError> {
        value
            .get_ref()
            .as_table()
            .ok_or_else(|| self.invalid(key, value.span().start, expected("a table", value)))
    }
}

fn expected(what: &str, value: &Spanned<DeValue<'_>>) -> String {
    format!("expected {what}, found {}", value.get_ref().type_str())
}

/// The value of `key` in `table`, if present.
fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

const TOP_KEYS: &[&str] = &[
    "args",
    "deterministic",
    "dir",
    "env",
    "stdio",
    "clocks",
    "random",
    "network",
    "limits",
];

impl Policy {
    /// Reads a policy from TOML. Nothing is granted that the text does not name.
    ///
    /// ```toml
    /// args = ["--verbose"]          # the guest's arguments after its program name
    /// deterministic = true          # virtual clocks + seeded random + stable file metadata
    ///
    /// [[dir]]                       # one table per directory, in descriptor order
    /// host = "data"                 # must exist (relative to the working directory)
    /// guest = "/data"               # the name the guest sees (default: host)
    /// access = "read-only"          # or "read-write" (default: read-only)
    ///
    /// [env]
    /// vars = { LANG = "C" }         # given values
    /// inherit = ["HOME"]            # the host's values, when it has them
    ///
    /// [stdio]                       # each "null" (default), "inherit", "captured" or { file = "…" }
    /// stdin = "null"
    /// stdout = "inherit"
    /// stderr = { file = "err.log" }
    ///
    /// [clocks]
    /// mode = "virtual"              # or "real" (default)
    /// epoch = 1700000000            # wall clock start, seconds since 1970 (virtual only)
    ///
    /// [random]
    /// mode = "seeded"               # or "real" (default)
    /// seed = 42
    ///
    /// [network]
    /// listen = ["127.0.0.1:8080"]   # bound and granted (preview1's only sockets)
    /// connect = ["10.0.0.1:443"]    # HOST:PORT allowlist, kept for interfaces that connect
    /// name_lookup = false
    ///
    /// [limits]
    /// fuel = 10_000_000
    /// memory = "64MiB"              # per memory; an integer is bytes
    /// table_elements = 10_000
    /// instances = 10
    /// stack = "512KiB"
    /// wall_time = "10s"
    /// ```
    ///
    /// Errors name the key and its line: malformed TOML, an unknown key, a value of the wrong type
    /// or form, a directory that does not exist, an address that does not parse.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let source = Source { text };
        let document = DeTable::parse(text).map_err(|e| PolicyError::Toml {
            line: e.span().map_or(1, |span| source.line(span.start)),
            message: e.message().lines().next().unwrap_or("").trim().to_string(),
        })?;
        let top = document.get_ref();
        source.only_keys("", top, TOP_KEYS)?;
        let mut policy = Policy::default();
        if let Some(value) = get(top, "args") {
            policy.args = Some(source.strings("args", value)?);
        }
        if let Some(value) = get(top, "dir") {
            let array = value.get_ref().as_array().ok_or_else(|| {
                source.invalid(
                    "dir",
                    value.span().start,
                    "expected an array of tables ([[dir]])",
                )
            })?;
            for (i, item) in array.iter().enumerate() {
                policy
                    .dirs
                    .push(read_dir(&source, &format!("dir[{i}]"), item)?);
            }
        }
        if let Some(value) = get(top, "env") {
            policy.env = read_env(&source, value)?;
        }
        if let Some(value) = get(top, "stdio") {
            let table = source.table("stdio", value)?;
            source.only_keys("stdio.", table, &["stdin", "stdout", "stderr"])?;
            for (name, slot) in [
                ("stdin", &mut policy.stdin),
                ("stdout", &mut policy.stdout),
                ("stderr", &mut policy.stderr),
            ] {
                if let Some(value) = get(table, name) {
                    *slot = read_stdio(&source, &format!("stdio.{name}"), value)?;
                }
            }
        }
        let mut explicitly_real = Vec::new();
        if let Some(value) = get(top, "clocks") {
            let table = source.table("clocks", value)?;
            source.only_keys("clocks.", table, &["mode", "epoch"])?;
            let epoch = get(table, "epoch")
                .map(|v| source.u64("clocks.epoch", v))
                .transpose()?;
            match get(table, "mode") {
                Some(mode) => match source.string("clocks.mode", mode)?.as_str() {
                    "real" => {
                        if let Some(v) = get(table, "epoch") {
                            return Err(source.invalid(
                                "clocks.epoch",
                                v.span().start,
                                "only a virtual clock has an epoch (set mode = \"virtual\")",
                            ));
                        }
                        explicitly_real.push("clocks.mode");
                    }
                    "virtual" => {
                        policy.clocks = ClockPolicy::Virtual {
                            epoch_seconds: epoch.unwrap_or(crate::DEFAULT_EPOCH_SECONDS),
                        };
                    }
                    other => {
                        return Err(source.invalid(
                            "clocks.mode",
                            mode.span().start,
                            format!("\"{other}\" is not \"real\" or \"virtual\""),
                        ));
                    }
                },
                None if epoch.is_some() => {
                    policy.clocks = ClockPolicy::Virtual {
                        epoch_seconds: epoch.unwrap_or_default(),
                    };
                }
                None => {}
            }
        }
        if let Some(value) = get(top, "random") {
            let table = source.table("random", value)?;
            source.only_keys("random.", table, &["mode", "seed"])?;
            let seed = get(table, "seed")
                .map(|v| source.u64("random.seed", v))
                .transpose()?;
            match get(table, "mode") {
                Some(mode) => match source.string("random.mode", mode)?.as_str() {
                    "real" => {
                        if let Some(v) = get(table, "seed") {
                            return Err(source.invalid(
                                "random.seed",
                                v.span().start,
                                "only seeded randomness has a seed (set mode = \"seeded\")",
                            ));
                        }
                        explicitly_real.push("random.mode");
                    }
                    "seeded" => policy.random = RandomPolicy::Seeded(seed.unwrap_or(0)),
                    other => {
                        return Err(source.invalid(
                            "random.mode",
                            mode.span().start,
                            format!("\"{other}\" is not \"real\" or \"seeded\""),
                        ));
                    }
                },
                None => {
                    if let Some(seed) = seed {
                        policy.random = RandomPolicy::Seeded(seed);
                    }
                }
            }
        }
        if let Some(value) = get(top, "deterministic")
            && source.bool("deterministic", value)?
        {
            if let Some(key) = explicitly_real.first() {
                return Err(source.invalid(
                    "deterministic",
                    value.span().start,
                    format!("conflicts with {key} = \"real\""),
                ));
            }
            policy.make_deterministic();
        }
        if let Some(value) = get(top, "network") {
            policy.network = read_network(&source, value)?;
        }
        if let Some(value) = get(top, "limits") {
            policy.limits = read_limits(&source, value)?;
        }
        Ok(policy)
    }
}

fn read_dir(
    source: &Source<'_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<DirGrant, PolicyError> {
    let table = source.table(key, value)?;
    source.only_keys(&format!("{key}."), table, &["host", "guest", "access"])?;
    let host_value = get(table, "host").ok_or_else(|| {
        source.invalid(
            key,
            value.span().start,
            "missing `host` (the host directory)",
        )
    })?;
    let host_key = format!("{key}.host");
    let host = source.string(&host_key, host_value)?;
    if host.is_empty() {
        return Err(source.invalid(&host_key, host_value.span().start, "empty path"));
    }
    match std::fs::metadata(&host) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(source.invalid(
                &host_key,
                host_value.span().start,
                format!("\"{host}\" is not a directory"),
            ));
        }
        Err(e) => {
            return Err(source.invalid(
                &host_key,
                host_value.span().start,
                format!("directory \"{host}\": {}", describe_io(&e)),
            ));
        }
    }
    let guest = match get(table, "guest") {
        Some(v) => {
            let guest = source.string(&format!("{key}.guest"), v)?;
            if guest.is_empty() || guest.contains('\0') {
                return Err(source.invalid(
                    &format!("{key}.guest"),
                    v.span().start,
                    "a guest name must be non-empty and without NUL",
                ));
            }
            guest
        }
        None => host.clone(),
    };
    let perms = match get(table, "access") {
        None => DirPerms::ReadOnly,
        Some(v) => match source.string(&format!("{key}.access"), v)?.as_str() {
            "read-only" | "ro" => DirPerms::ReadOnly,
            "read-write" | "rw" => DirPerms::ReadWrite,
            other => {
                return Err(source.invalid(
                    &format!("{key}.access"),
                    v.span().start,
                    format!("\"{other}\" is not \"read-only\" or \"read-write\""),
                ));
            }
        },
    };
    Ok(DirGrant {
        host: PathBuf::from(host),
        guest,
        perms,
    })
}

/// An `io::Error` as a short phrase, without Rust's " (os error N)" suffix.
fn describe_io(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn check_env_name(
    source: &Source<'_>,
    key: &str,
    at: usize,
    name: &str,
) -> Result<(), PolicyError> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(source.invalid(
            key,
            at,
            format!("{name:?} is not a variable name (non-empty, without = or NUL)"),
        ));
    }
    Ok(())
}

fn read_env(
    source: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<EnvGrant>, PolicyError> {
    let table = source.table("env", value)?;
    source.only_keys("env.", table, &["vars", "inherit"])?;
    let mut grants = Vec::new();
    if let Some(vars) = get(table, "vars") {
        for (name, value) in source.table("env.vars", vars)?.iter() {
            let name_text: &DeString<'_> = name.get_ref();
            let key = format!("env.vars.{name_text}");
            check_env_name(source, &key, name.span().start, name_text)?;
            let value = source.string(&key, value)?;
            if value.contains('\0') {
                return Err(source.invalid(&key, name.span().start, "the value contains NUL"));
            }
            grants.push(EnvGrant::Value {
                name: name_text.to_string(),
                value,
            });
        }
    }
    if let Some(inherit) = get(table, "inherit") {
        for name in source.strings("env.inherit", inherit)? {
            check_env_name(source, "env.inherit", inherit.span().start, &name)?;
            if grants.iter().any(|g| g.name() == name) {
                return Err(source.invalid(
                    "env.inherit",
                    inherit.span().start,
                    format!("{name} is also given a value in env.vars"),
                ));
            }
            grants.push(EnvGrant::Inherit(name));
        }
    }
    Ok(grants)
}

fn read_stdio(
    source: &Source<'_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<StdioGrant, PolicyError> {
    let at = value.span().start;
    let grant = match value.get_ref() {
        DeValue::String(text) => match text.as_ref() {
            "null" => StdioGrant::Null,
            "inherit" => StdioGrant::Inherit,
            "captured" => StdioGrant::Captured,
            other => {
                return Err(source.invalid(
                    key,
                    at,
                    format!(
                        "\"{other}\" is not \"null\", \"inherit\", \"captured\" or {{ file = \"PATH\" }}"
                    ),
                ));
            }
        },
        DeValue::Table(table) => {
            source.only_keys(&format!("{key}."), table, &["file"])?;
            let path = get(table, "file")
                .ok_or_else(|| source.invalid(key, at, "expected { file = \"PATH\" }"))?;
            let path = source.string(&format!("{key}.file"), path)?;
            if path.is_empty() {
                return Err(source.invalid(key, at, "empty file path"));
            }
            StdioGrant::File(PathBuf::from(path))
        }
        _ => {
            return Err(source.invalid(
                key,
                at,
                expected("a string or { file = \"PATH\" }", value),
            ));
        }
    };
    if key == "stdio.stdin" && grant == StdioGrant::Captured {
        return Err(source.invalid(key, at, "stdin cannot be captured (use null or a file)"));
    }
    Ok(grant)
}

fn read_network(
    source: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<NetworkPolicy, PolicyError> {
    let table = source.table("network", value)?;
    source.only_keys(
        "network.",
        table,
        &["listen", "connect", "name_lookup", "inherit"],
    )?;
    let mut network = NetworkPolicy::default();
    if let Some(listen) = get(table, "listen") {
        for (i, address) in source
            .strings("network.listen", listen)?
            .into_iter()
            .enumerate()
        {
            if address.parse::<std::net::SocketAddr>().is_err() {
                return Err(source.invalid(
                    &format!("network.listen[{i}]"),
                    listen.span().start,
                    format!("\"{address}\" is not IP:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)"),
                ));
            }
            network.listen.push(address);
        }
    }
    if let Some(connect) = get(table, "connect") {
        for (i, address) in source
            .strings("network.connect", connect)?
            .into_iter()
            .enumerate()
        {
            let valid = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(source.invalid(
                    &format!("network.connect[{i}]"),
                    connect.span().start,
                    format!("\"{address}\" is not HOST:PORT"),
                ));
            }
            network.connect.push(address);
        }
    }
    if let Some(lookup) = get(table, "name_lookup") {
        network.name_lookup = source.bool("network.name_lookup", lookup)?;
    }
    if let Some(inherit) = get(table, "inherit") {
        network.inherit = source.bool("network.inherit", inherit)?;
    }
    Ok(network)
}

fn read_limits(
    source: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<PolicyLimits, PolicyError> {
    let table = source.table("limits", value)?;
    source.only_keys(
        "limits.",
        table,
        &[
            "fuel",
            "memory",
            "table_elements",
            "instances",
            "stack",
            "wall_time",
        ],
    )?;
    let mut limits = PolicyLimits::default();
    let count = |key: &str| {
        get(table, key)
            .map(|v| source.u64(&format!("limits.{key}"), v))
            .transpose()
    };
    let bytes = |key: &str| {
        get(table, key)
            .map(|v| source.bytes(&format!("limits.{key}"), v))
            .transpose()
    };
    limits.fuel = count("fuel")?;
    limits.table_elements = count("table_elements")?;
    limits.instances = count("instances")?;
    limits.memory = bytes("memory")?;
    limits.stack = bytes("stack")?;
    if let Some(v) = get(table, "wall_time") {
        let text = source.string("limits.wall_time", v)?;
        limits.wall_time = Some(
            parse_duration(&text)
                .map_err(|reason| source.invalid("limits.wall_time", v.span().start, reason))?,
        );
    }
    Ok(limits)
}
