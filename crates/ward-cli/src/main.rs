//! The `ward` command: run WebAssembly modules (`run.rs`), run spec scripts (`wast.rs`), validate
//! modules, and `settings`, `config new` and `completion` as in Wasmtime; ward's own `policy`
//! (`policy_command.rs`), `replay` (`replay.rs`) and `resume` (`snapshots.rs`).
//!
//! A thin client of the `ward`, `ward-wasi` and `ward-wast` libraries; flags follow `wasmtime` where
//! they overlap (`-W` in `limits.rs`, `-S` in `wasi_options.rs`, `--config` in `config_file.rs`).
//! Everything after MODULE on a `run` command line is the guest's, never ward's. Exit codes: a guest's
//! `proc_exit(n)` exits n; a trap exits 134 (with the trap and its Wasm backtrace on stderr); a load,
//! link or usage error exits 1 with a one-line reason; clap exits 2 for a malformed command line.

mod codegen;
mod compile;
mod config_file;
mod invoke;
mod limits;
mod linking;
mod policy_command;
mod replay;
mod run;
mod run_component;
mod snapshots;
mod wasi_options;
mod wast;
mod wave;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, Parser, Subcommand};
use config_file::ConfigFile;
use limits::LimitArgs;
use run::run;
pub(crate) use run::{Host, report_trap};
use ward::{Engine, Module};
use wasi_options::WasiOptions;

