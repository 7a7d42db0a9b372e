//! Opening databases: [`Db`] (one pool of one backend), the schema check the server runs
//! at start, and the conversions every backend shares (sqlx errors → [`StoreError`],
//! ids and IPv4 addresses ↔ the BIGINT columns).

use std::net::Ipv4Addr;

use super::{migrate, mysql, postgres, sqlite, HostStore, LeaseStore, StoreError, StoreResult};
use std::sync::Arc;

use crate::settings::{DatabaseConfig, DatabaseType};

/// An open lease/host database: one connection pool of one backend.
///
/// Cloning is cheap (the pool is shared). This is the only type outside `store` that knows
/// which backends exist; the rest of shoal asks it for trait objects.
#[derive(Clone, Debug)]
pub struct Db {
    inner: DbInner,
}

#[derive(Clone, Debug)]
pub(crate) enum DbInner {
    Postgres(postgres::PgStore),
    Mysql(mysql::MySqlStore),
    Sqlite(sqlite::SqliteStore),
}

impl Db {
    /// Open a connection pool for `cfg` (no schema check; see [`open_for_server`]).
    ///
    /// The backend is the scheme of `cfg.url` when a URL is given, else `cfg.db_type`.
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Db> {
        let inner = match backend_of(cfg)? {
            DatabaseType::Postgresql => DbInner::Postgres(postgres::PgStore::connect(cfg).await?),
            DatabaseType::Mysql => DbInner::Mysql(mysql::MySqlStore::connect(cfg).await?),
            DatabaseType::Sqlite => DbInner::Sqlite(sqlite::SqliteStore::connect(cfg).await?),
        };
        Ok(Db { inner })
    }

    /// The lease store over this pool.
    pub fn leases(&self) -> Arc<dyn LeaseStore> {
        match &self.inner {
            DbInner::Postgres(s) => Arc::new(s.clone()),
            DbInner::Mysql(s) => Arc::new(s.clone()),
            DbInner::Sqlite(s) => Arc::new(s.clone()),
        }
    }

    /// The host-reservation store over this pool.
    pub fn hosts(&self) -> Arc<dyn HostStore> {
        match &self.inner {
            DbInner::Postgres(s) => Arc::new(s.clone()),
            DbInner::Mysql(s) => Arc::new(s.clone()),
            DbInner::Sqlite(s) => Arc::new(s.clone()),
        }
    }

    /// Which backend this is.
    pub fn db_type(&self) -> DatabaseType {
        match &self.inner {
            DbInner::Postgres(_) => DatabaseType::Postgresql,
            DbInner::Mysql(_) => DatabaseType::Mysql,
            DbInner::Sqlite(_) => DatabaseType::Sqlite,
        }
    }

    /// Close the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.inner {
            DbInner::Postgres(s) => s.close().await,
            DbInner::Mysql(s) => s.close().await,
            DbInner::Sqlite(s) => s.pool.close().await,
        }
    }

    pub(crate) fn inner(&self) -> &DbInner {
        &self.inner
    }
}

/// The backend `cfg` names: the URL scheme when a URL is given (it must agree with
/// `type`), else `type`.
pub fn backend_of(cfg: &DatabaseConfig) -> StoreResult<DatabaseType> {
    let Some(url) = &cfg.url else {
        return Ok(cfg.db_type);
    };
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "postgres" | "postgresql" => Ok(DatabaseType::Postgresql),
        "mysql" | "mariadb" => Ok(DatabaseType::Mysql),
        "sqlite" => Ok(DatabaseType::Sqlite),
        _ => Err(StoreError::Invalid(format!(
            "unsupported database URL scheme {scheme:?} (expected postgres://, mysql:// or sqlite://)"
        ))),
    }
}

