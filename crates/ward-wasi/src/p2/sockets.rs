//! `wasi:sockets/*`: TCP over the host's network, name lookup and `instance-network`, each only
//! when granted ([`WasiCtxBuilder::inherit_network`], [`WasiCtxBuilder::allow_ip_name_lookup`];
//! `ward run -S inherit-network`, `-S allow-ip-name-lookup`). Without the grant, socket creation,
//! binding and connecting return `access-denied`, and lookups `permanent-resolver-failure` (what
//! Wasmtime answers). UDP is in `udp`. Used by `p2::add_to_linker`.
//!
//! A TCP socket is the p2 host's own resource ([`TcpSocket`]). Binding binds a host listener at
//! once (std binds and listens in one step, so connections may queue before `listen`); a
//! connected socket's stream is a preview1 `Descriptor::Socket`, and its input and output streams
//! are the ordinary `wasi:io` streams over that descriptor. Connecting blocks until the handshake
//! is over, so `finish-connect` never reports `would-block`; `accept` does, when no connection is
//! waiting, and the socket's pollable waits for one.
//!
//! [`WasiCtxBuilder::inherit_network`]: crate::WasiCtxBuilder::inherit_network
//! [`WasiCtxBuilder::allow_ip_name_lookup`]: crate::WasiCtxBuilder::allow_ip_name_lookup

use std::collections::VecDeque;
use std::io;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener,
    TcpStream, ToSocketAddrs,
};
use std::os::fd::AsRawFd;

use ward::component::{HostResource, Linker, Val};

use super::state::{Resource, StreamAt};
use super::{Host, Types, arg_rep, arg_str, arg_u64, err, interface, ok};
use crate::ctx::{WasiCtx, WasiState};
use crate::table::Descriptor;

/// A `tcp-socket`: its address family and where it is in its life.
#[derive(Debug)]
pub(crate) struct TcpSocket {
    family: Family,
    state: TcpState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Ipv4,
    Ipv6,
}

#[derive(Debug)]
enum TcpState {
    Unbound,
    /// `start-bind` succeeded; `finish-bind` makes it `Bound`.
    BindStarted(TcpListener),
    Bound(TcpListener),
    ListenStarted(TcpListener),
    Listening(TcpListener),
    /// `start-connect` ran; `finish-connect` hands out the streams (or the error).
    ConnectStarted(io::Result<TcpStream>),
    /// Connected: the preview1 descriptor of the stream, and the stream's addresses.
    Connected {
        fd: u32,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// Connecting failed, or the streams were handed out and the socket cannot be used again.
    Closed,
}

/// A `wasi:sockets/network` `error-code` case.
pub(super) fn code(name: &str) -> Val {
    err(Val::Enum(name.into()))
}

pub(super) fn io_code(error: &io::Error) -> Val {
    use io::ErrorKind as K;
    code(match error.kind() {
        K::ConnectionRefused => "connection-refused",
        K::ConnectionReset => "connection-reset",
        K::ConnectionAborted => "connection-aborted",
        K::AddrInUse => "address-in-use",
        K::AddrNotAvailable => "address-not-bindable",
        K::PermissionDenied => "access-denied",
        K::TimedOut => "timeout",
        K::WouldBlock => "would-block",
        K::InvalidInput => "invalid-argument",
        K::HostUnreachable | K::NetworkUnreachable => "remote-unreachable",
        K::OutOfMemory => "out-of-memory",
        _ => "unknown",
    })
}

/// The `ip-socket-address` value of `address`.
pub(super) fn socket_address_val(address: SocketAddr) -> Val {
    match address {
        SocketAddr::V4(a) => Val::Variant(
            "ipv4".into(),
            Some(Box::new(Val::Record(vec![
                ("port".into(), Val::U16(a.port())),
                (
                    "address".into(),
                    Val::Tuple(a.ip().octets().into_iter().map(Val::U8).collect()),
                ),
            ]))),
        ),
        SocketAddr::V6(a) => Val::Variant(
            "ipv6".into(),
            Some(Box::new(Val::Record(vec![
                ("port".into(), Val::U16(a.port())),
                ("flow-info".into(), Val::U32(a.flowinfo())),
                (
                    "address".into(),
                    Val::Tuple(a.ip().segments().into_iter().map(Val::U16).collect()),
                ),
                ("scope-id".into(), Val::U32(a.scope_id())),
            ]))),
        ),
    }
}

/// The `ip-address` value of `address`.
fn ip_address_val(address: IpAddr) -> Val {
    match address {
        IpAddr::V4(a) => Val::Variant(
            "ipv4".into(),
            Some(Box::new(Val::Tuple(
                a.octets().into_iter().map(Val::U8).collect(),
            ))),
        ),
        IpAddr::V6(a) => Val::Variant(
            "ipv6".into(),
            Some(Box::new(Val::Tuple(
                a.segments().into_iter().map(Val::U16).collect(),
            ))),
        ),
    }
}

/// An `ip-socket-address` argument; `None` if it is not one (the caller traps).
pub(super) fn socket_address_arg(value: Option<&Val>) -> Option<SocketAddr> {
    let Some(Val::Variant(case, Some(payload))) = value else {
        return None;
    };
    let Val::Record(fields) = payload.as_ref() else {
        return None;
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let port = match field("port") {
        Some(Val::U16(port)) => *port,
        _ => return None,
    };
    let Some(Val::Tuple(parts)) = field("address") else {
        return None;
    };
    match case.as_str() {
        "ipv4" => {
            let octets: Vec<u8> = parts
                .iter()
                .map(|p| match p {
                    Val::U8(x) => Some(*x),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let octets: [u8; 4] = octets.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(octets),
                port,
            )))
        }
        "ipv6" => {
            let segments: Vec<u16> = parts
                .iter()
                .map(|p| match p {
                    Val::U16(x) => Some(*x),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let segments: [u16; 8] = segments.try_into().ok()?;
            let flow = match field("flow-info") {
                Some(Val::U32(x)) => *x,
                _ => return None,
            };
            let scope = match field("scope-id") {
                Some(Val::U32(x)) => *x,
                _ => return None,
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(segments),
                port,
                flow,
                scope,
            )))
        }
        _ => None,
    }
}

pub(super) fn family_of(address: &SocketAddr) -> Family {
    match address {
        SocketAddr::V4(_) => Family::Ipv4,
        SocketAddr::V6(_) => Family::Ipv6,
    }
}

pub(super) fn bad_address() -> ward::Error {
    ward::Error::msg("WASI sockets: an argument is not an ip-socket-address")
}

/// The socket behind handle argument 0.
fn socket_mut<'a>(
    ctx: &'a mut WasiState,
    params: &[Val],
    ty: &HostResource,
) -> ward::Result<&'a mut TcpSocket> {
    let rep = arg_rep(params, 0, ty)?;
    match ctx.p2.get_mut(rep)? {
        Resource::TcpSocket(socket) => Ok(socket),
        _ => Err(ward::Error::msg("not a TCP socket")),
    }
}