#[derive(Parser)]
#[command(
    name = "ward",
    version,
    about = "The ward WebAssembly runtime",
    // `ward MODULE [ARGS]` runs the module, as `ward run MODULE [ARGS]` does (as in Wasmtime).
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WebAssembly module (.wasm or .wat).
    Run(Box<RunArgs>),
    /// Run WebAssembly spec scripts (.wast) and report pass/fail counts per file.
    Wast(wast::WastArgs),
    /// Compile a module ahead of time with Cranelift into a precompiled module (`.cwasm`), which
    /// `ward run --allow-precompiled` runs without compiling it again.
    Compile(compile::CompileArgs),
    /// Check that a module is valid and supported by ward.
    Validate {
        /// The module (.wasm or .wat).
        module: PathBuf,
    },
    /// Print a module's functions as ward's interpreter bytecode, each instruction below the Wasm
    /// operators it was translated from (as `wasmtime explore` shows machine code).
    Explore {
        /// The module (.wasm or .wat).
        module: PathBuf,
        /// Only this function (its index, or its name from the name section).
        #[arg(long, value_name = "FUNC")]
        func: Option<String>,
    },
    /// Continue a program from a snapshot written by `ward run --snapshot-at-fuel`, exactly where
    /// it stopped. Grant the same directories again (by the same guest names).
    Resume(Box<ResumeArgs>),
    /// Work with configuration files (`--config`).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the engine settings a run would use: proposals on or off, and limits.
    Settings {
        #[command(flatten)]
        limits: LimitArgs,
        /// Read options from a TOML config file first, as `ward run --config` does.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run MODULE again from a trace `ward run --record` wrote, without touching the host's files,
    /// network or clocks; a call that differs from the recorded run stops it with an error.
    Replay {
        /// The trace.
        trace: PathBuf,
        /// The module that was recorded (its hash is checked).
        module: PathBuf,
        /// The recorded run's limits (a run that ended on one replays to the same trap).
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Check capability policies (`--policy`) and write them from command lines.
    #[command(subcommand)]
    Policy(policy_command::PolicyCommand),
    /// Print a shell completion script for ward.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Write a new configuration file with every option ward reads, commented out, with its
    /// default. Without FILE, prints it; an existing FILE is left alone.
    New {
        /// Where to write it.
        file: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Call this exported function instead of `_start`; ARGS are its parameters. For a component:
    /// `NAME(ARGS)`, with the arguments in WAVE.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// The guest's argv[0] (default: MODULE as given).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Instantiate the module at PATH first and let MODULE import its exports from NAME (repeatable;
    /// each preload may import from the ones before it).
    #[arg(long = "preload", value_name = "NAME=PATH")]
    preloads: Vec<String>,
    /// Grant a host directory read-write, as GUEST (default: the same path). Append `::ro` for read-only.
    #[arg(long = "dir", value_name = "HOST[::GUEST][::ro]")]
    dirs: Vec<String>,
    /// Grant a host directory read-only, as GUEST (default: the same path).
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]")]
    dirs_ro: Vec<String>,
    /// Set an environment variable for the guest; `KEY` alone passes the host's value on.
    #[arg(long = "env", value_name = "KEY[=VALUE]")]
    envs: Vec<String>,
    /// WASI options, as in Wasmtime: inherit-env, tcplisten=ADDR, threads, …; `-S help` lists them.
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VALUE]")]
    wasi_options: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Debugging options, as in Wasmtime: coredump=PATH writes a Wasm core dump (the format
    /// `wasm-tools` and `wasmgdb` read) to PATH when the program traps; `-D help` lists them.
    #[arg(short = 'D', long = "debug", value_name = "KEY=VALUE")]
    debug_options: Vec<String>,
    #[command(flatten)]
    codegen: codegen::CodegenArgs,
    /// Allow running a precompiled module (`.cwasm`, from `ward compile`). Its machine code is
    /// run as it is: only pass files this ward made and no one else could change.
    #[arg(long)]
    allow_precompiled: bool,
    /// Read options from a TOML file in Wasmtime's shape (`[wasm]`, `[wasi]`); the command line
    /// overrides it. `ward config new FILE` writes a commented one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Grant exactly what the capability policy FILE grants (TOML; `ward policy check FILE`
    /// validates one). --dir, --dir-ro, --env, -S tcplisten and the limit flags may then only
    /// narrow it: naming anything it does not grant, or a higher limit, is an error.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Write an audit log of every capability decision (file opens, binds, accepts, environment
    /// reads; clock and random use counted; how the run ended) to FILE, as JSON Lines.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Make the run a function of its module, inputs and grants: canonical NaNs, virtual clocks,
    /// seeded random, sorted directory listings and fixed file metadata (docs/DETERMINISM.md).
    #[arg(long)]
    deterministic: bool,
    /// Record every WASI call (its arguments, result and the bytes it wrote into the guest's
    /// memory) to TRACE, for `ward replay TRACE MODULE`.
    #[arg(long, value_name = "TRACE")]
    record: Option<PathBuf>,
    /// The seed of --deterministic's random numbers (default 0).
    #[arg(long, value_name = "N", requires = "deterministic")]
    seed: Option<u64>,
    /// Run until N units of fuel are used, then write a snapshot of the running program to
    /// --snapshot FILE and exit 0; `ward resume FILE` continues it.
    #[arg(long, value_name = "N", requires = "snapshot")]
    snapshot_at_fuel: Option<u64>,
    /// Where --snapshot-at-fuel writes the snapshot.
    #[arg(long, value_name = "FILE", requires = "snapshot_at_fuel")]
    snapshot: Option<PathBuf>,
    /// The library part of a snapshot to continue from (set by `ward resume`).
    #[arg(skip)]
    resume_from: Option<Vec<u8>>,
    /// The module (.wasm or .wat), then the guest's arguments (its argv after the module path) or the
    /// parameters of --invoke. Everything after MODULE belongs to the guest and is passed on verbatim,
    /// flags included: ward's own options go before MODULE.
    #[arg(
        value_name = "MODULE [ARGS]",
        trailing_var_arg = true,
        required = true,
        num_args = 1..
    )]
    module_and_args: Vec<OsString>,
}

