//! `ward replay TRACE MODULE`: runs MODULE's `_start` with every WASI call answered from a trace
//! `ward run --record` wrote (`ward_wasi::trace`), touching no host file system, network or clock.
//! The guest's writes to stdout and stderr are performed again, so the replay prints what the run
//! printed, and ends with the same exit code. A trace of another module, a corrupt trace, or a call
//! that differs from the recorded one is a one-line error (exit 1). Called by `main.rs`.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use ward::{Engine, Error, Linker, Module, Store};
use ward_wasi::{WasiCtx, WasiCtxBuilder};

use crate::limits::Limits;
use crate::{Outcome, describe_io, read_module, report_trap};

pub fn run(trace: &Path, module_path: &Path) -> Result<Outcome> {
    let shown = module_path.display();
    let engine = Engine::default();
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
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).context("failed to define WASI functions")?;
    let mut store = Store::new(&engine, ctx.share());
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
            report_trap(&format!("replay of \"{shown}\""), &trap, &Limits::default());
            return Ok(Outcome::Trap);
        }
        Err(e) => return Err(anyhow!("replay of \"{shown}\": {e}")),
    };
    ctx.finish_trace()
        .map_err(|e| anyhow!("replay of \"{shown}\": {e}"))?;
    Ok(outcome)
}
