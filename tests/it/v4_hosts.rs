//! Host reservations on the packet path, on every backend: from the configuration file
//! and from the database's `hosts` table (as an inventory system would write it, by SQL).

use std::net::Ipv4Addr;
use std::sync::Arc;

use dhcproto::v4::MessageType;
use shoal::clock::ManualClock;
use shoal::dhcp::v4::V4Handler;
use shoal::dhcp::Reply;
use shoal::store::{Host, HostOption, HostStore, IdentifierType, StoreResult};

use crate::common::{Backend, TestDb};
use crate::dhcp_client::{handler_for, meta, sent, Client};

const T0: i64 = 1_800_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

const CONFIG: &str = r#"{ "Dhcp4": {
  "valid-lifetime": 3600,
  "client-classes": [ { "name": "printers", "option-data": [ { "name": "tftp-server-name", "data": "tftp.example.org" } ] } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.19" } ],
    "reservations": [
      { "hw-address": "02:00:00:00:00:01", "ip-address": "192.0.2.15", "hostname": "file-host",
        "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.99" } ] },
      { "hw-address": "02:00:00:00:00:02", "ip-address": "192.0.2.200", "next-server": "192.0.2.5",
        "boot-file-name": "pxelinux.0", "client-classes": [ "printers" ] } ] } ]
} }"#;

async fn handler(t: &TestDb) -> V4Handler {
    handler_for(t, CONFIG, vec![t.db.hosts()], clock()).await
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

async fn discover(h: &V4Handler, c: &Client) -> crate::dhcp_client::Got {
    sent(
        h.handle(
            &c.msg(MessageType::Discover).prl(&[6, 12, 66]).bytes(),
            meta(),
        )
        .await,
    )
}

fn db_host(mac: u8, addr: Ipv4Addr, hostname: &str) -> Host {
    Host {
        host_id: 0,
        identifier_type: IdentifierType::HwAddress,
        identifier: vec![0x02, 0, 0, 0, 0, mac],
        ipv4_subnet_id: Some(1),
        ipv6_subnet_id: None,
        ipv4_address: Some(addr),
        hostname: Some(hostname.to_string()),
        client_classes4: vec![],
        client_classes6: vec![],
        next_server: None,
        server_hostname: None,
        boot_file_name: None,
        options4: vec![HostOption {
            code: 6,
            space: "dhcp4".into(),
            value: None,
            formatted_value: Some("192.0.2.77".into()),
            persistent: false,
        }],
        user_context: None,
    }
}

async fn file_reservation_gives_address_hostname_and_options(t: &TestDb) {
    let h = handler(t).await;
    let offer = discover(&h, &Client::new(1)).await;
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(192, 0, 2, 15));
    assert_eq!(offer.raw_opt(12), Some(b"file-host".to_vec()));
    assert_eq!(
        offer.raw_opt(6),
        Some(vec![192, 0, 2, 99]),
        "host option beats global"
    );
}

async fn out_of_pool_reservation_with_boot_fields_and_classes(t: &TestDb) {
    let h = handler(t).await;
    let c = Client::new(2);
    let offer = discover(&h, &c).await;
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(192, 0, 2, 200));
    assert_eq!(offer.msg.siaddr(), Ipv4Addr::new(192, 0, 2, 5));
    let file = offer.msg.fname().expect("file field");
    assert!(file.starts_with(b"pxelinux.0"), "{file:?}");
    // The reservation's class brings its options.
    assert_eq!(offer.raw_opt(66), Some(b"tftp.example.org".to_vec()));
    let ack = sent(
        h.handle(
            &c.msg(MessageType::Request)
                .requested(offer.yiaddr())
                .server_id(SERVER)
                .bytes(),
            meta(),
        )
        .await,
    );
    assert_eq!(ack.kind(), MessageType::Ack);
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(192, 0, 2, 200));
}

