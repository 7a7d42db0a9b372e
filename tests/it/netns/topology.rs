//! Topologies: a "LAN" is a bridge in a hub namespace; every other namespace joins it
//! through a veth pair. [`SharedLink`] is the deployment under test: two server
//! namespaces on one link, a client on that link, and optionally a relay namespace that
//! routes a second client subnet to the link.
//!
//! Addresses (all inside our namespaces):
//! - link 10.77.1.0/24: servers 10.77.1.2 and 10.77.1.3 (`veth-s0`), relay 10.77.1.4;
//! - relayed subnet 10.77.2.0/24: relay 10.77.2.1 (`r-down`), client behind it;
//! - load link 10.78.0.0/16 (see [`LoadLink`]): servers 10.78.0.2/.3, perfdhcp 10.78.0.10.

use super::{veth, Netns, RigResult, ScratchDir};

/// Interface name of the server side in every server namespace (as in the shoal config).
pub const SERVER_IF: &str = "veth-s0";
/// Server addresses on the shared link.
pub const SERVER_ADDRS: [&str; 2] = ["10.77.1.2", "10.77.1.3"];
/// The relay's address on the shared link.
pub const RELAY_UP_ADDR: &str = "10.77.1.4";
/// The relay's address on the relayed subnet (giaddr).
pub const RELAY_DOWN_ADDR: &str = "10.77.2.1";

/// A bridge in its own hub namespace that other namespaces attach to.
#[derive(Debug)]
pub struct Lan {
    id: String,
    hub: Netns,
    ports: u32,
}

impl Lan {
    /// Create the hub namespace `sh<id>-h` with bridge `br0`.
    pub fn new(id: &str) -> RigResult<Self> {
        let hub = Netns::create(&format!("sh{id}-h"))?;
        hub.ip(&["link", "add", "br0", "type", "bridge"])?;
        hub.ip(&["link", "set", "br0", "up"])?;
        Ok(Self {
            id: id.to_string(),
            hub,
            ports: 0,
        })
    }

    /// Create namespace `sh<id>-<role>` joined to the bridge by interface `ifname`
    /// carrying `addrs` (CIDR).
    pub fn attach(&mut self, role: &str, ifname: &str, addrs: &[&str]) -> RigResult<Netns> {
        let ns = Netns::create(&format!("sh{}-{role}", self.id))?;
        self.join(&ns, ifname, addrs)?;
        Ok(ns)
    }

    /// Join an existing namespace to the bridge.
    pub fn join(&mut self, ns: &Netns, ifname: &str, addrs: &[&str]) -> RigResult<()> {
        self.ports += 1;
        let port = format!("p{}", self.ports);
        veth(&self.hub, &port, ns, ifname)?;
        self.hub.ip(&["link", "set", &port, "master", "br0"])?;
        for a in addrs {
            ns.ip(&["addr", "add", a, "dev", ifname])?;
        }
        Ok(())
    }
}

/// The client side behind the relay.
#[derive(Debug)]
pub struct RelaySide {
    /// The relay's namespace (`r-up` on the link, `r-down` towards the client).
    pub relay: Netns,
    /// The relayed client's namespace.
    pub client: Netns,
    /// The relayed client's interface (unique name: dhcpcd keys global files on it).
    pub client_if: String,
}

/// Two server namespaces sharing one link with a client, plus an optional relay.
#[derive(Debug)]
pub struct SharedLink {
    /// Scratch directory for configs, logs, lease files.
    pub dir: ScratchDir,
    /// Server namespaces, addresses [`SERVER_ADDRS`].
    pub servers: Vec<Netns>,
    /// Client namespace on the link.
    pub client: Netns,
    /// The client's interface on the link (unique name).
    pub client_if: String,
    /// The relayed side, when built with a relay.
    pub relay: Option<RelaySide>,
    /// Keeps the hub (bridge) namespace alive as long as the topology.
    _lan: Lan,
}

impl SharedLink {
    /// Build the topology; `with_relay` adds the relay and its client namespace.
    pub fn build(with_relay: bool) -> RigResult<Self> {
        let id = super::unique_id();
        let dir = ScratchDir::new(&id)?;
        let mut lan = Lan::new(&id)?;
        let mut servers = Vec::new();
        for (i, addr) in SERVER_ADDRS.iter().enumerate() {
            let ns = lan.attach(&format!("s{i}"), SERVER_IF, &[&format!("{addr}/24")])?;
            ns.ip(&["route", "add", "10.77.2.0/24", "via", RELAY_UP_ADDR])?;
            servers.push(ns);
        }
        let client_if = format!("c{id}");
        let client = lan.attach("c", &client_if, &[])?;
        let relay = if with_relay {
            Some(Self::relay_side(&id, &mut lan)?)
        } else {
            None
        };
        Ok(Self {
            dir,
            servers,
            client,
            client_if,
            relay,
            _lan: lan,
        })
    }

    fn relay_side(id: &str, lan: &mut Lan) -> RigResult<RelaySide> {
        let relay = lan.attach("r", "r-up", &[&format!("{RELAY_UP_ADDR}/24")])?;
        let client = Netns::create(&format!("sh{id}-rc"))?;
        let client_if = format!("rc{id}");
        veth(&relay, "r-down", &client, &client_if)?;
        relay.ip(&[
            "addr",
            "add",
            &format!("{RELAY_DOWN_ADDR}/24"),
            "dev",
            "r-down",
        ])?;
        relay.run("sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        Ok(RelaySide {
            relay,
            client,
            client_if,
        })
    }
}

/// Two server namespaces and a perfdhcp namespace on a /16 link for load tests.
#[derive(Debug)]
pub struct LoadLink {
    /// Scratch directory.
    pub dir: ScratchDir,
    /// Server namespaces at 10.78.0.2 and 10.78.0.3.
    pub servers: Vec<Netns>,
    /// perfdhcp's namespace, interface `p0` at 10.78.0.10/16.
    pub perf: Netns,
    /// Keeps the hub (bridge) namespace alive as long as the topology.
    _lan: Lan,
}

/// Server addresses on the load link.
pub const LOAD_SERVER_ADDRS: [&str; 2] = ["10.78.0.2", "10.78.0.3"];

impl LoadLink {
    /// Build the load topology.
    pub fn build() -> RigResult<Self> {
        let id = super::unique_id();
        let dir = ScratchDir::new(&id)?;
        let mut lan = Lan::new(&id)?;
        let mut servers = Vec::new();
        for (i, addr) in LOAD_SERVER_ADDRS.iter().enumerate() {
            servers.push(lan.attach(&format!("s{i}"), SERVER_IF, &[&format!("{addr}/16")])?);
        }
        let perf = lan.attach("p", "p0", &["10.78.0.10/16"])?;
        Ok(Self {
            dir,
            servers,
            perf,
            _lan: lan,
        })
    }
}
