//! The DHCPv4 handler: one module per message type behind one `match`.
//!
//! [`V4Handler::handle`] parses a datagram into a [`Ctx`], asks the HA scope filter
//! (when one is installed) whether this server serves the client, and dispatches.
//! It never touches a socket: it returns a [`Reply`] that the server loop sends.

pub mod context;
mod decline;
mod discover;
pub mod hosts;
mod inform;
pub mod options;
mod release;
mod request;
pub mod subnet;
pub mod txn;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, RwLock};

use dhcproto::v4::{self, DhcpOption, MessageType, OptionCode, UnknownOption};
use dhcproto::Encodable;
use tracing::{debug, warn};

pub use context::Ctx;

use crate::clock::Clock;
use crate::dhcp::{Counters, DropReason, RecvMeta, Reply};
use crate::settings::{Dhcp4Config, Pool4, Subnet4};
use crate::store::{HostStore, Lease4, LeaseStore, StoreError};

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

/// A configuration and what is derived from it once, at load: swapped as one on reload.
pub struct Loaded {
    /// The configuration.
    pub cfg: Arc<Dhcp4Config>,
    /// Reservations from the file plus the host databases.
    pub hosts: hosts::HostSources,
    /// Client classes with their tests parsed.
    pub classes: crate::classify::ClassSet,
}

/// The DHCPv4 protocol engine over a lease store.
pub struct V4Handler {
    loaded: RwLock<Arc<Loaded>>,
    host_dbs: Vec<Arc<dyn HostStore>>,
    leases: Arc<dyn LeaseStore>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    scope: Option<Arc<dyn ScopeFilter>>,
    txns: txn::TxnCache,
    health: Arc<crate::dhcp::health::DbHealth>,
}

impl V4Handler {
    /// A handler for `cfg` over `leases`, with no host database.
    pub fn new(
        cfg: Arc<Dhcp4Config>,
        leases: Arc<dyn LeaseStore>,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_hosts(cfg, leases, Vec::new(), counters, clock)
    }

    /// A handler for `cfg` over `leases`, looking up reservations in `host_dbs` (in
    /// order) after the configuration file.
    pub fn with_hosts(
        cfg: Arc<Dhcp4Config>,
        leases: Arc<dyn LeaseStore>,
        host_dbs: Vec<Arc<dyn HostStore>>,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let loaded = Self::prepare(cfg, &host_dbs);
        Self {
            loaded: RwLock::new(Arc::new(loaded)),
            host_dbs,
            leases,
            counters,
            clock,
            scope: None,
            txns: txn::TxnCache::default(),
            health: Arc::default(),
        }
    }

    /// Install the HA scope filter.
    pub fn with_scope_filter(mut self, f: Arc<dyn ScopeFilter>) -> Self {
        self.scope = Some(f);
        self
    }

    /// Share database health with the watchdog (`on-fail`).
    pub fn with_health(mut self, health: Arc<crate::dhcp::health::DbHealth>) -> Self {
        self.health = health;
        self
    }

