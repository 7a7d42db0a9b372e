//! The sqlite backend. Connection set-up lives here; lease operations in `lease4.rs`,
//! host look-ups in `host.rs`.
//!
//! The file is created when missing and opened in WAL mode with `synchronous = FULL`
//! (a committed lease survives a power cut), a 10 s busy timeout (writers queue instead of
//! failing) and foreign keys on (host options cascade with their host).

mod host;
mod lease4;
mod lease4_sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::settings::DatabaseConfig;
use crate::store::{map_err, StoreError, StoreResult};

/// A sqlite lease and host store over one connection pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Wrap an open pool (the schema must already be current).
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        Self { pool }
    }

    /// Open a pool for `cfg` (no schema check); `name` (or the URL) is the file path.
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Self> {
        let opts = connect_options(cfg)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(u64::from(cfg.connect_timeout.max(1))))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
    }
}

fn connect_options(cfg: &DatabaseConfig) -> StoreResult<SqliteConnectOptions> {
    if let Some(url) = &cfg.url {
        return SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("SQLite URL: {e}")));
    }
    let name = cfg.name.as_deref().ok_or_else(|| {
        StoreError::Invalid("sqlite lease-database needs a name (file path)".into())
    })?;
    Ok(SqliteConnectOptions::new().filename(name))
}
