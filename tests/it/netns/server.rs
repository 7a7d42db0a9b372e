//! DHCP servers and relays inside test namespaces: Kea-format configuration for the
//! shared link, and launchers that return a [`Proc`] once the daemon listens on port 67.
//!
//! The server under test is shoal (`CARGO_BIN_EXE_shoal`). Setting `SHOAL_IT_SERVER=kea`
//! runs Kea 2.2 with a non-persistent memfile instead — only to validate this rig against
//! a reference server; database assertions are then skipped by the tests.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::{wait_for, Netns, Proc, RigError, RigResult};

/// Which DHCP server the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// shoal (the default and the only mode whose results count).
    Shoal,
    /// Kea 2.2 with memfile (rig validation only).
    Kea,
}

impl ServerKind {
    /// From `SHOAL_IT_SERVER` (`kea` or anything else = shoal).
    pub fn from_env() -> Self {
        match std::env::var("SHOAL_IT_SERVER").as_deref() {
            Ok("kea") => Self::Kea,
            _ => Self::Shoal,
        }
    }

    /// Do the servers write to the test database (so DB assertions apply)?
    pub fn uses_test_db(self) -> bool {
        self == Self::Shoal
    }
}

/// Valid lifetime used on the shared link: short so clients renew within the test.
pub const VALID_LIFETIME: u32 = 20;
/// T1 on the shared link.
pub const RENEW_TIMER: u32 = 5;

/// Kea `lease-database` map reaching the test database through its Unix socket
/// (the servers live in their own namespaces, without a route to 127.0.0.1).
pub fn lease_database(backend: crate::common::Backend, name: &str) -> Value {
    use crate::common::Backend;
    // Few connections per server: many tests run at once against one database server
    // (100 connections by default).
    match backend {
        Backend::Postgres => json!({"type": "postgresql", "name": name,
            "host": pg_socket_dir(), "user": "postgres", "max-connections": 6}),
        Backend::Mysql => json!({"type": "mysql", "name": name,
            "host": mysql_socket(), "user": "root", "max-connections": 6}),
        Backend::Sqlite => json!({"type": "sqlite", "name": name}),
    }
}

/// PostgreSQL's Unix-socket directory (`SHOAL_TEST_PG_SOCKET`, default /var/run/postgresql).
pub fn pg_socket_dir() -> String {
    std::env::var("SHOAL_TEST_PG_SOCKET").unwrap_or_else(|_| "/var/run/postgresql".into())
}

/// MySQL's socket file (`SHOAL_TEST_MYSQL_SOCKET`, default /run/mysqld/mysqld.sock).
pub fn mysql_socket() -> String {
    std::env::var("SHOAL_TEST_MYSQL_SOCKET").unwrap_or_else(|_| "/run/mysqld/mysqld.sock".into())
}

/// The shared-link configuration: subnet 1 on the link, subnet 2 behind the relay.
pub fn shared_link_config(lease_db: Value) -> Value {
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [super::topology::SERVER_IF]},
        "lease-database": lease_db,
        "valid-lifetime": VALID_LIFETIME,
        "renew-timer": RENEW_TIMER,
        "rebind-timer": VALID_LIFETIME * 3 / 4,
        "offer-lifetime": 30,
        "subnet4": [
            {"id": 1, "subnet": "10.77.1.0/24",
             "pools": [{"pool": "10.77.1.100 - 10.77.1.199"}],
             "option-data": [{"name": "routers", "data": "10.77.1.1"}]},
            {"id": 2, "subnet": "10.77.2.0/24", "relay": {"ip-addresses": ["10.77.2.1"]},
             "pools": [{"pool": "10.77.2.100 - 10.77.2.199"}],
             "option-data": [{"name": "routers", "data": "10.77.2.1"}]}
        ]
    }})
}

/// First and last address of the load-test pool (7,936 addresses).
pub const LOAD_POOL: (&str, &str) = ("10.78.1.0", "10.78.31.255");

/// The load-link configuration: one /16 subnet containing perfdhcp's giaddr.
pub fn load_link_config(lease_db: Value, offer_lifetime: u32) -> Value {
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [super::topology::SERVER_IF]},
        "lease-database": lease_db,
        "valid-lifetime": 600,
        "offer-lifetime": offer_lifetime,
        "subnet4": [{"id": 1, "subnet": "10.78.0.0/16",
            "pools": [{"pool": format!("{} - {}", LOAD_POOL.0, LOAD_POOL.1)}],
            "option-data": [{"name": "routers", "data": "10.78.0.1"}]}]
    }})
}

