//! The postgres backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! Connections come from `DatabaseConfig`: a URL, or type/name/host/port/user/password
//! where a host starting with `/` is the directory of the server's Unix socket.

mod host;
mod lease4;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::settings::DatabaseConfig;
use crate::store::{map_err, StoreError, StoreResult};

/// A postgres lease and host store over one connection pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: sqlx::PgPool,
}

impl PgStore {
    /// Wrap an open pool (the schema must already be current).
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }

    /// Open a pool for `cfg` (no schema check).
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        let opts = connect_options(cfg)?;
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(u64::from(cfg.connect_timeout.max(1))))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
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
