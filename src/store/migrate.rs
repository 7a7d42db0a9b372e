//! Schema migrations: refinery's embedded `migrations/<dialect>` run over the sqlx pool.
//!
//! A small adapter implements refinery-core's async traits on one sqlx connection, so
//! shoal keeps a single driver stack. Every change runs on one dedicated connection that
//! holds a server-wide lock (PostgreSQL `pg_advisory_lock`, MySQL `GET_LOCK`) for the
//! whole run: two nodes migrating at once would otherwise collide. Each migration and its
//! `refinery_schema_history` row commit in one transaction (MySQL DDL excepted; its
//! migrations are idempotent). A database whose applied migrations differ from the
//! embedded ones is refused (refinery's abort_divergent / abort_missing).
//!
//! Only `shoal-admin` changes the schema; the server checks the version
//! ([`super::open_for_server`]), except embedded SQLite, which upgrades itself.

use refinery_core::traits::r#async::{AsyncMigrate, AsyncQuery, AsyncTransaction};
use refinery_core::{Migration, Runner, Target};
use sqlx::{AssertSqlSafe, Connection};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{map_err, Db, DbInner, StoreError, StoreResult};

mod pg {
    refinery::embed_migrations!("migrations/postgres");
}
mod my {
    refinery::embed_migrations!("migrations/mysql");
}
mod lite {
    refinery::embed_migrations!("migrations/sqlite");
}

/// refinery's history table.
const HISTORY: &str = "refinery_schema_history";
/// PostgreSQL advisory-lock key held while migrating.
const PG_LOCK_KEY: i64 = 72_450_001;
/// MySQL named lock held while migrating.
const MYSQL_LOCK: &str = "shoal_migrations";
/// Seconds to wait for another node's migration to finish (MySQL GET_LOCK).
const MYSQL_LOCK_WAIT: i64 = 300;

/// Serialises SQLite migration runs within this process.
static SQLITE_MIGRATIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The schema version this build expects: the highest embedded migration.
pub fn expected_version() -> i64 {
    max_version(&pg::migrations::runner())
}

fn max_version(runner: &Runner) -> i64 {
    runner
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The embedded migrations for each dialect as `(version, name)`, sorted (for tests that
/// check the dialects agree).
pub fn embedded_versions() -> [Vec<(i64, String)>; 3] {
    let list = |r: Runner| {
        let mut v: Vec<_> = r
            .get_migrations()
            .iter()
            .map(|m| (i64::from(m.version()), m.name().to_string()))
            .collect();
        v.sort();
        v
    };
    [
        list(pg::migrations::runner()),
        list(my::migrations::runner()),
        list(lite::migrations::runner()),
    ]
}

/// The highest applied migration, None when the database was never initialised.
pub async fn version(db: &Db) -> StoreResult<Option<i64>> {
    if !table_exists(db, HISTORY).await? {
        return Ok(None);
    }
    let v: Option<i64> = match db.inner() {
        DbInner::Postgres(s) => {
            sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM refinery_schema_history")
                .fetch_one(&s.pool)
                .await
        }
        DbInner::Mysql(s) => {
            sqlx::query_scalar("SELECT CAST(MAX(version) AS SIGNED) FROM refinery_schema_history")
                .fetch_one(&s.pool)
                .await
        }
        DbInner::Sqlite(s) => {
            sqlx::query_scalar("SELECT MAX(version) FROM refinery_schema_history")
                .fetch_one(&s.pool)
                .await
        }
    }
    .map_err(map_err)?;
    Ok(v)
}

/// Does `table` exist in the connected database (schema)?
async fn table_exists(db: &Db, table: &str) -> StoreResult<bool> {
    let n: i64 = match db.inner() {
        DbInner::Postgres(s) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_one(&s.pool)
            .await
        }
        DbInner::Mysql(s) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?",
            )
            .bind(table)
            .fetch_one(&s.pool)
            .await
        }
        DbInner::Sqlite(s) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            )
            .bind(table)
            .fetch_one(&s.pool)
            .await
        }
    }
    .map_err(map_err)?;
    Ok(n > 0)
}

/// Create the schema in an empty database. Refuses a database that already has a
/// migration history or a `lease4` table.
pub async fn init(db: &Db) -> StoreResult<Vec<String>> {
    if let Some(v) = version(db).await? {
        return Err(StoreError::Invalid(format!(
            "database already initialised (schema version {v}); use db-upgrade"
        )));
    }
    if table_exists(db, "lease4").await? {
        return Err(StoreError::Invalid(
            "database already holds a lease4 table (not created by shoal-admin); refusing to initialise"
                .into(),
        ));
    }
    upgrade(db, None).await
}

