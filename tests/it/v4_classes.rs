//! Client classification on the packet path: expression classes select pools, add
//! options and lifetimes; the seeds' "Load Balancing with Advanced Classification"
//! configuration (deploy/kea-advanced-classification.json) works as written, with the
//! HA classes assigned by a stand-in scope filter until the HA module does it.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use dhcproto::v4::{DhcpOption, MessageType};
use shoal::clock::ManualClock;
use shoal::dhcp::v4::{Ctx, ScopeDecision, ScopeFilter, V4Handler};
use shoal::dhcp::{DropReason, Reply};

use crate::common::TestDb;
use crate::dhcp_client::{handler_for, meta, meta_on, sent, Client};

const T0: i64 = 1_800_000_000;

async fn handler(t: &TestDb, json: &str) -> V4Handler {
    handler_for(t, json, vec![t.db.hosts()], Arc::new(ManualClock::new(T0))).await
}

fn in_range(a: Ipv4Addr, lo: [u8; 4], hi: [u8; 4]) -> bool {
    (Ipv4Addr::from(lo)..=Ipv4Addr::from(hi)).contains(&a)
}

const CONFIG: &str = r#"{ "Dhcp4": {
  "valid-lifetime": 3600,
  "client-classes": [
    { "name": "voip", "test": "substring(option[60].hex, 0, 6) == 'Aastra'",
      "option-data": [ { "name": "tftp-server-name", "data": "voip-tftp" } ], "valid-lifetime": 600 },
    { "name": "pxe", "test": "option[vendor-class-identifier].text == 'PXEClient' or pkt4.htype == 0x00000006" },
    { "name": "late", "only-if-required": true,
      "option-data": [ { "name": "boot-file-name", "data": "required.bin" } ] }
  ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.19", "client-class": "voip" },
               { "pool": "192.0.2.20 - 192.0.2.29", "client-class": "pxe", "require-client-classes": [ "late" ] },
               { "pool": "192.0.2.30 - 192.0.2.39" } ] } ]
} }"#;

async fn vendor_class_selects_pool_options_and_lifetime(t: &TestDb) {
    let h = handler(t, CONFIG).await;
    let phone = Client::new(1);
    let offer = sent(
        h.handle(
            &phone
                .msg(MessageType::Discover)
                .opt(DhcpOption::ClassIdentifier(b"Aastra6731i".to_vec()))
                .prl(&[66])
                .bytes(),
            meta(),
        )
        .await,
    );
    assert!(
        in_range(offer.yiaddr(), [192, 0, 2, 10], [192, 0, 2, 19]),
        "{}",
        offer.yiaddr()
    );
    assert_eq!(offer.raw_opt(66), Some(b"voip-tftp".to_vec()));
    assert_eq!(offer.lease_time(), Some(600), "class valid-lifetime");
    let laptop = sent(
        h.handle(
            &Client::new(2).msg(MessageType::Discover).prl(&[66]).bytes(),
            meta(),
        )
        .await,
    );
    // Pools restricted to classes are not for the unclassified client.
    assert!(
        in_range(laptop.yiaddr(), [192, 0, 2, 30], [192, 0, 2, 39]),
        "{}",
        laptop.yiaddr()
    );
    assert_eq!(laptop.raw_opt(66), None);
    assert_eq!(laptop.lease_time(), Some(3600));
}

async fn required_class_of_a_pool_adds_its_options(t: &TestDb) {
    let h = handler(t, CONFIG).await;
    let pxe = Client::new(3);
    let offer = sent(
        h.handle(
            &pxe.msg(MessageType::Discover)
                .opt(DhcpOption::ClassIdentifier(b"PXEClient".to_vec()))
                .prl(&[67])
                .bytes(),
            meta(),
        )
        .await,
    );
    assert!(
        in_range(offer.yiaddr(), [192, 0, 2, 20], [192, 0, 2, 29]),
        "{}",
        offer.yiaddr()
    );
    assert_eq!(offer.raw_opt(67), Some(b"required.bin".to_vec()));
}

/// Assigns `ha_server1` / `ha_server2` by the parity of the MAC's last byte.
struct ParityScope;

impl ScopeFilter for ParityScope {
    fn decide(&self, ctx: &Ctx) -> ScopeDecision {
        let odd = ctx.hwaddr.last().is_some_and(|b| b % 2 == 1);
        ScopeDecision::Serve(Some(
            if odd { "ha_server1" } else { "ha_server2" }.to_string(),
        ))
    }
}

async fn seeds_advanced_classification_config_works_as_written(t: &TestDb) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/kea-advanced-classification.json"
    ))
    .unwrap();
    let h = handler(t, &text)
        .await
        .with_scope_filter(Arc::new(ParityScope));
    let relay = Ipv4Addr::new(10, 1, 2, 3);
    let m = || {
        meta_on(
            "test0",
            Ipv4Addr::new(10, 1, 2, 1),
            24,
            SocketAddrV4::new(relay, 67),
        )
    };
    let cases: [(u8, bool, [u8; 4], [u8; 4]); 4] = [
        (1, true, [192, 0, 3, 100], [192, 0, 3, 125]), // phone, server1
        (2, true, [192, 0, 3, 200], [192, 0, 3, 225]), // phone, server2
        (3, false, [192, 0, 3, 126], [192, 0, 3, 150]), // laptop, server1
        (4, false, [192, 0, 3, 226], [192, 0, 3, 250]), // laptop, server2
    ];
    for (n, phone, lo, hi) in cases {
        let mut msg = Client::new(n).msg(MessageType::Discover).giaddr(relay);
        if phone {
            msg = msg.opt(DhcpOption::ClassIdentifier(b"Aastra 6731i".to_vec()));
        }
        let offer = sent(h.handle(&msg.bytes(), m()).await);
        assert!(
            in_range(offer.yiaddr(), lo, hi),
            "client {n}: {}",
            offer.yiaddr()
        );
    }
}

async fn not_my_scope_is_dropped_and_counted(t: &TestDb) {
    struct Nobody;
    impl ScopeFilter for Nobody {
        fn decide(&self, _: &Ctx) -> ScopeDecision {
            ScopeDecision::NotMine
        }
    }
    let h = handler(t, CONFIG).await.with_scope_filter(Arc::new(Nobody));
    let r = h
        .handle(&Client::new(9).msg(MessageType::Discover).bytes(), meta())
        .await;
    assert!(matches!(r, Reply::Drop(DropReason::NotOurScope)));
    assert_eq!(h.counters().get("pkt4-drop-not-our-scope"), 1);
}

battery!(
    vendor_class_selects_pool_options_and_lifetime,
    required_class_of_a_pool_adds_its_options,
    seeds_advanced_classification_config_works_as_written,
    not_my_scope_is_dropped_and_counted,
);