/// A new p2 input and output stream over preview1 descriptor `fd`, as a tuple of handles.
fn streams_of(ctx: &mut WasiState, fd: u32, types: &Types) -> ward::Result<(Val, Val)> {
    let input = ctx.p2.insert(Resource::Input {
        fd,
        at: StreamAt::Cursor,
    })?;
    let output = ctx.p2.insert(Resource::Output {
        fd,
        at: StreamAt::Cursor,
    })?;
    Ok((
        Val::Resource(types.input.own(input)),
        Val::Resource(types.output.own(output)),
    ))
}

/// Enters a connected `stream` in the preview1 table; returns its descriptor and addresses.
fn connected(ctx: &mut WasiState, stream: TcpStream) -> Result<TcpState, Val> {
    let local = stream.local_addr().map_err(|e| io_code(&e))?;
    let remote = stream.peer_addr().map_err(|e| io_code(&e))?;
    stream.set_nonblocking(false).map_err(|e| io_code(&e))?;
    let fd = ctx
        .insert(Descriptor::Socket(stream))
        .map_err(|_| code("new-socket-limit"))?;
    Ok(TcpState::Connected { fd, local, remote })
}

/// Makes the value a socket option getter reports.
pub(super) type DefaultValue = fn() -> Val;

/// The TCP socket methods whose only effect is an option ward keeps at the host's default:
/// getters give that default, setters accept any value.
const TCP_OPTIONS: [(&str, DefaultValue); 7] = [
    ("keep-alive-enabled", || Val::Bool(false)),
    ("keep-alive-idle-time", || Val::U64(7_200_000_000_000)),
    ("keep-alive-interval", || Val::U64(75_000_000_000)),
    ("keep-alive-count", || Val::U32(9)),
    ("hop-limit", || Val::U8(64)),
    ("receive-buffer-size", || Val::U64(65_536)),
    ("send-buffer-size", || Val::U64(65_536)),
];