#[derive(clap::Args)]
struct ResumeArgs {
    /// Grant a host directory read-write, as GUEST: the snapshot's directories are opened again
    /// by their guest names. Append `::ro` for read-only.
    #[arg(long = "dir", value_name = "HOST[::GUEST][::ro]")]
    dirs: Vec<String>,
    /// Grant a host directory read-only, as GUEST.
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]")]
    dirs_ro: Vec<String>,
    /// WASI options, as for `ward run`.
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VALUE]")]
    wasi_options: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Read options from a TOML file, as for `ward run`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The module, when it is not at the path the snapshot names (its hash must match).
    #[arg(long, value_name = "FILE")]
    module: Option<PathBuf>,
    /// Snapshot again after N more units of fuel.
    #[arg(long, value_name = "N", requires = "snapshot")]
    snapshot_at_fuel: Option<u64>,
    /// Where --snapshot-at-fuel writes the snapshot.
    #[arg(long, value_name = "FILE", requires = "snapshot_at_fuel")]
    snapshot: Option<PathBuf>,
    /// The snapshot file.
    #[arg(value_name = "SNAPSHOT")]
    file: PathBuf,
}

/// `ward resume`: a run of the snapshot's module that continues the snapshot.
fn resume(args: ResumeArgs) -> Result<Outcome> {
    let file = snapshots::read_file(&args.file)?;
    let module = args.module.unwrap_or(file.module);
    let run_args = RunArgs {
        invoke: None,
        argv0: None,
        preloads: Vec::new(),
        dirs: args.dirs,
        dirs_ro: args.dirs_ro,
        envs: Vec::new(),
        wasi_options: args.wasi_options,
        limits: args.limits,
        debug_options: Vec::new(),
        codegen: codegen::CodegenArgs::default(),
        allow_precompiled: false,
        config: args.config,
        snapshot_at_fuel: args.snapshot_at_fuel,
        snapshot: args.snapshot,
        resume_from: Some(file.snapshot),
        policy: None,
        audit: None,
        // A deterministic run resumes deterministic: its clocks and random numbers continue from
        // the snapshot's.
        deterministic: file.deterministic,
        record: None,
        seed: None,
        module_and_args: vec![module.into_os_string()],
    };
    run(&run_args).map_err(|e| e.context(format!("failed to resume \"{}\"", args.file.display())))
}

impl RunArgs {
    /// What the run does about snapshots.
    fn plan(&self) -> snapshots::Plan {
        snapshots::Plan {
            snapshot_at: self.snapshot_at_fuel.zip(self.snapshot.clone()),
            resume_from: self.resume_from.clone(),
            deterministic: false,
        }
    }

    /// The `-S` options over the config file's `[wasi]` ones, checked; `-S help` prints the list and
    /// exits.
    fn wasi_options(&self, file: &ConfigFile) -> Result<WasiOptions> {
        let mut options = WasiOptions::default();
        for (key, value) in &file.wasi {
            options
                .apply(key, value.as_deref())
                .map_err(|e| anyhow!("config file \"{}\": [wasi] {e}", file.shown))?;
        }
        for list in &self.wasi_options {
            if list.split(',').any(|item| item == "help") {
                print!("{}", wasi_options::wasi_options_help());
                std::process::exit(0);
            }
            options.apply_list(list)?;
        }
        Ok(options)
    }

    /// The `-D` options: where to write a core dump, if anywhere. `-D help` prints the list and
    /// exits.
    fn coredump_path(&self) -> Result<Option<PathBuf>> {
        let mut path = None;
        for item in self.debug_options.iter().flat_map(|list| list.split(',')) {
            match item.split_once('=') {
                _ if item == "help" => {
                    print!(
                        "Available debug options (-D KEY=VALUE):\n\n  \
                         coredump=PATH   when the program traps, write a Wasm core dump to PATH\n"
                    );
                    std::process::exit(0);
                }
                Some(("coredump", value)) if !value.is_empty() => path = Some(PathBuf::from(value)),
                _ if item == "coredump" || item == "coredump=" => {
                    bail!("-D coredump needs a path: -D coredump=PATH")
                }
                _ => bail!("unknown debug option `{item}` (`-D help` lists them)"),
            }
        }
        Ok(path)
    }

