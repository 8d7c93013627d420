//! The resource-limit flags of `ward run`: `--fuel`, `--timeout`, `--max-memory`, `--max-stack`, and
//! Wasmtime's spellings of the same as `-W fuel=N,timeout=…,max-memory-size=…,max-wasm-stack=…`, plus
//! `-W trap-on-grow-failure=y|n`, and Wasmtime's `-W max-table-elements=N,max-instances=N,max-tables=N,
//! max-memories=N` (table growth beyond the first fails like memory growth; more instances, tables or
//! memories than allowed fail instantiation), and `-W unknown-imports-trap=y|n` (read by `main.rs`).
//! The `[wasm]` table of a `--config` file gives the same keys; the command line overrides it.
//!
//! Fuel, time and stack limits, when exhausted, end the run as a trap (exit 134) whose message names
//! the flag. The memory limit behaves as in Wasmtime: `memory.grow` beyond it returns -1 and the
//! program goes on (it may handle the failure); with `-W trap-on-grow-failure=y` the growth traps
//! instead. A module whose initial memory already exceeds the limit fails to instantiate (exit 1).
//! `--timeout` and `--max-memory` also bound compiling the module (its time, and the size of the code
//! it translates to): a module beyond them fails to load (exit 1).
//!
//! The same `-W` also switches WebAssembly proposals, with Wasmtime's names (`-W simd=n`,
//! `-W wide-arithmetic=y`, `-W all-proposals=y`; a name alone means `=y`); `-W help` lists them.

use std::time::Duration;

use crate::config_file::ConfigFile;
use anyhow::{Result, anyhow};
use ward::{Config, StoreLimits, StoreLimitsBuilder, TrapKind, WasmProposal};
use ward_wasi::policy::PolicyLimits;
pub use ward_wasi::policy::{parse_bytes, parse_duration};

/// Limit flags as given on the command line.
#[derive(clap::Args, Debug, Default)]
pub struct LimitArgs {
    /// Fuel the guest may consume (one unit per Wasm instruction); exhausting it traps.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Wall-clock time the guest may run, e.g. `1s`, `500ms`, `2m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Largest size any linear memory may have, e.g. `64MiB`; `memory.grow` beyond it returns -1
    /// (`-W trap-on-grow-failure=y` makes it trap).
    #[arg(long = "max-memory", value_name = "BYTES", value_parser = parse_bytes)]
    max_memory: Option<u64>,
    /// Largest size all linear memories, tables and the GC heap may have together, e.g. `256MiB` (a
    /// table element counts 8 bytes); memory growth beyond it returns -1 like growth beyond
    /// `--max-memory`, a GC allocation beyond it traps.
    #[arg(long = "max-total-memory", value_name = "BYTES", value_parser = parse_bytes)]
    max_total_memory: Option<u64>,
    /// Bytes of Wasm stack (interpreter slots and frames); deeper recursion traps.
    #[arg(long = "max-stack", value_name = "BYTES", value_parser = parse_bytes)]
    max_stack: Option<u64>,
    /// Wasmtime-style options: fuel=N, timeout=DURATION, max-memory-size=BYTES, max-wasm-stack=BYTES,
    /// max-table-elements=N, max-instances=N, max-tables=N, max-memories=N, trap-on-grow-failure[=y|n],
    /// and proposal switches such as simd[=y|n] or wide-arithmetic[=y|n]; `-W help` lists them.
    #[arg(
        short = 'W',
        long = "wasm",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    wasm_options: Vec<String>,
}

/// The limits in effect for one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Limits {
    pub fuel: Option<u64>,
    pub timeout: Option<Duration>,
    pub max_memory: Option<u64>,
    pub max_stack: Option<u64>,
    /// A refused `memory.grow`/`table.grow` traps instead of returning -1 (unset: no).
    pub trap_on_grow_failure: Option<bool>,
    /// Function imports nothing defines become functions that fail when called (unset: no).
    pub unknown_imports_trap: Option<bool>,
    /// Most bytes all memories, tables and the GC heap may take together (`--max-total-memory`).
    pub max_total_memory: Option<u64>,
    /// Most elements any one table may have (`-W max-table-elements`).
    pub max_table_elements: Option<u64>,
    /// Most instances, tables and memories in the store (`-W max-instances`, `max-tables`,
    /// `max-memories`).
    pub max_instances: Option<u64>,
    pub max_tables: Option<u64>,
    pub max_memories: Option<u64>,
    /// Proposals switched on or off with `-W NAME=y|n`, in command-line order.
    pub proposals: Vec<(WasmProposal, bool)>,
}

