//! End-to-end client classification and database host reservations with real clients
//! (busybox udhcpc, ISC dhclient) in network namespaces, against two shoal processes
//! sharing one PostgreSQL database.
//!
//! - A client sending vendor class `Aastra6731i` is classified `voip` by an expression and
//!   gets an address (and the class's option) from the pool reserved to that class; a
//!   client without it gets one from the unrestricted pool.
//! - A reservation written by plain SQL into the `hosts` / `dhcp4_options` tables while the
//!   servers run gives the client its out-of-pool address, hostname and DNS server.
//!
//! Each client's script records the values it received (address, hostname, DNS, TFTP
//! server) as one `key=value` line per event; the `lease4` rows are read through the
//! store. Namespaces, processes and files are the rig's and clean up on drop. Needs root.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use shoal::store::{Lease4, LeaseState};

use crate::common::{fresh_db, Backend, TestDb};
use crate::netns::server::{lease_database, start_server, ServerKind};
use crate::netns::topology::{Lan, SERVER_ADDRS, SERVER_IF};
use crate::netns::{require_root, unique_id, wait_for, Netns, Proc, RigResult, ScratchDir};

/// Pool reserved to class `voip`.
const VOIP_POOL: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 77, 1, 10), Ipv4Addr::new(10, 77, 1, 19));
/// The unrestricted pool.
const OPEN_POOL: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 77, 1, 100), Ipv4Addr::new(10, 77, 1, 199));
/// DNS server of the subnet (a host option must override it).
const SUBNET_DNS: &str = "10.77.1.254";
/// TFTP server name the `voip` class adds.
const VOIP_TFTP: &str = "voip-tftp";

/// The script every client runs: one line of `key=value` fields per event, values with
/// spaces joined by commas. dhclient names its variables `new_*`, udhcpc does not.
const SCRIPT: &str = r#"#!/bin/sh
ev="${reason:-$1}"
dns=$(echo ${new_domain_name_servers:-$dns} | tr ' ' ,)
echo "event=$ev ip=${new_ip_address:-$ip} host=${new_host_name:-$hostname} dns=$dns tftp=${new_tftp_server_name:-$tftp}" >> "@EVENTS@"
exit 0
"#;

/// dhclient configuration: no vendor class, request what the tests check.
const DHCLIENT_CONF: &str = "request subnet-mask, routers, domain-name-servers, host-name;\n";

/// The configuration of both servers: class `voip` by vendor class, a subnet with a
/// `voip` pool and an unrestricted one, and a subnet-level DNS server.
fn config(lease_db: Value) -> Value {
    let range = |(lo, hi): (Ipv4Addr, Ipv4Addr)| format!("{lo} - {hi}");
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [SERVER_IF]},
        "lease-database": lease_db,
        "valid-lifetime": 600,
        "offer-lifetime": 30,
        "client-classes": [{"name": "voip",
            "test": "substring(option[60].hex,0,6) == 'Aastra'",
            "option-data": [{"name": "tftp-server-name", "data": VOIP_TFTP}]}],
        "subnet4": [{"id": 1, "subnet": "10.77.1.0/24",
            "pools": [{"pool": range(VOIP_POOL), "client-class": "voip"},
                      {"pool": range(OPEN_POOL)}],
            "option-data": [{"name": "routers", "data": "10.77.1.1"},
                            {"name": "domain-name-servers", "data": SUBNET_DNS}]}]
    }})
}

/// One link: two shoal servers and `n` client namespaces (each its own MAC).
struct Site {
    // Field order is drop order: servers stop before the namespaces go.
    servers: Vec<Proc>,
    _server_ns: Vec<Netns>,
    /// Client namespaces and their interface names.
    clients: Vec<(Netns, String)>,
    dir: ScratchDir,
    _lan: Lan,
}

