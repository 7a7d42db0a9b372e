//! Storage: the only place SQL exists.
//!
//! Domain types ([`Lease4`], [`Host`]) live here, never sqlx rows. Each backend
//! (`postgres`, `mysql`, `sqlite`) implements the traits below in its own module; the rest
//! of shoal holds an `Arc<dyn LeaseStore>` / `Arc<dyn HostStore>` and never names a backend
//! (only `app.rs` and `shoal-admin` call [`open_for_server`] and [`Db::connect`]).
//!
//! Invariants every backend keeps, whatever number of shoal processes share the database:
//! - at most one `lease4` row per address (primary key);
//! - an address is *claimed* only by one atomic statement or transaction
//!   ([`LeaseStore::claim4`], [`LeaseStore::claim_free4`], [`LeaseStore::claim_expired4`]);
//!   two concurrent claims of one address cannot both succeed;
//! - an address listed in `free_lease4` has no active lease (it is free for anyone);
//! - store methods take `now` (Unix seconds) from the caller: time is injectable.

use std::net::Ipv4Addr;

use async_trait::async_trait;

/// Unix time in seconds, as stored in the `expire` columns.
pub type UnixTime = i64;

/// The state column of a lease row (Kea's lease_state values, plus `Offered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseState {
    /// An active (or expired but not yet reclaimed) lease.
    Default = 0,
    /// Declined by the client; unusable until `expire` (decline-probation-period).
    Declined = 1,
    /// Expired and reclaimed; the row is kept for hold-reclaimed-time so a
    /// returning client can get its address back, but the address is free.
    ExpiredReclaimed = 2,
    /// Released by the client; the address is free.
    Released = 3,
    /// Held by an OFFER for offer-lifetime.
    Offered = 5,
}

impl LeaseState {
    /// The integer stored in the `state` column.
    pub fn code(self) -> i16 {
        self as i16
    }

    /// Parse the integer stored in the `state` column.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Default,
            1 => Self::Declined,
            2 => Self::ExpiredReclaimed,
            3 => Self::Released,
            5 => Self::Offered,
            _ => return None,
        })
    }

    /// True when the address of a row in this state may be given to anyone.
    pub fn is_free(self) -> bool {
        matches!(self, Self::ExpiredReclaimed | Self::Released)
    }
}

/// One IPv4 lease row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease4 {
    /// The leased address (primary key).
    pub address: Ipv4Addr,
    /// Client hardware address (chaddr, `hlen` bytes).
    pub hwaddr: Vec<u8>,
    /// Hardware type (htype), 1 for Ethernet.
    pub hwtype: u8,
    /// Client identifier (option 61), when the client sent one.
    pub client_id: Option<Vec<u8>>,
    /// Lifetime in seconds granted with this lease.
    pub valid_lifetime: u32,
    /// Expiry, Unix seconds. Client last transaction time is `expire - valid_lifetime`.
    pub expire: UnixTime,
    /// Subnet the lease belongs to.
    pub subnet_id: u32,
    /// Pool id within the subnet (Kea's pool-id, 0 when unset).
    pub pool_id: u32,
    /// FQDN forward update done.
    pub fqdn_fwd: bool,
    /// FQDN reverse update done.
    pub fqdn_rev: bool,
    /// Client hostname (option 12 or reservation), empty when none.
    pub hostname: String,
    /// Row state.
    pub state: LeaseState,
    /// Free-form JSON text.
    pub user_context: Option<String>,
    /// Relay agent's relay-id (option 82 sub-option 12).
    pub relay_id: Option<Vec<u8>>,
    /// Relay agent's remote-id (option 82 sub-option 2).
    pub remote_id: Option<Vec<u8>>,
}

impl Lease4 {
    /// May anyone take this row's address at `now`? Reclaimed or released, or expired
    /// (declined ones too, after their probation).
    pub fn takeable(&self, now: UnixTime) -> bool {
        self.state.is_free() || self.expire < now
    }
}

