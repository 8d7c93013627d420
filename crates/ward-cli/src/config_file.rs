//! `--config FILE`: Wasmtime's TOML configuration file, for the options ward has, and the commented
//! default file `ward config new` writes.
//!
//! The file has Wasmtime's shape: tables named after the option groups, keys spelled as after `-W`
//! and `-S` (`[wasm] fuel = 1000`, `[wasm] simd = false`, `[wasi] inherit-env = true`). ward reads
//! `[wasm]` and `[wasi]`; Wasmtime's `[optimize]`, `[codegen]`, `[debug]` and `[record]` tables are
//! accepted only when empty, as no key of theirs means anything to an interpreter. Every value becomes
//! the text `-W`/`-S` would take (`true` → `y`), so `limits.rs` and `wasi_options.rs` check both the
//! same way; the command line overrides the file. Read by `main.rs`.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use ward::WasmProposal;

/// Wasmtime's option tables that have no key ward supports.
const OTHER_WASMTIME_TABLES: &[&str] = &["optimize", "codegen", "debug", "record"];

/// The keys that may be given several times, and so take a list in the file.
const LIST_KEYS: &[&str] = &["tcplisten"];

/// A `--config` file's options, as `-W` and `-S` would give them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ConfigFile {
    /// The file, for messages.
    pub shown: String,
    /// `[wasm]` keys and values (`None`: never; every value has a text form).
    pub wasm: Vec<(String, Option<String>)>,
    /// `[wasi]` keys and values.
    pub wasi: Vec<(String, Option<String>)>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<ConfigFile> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow!(
                "failed to read config file \"{shown}\": {}",
                crate::describe_io(&e)
            )
        })?;
        ConfigFile::parse(&text, &shown).map_err(|e| anyhow!("config file \"{shown}\": {e}"))
    }

    /// Parses the text of a config file; `shown` names it in later messages.
    pub fn parse(text: &str, shown: &str) -> Result<ConfigFile> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => anyhow!("invalid TOML at line {line}: {}", one_line(e.message())),
                None => anyhow!("invalid TOML: {}", one_line(e.message())),
            }
        })?;
        let mut file = ConfigFile {
            shown: shown.to_string(),
            ..ConfigFile::default()
        };
        for (name, value) in &table {
            let toml::Value::Table(entries) = value else {
                bail!("unknown key `{name}` outside a table (ward reads [wasm] and [wasi])");
            };
            let target = match name.as_str() {
                "wasm" => &mut file.wasm,
                "wasi" => &mut file.wasi,
                other if OTHER_WASMTIME_TABLES.contains(&other) => {
                    if let Some(key) = entries.keys().next() {
                        bail!(
                            "[{other}] {key}: not supported by ward (an interpreter has no \
                             [{other}] options; ward reads [wasm] and [wasi])"
                        );
                    }
                    continue;
                }
                other => bail!(
                    "unknown table [{other}] (ward reads [wasm] and [wasi]; Wasmtime's [optimize], \
                     [codegen], [debug] and [record] may only be empty)"
                ),
            };
            for (key, value) in entries {
                if matches!(value, toml::Value::Array(_)) && !LIST_KEYS.contains(&key.as_str()) {
                    bail!("[{name}] {key}: expected one value, not a list");
                }
                for text in option_texts(value).map_err(|e| anyhow!("[{name}] {key}: {e}"))? {
                    target.push((key.clone(), Some(text)));
                }
            }
        }
        Ok(file)
    }
}

/// A message on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A TOML value as the text of one or more `-W`/`-S` values (an array, as for `tcplisten`, gives one
/// per element).
fn option_texts(value: &toml::Value) -> Result<Vec<String>> {
    Ok(match value {
        toml::Value::Boolean(on) => vec![if *on { "y" } else { "n" }.to_string()],
        toml::Value::Integer(n) => vec![n.to_string()],
        toml::Value::Float(x) => vec![x.to_string()],
        toml::Value::String(text) => vec![text.clone()],
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    bail!("expected a list of plain values")
                }
                _ => Ok(option_texts(item)?.remove(0)),
            })
            .collect::<Result<_>>()?,
        // A duration as serde writes one (`timeout = { secs = 2, nanos = 0 }`).
        toml::Value::Table(table)
            if !table.is_empty()
                && table.keys().all(|k| k == "secs" || k == "nanos")
                && table
                    .values()
                    .all(|v| v.as_integer().is_some_and(|n| n >= 0)) =>
        {
            let part = |key: &str| {
                table
                    .get(key)
                    .and_then(toml::Value::as_integer)
                    .unwrap_or(0)
            };
            if part("nanos") >= 1_000_000_000 {
                bail!("nanos must be below 1000000000");
            }
            vec![format!("{}.{:09}s", part("secs"), part("nanos"))]
        }
        toml::Value::Table(_) | toml::Value::Datetime(_) => {
            bail!("expected a boolean, a number, a string or {{ secs = N, nanos = N }}")
        }
    })
}

