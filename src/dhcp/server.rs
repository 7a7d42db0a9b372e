//! The DHCPv4 socket loop: one socket per interface (SO_BINDTODEVICE on 0.0.0.0:67, since
//! SO_REUSEPORT does not fan out broadcasts), packets handled concurrently on the
//! multi-threaded runtime with a bound on packets in flight and a per-packet deadline
//! shorter than a client's first retransmission (4 s). A retransmission of a transaction
//! still being processed is dropped, not processed twice.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use super::iface::{self, Interface};
use super::v4::V4Handler;
use super::{DropReason, RecvMeta, Reply};
use crate::settings::InterfacesConfig;

/// Transactions being processed: (xid, chaddr).
type InFlight = Arc<Mutex<HashSet<(u32, Vec<u8>)>>>;

/// Server loop tuning.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// UDP port to listen on (67).
    pub port: u16,
    /// Packets processed at once; more are dropped as `overloaded`.
    pub max_in_flight: usize,
    /// Deadline for one packet.
    pub deadline: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            port: 67,
            max_in_flight: 256,
            deadline: Duration::from_millis(3000),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A configured interface does not exist or has no IPv4 address.
    #[error("interface {0:?} not found or has no IPv4 address")]
    NoSuchInterface(String),
    /// No interface to listen on.
    #[error("no interface to listen on (interfaces-config.interfaces is empty)")]
    NoInterfaces,
    /// Socket set-up failed.
    #[error("socket on {iface}: {source}")]
    Socket {
        /// Interface name.
        iface: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Resolve `interfaces-config` to interfaces: `*` is every non-loopback interface with
/// an IPv4 address; `name/address` puts that address first (the server identifier).
pub fn resolve_interfaces(cfg: &InterfacesConfig) -> Result<Vec<Interface>, ServerError> {
    let all = iface::list().map_err(|source| ServerError::Socket {
        iface: "*".into(),
        source,
    })?;
    let mut out: Vec<Interface> = Vec::new();
    for spec in &cfg.interfaces {
        if spec.name == "*" {
            out.extend(all.iter().filter(|i| !i.loopback).cloned());
            continue;
        }
        let mut found = all
            .iter()
            .find(|i| i.name == spec.name)
            .cloned()
            .ok_or_else(|| ServerError::NoSuchInterface(spec.name.clone()))?;
        if let Some(want) = spec.address {
            let pos = found
                .addrs
                .iter()
                .position(|(a, _)| *a == want)
                .ok_or_else(|| ServerError::NoSuchInterface(format!("{}/{}", spec.name, want)))?;
            found.addrs.swap(0, pos);
        }
        out.push(found);
    }
    out.dedup_by(|a, b| a.name == b.name);
    if out.is_empty() {
        return Err(ServerError::NoInterfaces);
    }
    Ok(out)
}

fn bind(iface: &Interface, port: u16) -> Result<UdpSocket, ServerError> {
    let err = |source| ServerError::Socket {
        iface: iface.name.clone(),
        source,
    };
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    s.set_reuse_address(true).map_err(err)?;
    s.set_broadcast(true).map_err(err)?;
    s.bind_device(Some(iface.name.as_bytes())).map_err(err)?;
    s.set_nonblocking(true).map_err(err)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())
        .map_err(err)?;
    UdpSocket::from_std(s.into()).map_err(err)
}

/// Bind every interface and serve until `shutdown` is cancelled; then stop reading and
/// wait for in-flight transactions to finish.
pub async fn serve(
    handler: Arc<V4Handler>,
    interfaces: Vec<Interface>,
    opts: ServerOptions,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let limit = Arc::new(Semaphore::new(opts.max_in_flight));
    let in_flight: InFlight = Arc::default();
    let tracker = TaskTracker::new();
    for iface in interfaces {
        let sock = Arc::new(bind(&iface, opts.port)?);
        info!(iface = %iface.name, port = opts.port, addrs = ?iface.addrs, "listening");
        let ctx = LoopCtx {
            handler: handler.clone(),
            limit: limit.clone(),
            in_flight: in_flight.clone(),
            tracker: tracker.clone(),
            deadline: opts.deadline,
        };
        tracker.spawn(recv_loop(sock, iface, ctx, shutdown.clone()));
    }
    shutdown.cancelled().await;
    tracker.close();
    tracker.wait().await;
    info!("DHCPv4 service stopped");
    Ok(())
}

#[derive(Clone)]
struct LoopCtx {
    handler: Arc<V4Handler>,
    limit: Arc<Semaphore>,
    in_flight: InFlight,
    tracker: TaskTracker,
    deadline: Duration,
}

async fn recv_loop(
    sock: Arc<UdpSocket>,
    iface: Interface,
    ctx: LoopCtx,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, src) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(err) => {
                    warn!(?err, iface = %iface.name, "receive failed");
                    continue;
                }
            },
        };
        let SocketAddr::V4(src) = src else { continue };
        let Ok(permit) = ctx.limit.clone().try_acquire_owned() else {
            ctx.handler.counters().incr("pkt4-received");
            ctx.handler.counters().dropped(DropReason::Overloaded);
            continue;
        };
        let packet = buf[..len].to_vec();
        let meta = RecvMeta {
            src,
            iface: iface.name.clone(),
            iface_addrs: iface.addrs.clone(),
        };
        let (sock, ctx2) = (sock.clone(), ctx.clone());
        ctx.tracker.spawn(async move {
            process(&sock, packet, meta, &ctx2).await;
            drop(permit);
        });
    }
}

/// Key of a transaction for retransmission detection: xid + chaddr (16 bytes).
fn txn_key(packet: &[u8]) -> Option<(u32, Vec<u8>)> {
    let xid = u32::from_be_bytes(packet.get(4..8)?.try_into().ok()?);
    Some((xid, packet.get(28..44)?.to_vec()))
}

async fn process(sock: &UdpSocket, packet: Vec<u8>, meta: RecvMeta, ctx: &LoopCtx) {
    let key = txn_key(&packet);
    if let Some(k) = &key {
        let fresh = ctx
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(k.clone());
        if !fresh {
            ctx.handler.counters().incr("pkt4-received");
            ctx.handler.counters().dropped(DropReason::Duplicate);
            return;
        }
    }
    let span =
        info_span!("dhcp4", xid = key.as_ref().map(|k| k.0), src = %meta.src, iface = %meta.iface);
    let reply = tokio::time::timeout(ctx.deadline, ctx.handler.handle(&packet, meta))
        .instrument(span.clone())
        .await;
    if let Some(k) = &key {
        ctx.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(k);
    }
    let _g = span.enter();
    match reply {
        Ok(Reply::Send { payload, dst, kind }) => send(sock, &payload, dst, kind).await,
        Ok(_) => {}
        Err(_) => {
            ctx.handler.counters().dropped(DropReason::Timeout);
            debug!("packet deadline passed");
        }
    }
}

async fn send(sock: &UdpSocket, payload: &[u8], dst: SocketAddrV4, kind: &str) {
    if let Err(err) = sock.send_to(payload, dst).await {
        warn!(?err, %dst, kind, "send failed");
    }
}