/// An offer written over the same client's still-active lease must leave that lease as
/// it is: a sibling front-end's late OFFER must not turn a committed lease back into an
/// offer with a short expiry. Backends return the existing row instead.
pub(crate) fn offer_keeps_lease(existing: &Lease4, new: &Lease4, now: UnixTime) -> bool {
    new.state == LeaseState::Offered
        && existing.state == LeaseState::Default
        && existing.expire >= now
}

/// Who a client is, for ownership checks: `claim4` on an address held by the same
/// client renews; RELEASE and DECLINE only act on the sender's own lease.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Client identifier (option 61), when sent and `match-client-id` is true.
    pub client_id: Option<Vec<u8>>,
    /// Hardware address (chaddr).
    pub hwaddr: Vec<u8>,
}

impl ClientKey {
    /// Does this lease belong to this client? By client id when the key has one and
    /// the lease has one, else by hardware address (Kea's match-client-id semantics).
    pub fn owns(&self, lease: &Lease4) -> bool {
        match (&self.client_id, &lease.client_id) {
            (Some(a), Some(b)) => a == b,
            _ => !self.hwaddr.is_empty() && self.hwaddr == lease.hwaddr,
        }
    }

    /// The lease4 column and value that find this client's rows: the client id when it
    /// has one, else the hardware address; None when it has neither.
    pub(crate) fn lookup(&self) -> Option<(&'static str, Vec<u8>)> {
        match &self.client_id {
            Some(cid) => Some(("client_id", cid.clone())),
            None if self.hwaddr.is_empty() => None,
            None => Some(("hwaddr", self.hwaddr.clone())),
        }
    }
}

/// An inclusive address range of a pool, with the subnet it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolRange {
    /// First address.
    pub start: Ipv4Addr,
    /// Last address (inclusive).
    pub end: Ipv4Addr,
    /// Subnet id.
    pub subnet_id: u32,
    /// Kea pool-id, 0 when unset.
    pub pool_id: u32,
}

impl PoolRange {
    /// Number of addresses in the range.
    pub fn size(&self) -> u64 {
        u64::from(u32::from(self.end)) - u64::from(u32::from(self.start)) + 1
    }

    /// Is `addr` inside the range?
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        (self.start..=self.end).contains(&addr)
    }
}

/// Host identifier types, numbered as Kea's `host_identifier_type` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierType {
    /// Hardware address.
    HwAddress = 0,
    /// DHCPv6 DUID (or RFC 4361 DUID in a v4 client id).
    Duid = 1,
    /// Relay agent circuit id (option 82 sub-option 1).
    CircuitId = 2,
    /// Client identifier (option 61).
    ClientId = 3,
    /// Flexible identifier computed by an expression.
    FlexId = 4,
}

impl IdentifierType {
    /// Kea's configuration name (`hw-address`, `duid`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::HwAddress => "hw-address",
            Self::Duid => "duid",
            Self::CircuitId => "circuit-id",
            Self::ClientId => "client-id",
            Self::FlexId => "flex-id",
        }
    }

    /// Parse Kea's configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "hw-address" => Self::HwAddress,
            "duid" => Self::Duid,
            "circuit-id" => Self::CircuitId,
            "client-id" => Self::ClientId,
            "flex-id" => Self::FlexId,
            _ => return None,
        })
    }

    /// Parse the integer stored in `dhcp_identifier_type`.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::HwAddress,
            1 => Self::Duid,
            2 => Self::CircuitId,
            3 => Self::ClientId,
            4 => Self::FlexId,
            _ => return None,
        })
    }
}

/// A per-host option row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOption {
    /// Option code.
    pub code: u16,
    /// Option space (`dhcp4`).
    pub space: String,
    /// Wire value, when stored as binary.
    pub value: Option<Vec<u8>>,
    /// Textual value as Kea's option-data `data` (used when `value` is absent).
    pub formatted_value: Option<String>,
    /// Send even when not requested.
    pub persistent: bool,
}

