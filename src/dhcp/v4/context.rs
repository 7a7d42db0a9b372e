//! The per-message context: what was received, parsed once into typed fields, plus what
//! the handler learns as it goes (subnet, classes, HA scope).

use std::net::Ipv4Addr;

use dhcproto::v4::{self, DhcpOption, MessageType, OptionCode};
use dhcproto::Decodable;

use crate::dhcp::{DropReason, RecvMeta};
use crate::store::ClientKey;

/// One received DHCPv4 request and what is known about it.
#[derive(Debug)]
pub struct Ctx {
    /// The decoded message.
    pub msg: v4::Message,
    /// Message type (option 53).
    pub msg_type: MessageType,
    /// Receive metadata.
    pub meta: RecvMeta,
    /// Client identity for ownership checks (client id honours match-client-id later).
    pub client_id: Option<Vec<u8>>,
    /// chaddr, `hlen` bytes.
    pub hwaddr: Vec<u8>,
    /// Requested address (option 50).
    pub requested: Option<Ipv4Addr>,
    /// Server identifier the client named (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Requested lease time (option 51).
    pub lease_time: Option<u32>,
    /// Parameter request list (option 55).
    pub prl: Vec<u8>,
    /// Vendor class identifier (option 60).
    pub vendor_class: Option<Vec<u8>>,
    /// Hostname (option 12).
    pub hostname: Option<String>,
    /// Relay agent information (option 82), echoed back as received.
    pub relay_info: Option<DhcpOption>,
    /// RFC 3527 link-selection sub-option.
    pub link_selection: Option<Ipv4Addr>,
    /// RFC 3011 subnet-selection option 118.
    pub subnet_selection: Option<Ipv4Addr>,
    /// Relay agent remote-id (sub-option 2), stored with the lease.
    pub remote_id: Option<Vec<u8>>,
    /// Relay agent circuit-id (sub-option 1), for host look-ups.
    pub circuit_id: Option<Vec<u8>>,
    /// Client classes assigned so far (`ALL`, `VENDOR_CLASS_…`, `HA_…`, `KNOWN`, …).
    pub classes: Vec<String>,
    /// The subnet selected for the client (by location, before class admission).
    pub subnet_id: Option<u32>,
    /// The client's host reservation.
    pub host: Option<super::hosts::HostMatch>,
    /// The address the client asked for is reserved for another client.
    pub address_taken: bool,
    /// Datagram length (for `pkt.len`).
    pub len: usize,
}

impl Ctx {
    /// Decode a datagram. Errors are drop reasons: malformed, a reply, or BOOTP.
    pub fn parse(buf: &[u8], meta: RecvMeta) -> Result<Ctx, DropReason> {
        check_options_area(buf)?;
        let msg =
            v4::Message::decode(&mut v4::Decoder::new(buf)).map_err(|_| DropReason::Malformed)?;
        if msg.opcode() != v4::Opcode::BootRequest {
            return Err(DropReason::NotARequest);
        }
        let hlen = usize::from(msg.hlen()).min(16);
        let chaddr = msg.chaddr();
        if hlen == 0 || chaddr.len() < hlen {
            return Err(DropReason::Malformed);
        }
        let hwaddr = chaddr[..hlen].to_vec();
        let opts = msg.opts();
        let msg_type = opts.msg_type().ok_or(DropReason::Bootp)?;
        let mut ctx = Ctx {
            msg_type,
            meta,
            client_id: match opts.get(OptionCode::ClientIdentifier) {
                Some(DhcpOption::ClientIdentifier(id)) if !id.is_empty() => Some(id.clone()),
                Some(DhcpOption::ClientIdentifier(_)) => return Err(DropReason::Malformed),
                _ => None,
            },
            hwaddr,
            requested: match opts.get(OptionCode::RequestedIpAddress) {
                Some(DhcpOption::RequestedIpAddress(a)) => Some(*a),
                _ => None,
            },
            server_id: match opts.get(OptionCode::ServerIdentifier) {
                Some(DhcpOption::ServerIdentifier(a)) => Some(*a),
                _ => None,
            },
            lease_time: match opts.get(OptionCode::AddressLeaseTime) {
                Some(DhcpOption::AddressLeaseTime(t)) => Some(*t),
                _ => None,
            },
            prl: match opts.get(OptionCode::ParameterRequestList) {
                Some(DhcpOption::ParameterRequestList(l)) => {
                    l.iter().map(|c| u8::from(*c)).collect()
                }
                _ => Vec::new(),
            },
            vendor_class: match opts.get(OptionCode::ClassIdentifier) {
                Some(DhcpOption::ClassIdentifier(v)) => Some(v.clone()),
                _ => None,
            },
            hostname: match opts.get(OptionCode::Hostname) {
                Some(DhcpOption::Hostname(h)) => Some(h.clone()),
                _ => None,
            },
            relay_info: opts.get(OptionCode::RelayAgentInformation).cloned(),
            link_selection: None,
            subnet_selection: match opts.get(OptionCode::SubnetSelection) {
                Some(DhcpOption::SubnetSelection(a)) => Some(*a),
                _ => None,
            },
            remote_id: None,
            circuit_id: None,
            classes: vec!["ALL".to_string()],
            subnet_id: None,
            host: None,
            address_taken: false,
            len: buf.len(),
            msg,
        };
        ctx.read_relay_info();
        if let Some(vc) = &ctx.vendor_class {
            ctx.classes
                .push(format!("VENDOR_CLASS_{}", String::from_utf8_lossy(vc)));
        }
        Ok(ctx)
    }