/// Apply pending migrations one by one (up to version `to` when given), returning one
/// line per applied migration (`applied V2 free_lease4`). Works on an empty database too.
pub async fn upgrade(db: &Db, to: Option<i64>) -> StoreResult<Vec<String>> {
    let expected = expected_version();
    let target = match to {
        None => Target::Latest,
        Some(n) if n < 1 || n > expected => {
            return Err(StoreError::Invalid(format!(
                "no schema version {n} (this build knows 1..={expected})"
            )))
        }
        Some(n) => {
            if let Some(cur) = version(db).await? {
                if cur > n {
                    return Err(StoreError::Invalid(format!(
                        "database is at schema version {cur}; downgrading to {n} is not supported"
                    )));
                }
            }
            let n = i32::try_from(n).map_err(|_| StoreError::Invalid(format!("version {n}")))?;
            Target::Version(n)
        }
    };
    let configure = |r: Runner| {
        r.set_target(target)
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .set_grouped(false)
    };
    let applied = match db.inner() {
        DbInner::Postgres(s) => run_pg(&s.pool, configure(pg::migrations::runner())).await?,
        DbInner::Mysql(s) => run_mysql(&s.pool, configure(my::migrations::runner())).await?,
        DbInner::Sqlite(s) => {
            // SQLite has no advisory lock; serialise this process's runs (an embedded
            // database has one shoal process).
            let _guard = SQLITE_MIGRATIONS.lock().await;
            let mut conn = s.pool.acquire().await.map_err(map_err)?;
            let report = configure(lite::migrations::runner())
                .run_async(&mut SqliteMigrator(&mut conn))
                .await;
            lines(report)?
        }
    };
    Ok(applied)
}

async fn run_pg(pool: &sqlx::PgPool, runner: Runner) -> StoreResult<Vec<String>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(PG_LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    let report = runner.run_async(&mut PgMigrator(&mut conn)).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(PG_LOCK_KEY)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // Closing the session releases its advisory locks.
        let _ = conn.detach().close().await;
    }
    lines(report)
}

async fn run_mysql(pool: &sqlx::MySqlPool, runner: Runner) -> StoreResult<Vec<String>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(MYSQL_LOCK)
        .bind(MYSQL_LOCK_WAIT)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    if got != Some(1) {
        return Err(StoreError::Unavailable(format!(
            "another node is migrating the database (lock {MYSQL_LOCK} busy for {MYSQL_LOCK_WAIT} s)"
        )));
    }
    let report = runner.run_async(&mut MySqlMigrator(&mut conn)).await;
    let unlocked = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(MYSQL_LOCK)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        let _ = conn.detach().close().await;
    }
    lines(report)
}

/// One line per applied migration, or the refinery error as a StoreError.
fn lines(report: Result<refinery_core::Report, refinery_core::Error>) -> StoreResult<Vec<String>> {
    use refinery_core::error::Kind;
    let report = report.map_err(|e| match e.kind() {
        Kind::DivergentVersion(applied, ours) => StoreError::Migration(format!(
            "applied migration V{} {} differs from this build's V{} {}; the database was \
             migrated by another build",
            applied.version(),
            applied.name(),
            ours.version(),
            ours.name()
        )),
        Kind::MissingVersion(m) => StoreError::Migration(format!(
            "migration V{} {} is applied in the database but unknown to this build (or missing)",
            m.version(),
            m.name()
        )),
        _ => StoreError::Migration(e.to_string()),
    })?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| format!("applied V{} {}", m.version(), m.name()))
        .collect())
}

/// A history row read back into refinery's type.
fn applied_migration(row: (i32, String, String, String)) -> Result<Migration, sqlx::Error> {
    let (version, name, applied_on, checksum) = row;
    let bad = |what: &str| sqlx::Error::Protocol(format!("{HISTORY} V{version}: bad {what}"));
    let applied_on = OffsetDateTime::parse(&applied_on, &Rfc3339).map_err(|_| bad("applied_on"))?;
    let checksum = checksum.parse::<u64>().map_err(|_| bad("checksum"))?;
    Ok(Migration::applied(version, name, applied_on, checksum))
}

/// refinery's adapter over one connection of each backend.
macro_rules! migrator {
    ($name:ident, $conn:ty) => {
        struct $name<'c>(&'c mut $conn);

        impl AsyncTransaction for $name<'_> {
            type Error = sqlx::Error;

            async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
                &'a mut self,
                queries: T,
            ) -> Result<usize, sqlx::Error> {
                let mut tx = self.0.begin().await?;
                let mut count = 0;
                for q in queries {
                    sqlx::raw_sql(AssertSqlSafe(q.to_string()))
                        .execute(&mut *tx)
                        .await?;
                    count += 1;
                }
                tx.commit().await?;
                Ok(count)
            }
        }

        impl AsyncQuery<Vec<Migration>> for $name<'_> {
            async fn query<'a>(
                &'a mut self,
                query: &'a str,
            ) -> Result<Vec<Migration>, sqlx::Error> {
                let sql = query.trim().trim_end_matches(';').to_string();
                let rows: Vec<(i32, String, String, String)> = sqlx::query_as(AssertSqlSafe(sql))
                    .fetch_all(&mut *self.0)
                    .await?;
                rows.into_iter().map(applied_migration).collect()
            }
        }

        impl AsyncMigrate for $name<'_> {}
    };
}

migrator!(PgMigrator, sqlx::PgConnection);
migrator!(MySqlMigrator, sqlx::MySqlConnection);
migrator!(SqliteMigrator, sqlx::SqliteConnection);