impl LimitArgs {
    /// Merges the long flags with the `-W` options (a value given both ways must agree), over the
    /// `[wasm]` options of a `--config` file: the command line wins.
    pub fn resolve(&self, file: &ConfigFile) -> Result<Limits> {
        let mut from_file = Limits::default();
        for (key, value) in &file.wasm {
            from_file
                .apply(key, value.as_deref(), false)
                .map_err(|e| anyhow!("config file \"{}\": [wasm] {key}: {e}", file.shown))?;
        }
        let mut limits = Limits {
            fuel: self.fuel,
            timeout: self.timeout,
            max_memory: self.max_memory,
            max_stack: self.max_stack,
            max_total_memory: self.max_total_memory,
            ..Limits::default()
        };
        for option in &self.wasm_options {
            if option == "help" {
                print!("{}", wasm_options_help());
                std::process::exit(0);
            }
            let (key, value) = match option.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (option.as_str(), None),
            };
            limits
                .apply(key, value, true)
                .map_err(|e| anyhow!("-W {key}: {e}"))?;
        }
        Ok(limits.over(from_file))
    }
}

/// The `-W` keys other than proposals, for error messages.
const WASM_KEYS: &str = "fuel, timeout, max-memory-size, max-wasm-stack, max-table-elements, \
    max-instances, max-tables, max-memories, trap-on-grow-failure, unknown-imports-trap, \
    all-proposals and the proposals `-W help` lists";

impl Limits {
    /// Applies one `-W` option (or `[wasm]` key); `value` is `None` for a bare switch, meaning `y`.
    /// With `once`, a value the long flags already set must agree (the command line names a limit
    /// once); without it, a later value replaces an earlier one.
    fn apply(&mut self, key: &str, value: Option<&str>, once: bool) -> Result<(), String> {
        let switch = || parse_bool(value.unwrap_or("y"));
        let value_of = || value.ok_or_else(|| "expected KEY=VALUE".to_string());
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("\"{text}\" is not a number"))
        };
        match key {
            "fuel" => set(&mut self.fuel, number(value_of()?)?, once)?,
            "timeout" => set(&mut self.timeout, parse_duration(value_of()?)?, once)?,
            "max-memory-size" => set(&mut self.max_memory, parse_bytes(value_of()?)?, once)?,
            "max-wasm-stack" => set(&mut self.max_stack, parse_bytes(value_of()?)?, once)?,
            "max-table-elements" => set(&mut self.max_table_elements, number(value_of()?)?, once)?,
            "max-instances" => set(&mut self.max_instances, number(value_of()?)?, once)?,
            "max-tables" => set(&mut self.max_tables, number(value_of()?)?, once)?,
            "max-memories" => set(&mut self.max_memories, number(value_of()?)?, once)?,
            "trap-on-grow-failure" => self.trap_on_grow_failure = Some(switch()?),
            "unknown-imports-trap" => self.unknown_imports_trap = Some(switch()?),
            "all-proposals" => {
                let enable = switch()?;
                self.proposals
                    .extend(WasmProposal::ALL.iter().map(|p| (*p, enable)));
            }
            name => match WasmProposal::from_cli_name(name) {
                Some(proposal) => self.proposals.push((proposal, switch()?)),
                None => return Err(format!("unknown option (supported: {WASM_KEYS})")),
            },
        }
        Ok(())
    }

    /// These options, with `base` filling in what they leave unset (and its proposal switches
    /// applied first, so these win).
    fn over(self, base: Limits) -> Limits {
        Limits {
            fuel: self.fuel.or(base.fuel),
            timeout: self.timeout.or(base.timeout),
            max_memory: self.max_memory.or(base.max_memory),
            max_stack: self.max_stack.or(base.max_stack),
            trap_on_grow_failure: self.trap_on_grow_failure.or(base.trap_on_grow_failure),
            unknown_imports_trap: self.unknown_imports_trap.or(base.unknown_imports_trap),
            max_total_memory: self.max_total_memory.or(base.max_total_memory),
            max_table_elements: self.max_table_elements.or(base.max_table_elements),
            max_instances: self.max_instances.or(base.max_instances),
            max_tables: self.max_tables.or(base.max_tables),
            max_memories: self.max_memories.or(base.max_memories),
            proposals: base.proposals.into_iter().chain(self.proposals).collect(),
        }
    }
}

