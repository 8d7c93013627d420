//! WASI 0.2 (the `wasi:cli/command` world) for components, on the same [`WasiCtx`] as preview1.
//!
//! [`add_to_linker`] defines every interface of the world in a [`component::Linker`], at version
//! 0.2.6, which the linker's semver matching offers to imports of any `0.2.x`. The host is built
//! on the preview1 host rather than beside it: a `descriptor` is a preview1 descriptor number, and
//! the file-system methods call the preview1 syscalls on a scratch memory (`scratch`), so that
//! cap-std resolution beneath each preopen, read-only preopens, the audit log, deterministic
//! clocks and seeded randomness all hold for components as they do for modules. Nothing is
//! granted by default: arguments, environment and directories are what the [`WasiCtx`] grants.
//!
//! - `state`: the host's own resources (streams, pollables, errors, directory listings);
//! - `io`: `wasi:io/{error,poll,streams}`; `cli`: `wasi:cli/*`, `wasi:clocks/*` and
//!   `wasi:random/*`; `filesystem`: `wasi:filesystem/{types,preopens}`; `sockets`:
//!   `wasi:sockets/*`: TCP and name lookup when granted; `udp`: UDP when granted.
//!
//! Limits, for now: terminals are never reported (`get-terminal-*` return `none`); sockets and
//! name lookup are denied unless the context grants them.
//!
//! [`component::Linker`]: ward::component::Linker

mod cli;
mod filesystem;
mod io;
mod scratch;
mod sockets;
pub(crate) mod state;
mod udp;

use ward::component::{HostResource, Linker, LinkerInstance, ResourceAny, Val};
use ward::{Store, StoreContextMut};

use crate::ctx::{WasiCtx, WasiState};
use crate::errno::Errno;

/// The version the interfaces are defined at; any `0.2.x` import matches it.
const VERSION: &str = "0.2.6";

/// The name of interface `name` (`wasi:io/streams`) at [`VERSION`].
fn interface(name: &str) -> String {
    format!("{name}@{VERSION}")
}

/// The host resource types the interfaces share.
#[derive(Clone)]
struct Types {
    error: HostResource,
    pollable: HostResource,
    input: HostResource,
    output: HostResource,
    descriptor: HostResource,
    entries: HostResource,
}

/// Defines the `wasi:cli/command` world's imports in `linker`, reaching the guest's [`WasiCtx`]
/// through `get`.
///
/// ```no_run
/// use ward::component::{Component, Linker};
/// use ward::{Engine, Store};
/// use ward_wasi::{WasiCtx, WasiCtxBuilder};
///
/// let engine = Engine::default();
/// let component = Component::from_file(&engine, "app.component.wasm")?;
/// let mut linker: Linker<WasiCtx> = Linker::new(&engine);
/// ward_wasi::p2::add_to_linker(&mut linker, |ctx| ctx);
/// let mut store = Store::new(&engine, WasiCtxBuilder::new().args(["app"])?.build());
/// let code = ward_wasi::p2::run(&mut store, &linker, &component)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) {
    let host = Host { get };
    let types = Types {
        error: host.resource(linker, "wasi:io/error", "error", drop_resource),
        pollable: host.resource(linker, "wasi:io/poll", "pollable", drop_resource),
        input: host.resource(linker, "wasi:io/streams", "input-stream", drop_resource),
        output: host.resource(linker, "wasi:io/streams", "output-stream", drop_resource),
        descriptor: host.resource(linker, "wasi:filesystem/types", "descriptor", |ctx, fd| {
            // The guest dropped its handle: close the preview1 descriptor behind it, unless it is
            // a preopen, which `get-directories` hands out again (a closed preopen's number could
            // go to a file opened later, which an older handle would then reach).
            if !filesystem::is_preopen(ctx, fd) {
                let _ = crate::fs::fd_close(ctx, fd);
            }
            Ok(())
        }),
        entries: host.resource(
            linker,
            "wasi:filesystem/types",
            "directory-entry-stream",
            drop_resource,
        ),
    };
    io::define(&host, linker, &types);
    cli::define(&host, linker, &types);
    filesystem::define(&host, linker, &types);
    sockets::define(&host, linker, &types);
}

/// The destructor of the host's own resources: forget them.
fn drop_resource(ctx: &mut WasiState, rep: u32) -> ward::Result<()> {
    ctx.p2.remove(rep);
    Ok(())
}

/// Runs a command component: instantiates it and calls its `wasi:cli/run@0.2.x` export `run`.
/// Returns the exit code: 0 if `run` returned `ok`, 1 if `err`, or the code the guest passed to
/// `wasi:cli/exit`.
pub fn run<T: 'static>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    component: &ward::component::Component,
) -> ward::Result<i32> {
    let instance = linker.instantiate(&mut *store, component)?;
    let run = component
        .exports()
        .filter(|name| name.starts_with("wasi:cli/run@0.2."))
        .find_map(|name| instance.get_instance(name))
        .and_then(|run| run.get_func("run"))
        .ok_or_else(|| {
            ward::Error::Link("the component exports no `wasi:cli/run@0.2.x` `run`".into())
        })?;
    let mut result = [Val::Bool(false)];
    match run.call(&mut *store, &[], &mut result) {
        Ok(()) => Ok(match result[0] {
            Val::Result(Ok(_)) => 0,
            _ => 1,
        }),
        Err(ward::Error::Exit(code)) => Ok(code),
        Err(error) => Err(error),
    }
}

/// The host's way to the guest's [`WasiCtx`] in a store's data, and the helpers that define
/// functions and resources with it.
struct Host<G> {
    get: G,
}

impl<G: Copy> Clone for Host<G> {
    fn clone(&self) -> Self {
        Host { get: self.get }
    }
}

