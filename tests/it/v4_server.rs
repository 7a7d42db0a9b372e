//! The `shoal` binary end to end on loopback: a relay-style client (giaddr 127.0.0.1) talks
//! to a real process over UDP, through the socket loop, on every backend. Also checks
//! SIGHUP reload and SIGTERM graceful shutdown. No namespaces needed, so it runs anywhere.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dhcproto::v4::{self, MessageType};
use dhcproto::Decodable;
use tokio::net::UdpSocket;

use crate::common::{Backend, TempDir, TestDb};
use crate::dhcp_client::Client;

const RELAY: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A running shoal; killed (SIGKILL) on drop if still alive.
pub struct Shoal {
    child: Child,
    pub port: u16,
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Shoal {
    /// Start `shoal -c config -p port` and wait until it listens.
    pub fn start(config: &str, dir: &TempDir) -> Shoal {
        let path = dir.file("shoal.json");
        std::fs::write(&path, config).expect("write config");
        let port = 20000 + (rand::random::<u16>() % 20000);
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
            .args(["-c", &path, "-p", &port.to_string()])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shoal");
        let stderr = child.stderr.take().expect("stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening") {
                    let _ = tx.send(());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(30));
        let shoal = Shoal {
            child,
            port,
            stderr: lines,
        };
        assert!(ready.is_ok(), "shoal did not start: {:?}", shoal.log());
        shoal
    }

    pub fn log(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
    }

    /// Wait for exit; the exit status.
    pub fn wait(mut self, limit: Duration) -> std::process::ExitStatus {
        let start = std::time::Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                start.elapsed() < limit,
                "shoal did not exit: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Shoal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(t: &TestDb, pool: &str) -> String {
    let kind = match t.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
    };
    let db = serde_json::json!({ "type": kind, "url": t.url, "max-connections": 6 }).to_string();
    format!(
        r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "lo" ] }},
  "lease-database": {db},
  "valid-lifetime": 600,
  "subnet4": [ {{ "id": 7, "subnet": "127.0.0.0/8", "pools": [ {{ "pool": "{pool}" }} ],
                 "option-data": [ {{ "name": "routers", "data": "127.0.0.1" }} ] }} ]
}} }}"#
    )
}

async fn exchange(sock: &UdpSocket, port: u16, pkt: Vec<u8>) -> Option<v4::Message> {
    sock.send_to(&pkt, SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        .await
        .expect("send");
    let mut buf = vec![0u8; 1500];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(v4::Message::decode(&mut v4::Decoder::new(&buf[..n])).expect("reply decodes"))
}

async fn dora(sock: &UdpSocket, port: u16, c: &Client) -> Ipv4Addr {
    let offer = exchange(
        sock,
        port,
        c.msg(MessageType::Discover).giaddr(RELAY).bytes(),
    )
    .await
    .expect("OFFER");
    assert_eq!(offer.opts().msg_type(), Some(MessageType::Offer));
    let ack = exchange(
        sock,
        port,
        c.msg(MessageType::Request)
            .giaddr(RELAY)
            .requested(offer.yiaddr())
            .server_id(Ipv4Addr::LOCALHOST)
            .bytes(),
    )
    .await
    .expect("ACK");
    assert_eq!(ack.opts().msg_type(), Some(MessageType::Ack));
    ack.yiaddr()
}

async fn serves_dora_over_udp_and_shuts_down_gracefully(t: &TestDb) {
    let dir = TempDir::new();
    let shoal = Shoal::start(&config(t, "127.1.0.10 - 127.1.0.12"), &dir);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let a = dora(&sock, shoal.port, &Client::new(1)).await;
    let b = dora(&sock, shoal.port, &Client::new(2)).await;
    assert_ne!(a, b);
    let row =
        t.db.leases()
            .lease4_by_address(a)
            .await
            .unwrap()
            .expect("lease stored");
    assert_eq!(row.hwaddr, Client::new(1).mac.to_vec());
    // Garbage is dropped and the server keeps serving.
    sock.send_to(
        b"not dhcp",
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, shoal.port),
    )
    .await
    .unwrap();
    dora(&sock, shoal.port, &Client::new(3)).await;
    shoal.signal("-TERM");
    let st = shoal.wait(Duration::from_secs(15));
    assert!(st.success(), "clean exit on SIGTERM: {st:?}");
}

async fn sighup_reloads_configuration(t: &TestDb) {
    let dir = TempDir::new();
    let shoal = Shoal::start(&config(t, "127.1.0.10 - 127.1.0.10"), &dir);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    dora(&sock, shoal.port, &Client::new(1)).await;
    // Pool of one is full: the next client gets nothing.
    assert!(exchange(
        &sock,
        shoal.port,
        Client::new(2)
            .msg(MessageType::Discover)
            .giaddr(RELAY)
            .bytes()
    )
    .await
    .is_none());
    // A broken file is refused and the running configuration kept.
    std::fs::write(
        dir.file("shoal.json"),
        "{ \"Dhcp4\": { \"valid-lifetime\": \"x\" } }",
    )
    .unwrap();
    shoal.signal("-HUP");
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(dir.file("shoal.json"), config(t, "127.1.0.10 - 127.1.0.20")).unwrap();
    shoal.signal("-HUP");
    let mut got = None;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(o) = exchange(
            &sock,
            shoal.port,
            Client::new(2)
                .msg(MessageType::Discover)
                .giaddr(RELAY)
                .bytes(),
        )
        .await
        {
            got = Some(o);
            break;
        }
    }
    let offer = got.expect("offer after reload");
    assert!(
        (Ipv4Addr::new(127, 1, 0, 11)..=Ipv4Addr::new(127, 1, 0, 20)).contains(&offer.yiaddr())
    );
    let log = shoal.log().join("\n");
    assert!(log.contains("reload refused"), "bad file refused: {log}");
}

battery!(
    serves_dora_over_udp_and_shuts_down_gracefully,
    sighup_reloads_configuration
);