/// The text of `-W help`: every option, and every proposal switch with its default.
pub fn wasm_options_help() -> String {
    let mut text = String::from(
        "Available wasm options (-W KEY=VALUE, several separated by commas):\n\n\
         \x20 -W fuel=N                      fuel the guest may consume\n\
         \x20 -W timeout=DURATION            wall-clock time the guest may run\n\
         \x20 -W max-memory-size=BYTES       largest size of any linear memory\n\
         \x20 -W max-wasm-stack=BYTES        bytes of Wasm stack\n\
         \x20 -W max-table-elements=N        most elements of any table\n\
         \x20 -W max-instances=N             most instances\n\
         \x20 -W max-tables=N                most tables\n\
         \x20 -W max-memories=N              most memories\n\
         \x20 -W trap-on-grow-failure[=y|n]  trap instead of returning -1 from a refused grow\n\
         \x20 -W unknown-imports-trap[=y|n]  define function imports nothing provides as functions\n\
         \x20                                that fail when called\n\
         \x20 -W all-proposals[=y|n]         switch every proposal below\n\n\
         WebAssembly proposals (-W NAME[=y|n]):\n\n",
    );
    for proposal in WasmProposal::ALL {
        let default = if proposal.enabled_by_default() {
            "on"
        } else {
            "off"
        };
        text.push_str(&format!(
            "  -W {:<27} {} (default {default})\n",
            format!("{}[=y|n]", proposal.cli_name()),
            proposal.summary()
        ));
    }
    text
}