impl Site {
    fn start(t: &TestDb, n_clients: usize) -> Self {
        let id = unique_id();
        let dir = ScratchDir::new(&id).expect("scratch dir");
        let mut lan = Lan::new(&id).expect("hub namespace");
        let server_ns: Vec<Netns> = SERVER_ADDRS
            .iter()
            .enumerate()
            .map(|(i, a)| {
                lan.attach(&format!("s{i}"), SERVER_IF, &[&format!("{a}/24")])
                    .expect("server namespace")
            })
            .collect();
        let clients = (0..n_clients)
            .map(|i| {
                let ifname = format!("c{i}x{id}");
                let ns = lan.attach(&format!("c{i}"), &ifname, &[]).expect("client");
                (ns, ifname)
            })
            .collect();
        let cfg = config(lease_database(t.backend, &t.name));
        let servers = server_ns
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let tag = format!("server{i}");
                start_server(ServerKind::Shoal, ns, &cfg, dir.path(), &tag, "debug")
                    .unwrap_or_else(|e| panic!("server {i} did not start: {e}"))
            })
            .collect();
        Self {
            servers,
            _server_ns: server_ns,
            clients,
            dir,
            _lan: lan,
        }
    }

    /// Server logs, for failure messages.
    fn server_logs(&self) -> String {
        self.servers.iter().map(|p| p.log_tail(40)).collect()
    }
}

/// A real client whose script records what it received.
struct Client {
    name: String,
    events: PathBuf,
    proc: Proc,
}

/// What a client's script saw on one event.
type Event = HashMap<String, String>;

impl Client {
    /// Start `prog` (`udhcpc` or `dhclient`) on `ifname` in `ns`, files under `dir/<name>`.
    fn start(
        prog: &str,
        name: &str,
        ns: &Netns,
        ifname: &str,
        dir: &Path,
        args: &[&str],
    ) -> RigResult<Self> {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir)?;
        let events = dir.join("events");
        std::fs::write(&events, "")?;
        let script = dir.join("script.sh");
        std::fs::write(
            &script,
            SCRIPT.replace("@EVENTS@", &events.display().to_string()),
        )?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        let mut cmd = ns.command(prog);
        if prog == "dhclient" {
            let conf = dir.join("dhclient.conf");
            std::fs::write(&conf, DHCLIENT_CONF)?;
            cmd.args(["-4", "-d", "-1", "-sf"])
                .arg(&script)
                .arg("-cf")
                .arg(conf);
            cmd.arg("-lf").arg(dir.join("dhclient.leases"));
            cmd.arg("-pf").arg(dir.join("dhclient.pid")).arg(ifname);
        } else {
            cmd.args(["-i", ifname, "-f", "-n", "-t", "5", "-T", "2", "-s"])
                .arg(&script);
        }
        cmd.args(args);
        let proc = Proc::spawn(name, cmd, &dir.join("client.log"))?;
        Ok(Self {
            name: name.to_string(),
            events,
            proc,
        })
    }

    /// Events so far.
    fn events(&self) -> Vec<Event> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|f| f.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// The first bound event and its address (bounded by 30 s).
    fn wait_bound(&self) -> RigResult<(Ipv4Addr, Event)> {
        wait_for(
            &format!("{} to bind", self.name),
            Duration::from_secs(30),
            || {
                self.events().into_iter().find_map(|ev| {
                    let bound =
                        matches!(ev.get("event").map(String::as_str), Some("BOUND" | "bound"));
                    let ip = ev.get("ip").and_then(|s| s.parse().ok())?;
                    bound.then_some((ip, ev))
                })
            },
        )
    }

    /// The client's log, for failure messages.
    fn log_tail(&self) -> String {
        self.proc.log_tail(25)
    }
}

/// The `lease4` row at `ip`.
async fn lease_at(t: &TestDb, ip: Ipv4Addr) -> Option<Lease4> {
    t.db.leases()
        .lease4_by_address(ip)
        .await
        .expect("query lease4")
}

/// Assert the row at `ip` is an active lease of `mac` in subnet 1.
async fn assert_lease_row(
    t: &TestDb,
    ip: Ipv4Addr,
    mac: [u8; 6],
    diag: &dyn Fn() -> String,
) -> Lease4 {
    let row = lease_at(t, ip)
        .await
        .unwrap_or_else(|| panic!("no lease4 row for {ip}\n{}", diag()));
    assert_eq!(
        row.hwaddr, mac,
        "lease4 row of {ip} belongs to another MAC: {row:?}"
    );
    assert_eq!(
        row.state,
        LeaseState::Default,
        "lease4 row of {ip} not active: {row:?}"
    );
    assert_eq!(row.subnet_id, 1, "lease4 row of {ip}: {row:?}");
    row
}

