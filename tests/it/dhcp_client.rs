//! A builder-style DHCPv4 test client: builds requests as real clients send them and
//! decodes replies, so handler tests read like packet traces.

use std::net::{Ipv4Addr, SocketAddrV4};

use dhcproto::v4::{self, relay, DhcpOption, MessageType, OptionCode};
use dhcproto::{Decodable, Encodable};
use shoal::dhcp::{RecvMeta, Reply};

/// A client with a MAC address and optional client id.
#[derive(Clone, Debug)]
pub struct Client {
    pub mac: [u8; 6],
    pub client_id: Option<Vec<u8>>,
    pub xid: u32,
}

impl Client {
    pub fn new(n: u8) -> Self {
        Self {
            mac: [0x02, 0, 0, 0, 0, n],
            client_id: None,
            xid: 0x1000 + u32::from(n),
        }
    }

    pub fn with_client_id(mut self, id: &[u8]) -> Self {
        self.client_id = Some(id.to_vec());
        self
    }

    /// A request of `kind` with the usual options.
    pub fn msg(&self, kind: MessageType) -> Msg {
        let mut m = v4::Message::default();
        m.set_opcode(v4::Opcode::BootRequest)
            .set_xid(self.xid)
            .set_chaddr(&self.mac);
        m.opts_mut().insert(DhcpOption::MessageType(kind));
        if let Some(id) = &self.client_id {
            m.opts_mut()
                .insert(DhcpOption::ClientIdentifier(id.clone()));
        }
        m.opts_mut().insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::DomainName,
        ]));
        Msg(m)
    }
}

/// A request under construction.
pub struct Msg(pub v4::Message);

impl Msg {
    pub fn requested(mut self, a: Ipv4Addr) -> Self {
        self.0.opts_mut().insert(DhcpOption::RequestedIpAddress(a));
        self
    }
    pub fn server_id(mut self, a: Ipv4Addr) -> Self {
        self.0.opts_mut().insert(DhcpOption::ServerIdentifier(a));
        self
    }
    pub fn ciaddr(mut self, a: Ipv4Addr) -> Self {
        self.0.set_ciaddr(a);
        self
    }
    pub fn giaddr(mut self, a: Ipv4Addr) -> Self {
        self.0.set_giaddr(a);
        self
    }
    pub fn opt(mut self, o: DhcpOption) -> Self {
        self.0.opts_mut().insert(o);
        self
    }
    pub fn prl(mut self, codes: &[u8]) -> Self {
        self.0.opts_mut().insert(DhcpOption::ParameterRequestList(
            codes.iter().map(|c| OptionCode::from(*c)).collect(),
        ));
        self
    }
    pub fn relay_agent(mut self, circuit: &[u8], link_selection: Option<Ipv4Addr>) -> Self {
        let mut info = relay::RelayAgentInformation::default();
        info.insert(relay::RelayInfo::AgentCircuitId(circuit.to_vec()));
        if let Some(l) = link_selection {
            info.insert(relay::RelayInfo::LinkSelection(l));
        }
        self.0
            .opts_mut()
            .insert(DhcpOption::RelayAgentInformation(info));
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.0
            .encode(&mut v4::Encoder::new(&mut buf))
            .expect("encode");
        buf
    }
}

/// Receive metadata for a packet arriving on a test interface 192.0.2.1/24.
pub fn meta() -> RecvMeta {
    meta_on(
        "test0",
        Ipv4Addr::new(192, 0, 2, 1),
        24,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
    )
}

pub fn meta_on(iface: &str, addr: Ipv4Addr, len: u8, src: SocketAddrV4) -> RecvMeta {
    RecvMeta {
        src,
        iface: iface.to_string(),
        iface_addrs: vec![(addr, len)],
    }
}

/// A decoded reply and where it goes.
#[derive(Debug)]
pub struct Got {
    pub msg: v4::Message,
    pub dst: SocketAddrV4,
}

impl Got {
    pub fn kind(&self) -> MessageType {
        self.msg.opts().msg_type().expect("message type")
    }
    pub fn yiaddr(&self) -> Ipv4Addr {
        self.msg.yiaddr()
    }
    pub fn server_id(&self) -> Ipv4Addr {
        match self.msg.opts().get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(a)) => *a,
            other => panic!("no server id: {other:?}"),
        }
    }
    pub fn raw_opt(&self, code: u8) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        let opt = self.msg.opts().get(OptionCode::from(code))?;
        opt.encode(&mut v4::Encoder::new(&mut buf)).ok()?;
        Some(buf[2..].to_vec())
    }
    pub fn lease_time(&self) -> Option<u32> {
        match self.msg.opts().get(OptionCode::AddressLeaseTime) {
            Some(DhcpOption::AddressLeaseTime(t)) => Some(*t),
            _ => None,
        }
    }
}

/// Decode a `Reply::Send`, panicking on anything else.
pub fn sent(reply: Reply) -> Got {
    match reply {
        Reply::Send { payload, dst, .. } => {
            assert!(payload.len() >= 300, "reply padded to the BOOTP minimum");
            Got {
                msg: v4::Message::decode(&mut v4::Decoder::new(&payload)).expect("reply decodes"),
                dst,
            }
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// A handler for the Kea-format `json` over the test database `t` (pools loaded at
/// `clock`'s time), looking up reservations in `hosts`.
pub async fn handler_for(
    t: &crate::common::TestDb,
    json: &str,
    hosts: Vec<std::sync::Arc<dyn shoal::store::HostStore>>,
    clock: std::sync::Arc<shoal::clock::ManualClock>,
) -> shoal::dhcp::v4::V4Handler {
    use shoal::clock::Clock;
    let settings =
        shoal::settings::Settings::from_str_with_env(json, &[]).expect("test config valid");
    let cfg = std::sync::Arc::new(settings.dhcp4);
    let leases = t.db.leases();
    leases
        .sync_pools4(&cfg.pools(), clock.now())
        .await
        .expect("pools loaded");
    shoal::dhcp::v4::V4Handler::with_hosts(
        cfg,
        leases,
        hosts,
        std::sync::Arc::new(shoal::dhcp::Counters::new()),
        clock,
    )
}
