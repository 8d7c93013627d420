//! `wasi:cli/*` (environment, exit, the standard streams, terminals), `wasi:clocks/*` and
//! `wasi:random/*`. Arguments and environment are what the [`WasiCtx`] grants; clocks and random
//! bytes come from the preview1 host's sources, so deterministic runs stay deterministic; no
//! standard stream is reported as a terminal. Used by `p2::add_to_linker`.

use ward::component::{Linker, Val};

use super::scratch;
use super::state::{Resource, StreamAt};
use super::{Host, Types, arg_u64, bytes_val, interface};
use crate::abi::clock;
use crate::ctx::{WasiCtx, WasiState};
use crate::determinism::Clocks;
use crate::errno::WasiResult;

/// Most random bytes one call returns (more is a guest error: the result must fit its memory).
const MAX_RANDOM: u64 = 1 << 24;

pub(super) fn define<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>, types: &Types)
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut env = linker.instance(&interface("wasi:cli/environment"));
    host.func(&mut env, "get-arguments", |ctx, _, _| {
        Ok(Val::List(
            ctx.args
                .iter()
                .map(|a| Val::String(String::from_utf8_lossy(a).into_owned()))
                .collect(),
        ))
    });
    host.func(&mut env, "get-environment", |ctx, _, _| {
        Ok(Val::List(
            ctx.env
                .iter()
                .map(|entry| {
                    let entry = String::from_utf8_lossy(entry);
                    let (name, value) = entry.split_once('=').unwrap_or((&entry, ""));
                    Val::Tuple(vec![Val::String(name.into()), Val::String(value.into())])
                })
                .collect(),
        ))
    });
    host.func(&mut env, "initial-cwd", |_, _, _| Ok(Val::Option(None)));

    let mut exit = linker.instance(&interface("wasi:cli/exit"));
    host.func(&mut exit, "exit", |_, params, _| {
        let code = match params.first() {
            Some(Val::Result(Ok(_))) => 0,
            _ => 1,
        };
        Err(ward::Error::Exit(code))
    });
    host.func(&mut exit, "exit-with-code", |_, params, _| {
        Err(ward::Error::Exit(arg_u64(params, 0)? as i32))
    });

    for (iface, func, fd) in [
        ("wasi:cli/stdin", "get-stdin", 0),
        ("wasi:cli/stdout", "get-stdout", 1),
        ("wasi:cli/stderr", "get-stderr", 2),
    ] {
        let mut stdio = linker.instance(&interface(iface));
        let (name, ty) = if fd == 0 {
            ("input-stream", types.input.clone())
        } else {
            ("output-stream", types.output.clone())
        };
        stdio.define_resource(name, &ty);
        host.func(&mut stdio, func, move |ctx, _, _| {
            let at = StreamAt::Cursor;
            let resource = if fd == 0 {
                Resource::Input { fd, at }
            } else {
                Resource::Output { fd, at }
            };
            Ok(Val::Resource(ty.own(ctx.p2.insert(resource)?)))
        });
    }

    let input = host.resource(
        linker,
        "wasi:cli/terminal-input",
        "terminal-input",
        |_, _| Ok(()),
    );
    let output = host.resource(
        linker,
        "wasi:cli/terminal-output",
        "terminal-output",
        |_, _| Ok(()),
    );
    for (iface, func, name, ty) in [
        (
            "wasi:cli/terminal-stdin",
            "get-terminal-stdin",
            "terminal-input",
            &input,
        ),
        (
            "wasi:cli/terminal-stdout",
            "get-terminal-stdout",
            "terminal-output",
            &output,
        ),
        (
            "wasi:cli/terminal-stderr",
            "get-terminal-stderr",
            "terminal-output",
            &output,
        ),
    ] {
        let mut terminal = linker.instance(&interface(iface));
        terminal.define_resource(name, ty);
        host.func(&mut terminal, func, |_, _, _| Ok(Val::Option(None)));
    }

    let mut monotonic = linker.instance(&interface("wasi:clocks/monotonic-clock"));
    monotonic.define_resource("pollable", &types.pollable);
    host.func(&mut monotonic, "now", |ctx, _, fuel| {
        Ok(Val::U64(trap_errno(clock_now(
            ctx,
            clock::MONOTONIC,
            fuel,
        ))?))
    });
    host.func(&mut monotonic, "resolution", |ctx, _, _| {
        Ok(Val::U64(trap_errno(resolution(ctx, clock::MONOTONIC))?))
    });
    for (name, relative) in [("subscribe-instant", false), ("subscribe-duration", true)] {
        let pollable = types.pollable.clone();
        host.func(&mut monotonic, name, move |ctx, params, fuel| {
            let mut deadline = arg_u64(params, 0)?;
            if relative {
                let now = trap_errno(clock_now(ctx, clock::MONOTONIC, fuel))?;
                deadline = deadline.saturating_add(now);
            }
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: Some(deadline),
                host_fd: None,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        });
    }
    let mut wall = linker.instance(&interface("wasi:clocks/wall-clock"));
    host.func(&mut wall, "now", |ctx, _, fuel| {
        Ok(datetime(trap_errno(clock_now(ctx, clock::REALTIME, fuel))?))
    });
    host.func(&mut wall, "resolution", |ctx, _, _| {
        Ok(datetime(trap_errno(resolution(ctx, clock::REALTIME))?))
    });

    for (iface, bytes_name, u64_name) in [
        ("wasi:random/random", "get-random-bytes", "get-random-u64"),
        (
            "wasi:random/insecure",
            "get-insecure-random-bytes",
            "get-insecure-random-u64",
        ),
    ] {
        let mut random = linker.instance(&interface(iface));
        host.func(&mut random, bytes_name, |ctx, params, _| {
            let len = arg_u64(params, 0)?;
            if len > MAX_RANDOM {
                return Err(ward::Error::msg(format!(
                    "{len} random bytes asked for at once (at most {MAX_RANDOM})"
                )));
            }
            Ok(bytes_val(trap_errno(random_bytes(ctx, len as u32))?))
        });
        host.func(&mut random, u64_name, |ctx, _, _| {
            Ok(Val::U64(trap_errno(random_u64(ctx))?))
        });
    }
    let mut seed = linker.instance(&interface("wasi:random/insecure-seed"));
    host.func(&mut seed, "insecure-seed", |ctx, _, _| {
        let (a, b) = (trap_errno(random_u64(ctx))?, trap_errno(random_u64(ctx))?);
        Ok(Val::Tuple(vec![Val::U64(a), Val::U64(b)]))
    });
}

