//! `ward run`: the policy a command line grants (`--policy` narrowed by the flags, or the flags
//! alone, through `wasi_options.rs`), the engine and store it configures, the audit log and trace
//! it opens, and the run itself: linking (WASI, wasi-threads, preloads), instantiation and the call
//! of `_start` or `--invoke`'s function, with snapshots planned by `snapshots.rs`. Called by
//! `main.rs` for `run` and `resume`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use ward::{Config, Engine, Error, Linker, Module, Store, StoreLimits, Trap, Val};
use ward_wasi::policy::Policy;
use ward_wasi::{RunEnd, WasiCtx, WasiThreads};

use crate::invoke::{count, format_val, parse_arg};
use crate::limits::Limits;
use crate::linking::{
    define_shared_memories, define_unknown_imports_as_failing, imports_thread_spawn,
    instantiate_preload,
};
use crate::wasi_options::{self, WasiOptions, build_wasi};
use crate::{Outcome, RunArgs, describe_io, load_module, run_component, snapshots};

/// What the CLI keeps in the store: the guest's WASI view and its resource limits.
pub(crate) struct Host {
    pub(crate) wasi: WasiCtx,
    pub(crate) limits: StoreLimits,
}

/// Prints a trap on stderr, naming the flag whose limit caused it.
pub(crate) fn report_trap(context: &str, trap: &Trap, limits: &Limits) {
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

pub(crate) fn run(args: &RunArgs) -> Result<Outcome> {
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
    let mut plan = args.plan();
    plan.deterministic = policy.is_deterministic();
    snapshots::check_options(
        &plan,
        args.invoke.is_some(),
        !args.preloads.is_empty(),
        limits.fuel,
    )?;
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
    let coredump = args.coredump_path()?;
    let mut config = Config::new();
    limits.configure(&mut config);
    config.coredump_on_trap(coredump.is_some());
    policy.configure(&mut config);
    args.codegen.configure(&mut config)?;
    if plan.meters() {
        // A snapshot pauses the program between two instructions, which only the interpreter
        // can do (compiled code traps where the interpreter would pause).
        match args.codegen.chosen_strategy()? {
            None | Some(ward::Strategy::Interpreter) => {
                config.strategy(ward::Strategy::Interpreter);
            }
            Some(_) => bail!(
                "snapshots need the interpreter: use -C compiler=interpreter (or no -C compiler)"
            ),
        }
    }
    let module_path = args.module();
    let shown = module_path.display().to_string();
    let (binary, precompiled) = crate::read_module_or_precompiled(module_path)?;
    if precompiled {
        if !args.allow_precompiled {
            bail!(
                "running a precompiled module requires the `--allow-precompiled` flag (\"{shown}\")"
            );
        }
        if args.record.is_some() {
            bail!("--record cannot be used with a precompiled module: record its .wasm");
        }
        // A precompiled module holds Cranelift's code: run it with Cranelift unless `-C
        // compiler` says otherwise (which `Module::deserialize` then refuses).
        if args.codegen.chosen_strategy()?.is_none() {
            config.strategy(ward::Strategy::Cranelift);
        }
    }
    // A virtual clock advances with the fuel executed: meter it even without a fuel limit (a
    // snapshot plan meters fuel and sets it itself).
    let meter_fuel_for_clock = limits.fuel.is_none()
        && !plan.meters()
        && policy.clocks != ward_wasi::policy::ClockPolicy::Real;
    if meter_fuel_for_clock || plan.meters() {
        config.consume_fuel(true);
    }
    let engine = Engine::new(&config)?;
    let component = run_component::is_component(&binary);
    if component {
        run_component::check_options(args, &wasi_options)?;
    } else {
        wasi_options::check_module_options(&wasi_options)?;
    }
    let module = match component {
        true => None,
        false if precompiled => Some(
            // SAFETY: the user passed `--allow-precompiled`, vouching for the file's machine code
            // (as in Wasmtime); its header, checksum and Wasm hash are still checked.
            unsafe { Module::deserialize(&engine, &binary) }
                .with_context(|| format!("failed to load precompiled module \"{shown}\""))?,
        ),
        false => {
            let module = Module::from_binary(&engine, &binary)
                .with_context(|| format!("failed to compile module \"{shown}\""));
            for warning in engine.take_cache_warnings() {
                eprintln!("warning: {warning}");
            }
            Some(module?)
        }
    };
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
    let outcome = match &module {
        None => {
            let host = Host {
                limits: limits.store_limits(policy.store_limits()),
                wasi,
            };
            let fuel = limits.fuel.or(meter_fuel_for_clock.then_some(u64::MAX));
            run_component::execute(
                &engine,
                &binary,
                &shown,
                args.invoke.as_deref(),
                host,
                &limits,
                fuel,
                deadline,
                &mut end,
            )
        }
        Some(module) => execute(
            args,
            &plan,
            &engine,
            module,
            module_path,
            &shown,
            wasi,
            &policy,
            &limits,
            &wasi_options,
            deadline,
            meter_fuel_for_clock,
            &guest_args,
            coredump.as_deref(),
            &mut end,
        ),
    };
    // A run that failed before the guest ran (a link error, say) ended with that error.
    if let (Err(e), RunEnd::Returned) = (&outcome, &end) {
        end = RunEnd::Trap(format!("{e:#}"));
    }
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
    coredump: Option<&Path>,
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
            write_coredump(&mut store, &trap, coredump, shown);
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
                println!("{}", format_val(value, &store));
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
            write_coredump(&mut store, &trap, coredump, shown);
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

/// Writes the core dump `trap` carries to `path` (`-D coredump=PATH`), saying so on stderr.
fn write_coredump(store: &mut Store<Host>, trap: &Trap, path: Option<&Path>, shown: &str) {
    let (Some(path), Some(dump)) = (path, trap.coredump()) else {
        return;
    };
    let bytes = dump.serialize(&mut *store, shown);
    match std::fs::write(path, bytes) {
        Ok(()) => eprintln!("core dumped at \"{}\"", path.display()),
        Err(e) => eprintln!(
            "warning: failed to write the core dump \"{}\": {}",
            path.display(),
            describe_io(&e)
        ),
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