pub(super) fn define<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>, types: &Types)
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let none = |_: &mut WasiState, _: u32| Ok(());
    let network = host.resource(linker, "wasi:sockets/network", "network", none);
    let tcp = host.resource(
        linker,
        "wasi:sockets/tcp",
        "tcp-socket",
        |ctx: &mut WasiState, rep| {
            if let Ok(Resource::TcpSocket(TcpSocket {
                state: TcpState::Connected { fd, .. },
                ..
            })) = ctx.p2.get(rep)
            {
                let fd = *fd;
                let _ = crate::fs::fd_close(ctx, fd);
            }
            ctx.p2.remove(rep);
            Ok(())
        },
    );
    let udp = super::udp::resources(host, linker);
    let lookup = host.resource(
        linker,
        "wasi:sockets/ip-name-lookup",
        "resolve-address-stream",
        |ctx: &mut WasiState, rep| {
            ctx.p2.remove(rep);
            Ok(())
        },
    );

    let mut instance_network = linker.instance(&interface("wasi:sockets/instance-network"));
    instance_network.define_resource("network", &network);
    let net = network.clone();
    host.func(&mut instance_network, "instance-network", move |_, _, _| {
        // One network for the instance; what it may do is the context's grant.
        Ok(Val::Resource(net.own(0)))
    });

    let reexports: [(&str, Vec<(&str, &HostResource)>); 6] = [
        ("wasi:sockets/network", vec![]),
        (
            "wasi:sockets/tcp",
            vec![
                ("network", &network),
                ("pollable", &types.pollable),
                ("input-stream", &types.input),
                ("output-stream", &types.output),
            ],
        ),
        (
            "wasi:sockets/udp",
            vec![("network", &network), ("pollable", &types.pollable)],
        ),
        (
            "wasi:sockets/tcp-create-socket",
            vec![("network", &network), ("tcp-socket", &tcp)],
        ),
        (
            "wasi:sockets/udp-create-socket",
            vec![("network", &network), ("udp-socket", &udp.socket)],
        ),
        (
            "wasi:sockets/ip-name-lookup",
            vec![("network", &network), ("pollable", &types.pollable)],
        ),
    ];
    for (iface, resources) in reexports {
        let mut instance = linker.instance(&interface(iface));
        for (name, resource) in resources {
            instance.define_resource(name, resource);
        }
    }

    define_tcp(host, linker, types, &tcp);
    define_lookup(host, linker, types, &lookup);
    super::udp::define(host, linker, types, &udp);
}