/// A host reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Database id (0 for reservations from the configuration file).
    pub host_id: i64,
    /// Identifier type.
    pub identifier_type: IdentifierType,
    /// Identifier value.
    pub identifier: Vec<u8>,
    /// IPv4 subnet id; 0 = global; None = not a v4 reservation.
    pub ipv4_subnet_id: Option<u32>,
    /// IPv6 subnet id; 0 = global.
    pub ipv6_subnet_id: Option<u32>,
    /// Reserved IPv4 address.
    pub ipv4_address: Option<Ipv4Addr>,
    /// Reserved hostname.
    pub hostname: Option<String>,
    /// DHCPv4 client classes (names).
    pub client_classes4: Vec<String>,
    /// DHCPv6 client classes (names).
    pub client_classes6: Vec<String>,
    /// siaddr.
    pub next_server: Option<Ipv4Addr>,
    /// sname.
    pub server_hostname: Option<String>,
    /// file.
    pub boot_file_name: Option<String>,
    /// Per-host DHCPv4 options.
    pub options4: Vec<HostOption>,
    /// Free-form JSON text.
    pub user_context: Option<String>,
}

/// Addresses of one subnet, by state, for statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubnetLeaseCounts {
    /// Subnet id.
    pub subnet_id: u32,
    /// Active (state default, not expired) leases.
    pub assigned: u64,
    /// Declined addresses still in probation.
    pub declined: u64,
}

/// What [`LeaseStore::previous_or_free4`] (a claimed lease) or
/// [`LeaseStore::previous_or_peek4`] (a free address, nothing written) found.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviousOrFree<T = Lease4> {
    /// The client already has a row at this address (nothing was written).
    Previous(Ipv4Addr),
    /// The client had no row; what the free list gave (None: nothing was free).
    Free(Option<T>),
}

/// Claims grouped into shared statements and commits: `claims / statements` is the
/// average number of leases one commit made durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimBatchStats {
    /// Claim statements run (each one commit).
    pub statements: u64,
    /// Claims they carried.
    pub claims: u64,
    /// Shared statements that failed, after which each of their claims ran alone.
    pub split: u64,
}

