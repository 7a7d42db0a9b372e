//! The DHCPv4 handler: one module per message type behind one `match`.
//!
//! [`V4Handler::handle`] parses a datagram into a [`Ctx`], asks the HA scope filter
//! (when one is installed) whether this server serves the client, and dispatches.
//! It never touches a socket: it returns a [`Reply`] that the server loop sends.

pub mod context;
mod decline;
mod discover;
mod inform;
pub mod options;
mod release;
mod request;
pub mod subnet;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, RwLock};

use dhcproto::v4::{self, DhcpOption, MessageType, OptionCode, UnknownOption};
use dhcproto::Encodable;
use tracing::{debug, warn};

pub use context::Ctx;

use crate::clock::Clock;
use crate::dhcp::{Counters, DropReason, RecvMeta, Reply};
use crate::settings::{Dhcp4Config, Pool4, Subnet4};
use crate::store::{Lease4, LeaseStore, StoreError};

/// DHCP client port.
pub const CLIENT_PORT: u16 = 68;

/// What the HA module says about a client: serve it (optionally tagging it with the
/// `HA_<server>` class before pool selection), or leave it to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    /// This server answers; the class (if any) is added to the client's classes.
    Serve(Option<String>),
    /// Another server's scope.
    NotMine,
}

/// The hook the HA module implements (installed later; absent = serve everyone).
pub trait ScopeFilter: Send + Sync + 'static {
    /// Decide for one parsed request.
    fn decide(&self, ctx: &Ctx) -> ScopeDecision;
}

/// The DHCPv4 protocol engine over a lease store.
pub struct V4Handler {
    cfg: RwLock<Arc<Dhcp4Config>>,
    leases: Arc<dyn LeaseStore>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    scope: Option<Arc<dyn ScopeFilter>>,
}

impl V4Handler {
    /// A handler for `cfg` over `leases`.
    pub fn new(
        cfg: Arc<Dhcp4Config>,
        leases: Arc<dyn LeaseStore>,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            cfg: RwLock::new(cfg),
            leases,
            counters,
            clock,
            scope: None,
        }
    }

    /// Install the HA scope filter.
    pub fn with_scope_filter(mut self, f: Arc<dyn ScopeFilter>) -> Self {
        self.scope = Some(f);
        self
    }

    /// Swap in a new configuration (config-reload / SIGHUP); in-flight packets finish
    /// with the one they started with.
    pub fn reload(&self, cfg: Arc<Dhcp4Config>) {
        *self.cfg.write().unwrap_or_else(|p| p.into_inner()) = cfg;
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Dhcp4Config> {
        self.cfg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The counters this handler updates.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Handle one datagram.
    pub async fn handle(&self, buf: &[u8], meta: RecvMeta) -> Reply {
        self.counters.incr("pkt4-received");
        let mut ctx = match Ctx::parse(buf, meta) {
            Ok(ctx) => ctx,
            Err(reason) => {
                if reason == DropReason::Malformed {
                    self.counters.incr("pkt4-parse-failed");
                }
                return self.drop(reason);
            }
        };
        self.counters
            .incr(&format!("pkt4-{}-received", ctx.type_name()));
        if let Some(scope) = &self.scope {
            match scope.decide(&ctx) {
                ScopeDecision::NotMine => return self.drop(DropReason::NotOurScope),
                ScopeDecision::Serve(Some(class)) => ctx.classes.push(class),
                ScopeDecision::Serve(None) => {}
            }
        }
        let cfg = self.config();
        let env = Env {
            cfg: &cfg,
            leases: self.leases.as_ref(),
            now: self.clock.now(),
        };
        let result = match ctx.msg_type {
            MessageType::Discover => discover::handle(&env, &ctx).await,
            MessageType::Request => request::handle(&env, &ctx).await,
            MessageType::Release => release::handle(&env, &ctx).await,
            MessageType::Decline => decline::handle(&env, &ctx).await,
            MessageType::Inform => inform::handle(&env, &ctx).await,
            _ => Ok(Reply::Drop(DropReason::NotARequest)),
        };
        let reply = result.unwrap_or_else(|err| {
            warn!(?err, "lease database operation failed");
            Reply::Drop(DropReason::DatabaseDown)
        });
        match &reply {
            Reply::Send { kind, .. } => self.counters.incr(&format!("pkt4-{kind}-sent")),
            Reply::Drop(reason) => {
                self.counters.dropped(*reason);
                debug!(reason = reason.name(), "packet dropped");
            }
            Reply::Done => {}
        }
        reply
    }

    fn drop(&self, reason: DropReason) -> Reply {
        self.counters.dropped(reason);
        debug!(reason = reason.name(), "packet dropped");
        Reply::Drop(reason)
    }
}

/// What a message handler works with.
pub(crate) struct Env<'a> {
    pub cfg: &'a Dhcp4Config,
    pub leases: &'a dyn LeaseStore,
    pub now: i64,
}