/// Pool of subnet 1 (direct) and subnet 2 (relayed), inclusive.
pub fn pool_of(relayed: bool) -> (std::net::Ipv4Addr, std::net::Ipv4Addr) {
    if relayed {
        ([10, 77, 2, 100].into(), [10, 77, 2, 199].into())
    } else {
        ([10, 77, 1, 100].into(), [10, 77, 1, 199].into())
    }
}

/// Write `config` to `dir/<tag>.json` and start the server in `ns`; returns once it
/// listens on UDP port 67 (bounded by 20 s). shoal logs at `SHOAL_IT_LOG`, else
/// `default_log` (a `RUST_LOG` filter).
pub fn start_server(
    kind: ServerKind,
    ns: &Netns,
    config: &Value,
    dir: &Path,
    tag: &str,
    default_log: &str,
) -> RigResult<Proc> {
    let cfg_path = dir.join(format!("{tag}.json"));
    let log = dir.join(format!("{tag}.log"));
    let mut cmd;
    match kind {
        ServerKind::Shoal => {
            std::fs::write(
                &cfg_path,
                serde_json::to_vec_pretty(config).unwrap_or_default(),
            )?;
            cmd = ns.command("env");
            let filter = std::env::var("SHOAL_IT_LOG").unwrap_or_else(|_| default_log.into());
            cmd.arg(format!("RUST_LOG={filter}"))
                .arg(env!("CARGO_BIN_EXE_shoal"));
        }
        ServerKind::Kea => {
            let mut cfg = config.clone();
            cfg["Dhcp4"]["lease-database"] = json!({"type": "memfile", "persist": false});
            if let Some(m) = cfg["Dhcp4"].as_object_mut() {
                m.remove("offer-lifetime"); // Kea 2.2 predates it
            }
            cfg["Dhcp4"]["loggers"] = json!([{"name": "kea-dhcp4", "severity": "DEBUG",
                "debuglevel": 40, "output_options": [{"output": "stderr"}]}]);
            std::fs::write(
                &cfg_path,
                serde_json::to_vec_pretty(&cfg).unwrap_or_default(),
            )?;
            cmd = ns.command("env");
            cmd.arg(format!("KEA_PIDFILE_DIR={}", dir.display()))
                .arg(format!("KEA_LOCKFILE_DIR={}", dir.display()))
                .arg("/usr/sbin/kea-dhcp4");
        }
    }
    cmd.arg("-c").arg(&cfg_path);
    let mut proc = Proc::spawn(tag, cmd, &log)?;
    wait_listening(ns, &mut proc, 67)?;
    Ok(proc)
}

/// Wait until something in `ns` listens on UDP `port`; fail early if `proc` exits.
pub fn wait_listening(ns: &Netns, proc: &mut Proc, port: u16) -> RigResult<()> {
    let needle = format!(":{port} ");
    let mut died = None;
    let res = wait_for(
        "server to listen on port 67",
        Duration::from_secs(20),
        || {
            if let Some(status) = proc.exited() {
                died = Some(status);
                return Some(false);
            }
            let out = ns.run("ss", &["-Hlun"]).unwrap_or_default();
            out.lines().any(|l| l.contains(&needle)).then_some(true)
        },
    );
    match (res, died) {
        (_, Some(status)) => Err(RigError::Failed {
            cmd: "server".into(),
            status,
            stderr: proc.log_tail(30),
        }),
        (Err(e), None) => Err(RigError::Parse(format!("{e}\n{}", proc.log_tail(30)))),
        (Ok(_), None) => Ok(()),
    }
}

/// Start ISC dhcrelay in `ns`: clients on `down_if`, servers reached via `up_if`.
pub fn start_relay(
    ns: &Netns,
    down_if: &str,
    up_if: &str,
    servers: &[&str],
    dir: &Path,
) -> RigResult<Proc> {
    let mut cmd = ns.command("dhcrelay");
    cmd.args(["-4", "-d", "-id", down_if, "-iu", up_if, "-pf"])
        .arg(dir.join("dhcrelay.pid"))
        .args(servers);
    let mut proc = Proc::spawn("dhcrelay", cmd, &dir.join("dhcrelay.log"))?;
    wait_listening(ns, &mut proc, 67)?;
    Ok(proc)
}
