//! `ward run` of a component: recognising one by its header, and running a `wasi:cli/command`
//! component with the WASI 0.2 host (`ward_wasi::p2`) in the same sandbox, limits and store as a
//! module's run, or with `--invoke 'name(args)'` calling one exported function with WAVE values
//! (`wave.rs`). Called by `run.rs`.

use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use ward::component::{Component, Func, Instance, Linker, Val};
use ward::{Engine, Error, Store};
use ward_wasi::RunEnd;
use wasm_wave::untyped::UntypedFuncCall;
use wasm_wave::wasm::WasmValue;

use crate::limits::Limits;
use crate::run::{Host, report_trap};
use crate::wasi_options::WasiOptions;
use crate::wave::{WaveType, WaveVal};
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
        // A preopened listener is a preview1 grant; a component binds its own with
        // `-S inherit-network`.
        (!wasi.tcp_listen.is_empty(), "-S tcplisten"),
        (!args.preloads.is_empty(), "--preload"),
        (args.record.is_some(), "--record"),
        (args.plan().meters(), "snapshots"),
        (wasi.threads, "-S threads"),
    ];
    if let Some((_, flag)) = refused.into_iter().find(|(set, _)| *set) {
        bail!("{flag} is not supported for components yet");
    }
    if args.invoke.is_some() && args.module_and_args.len() > 1 {
        bail!(
            "a component's --invoke takes its arguments in the call, as in --invoke 'add(1, 2)', not after the component"
        );
    }
    Ok(())
}

/// Runs component `binary` (shown as `shown`) under `wasi`: its `wasi:cli/run` export's `run`, or
/// with `invoke` (`name(args)` in WAVE) that exported function, whose result is printed in WAVE.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    engine: &Engine,
    binary: &[u8],
    shown: &str,
    invoke: Option<&str>,
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
    if let Some(invoke) = invoke {
        return invoke_export(&mut store, &linker, &component, shown, invoke, limits, end);
    }
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

/// `--invoke 'name(args)'`: as in Wasmtime, `name` is a function's own name, found among the
/// component's exports and inside its exported instances (so `add` finds `add` in
/// `my:calc/ops`); it must name exactly one function. Parses the arguments against its
/// parameter types, calls it, and prints the result in WAVE (`()` for none).
fn invoke_export(
    store: &mut Store<Host>,
    linker: &Linker<Host>,
    component: &Component,
    shown: &str,
    invoke: &str,
    limits: &Limits,
    end: &mut RunEnd,
) -> Result<Outcome> {
    let call =
        UntypedFuncCall::parse(invoke).map_err(|e| anyhow!("invalid --invoke `{invoke}`: {e}"))?;
    let name = call.name();
    let instance = match linker.instantiate(&mut *store, component) {
        Ok(instance) => instance,
        Err(e) => {
            *end = RunEnd::of_error(&e);
            if let Error::Trap(trap) = &e {
                report_trap(&format!("failed to instantiate \"{shown}\""), trap, limits);
                return Ok(Outcome::Trap);
            }
            return Err(anyhow!(e).context(format!("failed to instantiate \"{shown}\"")));
        }
    };
    let mut found = Vec::new();
    find_funcs(&instance, name, &mut Vec::new(), &mut found);
    let func = match found.len() {
        0 => bail!("component \"{shown}\" exports no function named `{name}`"),
        1 => found.remove(0).1,
        _ => {
            let paths: Vec<String> = found.iter().map(|(path, _)| format!("`{path}`")).collect();
            bail!(
                "component \"{shown}\" exports {} functions named `{name}`: {}",
                found.len(),
                paths.join(", ")
            )
        }
    };
    let types: Vec<WaveType> = func
        .ty()
        .params()
        .map(|(_, t)| WaveType(t.clone()))
        .collect();
    let params: Vec<Val> = call
        .to_wasm_params::<WaveVal>(&types)
        .map_err(|e| anyhow!("invalid arguments in --invoke `{invoke}`: {e}"))?
        .into_iter()
        .map(|v| v.0)
        .collect();
    let mut results = vec![Val::Bool(false); func.ty().result().map_or(0, |_| 1)];
    let called = func.call(&mut *store, &params, &mut results);
    *end = RunEnd::of(&called);
    match called {
        Ok(()) => {
            let shown_results = match results.pop() {
                None => "()".to_string(),
                Some(value) => {
                    let value = WaveVal(value);
                    match value.kind() {
                        wasm_wave::wasm::WasmTypeKind::Unsupported => "<resource>".to_string(),
                        _ => wasm_wave::to_string(&value)
                            .map_err(|e| anyhow!("cannot print the result of `{name}`: {e}"))?,
                    }
                }
            };
            println!("{shown_results}");
            Ok(Outcome::Success)
        }
        Err(Error::Exit(code)) => Ok(Outcome::Exit(code)),
        Err(Error::Trap(trap)) => {
            report_trap(
                &format!("failed to run `{name}` in \"{shown}\""),
                &trap,
                limits,
            );
            Ok(Outcome::Trap)
        }
        Err(e) => Err(anyhow!(e).context(format!("failed to run `{name}` in \"{shown}\""))),
    }
}

/// Collects into `found` the functions named `name` exported by `instance` or, recursively, by
/// its exported instances, with their paths (instance names and the function's, joined by `#`).
fn find_funcs(
    instance: &Instance,
    name: &str,
    path: &mut Vec<String>,
    found: &mut Vec<(String, Func)>,
) {
    for export in instance.export_names() {
        if let Some(func) = instance.get_func(export) {
            if export == name {
                let mut full = path.clone();
                full.push(export.to_string());
                found.push((full.join("#"), func));
            }
        } else if let Some(inner) = instance.get_instance(export) {
            path.push(export.to_string());
            find_funcs(&inner, name, path, found);
            path.pop();
        }
    }
}
