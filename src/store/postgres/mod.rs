//! The postgres backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! Connections come from `DatabaseConfig`: a URL, or type/name/host/port/user/password
//! where a host starting with `/` is the directory of the server's Unix socket.

mod host;
mod lease4;
mod lease4_sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::settings::DatabaseConfig;
use crate::store::{map_err, StoreError, StoreResult};

/// A postgres lease and host store over two connection pools.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: sqlx::PgPool,
    /// Sessions with `synchronous_commit = off`, for writes of OFFERs only: an offer is
    /// soft state (losing one in a crash just makes the client ask again), so its commit
    /// need not wait for the WAL flush. Leases are always written through `pool`, whose
    /// commits are durable; a durable commit also flushes every earlier offer's WAL.
    pub(crate) offers: sqlx::PgPool,
}

impl PgStore {
    /// Wrap an open pool (the schema must already be current); offers share it.
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self {
            offers: pool.clone(),
            pool,
        }
    }

    /// The pool to write `lease` through.
    pub(crate) fn pool_for(&self, lease: &crate::store::Lease4) -> &sqlx::PgPool {
        if lease.state == crate::store::LeaseState::Offered {
            &self.offers
        } else {
            &self.pool
        }
    }

    /// Open a pool for `cfg` (no schema check).
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        let opts = connect_options(cfg)?;
        let timeout = Duration::from_secs(u64::from(cfg.connect_timeout.max(1)));
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(timeout)
            .connect_with(opts.clone())
            .await
            .map_err(map_err)?;
        let offers = PgPoolOptions::new()
            .max_connections((cfg.max_connections / 2).max(1))
            .min_connections(0)
            .acquire_timeout(timeout)
            .connect_lazy_with(opts.options([("synchronous_commit", "off")]));
        Ok(Self { pool, offers })
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
