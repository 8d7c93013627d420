//! The `ward` command: run WebAssembly modules, run spec scripts (`wast.rs`), validate modules, and
//! `settings`, `config new` and `completion` as in Wasmtime.
//!
//! A thin client of the `ward`, `ward-wasi` and `ward-wast` libraries; flags follow `wasmtime` where
//! they overlap (`-W` in `limits.rs`, `-S` in `wasi_options.rs`, `--config` in `config_file.rs`).
//! Everything after MODULE on a `run` command line is the guest's, never ward's. Exit codes: a guest's
//! `proc_exit(n)` exits n; a trap exits 134 (with the trap and its Wasm backtrace on stderr); a load,
//! link or usage error exits 1 with a one-line reason; clap exits 2 for a malformed command line.

mod config_file;
mod invoke;
mod limits;
mod linking;
mod policy_command;
mod replay;
mod snapshots;
mod wasi_options;
mod wast;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, Parser, Subcommand};
use config_file::ConfigFile;
use invoke::{count, format_val, parse_arg};
use limits::{LimitArgs, Limits};
use linking::{
    define_shared_memories, define_unknown_imports_as_failing, imports_thread_spawn,
    instantiate_preload,
};
use ward::{Config, Engine, Error, Linker, Module, Store, StoreLimits, Trap, Val};
use ward_wasi::policy::Policy;
use ward_wasi::{RunEnd, WasiCtx, WasiThreads};
use wasi_options::{WasiOptions, build_wasi};

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
    /// Call this exported function instead of `_start`; ARGS are its parameters.
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
    let (recorded, snapshot) = snapshots::read_file(&args.file)?;
    let module = args.module.unwrap_or(recorded);
    let run_args = RunArgs {
        invoke: None,
        argv0: None,
        preloads: Vec::new(),
        dirs: args.dirs,
        dirs_ro: args.dirs_ro,
        envs: Vec::new(),
        wasi_options: args.wasi_options,
        limits: args.limits,
        config: args.config,
        snapshot_at_fuel: args.snapshot_at_fuel,
        snapshot: args.snapshot,
        resume_from: Some(snapshot),
        policy: None,
        audit: None,
        deterministic: false,
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

/// The module's binary form: the file itself, or its text form converted.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow!(
            "failed to read module \"{}\": {}",
            path.display(),
            describe_io(&e)
        )
    })?;
    match wat::parse_bytes(&bytes) {
        Ok(binary) => Ok(binary.into_owned()),
        Err(mut e) => {
            e.set_path(path);
            Err(anyhow!("failed to parse module text: {e}"))
        }
    }
}

/// What the CLI keeps in the store: the guest's WASI view and its resource limits.
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// Prints a trap on stderr, naming the flag whose limit caused it.
fn report_trap(context: &str, trap: &Trap, limits: &Limits) {
    match limits.explain(trap.kind()) {
        Some(reason) => eprintln!("error: {context}: {reason}\n{trap}"),
        None => eprintln!("error: {context}: {trap}"),
    }
}

/// The policy a `run` command line grants: `--policy` narrowed by the flags, or the flags alone.
/// `limits` take the policy's values for the limits a policy states.
fn resolve_policy(
    args: &RunArgs,
    wasi_options: &WasiOptions,
    limits: &mut Limits,
    guest_args: Vec<String>,
) -> Result<Policy> {
    let policy = match &args.policy {
        Some(path) => {
            let granted = wasi_options::read_policy(path)?;
            let given_args = (!guest_args.is_empty()).then_some(guest_args);
            let narrowing = wasi_options::narrowing_from_flags(
                args,
                wasi_options,
                &limits.policy_limits(),
                given_args,
            )?;
            granted
                .narrowed(&narrowing)
                .map_err(|e| anyhow!("--policy \"{}\": {e}", path.display()))?
        }
        None => wasi_options::policy_from_flags(
            args,
            wasi_options,
            &limits.policy_limits(),
            guest_args,
        )?,
    };
    limits.set_policy_limits(&policy.limits);
    Ok(policy)
}

