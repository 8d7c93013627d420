//! `ward replay TRACE MODULE`: runs MODULE's `_start` with every WASI call answered from a trace
//! `ward run --record` wrote (`ward_wasi::trace`), touching no host file system, network or clock.
//! The guest's writes to stdout and stderr are performed again, so the replay prints what the run
//! printed, and ends with the same exit code. A trace of another module, a corrupt trace, or a call
//! that differs from the recorded one is a one-line error (exit 1). The recorded run's limits are
//! given again (`--fuel`, `--max-memory`, …; fuel is counted the same way every time, so a run that
//! ran out replays to the same trap). Called by `main.rs`.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use ward::{Config, Engine, Error, Linker, Module, Store, StoreLimits};
use ward_wasi::policy::Policy;
use ward_wasi::{WasiCtx, WasiCtxBuilder};

use crate::config_file::ConfigFile;
use crate::limits::LimitArgs;
use crate::{Outcome, describe_io, read_module, report_trap};

/// The store's data in a replay.
struct Replaying {
    wasi: WasiCtx,
    limits: StoreLimits,
}

pub fn run(trace: &Path, module_path: &Path, limit_args: &LimitArgs) -> Result<Outcome> {
    let shown = module_path.display();
    let limits = limit_args.resolve(&ConfigFile::default())?;
    // The limits a policy states go through the policy, as in `ward run`.
    let granted = Policy {
        limits: limits.policy_limits(),
        ..Policy::default()
    };
    let mut config = Config::new();
    limits.configure(&mut config);
    granted.configure(&mut config);
    let engine = Engine::new(&config)?;
    let binary = read_module(module_path)?;
    let module = Module::from_binary(&engine, &binary)
        .with_context(|| format!("failed to compile module \"{shown}\""))?;
    let bytes = std::fs::read(trace).map_err(|e| {
        anyhow!(
            "failed to read trace \"{}\": {}",
            trace.display(),
            describe_io(&e)
        )
    })?;
    let ctx = WasiCtxBuilder::new()
        .inherit_stdio()
        .replay(bytes, &binary)
        .map_err(|e| anyhow!("trace \"{}\": {e}", trace.display()))?
        .build();
    let mut linker: Linker<Replaying> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |host: &mut Replaying| &mut host.wasi)
        .context("failed to define WASI functions")?;
    let mut store = Store::new(
        &engine,
        Replaying {
            wasi: ctx.share(),
            limits: limits.store_limits(granted.store_limits()),
        },
    );
    store.limiter(|host: &mut Replaying| &mut host.limits);
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    if let Some(at) = limits
        .timeout
        .and_then(|t| std::time::Instant::now().checked_add(t))
    {
        store.set_wall_clock_deadline_at(at);
    }
    let result = linker
        .instantiate(&mut store, &module)
        .and_then(|instance| match instance.get_func(&store, "_start") {
            Some(start) => start.call(&mut store, &[], &mut []),
            None => Ok(()),
        });
    let outcome = match result {
        Ok(()) => Outcome::Success,
        Err(Error::Exit(code)) => Outcome::Exit(code),
        Err(Error::Trap(trap)) => {
            report_trap(&format!("replay of \"{shown}\""), &trap, &limits);
            return Ok(Outcome::Trap);
        }
        Err(e) => return Err(anyhow!("replay of \"{shown}\": {e}")),
    };
    ctx.finish_trace()
        .map_err(|e| anyhow!("replay of \"{shown}\": {e}"))?;
    Ok(outcome)
}
