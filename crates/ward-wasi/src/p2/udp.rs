//! `wasi:sockets/udp` and `udp-create-socket`, over std's `UdpSocket`, when the context grants
//! the network (else creation and binding return `access-denied`). A socket is bound at
//! `start-bind`, non-blocking; `stream` connects it to a remote address (or leaves it to send
//! anywhere) and hands out its incoming and outgoing datagram streams, which name the socket.
//! `receive` returns what has arrived (nothing rather than waiting), and the incoming stream's
//! pollable waits for a datagram; sending never waits. Called by `sockets::define`.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use ward::component::{HostResource, Linker, Val};

use super::sockets::{
    Family, bad_address, code, family_of, io_code, socket_address_arg, socket_address_val,
};
use super::state::Resource;
use super::{Host, Types, arg_bytes, arg_rep, arg_u64, interface, ok};
use crate::ctx::{WasiCtx, WasiState};

/// A `udp-socket`: its family, the host socket once bound, and the remote address `stream`
/// connected it to.
#[derive(Debug)]
pub(crate) struct UdpSocketState {
    family: Family,
    socket: Option<UdpSocket>,
    bind_finished: bool,
    remote: Option<SocketAddr>,
}

/// The UDP resource types.
pub(super) struct UdpTypes {
    pub(super) socket: HostResource,
    incoming: HostResource,
    outgoing: HostResource,
}

/// Most datagrams one `receive` returns, whatever the guest asks for.
const MAX_RECEIVE: u64 = 64;
/// Largest datagram received.
const MAX_DATAGRAM: usize = 65_536;
/// How many datagrams `check-send` permits at once.
const SEND_PERMIT: u64 = 64;

pub(super) fn resources<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>) -> UdpTypes
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let forget = |ctx: &mut WasiState, rep: u32| {
        ctx.p2.remove(rep);
        Ok(())
    };
    UdpTypes {
        socket: host.resource(linker, "wasi:sockets/udp", "udp-socket", forget),
        incoming: host.resource(
            linker,
            "wasi:sockets/udp",
            "incoming-datagram-stream",
            forget,
        ),
        outgoing: host.resource(
            linker,
            "wasi:sockets/udp",
            "outgoing-datagram-stream",
            forget,
        ),
    }
}

fn state_mut(ctx: &mut WasiState, rep: u32) -> ward::Result<&mut UdpSocketState> {
    match ctx.p2.get_mut(rep)? {
        Resource::UdpSocket(state) => Ok(state),
        _ => Err(ward::Error::msg("not a UDP socket")),
    }
}

/// The socket a datagram stream (argument 0, of type `ty`) belongs to.
fn stream_socket(ctx: &WasiState, params: &[Val], ty: &HostResource) -> ward::Result<u32> {
    let rep = arg_rep(params, 0, ty)?;
    match ctx.p2.get(rep)? {
        Resource::Datagrams { socket } => Ok(*socket),
        _ => Err(ward::Error::msg("not a datagram stream")),
    }
}

