//! The DHCPv4 handler, message by message, against a real store (the battery runs each
//! behaviour on SQLite, PostgreSQL and MySQL). No sockets: packets go straight into
//! `V4Handler::handle` and replies are decoded.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use dhcproto::v4::{DhcpOption, MessageType};
use shoal::clock::ManualClock;
use shoal::dhcp::v4::V4Handler;
use shoal::dhcp::{DropReason, Reply};
use shoal::store::{LeaseState, LeaseStore};

use crate::common::TestDb;
use crate::dhcp_client::{handler_for, meta, meta_on, sent, Client};

const T0: i64 = 1_800_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The configuration most tests use: a direct subnet, a relayed one, and a shared network
/// of two tiny subnets behind one relay.
const CONFIG: &str = r#"{ "Dhcp4": {
  "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800, "offer-lifetime": 30,
  "decline-probation-period": 600,
  "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53" },
                   { "name": "domain-name", "data": "example.org" },
                   { "name": "ntp-servers", "data": "192.0.2.123" } ],
  "subnet4": [
    { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.19" } ],
      "option-data": [ { "name": "routers", "data": "192.0.2.1" },
                       { "name": "domain-name", "data": "subnet.example.org" } ] },
    { "id": 2, "subnet": "198.51.100.0/24", "relay": { "ip-addresses": [ "198.51.100.1" ] },
      "pools": [ { "pool": "198.51.100.10 - 198.51.100.20" } ] },
    { "id": 5, "subnet": "203.0.113.0/24", "pools": [ { "pool": "203.0.113.50 - 203.0.113.59" } ] }
  ],
  "shared-networks": [ { "name": "floor1", "relay": { "ip-addresses": [ "10.1.0.1" ] },
    "subnet4": [
      { "id": 3, "subnet": "10.1.0.0/24", "pools": [ { "pool": "10.1.0.10 - 10.1.0.11" } ] },
      { "id": 4, "subnet": "10.1.1.0/24", "pools": [ { "pool": "10.1.1.10 - 10.1.1.11" } ] } ] } ]
} }"#;

struct Rig {
    handler: V4Handler,
    clock: Arc<ManualClock>,
    store: Arc<dyn LeaseStore>,
}

async fn rig_with(t: &TestDb, json: &str) -> Rig {
    let clock = Arc::new(ManualClock::new(T0));
    let handler = handler_for(t, json, Vec::new(), clock.clone()).await;
    let leases = t.db.leases();
    Rig {
        handler,
        clock,
        store: leases,
    }
}

impl Rig {
    async fn send(&self, bytes: Vec<u8>) -> Reply {
        self.handler.handle(&bytes, meta()).await
    }
    async fn dora(&self, c: &Client) -> Ipv4Addr {
        let offer = sent(self.send(c.msg(MessageType::Discover).bytes()).await);
        assert_eq!(offer.kind(), MessageType::Offer);
        let ack = sent(
            self.send(
                c.msg(MessageType::Request)
                    .requested(offer.yiaddr())
                    .server_id(SERVER)
                    .bytes(),
            )
            .await,
        );
        assert_eq!(ack.kind(), MessageType::Ack);
        assert_eq!(ack.yiaddr(), offer.yiaddr());
        ack.yiaddr()
    }
    fn leases(&self) -> &dyn LeaseStore {
        self.store.as_ref()
    }
}

async fn rig(t: &TestDb) -> Rig {
    rig_with(t, CONFIG).await
}

