//! The mysql backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! Every session runs at READ COMMITTED (the lease code relies on it: no gap locks, so
//! claims of different addresses never block each other) with time_zone '+00:00'.
//! A `host` starting with `/` is the path of the server's Unix socket.

mod batch;
mod host;
mod lease4;
mod lease4_sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Executor, MySql};

use crate::settings::DatabaseConfig;
use crate::store::fastpool::FastPool;
use crate::store::group_commit::ClaimBatcher;
use crate::store::{map_err, StoreError, StoreResult};

/// A mysql lease and host store: sqlx's pool for administration and background work,
/// and a [`FastPool`] (no ping per use) for the statements of the packet path.
#[derive(Clone, Debug)]
pub struct MySqlStore {
    pub(crate) pool: sqlx::MySqlPool,
    pub(crate) fast: FastPool<MySql>,
    /// Group commit for claims of active leases, through `fast` (`batch.rs`).
    pub(crate) claims: std::sync::Arc<ClaimBatcher<batch::MyClaims>>,
}

/// Session settings every connection needs (see the module documentation).
async fn session_setup(conn: &mut sqlx::MySqlConnection) -> Result<(), sqlx::Error> {
    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await?;
    conn.execute("SET time_zone = '+00:00'").await?;
    Ok(())
}

impl MySqlStore {
    /// Wrap an open pool (the schema must already be current); the packet-path pool
    /// connects with the same options, as many as it may.
    pub fn new(pool: sqlx::MySqlPool) -> Self {
        let opts = (*pool.connect_options()).clone();
        let max = pool.options().get_max_connections();
        let timeout = pool.options().get_acquire_timeout();
        Self::with_pools(pool, opts, max, timeout)
    }

    fn with_pools(
        pool: sqlx::MySqlPool,
        opts: MySqlConnectOptions,
        max: u32,
        timeout: Duration,
    ) -> Self {
        let fast = FastPool::new(
            opts,
            max,
            timeout,
            Some(Box::new(|c| Box::pin(session_setup(c)))),
        );
        let claims = std::sync::Arc::new(ClaimBatcher::new(batch::MyClaims { fast: fast.clone() }));
        Self { pool, fast, claims }
    }

    /// Open the pools for `cfg` (no schema check).
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        let opts = connect_options(cfg)?;
        let timeout = Duration::from_secs(u64::from(cfg.connect_timeout.max(1)));
        // Background and administrative work needs few connections; packets use `fast`.
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(timeout)
            .after_connect(|conn, _meta| Box::pin(session_setup(conn)))
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
    }
}

fn connect_options(cfg: &DatabaseConfig) -> StoreResult<MySqlConnectOptions> {
    if let Some(url) = &cfg.url {
        return MySqlConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("MySQL URL: {e}")));
    }
    let mut opts = MySqlConnectOptions::new();
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
