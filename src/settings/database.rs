//! `lease-database` / `hosts-database(s)`: where a backend lives and how to reach it.
//!
//! Invariant after reading: `url` and the `name`/`host` keys are never both
//! set, and every backend has either a `name` or a `url`.

use serde::Deserialize;
use serde_json::Value;

use super::reader::{Obj, Problems};
use super::schema;

/// Database backend type (Kea's `type`; `sqlite` is shoal's embedded default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseType {
    /// PostgreSQL.
    Postgresql,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite file (`name` is the path).
    Sqlite,
}

/// What to do when the connection is lost (Kea's `on-fail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFail {
    /// Stop serving while retrying, exit when retries run out (Kea's default).
    #[default]
    StopRetryExit,
    /// Keep serving while retrying, exit when retries run out.
    ServeRetryExit,
    /// Keep serving, never exit.
    ServeRetryContinue,
}

/// One database connection, as Kea's `lease-database` map.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Backend type.
    #[serde(rename = "type")]
    pub db_type: DatabaseType,
    /// Database name (SQLite: the file path).
    #[serde(default)]
    pub name: Option<String>,
    /// Host name or address; a path starting with `/` is a Unix-socket directory
    /// (PostgreSQL) or socket file (MySQL).
    #[serde(default)]
    pub host: Option<String>,
    /// TCP port.
    #[serde(default)]
    pub port: Option<u16>,
    /// User name.
    #[serde(default)]
    pub user: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<String>,
    /// A full sqlx URL instead of the keys above (`postgres://…`, `mysql://…`, `sqlite://…`).
    #[serde(default)]
    pub url: Option<String>,
    /// Seconds to wait for a connection (Kea default 5).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u32,
    /// Reconnection attempts after a loss (Kea default 0).
    #[serde(default)]
    pub max_reconnect_tries: u32,
    /// Milliseconds between reconnection attempts.
    #[serde(default)]
    pub reconnect_wait_time: u32,
    /// Behaviour on connection loss.
    #[serde(default)]
    pub on_fail: OnFail,
    /// Keep retrying at start-up instead of failing.
    #[serde(default)]
    pub retry_on_startup: bool,
    /// Host databases only: never write.
    #[serde(default)]
    pub readonly: bool,
    /// Connection pool size (shoal extension; default 16).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_connect_timeout() -> u32 {
    5
}

fn default_max_connections() -> u32 {
    16
}

impl DatabaseConfig {
    /// An embedded SQLite database at `path`.
    pub fn sqlite(path: &str) -> Self {
        Self {
            db_type: DatabaseType::Sqlite,
            name: Some(path.to_string()),
            host: None,
            port: None,
            user: None,
            password: None,
            url: None,
            connect_timeout: default_connect_timeout(),
            max_reconnect_tries: 0,
            reconnect_wait_time: 0,
            on_fail: OnFail::default(),
            retry_on_startup: false,
            readonly: false,
            max_connections: default_max_connections(),
        }
    }
}

/// Read one database map at `path` (Kea keys plus `url` and `max-connections`).
pub(crate) fn read_database(v: &Value, path: &str, p: &mut Problems) -> Option<DatabaseConfig> {
    let o = Obj::new(v, path, &schema::DATABASE, p)?;
    let db_type = match o.string("type", p).as_deref() {
        Some("postgresql") => DatabaseType::Postgresql,
        Some("mysql") => DatabaseType::Mysql,
        Some("sqlite") => DatabaseType::Sqlite,
        Some("memfile") => {
            p.add(
                o.at("type"),
                "memfile is not supported; use sqlite for the embedded single-node database",
            );
            return None;
        }
        Some(other) => {
            p.add(
                o.at("type"),
                format!("{other:?} is not one of postgresql, mysql, sqlite"),
            );
            return None;
        }
        None => {
            if !o.has("type") {
                p.add(o.at("type"), "is required (postgresql, mysql or sqlite)");
            }
            return None;
        }
    };
    let mut db = DatabaseConfig::sqlite("");
    db.db_type = db_type;
    db.name = o.name("name", p);
    db.host = o.string("host", p);
    db.port = o.int("port", 1, 65535, p).map(|n| n as u16);
    db.user = o.string("user", p);
    db.password = o.string("password", p);
    db.url = o.name("url", p);
    db.connect_timeout = o.u32("connect-timeout", p).unwrap_or(db.connect_timeout);
    db.max_reconnect_tries = o.u32("max-reconnect-tries", p).unwrap_or(0);
    db.reconnect_wait_time = o.u32("reconnect-wait-time", p).unwrap_or(0);
    db.on_fail = match o.string("on-fail", p).as_deref() {
        None | Some("stop-retry-exit") => OnFail::StopRetryExit,
        Some("serve-retry-exit") => OnFail::ServeRetryExit,
        Some("serve-retry-continue") => OnFail::ServeRetryContinue,
        Some(other) => {
            p.add(o.at("on-fail"), format!("{other:?} is not one of stop-retry-exit, serve-retry-exit, serve-retry-continue"));
            OnFail::StopRetryExit
        }
    };
    db.retry_on_startup = o.bool("retry-on-startup", p).unwrap_or(false);
    db.readonly = o.bool("readonly", p).unwrap_or(false);
    db.max_connections = o
        .int("max-connections", 1, 10_000, p)
        .map_or(db.max_connections, |n| n as u32);
    check_target(&o, &db, p);
    Some(db)
}

/// `url` excludes `name`/`host`; one of them is required; the url scheme matches `type`.
fn check_target(o: &Obj<'_>, db: &DatabaseConfig, p: &mut Problems) {
    match &db.url {
        Some(url) => {
            if db.name.is_some() || db.host.is_some() {
                p.add(o.at("url"), "give either url or name/host, not both");
            }
            let schemes: &[&str] = match db.db_type {
                DatabaseType::Postgresql => &["postgres://", "postgresql://"],
                DatabaseType::Mysql => &["mysql://", "mariadb://"],
                DatabaseType::Sqlite => &["sqlite:"],
            };
            if !schemes.iter().any(|s| url.starts_with(s)) {
                p.add(
                    o.at("url"),
                    format!(
                        "a {:?} url must start with {}",
                        db.db_type,
                        schemes.join(" or ")
                    ),
                );
            }
        }
        None if db.name.is_none() && !o.has("name") => {
            let what = if db.db_type == DatabaseType::Sqlite {
                "the database file path"
            } else {
                "the database name"
            };
            p.add(o.at("name"), format!("is required ({what}), or give a url"));
        }
        None => {}
    }
}