    fn read_relay_info(&mut self) {
        use dhcproto::v4::relay::{RelayCode, RelayInfo};
        let Some(DhcpOption::RelayAgentInformation(info)) = &self.relay_info else {
            return;
        };
        if let Some(RelayInfo::LinkSelection(a)) = info.get(RelayCode::LinkSelection) {
            self.link_selection = Some(*a);
        }
        if let Some(RelayInfo::AgentRemoteId(r)) = info.get(RelayCode::AgentRemoteId) {
            self.remote_id = Some(r.clone());
        }
        if let Some(RelayInfo::AgentCircuitId(c)) = info.get(RelayCode::AgentCircuitId) {
            self.circuit_id = Some(c.clone());
        }
    }

    /// The client's identity; the client id counts only when `match_client_id` is set.
    pub fn client_key(&self, match_client_id: bool) -> ClientKey {
        ClientKey {
            client_id: if match_client_id {
                self.client_id.clone()
            } else {
                None
            },
            hwaddr: self.hwaddr.clone(),
        }
    }

    /// Is `class` among the client's classes?
    pub fn in_class(&self, class: &str) -> bool {
        self.classes.iter().any(|c| c == class)
    }

    /// Is the client admitted by a `client-classes` list (empty = everyone)?
    pub fn admitted(&self, required: &[String]) -> bool {
        required.is_empty() || required.iter().any(|c| self.in_class(c))
    }

    /// The client's identity within `subnet` (honours its match-client-id).
    pub fn key_in(&self, subnet: &crate::settings::Subnet4) -> ClientKey {
        self.client_key(subnet.match_client_id)
    }

    /// The transaction: xid and hardware address.
    pub fn txn_key(&self) -> (u32, Vec<u8>) {
        (self.msg.xid(), self.hwaddr.clone())
    }

    /// The address this request is about: option 50, else ciaddr.
    pub fn wanted_address(&self) -> Option<Ipv4Addr> {
        let ci = self.msg.ciaddr();
        self.requested.or((!ci.is_unspecified()).then_some(ci))
    }

    /// Message type name for counters and logs.
    pub fn type_name(&self) -> &'static str {
        msg_type_name(self.msg_type)
    }
}

/// The fixed BOOTP header length; the magic cookie follows.
const HEADER_LEN: usize = 236;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// dhcproto stops quietly at a truncated option, so walk the option area first: the
/// magic cookie must be there and every option must fit inside the datagram.
fn check_options_area(buf: &[u8]) -> Result<(), DropReason> {
    if buf.len() < HEADER_LEN + 4 || buf[HEADER_LEN..HEADER_LEN + 4] != MAGIC_COOKIE {
        return Err(DropReason::Malformed);
    }
    let mut i = HEADER_LEN + 4;
    while i < buf.len() {
        match buf[i] {
            0 => i += 1,
            255 => return Ok(()),
            _ => {
                let len = usize::from(*buf.get(i + 1).ok_or(DropReason::Malformed)?);
                i += 2 + len;
                if i > buf.len() {
                    return Err(DropReason::Malformed);
                }
            }
        }
    }
    Ok(())
}

/// Lower-case message type name (`discover`, `request`, …).
pub fn msg_type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Discover => "discover",
        MessageType::Offer => "offer",
        MessageType::Request => "request",
        MessageType::Decline => "decline",
        MessageType::Ack => "ack",
        MessageType::Nak => "nak",
        MessageType::Release => "release",
        MessageType::Inform => "inform",
        _ => "other",
    }
}