fn in_pool(ip: Ipv4Addr, (lo, hi): (Ipv4Addr, Ipv4Addr)) -> bool {
    (lo..=hi).contains(&ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_vendor_class_client_lands_in_its_class_pool() {
    require_root();
    let t = fresh_db(Backend::Postgres).await;
    let site = Site::start(&t, 2);
    let (phone_ns, phone_if) = &site.clients[0];
    let (laptop_ns, laptop_if) = &site.clients[1];
    let phone_mac = phone_ns.mac(phone_if).expect("phone MAC");
    let laptop_mac = laptop_ns.mac(laptop_if).expect("laptop MAC");
    let dir = site.dir.path();
    let phone = Client::start(
        "udhcpc",
        "phone",
        phone_ns,
        phone_if,
        dir,
        &["-V", "Aastra6731i", "-O", "tftp"],
    )
    .expect("start udhcpc");
    let laptop = Client::start("dhclient", "laptop", laptop_ns, laptop_if, dir, &[])
        .expect("start dhclient");
    let diag = || {
        format!(
            "{}{}{}",
            phone.log_tail(),
            laptop.log_tail(),
            site.server_logs()
        )
    };

    let (ip, ev) = phone
        .wait_bound()
        .unwrap_or_else(|e| panic!("phone got no lease: {e}\n{}", diag()));
    assert!(
        in_pool(ip, VOIP_POOL),
        "voip client got {ip}, outside the voip pool\n{}",
        diag()
    );
    assert_eq!(
        ev.get("tftp").map(String::as_str),
        Some(VOIP_TFTP),
        "class option missing: {ev:?}"
    );
    assert_eq!(
        ev.get("dns").map(String::as_str),
        Some(SUBNET_DNS),
        "{ev:?}"
    );
    assert_lease_row(&t, ip, phone_mac, &diag).await;

    let (ip, ev) = laptop
        .wait_bound()
        .unwrap_or_else(|e| panic!("laptop got no lease: {e}\n{}", diag()));
    assert!(
        in_pool(ip, OPEN_POOL),
        "unclassified client got {ip}, outside the open pool\n{}",
        diag()
    );
    assert_eq!(
        ev.get("tftp").map(String::as_str),
        Some(""),
        "voip option leaked: {ev:?}"
    );
    assert_lease_row(&t, ip, laptop_mac, &diag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reservation_in_hosts_table_gives_address_hostname_and_options() {
    require_root();
    let t = fresh_db(Backend::Postgres).await;
    let site = Site::start(&t, 1);
    let (ns, ifname) = &site.clients[0];
    let mac = ns.mac(ifname).expect("client MAC");
    let reserved = Ipv4Addr::new(10, 77, 1, 50);
    assert!(!in_pool(reserved, VOIP_POOL) && !in_pool(reserved, OPEN_POOL));

    // Written by plain SQL while the servers run, as an inventory system would.
    let mac_hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    t.raw_exec(&format!(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) \
         VALUES (decode('{mac_hex}', 'hex'), 0, 1, {}, 'resv-host')",
        u32::from(reserved)
    ))
    .await;
    let host_id = t
        .raw_count("SELECT host_id FROM hosts WHERE hostname = 'resv-host'")
        .await;
    t.raw_exec(&format!(
        "INSERT INTO dhcp4_options (code, formatted_value, host_id, scope_id) VALUES (6, '10.77.1.53', {host_id}, 3)"
    ))
    .await;

    let client = Client::start("dhclient", "resv", ns, ifname, site.dir.path(), &[])
        .expect("start dhclient");
    let diag = || format!("{}{}", client.log_tail(), site.server_logs());
    let (ip, ev) = client
        .wait_bound()
        .unwrap_or_else(|e| panic!("no lease: {e}\n{}", diag()));
    assert_eq!(ip, reserved, "reserved address not given\n{}", diag());
    assert_eq!(
        ev.get("host").map(String::as_str),
        Some("resv-host"),
        "{ev:?}\n{}",
        diag()
    );
    assert_eq!(
        ev.get("dns").map(String::as_str),
        Some("10.77.1.53"),
        "host option must override the subnet's: {ev:?}"
    );
    let row = assert_lease_row(&t, ip, mac, &diag).await;
    assert_eq!(row.hostname, "resv-host", "lease4 hostname: {row:?}");
}