    /// The `--config` file's options (none without one).
    fn config_file(&self) -> Result<ConfigFile> {
        match &self.config {
            Some(path) => ConfigFile::read(path),
            None => Ok(ConfigFile::default()),
        }
    }

    /// The module path: the first positional argument (clap requires one).
    fn module(&self) -> &Path {
        Path::new(
            self.module_and_args
                .first()
                .map_or("".as_ref(), |m| m.as_os_str()),
        )
    }

    /// Everything after the module, as text: the guest's argv or the `--invoke` parameters.
    fn guest_args(&self) -> Result<Vec<String>> {
        self.module_and_args
            .iter()
            .skip(1)
            .enumerate()
            .map(|(i, arg)| {
                arg.to_str().map(str::to_string).ok_or_else(|| {
                    anyhow!(
                        "argument {} after the module is not valid UTF-8: {arg:?}",
                        i + 1
                    )
                })
            })
            .collect()
    }
}

/// An `io::Error` as a short phrase, without Rust's " (os error N)" suffix.
fn describe_io(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// How a command ended, mapped to the process exit code.
enum Outcome {
    Success,
    Failure,
    Trap,
    /// The guest asked to exit with this code.
    Exit(i32),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `ward run -W help` names no module, which clap requires: answer it anyway.
        Err(_) if asks_for_options_help("-W", "--wasm", std::env::args().skip(1)) => {
            print!("{}", limits::wasm_options_help());
            return ExitCode::SUCCESS;
        }
        Err(_) if asks_for_options_help("-S", "--wasi", std::env::args().skip(1)) => {
            print!("{}", wasi_options::wasi_options_help());
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Some(Command::Run(args)) => run(&args),
        Some(Command::Resume(args)) => resume(*args),
        Some(Command::Wast(args)) => wast::run(&args),
        Some(Command::Compile(args)) => compile::run(&args),
        Some(Command::Validate { module }) => validate(&module),
        Some(Command::Explore { module, func }) => explore(&module, func.as_deref()),
        Some(Command::Config(ConfigCommand::New { file })) => config_new(file.as_deref()),
        Some(Command::Settings { limits, config }) => settings(&limits, config.as_deref()),
        Some(Command::Policy(command)) => policy_command::run(command),
        Some(Command::Replay {
            trace,
            module,
            limits,
        }) => replay::run(&trace, &module, &limits),
        Some(Command::Completion { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "ward", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
        None => run(&cli.run),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failure) => ExitCode::from(1),
        Ok(Outcome::Trap) => ExitCode::from(134),
        // Exit codes are truncated to 8 bits by the OS, as with wasmtime.
        Ok(Outcome::Exit(code)) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether the command line asks for `help` from the option group `short`/`long` (`-W`/`--wasm` or
/// `-S`/`--wasi`): as `-W help`, `-Whelp`, `--wasm=help` or in a comma list.
fn asks_for_options_help(short: &str, long: &str, args: impl Iterator<Item = String>) -> bool {
    let mut after_flag = false;
    for arg in args {
        let attached = if arg == long {
            Some("")
        } else {
            arg.strip_prefix(short)
                .or_else(|| arg.strip_prefix(long)?.strip_prefix('='))
        };
        let value = match attached {
            Some("") => {
                after_flag = true;
                continue;
            }
            Some(value) => value.to_string(),
            None if after_flag => arg,
            None => continue,
        };
        after_flag = false;
        if value.split(',').any(|option| option == "help") {
            return true;
        }
    }
    false
}

/// Reads and compiles a module; text-format errors name the file (`hello.wat:4:5`).
fn load_module(engine: &Engine, path: &Path) -> Result<Module> {
    let binary = read_module(path)?;
    Module::from_binary(engine, &binary)
        .with_context(|| format!("failed to compile module \"{}\"", path.display()))
}

/// Reads a module file: a precompiled module (`.cwasm`) as it is (`true`), else the binary or text
/// as a binary (`false`).
fn read_module_or_precompiled(path: &Path) -> Result<(Vec<u8>, bool)> {
    let bytes = read_module_file(path)?;
    if Engine::is_precompiled(&bytes) {
        return Ok((bytes, true));
    }
    Ok((module_binary(path, &bytes)?, false))
}

/// The module's binary form: the file itself, or its text form converted.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    module_binary(path, &read_module_file(path)?)
}

/// The bytes of module file `path`.
fn read_module_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        anyhow!(
            "failed to read module \"{}\": {}",
            path.display(),
            describe_io(&e)
        )
    })
}

/// `bytes` (of module file `path`) as a binary module: as they are, or converted from the text
/// format; a text error names the file.
fn module_binary(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    match wat::parse_bytes(bytes) {
        Ok(binary) => Ok(binary.into_owned()),
        Err(mut e) => {
            e.set_path(path);
            Err(anyhow!("failed to parse module text: {e}"))
        }
    }
}

/// `ward config new [FILE]`: the commented default config file, printed or written to a new FILE.
fn config_new(file: Option<&Path>) -> Result<Outcome> {
    let text = config_file::default_file_text();
    let Some(path) = file else {
        print!("{text}");
        return Ok(Outcome::Success);
    };
    let shown = path.display();
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow!("config file \"{shown}\" already exists (ward leaves it alone)")
            }
            _ => anyhow!(
                "failed to create config file \"{shown}\": {}",
                describe_io(&e)
            ),
        })?;
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| {
        anyhow!(
            "failed to write config file \"{shown}\": {}",
            describe_io(&e)
        )
    })?;
    println!("created a new configuration file at \"{shown}\"");
    Ok(Outcome::Success)
}