fn run(args: &RunArgs) -> Result<Outcome> {
    let file = args.config_file()?;
    let mut limits = args.limits.resolve(&file)?;
    let wasi_options = args.wasi_options(&file)?;
    // Everything after the module belongs to the guest: its argv (after argv[0], the module path or
    // --argv0), or with --invoke the function's parameters.
    let guest_args = args.guest_args()?;
    let argv_rest = if args.invoke.is_none() {
        guest_args.clone()
    } else {
        Vec::new()
    };
    let policy = resolve_policy(args, &wasi_options, &mut limits, argv_rest)?;
    let plan = args.plan();
    snapshots::check_options(
        &plan,
        args.invoke.is_some(),
        !args.preloads.is_empty(),
        limits.fuel,
    )?;
    if plan.snapshot_at.is_some()
        && (policy.clocks != ward_wasi::policy::ClockPolicy::Real
            || policy.random != ward_wasi::policy::RandomPolicy::Real)
    {
        bail!(
            "--snapshot-at-fuel cannot be used with virtual clocks or seeded random (--deterministic): \
             a snapshot does not keep their state yet, so the resumed run would not continue them"
        );
    }
    if plan.snapshot_at.is_some() && args.record.is_some() {
        bail!(
            "--record cannot be used with --snapshot-at-fuel: the trace would end at the snapshot"
        );
    }
    if wasi_options.threads && policy.is_deterministic() {
        bail!(
            "-S threads cannot be used with a deterministic run: thread scheduling depends on the host"
        );
    }
    let deadline = limits.timeout.and_then(|t| Instant::now().checked_add(t));
    let mut config = Config::new();
    limits.configure(&mut config);
    policy.configure(&mut config);
    // A virtual clock advances with the fuel executed: meter it even without a fuel limit (a
    // snapshot plan meters fuel and sets it itself).
    let meter_fuel_for_clock = limits.fuel.is_none()
        && !plan.meters()
        && policy.clocks != ward_wasi::policy::ClockPolicy::Real;
    if meter_fuel_for_clock || plan.meters() {
        config.consume_fuel(true);
    }
    let engine = Engine::new(&config)?;
    let module_path = args.module();
    let shown = module_path.display().to_string();
    let binary = read_module(module_path)?;
    let module = Module::from_binary(&engine, &binary)
        .with_context(|| format!("failed to compile module \"{shown}\""))?;
    let argv0 = args.argv0.clone().unwrap_or_else(|| shown.clone());
    let audit = match &args.audit {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| {
            anyhow!(
                "failed to create audit log \"{}\": {}",
                path.display(),
                describe_io(&e)
            )
        })?),
        None => None,
    };
    let record = match &args.record {
        Some(path) => {
            if wasi_options.threads {
                bail!("--record cannot be used with -S threads: a trace is one sequence of calls");
            }
            Some(std::fs::File::create(path).map_err(|e| {
                anyhow!(
                    "failed to create trace \"{}\": {}",
                    path.display(),
                    describe_io(&e)
                )
            })?)
        }
        None => None,
    };
    let (wasi, granted) = build_wasi(
        &policy,
        &argv0,
        audit,
        record.map(|file| (file, binary.as_slice())),
    )?;
    let audit_handle = wasi.share();
    let mut end = RunEnd::Returned;
    let outcome = execute(
        args,
        &plan,
        &engine,
        &module,
        module_path,
        &shown,
        wasi,
        &policy,
        &limits,
        &wasi_options,
        deadline,
        meter_fuel_for_clock,
        &guest_args,
        &mut end,
    );
    if let Err(e) = audit_handle.finish_audit(&end) {
        eprintln!(
            "warning: failed to write the audit log: {}",
            describe_io(&e)
        );
    }
    // Captured streams are the embedder's to read; the command line shows them when the run ends.
    if let Some(buffer) = &granted.stdout {
        let _ = std::io::Write::write_all(&mut std::io::stdout(), &buffer.contents());
    }
    if let Some(buffer) = &granted.stderr {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &buffer.contents());
    }
    outcome
}

