//! `ward run` of a component: recognising one by its header, and running a `wasi:cli/command`
//! component with the WASI 0.2 host (`ward_wasi::p2`) in the same sandbox, limits and store as a
//! module's run. Called by `run.rs`.

use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use ward::component::{Component, Linker};
use ward::{Engine, Error, Store};
use ward_wasi::RunEnd;

use crate::limits::Limits;
use crate::run::{Host, report_trap};
use crate::wasi_options::WasiOptions;
use crate::{Outcome, RunArgs};

/// Whether `binary` is a component: a Wasm binary whose layer field (bytes 6 and 7) is 1, or
/// text that starts with `(component`.
pub(crate) fn is_component(binary: &[u8]) -> bool {
    if binary.starts_with(b"\0asm") {
        return binary.get(6..8) == Some(&[1, 0]);
    }
    let text = String::from_utf8_lossy(&binary[..binary.len().min(4096)]);
    let mut rest = text.trim_start();
    // Skip `;;` line comments before the first form.
    while let Some(comment) = rest.strip_prefix(";;") {
        rest = comment.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.strip_prefix('(')
        .is_some_and(|r| r.trim_start().starts_with("component"))
}

/// Refuses the options that only make sense for a core module.
pub(crate) fn check_options(args: &RunArgs, wasi: &WasiOptions) -> Result<()> {
    let refused = [
        (args.invoke.is_some(), "--invoke"),
        // A component's sockets are all denied: a listener would be granted and never usable.
        (!wasi.tcp_listen.is_empty(), "-S tcplisten"),
        (!args.preloads.is_empty(), "--preload"),
        (args.record.is_some(), "--record"),
        (args.plan().meters(), "snapshots"),
        (wasi.threads, "-S threads"),
    ];
    if let Some((_, flag)) = refused.into_iter().find(|(set, _)| *set) {
        bail!("{flag} is not supported for components yet");
    }
    Ok(())
}

/// Runs component `binary` (shown as `shown`) under `wasi`: its `wasi:cli/run` export's `run`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    engine: &Engine,
    binary: &[u8],
    shown: &str,
    host: Host,
    limits: &Limits,
    fuel: Option<u64>,
    deadline: Option<Instant>,
    end: &mut RunEnd,
) -> Result<Outcome> {
    let component = Component::new(engine, binary)
        .map_err(|e| anyhow!(e).context(format!("failed to compile component \"{shown}\"")))?;
    let mut store = Store::new(engine, host);
    store.limiter(|host: &mut Host| &mut host.limits);
    if let Some(fuel) = fuel {
        store.set_fuel(fuel)?;
    }
    if let Some(at) = deadline {
        store.set_wall_clock_deadline_at(at);
    }
    let mut linker = Linker::new(engine);
    ward_wasi::p2::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi);
    let ran = ward_wasi::p2::run(&mut store, &linker, &component);
    *end = RunEnd::of(&ran);
    match ran {
        Ok(0) => Ok(Outcome::Success),
        Ok(code) => Ok(Outcome::Exit(code)),
        Err(Error::Trap(trap)) => {
            report_trap(&format!("failed to run \"{shown}\""), &trap, limits);
            Ok(Outcome::Trap)
        }
        Err(e @ (Error::Link(_) | Error::Instantiation(_))) => {
            Err(anyhow!(e).context(format!("failed to instantiate \"{shown}\"")))
        }
        Err(e) => Err(anyhow!(e).context(format!("failed to run \"{shown}\""))),
    }
}
