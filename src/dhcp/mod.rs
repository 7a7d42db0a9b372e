//! DHCP protocol handling and the socket loop.
//!
//! Protocol logic never touches sockets: [`v4::V4Handler`] turns a received datagram plus
//! its [`RecvMeta`] into a [`Reply`]; [`server`] owns the sockets, the concurrency bound and
//! the per-packet deadline, and sends what the handler returns.

pub mod counters;
pub mod health;
pub mod iface;
pub mod reply;
pub mod server;
pub mod v4;

pub use counters::Counters;
pub use reply::{DropReason, Reply};

use std::net::{Ipv4Addr, SocketAddrV4};

/// Where a datagram came from and which interface received it.
#[derive(Debug, Clone)]
pub struct RecvMeta {
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Name of the receiving interface (`lo`, `eth0`, …).
    pub iface: String,
    /// The receiving interface's IPv4 addresses with prefix lengths (first = primary);
    /// the primary address is the server identifier for this interface.
    pub iface_addrs: Vec<(Ipv4Addr, u8)>,
}

impl RecvMeta {
    /// The address shoal speaks as on this interface (server identifier).
    pub fn server_addr(&self) -> Option<Ipv4Addr> {
        self.iface_addrs.first().map(|(a, _)| *a)
    }
}