/// An errno where WASI 0.2 has no error to return: the call traps with its name.
fn trap_errno<X>(result: WasiResult<X>) -> ward::Result<X> {
    result.map_err(|errno| ward::Error::msg(format!("WASI host error {}", errno.name())))
}

/// A `wasi:clocks/wall-clock` `datetime` of nanoseconds since the epoch.
pub(super) fn datetime(nanos: u64) -> Val {
    Val::Record(vec![
        ("seconds".into(), Val::U64(nanos / 1_000_000_000)),
        (
            "nanoseconds".into(),
            Val::U32((nanos % 1_000_000_000) as u32),
        ),
    ])
}

/// Clock `id` as the guest sees it (the host's, or the virtual clock), as preview1 reads it.
pub(super) fn clock_now(ctx: &mut WasiState, id: u32, fuel: Option<u64>) -> WasiResult<u64> {
    crate::process::guest_now(ctx, id, fuel)
}

/// Lets `nanos` pass: sleeps, or advances the virtual clock.
pub(super) fn sleep_for(ctx: &mut WasiState, nanos: u64) {
    if let Some(log) = ctx.audit.as_mut() {
        log.count_sleep();
    }
    match &mut ctx.clocks {
        Clocks::Real => std::thread::sleep(std::time::Duration::from_nanos(nanos)),
        Clocks::Virtual(clock) => clock.sleep(nanos),
    }
}

fn resolution(ctx: &mut WasiState, id: u32) -> WasiResult<u64> {
    let out = scratch::call(ctx, &[], 8, |ctx, mem, _, out| {
        crate::process::clock_res_get(ctx, mem, id, out)
    })?;
    Ok(scratch::u64_at(&out, 0))
}

fn random_bytes(ctx: &mut WasiState, len: u32) -> WasiResult<Vec<u8>> {
    scratch::call(ctx, &[], len as usize, |ctx, mem, _, out| {
        crate::process::random_get(ctx, mem, out, len)
    })
}

fn random_u64(ctx: &mut WasiState) -> WasiResult<u64> {
    Ok(scratch::u64_at(&random_bytes(ctx, 8)?, 0))
}