/// Errors at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule of the schema refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached or the connection broke; retrying may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The schema version is not the one this build expects.
    #[error("schema version {found:?} found, this build expects {expected}; run `{command}`")]
    SchemaMismatch {
        /// Version in the database (None = not initialised).
        found: Option<i64>,
        /// Version embedded in this build.
        expected: i64,
        /// The shoal-admin command that fixes it.
        command: String,
    },
    /// The applied migrations differ from the embedded ones.
    #[error("migration error: {0}")]
    Migration(String),
    /// A write to a host database configured `readonly: true`.
    #[error("the hosts database is read-only (readonly: true)")]
    ReadOnly,
    /// Bad input (a malformed dump file, an invalid URL).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Transient errors (connection loss, deadlock, serialization failure) that a
    /// caller may retry.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// The lease database. Every method is one atomic domain operation.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Backend name: `postgresql`, `mysql` or `sqlite`.
    fn backend(&self) -> &'static str;

    /// Claims of active leases so far and the statements (commits) that carried them,
    /// where the backend groups concurrent claims into one commit (PostgreSQL); None
    /// where every claim is its own.
    fn claim_batches(&self) -> Option<ClaimBatchStats> {
        None
    }

    /// Make the free list cover these pools: every address of a range not yet loaded
    /// (see `lease4_pool`) that has no active lease is inserted into `free_lease4`.
    /// Safe when several processes do it at once; a no-op for ranges already loaded.
    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()>;

    /// The lease row at `address`, whatever its state.
    async fn lease4_by_address(&self, address: Ipv4Addr) -> StoreResult<Option<Lease4>>;

    /// The most recent lease row (any state but Released) of this client in any of
    /// these subnets: by client id when `client.client_id` is set, else by hwaddr.
    async fn lease4_by_client(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
    ) -> StoreResult<Option<Lease4>>;

    /// Write `lease` at `lease.address` iff the address is free: no row, or a row that is
    /// reclaimed/released, or expired (`expire < now`, declined included), or a row owned by
    /// `client` (renewal, offer → lease). Removes the address from the free list in the same
    /// transaction. Returns the stored lease, or None when someone else holds the address.
    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>>;

    /// Take one address from the free list inside `pools` (never one reserved in
    /// `hosts` for `lease.subnet_id`), and write `lease` at that address, atomically.
    /// `lease.address` and `lease.pool_id` are ignored/replaced. None when the free list
    /// has nothing in these pools. Which free address is the backend's choice: PostgreSQL
    /// starts at a random point of the range (concurrent claims seldom meet), the others
    /// take the lowest.
    async fn claim_free4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>>;

    /// The address of the client's most recent lease row in `subnet_ids` (as
    /// [`LeaseStore::lease4_by_client`]) when it has one; otherwise [`LeaseStore::claim_free4`]
    /// in `pools`. The first allocation step of a new client; a backend may do both in one
    /// round trip.
    async fn previous_or_free4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree> {
        if let Some(prev) = self.lease4_by_client(client, subnet_ids).await? {
            return Ok(PreviousOrFree::Previous(prev.address));
        }
        Ok(PreviousOrFree::Free(
            self.claim_free4(lease, pools, now).await?,
        ))
    }

    /// A free address of `pools` for an OFFER that is not written (`offer-lifetime: 0`):
    /// from the free list (possibly a stale row, which the REQUEST's claim then refuses),
    /// never one reserved in `hosts` for `subnet_id`: the first at or above a random point
    /// of a range (wrapping round), so that concurrent DISCOVERs seldom pick the same one
    /// and the pick reads one index entry. Nothing is written.
    async fn peek_free4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>>;

    /// [`LeaseStore::lease4_by_client`]'s address when the client has a row, else
    /// [`LeaseStore::peek_free4`]; nothing is written. A backend may do both in one round
    /// trip.
    async fn previous_or_peek4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree<Ipv4Addr>> {
        if let Some(prev) = self.lease4_by_client(client, subnet_ids).await? {
            return Ok(PreviousOrFree::Previous(prev.address));
        }
        Ok(PreviousOrFree::Free(
            self.peek_free4(subnet_id, pools, now).await?,
        ))
    }

    /// The address [`LeaseStore::claim_expired4`] would take over, without taking it.
    async fn peek_expired4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>>;

    /// Take over the longest-expired lease row inside `pools` (state default, offered or
    /// declined with `expire < now`; never a reserved address), atomically.
    async fn claim_expired4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>>;

    /// Release `address` if `client` owns it: state Released, expire = now, and the
    /// address returns to the free list. False when not the client's.
    async fn release4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Free every address still only *offered* to `client`, except `keep`: the client
    /// chose another server, which is committing `keep`. Leases already committed are
    /// left alone. Returns how many offers were freed.
    async fn release_offers4(
        &self,
        client: &ClientKey,
        keep: Ipv4Addr,
        now: UnixTime,
    ) -> StoreResult<u64>;

    /// Mark `address` declined until `now + probation` if `client` owns it (client
    /// identity is cleared, as Kea does). False when not the client's.
    async fn decline4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        probation: u32,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Reclaim at most `max` leases with `expire < now` (state default, offered or
    /// declined): state ExpiredReclaimed, address back on the free list when inside a
    /// loaded pool. Safe when several processes run it at once. Returns the count.
    async fn reclaim_expired4(&self, now: UnixTime, max: u32) -> StoreResult<u64>;

    /// Delete reclaimed/released rows whose expiry is older than `now - hold`.
    async fn flush_reclaimed4(&self, now: UnixTime, hold: u32) -> StoreResult<u64>;

    /// Per-subnet counts of assigned and declined addresses.
    async fn lease4_counts(&self, now: UnixTime) -> StoreResult<Vec<SubnetLeaseCounts>>;

    /// Every lease4 row, ordered by address (lease-dump).
    async fn all_leases4(&self) -> StoreResult<Vec<Lease4>>;

    /// Insert rows in one transaction (lease-upload); all or nothing.
    async fn upload_leases4(&self, leases: &[Lease4]) -> StoreResult<u64>;
}