/// `ward settings`: the engine settings after the config file and `-W` options.
fn settings(args: &LimitArgs, config: Option<&Path>) -> Result<Outcome> {
    let file = match config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    let limits = args.resolve(&file)?;
    print!("{}", limits.settings_text());
    Ok(Outcome::Success)
}

/// `ward explore`: the bytecode of every function (or of `func`), with its Wasm operators.
fn explore(path: &Path, func: Option<&str>) -> Result<Outcome> {
    let engine = Engine::default();
    let bytes = read_module(path)?;
    let module = Module::from_binary(&engine, &bytes)
        .with_context(|| format!("failed to compile \"{}\"", path.display()))?;
    let listing = module.disassemble(Some(&bytes));
    let Some(func) = func else {
        print!("{listing}");
        return Ok(Outcome::Success);
    };
    // Functions start at lines `func N` or `func N $name`.
    let wanted = |line: &str| {
        let head = line.strip_prefix("func ").unwrap_or("");
        let mut words = head.split([' ', ':']);
        let index = words.next().unwrap_or("");
        let name = words.next().unwrap_or("");
        index == func || name.strip_prefix('$') == Some(func)
    };
    let mut printing = false;
    let mut found = false;
    for line in listing.lines() {
        if line.starts_with("func ") {
            printing = wanted(line);
            found |= printing;
        }
        if printing {
            println!("{line}");
        }
    }
    if !found {
        bail!("\"{}\" defines no function {func}", path.display());
    }
    Ok(Outcome::Success)
}

fn validate(path: &Path) -> Result<Outcome> {
    let engine = Engine::default();
    let bytes = read_module(path)?;
    match Module::from_binary(&engine, &bytes) {
        Ok(_) => Ok(Outcome::Success),
        Err(e) => {
            eprintln!("error: \"{}\" is not a valid module: {e}", path.display());
            Ok(Outcome::Failure)
        }
    }
}
