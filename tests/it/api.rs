//! The control API over real sockets: Kea's envelope and result codes, basic auth, the
//! lease / reservation / statistics / config commands, `/metrics`, the probes and the
//! Unix socket. The HTTP server is bound on 127.0.0.1:0 and spoken to with a tiny raw
//! HTTP/1.1 client; DHCP traffic goes straight into the handler.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use dhcproto::v4::MessageType;
use serde_json::{json, Value};
use shoal::api::{self, ApiState};
use shoal::clock::ManualClock;
use shoal::dhcp::v4::V4Handler;
use shoal::dhcp::Counters;
use shoal::settings::{AuthClient, BasicAuth, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TempDir, TestDb};
use crate::dhcp_client::{meta, sent, Client};

const T0: i64 = 1_800_000_000;

const CONFIG: &str = r#"{ "Dhcp4": {
  // comments are allowed, as in Kea
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.19" } ],
    "reservations": [ { "hw-address": "02:00:00:00:00:09", "ip-address": "192.0.2.90" } ] } ]
} }"#;

struct Rig {
    addr: SocketAddr,
    state: Arc<ApiState>,
    handler: Arc<V4Handler>,
    dir: TempDir,
}

async fn rig(t: &TestDb, auth: Option<BasicAuth>) -> Rig {
    let dir = TempDir::new();
    let path = dir.path().join("shoal.json");
    std::fs::write(&path, CONFIG).unwrap();
    let cfg = Arc::new(Settings::load(&path).expect("config").dhcp4);
    let leases = t.db.leases();
    leases.sync_pools4(&cfg.pools(), T0).await.unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let handler = Arc::new(V4Handler::with_hosts(
        cfg,
        leases.clone(),
        vec![t.db.hosts()],
        Arc::new(Counters::new()),
        clock.clone(),
    ));
    let state = ApiState::new(
        handler.clone(),
        leases,
        t.db.hosts(),
        path,
        clock,
        CancellationToken::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    api::http::spawn(listener, state.clone(), auth);
    Rig {
        addr,
        state,
        handler,
        dir,
    }
}

/// One HTTP/1.1 exchange: (status, headers, body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{auth}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

impl Rig {
    /// POST a command; returns the single answer map.
    async fn cmd(&self, body: Value) -> Value {
        self.raw_cmd(&body.to_string()).await
    }

    async fn raw_cmd(&self, body: &str) -> Value {
        let (status, _, text) = http(self.addr, "POST", "/", body, None).await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let list = v.as_array().expect("answers are wrapped in a list");
        assert_eq!(list.len(), 1);
        list[0].clone()
    }

    async fn discover(&self, c: &Client) -> Ipv4Addr {
        let offer = sent(
            self.handler
                .handle(&c.msg(MessageType::Discover).bytes(), meta())
                .await,
        );
        offer.yiaddr()
    }

    async fn dora(&self, c: &Client) -> Ipv4Addr {
        let offered = self.discover(c).await;
        let req = c
            .msg(MessageType::Request)
            .requested(offered)
            .server_id(Ipv4Addr::new(192, 0, 2, 1));
        let ack = sent(self.handler.handle(&req.bytes(), meta()).await);
        assert_eq!(ack.kind(), MessageType::Ack);
        ack.yiaddr()
    }
}

fn result(v: &Value) -> i64 {
    v["result"]
        .as_i64()
        .unwrap_or_else(|| panic!("no result in {v}"))
}

fn text(v: &Value) -> &str {
    v["text"].as_str().unwrap_or("")
}

#[tokio::test]
async fn envelope_errors_follow_kea() {
    let t = crate::common::fresh_db(Backend::Sqlite).await;
    let r = rig(&t, None).await;
    let v = r.raw_cmd("{ \"command\": ").await;
    assert_eq!(result(&v), 1);
    assert!(text(&v).contains("JSON"), "{v}");
    let v = r.cmd(json!({ "arguments": {} })).await;
    assert_eq!(result(&v), 1);
    assert!(text(&v).contains("'command'"), "{v}");
    let v = r.cmd(json!({ "command": "frobnicate" })).await;
    assert_eq!(result(&v), 2);
    assert!(text(&v).contains("frobnicate"), "{v}");
    let v = r
        .cmd(json!({ "command": "list-commands", "service": ["dhcp4"] }))
        .await;
    assert_eq!(result(&v), 0);
    assert!(v["arguments"]
        .as_array()
        .unwrap()
        .contains(&json!("lease4-get")));
    let v = r
        .raw_cmd("{ \"command\": \"version-get\" /* Kea allows comments */ }")
        .await;
    assert_eq!(result(&v), 0);
    assert_eq!(text(&v), env!("CARGO_PKG_VERSION"));
    let v = r.cmd(json!({ "command": "status-get" })).await;
    assert_eq!(v["arguments"]["pid"], json!(std::process::id()));
}

#[tokio::test]
async fn basic_auth_required_and_refused() {
    let t = crate::common::fresh_db(Backend::Sqlite).await;
    let auth = BasicAuth {
        realm: "shoal-test".into(),
        clients: vec![AuthClient {
            user: "admin".into(),
            password: "s3cret".into(),
        }],
    };
    let r = rig(&t, Some(auth)).await;
    let body = json!({ "command": "version-get" }).to_string();
    let (status, head, text) = http(r.addr, "POST", "/", &body, None).await;
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"shoal-test\""),
        "{head}"
    );
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["result"], 401);
    // admin:wrong
    let (status, _, _) = http(r.addr, "POST", "/", &body, Some("Basic YWRtaW46d3Jvbmc=")).await;
    assert_eq!(status, 401);
    let (status, _, _) = http(r.addr, "GET", "/metrics", "", None).await;
    assert_eq!(status, 401, "metrics need credentials too");
    // admin:s3cret
    let (status, _, text) = http(r.addr, "POST", "/", &body, Some("Basic YWRtaW46czNjcmV0")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()[0]["result"],
        0
    );
    let (status, _, text) = http(r.addr, "GET", "/health", "", None).await;
    assert_eq!((status, text.as_str()), (200, "ok"), "probes stay open");
}