pub async fn discover_offers_pool_address_with_options(t: &TestDb) {
    let r = rig(t).await;
    let offer = sent(
        r.send(Client::new(1).msg(MessageType::Discover).bytes())
            .await,
    );
    assert_eq!(offer.kind(), MessageType::Offer);
    assert!(
        (Ipv4Addr::new(192, 0, 2, 10)..=Ipv4Addr::new(192, 0, 2, 19)).contains(&offer.yiaddr())
    );
    assert_eq!(offer.server_id(), SERVER);
    assert_eq!(offer.lease_time(), Some(3600));
    assert_eq!(offer.raw_opt(58), Some(900u32.to_be_bytes().to_vec()));
    assert_eq!(offer.raw_opt(59), Some(1800u32.to_be_bytes().to_vec()));
    assert_eq!(offer.raw_opt(1), Some(vec![255, 255, 255, 0]));
    assert_eq!(offer.raw_opt(3), Some(vec![192, 0, 2, 1]));
    assert_eq!(offer.raw_opt(6), Some(vec![192, 0, 2, 53]));
    // Subnet-level domain-name overrides the global one.
    assert_eq!(offer.raw_opt(15), Some(b"subnet.example.org".to_vec()));
    // ntp-servers was not requested and is not sent unasked.
    assert_eq!(offer.raw_opt(42), None);
    assert_eq!(offer.dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    let row = r
        .leases()
        .lease4_by_address(offer.yiaddr())
        .await
        .unwrap()
        .expect("offer held in db");
    assert_eq!(row.state, LeaseState::Offered);
    assert_eq!(row.expire, T0 + 30);
}

pub async fn requested_options_are_sent(t: &TestDb) {
    let r = rig(t).await;
    let offer = sent(
        r.send(Client::new(1).msg(MessageType::Discover).prl(&[42]).bytes())
            .await,
    );
    assert_eq!(offer.raw_opt(42), Some(vec![192, 0, 2, 123]));
}

pub async fn request_commits_offer(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(2);
    let addr = r.dora(&c).await;
    let row = r.leases().lease4_by_address(addr).await.unwrap().unwrap();
    assert_eq!(row.state, LeaseState::Default);
    assert_eq!(row.hwaddr, c.mac.to_vec());
    assert_eq!(row.expire, T0 + 3600);
    assert_eq!(row.subnet_id, 1);
}

pub async fn returning_client_gets_same_address(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(3);
    let first = r.dora(&c).await;
    r.clock.advance(100);
    let again = sent(r.send(c.msg(MessageType::Discover).bytes()).await);
    assert_eq!(again.yiaddr(), first);
}

pub async fn requested_address_is_honoured_when_free(t: &TestDb) {
    let r = rig(t).await;
    let want = Ipv4Addr::new(192, 0, 2, 17);
    let offer = sent(
        r.send(
            Client::new(4)
                .msg(MessageType::Discover)
                .requested(want)
                .bytes(),
        )
        .await,
    );
    assert_eq!(offer.yiaddr(), want);
}

pub async fn address_held_by_other_gets_nak(t: &TestDb) {
    let r = rig(t).await;
    let a = r.dora(&Client::new(5)).await;
    let other = Client::new(6);
    let reply = sent(
        r.send(
            other
                .msg(MessageType::Request)
                .requested(a)
                .server_id(SERVER)
                .bytes(),
        )
        .await,
    );
    assert_eq!(reply.kind(), MessageType::Nak);
}

pub async fn renewing_extends_lease(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(7);
    let a = r.dora(&c).await;
    r.clock.advance(1000);
    let ack = sent(r.send(c.msg(MessageType::Request).ciaddr(a).bytes()).await);
    assert_eq!(ack.kind(), MessageType::Ack);
    assert_eq!(ack.yiaddr(), a);
    assert_eq!(
        ack.dst,
        SocketAddrV4::new(a, 68),
        "renewal reply is unicast to ciaddr"
    );
    let row = r.leases().lease4_by_address(a).await.unwrap().unwrap();
    assert_eq!(row.expire, T0 + 1000 + 3600);
}

pub async fn init_reboot_unknown_client_is_ignored_unless_authoritative(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(8);
    let reply = r
        .send(
            c.msg(MessageType::Request)
                .requested(Ipv4Addr::new(192, 0, 2, 12))
                .bytes(),
        )
        .await;
    assert!(
        matches!(reply, Reply::Drop(DropReason::NotForUs)),
        "{reply:?}"
    );
    let auth = CONFIG.replacen(
        "\"valid-lifetime\": 3600,",
        "\"valid-lifetime\": 3600, \"authoritative\": true,",
        1,
    );
    let r2 = rig_with(t, &auth).await;
    let nak = sent(
        r2.send(
            c.msg(MessageType::Request)
                .requested(Ipv4Addr::new(192, 0, 2, 12))
                .bytes(),
        )
        .await,
    );
    assert_eq!(nak.kind(), MessageType::Nak);
}

pub async fn init_reboot_on_wrong_network_gets_nak(t: &TestDb) {
    let r = rig(t).await;
    let nak = sent(
        r.send(
            Client::new(9)
                .msg(MessageType::Request)
                .requested(Ipv4Addr::new(172, 16, 0, 5))
                .bytes(),
        )
        .await,
    );
    assert_eq!(nak.kind(), MessageType::Nak);
}

pub async fn init_reboot_known_client_gets_ack(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(10);
    let a = r.dora(&c).await;
    let ack = sent(
        r.send(c.msg(MessageType::Request).requested(a).bytes())
            .await,
    );
    assert_eq!(ack.kind(), MessageType::Ack);
    assert_eq!(ack.yiaddr(), a);
}

pub async fn request_for_other_server_frees_offer(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(11);
    let offer = sent(r.send(c.msg(MessageType::Discover).bytes()).await);
    // The client took another server's OFFER of a different address.
    let theirs = Ipv4Addr::new(192, 0, 2, 19);
    let reply = r
        .send(
            c.msg(MessageType::Request)
                .requested(theirs)
                .server_id(Ipv4Addr::new(192, 0, 2, 2))
                .bytes(),
        )
        .await;
    assert!(matches!(reply, Reply::Drop(DropReason::NotForUs)));
    let row = r.leases().lease4_by_address(offer.yiaddr()).await.unwrap();
    assert!(
        row.as_ref().is_none_or(|l| l.state.is_free()),
        "offer released: {row:?}"
    );
    // Someone else can now get that address.
    let other = sent(
        r.send(
            Client::new(12)
                .msg(MessageType::Discover)
                .requested(offer.yiaddr())
                .bytes(),
        )
        .await,
    );
    assert_eq!(other.yiaddr(), offer.yiaddr());
}

pub async fn request_for_other_server_keeps_the_address_it_commits(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(13);
    let offer = sent(r.send(c.msg(MessageType::Discover).bytes()).await);
    // A sibling front-end offered (from the shared database) the same address; the
    // client chose the sibling: this server must not free what the sibling commits.
    let reply = r
        .send(
            c.msg(MessageType::Request)
                .requested(offer.yiaddr())
                .server_id(Ipv4Addr::new(192, 0, 2, 2))
                .bytes(),
        )
        .await;
    assert!(matches!(reply, Reply::Drop(DropReason::NotForUs)));
    let row = r
        .leases()
        .lease4_by_address(offer.yiaddr())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, LeaseState::Offered);
}