/// Connect and refuse a schema that is not the one this build expects, naming the
/// `shoal-admin` command that fixes it. Embedded SQLite initialises or upgrades itself.
pub async fn open_for_server(cfg: &DatabaseConfig) -> StoreResult<Db> {
    let db = Db::connect(cfg).await?;
    let expected = migrate::expected_version();
    if db.db_type() == DatabaseType::Sqlite {
        migrate::upgrade(&db, None).await?;
    }
    match migrate::version(&db).await? {
        Some(v) if v == expected => Ok(db),
        Some(v) if v > expected => Err(StoreError::Migration(format!(
            "database schema version {v} is newer than this build ({expected}); upgrade shoal"
        ))),
        found => {
            let sub = if found.is_none() {
                "db-init"
            } else {
                "db-upgrade"
            };
            Err(StoreError::SchemaMismatch {
                found,
                expected,
                command: admin_command(cfg, sub),
            })
        }
    }
}

/// A `shoal-admin <sub>` command line reaching the database of `cfg` (the password is
/// shown as `-p PASSWORD`, never its value).
pub fn admin_command(cfg: &DatabaseConfig, sub: &str) -> String {
    if let Some(url) = &cfg.url {
        return format!("shoal-admin {sub} --url {}", redact_url(url));
    }
    let backend = match cfg.db_type {
        DatabaseType::Postgresql => "pgsql",
        DatabaseType::Mysql => "mysql",
        DatabaseType::Sqlite => "sqlite",
    };
    let mut cmd = format!("shoal-admin {sub} {backend}");
    let flags = [
        ("-u", cfg.user.clone()),
        ("-p", cfg.password.as_ref().map(|_| "PASSWORD".to_string())),
        ("-n", cfg.name.clone()),
        ("-h", cfg.host.clone()),
        ("-P", cfg.port.map(|p| p.to_string())),
    ];
    for (flag, value) in flags {
        if let Some(v) = value {
            cmd.push_str(&format!(" {flag} {v}"));
        }
    }
    cmd
}

/// `url` with any password replaced by `PASSWORD`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, tail) = match rest.split_once('@') {
        Some((auth, tail)) if !auth.contains('/') => (auth, tail),
        _ => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:PASSWORD@{tail}"),
        None => url.to_string(),
    }
}

/// Map a sqlx error to the storage boundary: connection, I/O, pool timeouts, deadlocks
/// and serialization failures are [`StoreError::Unavailable`] (retryable); unique
/// violations are [`StoreError::Conflict`].
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::Protocol(_) | E::PoolTimedOut | E::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        E::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        E::Configuration(_) => StoreError::Invalid(e.to_string()),
        E::RowNotFound => StoreError::NotFound,
        E::Database(db) => {
            if db.is_unique_violation() {
                StoreError::Conflict(db.message().to_string())
            } else if is_transient(db.as_ref()) {
                StoreError::Unavailable(db.message().to_string())
            } else {
                StoreError::Other(db.to_string())
            }
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// Deadlocks, serialization failures, lock timeouts and server shutdowns: retrying the
/// operation may succeed.
fn is_transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        // 40001 serialization_failure, 40P01 deadlock, 55P03 lock_not_available,
        // 08xxx connection exceptions, 57P0x operator intervention (shutdown).
        return matches!(code, "40001" | "40P01" | "55P03")
            || code.starts_with("08")
            || code.starts_with("57P");
    }
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // 1213 deadlock, 1205 lock wait timeout, 1053 server shutdown, 1927 connection killed.
        return matches!(my.number(), 1213 | 1205 | 1053 | 1927);
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Primary result codes 5 SQLITE_BUSY and 6 SQLITE_LOCKED (extended codes keep
        // the primary code in the low byte).
        let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        return matches!(code & 0xff, 5 | 6);
    }
    false
}

/// A `u32` id (subnet, pool) as the BIGINT the schema stores.
pub(crate) fn id_to_db(id: u32) -> i64 {
    i64::from(id)
}

/// A BIGINT id column back to `u32`; out of range is a corrupt row.
pub(crate) fn id_from_db(v: i64, column: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Other(format!("{column} {v} out of range")))
}

/// An IPv4 address as the BIGINT the schema stores.
pub(crate) fn addr_to_db(a: Ipv4Addr) -> i64 {
    i64::from(u32::from(a))
}

/// A BIGINT address column back to an address; out of range is a corrupt row.
pub(crate) fn addr_from_db(v: i64, column: &str) -> StoreResult<Ipv4Addr> {
    id_from_db(v, column).map(Ipv4Addr::from)
}
