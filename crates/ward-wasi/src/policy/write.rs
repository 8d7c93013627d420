//! [`Policy::to_toml`]: a policy as the text [`Policy::from_toml`] reads back to the same policy
//! (what `ward policy from-flags` prints).

use std::fmt::Write as _;

use super::{ClockPolicy, EnvGrant, Policy, RandomPolicy, StdioGrant, format_duration};
use crate::DirPerms;

/// `text` as a TOML basic string (JSON's escapes are all valid TOML escapes).
fn quoted(text: &str) -> String {
    let mut out = String::new();
    crate::audit::push_json_string(&mut out, text);
    out
}

fn quoted_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.into_iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}

fn stdio_text(grant: &StdioGrant) -> String {
    match grant {
        StdioGrant::Null => quoted("null"),
        StdioGrant::Inherit => quoted("inherit"),
        StdioGrant::Captured => quoted("captured"),
        StdioGrant::File(path) => format!("{{ file = {} }}", quoted(&path.to_string_lossy())),
    }
}

impl Policy {
    /// The policy as TOML, every grant spelled out (defaults included, so the file says what it
    /// grants). `from_toml` of the text gives this policy back, as long as its directories exist.
    pub fn to_toml(&self) -> String {
        let mut out =
            String::from("# ward capability policy: nothing is granted unless listed here.\n");
        if self.stable_metadata {
            // Only `deterministic` sets stable metadata; the clocks and random tables below state
            // the rest of what it sets, with their epoch and seed.
            out.push_str("deterministic = true\n");
        }
        if let Some(args) = &self.args {
            let _ = writeln!(out, "args = {}", quoted_list(args));
        }
        for dir in &self.dirs {
            let access = match dir.perms {
                DirPerms::ReadOnly => "read-only",
                DirPerms::ReadWrite => "read-write",
            };
            let _ = write!(
                out,
                "\n[[dir]]\nhost = {}\nguest = {}\naccess = {}\n",
                quoted(&dir.host.to_string_lossy()),
                quoted(&dir.guest),
                quoted(access)
            );
        }
        let vars: Vec<String> = self
            .env
            .iter()
            .filter_map(|grant| match grant {
                EnvGrant::Value { name, value } => {
                    Some(format!("{} = {}", quoted(name), quoted(value)))
                }
                EnvGrant::Inherit(_) => None,
            })
            .collect();
        let inherit: Vec<&String> = self
            .env
            .iter()
            .filter_map(|grant| match grant {
                EnvGrant::Inherit(name) => Some(name),
                EnvGrant::Value { .. } => None,
            })
            .collect();
        let _ = write!(
            out,
            "\n[env]\nvars = {{ {} }}\ninherit = {}\n",
            vars.join(", "),
            quoted_list(inherit)
        );
        let _ = write!(
            out,
            "\n[stdio]\nstdin = {}\nstdout = {}\nstderr = {}\n",
            stdio_text(&self.stdin),
            stdio_text(&self.stdout),
            stdio_text(&self.stderr)
        );
        match self.clocks {
            ClockPolicy::Real => out.push_str("\n[clocks]\nmode = \"real\"\n"),
            ClockPolicy::Virtual { epoch_seconds } => {
                let _ = write!(
                    out,
                    "\n[clocks]\nmode = \"virtual\"\nepoch = {epoch_seconds}\n"
                );
            }
        }
        match self.random {
            RandomPolicy::Real => out.push_str("\n[random]\nmode = \"real\"\n"),
            RandomPolicy::Seeded(seed) => {
                let _ = write!(out, "\n[random]\nmode = \"seeded\"\nseed = {seed}\n");
            }
        }
        let _ = write!(
            out,
            "\n[network]\nlisten = {}\nconnect = {}\nname_lookup = {}\ninherit = {}\n",
            quoted_list(&self.network.listen),
            quoted_list(&self.network.connect),
            self.network.name_lookup,
            self.network.inherit
        );
        out.push_str("\n[limits]\n");
        let limits = &self.limits;
        for (key, value) in [
            ("fuel", limits.fuel),
            ("memory", limits.memory),
            ("table_elements", limits.table_elements),
            ("instances", limits.instances),
            ("stack", limits.stack),
        ] {
            if let Some(value) = value {
                let _ = writeln!(out, "{key} = {value}");
            }
        }
        if let Some(wall_time) = limits.wall_time {
            let _ = writeln!(out, "wall_time = {}", quoted(&format_duration(wall_time)));
        }
        out
    }
}
