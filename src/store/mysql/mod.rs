//! The mysql backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! Every session runs at READ COMMITTED (the lease code relies on it: no gap locks, so
//! claims of different addresses never block each other) with time_zone '+00:00'.
//! A `host` starting with `/` is the path of the server's Unix socket.

mod host;
mod lease4;
mod lease4_sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::Executor;

use crate::settings::DatabaseConfig;
use crate::store::{map_err, StoreError, StoreResult};

/// A mysql lease and host store over one connection pool.
#[derive(Clone, Debug)]
pub struct MySqlStore {
    pub(crate) pool: sqlx::MySqlPool,
}

impl MySqlStore {
    /// Wrap an open pool (the schema must already be current).
    pub fn new(pool: sqlx::MySqlPool) -> Self {
        Self { pool }
    }

    /// Open a pool for `cfg` (no schema check).
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        let opts = connect_options(cfg)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(u64::from(cfg.connect_timeout.max(1))))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .await?;
                    conn.execute("SET time_zone = '+00:00'").await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
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