pub async fn release_frees_address(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(13);
    let a = r.dora(&c).await;
    // A stranger cannot release it.
    let stranger = r
        .send(Client::new(14).msg(MessageType::Release).ciaddr(a).bytes())
        .await;
    assert!(matches!(stranger, Reply::Drop(DropReason::NotOwner)));
    let done = r.send(c.msg(MessageType::Release).ciaddr(a).bytes()).await;
    assert!(matches!(done, Reply::Done), "{done:?}");
    let row = r.leases().lease4_by_address(a).await.unwrap().unwrap();
    assert_eq!(row.state, LeaseState::Released);
    let next = sent(
        r.send(
            Client::new(15)
                .msg(MessageType::Discover)
                .requested(a)
                .bytes(),
        )
        .await,
    );
    assert_eq!(next.yiaddr(), a);
}

pub async fn decline_quarantines_address(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(16);
    let a = r.dora(&c).await;
    let done = r
        .send(
            c.msg(MessageType::Decline)
                .requested(a)
                .server_id(SERVER)
                .bytes(),
        )
        .await;
    assert!(matches!(done, Reply::Done), "{done:?}");
    let row = r.leases().lease4_by_address(a).await.unwrap().unwrap();
    assert_eq!(row.state, LeaseState::Declined);
    assert_eq!(row.expire, T0 + 600);
    let other = sent(
        r.send(
            Client::new(17)
                .msg(MessageType::Discover)
                .requested(a)
                .bytes(),
        )
        .await,
    );
    assert_ne!(
        other.yiaddr(),
        a,
        "declined address is not offered during probation"
    );
}