/// The host-reservation database.
#[async_trait]
pub trait HostStore: Send + Sync + 'static {
    /// The v4 reservation for one of `ids` (tried in the given order) in subnet
    /// `subnet_id` (0 = global): one round trip for all identifiers.
    async fn host4(
        &self,
        subnet_id: u32,
        ids: &[(IdentifierType, Vec<u8>)],
    ) -> StoreResult<Option<Host>>;

    /// Every v4 reservation in `subnet_ids` (0 = global) that matches one of `ids` or
    /// reserves `address`, with its options: the one round trip a packet needs.
    async fn hosts4_for_packet(
        &self,
        subnet_ids: &[u32],
        ids: &[(IdentifierType, Vec<u8>)],
        address: Option<Ipv4Addr>,
    ) -> StoreResult<Vec<Host>>;

    /// The v4 reservation of `address` in `subnet_id`.
    async fn host4_by_address(
        &self,
        subnet_id: u32,
        address: Ipv4Addr,
    ) -> StoreResult<Option<Host>>;

    /// Insert a host with its options; returns the new host_id. Conflict when an
    /// identifier or address is already reserved in that subnet.
    async fn add_host(&self, host: &Host) -> StoreResult<i64>;

    /// Delete a v4 reservation by identifier; true when a row went.
    async fn del_host4(
        &self,
        subnet_id: u32,
        identifier_type: IdentifierType,
        identifier: &[u8],
    ) -> StoreResult<bool>;
}

pub mod mysql;
pub mod postgres;
pub mod sqlite;

pub mod migrate;

mod db;
mod fastpool;
mod group_commit;
mod peek_sql;
pub(crate) use db::{addr_from_db, addr_to_db, id_from_db, id_to_db, map_err, DbInner};
pub use db::{admin_command, backend_of, open_for_server, redact_url, Db};

mod dollar_host;
mod hostrow;
mod lease_row;
pub use hostrow::hex_colon;
pub(crate) use hostrow::{
    classes_to_db, host4_where, host_conflict, host_from_row, hosts_from_joined, opt_addr_to_db,
    packet_query, pick_by_order, HostRow, JoinedRow, OptionRow, HOST_COLUMNS, OPTION_COLUMNS,
};

/// A host database configured `readonly: true` (an inventory system owns it): reads pass
/// through, writes are refused with [`StoreError::ReadOnly`].
pub struct ReadOnlyHosts(pub std::sync::Arc<dyn HostStore>);

#[async_trait]
impl HostStore for ReadOnlyHosts {
    async fn host4(
        &self,
        subnet_id: u32,
        ids: &[(IdentifierType, Vec<u8>)],
    ) -> StoreResult<Option<Host>> {
        self.0.host4(subnet_id, ids).await
    }

    async fn hosts4_for_packet(
        &self,
        subnet_ids: &[u32],
        ids: &[(IdentifierType, Vec<u8>)],
        address: Option<Ipv4Addr>,
    ) -> StoreResult<Vec<Host>> {
        self.0.hosts4_for_packet(subnet_ids, ids, address).await
    }

    async fn host4_by_address(
        &self,
        subnet_id: u32,
        address: Ipv4Addr,
    ) -> StoreResult<Option<Host>> {
        self.0.host4_by_address(subnet_id, address).await
    }

    async fn add_host(&self, _: &Host) -> StoreResult<i64> {
        Err(StoreError::ReadOnly)
    }

    async fn del_host4(&self, _: u32, _: IdentifierType, _: &[u8]) -> StoreResult<bool> {
        Err(StoreError::ReadOnly)
    }
}