pub(crate) type HandlerResult = Result<Reply, StoreError>;

/// The lease a client gets in a subnet: lifetimes from the subnet, identity from the packet.
pub(crate) struct Template<'a> {
    pub ctx: &'a Ctx,
    pub state: crate::store::LeaseState,
    pub now: i64,
    /// Seconds the row is held for; None = the valid lifetime.
    pub hold: Option<u32>,
}

impl crate::alloc::LeaseTemplate for Template<'_> {
    fn lease_for(&self, subnet: &Subnet4, pool: &Pool4, address: Ipv4Addr) -> Lease4 {
        let valid = subnet.valid_lifetime.clamp(self.ctx.lease_time);
        let key = self.ctx.client_key(subnet.match_client_id);
        Lease4 {
            address,
            hwaddr: self.ctx.hwaddr.clone(),
            hwtype: u8::from(self.ctx.msg.htype()),
            client_id: key.client_id,
            valid_lifetime: valid,
            expire: self.now + i64::from(self.hold.unwrap_or(valid)),
            subnet_id: subnet.id,
            pool_id: pool.pool_id,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: self.ctx.hostname.clone().unwrap_or_default(),
            state: self.state,
            user_context: None,
            relay_id: None,
            remote_id: self.ctx.remote_id.clone(),
        }
    }
}

/// A reply skeleton: BOOTREPLY with the request's xid, flags, giaddr and chaddr, the
/// message type, server identifier, and option 82 echoed (RFC 3046).
pub(crate) fn reply_to(ctx: &Ctx, kind: MessageType, server_id: Ipv4Addr) -> v4::Message {
    let req = &ctx.msg;
    let mut m = v4::Message::default();
    m.set_opcode(v4::Opcode::BootReply)
        .set_htype(req.htype())
        .set_xid(req.xid())
        .set_flags(req.flags())
        .set_giaddr(req.giaddr())
        .set_chaddr(&ctx.hwaddr);
    m.set_secs(0);
    m.clear_sname();
    m.clear_fname();
    let opts = m.opts_mut();
    opts.clear();
    opts.insert(DhcpOption::MessageType(kind));
    opts.insert(DhcpOption::ServerIdentifier(server_id));
    if let Some(ri) = &ctx.relay_info {
        opts.insert(ri.clone());
    }
    m
}

/// Add raw option payloads to a message.
pub(crate) fn add_options(m: &mut v4::Message, opts: Vec<(u8, Vec<u8>)>) {
    for (code, data) in opts {
        m.opts_mut().insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::from(code),
            data,
        )));
    }
}

/// Where a reply goes (RFC 2131 §4.1): the relay (at the port it sent from), the
/// client's ciaddr, or broadcast. A unicast to an address-less client would need an ARP
/// entry, so like Kea's UDP sockets shoal broadcasts instead.
pub(crate) fn destination(ctx: &Ctx, kind: MessageType) -> SocketAddrV4 {
    let giaddr = ctx.msg.giaddr();
    if !giaddr.is_unspecified() {
        return SocketAddrV4::new(giaddr, ctx.meta.src.port());
    }
    let ciaddr = ctx.msg.ciaddr();
    if kind != MessageType::Nak && !ciaddr.is_unspecified() {
        return SocketAddrV4::new(ciaddr, CLIENT_PORT);
    }
    SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT)
}

/// Encode, pad to the 300-byte BOOTP minimum, and wrap as a Reply.
pub(crate) fn send(ctx: &Ctx, mut m: v4::Message, kind: MessageType) -> Reply {
    if kind == MessageType::Nak && !ctx.msg.giaddr().is_unspecified() {
        // RFC 2131 §4.3.2: a relay must broadcast a NAK to the client.
        m.set_flags(m.flags().set_broadcast());
    }
    let mut buf = Vec::with_capacity(576);
    if m.encode(&mut v4::Encoder::new(&mut buf)).is_err() {
        return Reply::Drop(DropReason::Malformed);
    }
    if buf.len() < 300 {
        buf.resize(300, 0);
    }
    Reply::Send {
        payload: buf,
        dst: destination(ctx, kind),
        kind: context::msg_type_name(kind),
    }
}
