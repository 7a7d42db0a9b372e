//! Process-level sections: `expired-leases-processing`, `multi-threading`,
//! `config-control`, `control-socket(s)` and `loggers`.

use super::database::{read_database, DatabaseConfig};
use super::reader::{Obj, Problems};
use super::schema;

/// `expired-leases-processing` (Kea defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredLeasesProcessing {
    /// Seconds between reclamation runs (10).
    pub reclaim_timer_wait_time: u32,
    /// Seconds between removals of reclaimed leases (25; 0 = keep).
    pub flush_reclaimed_timer_wait_time: u32,
    /// Seconds a reclaimed lease is kept (3600).
    pub hold_reclaimed_time: u32,
    /// Leases per run (100; 0 = unlimited).
    pub max_reclaim_leases: u32,
    /// Milliseconds per run (250; 0 = unlimited).
    pub max_reclaim_time: u32,
    /// Runs that may leave leases behind before warning (5).
    pub unwarned_reclaim_cycles: u32,
}

impl Default for ExpiredLeasesProcessing {
    fn default() -> Self {
        Self {
            reclaim_timer_wait_time: 10,
            flush_reclaimed_timer_wait_time: 25,
            hold_reclaimed_time: 3600,
            max_reclaim_leases: 100,
            max_reclaim_time: 250,
            unwarned_reclaim_cycles: 5,
        }
    }
}

/// `multi-threading`: the packet-processing threads (tokio worker threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiThreading {
    /// `enable-multi-threading` (default true).
    pub enable: bool,
    /// `thread-pool-size` (default 0 = auto).
    pub thread_pool_size: u32,
    /// `packet-queue-size` (default 64).
    pub packet_queue_size: u32,
}

impl MultiThreading {
    /// Worker threads to run: 1 when multi-threading is disabled, else `thread-pool-size`,
    /// where 0 means one per CPU (as Kea's "auto").
    pub fn worker_threads(&self) -> usize {
        match (self.enable, self.thread_pool_size) {
            (false, _) => 1,
            (true, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (true, n) => n as usize,
        }
    }
}

impl Default for MultiThreading {
    fn default() -> Self {
        Self {
            enable: true,
            thread_pool_size: 0,
            packet_queue_size: 64,
        }
    }
}

/// `config-control`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigControl {
    /// `config-databases`.
    pub config_databases: Vec<DatabaseConfig>,
    /// `config-fetch-wait-time` seconds (default 30).
    pub config_fetch_wait_time: u32,
}

/// Control socket kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlSocketType {
    /// Unix stream socket at `socket_name`.
    Unix,
    /// HTTP listener at `socket_address:socket_port`.
    Http,
}

/// A control socket.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlSocket {
    /// Kind.
    pub socket_type: ControlSocketType,
    /// Unix socket path.
    pub socket_name: Option<String>,
    /// HTTP address (default 127.0.0.1).
    pub socket_address: String,
    /// HTTP port (default 8000).
    pub socket_port: u16,
    /// Basic authentication, when configured.
    pub authentication: Option<BasicAuth>,
}

/// HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// Realm (default `shoal`).
    pub realm: String,
    /// Allowed users.
    pub clients: Vec<AuthClient>,
}

/// One basic-auth user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthClient {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Logger severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Debug (with `debuglevel`).
    Debug,
    /// Info.
    Info,
    /// Warnings.
    Warn,
    /// Errors.
    Error,
    /// Fatal only.
    Fatal,
    /// Nothing.
    None,
}

/// A `loggers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logger {
    /// Logger name (`kea-dhcp4`, `kea-dhcp4.leases`, …).
    pub name: String,
    /// Severity (default INFO).
    pub severity: Severity,
    /// Debug level 0..=99.
    pub debuglevel: u8,
    /// `output-options[].output` (`stdout`, `stderr`, `syslog`, a file path).
    pub outputs: Vec<String>,
}

/// Read `expired-leases-processing`.
pub(crate) fn read_expired(o: Option<Obj<'_>>, p: &mut Problems) -> ExpiredLeasesProcessing {
    let mut e = ExpiredLeasesProcessing::default();
    let Some(o) = o else { return e };
    let fields: [(&str, &mut u32); 6] = [
        ("reclaim-timer-wait-time", &mut e.reclaim_timer_wait_time),
        (
            "flush-reclaimed-timer-wait-time",
            &mut e.flush_reclaimed_timer_wait_time,
        ),
        ("hold-reclaimed-time", &mut e.hold_reclaimed_time),
        ("max-reclaim-leases", &mut e.max_reclaim_leases),
        ("max-reclaim-time", &mut e.max_reclaim_time),
        ("unwarned-reclaim-cycles", &mut e.unwarned_reclaim_cycles),
    ];
    for (key, slot) in fields {
        if let Some(v) = o.u32(key, p) {
            *slot = v;
        }
    }
    if e.reclaim_timer_wait_time == 0 {
        p.add(o.at("reclaim-timer-wait-time"), "must be at least 1 second");
    }
    e
}