fn define_tcp<T: 'static, G>(
    host: &Host<G>,
    linker: &mut Linker<T>,
    types: &Types,
    tcp: &HostResource,
) where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut create = linker.instance(&interface("wasi:sockets/tcp-create-socket"));
    let ty = tcp.clone();
    host.func(&mut create, "create-tcp-socket", move |ctx, params, _| {
        if !ctx.network.inherit {
            return Ok(code("access-denied"));
        }
        let family = match params.first() {
            Some(Val::Enum(f)) if f == "ipv4" => Family::Ipv4,
            Some(Val::Enum(f)) if f == "ipv6" => Family::Ipv6,
            _ => {
                return Err(ward::Error::msg(
                    "create-tcp-socket takes an address family",
                ));
            }
        };
        let rep = ctx.p2.insert(Resource::TcpSocket(TcpSocket {
            family,
            state: TcpState::Unbound,
        }))?;
        Ok(ok(Some(Val::Resource(ty.own(rep)))))
    });

    let mut instance = linker.instance(&interface("wasi:sockets/tcp"));
    let method = |name: &str| format!("[method]tcp-socket.{name}");

    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("start-bind"),
        move |ctx, params, _| {
            let address = socket_address_arg(params.get(2)).ok_or_else(bad_address)?;
            let inherit = ctx.network.inherit;
            let socket = socket_mut(ctx, params, &ty)?;
            if !inherit {
                return Ok(code("access-denied"));
            }
            if !matches!(socket.state, TcpState::Unbound) {
                return Ok(code("invalid-state"));
            }
            if family_of(&address) != socket.family {
                return Ok(code("invalid-argument"));
            }
            Ok(match TcpListener::bind(address) {
                Ok(listener) => {
                    socket.state = TcpState::BindStarted(listener);
                    ok(None)
                }
                Err(e) => io_code(&e),
            })
        },
    );
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("finish-bind"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            Ok(
                match std::mem::replace(&mut socket.state, TcpState::Closed) {
                    TcpState::BindStarted(listener) => {
                        socket.state = TcpState::Bound(listener);
                        ok(None)
                    }
                    other => {
                        socket.state = other;
                        code("not-in-progress")
                    }
                },
            )
        },
    );
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("start-listen"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            Ok(
                match std::mem::replace(&mut socket.state, TcpState::Closed) {
                    TcpState::Bound(listener) => {
                        // `accept` reports `would-block` rather than blocking the guest.
                        if let Err(e) = listener.set_nonblocking(true) {
                            socket.state = TcpState::Bound(listener);
                            return Ok(io_code(&e));
                        }
                        socket.state = TcpState::ListenStarted(listener);
                        ok(None)
                    }
                    other => {
                        socket.state = other;
                        code("invalid-state")
                    }
                },
            )
        },
    );
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("finish-listen"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            Ok(
                match std::mem::replace(&mut socket.state, TcpState::Closed) {
                    TcpState::ListenStarted(listener) => {
                        socket.state = TcpState::Listening(listener);
                        ok(None)
                    }
                    other => {
                        socket.state = other;
                        code("not-in-progress")
                    }
                },
            )
        },
    );
    let t = types.clone();
    let ty = tcp.clone();
    host.func(&mut instance, &method("accept"), move |ctx, params, _| {
        let socket = socket_mut(ctx, params, &ty)?;
        let TcpState::Listening(listener) = &socket.state else {
            return Ok(code("invalid-state"));
        };
        let family = socket.family;
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => return Ok(io_code(&e)),
        };
        let state = match connected(ctx, stream) {
            Ok(state) => state,
            Err(error) => return Ok(error),
        };
        let TcpState::Connected { fd, .. } = state else {
            return Err(ward::Error::msg("an accepted socket is connected"));
        };
        let accepted = ctx
            .p2
            .insert(Resource::TcpSocket(TcpSocket { family, state }))?;
        let (input, output) = streams_of(ctx, fd, &t)?;
        Ok(ok(Some(Val::Tuple(vec![
            Val::Resource(ty.own(accepted)),
            input,
            output,
        ]))))
    });
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("start-connect"),
        move |ctx, params, _| {
            let address = socket_address_arg(params.get(2)).ok_or_else(bad_address)?;
            let inherit = ctx.network.inherit;
            let socket = socket_mut(ctx, params, &ty)?;
            if !inherit {
                return Ok(code("access-denied"));
            }
            if !matches!(socket.state, TcpState::Unbound | TcpState::Bound(_)) {
                return Ok(code("invalid-state"));
            }
            if family_of(&address) != socket.family
                || address.port() == 0
                || address.ip().is_unspecified()
            {
                return Ok(code("invalid-argument"));
            }
            // A socket bound first connects from an address of the host's choosing: std cannot
            // connect a bound socket.
            socket.state = TcpState::ConnectStarted(TcpStream::connect(address));
            Ok(ok(None))
        },
    );
    let t = types.clone();
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("finish-connect"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            let result = match std::mem::replace(&mut socket.state, TcpState::Closed) {
                TcpState::ConnectStarted(result) => result,
                other => {
                    socket.state = other;
                    return Ok(code("not-in-progress"));
                }
            };
            let stream = match result {
                Ok(stream) => stream,
                Err(e) => return Ok(io_code(&e)),
            };
            let state = match connected(ctx, stream) {
                Ok(state) => state,
                Err(error) => return Ok(error),
            };
            let TcpState::Connected { fd, .. } = state else {
                return Err(ward::Error::msg("a connected socket is connected"));
            };
            socket_mut(ctx, params, &ty)?.state = state;
            let (input, output) = streams_of(ctx, fd, &t)?;
            Ok(ok(Some(Val::Tuple(vec![input, output]))))
        },
    );
    for (name, local) in [("local-address", true), ("remote-address", false)] {
        let ty = tcp.clone();
        host.func(&mut instance, &method(name), move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            let address = match (&socket.state, local) {
                (TcpState::Connected { local, .. }, true) => Ok(*local),
                (TcpState::Connected { remote, .. }, false) => Ok(*remote),
                (
                    TcpState::Bound(l)
                    | TcpState::ListenStarted(l)
                    | TcpState::Listening(l)
                    | TcpState::BindStarted(l),
                    true,
                ) => l.local_addr(),
                _ => return Ok(code("invalid-state")),
            };
            Ok(match address {
                Ok(address) => ok(Some(socket_address_val(address))),
                Err(e) => io_code(&e),
            })
        });
    }
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("is-listening"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            Ok(Val::Bool(matches!(socket.state, TcpState::Listening(_))))
        },
    );
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("address-family"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            Ok(Val::Enum(
                match socket.family {
                    Family::Ipv4 => "ipv4",
                    Family::Ipv6 => "ipv6",
                }
                .into(),
            ))
        },
    );
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("set-listen-backlog-size"),
        move |ctx, params, _| {
            let size = arg_u64(params, 1)?;
            socket_mut(ctx, params, &ty)?;
            Ok(if size == 0 {
                code("invalid-argument")
            } else {
                ok(None)
            })
        },
    );
    for (name, default) in TCP_OPTIONS {
        let ty = tcp.clone();
        host.func(&mut instance, &method(name), move |ctx, params, _| {
            socket_mut(ctx, params, &ty)?;
            Ok(ok(Some(default())))
        });
        let ty = tcp.clone();
        host.func(
            &mut instance,
            &method(&format!("set-{name}")),
            move |ctx, params, _| {
                socket_mut(ctx, params, &ty)?;
                Ok(ok(None))
            },
        );
    }
    let pollable = types.pollable.clone();
    let ty = tcp.clone();
    host.func(
        &mut instance,
        &method("subscribe"),
        move |ctx, params, _| {
            let socket = socket_mut(ctx, params, &ty)?;
            // A listener is ready when a connection waits; every other state is ready at once
            // (connecting completes in `start-connect`).
            let host_fd = match &socket.state {
                TcpState::Listening(listener) => Some(listener.as_raw_fd()),
                _ => None,
            };
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        },
    );
    let ty = tcp.clone();
    host.func(&mut instance, &method("shutdown"), move |ctx, params, _| {
        let how = match params.get(1) {
            Some(Val::Enum(how)) if how == "receive" => Shutdown::Read,
            Some(Val::Enum(how)) if how == "send" => Shutdown::Write,
            Some(Val::Enum(how)) if how == "both" => Shutdown::Both,
            _ => return Err(ward::Error::msg("shutdown takes a shutdown-type")),
        };
        let TcpState::Connected { fd, .. } = socket_mut(ctx, params, &ty)?.state else {
            return Ok(code("invalid-state"));
        };
        Ok(match ctx.get(fd) {
            Some(Descriptor::Socket(stream)) => match stream.shutdown(how) {
                Ok(()) => ok(None),
                Err(e) => io_code(&e),
            },
            _ => code("invalid-state"),
        })
    });
}

