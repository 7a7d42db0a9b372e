//! End-to-end DHCPv4 with real clients: dhclient, udhcpc and dhcpcd each obtain, renew
//! and release a lease on a link served by two shoal processes sharing one database
//! (PostgreSQL and MariaDB), directly and through ISC dhcrelay forwarding to both.
//!
//! Each test builds its own namespaces (see `netns::topology::SharedLink`) and database;
//! it checks the address is from the right pool, the `lease4` row belongs to the
//! client's MAC, a renewal keeps the address and extends the row, and a RELEASE frees it.
//! Needs root. `SHOAL_IT_SERVER=kea` runs the same flow against Kea (rig check, no DB checks).

use std::net::Ipv4Addr;
use std::time::Duration;

use shoal::store::{Lease4, LeaseState};

use crate::common::{fresh_db, Backend, TestDb};
use crate::netns::clients::{ClientKind, DhcpClient};
use crate::netns::server::{
    lease_database, pool_of, shared_link_config, start_relay, start_server, ServerKind,
};
use crate::netns::topology::{SharedLink, SERVER_ADDRS};
use crate::netns::{require_root, Proc};

/// The deployment under test: topology plus the processes serving it.
struct Deployment {
    // Field order is drop order: processes stop before their namespaces go.
    relay: Option<Proc>,
    servers: Vec<Proc>,
    link: SharedLink,
}

impl Deployment {
    fn start(kind: ServerKind, t: &TestDb, relayed: bool) -> Self {
        let link = SharedLink::build(relayed).expect("build namespaces");
        let config = shared_link_config(lease_database(t.backend, &t.name));
        let servers: Vec<Proc> = link
            .servers
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                start_server(
                    kind,
                    ns,
                    &config,
                    link.dir.path(),
                    &format!("server{i}"),
                    "debug",
                )
                .unwrap_or_else(|e| panic!("server {i} did not start: {e}"))
            })
            .collect();
        let relay = link.relay.as_ref().map(|r| {
            start_relay(&r.relay, "r-down", "r-up", &SERVER_ADDRS, link.dir.path())
                .unwrap_or_else(|e| panic!("dhcrelay did not start: {e}"))
        });
        Self {
            relay,
            servers,
            link,
        }
    }

    /// Everything worth reading when a step fails.
    fn diagnostics(&self, client: &DhcpClient<'_>) -> String {
        let mut s = client.log_tail();
        for p in &self.servers {
            s.push_str(&p.log_tail(40));
        }
        if let Some(r) = &self.relay {
            s.push_str(&r.log_tail(15));
        }
        s
    }
}

/// The lease row at `ip`, read through the store API.
async fn lease_at(t: &TestDb, ip: Ipv4Addr) -> Option<Lease4> {
    t.db.leases()
        .lease4_by_address(ip)
        .await
        .expect("query lease4")
}

async fn obtain_renew_release(backend: Backend, kind: ClientKind, relayed: bool) {
    require_root();
    let t = fresh_db(backend).await;
    let server = ServerKind::from_env();
    let dep = Deployment::start(server, &t, relayed);
    let (ns, ifname) = match &dep.link.relay {
        Some(r) if relayed => (&r.client, r.client_if.as_str()),
        _ => (&dep.link.client, dep.link.client_if.as_str()),
    };
    let mac = ns.mac(ifname).expect("client MAC");
    let mut client =
        DhcpClient::start(kind, ns, ifname, dep.link.dir.path()).expect("start client");
    macro_rules! fail {
        ($what:expr, $err:expr) => {
            panic!("{}: {}\n{}", $what, $err, dep.diagnostics(&client))
        };
    }

    // Obtain.
    let bound = client
        .wait_bound(Duration::from_secs(30))
        .unwrap_or_else(|e| fail!("no lease obtained", &e));
    let ip = bound
        .ip
        .unwrap_or_else(|| fail!("bound without address", &""));
    let (lo, hi) = pool_of(relayed);
    assert!(
        (lo..=hi).contains(&ip),
        "{ip} outside pool {lo}-{hi}\n{}",
        dep.diagnostics(&client)
    );
    let first = if server.uses_test_db() {
        let row = lease_at(&t, ip)
            .await
            .unwrap_or_else(|| fail!("no lease row", &ip));
        assert_eq!(row.hwaddr, mac, "lease row of {ip} belongs to another MAC");
        assert_eq!(
            row.state,
            LeaseState::Default,
            "lease row of {ip} not active: {row:?}"
        );
        assert_eq!(row.subnet_id, if relayed { 2 } else { 1 });
        Some(row)
    } else {
        None
    };

    // Renew (natural T1 renewal: unicast REQUEST to one of the two servers).
    let renewed = client
        .wait_renewed(Duration::from_secs(30))
        .unwrap_or_else(|e| fail!("no renewal", &e));
    assert_eq!(renewed.ip, Some(ip), "renewal changed the address");
    if let Some(first) = first {
        let row = lease_at(&t, ip)
            .await
            .unwrap_or_else(|| fail!("lease row gone", &ip));
        assert_eq!(
            row.hwaddr, mac,
            "renewed row of {ip} belongs to another MAC"
        );
        assert_eq!(row.state, LeaseState::Default);
        assert!(
            row.expire > first.expire,
            "renewal did not extend: {first:?} -> {row:?}"
        );
    }

    // Release.
    client
        .release()
        .unwrap_or_else(|e| fail!("release failed", &e));
    if server.uses_test_db() {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let row = lease_at(&t, ip).await;
            if row.as_ref().is_none_or(|r| r.state.is_free()) {
                break;
            }
            if std::time::Instant::now() >= deadline {
                fail!("RELEASE did not free the lease", &format!("{row:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

macro_rules! client_tests {
    ($($name:ident: $backend:ident, $client:ident, $relayed:expr;)+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            obtain_renew_release(Backend::$backend, ClientKind::$client, $relayed).await;
        }
    )+};
}

client_tests! {
    postgres_dhclient_direct: Postgres, Dhclient, false;
    postgres_udhcpc_direct: Postgres, Udhcpc, false;
    postgres_dhcpcd_direct: Postgres, Dhcpcd, false;
    postgres_dhclient_relayed: Postgres, Dhclient, true;
    postgres_udhcpc_relayed: Postgres, Udhcpc, true;
    postgres_dhcpcd_relayed: Postgres, Dhcpcd, true;
    mysql_dhclient_direct: Mysql, Dhclient, false;
    mysql_udhcpc_direct: Mysql, Udhcpc, false;
    mysql_dhcpcd_direct: Mysql, Dhcpcd, false;
    mysql_dhclient_relayed: Mysql, Dhclient, true;
    mysql_udhcpc_relayed: Mysql, Udhcpc, true;
    mysql_dhcpcd_relayed: Mysql, Dhcpcd, true;
}