fn set<T: PartialEq + std::fmt::Debug>(
    slot: &mut Option<T>,
    value: T,
    once: bool,
) -> Result<(), String> {
    match slot {
        Some(existing) if once && *existing != value => Err(format!(
            "conflicts with the value {existing:?} given by its long flag"
        )),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

impl Limits {
    /// Turns on the engine features the limits need, and switches the proposals `-W` named.
    pub fn configure(&self, config: &mut Config) {
        for (proposal, enable) in &self.proposals {
            config.wasm_proposal(*proposal, *enable);
        }
        if self.fuel.is_some() {
            config.consume_fuel(true);
        }
        if let Some(timeout) = self.timeout {
            config.epoch_interruption(true);
            // Compilation comes out of the same time budget (it cannot take longer than the run).
            config.max_compile_time(timeout);
        }
        if let Some(bytes) = self.max_memory {
            // Translated code is memory the guest's module makes the host allocate: bound it too.
            config.max_translated_size(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        if let Some(bytes) = self.max_stack {
            config.max_wasm_stack(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
    }

    /// The limits a policy states (fuel, memory, table elements, instances, stack, wall time).
    pub fn policy_limits(&self) -> PolicyLimits {
        PolicyLimits {
            fuel: self.fuel,
            memory: self.max_memory,
            table_elements: self.max_table_elements,
            instances: self.max_instances,
            stack: self.max_stack,
            wall_time: self.timeout,
        }
    }

    /// Takes the policy's values for the limits a policy states (after `--policy` narrowed them).
    pub fn set_policy_limits(&mut self, limits: &PolicyLimits) {
        self.fuel = limits.fuel;
        self.max_memory = limits.memory;
        self.max_table_elements = limits.table_elements;
        self.max_instances = limits.instances;
        self.max_stack = limits.stack;
        self.timeout = limits.wall_time;
    }

    /// The store limits: `base` (the policy's: memory, table elements, instances) plus the ones only
    /// the command line has. Memory growth past `--max-memory` fails (returns -1), or traps with
    /// `-W trap-on-grow-failure=y`.
    pub fn store_limits(&self, base: StoreLimitsBuilder) -> StoreLimits {
        let mut builder = base.trap_on_grow_failure(self.trap_on_grow_failure.unwrap_or(false));
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(bytes) = self.max_total_memory {
            builder = builder.total_size(size(bytes));
        }
        if let Some(count) = self.max_tables {
            builder = builder.tables(size(count));
        }
        if let Some(count) = self.max_memories {
            builder = builder.memories(size(count));
        }
        builder.build()
    }

    /// The text of `ward settings`: every proposal on or off, and every limit.
    pub fn settings_text(&self) -> String {
        let mut config = Config::new();
        self.configure(&mut config);
        let mut text = format!(
            "ward {} engine settings (an interpreter: there are no code generator settings)\n\n\
             WebAssembly proposals:\n",
            env!("CARGO_PKG_VERSION")
        );
        for proposal in WasmProposal::ALL {
            let missing: Vec<_> = proposal
                .requires()
                .iter()
                .filter(|needed| !config.proposal_enabled(**needed))
                .map(|needed| needed.cli_name())
                .collect();
            let state = match (config.proposal_enabled(*proposal), missing.is_empty()) {
                (false, _) => "off".to_string(),
                (true, true) => "on".to_string(),
                (true, false) => format!("off (needs {})", missing.join(", ")),
            };
            text.push_str(&format!("  {:<26} {state}\n", proposal.cli_name()));
        }
        let or_default =
            |value: Option<String>, default: &str| value.unwrap_or_else(|| default.to_string());
        let bytes = |value: Option<u64>| value.map(|b| format!("{b} bytes"));
        let count = |value: Option<u64>| value.map(|n| n.to_string());
        let switch = |value: Option<bool>| if value == Some(true) { "yes" } else { "no" };
        let rows = [
            ("fuel", or_default(count(self.fuel), "unlimited")),
            (
                "timeout",
                or_default(self.timeout.map(|t| format!("{t:?}")), "none"),
            ),
            (
                "max-memory-size",
                or_default(bytes(self.max_memory), "unlimited"),
            ),
            (
                "max-total-memory",
                or_default(bytes(self.max_total_memory), "unlimited"),
            ),
            (
                "max-wasm-stack",
                or_default(bytes(self.max_stack), "ward's default"),
            ),
            (
                "max-table-elements",
                or_default(count(self.max_table_elements), "unlimited"),
            ),
            (
                "max-instances",
                or_default(count(self.max_instances), "unlimited"),
            ),
            (
                "max-tables",
                or_default(count(self.max_tables), "unlimited"),
            ),
            (
                "max-memories",
                or_default(count(self.max_memories), "unlimited"),
            ),
            (
                "trap-on-grow-failure",
                switch(self.trap_on_grow_failure).to_string(),
            ),
            (
                "unknown-imports-trap",
                switch(self.unknown_imports_trap).to_string(),
            ),
        ];
        text.push_str("\nLimits:\n");
        for (name, value) in rows {
            text.push_str(&format!("  {name:<26} {value}\n"));
        }
        text
    }

    /// Names the flag behind a trap, when a limit caused it.
    pub fn explain(&self, kind: TrapKind) -> Option<String> {
        match kind {
            TrapKind::OutOfFuel => self
                .fuel
                .map(|n| format!("fuel limit of {n} exhausted (--fuel)")),
            TrapKind::Interrupt => self
                .timeout
                .map(|t| format!("time limit of {t:?} reached (--timeout)")),
            TrapKind::MemoryLimitExceeded => match (self.max_memory, self.max_total_memory) {
                (Some(b), None) => Some(format!(
                    "memory limit of {b} bytes exceeded (--max-memory with trap-on-grow-failure)"
                )),
                (None, Some(t)) => Some(format!(
                    "total memory limit of {t} bytes exceeded (--max-total-memory with trap-on-grow-failure)"
                )),
                (Some(b), Some(t)) => Some(format!(
                    "memory limit of {b} bytes per memory or {t} bytes in all exceeded \
                     (--max-memory, --max-total-memory with trap-on-grow-failure)"
                )),
                (None, None) => None,
            },
            TrapKind::GcHeapExhausted => self.max_total_memory.map(|t| {
                format!(
                    "GC heap exhausted: the total memory limit of {t} bytes (--max-total-memory) \
                     or the GC heap's own maximum was reached"
                )
            }),
            TrapKind::TableLimitExceeded => self.max_table_elements.map(|n| {
                format!(
                    "table limit of {n} elements exceeded (-W max-table-elements with trap-on-grow-failure)"
                )
            }),
            TrapKind::StackOverflow => Some(match self.max_stack {
                Some(b) => format!("Wasm stack limit of {b} bytes exhausted (--max-stack)"),
                None => {
                    "default Wasm stack limit exhausted (raise it with --max-stack)".to_string()
                }
            }),
            _ => None,
        }
    }
}

/// Parses a Wasmtime-style boolean option value: `y`/`yes`/`true` or `n`/`no`/`false`.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => Err(format!("\"{text}\" is not y, yes, true, n, no or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_common_units() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("1 fortnight").is_err());
    }

    #[test]
    fn byte_counts_accept_binary_and_decimal_suffixes() {
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("64M"), Ok(64 << 20));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("2KB"), Ok(2000));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999999999999GiB").is_err());
    }

    #[test]
    fn wasmtime_spellings_merge_with_long_flags() {
        let args = LimitArgs {
            fuel: Some(10),
            wasm_options: vec![
                "fuel=10".into(),
                "max-memory-size=1MiB".into(),
                "timeout=2s".into(),
            ],
            ..Default::default()
        };
        let limits = args.resolve(&ConfigFile::default()).unwrap();
        assert_eq!(limits.fuel, Some(10));
        assert_eq!(limits.max_memory, Some(1 << 20));
        assert_eq!(limits.timeout, Some(Duration::from_secs(2)));

        let conflicting = LimitArgs {
            fuel: Some(10),
            wasm_options: vec!["fuel=11".into()],
            ..Default::default()
        };
        assert!(conflicting.resolve(&ConfigFile::default()).is_err());
        let unknown = LimitArgs {
            wasm_options: vec!["turbo=1".into()],
            ..Default::default()
        };
        assert!(
            unknown
                .resolve(&ConfigFile::default())
                .unwrap_err()
                .to_string()
                .contains("unknown option")
        );
    }
}