#[tokio::test]
async fn metrics_and_statistics_count_real_packets() {
    let t = crate::common::fresh_db(Backend::Sqlite).await;
    let r = rig(&t, None).await;
    r.dora(&Client::new(1)).await;
    r.discover(&Client::new(2)).await;
    let (status, _, m) = http(r.addr, "GET", "/metrics", "", None).await;
    assert_eq!(status, 200);
    assert!(m.contains("shoal_pkt4_received_total 3\n"), "{m}");
    assert!(m.contains("shoal_pkt4_discover_received_total 2\n"), "{m}");
    assert!(m.contains("shoal_pkt4_ack_sent_total 1\n"), "{m}");
    assert!(
        m.contains("shoal_subnet_total_addresses{subnet_id=\"1\"} 10\n"),
        "{m}"
    );
    assert!(
        m.contains("shoal_subnet_assigned_addresses{subnet_id=\"1\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("shoal_database_up 1\n"), "{m}");
    assert!(
        !m.contains("shoal_lease_claims_total"),
        "SQLite groups no claims: {m}"
    );

    let v = r
        .cmd(json!({ "command": "statistic-get", "arguments": { "name": "pkt4-offer-sent" } }))
        .await;
    assert_eq!(v["arguments"]["pkt4-offer-sent"][0][0], 2, "{v}");
    let v = r.cmd(json!({ "command": "statistic-get", "arguments": { "name": "subnet[1].assigned-addresses" } })).await;
    assert_eq!(
        v["arguments"]["subnet[1].assigned-addresses"][0][0], 1,
        "{v}"
    );
    let v = r
        .cmd(json!({ "command": "statistic-get", "arguments": {} }))
        .await;
    assert_eq!(result(&v), 1);
    assert!(text(&v).contains("'name'"), "{v}");
    let v = r.cmd(json!({ "command": "statistic-reset-all" })).await;
    assert_eq!(result(&v), 0);
    let v = r.cmd(json!({ "command": "statistic-get-all" })).await;
    assert_eq!(v["arguments"]["pkt4-received"][0][0], 0, "{v}");
    assert_eq!(v["arguments"]["subnet[1].total-addresses"][0][0], 10, "{v}");
    let (_, _, m) = http(r.addr, "GET", "/metrics", "", None).await;
    assert!(
        m.contains("shoal_pkt4_received_total 3\n"),
        "Prometheus counters stay monotonic"
    );
}

/// On a database server, `/metrics` counts lease claims and the commits that carried them.
#[tokio::test]
async fn metrics_count_claims_and_their_commits() {
    let t = crate::common::fresh_db(Backend::Postgres).await;
    let r = rig(&t, None).await;
    r.dora(&Client::new(1)).await;
    r.dora(&Client::new(2)).await;
    let (status, _, m) = http(r.addr, "GET", "/metrics", "", None).await;
    assert_eq!(status, 200);
    assert!(m.contains("\nshoal_lease_claims_total 2\n"), "{m}");
    assert!(m.contains("\nshoal_lease_claim_commits_total 2\n"), "{m}");
    assert!(m.contains("\nshoal_lease_claim_splits_total 0\n"), "{m}");
}

#[tokio::test]
async fn config_commands_test_get_and_reload() {
    let t = crate::common::fresh_db(Backend::Sqlite).await;
    let r = rig(&t, None).await;
    let v = r.cmd(json!({ "command": "config-get" })).await;
    assert_eq!(v["arguments"]["Dhcp4"]["subnet4"][0]["id"], 1, "{v}");
    let hash = v["arguments"]["hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    let h = r.cmd(json!({ "command": "config-hash-get" })).await;
    assert_eq!(h["arguments"]["hash"], hash.as_str());

    let good = json!({ "Dhcp4": { "subnet4": [ { "id": 7, "subnet": "10.0.0.0/24" } ] } });
    let v = r
        .cmd(json!({ "command": "config-test", "arguments": good }))
        .await;
    assert_eq!(result(&v), 0, "{v}");
    let bad = json!({ "Dhcp4": { "subnet4": [ { "id": 7, "subnet": "10.0.0.0/24",
        "pools": [ { "pool": "10.9.0.1 - 10.9.0.5" } ] } ], "valid-lifetimes": 5 } });
    let v = r
        .cmd(json!({ "command": "config-test", "arguments": bad }))
        .await;
    assert_eq!(result(&v), 1);
    assert!(
        text(&v).contains("pools[0]") && text(&v).contains("valid-lifetimes"),
        "all problems: {v}"
    );
    let v = r.cmd(json!({ "command": "config-test" })).await;
    assert!(result(&v) == 1 && text(&v).contains("'Dhcp4'"), "{v}");

    let path = r.dir.path().join("shoal.json");
    std::fs::write(&path, "{ \"Dhcp4\": { \"subnet4\": [ { \"id\": 1, \"subnet\": \"192.0.2.0/24\" },\n  { \"id\": 2, \"subnet\": \"198.51.100.0/24\" } ] } }").unwrap();
    let v = r.cmd(json!({ "command": "config-reload" })).await;
    assert_eq!(result(&v), 0, "{v}");
    assert_eq!(r.handler.config().subnets.len(), 2);
    let v = r.cmd(json!({ "command": "config-hash-get" })).await;
    assert_ne!(
        v["arguments"]["hash"],
        hash.as_str(),
        "config-get follows the reload"
    );
    std::fs::write(&path, "{ \"Dhcp4\": { \"subnet4\": 5 } }").unwrap();
    let v = r.cmd(json!({ "command": "config-reload" })).await;
    assert_eq!(result(&v), 1);
    assert!(text(&v).contains("subnet4"), "{v}");
    assert_eq!(
        r.handler.config().subnets.len(),
        2,
        "the running configuration is kept"
    );
}

#[tokio::test]
async fn shutdown_reclaim_ready_and_unix_socket() {
    let t = crate::common::fresh_db(Backend::Sqlite).await;
    let r = rig(&t, None).await;
    let v = r
        .cmd(json!({ "command": "leases-reclaim", "arguments": { "remove": true } }))
        .await;
    assert_eq!(result(&v), 0, "{v}");
    let v = r
        .cmd(json!({ "command": "leases-reclaim", "arguments": { "remove": "yes" } }))
        .await;
    assert!(result(&v) == 1 && text(&v).contains("'remove'"), "{v}");
    let (status, _, _) = http(r.addr, "GET", "/ready", "", None).await;
    assert_eq!(status, 200);

    let sock = r.dir.file("ctrl.sock");
    let listener = api::unix::bind(&sock).unwrap();
    api::unix::spawn(listener, sock.clone().into(), r.state.clone());
    let mut s = tokio::net::UnixStream::connect(&sock).await.unwrap();
    s.write_all(br#"{ "command": "lease4-get", "arguments": { "ip-address": "192.0.2.200" } }"#)
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"], 3, "bare map over the unix socket: {v}");

    let v = r.cmd(json!({ "command": "shutdown" })).await;
    assert_eq!(result(&v), 0);
    assert!(r.state.shutdown.is_cancelled());

    t.db.close().await;
    let state = r.state.clone();
    let app = api::http::router(state, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, _, _) = http(addr, "GET", "/ready", "", None).await;
    assert_eq!(status, 503, "not ready when the database does not answer");
}

async fn lease_commands_round_trip(t: &TestDb) {
    let r = rig(t, None).await;
    let c1 = Client::new(1);
    let c2 = Client::new(2).with_client_id(&[0xff, 1, 2, 3]);
    let a1 = r.dora(&c1).await;
    let a2 = r.dora(&c2).await;

    let v = r
        .cmd(json!({ "command": "lease4-get", "arguments": { "ip-address": a1.to_string() } }))
        .await;
    assert_eq!(result(&v), 0, "{v}");
    assert_eq!(v["arguments"]["hw-address"], "02:00:00:00:00:01");
    assert_eq!(v["arguments"]["subnet-id"], 1);
    assert_eq!(v["arguments"]["cltt"], T0);
    let v = r
        .cmd(json!({ "command": "lease4-get", "arguments": { "ip-address": "192.0.2.200" } }))
        .await;
    assert_eq!((result(&v), text(&v)), (3, "Lease not found."));
    let v = r
        .cmd(json!({ "command": "lease4-get", "arguments": { "ip-address": "nope" } }))
        .await;
    assert!(result(&v) == 1 && text(&v).contains("'ip-address'"), "{v}");
    let v = r.cmd(json!({ "command": "lease4-get" })).await;
    assert!(result(&v) == 1 && text(&v).contains("'ip-address'"), "{v}");
    let v = r
        .cmd(json!({ "command": "lease4-get", "arguments": {
        "identifier-type": "client-id", "identifier": "ff:01:02:03", "subnet-id": 1 } }))
        .await;
    assert_eq!(v["arguments"]["ip-address"], a2.to_string(), "{v}");

    let v = r.cmd(json!({ "command": "lease4-get-all" })).await;
    assert_eq!((result(&v), text(&v)), (0, "2 IPv4 lease(s) found."));
    let v = r
        .cmd(json!({ "command": "lease4-get-all", "arguments": { "subnets": [2] } }))
        .await;
    assert_eq!(result(&v), 3);
    assert_eq!(v["arguments"]["leases"], json!([]));
    let v = r.cmd(json!({ "command": "lease4-get-by-hw-address", "arguments": { "hw-address": "02:00:00:00:00:01" } })).await;
    assert_eq!(
        v["arguments"]["leases"][0]["ip-address"],
        a1.to_string(),
        "{v}"
    );
    let v = r.cmd(json!({ "command": "lease4-get-by-client-id", "arguments": { "client-id": "ff:01:02:03" } })).await;
    assert_eq!(
        v["arguments"]["leases"][0]["ip-address"],
        a2.to_string(),
        "{v}"
    );
    let v = r
        .cmd(json!({ "command": "lease4-get-by-client-id", "arguments": { "client-id": "aa:bb" } }))
        .await;
    assert_eq!(result(&v), 3);

    let v = r
        .cmd(json!({ "command": "lease4-del", "arguments": { "ip-address": a1.to_string() } }))
        .await;
    assert_eq!((result(&v), text(&v)), (0, "IPv4 lease deleted."));
    let v = r
        .cmd(json!({ "command": "lease4-get", "arguments": { "ip-address": a1.to_string() } }))
        .await;
    assert_eq!(result(&v), 3, "deleted lease is gone: {v}");
    let v = r
        .cmd(json!({ "command": "lease4-del", "arguments": { "ip-address": a1.to_string() } }))
        .await;
    assert_eq!(result(&v), 3);
    let v = r.cmd(json!({ "command": "lease4-get-all" })).await;
    assert_eq!(text(&v), "1 IPv4 lease(s) found.");
}

async fn reservation_add_then_discover_gets_it(t: &TestDb) {
    let r = rig(t, None).await;
    let res = json!({ "subnet-id": 1, "hw-address": "02:00:00:00:00:07", "ip-address": "192.0.2.60",
        "hostname": "api-host", "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53" } ] });
    let v = r
        .cmd(json!({ "command": "reservation-add", "arguments": { "reservation": res.clone() } }))
        .await;
    assert_eq!((result(&v), text(&v)), (0, "Host added."));
    let v = r
        .cmd(json!({ "command": "reservation-add", "arguments": { "reservation": res } }))
        .await;
    assert_eq!(result(&v), 4, "duplicate is a conflict: {v}");
    let v = r
        .cmd(
            json!({ "command": "reservation-add", "arguments": { "reservation": {
        "subnet-id": 1, "hw-address": "02:00:00:00:00:09" } } }),
        )
        .await;
    assert_eq!(result(&v), 4, "the file already reserves this client: {v}");
    let v = r.cmd(json!({ "command": "reservation-add", "arguments": { "reservation": { "hw-address": "02:00:00:00:00:08" } } })).await;
    assert!(result(&v) == 1 && text(&v).contains("'subnet-id'"), "{v}");
    let v = r
        .cmd(
            json!({ "command": "reservation-add", "arguments": { "reservation": {
        "subnet-id": 1, "hw-address": "02:00:00:00:00:08", "ip-address": "10.0.0.1" } } }),
        )
        .await;
    assert!(result(&v) == 1 && text(&v).contains("'ip-address'"), "{v}");
    let v = r
        .cmd(
            json!({ "command": "reservation-add", "arguments": { "reservation": {
        "subnet-id": 1, "hw-address": "02:00:00:00:00:08",
        "option-data": [ { "name": "routers", "data": "not-an-ip" } ] } } }),
        )
        .await;
    assert!(
        result(&v) == 1 && text(&v).contains("option-data[0]"),
        "{v}"
    );

    assert_eq!(
        r.discover(&Client::new(7)).await,
        Ipv4Addr::new(192, 0, 2, 60)
    );

    let get = json!({ "command": "reservation-get", "arguments": {
        "subnet-id": 1, "identifier-type": "hw-address", "identifier": "02:00:00:00:00:07" } });
    let v = r.cmd(get.clone()).await;
    assert_eq!(result(&v), 0, "{v}");
    assert_eq!(v["arguments"]["ip-address"], "192.0.2.60");
    assert_eq!(v["arguments"]["hostname"], "api-host");
    let v = r.cmd(json!({ "command": "reservation-get", "arguments": { "subnet-id": 1, "ip-address": "192.0.2.90" } })).await;
    assert_eq!(
        v["arguments"]["hw-address"], "02:00:00:00:00:09",
        "file reservations are found too: {v}"
    );
    let v = r.cmd(json!({ "command": "reservation-get", "arguments": { "subnet-id": 1, "ip-address": "192.0.2.61" } })).await;
    assert_eq!((result(&v), text(&v)), (3, "Host not found."));

    let del = json!({ "command": "reservation-del", "arguments": { "subnet-id": 1, "ip-address": "192.0.2.60" } });
    let v = r.cmd(del.clone()).await;
    assert_eq!((result(&v), text(&v)), (0, "Host deleted."));
    let v = r.cmd(del).await;
    assert_eq!(result(&v), 3);
    assert_eq!(result(&r.cmd(get).await), 3);
}

battery!(
    lease_commands_round_trip,
    reservation_add_then_discover_gets_it
);