async fn reserved_address_is_never_given_to_another_client(t: &TestDb) {
    let h = handler(t).await;
    // The file reserves .15; the database (as an inventory system would) reserves .10.
    t.db.hosts()
        .add_host(&db_host(9, Ipv4Addr::new(192, 0, 2, 10), "db-host"))
        .await
        .unwrap();
    let mut got = Vec::new();
    for n in 20..28u8 {
        let c = Client::new(n);
        let offer = discover(&h, &c).await;
        got.push(offer.yiaddr());
        // Asking for a reserved address does not help either.
        let r = h
            .handle(
                &c.msg(MessageType::Request)
                    .requested(Ipv4Addr::new(192, 0, 2, 15))
                    .server_id(SERVER)
                    .bytes(),
                meta(),
            )
            .await;
        assert_eq!(sent(r).kind(), MessageType::Nak);
    }
    assert!(!got.contains(&Ipv4Addr::new(192, 0, 2, 15)), "{got:?}");
    assert!(!got.contains(&Ipv4Addr::new(192, 0, 2, 10)), "{got:?}");
}

async fn database_reservation_added_by_sql_is_effective_next_packet(t: &TestDb) {
    let h = handler(t).await;
    let c = Client::new(30);
    let first = discover(&h, &c).await;
    assert!(
        (Ipv4Addr::new(192, 0, 2, 10)..=Ipv4Addr::new(192, 0, 2, 19)).contains(&first.yiaddr())
    );
    // Plain SQL, as documented in the README.
    let id = match t.backend {
        Backend::Postgres => "decode('02000000001e', 'hex')",
        _ => "X'02000000001e'",
    };
    t.raw_exec(&format!(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) \
         VALUES ({id}, 0, 1, 3221226136, 'sql-host')"
    ))
    .await;
    let next = discover(&h, &c).await;
    assert_eq!(
        next.yiaddr(),
        Ipv4Addr::new(192, 0, 2, 152),
        "3221226136 = 192.0.2.152"
    );
    assert_eq!(next.raw_opt(12), Some(b"sql-host".to_vec()));
}

async fn client_is_moved_when_its_address_gets_reserved_for_another(t: &TestDb) {
    let h = handler(t).await;
    let c = Client::new(40);
    let offer = discover(&h, &c).await;
    let a = offer.yiaddr();
    let ack = sent(
        h.handle(
            &c.msg(MessageType::Request)
                .requested(a)
                .server_id(SERVER)
                .bytes(),
            meta(),
        )
        .await,
    );
    assert_eq!(ack.kind(), MessageType::Ack);
    // The inventory system now reserves that address for someone else.
    t.db.hosts()
        .add_host(&db_host(41, a, "new-owner"))
        .await
        .unwrap();
    let renew = sent(
        h.handle(&c.msg(MessageType::Request).ciaddr(a).bytes(), meta())
            .await,
    );
    assert_eq!(renew.kind(), MessageType::Nak, "moved at renewal");
    let again = discover(&h, &c).await;
    assert_ne!(again.yiaddr(), a);
    // And the new owner gets it once the old lease is gone.
    let owner = Client::new(41);
    let r = h
        .handle(&owner.msg(MessageType::Discover).bytes(), meta())
        .await;
    assert!(matches!(r, Reply::Send { .. }));
}

async fn db_host_options_and_known_class(t: &TestDb) {
    let h = handler(t).await;
    t.db.hosts()
        .add_host(&db_host(50, Ipv4Addr::new(192, 0, 2, 170), "db-fifty"))
        .await
        .unwrap();
    let offer = discover(&h, &Client::new(50)).await;
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(192, 0, 2, 170));
    assert_eq!(
        offer.raw_opt(6),
        Some(vec![192, 0, 2, 77]),
        "formatted_value encoded"
    );
}

async fn flex_id_reservation_matches_the_expression_value(t: &TestDb) {
    let cfg = r#"{ "Dhcp4": {
      "hooks-libraries": [ { "library": "/usr/lib/kea/hooks/libdhcp_flex_id.so",
                             "parameters": { "identifier-expression": "concat('port:', relay4[1].hex)" } } ],
      "host-reservation-identifiers": [ "flex-id", "hw-address" ],
      "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "relay": { "ip-addresses": [ "192.0.2.254" ] },
        "pools": [ { "pool": "192.0.2.10 - 192.0.2.19" } ],
        "reservations": [ { "flex-id": "'port:eth-7'", "ip-address": "192.0.2.77", "hostname": "by-port" } ] } ]
    } }"#;
    let h = handler_for(t, cfg, vec![t.db.hosts()], clock()).await;
    let relay = Ipv4Addr::new(192, 0, 2, 254);
    let m =
        crate::dhcp_client::meta_on("test0", SERVER, 24, std::net::SocketAddrV4::new(relay, 67));
    let on_port = Client::new(60)
        .msg(MessageType::Discover)
        .giaddr(relay)
        .relay_agent(b"eth-7", None)
        .prl(&[12]);
    let offer = sent(h.handle(&on_port.bytes(), m.clone()).await);
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(192, 0, 2, 77));
    assert_eq!(offer.raw_opt(12), Some(b"by-port".to_vec()));
    let other_port = Client::new(61)
        .msg(MessageType::Discover)
        .giaddr(relay)
        .relay_agent(b"eth-8", None);
    let offer = sent(h.handle(&other_port.bytes(), m).await);
    assert_ne!(offer.yiaddr(), Ipv4Addr::new(192, 0, 2, 77));
}