/// The commented default file `ward config new` writes: every key ward reads, commented out, with
/// its default.
pub fn default_file_text() -> String {
    let mut text = String::from(
        "# ward configuration, in Wasmtime's `--config` shape: `ward run --config FILE ...`.\n\
         # Uncomment a line to set it; options on the command line override the file.\n\
         # Keys are spelled as after -W ([wasm]) and -S ([wasi]); `ward run -W help` and\n\
         # `ward run -S help` describe them.\n\n\
         [wasm]\n\
         # Limits (unset: unlimited, or ward's default).\n\
         # fuel = 1000000                # fuel the guest may consume\n\
         # timeout = \"10s\"               # wall-clock time the guest may run\n\
         # max-memory-size = 67108864    # bytes any one linear memory may have (or \"64MiB\")\n\
         # max-wasm-stack = 1048576      # bytes of Wasm stack\n\
         # max-table-elements = 10000    # elements any one table may have\n\
         # max-instances = 10            # instances a run may create\n\
         # max-tables = 10               # tables a run may create\n\
         # max-memories = 10             # memories a run may create\n\
         # trap-on-grow-failure = false  # a refused memory.grow/table.grow traps instead of returning -1\n\
         # unknown-imports-trap = false  # function imports nothing provides fail only when called\n\n\
         # WebAssembly proposals (shown with their defaults).\n\
         # all-proposals = true          # switch every proposal below\n",
    );
    for proposal in WasmProposal::ALL {
        let line = format!(
            "# {} = {}",
            proposal.cli_name(),
            proposal.enabled_by_default()
        );
        text.push_str(&format!("{line:<32}# {}\n", proposal.summary()));
    }
    text.push_str(
        "\n[wasi]\n\
         # inherit-env = false           # pass the whole host environment to the guest\n\
         # tcplisten = [\"127.0.0.1:8080\"] # TCP listeners granted to the guest\n\
         # threads = false               # let the guest start threads (wasi-threads)\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile> {
        ConfigFile::parse(text, "test.toml")
    }

    #[test]
    fn values_become_their_command_line_text() {
        let file = parse(
            "[wasm]\nfuel = 10\nsimd = false\ntimeout = \"2s\"\n\
             [wasi]\ninherit-env = true\ntcplisten = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n\
             [optimize]\n",
        )
        .unwrap();
        let pairs = |list: &[(String, Option<String>)]| {
            list.iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&file.wasm), ["fuel=10", "simd=n", "timeout=2s"]);
        assert_eq!(
            pairs(&file.wasi),
            [
                "inherit-env=y",
                "tcplisten=127.0.0.1:1",
                "tcplisten=127.0.0.1:2"
            ]
        );
    }

    #[test]
    fn durations_may_be_written_as_serde_writes_them() {
        let file = parse("[wasm]\ntimeout = { secs = 1, nanos = 500000000 }\n").unwrap();
        assert_eq!(
            file.wasm,
            [("timeout".to_string(), Some("1.500000000s".to_string()))]
        );
        assert!(parse("[wasm]\ntimeout = { secs = 1, nanos = 1000000000 }\n").is_err());
        assert!(parse("[wasm]\ntimeout = { secs = -1 }\n").is_err());
        assert!(parse("[wasm]\ntimeout = { minutes = 1 }\n").is_err());
    }

    #[test]
    fn keys_ward_cannot_honour_are_named() {
        let error = parse("[optimize]\nopt-level = 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("[optimize] opt-level: not supported"),
            "{error}"
        );
        let error = parse("[turbo]\n").unwrap_err().to_string();
        assert!(error.contains("unknown table [turbo]"), "{error}");
        let error = parse("fuel = 1\n").unwrap_err().to_string();
        assert!(error.contains("unknown key `fuel`"), "{error}");
        let error = parse("[wasm]\nfuel = [1, 2]\n").unwrap_err().to_string();
        assert!(
            error.starts_with("[wasm] fuel: expected one value"),
            "{error}"
        );
        let error = parse("[wasm]\nfuel = {}\n").unwrap_err().to_string();
        assert!(error.starts_with("[wasm] fuel:"), "{error}");
    }

    #[test]
    fn invalid_toml_is_one_line_with_its_line_number() {
        let error = parse("[wasm]\nfuel = = 3\n").unwrap_err().to_string();
        assert!(error.starts_with("invalid TOML at line 2:"), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }

    #[test]
    fn the_default_file_parses_to_nothing() {
        let file = parse(&default_file_text()).unwrap();
        assert!(file.wasm.is_empty() && file.wasi.is_empty());
        // Uncommented, every line is a valid setting.
        let uncommented: String = default_file_text()
            .lines()
            .map(|line| {
                line.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(line)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(!parse(&uncommented).unwrap().wasm.is_empty());
    }
}
