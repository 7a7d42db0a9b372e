//! What the handler decided for one packet: send something, or drop it and say why.

use std::net::SocketAddrV4;

/// The outcome of handling one packet.
#[derive(Debug)]
pub enum Reply {
    /// Send `payload` to `dst`.
    Send {
        /// Encoded DHCP message.
        payload: Vec<u8>,
        /// Destination address and port.
        dst: SocketAddrV4,
        /// Message type name, for counters (`offer`, `ack`, `nak`).
        kind: &'static str,
    },
    /// Nothing is sent (RELEASE, DECLINE), the transaction completed.
    Done,
    /// The packet is dropped; the reason is logged at debug and counted.
    Drop(DropReason),
}

/// Why a packet got no answer. Each has a stable counter name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Could not be parsed as a DHCPv4 message.
    Malformed,
    /// A BOOTREPLY or a message type a server does not process.
    NotARequest,
    /// No DHCP message type option (BOOTP), which shoal does not serve.
    Bootp,
    /// No subnet matches the link, relay or selection options.
    NoSubnet,
    /// The client's subnet has no free address in any permitted pool.
    PoolExhausted,
    /// The REQUEST names another server, or an unknown client in a non-authoritative subnet.
    NotForUs,
    /// The database failed or timed out.
    DatabaseDown,
    /// Too many packets in flight.
    Overloaded,
    /// A retransmission of a transaction already being processed.
    Duplicate,
    /// The per-packet deadline passed.
    Timeout,
    /// The address in a RELEASE/DECLINE is not the client's.
    NotOwner,
    /// Not in this server's load-balancing scope (HA).
    NotOurScope,
}

impl DropReason {
    /// Counter name (`pkt4-drop-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::NotARequest => "not-a-request",
            Self::Bootp => "bootp",
            Self::NoSubnet => "no-subnet",
            Self::PoolExhausted => "pool-exhausted",
            Self::NotForUs => "not-for-us",
            Self::DatabaseDown => "database-down",
            Self::Overloaded => "overloaded",
            Self::Duplicate => "duplicate",
            Self::Timeout => "timeout",
            Self::NotOwner => "not-owner",
            Self::NotOurScope => "not-our-scope",
        }
    }

    /// Every reason, for reporting zeros too.
    pub const ALL: [DropReason; 12] = [
        Self::Malformed,
        Self::NotARequest,
        Self::Bootp,
        Self::NoSubnet,
        Self::PoolExhausted,
        Self::NotForUs,
        Self::DatabaseDown,
        Self::Overloaded,
        Self::Duplicate,
        Self::Timeout,
        Self::NotOwner,
        Self::NotOurScope,
    ];
}
