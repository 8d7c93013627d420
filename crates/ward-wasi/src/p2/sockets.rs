//! `wasi:sockets/*`, defined so that components importing them link, with every operation denied:
//! socket creation and name lookup return `access-denied`, so no socket ever exists and the
//! socket methods are unreachable (they deny too). `instance-network` gives a `network` with
//! nothing behind it. Granting the network to components is not there yet. Used by
//! `p2::add_to_linker`.

use ward::component::{HostResource, Linker, Val};

use super::{Host, Types, err, interface};
use crate::ctx::{WasiCtx, WasiState};

/// The methods of each socket resource; all deny.
const TCP_METHODS: [&str; 28] = [
    "start-bind",
    "finish-bind",
    "start-connect",
    "finish-connect",
    "start-listen",
    "finish-listen",
    "accept",
    "local-address",
    "remote-address",
    "is-listening",
    "address-family",
    "set-listen-backlog-size",
    "keep-alive-enabled",
    "set-keep-alive-enabled",
    "keep-alive-idle-time",
    "set-keep-alive-idle-time",
    "keep-alive-interval",
    "set-keep-alive-interval",
    "keep-alive-count",
    "set-keep-alive-count",
    "hop-limit",
    "set-hop-limit",
    "receive-buffer-size",
    "set-receive-buffer-size",
    "send-buffer-size",
    "set-send-buffer-size",
    "subscribe",
    "shutdown",
];

const UDP_METHODS: [&str; 13] = [
    "start-bind",
    "finish-bind",
    "stream",
    "local-address",
    "remote-address",
    "address-family",
    "unicast-hop-limit",
    "set-unicast-hop-limit",
    "receive-buffer-size",
    "set-receive-buffer-size",
    "send-buffer-size",
    "set-send-buffer-size",
    "subscribe",
];

pub(super) fn define<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>, types: &Types)
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let none = |_: &mut WasiState, _: u32| Ok(());
    let network = host.resource(linker, "wasi:sockets/network", "network", none);
    let tcp = host.resource(linker, "wasi:sockets/tcp", "tcp-socket", none);
    let udp = host.resource(linker, "wasi:sockets/udp", "udp-socket", none);
    host.resource(linker, "wasi:sockets/udp", "incoming-datagram-stream", none);
    host.resource(linker, "wasi:sockets/udp", "outgoing-datagram-stream", none);
    host.resource(
        linker,
        "wasi:sockets/ip-name-lookup",
        "resolve-address-stream",
        none,
    );

    let mut instance_network = linker.instance(&interface("wasi:sockets/instance-network"));
    instance_network.define_resource("network", &network);
    let net = network.clone();
    host.func(&mut instance_network, "instance-network", move |_, _, _| {
        // Nothing is behind it: every use of it is denied.
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
            vec![("network", &network), ("udp-socket", &udp)],
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

    let mut deny = |iface: &str, names: Vec<String>| {
        let mut instance = linker.instance(&interface(iface));
        for name in names {
            let pollable = types.pollable.clone();
            let subscribe = name.ends_with(".subscribe");
            let is_listening = name.ends_with(".is-listening");
            host.func(&mut instance, &name, move |ctx, _, _| {
                if subscribe {
                    let rep = ctx.p2.insert(super::state::Resource::Pollable {
                        deadline: None,
                        host_fd: None,
                    })?;
                    return Ok(Val::Resource(pollable.own(rep)));
                }
                if is_listening {
                    return Ok(Val::Bool(false));
                }
                Ok(err(Val::Enum("access-denied".into())))
            });
        }
    };
    let methods = |resource: &str, names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| format!("[method]{resource}.{n}"))
            .collect()
    };
    deny("wasi:sockets/tcp", methods("tcp-socket", &TCP_METHODS));
    let mut udp_methods = methods("udp-socket", &UDP_METHODS);
    udp_methods.extend(methods(
        "incoming-datagram-stream",
        &["receive", "subscribe"],
    ));
    udp_methods.extend(methods(
        "outgoing-datagram-stream",
        &["check-send", "send", "subscribe"],
    ));
    deny("wasi:sockets/udp", udp_methods);
    deny(
        "wasi:sockets/tcp-create-socket",
        vec!["create-tcp-socket".into()],
    );
    deny(
        "wasi:sockets/udp-create-socket",
        vec!["create-udp-socket".into()],
    );
    let mut lookup_names = vec!["resolve-addresses".to_string()];
    lookup_names.extend(methods(
        "resolve-address-stream",
        &["resolve-next-address", "subscribe"],
    ));
    deny("wasi:sockets/ip-name-lookup", lookup_names);
}
