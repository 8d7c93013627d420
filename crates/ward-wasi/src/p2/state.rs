//! The WASI 0.2 host's own resources ([`Resources`]): streams, pollables, errors, directory
//! listings, TCP sockets and name lookups, by the representation their guest handles carry. Descriptors are not here: a
//! `descriptor`'s representation is its preview1 descriptor number in the [`WasiState`]'s table,
//! so both hosts share one table and one sandbox. Kept in [`WasiState::p2`]; used by every
//! interface module of `p2`.
//!
//! [`WasiState`]: crate::ctx::WasiState
//! [`WasiState::p2`]: crate::ctx::WasiState

use std::collections::{HashMap, VecDeque};

use crate::errno::Errno;

/// Where a stream reads or writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamAt {
    /// At the descriptor's own position (standard streams, sockets).
    Cursor,
    /// At a byte offset of a file, moved on by each read or write.
    Offset(u64),
    /// At the end of the file, wherever that is at each write.
    Append,
}

/// One host resource of the WASI 0.2 host.
#[derive(Debug)]
pub(crate) enum Resource {
    /// An `input-stream` over a preview1 descriptor.
    Input { fd: u32, at: StreamAt },
    /// An `output-stream` over a preview1 descriptor.
    Output { fd: u32, at: StreamAt },
    /// A `pollable`: ready at once (neither field), at a monotonic-clock instant
    /// (`deadline`, nanoseconds), or when a host descriptor can be read (`host_fd`: standard
    /// input inherited from the host).
    Pollable {
        deadline: Option<u64>,
        host_fd: Option<i32>,
    },
    /// An `error` (from `wasi:io/error`): what went wrong, as an errno.
    Error(Errno),
    /// A `directory-entry-stream`: the entries left, with their preview1 file types.
    Entries(VecDeque<(String, u8)>),
    /// A `wasi:sockets/tcp` `tcp-socket`.
    TcpSocket(super::sockets::TcpSocket),
    /// A `wasi:sockets/udp` `udp-socket`.
    UdpSocket(super::udp::UdpSocketState),
    /// An `incoming-datagram-stream` or `outgoing-datagram-stream` of UDP socket `socket`.
    Datagrams { socket: u32 },
    /// A `resolve-address-stream`: the addresses not yet handed out.
    Addresses(VecDeque<std::net::IpAddr>),
}

/// The WASI 0.2 host's resources of one guest.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    items: HashMap<u32, Resource>,
    next: u32,
}

/// Most resources a guest may hold at once: bounds the host memory a hostile guest can take.
const MAX_RESOURCES: usize = 1 << 16;

impl Resources {
    /// Adds `resource`, returning its representation (never 0).
    pub(crate) fn insert(&mut self, resource: Resource) -> ward::Result<u32> {
        if self.items.len() >= MAX_RESOURCES {
            return Err(ward::Error::msg("the guest holds too many WASI resources"));
        }
        loop {
            self.next = self.next.wrapping_add(1).max(1);
            if !self.items.contains_key(&self.next) {
                break;
            }
        }
        self.items.insert(self.next, resource);
        Ok(self.next)
    }

    pub(crate) fn get(&self, rep: u32) -> ward::Result<&Resource> {
        self.items.get(&rep).ok_or_else(|| unknown(rep))
    }

    pub(crate) fn get_mut(&mut self, rep: u32) -> ward::Result<&mut Resource> {
        self.items.get_mut(&rep).ok_or_else(|| unknown(rep))
    }

    pub(crate) fn remove(&mut self, rep: u32) {
        self.items.remove(&rep);
    }
}

fn unknown(rep: u32) -> ward::Error {
    ward::Error::msg(format!("unknown WASI resource {rep}"))
}