impl<G> Host<G> {
    /// Defines resource `name` of interface `iface` with destructor `dtor`.
    fn resource<T: 'static>(
        &self,
        linker: &mut Linker<T>,
        iface: &str,
        name: &str,
        dtor: impl Fn(&mut WasiState, u32) -> ward::Result<()> + Send + Sync + 'static,
    ) -> HostResource
    where
        G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
    {
        let get = self.get;
        linker.instance(&interface(iface)).resource(
            name,
            move |store: StoreContextMut<'_, T>, rep| {
                let ctx = get(store.data_mut()).share();
                let mut state = ctx.lock();
                dtor(&mut state, rep)
            },
        )
    }

    /// Defines function `name` of `instance`: `f` gets the guest's state, the arguments and the
    /// store's fuel left (for virtual clocks), and returns the result (ignored for functions
    /// without one).
    fn func<T: 'static>(
        &self,
        instance: &mut LinkerInstance<'_, T>,
        name: &str,
        f: impl Fn(&mut WasiState, &[Val], Option<u64>) -> ward::Result<Val> + Send + Sync + 'static,
    ) where
        G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
    {
        let get = self.get;
        instance.func_new(name, move |store, params, results| {
            let fuel = store.get_fuel().ok();
            let ctx = get(store.data_mut()).share();
            let value = f(&mut ctx.lock(), params, fuel)?;
            if let Some(slot) = results.first_mut() {
                *slot = value;
            }
            Ok(())
        });
    }
}

/// A `result` value: `ok` with an optional payload.
fn ok(payload: Option<Val>) -> Val {
    Val::Result(Ok(payload.map(Box::new)))
}

/// A `result` value: `error` with a payload.
fn err(payload: Val) -> Val {
    Val::Result(Err(Some(Box::new(payload))))
}

/// The unit value of functions without a result.
fn unit() -> Val {
    Val::Tuple(Vec::new())
}

/// Argument `index` as a `u64` (or a narrower unsigned integer).
fn arg_u64(params: &[Val], index: usize) -> ward::Result<u64> {
    match params.get(index) {
        Some(Val::U64(x)) => Ok(*x),
        Some(Val::U32(x)) => Ok(u64::from(*x)),
        Some(Val::U8(x)) => Ok(u64::from(*x)),
        other => Err(bad_arg(index, other)),
    }
}

/// Argument `index` as a string.
fn arg_str(params: &[Val], index: usize) -> ward::Result<&str> {
    match params.get(index) {
        Some(Val::String(s)) => Ok(s),
        other => Err(bad_arg(index, other)),
    }
}

/// Argument `index` as a `list<u8>`.
fn arg_bytes(params: &[Val], index: usize) -> ward::Result<Vec<u8>> {
    match params.get(index) {
        Some(Val::List(items)) => items
            .iter()
            .map(|v| match v {
                Val::U8(b) => Ok(*b),
                other => Err(bad_arg(index, Some(other))),
            })
            .collect(),
        other => Err(bad_arg(index, other)),
    }
}

/// The names set in `flags` argument `index`.
fn arg_flags(params: &[Val], index: usize) -> ward::Result<&[String]> {
    match params.get(index) {
        Some(Val::Flags(set)) => Ok(set),
        other => Err(bad_arg(index, other)),
    }
}

/// The representation of resource argument `index` (the receiver of a method is argument 0),
/// which must be of type `ty`.
fn arg_rep(params: &[Val], index: usize, ty: &HostResource) -> ward::Result<u32> {
    match params.get(index) {
        Some(Val::Resource(resource)) => rep_of(resource, ty),
        other => Err(bad_arg(index, other)),
    }
}

fn rep_of(resource: &ResourceAny, ty: &HostResource) -> ward::Result<u32> {
    ty.rep_of(resource)
        .ok_or_else(|| ward::Error::msg("a WASI resource of the wrong type"))
}

fn bad_arg(index: usize, value: Option<&Val>) -> ward::Error {
    ward::Error::msg(format!(
        "WASI argument {index} has an unexpected value {value:?}"
    ))
}

/// A `list<u8>` value.
fn bytes_val(bytes: Vec<u8>) -> Val {
    Val::List(bytes.into_iter().map(Val::U8).collect())
}

/// The `wasi:filesystem/types` `error-code` case for a preview1 errno.
fn error_code(errno: Errno) -> Val {
    let name = match errno {
        Errno::Acces => "access",
        Errno::Again => "would-block",
        Errno::Already => "already",
        Errno::Badf => "bad-descriptor",
        Errno::Busy => "busy",
        Errno::Exist => "exist",
        Errno::Fbig => "file-too-large",
        Errno::Intr => "interrupted",
        Errno::Inval | Errno::Fault => "invalid",
        Errno::Isdir => "is-directory",
        Errno::Loop => "loop",
        Errno::Mlink => "too-many-links",
        Errno::Nametoolong => "name-too-long",
        Errno::Nodev => "no-device",
        Errno::Noent => "no-entry",
        Errno::Nomem | Errno::Nfile | Errno::Mfile | Errno::Nobufs => "insufficient-memory",
        Errno::Nospc => "insufficient-space",
        Errno::Notdir => "not-directory",
        Errno::Notempty => "not-empty",
        Errno::Notsup | Errno::Nosys => "unsupported",
        Errno::Notty => "no-tty",
        Errno::Nxio => "no-such-device",
        Errno::Overflow | Errno::Range => "overflow",
        Errno::Perm | Errno::Notcapable => "not-permitted",
        Errno::Pipe => "pipe",
        Errno::Rofs => "read-only",
        Errno::Spipe => "invalid-seek",
        Errno::Txtbsy => "text-file-busy",
        Errno::Xdev => "cross-device",
        _ => "io",
    };
    Val::Enum(name.to_string())
}
