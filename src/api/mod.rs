//! The control API: Kea's JSON command protocol over HTTP (`control-sockets` of type
//! `http`) and over Unix stream sockets (type `unix`), plus `GET /metrics` (Prometheus),
//! `GET /health` (alive) and `GET /ready` (the lease database answers).
//!
//! One state ([`ApiState`]) and one dispatcher ([`dispatch::run`]) serve both
//! transports. Result codes, command names and argument shapes are Kea's; over HTTP the
//! answer is wrapped in a one-element list (Control Agent compatibility), over a Unix
//! socket it is the bare map, as Kea does. Errors become answers in one place
//! ([`envelope::ApiError`]): database text is logged, never returned.
//!
//! Invariants: the API never changes the running configuration except through
//! `config-reload` (which keeps the running one when the file is bad), and never writes
//! a lease except through the store's atomic operations.

pub mod args;
pub mod auth;
pub mod dispatch;
pub mod envelope;
pub mod host_cmds;
pub mod http;
pub mod json;
pub mod lease_cmds;
pub mod server_cmds;
pub mod stats;
pub mod unix;

// Kea's JSON dialect (comments, trailing commas), as the settings loader reads it.
pub(crate) use crate::settings::comments as kea_json;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::dhcp::v4::V4Handler;
use crate::settings::{ControlSocket, ControlSocketType};
use crate::store::{HostStore, LeaseStore};

/// Everything a command may touch.
pub struct ApiState {
    /// The DHCPv4 engine (running configuration, counters, reload).
    pub handler: Arc<V4Handler>,
    /// The lease database.
    pub leases: Arc<dyn LeaseStore>,
    /// The host database reservation commands write to (the first `hosts-database`,
    /// or the lease database).
    pub hosts: Arc<dyn HostStore>,
    /// The configuration file (`config-get`, `config-reload`).
    pub config_path: PathBuf,
    /// Time source for lease queries and statistics timestamps.
    pub clock: Arc<dyn Clock>,
    /// Cancelled by the `shutdown` command; the whole process stops on it.
    pub shutdown: CancellationToken,
    started: Instant,
    last_reload: Mutex<Instant>,
    /// The running configuration as JSON (comments stripped), for `config-get`.
    running: Mutex<Option<Value>>,
    /// Counter values at the last `statistic-reset`: the API reports the difference,
    /// while `/metrics` keeps Prometheus counters monotonic.
    stats_base: Mutex<HashMap<String, u64>>,
}

impl ApiState {
    /// State over a running handler. The configuration file is read once now, as the
    /// configuration `config-get` reports.
    pub fn new(
        handler: Arc<V4Handler>,
        leases: Arc<dyn LeaseStore>,
        hosts: Arc<dyn HostStore>,
        config_path: PathBuf,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let running = server_cmds::read_config_json(&config_path).ok();
        Arc::new(Self {
            handler,
            leases,
            hosts,
            config_path,
            clock,
            shutdown,
            started: Instant::now(),
            last_reload: Mutex::new(Instant::now()),
            running: Mutex::new(running),
            stats_base: Mutex::new(HashMap::new()),
        })
    }
}

/// Errors starting a control socket.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address or path could not be bound.
    #[error("control socket {what}: {source}")]
    Bind {
        /// `http://127.0.0.1:8000` or `unix:/path`.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The socket address is not an IP address.
    #[error("control socket: invalid socket-address {0:?}")]
    Address(String),
    /// A unix socket without `socket-name`.
    #[error("control socket: a unix socket needs socket-name")]
    NoSocketName,
}

/// Bind every configured control socket and serve until `state.shutdown` is cancelled.
/// Binding happens before this returns, so a busy port fails start-up.
pub async fn start(
    sockets: &[ControlSocket],
    state: Arc<ApiState>,
) -> Result<Vec<JoinHandle<()>>, StartError> {
    let mut tasks = Vec::new();
    for s in sockets {
        let task = match s.socket_type {
            ControlSocketType::Http => {
                let ip: std::net::IpAddr = s
                    .socket_address
                    .parse()
                    .map_err(|_| StartError::Address(s.socket_address.clone()))?;
                let addr = std::net::SocketAddr::new(ip, s.socket_port);
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind {
                        what: format!("http://{addr}"),
                        source,
                    })?;
                http::spawn(listener, state.clone(), s.authentication.clone())
            }
            ControlSocketType::Unix => {
                let path = s.socket_name.as_ref().ok_or(StartError::NoSocketName)?;
                let listener = unix::bind(path).map_err(|source| StartError::Bind {
                    what: format!("unix:{path}"),
                    source,
                })?;
                unix::spawn(listener, path.into(), state.clone())
            }
        };
        tasks.push(task);
    }
    Ok(tasks)
}