pub async fn inform_gets_ack_without_lease(t: &TestDb) {
    let r = rig(t).await;
    let ci = Ipv4Addr::new(192, 0, 2, 200);
    let ack = sent(
        r.send(Client::new(18).msg(MessageType::Inform).ciaddr(ci).bytes())
            .await,
    );
    assert_eq!(ack.kind(), MessageType::Ack);
    assert_eq!(ack.yiaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.lease_time(), None);
    assert_eq!(ack.raw_opt(6), Some(vec![192, 0, 2, 53]));
    assert_eq!(ack.dst, SocketAddrV4::new(ci, 68));
    assert!(r.leases().lease4_by_address(ci).await.unwrap().is_none());
}

pub async fn relayed_discover_uses_relay_subnet_and_echoes_option_82(t: &TestDb) {
    let r = rig(t).await;
    let relay = Ipv4Addr::new(198, 51, 100, 1);
    let pkt = Client::new(19)
        .msg(MessageType::Discover)
        .giaddr(relay)
        .relay_agent(b"port-7", None)
        .bytes();
    let reply = r
        .handler
        .handle(
            &pkt,
            meta_on("test0", SERVER, 24, SocketAddrV4::new(relay, 67)),
        )
        .await;
    let offer = sent(reply);
    assert!(
        (Ipv4Addr::new(198, 51, 100, 10)..=Ipv4Addr::new(198, 51, 100, 20))
            .contains(&offer.yiaddr())
    );
    assert_eq!(
        offer.dst,
        SocketAddrV4::new(relay, 67),
        "reply goes to the relay"
    );
    assert_eq!(offer.msg.giaddr(), relay);
    let o82 = offer.raw_opt(82).expect("option 82 echoed");
    assert!(o82.windows(6).any(|w| w == b"port-7"));
}

pub async fn link_selection_and_subnet_selection_pick_the_subnet(t: &TestDb) {
    let r = rig(t).await;
    let relay = Ipv4Addr::new(198, 51, 100, 1);
    let src = SocketAddrV4::new(relay, 67);
    let pkt = Client::new(20)
        .msg(MessageType::Discover)
        .giaddr(relay)
        .relay_agent(b"x", Some(Ipv4Addr::new(203, 0, 113, 1)))
        .bytes();
    let offer = sent(
        r.handler
            .handle(&pkt, meta_on("test0", SERVER, 24, src))
            .await,
    );
    assert!(
        (Ipv4Addr::new(203, 0, 113, 50)..=Ipv4Addr::new(203, 0, 113, 59)).contains(&offer.yiaddr())
    );
    let pkt = Client::new(21)
        .msg(MessageType::Discover)
        .opt(DhcpOption::SubnetSelection(Ipv4Addr::new(203, 0, 113, 9)))
        .bytes();
    let offer = sent(r.send(pkt).await);
    assert!(
        (Ipv4Addr::new(203, 0, 113, 50)..=Ipv4Addr::new(203, 0, 113, 59)).contains(&offer.yiaddr())
    );
}

