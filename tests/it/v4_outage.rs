//! Losing the lease database: the real binary behind a TCP proxy the test can cut.
//! `on-fail` decides: `stop-retry-exit` stops serving and exits when max-reconnect-tries
//! run out; `serve-retry-continue` resumes when the database is back. A lease committed
//! before the outage is still there after it.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use dhcproto::v4::{self, MessageType};
use dhcproto::Decodable;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::common::{fresh_db, Backend, TempDir};
use crate::dhcp_client::Client;
use crate::v4_server::Shoal;

/// Forwards 127.0.0.1:<port> to PostgreSQL until `cut` is cancelled, which also drops
/// every open connection.
struct Proxy {
    port: u16,
    cut: CancellationToken,
}

/// After the cut the port refuses connections (a database that is gone).
async fn proxy(port: Option<u16>, upstream: &'static str) -> Proxy {
    proxy_with(port, upstream, false).await
}

/// After the cut new connections are accepted and never answered (a database that hangs).
async fn freezing_proxy(upstream: &'static str) -> Proxy {
    proxy_with(None, upstream, true).await
}

async fn proxy_with(port: Option<u16>, upstream: &'static str, hang: bool) -> Proxy {
    let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .await
        .expect("bind proxy");
    let port = listener.local_addr().unwrap().port();
    let cut = CancellationToken::new();
    let stop = cut.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut inbound, _) = tokio::select! {
                _ = stop.cancelled(), if !hang => return,
                r = listener.accept() => match r { Ok(x) => x, Err(_) => return },
            };
            if stop.is_cancelled() {
                if hang {
                    held.push(inbound);
                }
                continue;
            }
            let stop = stop.clone();
            tokio::spawn(async move {
                let Ok(mut out) = TcpStream::connect(upstream).await else {
                    return;
                };
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                }
            });
        }
    });
    Proxy { port, cut }
}

fn config(url: &str, on_fail: &str) -> String {
    format!(
        r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "lo" ] }},
  "lease-database": {{ "type": "postgresql", "url": "{url}", "on-fail": "{on_fail}",
                      "max-reconnect-tries": 3, "reconnect-wait-time": 300, "connect-timeout": 1 }},
  "subnet4": [ {{ "id": 7, "subnet": "127.0.0.0/8", "pools": [ {{ "pool": "127.2.0.10 - 127.2.0.50" }} ] }} ]
}} }}"#
    )
}

async fn discover(sock: &UdpSocket, port: u16, c: &Client) -> Option<v4::Message> {
    let pkt = c
        .msg(MessageType::Discover)
        .giaddr(Ipv4Addr::LOCALHOST)
        .bytes();
    sock.send_to(&pkt, SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        .await
        .ok()?;
    let mut buf = vec![0u8; 1500];
    let n = tokio::time::timeout(Duration::from_secs(3), sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    v4::Message::decode(&mut v4::Decoder::new(&buf[..n])).ok()
}

fn pg_url_via(port: u16, t: &crate::common::TestDb) -> String {
    t.url
        .replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_retry_exit_stops_serving_then_exits_and_keeps_committed_leases() {
    let t = fresh_db(Backend::Postgres).await;
    assert!(
        t.url.contains("127.0.0.1:5432"),
        "test expects the PG server at 127.0.0.1:5432: {}",
        t.url
    );
    let px = proxy(None, "127.0.0.1:5432").await;
    let dir = TempDir::new();
    let shoal = Shoal::start(&config(&pg_url_via(px.port, &t), "stop-retry-exit"), &dir);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let c = Client::new(1);
    let offer = discover(&sock, shoal.port, &c)
        .await
        .expect("offer before the outage");
    px.cut.cancel();
    assert!(
        discover(&sock, shoal.port, &Client::new(2)).await.is_none(),
        "no answer without a database"
    );
    // 3 tries 300 ms apart, then exit 1.
    let st = shoal.wait(Duration::from_secs(20));
    assert_eq!(st.code(), Some(1), "exits when reconnect tries run out");
    // Nothing committed was lost.
    let row =
        t.db.leases()
            .lease4_by_address(offer.yiaddr())
            .await
            .unwrap();
    assert!(
        row.is_some(),
        "the offer made before the outage is in the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_retry_continue_resumes_when_the_database_returns() {
    let t = fresh_db(Backend::Postgres).await;
    let px = proxy(None, "127.0.0.1:5432").await;
    let port = px.port;
    let dir = TempDir::new();
    let shoal = Shoal::start(&config(&pg_url_via(port, &t), "serve-retry-continue"), &dir);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert!(discover(&sock, shoal.port, &Client::new(1)).await.is_some());
    px.cut.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(discover(&sock, shoal.port, &Client::new(2)).await.is_none());
    // Longer than max-reconnect-tries × wait: serve-retry-continue never gives up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let back = proxy(Some(port), "127.0.0.1:5432").await;
    let mut answered = false;
    for n in 3..20u8 {
        if discover(&sock, shoal.port, &Client::new(n)).await.is_some() {
            answered = true;
            break;
        }
    }
    assert!(answered, "service resumed: {:?}", shoal.log());
    let log = shoal.log().join("\n");
    assert!(log.contains("lease database lost"), "{log}");
    back.cut.cancel();
}

/// Claims waiting together when the database hangs all get an error, and once one of
/// them finds it unreachable the others are not each tried again (each would wait out
/// its own timeout, the last one all of them); a claim committed before is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_claims_fail_together_when_the_database_hangs() {
    use crate::store_leases::{key, lease};
    use shoal::store::Db;
    let t = fresh_db(Backend::Postgres).await;
    let px = freezing_proxy("127.0.0.1:5432").await;
    let mut cfg = t.config.clone();
    cfg.url = Some(pg_url_via(px.port, &t));
    cfg.connect_timeout = 1;
    let db = Db::connect(&cfg).await.expect("through the proxy");
    let s = db.leases();
    let lease = |n: u8| lease(Ipv4Addr::new(10, 9, 0, n), n, 1_800_000_600);
    let kept = s.claim4(&lease(1), &key(1), 1_800_000_000).await;
    assert!(kept.expect("before the freeze").is_some());
    px.cut.cancel();
    let before = s.claim_batches().expect("PostgreSQL groups claims");
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (2..22u8)
        .map(|n| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.claim4(&lease(n), &key(n), 1_800_000_000).await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_err(), "no database, no lease");
    }
    let after = s.claim_batches().unwrap();
    // Each attempt on the hung database takes the 1 s timeout: claims tried one by one
    // would make about 20 statements.
    assert!(
        after.statements - before.statements < 10,
        "claims were not each retried alone: {before:?} → {after:?}"
    );
    let row =
        t.db.leases()
            .lease4_by_address(Ipv4Addr::new(10, 9, 0, 1))
            .await;
    assert!(row.unwrap().is_some(), "the lease committed before is kept");
}