/// Links, instantiates and calls the module; `end` says how the run ended, for the audit log.
#[allow(clippy::too_many_arguments)]
fn execute(
    args: &RunArgs,
    plan: &snapshots::Plan,
    engine: &Engine,
    module: &Module,
    module_path: &Path,
    shown: &str,
    wasi: WasiCtx,
    policy: &Policy,
    limits: &Limits,
    wasi_options: &WasiOptions,
    deadline: Option<Instant>,
    meter_fuel_for_clock: bool,
    guest_args: &[String],
    end: &mut RunEnd,
) -> Result<Outcome> {
    let mut store = Store::new(
        engine,
        Host {
            wasi,
            limits: limits.store_limits(policy.store_limits()),
        },
    );
    store.limiter(|host: &mut Host| &mut host.limits);
    let fuel = limits.fuel.or(meter_fuel_for_clock.then_some(u64::MAX));
    if let Some(fuel) = fuel {
        store.set_fuel(fuel)?;
    }
    // One budget for the whole run: the start function and then `_start` (or the invoked function).
    // A deadline covers one outermost call into Wasm, so it is armed again before the second.
    if let Some(at) = deadline {
        store.set_wall_clock_deadline_at(at);
    }
    let preloads = args
        .preloads
        .iter()
        .map(|value| {
            let (name, path) = value
                .split_once('=')
                .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                .ok_or_else(|| anyhow!("--preload \"{value}\": expected NAME=PATH"))?;
            Ok((name, load_module(engine, Path::new(path))?))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut linker = Linker::new(engine);
    if std::iter::once(module)
        .chain(preloads.iter().map(|(_, m)| m))
        .any(ward_wasi::imports_wasi)
    {
        ward_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)
            .context("failed to define WASI functions")?;
    }
    define_shared_memories(&store, module, &mut linker)?;
    if imports_thread_spawn(module) {
        if !wasi_options.threads {
            bail!(
                "module \"{shown}\" imports `wasi::thread-spawn`: run it with `-S threads=y` to let it \
                 start threads"
            );
        }
        let threads = WasiThreads::new(
            module,
            |host: &mut Host| Host {
                wasi: host.wasi.share(),
                limits: host.limits.clone(),
            },
            move |store: &mut Store<Host>| {
                store.limiter(|host: &mut Host| &mut host.limits);
                if let Some(fuel) = fuel {
                    let _ = store.set_fuel(fuel);
                }
                if let Some(at) = deadline {
                    store.set_wall_clock_deadline_at(at);
                }
            },
            {
                let limits = limits.clone();
                let shown = shown.to_string();
                let audit = store.data().wasi.share();
                move |error: Error| {
                    // The process ends here: flush the audit log first.
                    let _ = audit.finish_audit(&RunEnd::of_error(&error));
                    std::process::exit(end_from_thread(&error, &shown, &limits))
                }
            },
        );
        threads
            .add_to_linker(&mut linker)
            .context("failed to define wasi-threads")?;
        threads.set_linker(&linker);
    }
    for (name, preload) in &preloads {
        if let Some(outcome) = instantiate_preload(&mut store, &mut linker, name, preload, limits)?
        {
            return Ok(outcome);
        }
    }
    if limits.unknown_imports_trap == Some(true) {
        define_unknown_imports_as_failing(&mut store, &mut linker, module)?;
    }
    let instantiated = linker.instantiate(&mut store, module);
    if instantiated.is_err() {
        *end = RunEnd::of(&instantiated);
    }
    let instance = match instantiated {
        Ok(instance) => instance,
        Err(Error::Trap(trap)) => {
            report_trap(&format!("failed to instantiate \"{shown}\""), &trap, limits);
            return Ok(Outcome::Trap);
        }
        Err(Error::Exit(code)) => return Ok(Outcome::Exit(code)),
        // An exception nothing caught ends the program abnormally, as a trap does (as in Wasmtime).
        Err(Error::Exception(exn)) => {
            eprintln!("error: failed to instantiate \"{shown}\": {exn}");
            return Ok(Outcome::Trap);
        }
        Err(e) => return Err(anyhow!(e).context(format!("failed to instantiate \"{shown}\""))),
    };
    let (name, func) = match &args.invoke {
        Some(name) => {
            let func = instance
                .get_func(&store, name)
                .ok_or_else(|| anyhow!("module \"{shown}\" has no exported function `{name}`"))?;
            (name.as_str(), func)
        }
        // As in Wasmtime: the default export ("") or `_start`; a module with neither has done its
        // work by being instantiated (its start function ran), so it exits 0.
        None => match ["", "_start"]
            .into_iter()
            .find_map(|name| Some((name, instance.get_func(&store, name)?)))
        {
            Some(found) => found,
            None => return Ok(Outcome::Success),
        },
    };
    let ty = func.ty(&store);
    let params_text: &[String] = if args.invoke.is_some() {
        guest_args
    } else {
        &[]
    };
    if params_text.len() != ty.params().len() {
        bail!(
            "`{name}` takes {}, but {} given",
            count(ty.params().len(), "argument"),
            match params_text.len() {
                1 => "1 was".to_string(),
                n => format!("{n} were"),
            }
        );
    }
    let params = ty
        .params()
        .iter()
        .zip(params_text)
        .enumerate()
        .map(|(i, (ty, text))| {
            parse_arg(ty, text).with_context(|| format!("argument {} of `{name}`", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Val> = ty
        .results()
        .iter()
        .map(|t| Val::default_for(*t).unwrap_or(Val::FuncRef(None)))
        .collect();
    if let Some(at) = deadline {
        store.set_wall_clock_deadline_at(at);
    }
    let called = if plan.meters() {
        snapshots::call(&mut store, func, &params, plan, limits.fuel, module_path).map(|ending| {
            match ending {
                snapshots::Ending::Finished(results) => Some(results),
                snapshots::Ending::Snapshotted => None,
            }
        })
    } else {
        func.call(&mut store, &params, &mut results)
            .map(|()| Some(results))
    };
    *end = RunEnd::of(&called);
    match called {
        Ok(Some(results)) => {
            for value in &results {
                println!("{}", format_val(value));
            }
            Ok(Outcome::Success)
        }
        // The snapshot is written; the program goes on under `ward resume`.
        Ok(None) => Ok(Outcome::Success),
        Err(Error::Exit(code)) => Ok(Outcome::Exit(code)),
        Err(Error::Trap(trap)) => {
            report_trap(
                &format!("failed to run `{name}` in \"{shown}\""),
                &trap,
                limits,
            );
            Ok(Outcome::Trap)
        }
        Err(Error::Exception(exn)) => {
            eprintln!("error: failed to run `{name}` in \"{shown}\": {exn}");
            Ok(Outcome::Trap)
        }
        Err(e @ Error::Snapshot(_)) => Err(anyhow!(e)),
        Err(e) => Err(anyhow!(e).context(format!("failed to run `{name}`"))),
    }
}

/// A wasi-threads thread ended the program with `error`: reports it as the main thread would and
/// returns the process's exit code.
fn end_from_thread(error: &Error, shown: &str, limits: &Limits) -> i32 {
    match error {
        Error::Exit(code) => *code as u8 as i32,
        Error::Trap(trap) => {
            report_trap(&format!("a thread of \"{shown}\" trapped"), trap, limits);
            134
        }
        Error::Exception(exn) => {
            eprintln!("error: a thread of \"{shown}\" threw an uncaught exception: {exn}");
            134
        }
        other => {
            eprintln!("error: failed to run a thread of \"{shown}\": {other}");
            1
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