/// Counts per-packet host look-ups reaching the database.
struct CountingHosts {
    inner: Arc<dyn HostStore>,
    packet_lookups: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl HostStore for CountingHosts {
    async fn host4(&self, s: u32, ids: &[(IdentifierType, Vec<u8>)]) -> StoreResult<Option<Host>> {
        self.inner.host4(s, ids).await
    }
    async fn hosts4_for_packet(
        &self,
        s: &[u32],
        ids: &[(IdentifierType, Vec<u8>)],
        a: Option<Ipv4Addr>,
    ) -> StoreResult<Vec<Host>> {
        self.packet_lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.hosts4_for_packet(s, ids, a).await
    }
    async fn host4_by_address(&self, s: u32, a: Ipv4Addr) -> StoreResult<Option<Host>> {
        self.inner.host4_by_address(s, a).await
    }
    async fn add_host(&self, h: &Host) -> StoreResult<i64> {
        self.inner.add_host(h).await
    }
    async fn del_host4(&self, s: u32, t: IdentifierType, id: &[u8]) -> StoreResult<bool> {
        self.inner.del_host4(s, t, id).await
    }
}

async fn a_dora_costs_one_host_lookup(t: &TestDb) {
    let counting = Arc::new(CountingHosts {
        inner: t.db.hosts(),
        packet_lookups: Default::default(),
    });
    let h = handler_for(t, CONFIG, vec![counting.clone()], clock()).await;
    let c = Client::new(70);
    let offer = discover(&h, &c).await;
    let ack = sent(
        h.handle(
            &c.msg(MessageType::Request)
                .requested(offer.yiaddr())
                .server_id(SERVER)
                .bytes(),
            meta(),
        )
        .await,
    );
    assert_eq!(ack.kind(), MessageType::Ack);
    assert_eq!(
        counting
            .packet_lookups
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "REQUEST reused the DISCOVER's look-up"
    );
    // A renewal (new transaction) looks up again.
    let renew = sent(
        h.handle(
            &Client { xid: 99, ..c }
                .msg(MessageType::Request)
                .ciaddr(offer.yiaddr())
                .bytes(),
            meta(),
        )
        .await,
    );
    assert_eq!(renew.kind(), MessageType::Ack);
    assert_eq!(
        counting
            .packet_lookups
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}

async fn readonly_hosts_database_serves_but_refuses_writes(t: &TestDb) {
    let ro: Arc<dyn HostStore> = Arc::new(shoal::store::ReadOnlyHosts(t.db.hosts()));
    let err = ro
        .add_host(&db_host(80, Ipv4Addr::new(192, 0, 2, 180), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, shoal::store::StoreError::ReadOnly), "{err:?}");
    // The inventory system writes it; shoal reads it.
    t.db.hosts()
        .add_host(&db_host(81, Ipv4Addr::new(192, 0, 2, 181), "inv"))
        .await
        .unwrap();
    let h = handler_for(t, CONFIG, vec![ro], clock()).await;
    assert_eq!(
        discover(&h, &Client::new(81)).await.yiaddr(),
        Ipv4Addr::new(192, 0, 2, 181)
    );
}

battery!(
    file_reservation_gives_address_hostname_and_options,
    out_of_pool_reservation_with_boot_fields_and_classes,
    reserved_address_is_never_given_to_another_client,
    database_reservation_added_by_sql_is_effective_next_packet,
    client_is_moved_when_its_address_gets_reserved_for_another,
    db_host_options_and_known_class,
    flex_id_reservation_matches_the_expression_value,
    a_dora_costs_one_host_lookup,
    readonly_hosts_database_serves_but_refuses_writes,
);