    /// Swap in a new configuration (config-reload / SIGHUP); in-flight packets finish
    /// with the one they started with.
    pub fn reload(&self, cfg: Arc<Dhcp4Config>) {
        let loaded = Arc::new(Self::prepare(cfg, &self.host_dbs));
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    fn prepare(cfg: Arc<Dhcp4Config>, host_dbs: &[Arc<dyn HostStore>]) -> Loaded {
        let hosts = hosts::HostSources::new(&cfg, host_dbs.to_vec(), cfg.hosts_in_lease_db);
        // Settings validation compiled these already; a failure here cannot happen for a
        // loaded configuration, and would leave only the built-in classes.
        let classes = crate::classify::ClassSet::compile(&cfg.client_classes, &|_| false)
            .unwrap_or_else(|errors| {
                warn!(
                    ?errors,
                    "client classes did not compile; using built-in classes only"
                );
                crate::classify::ClassSet::compile(&[], &|_| false).unwrap_or_default()
            });
        Loaded {
            cfg,
            hosts,
            classes,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Dhcp4Config> {
        self.loaded().cfg.clone()
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        if !self.health.serving() {
            // on-fail stop-retry-exit: no service while the database is being reconnected.
            self.counters.incr("pkt4-service-disabled");
            return self.drop(DropReason::DatabaseDown);
        }
        if let Some(scope) = &self.scope {
            match scope.decide(&ctx) {
                ScopeDecision::NotMine => return self.drop(DropReason::NotOurScope),
                ScopeDecision::Serve(Some(class)) => ctx.classes.push(class),
                ScopeDecision::Serve(None) => {}
            }
        }
        let loaded = self.loaded();
        let env = Env {
            cfg: &loaded.cfg,
            hosts: &loaded.hosts,
            classes: &loaded.classes,
            txns: &self.txns,
            leases: self.leases.as_ref(),
            now: self.clock.now(),
        };
        let result = match prepare_client(&env, &mut ctx).await {
            Ok(()) => dispatch(&env, &ctx).await,
            Err(e) => Err(e),
        };
        let reply = result.unwrap_or_else(|err| {
            warn!(?err, "lease database operation failed");
            if err.is_retryable() {
                self.health.failed();
            }
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

async fn dispatch(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    match ctx.msg_type {
        MessageType::Discover => discover::handle(env, ctx).await,
        MessageType::Request => request::handle(env, ctx).await,
        MessageType::Release => release::handle(env, ctx).await,
        MessageType::Decline => decline::handle(env, ctx).await,
        MessageType::Inform => inform::handle(env, ctx).await,
        _ => Ok(Reply::Drop(DropReason::NotARequest)),
    }
}

/// Before pool selection: pick the subnet by location, find the client's reservation
/// (and whether the address it wants is someone else's), and add `KNOWN`/`UNKNOWN` and
/// the host's classes. RELEASE and DECLINE need none of it.
async fn prepare_client(env: &Env<'_>, ctx: &mut Ctx) -> Result<(), StoreError> {
    if matches!(ctx.msg_type, MessageType::Release | MessageType::Decline) {
        return Ok(());
    }
    let Some(subnet) = subnet::select(env.cfg, ctx) else {
        return Ok(());
    };
    ctx.subnet_id = Some(subnet.id);
    let reused = match (ctx.msg_type, ctx.wanted_address()) {
        (MessageType::Request, Some(addr)) => {
            env.txns.take(&ctx.txn_key(), env.now, subnet.id, addr)
        }
        _ => None,
    };
    let lookup = match reused {
        Some(host) => hosts::Lookup {
            host,
            address_taken: false,
        },
        None => {
            env.hosts
                .lookup(env.cfg, ctx, subnet, ctx.wanted_address())
                .await?
        }
    };
    ctx.address_taken = lookup.address_taken;
    let known = lookup.host.is_some();
    if let Some(h) = &lookup.host {
        ctx.classes.extend(h.classes.iter().cloned());
    }
    ctx.host = lookup.host;
    // Classes in definition order (KNOWN/UNKNOWN now known), then the subnet's and its
    // shared network's required classes; pools' required classes are added at reply time.
    ctx.classes = env.classes.classify(ctx, ctx.len, known);
    if !subnet.require_client_classes.is_empty() {
        ctx.classes =
            env.classes
                .evaluate_required(ctx, ctx.len, known, &subnet.require_client_classes);
    }
    Ok(())
}

/// What a message handler works with.
pub(crate) struct Env<'a> {
    pub cfg: &'a Dhcp4Config,
    pub hosts: &'a hosts::HostSources,
    pub classes: &'a crate::classify::ClassSet,
    pub txns: &'a txn::TxnCache,
    pub leases: &'a dyn LeaseStore,
    pub now: i64,
}

impl Env<'_> {
    /// The subnet chosen for this client by `prepare_client`.
    pub fn subnet(&self, ctx: &Ctx) -> Option<&Subnet4> {
        ctx.subnet_id.and_then(|id| self.cfg.subnet(id))
    }
}

/// Refuses addresses reserved for someone else: the one the client asked for was
/// checked with the host look-up; others are checked in the file and, when the client
/// has no reservation of its own there, in the host databases.
pub(crate) struct Guard<'a> {
    pub env: &'a Env<'a>,
    pub ctx: &'a Ctx,
}

#[async_trait::async_trait]
impl crate::alloc::AddressGuard for Guard<'_> {
    async fn allowed(
        &self,
        subnet_id: u32,
        addr: Ipv4Addr,
        from_free_list: bool,
    ) -> Result<bool, StoreError> {
        if Some(addr) == self.ctx.wanted_address() && Some(subnet_id) == self.ctx.subnet_id {
            return Ok(!self.ctx.address_taken);
        }
        let ids = self.env.hosts.identifiers(self.env.cfg, self.ctx);
        if self
            .env
            .hosts
            .file_reserved_for_other(subnet_id, addr, &ids)
        {
            return Ok(false);
        }
        if from_free_list && self.env.hosts.hosts_live_with_leases() {
            // The free-list pick already skipped addresses reserved in this database.
            return Ok(true);
        }
        Ok(!self
            .env
            .hosts
            .db_reserved_for_other(subnet_id, addr, &ids)
            .await?)
    }
}

pub(crate) type HandlerResult = Result<Reply, StoreError>;

/// The lease a client gets in a subnet: lifetimes from the subnet, identity from the packet.
pub(crate) struct Template<'a> {
    pub cfg: &'a Dhcp4Config,
    pub ctx: &'a Ctx,
    pub state: crate::store::LeaseState,
    pub now: i64,
    /// Seconds the row is held for; None = the valid lifetime.
    pub hold: Option<u32>,
}

impl crate::alloc::LeaseTemplate for Template<'_> {
    fn lease_for(&self, subnet: &Subnet4, pool: &Pool4, address: Ipv4Addr) -> Lease4 {
        // A class's valid-lifetime wins over the subnet's (first matching class).
        let lifetimes = self
            .cfg
            .client_classes
            .iter()
            .filter(|c| self.ctx.in_class(&c.name))
            .find_map(|c| c.valid_lifetime)
            .unwrap_or(subnet.valid_lifetime);
        let valid = lifetimes.clamp(self.ctx.lease_time);
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
            hostname: self
                .ctx
                .host
                .as_ref()
                .and_then(|h| h.hostname.clone())
                .or_else(|| self.ctx.hostname.clone())
                .unwrap_or_default(),
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