pub async fn shared_network_moves_to_next_subnet_when_full(t: &TestDb) {
    let r = rig(t).await;
    let relay = Ipv4Addr::new(10, 1, 0, 1);
    let mut got = Vec::new();
    for n in 30..35u8 {
        let c = Client::new(n);
        let pkt = c.msg(MessageType::Discover).giaddr(relay).bytes();
        match r
            .handler
            .handle(
                &pkt,
                meta_on("test0", SERVER, 24, SocketAddrV4::new(relay, 67)),
            )
            .await
        {
            Reply::Send { .. } => got.push(n),
            Reply::Drop(DropReason::PoolExhausted) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Two pools of two addresses: four clients served, the fifth finds both subnets full.
    assert_eq!(got.len(), 4);
    assert_eq!(r.handler.counters().get("pkt4-drop-pool-exhausted"), 1);
}

pub async fn malformed_packets_are_dropped_and_counted(t: &TestDb) {
    let r = rig(t).await;
    let garbage: Vec<Vec<u8>> = vec![vec![], vec![1, 2, 3], vec![0xff; 240], {
        // Cut inside the parameter request list: an option longer than the packet.
        let mut p = Client::new(40).msg(MessageType::Discover).bytes();
        p.truncate(246);
        p
    }];
    for g in garbage {
        let reply = r.send(g).await;
        assert!(matches!(reply, Reply::Drop(_)), "{reply:?}");
    }
    assert_eq!(r.handler.counters().get("pkt4-received"), 4);
    assert!(r.handler.counters().get("pkt4-receive-drop") == 4);
    // The server still works.
    r.dora(&Client::new(41)).await;
}

pub async fn client_id_identifies_the_client(t: &TestDb) {
    let r = rig(t).await;
    let c = Client::new(42).with_client_id(b"\x01host-a");
    let a = r.dora(&c).await;
    // Same client id from another NIC: same lease (match-client-id is true by default).
    let mut moved = c.clone();
    moved.mac = [0x02, 9, 9, 9, 9, 9];
    let offer = sent(r.send(moved.msg(MessageType::Discover).bytes()).await);
    assert_eq!(offer.yiaddr(), a);
}

pub async fn expired_lease_address_is_reused(t: &TestDb) {
    let r = rig(t).await;
    // Fill subnet 5's ten addresses, let them expire, then a new client still gets one.
    let relay_free = |n: u8| {
        Client::new(n)
            .msg(MessageType::Discover)
            .opt(DhcpOption::SubnetSelection(Ipv4Addr::new(203, 0, 113, 1)))
            .bytes()
    };
    for n in 50..60u8 {
        let c = Client::new(n);
        let offer = sent(r.send(relay_free(n)).await);
        let req = c
            .msg(MessageType::Request)
            .requested(offer.yiaddr())
            .server_id(SERVER)
            .opt(DhcpOption::SubnetSelection(Ipv4Addr::new(203, 0, 113, 1)))
            .bytes();
        assert_eq!(sent(r.send(req).await).kind(), MessageType::Ack);
    }
    assert!(matches!(
        r.send(relay_free(60)).await,
        Reply::Drop(DropReason::PoolExhausted)
    ));
    r.clock.advance(3601);
    let offer = sent(r.send(relay_free(61)).await);
    assert!(
        (Ipv4Addr::new(203, 0, 113, 50)..=Ipv4Addr::new(203, 0, 113, 59)).contains(&offer.yiaddr())
    );
}

/// offer-lifetime 0: OFFERs are not held in the database (Kea's default).
const UNHELD: &str = r#"{ "Dhcp4": { "valid-lifetime": 3600, "offer-lifetime": 0,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                 "pools": [ { "pool": "192.0.2.10 - 192.0.2.11" } ] } ] } }"#;

pub async fn unheld_offer_writes_nothing_and_request_commits(t: &TestDb) {
    let r = rig_with(t, UNHELD).await;
    let c = Client::new(1);
    let offer = sent(r.send(c.msg(MessageType::Discover).bytes()).await);
    assert_eq!(offer.kind(), MessageType::Offer);
    assert_eq!(offer.lease_time(), Some(3600));
    assert!(
        r.leases().all_leases4().await.unwrap().is_empty(),
        "nothing written"
    );
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 2);
    let addr = r.dora(&c).await;
    let row = r.leases().lease4_by_address(addr).await.unwrap().unwrap();
    assert_eq!((row.state, row.expire), (LeaseState::Default, T0 + 3600));
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 1);
    // The client comes back to its address; another one is offered the other address.
    let again = sent(r.send(c.msg(MessageType::Discover).bytes()).await);
    assert_eq!(again.yiaddr(), addr);
    let other = sent(
        r.send(Client::new(2).msg(MessageType::Discover).bytes())
            .await,
    );
    assert_ne!(
        other.yiaddr(),
        addr,
        "an active lease is never offered to another"
    );
    // Asking for the leased address does not get it either.
    let asked = sent(
        r.send(
            Client::new(3)
                .msg(MessageType::Discover)
                .requested(addr)
                .bytes(),
        )
        .await,
    );
    assert_ne!(asked.yiaddr(), addr);
}