pub(super) fn define<T: 'static, G>(
    host: &Host<G>,
    linker: &mut Linker<T>,
    types: &Types,
    udp: &UdpTypes,
) where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut create = linker.instance(&interface("wasi:sockets/udp-create-socket"));
    let ty = udp.socket.clone();
    host.func(&mut create, "create-udp-socket", move |ctx, params, _| {
        if !ctx.network.inherit {
            return Ok(code("access-denied"));
        }
        let family = match params.first() {
            Some(Val::Enum(f)) if f == "ipv4" => Family::Ipv4,
            Some(Val::Enum(f)) if f == "ipv6" => Family::Ipv6,
            _ => {
                return Err(ward::Error::msg(
                    "create-udp-socket takes an address family",
                ));
            }
        };
        let rep = ctx.p2.insert(Resource::UdpSocket(UdpSocketState {
            family,
            socket: None,
            bind_finished: false,
            remote: None,
        }))?;
        Ok(ok(Some(Val::Resource(ty.own(rep)))))
    });

    let mut instance = linker.instance(&interface("wasi:sockets/udp"));
    let method = |name: &str| format!("[method]udp-socket.{name}");

    let ty = udp.socket.clone();
    host.func(
        &mut instance,
        &method("start-bind"),
        move |ctx, params, _| {
            let address = socket_address_arg(params.get(2)).ok_or_else(bad_address)?;
            let inherit = ctx.network.inherit;
            let state = state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            if !inherit {
                return Ok(code("access-denied"));
            }
            if state.socket.is_some() {
                return Ok(code("invalid-state"));
            }
            if family_of(&address) != state.family {
                return Ok(code("invalid-argument"));
            }
            let socket = match UdpSocket::bind(address).and_then(|s| {
                s.set_nonblocking(true)?;
                Ok(s)
            }) {
                Ok(socket) => socket,
                Err(e) => return Ok(io_code(&e)),
            };
            state.socket = Some(socket);
            Ok(ok(None))
        },
    );
    let ty = udp.socket.clone();
    host.func(
        &mut instance,
        &method("finish-bind"),
        move |ctx, params, _| {
            let state = state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            if state.socket.is_none() || state.bind_finished {
                return Ok(code("not-in-progress"));
            }
            state.bind_finished = true;
            Ok(ok(None))
        },
    );
    let t = udp_and_types(udp, types);
    host.func(&mut instance, &method("stream"), move |ctx, params, _| {
        let rep = arg_rep(params, 0, &t.0.socket)?;
        let remote = match params.get(1) {
            Some(Val::Option(None)) => None,
            Some(Val::Option(Some(address))) => {
                Some(socket_address_arg(Some(address)).ok_or_else(bad_address)?)
            }
            _ => return Err(bad_address()),
        };
        let state = state_mut(ctx, rep)?;
        let Some(socket) = state.socket.as_ref().filter(|_| state.bind_finished) else {
            return Ok(code("invalid-state"));
        };
        if let Some(remote) = remote {
            if family_of(&remote) != state.family || remote.port() == 0 {
                return Ok(code("invalid-argument"));
            }
            if let Err(e) = socket.connect(remote) {
                return Ok(io_code(&e));
            }
        }
        state.remote = remote;
        let incoming = ctx.p2.insert(Resource::Datagrams { socket: rep })?;
        let outgoing = ctx.p2.insert(Resource::Datagrams { socket: rep })?;
        Ok(ok(Some(Val::Tuple(vec![
            Val::Resource(t.0.incoming.own(incoming)),
            Val::Resource(t.0.outgoing.own(outgoing)),
        ]))))
    });
    for (name, local) in [("local-address", true), ("remote-address", false)] {
        let ty = udp.socket.clone();
        host.func(&mut instance, &method(name), move |ctx, params, _| {
            let state = state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            let address = match (&state.socket, local, state.remote) {
                (Some(socket), true, _) => socket.local_addr(),
                (Some(_), false, Some(remote)) => Ok(remote),
                _ => return Ok(code("invalid-state")),
            };
            Ok(match address {
                Ok(address) => ok(Some(socket_address_val(address))),
                Err(e) => io_code(&e),
            })
        });
    }
    let ty = udp.socket.clone();
    host.func(
        &mut instance,
        &method("address-family"),
        move |ctx, params, _| {
            let state = state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            Ok(Val::Enum(
                match state.family {
                    Family::Ipv4 => "ipv4",
                    Family::Ipv6 => "ipv6",
                }
                .into(),
            ))
        },
    );
    let options: [(&str, super::sockets::DefaultValue); 3] = [
        ("unicast-hop-limit", || Val::U8(64)),
        ("receive-buffer-size", || Val::U64(65_536)),
        ("send-buffer-size", || Val::U64(65_536)),
    ];
    for (name, default) in options {
        let ty = udp.socket.clone();
        host.func(&mut instance, &method(name), move |ctx, params, _| {
            state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            Ok(ok(Some(default())))
        });
        let ty = udp.socket.clone();
        host.func(
            &mut instance,
            &method(&format!("set-{name}")),
            move |ctx, params, _| {
                state_mut(ctx, arg_rep(params, 0, &ty)?)?;
                Ok(ok(None))
            },
        );
    }
    let pollable = types.pollable.clone();
    let ty = udp.socket.clone();
    host.func(
        &mut instance,
        &method("subscribe"),
        move |ctx, params, _| {
            state_mut(ctx, arg_rep(params, 0, &ty)?)?;
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd: None,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        },
    );

    let ty = udp.incoming.clone();
    host.func(
        &mut instance,
        "[method]incoming-datagram-stream.receive",
        move |ctx, params, _| {
            let socket_rep = stream_socket(ctx, params, &ty)?;
            let max = arg_u64(params, 1)?.min(MAX_RECEIVE);
            let state = state_mut(ctx, socket_rep)?;
            let Some(socket) = &state.socket else {
                return Ok(code("invalid-state"));
            };
            let mut datagrams = Vec::new();
            let mut buffer = vec![0; MAX_DATAGRAM];
            while (datagrams.len() as u64) < max {
                match socket.recv_from(&mut buffer) {
                    Ok((n, from)) => datagrams.push(Val::Record(vec![
                        (
                            "data".into(),
                            Val::List(buffer[..n].iter().copied().map(Val::U8).collect()),
                        ),
                        ("remote-address".into(), socket_address_val(from)),
                    ])),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if datagrams.is_empty() => return Ok(io_code(&e)),
                    Err(_) => break,
                }
            }
            Ok(ok(Some(Val::List(datagrams))))
        },
    );
    let ty = udp.incoming.clone();
    let pollable = types.pollable.clone();
    host.func(
        &mut instance,
        "[method]incoming-datagram-stream.subscribe",
        move |ctx, params, _| {
            let socket_rep = stream_socket(ctx, params, &ty)?;
            let host_fd = state_mut(ctx, socket_rep)?
                .socket
                .as_ref()
                .map(|s| s.as_raw_fd());
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        },
    );
    let ty = udp.outgoing.clone();
    host.func(
        &mut instance,
        "[method]outgoing-datagram-stream.check-send",
        move |ctx, params, _| {
            stream_socket(ctx, params, &ty)?;
            Ok(ok(Some(Val::U64(SEND_PERMIT))))
        },
    );
    let ty = udp.outgoing.clone();
    host.func(
        &mut instance,
        "[method]outgoing-datagram-stream.send",
        move |ctx, params, _| {
            let socket_rep = stream_socket(ctx, params, &ty)?;
            let Some(Val::List(datagrams)) = params.get(1) else {
                return Err(ward::Error::msg("send takes a list of datagrams"));
            };
            if datagrams.len() as u64 > SEND_PERMIT {
                return Err(ward::Error::msg(
                    "send: more datagrams than check-send permits",
                ));
            }
            let state = state_mut(ctx, socket_rep)?;
            let Some(socket) = &state.socket else {
                return Ok(code("invalid-state"));
            };
            let mut sent = 0u64;
            for datagram in datagrams {
                let Val::Record(fields) = datagram else {
                    return Err(ward::Error::msg("a datagram is a record"));
                };
                let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                let data = arg_bytes(
                    std::slice::from_ref(field("data").ok_or_else(bad_address)?),
                    0,
                )?;
                let to = match field("remote-address") {
                    Some(Val::Option(Some(address))) => {
                        Some(socket_address_arg(Some(address)).ok_or_else(bad_address)?)
                    }
                    Some(Val::Option(None)) => None,
                    _ => return Err(bad_address()),
                };
                let result = match (to, state.remote) {
                    (Some(to), None) if family_of(&to) == state.family => socket.send_to(&data, to),
                    (Some(to), Some(remote)) if to == remote => socket.send(&data),
                    (None, Some(_)) => socket.send(&data),
                    _ => {
                        return Ok(if sent == 0 {
                            code("invalid-argument")
                        } else {
                            ok(Some(Val::U64(sent)))
                        });
                    }
                };
                match result {
                    Ok(_) => sent += 1,
                    Err(e) if sent == 0 => return Ok(io_code(&e)),
                    Err(_) => break,
                }
            }
            Ok(ok(Some(Val::U64(sent))))
        },
    );
    let ty = udp.outgoing.clone();
    let pollable = types.pollable.clone();
    host.func(
        &mut instance,
        "[method]outgoing-datagram-stream.subscribe",
        move |ctx, params, _| {
            stream_socket(ctx, params, &ty)?;
            let rep = ctx.p2.insert(Resource::Pollable {
                deadline: None,
                host_fd: None,
            })?;
            Ok(Val::Resource(pollable.own(rep)))
        },
    );
}

/// The UDP types and the shared ones, for closures that need both.
fn udp_and_types(udp: &UdpTypes, types: &Types) -> std::sync::Arc<(UdpTypes, Types)> {
    std::sync::Arc::new((
        UdpTypes {
            socket: udp.socket.clone(),
            incoming: udp.incoming.clone(),
            outgoing: udp.outgoing.clone(),
        },
        types.clone(),
    ))
}