fn define_lookup<T: 'static, G>(
    host: &Host<G>,
    linker: &mut Linker<T>,
    types: &Types,
    lookup: &HostResource,
) where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut instance = linker.instance(&interface("wasi:sockets/ip-name-lookup"));
    let ty = lookup.clone();
    host.func(&mut instance, "resolve-addresses", move |ctx, params, _| {
        if !ctx.network.name_lookup {
            // As Wasmtime answers an ungranted lookup, so that guests see the same error.
            return Ok(code("permanent-resolver-failure"));
        }
        let name = arg_str(params, 1)?;
        if name.is_empty() || name.len() > 253 || name.contains(['/', ' ', '\0']) {
            return Ok(code("invalid-argument"));
        }
        let addresses: Vec<IpAddr> = match name.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => match (name, 0).to_socket_addrs() {
                Ok(found) => {
                    let mut unique = Vec::new();
                    for address in found {
                        if !unique.contains(&address.ip()) {
                            unique.push(address.ip());
                        }
                    }
                    unique
                }
                Err(_) => return Ok(code("name-unresolvable")),
            },
        };
        let rep = ctx
            .p2
            .insert(Resource::Addresses(VecDeque::from(addresses)))?;
        Ok(ok(Some(Val::Resource(ty.own(rep)))))
    });
    let ty = lookup.clone();
    host.func(
        &mut instance,
        "[method]resolve-address-stream.resolve-next-address",
        move |ctx, params, _| {
            let rep = arg_rep(params, 0, &ty)?;
            let Resource::Addresses(addresses) = ctx.p2.get_mut(rep)? else {
                return Err(ward::Error::msg("not a resolve-address-stream"));
            };
            let next = addresses.pop_front().map(ip_address_val);
            Ok(ok(Some(Val::Option(next.map(Box::new)))))
        },
    );
    let ty = lookup.clone();
    let pollable = types.pollable.clone();
    host.func(
        &mut instance,
        "[method]resolve-address-stream.subscribe",
        move |ctx, params, _| {
            arg_rep(params, 0, &ty)?;
            // Lookups complete in `resolve-addresses`.
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd: None,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        },
    );
}