pub async fn unheld_offers_that_clash_end_in_nak(t: &TestDb) {
    let r = rig_with(t, UNHELD).await;
    let (a, b, c) = (Client::new(1), Client::new(2), Client::new(3));
    // Fill one address, so both new clients can only be offered the other one.
    let first = r.dora(&c).await;
    let oa = sent(r.send(a.msg(MessageType::Discover).bytes()).await);
    let ob = sent(r.send(b.msg(MessageType::Discover).bytes()).await);
    assert_eq!(
        oa.yiaddr(),
        ob.yiaddr(),
        "nothing held: both offered the last address"
    );
    assert_ne!(oa.yiaddr(), first);
    let req = |cl: &Client| {
        cl.msg(MessageType::Request)
            .requested(oa.yiaddr())
            .server_id(SERVER)
            .bytes()
    };
    assert_eq!(sent(r.send(req(&a)).await).kind(), MessageType::Ack);
    assert_eq!(sent(r.send(req(&b)).await).kind(), MessageType::Nak);
    // b starts again and finds the pool full.
    match r.send(b.msg(MessageType::Discover).bytes()).await {
        Reply::Drop(DropReason::PoolExhausted) => {}
        other => panic!("expected pool exhausted, got {other:?}"),
    }
}

pub async fn unheld_offer_never_gives_a_file_reserved_address(t: &TestDb) {
    let config = r#"{ "Dhcp4": { "valid-lifetime": 3600, "offer-lifetime": 0,
      "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
        "pools": [ { "pool": "192.0.2.10 - 192.0.2.12" } ],
        "reservations": [ { "hw-address": "02:00:00:00:00:61", "ip-address": "192.0.2.10" },
                          { "hw-address": "02:00:00:00:00:62", "ip-address": "192.0.2.11" } ] } ] } }"#;
    let r = rig_with(t, config).await;
    // The random pick may draw a reserved address; the allocation then moves past it.
    let addr = r.dora(&Client::new(1)).await;
    assert_eq!(addr, Ipv4Addr::new(192, 0, 2, 12));
    match r
        .send(Client::new(2).msg(MessageType::Discover).bytes())
        .await
    {
        Reply::Drop(DropReason::PoolExhausted) => {}
        other => panic!("expected pool exhausted, got {other:?}"),
    }
    // The reserved clients still get their addresses.
    assert_eq!(
        r.dora(&Client::new(0x61)).await,
        Ipv4Addr::new(192, 0, 2, 10)
    );
}

battery!(
    discover_offers_pool_address_with_options,
    unheld_offer_writes_nothing_and_request_commits,
    unheld_offers_that_clash_end_in_nak,
    unheld_offer_never_gives_a_file_reserved_address,
    requested_options_are_sent,
    request_commits_offer,
    returning_client_gets_same_address,
    requested_address_is_honoured_when_free,
    address_held_by_other_gets_nak,
    renewing_extends_lease,
    init_reboot_unknown_client_is_ignored_unless_authoritative,
    init_reboot_on_wrong_network_gets_nak,
    init_reboot_known_client_gets_ack,
    request_for_other_server_frees_offer,
    request_for_other_server_keeps_the_address_it_commits,
    release_frees_address,
    decline_quarantines_address,
    inform_gets_ack_without_lease,
    relayed_discover_uses_relay_subnet_and_echoes_option_82,
    link_selection_and_subnet_selection_pick_the_subnet,
    shared_network_moves_to_next_subnet_when_full,
    malformed_packets_are_dropped_and_counted,
    client_id_identifies_the_client,
    expired_lease_address_is_reused,
);
