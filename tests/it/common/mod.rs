//! Shared test harness: fresh, uniquely named databases on every backend, and the
//! `battery!` macro that runs one async test body once per backend.
//!
//! Servers come from `SHOAL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and `SHOAL_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/mysql`). Tests use real
//! databases and never skip silently: an unreachable server is a panic naming the URL.
//! Each [`TestDb`] is `shoal_t_<pid>_<counter>_<random>` and is dropped (best effort) when the
//! value is dropped, even when the test panicked.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shoal::settings::{DatabaseConfig, DatabaseType};
use shoal::store::{migrate, Db};
use sqlx::{AssertSqlSafe, Connection};

/// The three backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (a file in a temp dir).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
    /// MySQL / MariaDB server.
    Mysql,
}

impl Backend {
    /// The configuration `type` of this backend.
    pub fn db_type(self) -> DatabaseType {
        match self {
            Backend::Sqlite => DatabaseType::Sqlite,
            Backend::Postgres => DatabaseType::Postgresql,
            Backend::Mysql => DatabaseType::Mysql,
        }
    }
}

/// Pool size of a test database: small, since up to 8 tests run at once against one server.
pub const TEST_POOL_SIZE: u32 = 6;

/// A fresh database; dropped when this value is dropped.
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// A configuration reaching it (by `url`).
    pub config: DatabaseConfig,
    /// Its URL (`postgres://…/shoal_t_…`, `mysql://…`, `sqlite://<path>`).
    pub url: String,
    /// An open pool.
    pub db: Db,
    /// Database name (SQLite: the file path).
    pub name: String,
    /// Drops the database (or removes the SQLite directory) when the TestDb goes; declared
    /// after `db` so the pool is dropped first.
    _cleanup: Cleanup,
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Create `<tmp>/shoal_t_…`.
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// A path inside the directory, as a string.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What to remove when a test database goes away (even when its test panicked).
enum Cleanup {
    Dir(TempDir),
    Server { backend: Backend, name: String },
}

impl TestDb {
    /// Run raw SQL on the test database outside the store (tests only: tampering, checks).
    pub async fn raw_exec(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .expect(sql);
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("pg");
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .expect(sql);
            }
            Backend::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mysql");
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .expect(sql);
            }
        }
    }

    /// Run a query returning one BIGINT-compatible value (e.g. `SELECT COUNT(*) …`).
    pub async fn raw_count(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .expect(sql)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("pg");
                sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .expect(sql)
            }
            Backend::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mysql");
                sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .expect(sql)
            }
        }
    }
}

/// URL of the PostgreSQL server used by tests.
pub fn pg_server_url() -> String {
    std::env::var("SHOAL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// URL of the MySQL/MariaDB server used by tests.
pub fn mysql_server_url() -> String {
    std::env::var("SHOAL_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

/// `url` with its database name replaced by `name` (query string kept).
pub fn url_with_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// A unique database name: `shoal_t_<pid>_<counter>_<random>`.
pub fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "shoal_t_{}_{}_{:08x}",
        std::process::id(),
        n,
        rand::random::<u32>()
    )
}

/// A fresh database migrated to the latest schema.
pub async fn fresh_db(backend: Backend) -> TestDb {
    let t = fresh_empty_db(backend).await;
    migrate::init(&t.db)
        .await
        .unwrap_or_else(|e| panic!("migrating test database {} failed: {e}", t.name));
    t
}

/// A fresh database with no schema.
pub async fn fresh_empty_db(backend: Backend) -> TestDb {
    let name = unique_name();
    let (url, cleanup, db_name) = match backend {
        Backend::Sqlite => {
            let dir = TempDir::new();
            let path = dir.file("shoal.db");
            (format!("sqlite://{path}"), Cleanup::Dir(dir), path)
        }
        Backend::Postgres | Backend::Mysql => {
            server_exec(backend, &format!("CREATE DATABASE {name}")).await;
            let server = if backend == Backend::Postgres {
                pg_server_url()
            } else {
                mysql_server_url()
            };
            let cleanup = Cleanup::Server {
                backend,
                name: name.clone(),
            };
            (url_with_db(&server, &name), cleanup, name.clone())
        }
    };
    let mut config = match backend {
        Backend::Sqlite => DatabaseConfig::sqlite(&db_name),
        _ => {
            let mut c = DatabaseConfig::sqlite("");
            c.db_type = backend.db_type();
            c.name = None;
            c.url = Some(url.clone());
            c
        }
    };
    config.max_connections = TEST_POOL_SIZE;
    let db = Db::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("connecting to test database {url}: {e}"));
    TestDb {
        backend,
        config,
        url,
        db,
        name: db_name,
        _cleanup: cleanup,
    }
}

/// Run one statement on the server's maintenance database (CREATE DATABASE); panics
/// naming the server when it is unreachable.
async fn server_exec(backend: Backend, sql: &str) {
    if let Err(e) = try_server_exec(backend, sql).await {
        panic!("{e}; run ./tests/run.sh or set SHOAL_TEST_PG_URL / SHOAL_TEST_MYSQL_URL");
    }
}

async fn try_server_exec(backend: Backend, sql: &str) -> Result<(), String> {
    let q = AssertSqlSafe(sql.to_string());
    match backend {
        Backend::Postgres => {
            let url = pg_server_url();
            let mut c = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| format!("PostgreSQL test server unreachable at {url}: {e}"))?;
            let r = sqlx::raw_sql(q).execute(&mut c).await;
            let _ = c.close().await;
            r.map(|_| ()).map_err(|e| format!("{sql}: {e}"))
        }
        Backend::Mysql => {
            let url = mysql_server_url();
            let mut c = sqlx::MySqlConnection::connect(&url)
                .await
                .map_err(|e| format!("MySQL test server unreachable at {url}: {e}"))?;
            let r = sqlx::raw_sql(q).execute(&mut c).await;
            let _ = c.close().await;
            r.map(|_| ()).map_err(|e| format!("{sql}: {e}"))
        }
        Backend::Sqlite => Ok(()),
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Cleanup::Server { backend, name } = self else {
            return;
        };
        let sql = match backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {name}"),
        };
        let backend = *backend;
        // Drop runs inside the test's runtime: do the async clean-up on a plain thread
        // with its own runtime, and wait for it (bounded).
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = rt.block_on(async move {
                let drop_db = try_server_exec(backend, &sql);
                tokio::time::timeout(Duration::from_secs(20), drop_db).await
            });
        });
        let _ = cleanup.join();
    }
}

/// Instantiate each listed `async fn name(t: &TestDb)` once per backend, as
/// `#[tokio::test]`s in modules `sqlite`, `postgres` and `mysql`.
macro_rules! battery {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let t = crate::common::fresh_db(crate::common::Backend::Sqlite).await;
                    super::$name(&t).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let t = crate::common::fresh_db(crate::common::Backend::Postgres).await;
                    super::$name(&t).await;
                }
            )+
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let t = crate::common::fresh_db(crate::common::Backend::Mysql).await;
                    super::$name(&t).await;
                }
            )+
        }
    };
}
