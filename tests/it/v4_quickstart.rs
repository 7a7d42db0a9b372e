//! The README's first command: `shoal -c deploy/shoal-sqlite.json` (embedded SQLite in the
//! working directory, interfaces `*`) serves a real dhclient on a link in namespaces the
//! test creates, and the control API on 127.0.0.1:8000 (the server namespace's own
//! loopback) lists the lease.

use std::time::Duration;

use crate::netns::clients::{ClientKind, DhcpClient};
use crate::netns::process::Proc;
use crate::netns::{require_root, unique_id, veth, wait_for, Netns, ScratchDir};

#[test]
fn readme_sqlite_example_serves_dhclient() {
    require_root();
    let id = unique_id();
    let srv = Netns::create(&format!("{id}-qs")).expect("server ns");
    let cli = Netns::create(&format!("{id}-qc")).expect("client ns");
    veth(&srv, "qs0", &cli, "qc0").expect("veth");
    srv.ip(&["addr", "add", "192.0.2.1/24", "dev", "qs0"])
        .expect("address");
    let dir = ScratchDir::new("quickstart").expect("scratch dir");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/shoal-sqlite.json");
    let mut cmd = srv.command(env!("CARGO_BIN_EXE_shoal"));
    cmd.args(["-c", config]).current_dir(dir.path());
    let mut shoal = Proc::spawn("shoal", cmd, &dir.path().join("shoal.log")).expect("spawn shoal");
    wait_for("shoal listening", Duration::from_secs(20), || {
        shoal.log().contains("listening").then_some(())
    })
    .unwrap_or_else(|e| panic!("shoal did not start ({e}): {}", shoal.log_tail(20)));
    let client =
        DhcpClient::start(ClientKind::Dhclient, &cli, "qc0", dir.path()).expect("dhclient");
    let bound = client
        .wait_bound(Duration::from_secs(30))
        .unwrap_or_else(|e| {
            panic!(
                "no lease ({e}): {}\n{}",
                client.log_tail(),
                shoal.log_tail(20)
            )
        });
    let ip = bound.ip.expect("bound address");
    assert!(
        (std::net::Ipv4Addr::new(192, 0, 2, 100)..=std::net::Ipv4Addr::new(192, 0, 2, 199))
            .contains(&ip),
        "{ip} is from the example's pool"
    );
    assert!(
        dir.path().join("shoal-leases4.sqlite").exists(),
        "SQLite file in the working directory"
    );
    let api = srv
        .run(
            "curl",
            &[
                "-s",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                r#"{"command": "lease4-get-all"}"#,
                "http://127.0.0.1:8000/",
            ],
        )
        .expect("control API answers");
    assert!(api.contains(&format!("\"ip-address\":\"{ip}\"")), "{api}");
    shoal.stop(Duration::from_secs(10));
}