/// Read `multi-threading`.
pub(crate) fn read_multi_threading(o: Option<Obj<'_>>, p: &mut Problems) -> MultiThreading {
    let mut m = MultiThreading::default();
    if let Some(o) = o {
        m.enable = o.bool("enable-multi-threading", p).unwrap_or(true);
        // Each one is an OS thread: refuse a number no machine can use.
        m.thread_pool_size = o
            .int("thread-pool-size", 0, 1024, p)
            .map_or(0, |n| n as u32);
        m.packet_queue_size = o.u32("packet-queue-size", p).unwrap_or(64);
    }
    m
}

/// Read `config-control`.
pub(crate) fn read_config_control(o: Obj<'_>, p: &mut Problems) -> ConfigControl {
    let mut dbs = Vec::new();
    for (path, v) in o.list("config-databases", p) {
        dbs.extend(read_database(v, &path, p));
    }
    if dbs.len() > 1 {
        p.add(
            o.at("config-databases"),
            "only one config database is allowed (as in Kea)",
        );
    }
    ConfigControl {
        config_databases: dbs,
        config_fetch_wait_time: o.u32("config-fetch-wait-time", p).unwrap_or(30),
    }
}

/// Read one `control-socket` map.
pub(crate) fn read_control_socket(o: Obj<'_>, p: &mut Problems) -> Option<ControlSocket> {
    let kind = match o.string("socket-type", p).as_deref() {
        Some("unix") => ControlSocketType::Unix,
        Some("http") => ControlSocketType::Http,
        Some("https") => {
            p.add(
                o.at("socket-type"),
                "not supported: https; use http behind a TLS reverse proxy",
            );
            return None;
        }
        Some(other) => {
            p.add(
                o.at("socket-type"),
                format!("{other:?} is not one of unix, http"),
            );
            return None;
        }
        None => {
            p.add(o.at("socket-type"), "is required (unix or http)");
            return None;
        }
    };
    let socket_name = o.string("socket-name", p);
    if kind == ControlSocketType::Unix && socket_name.is_none() {
        p.add(o.at("socket-name"), "is required for a unix socket");
    }
    let socket_address = o
        .string("socket-address", p)
        .unwrap_or_else(|| "127.0.0.1".into());
    if socket_address.parse::<std::net::IpAddr>().is_err() {
        p.add(
            o.at("socket-address"),
            format!("{socket_address:?} is not an IP address"),
        );
    }
    let socket_port = o.int("socket-port", 1, 65535, p).map_or(8000, |n| n as u16);
    let authentication = o
        .obj("authentication", &schema::AUTHENTICATION, p)
        .and_then(|a| read_auth(a, p));
    Some(ControlSocket {
        socket_type: kind,
        socket_name,
        socket_address,
        socket_port,
        authentication,
    })
}

fn read_auth(a: Obj<'_>, p: &mut Problems) -> Option<BasicAuth> {
    match a.string("type", p).as_deref() {
        Some("basic") => {}
        Some(other) => {
            p.add(
                a.at("type"),
                format!("not supported: authentication type {other:?} (only basic)"),
            );
            return None;
        }
        None => p.add(a.at("type"), "is required (basic)"),
    }
    let mut clients = Vec::new();
    for (path, v) in a.list("clients", p) {
        if let Some(c) = Obj::new(v, &path, &schema::AUTH_CLIENT, p) {
            if let (Some(user), Some(password)) = (c.name("user", p), c.string("password", p)) {
                clients.push(AuthClient { user, password });
            } else if !c.has("user") {
                p.add(c.at("user"), "is required");
            }
        }
    }
    Some(BasicAuth {
        realm: a.string("realm", p).unwrap_or_else(|| "shoal".into()),
        clients,
    })
}

/// Read one `loggers` entry.
pub(crate) fn read_logger(o: Obj<'_>, p: &mut Problems) -> Option<Logger> {
    let name = o.name("name", p);
    if name.is_none() && !o.has("name") {
        p.add(o.at("name"), "is required");
    }
    let severity = match o
        .string("severity", p)
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("INFO") => Severity::Info,
        Some("DEBUG") => Severity::Debug,
        Some("WARN") => Severity::Warn,
        Some("ERROR") => Severity::Error,
        Some("FATAL") => Severity::Fatal,
        Some("NONE") => Severity::None,
        Some(other) => {
            p.add(
                o.at("severity"),
                format!("{other:?} is not one of FATAL, ERROR, WARN, INFO, DEBUG, NONE"),
            );
            Severity::Info
        }
    };
    let debuglevel = o.int("debuglevel", 0, 99, p).map_or(0, |n| n as u8);
    let key = if o.has("output_options") {
        "output_options"
    } else {
        "output-options"
    };
    let mut outputs = Vec::new();
    for (path, v) in o.list(key, p) {
        if let Some(out) = Obj::new(v, &path, &schema::LOGGER_OUTPUT, p) {
            match out.name("output", p) {
                Some(s) => outputs.push(s),
                None if !out.has("output") => p.add(out.at("output"), "is required"),
                None => {}
            }
            out.bool("flush", p);
            out.u32("maxsize", p);
            out.u32("maxver", p);
            out.string("pattern", p);
        }
    }
    Some(Logger {
        name: name?,
        severity,
        debuglevel,
        outputs,
    })
}
