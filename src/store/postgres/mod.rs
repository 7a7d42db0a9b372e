//! The postgres backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! Connections come from `DatabaseConfig`: a URL, or type/name/host/port/user/password
//! where a host starting with `/` is the directory of the server's Unix socket.

mod batch;
mod host;
mod lease4;
mod lease4_sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Postgres;

use crate::settings::DatabaseConfig;
use crate::store::fastpool::FastPool;
use crate::store::group_commit::ClaimBatcher;
use crate::store::{map_err, StoreError, StoreResult};

/// A postgres lease and host store: sqlx's pool for administration and background work,
/// and [`FastPool`]s (no ping per use) for the statements of the packet path.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: sqlx::PgPool,
    /// Packet-path statements that write leases or read.
    pub(crate) fast: FastPool<Postgres>,
    /// Sessions with `synchronous_commit = off`, for writes of OFFERs only: an offer is
    /// soft state (losing one in a crash just makes the client ask again), so its commit
    /// need not wait for the WAL flush. Leases are always written through `fast`, whose
    /// commits are durable; a durable commit also flushes every earlier offer's WAL.
    pub(crate) offers: FastPool<Postgres>,
    /// Group commit for claims of active leases, through `fast` (`batch.rs`).
    pub(crate) claims: std::sync::Arc<ClaimBatcher<batch::PgClaims>>,
}

impl PgStore {
    /// Wrap an open pool (the schema must already be current); the packet-path pools
    /// connect with the same options, as many as it may.
    pub fn new(pool: sqlx::PgPool) -> Self {
        let opts = (*pool.connect_options()).clone();
        let max = pool.options().get_max_connections();
        let timeout = pool.options().get_acquire_timeout();
        Self::with_pools(pool, opts, max, timeout)
    }

    /// `max` connections shared by the packet-path pools: half for writing held offers (a DISCOVER with offer-lifetime > 0 writes one, its REQUEST uses the other half).
    fn with_pools(pool: sqlx::PgPool, opts: PgConnectOptions, max: u32, timeout: Duration) -> Self {
        let for_offers = (max / 2).max(1);
        let fast = FastPool::new(
            opts.clone(),
            max.saturating_sub(for_offers).max(1),
            timeout,
            None,
        );
        let offers = FastPool::new(
            opts.options([("synchronous_commit", "off")]),
            for_offers,
            timeout,
            None,
        );
        let claims = std::sync::Arc::new(ClaimBatcher::new(batch::PgClaims {
            pool: fast.clone(),
            timeout,
        }));
        Self {
            pool,
            fast,
            offers,
            claims,
        }
    }

    /// The pool to write `lease` through.
    pub(crate) fn pool_for(&self, lease: &crate::store::Lease4) -> &FastPool<Postgres> {
        if lease.state == crate::store::LeaseState::Offered {
            &self.offers
        } else {
            &self.fast
        }
    }

    /// Open the pools for `cfg` (no schema check).
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        // No JIT: every statement here touches a few rows, and a pessimistic row estimate
        // (a free-list pick whose filters the planner cannot size) made PostgreSQL spend
        // a quarter of a second compiling a sub-millisecond query.
        let opts = connect_options(cfg)?.options([("jit", "off")]);
        let timeout = Duration::from_secs(u64::from(cfg.connect_timeout.max(1)));
        // Background and administrative work needs few connections; packets use `fast`.
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(timeout)
            .connect_with(opts.clone())
            .await
            .map_err(map_err)?;
        Ok(Self::with_pools(
            pool,
            opts,
            cfg.max_connections.max(1),
            timeout,
        ))
    }

    /// Close every pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
        self.fast.clear();
        self.offers.clear();
    }
}

fn connect_options(cfg: &DatabaseConfig) -> StoreResult<PgConnectOptions> {
    if let Some(url) = &cfg.url {
        return PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {e}")));
    }
    let mut opts = PgConnectOptions::new();
    if let Some(host) = &cfg.host {
        opts = if host.starts_with('/') {
            opts.socket(host)
        } else {
            opts.host(host)
        };
    }
    if let Some(port) = cfg.port {
        opts = opts.port(port);
    }
    if let Some(user) = &cfg.user {
        opts = opts.username(user);
    }
    if let Some(password) = &cfg.password {
        opts = opts.password(password);
    }
    if let Some(name) = &cfg.name {
        opts = opts.database(name);
    }
    Ok(opts)
}
