//! Lease-store battery: claims, release, decline, reclamation, pool loading and the
//! cluster invariant (no address ever leased twice), on SQLite, PostgreSQL and MySQL.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use shoal::store::{
    ClientKey, Db, Host, IdentifierType, Lease4, LeaseState, LeaseStore, PoolRange, PreviousOrFree,
    SubnetLeaseCounts,
};

use crate::common::TestDb;

/// The test clock.
const NOW: i64 = 1_800_000_000;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn mac(c: u8) -> Vec<u8> {
    vec![0x02, 0, 0, 0, 0, c]
}

/// Client `c`: hwaddr 02:00:00:00:00:c, client id 01 + hwaddr.
pub(crate) fn key(c: u8) -> ClientKey {
    ClientKey {
        client_id: Some([&[1u8][..], &mac(c)].concat()),
        hwaddr: mac(c),
    }
}

/// A lease of client `c` at `address` in subnet 1, expiring at `expire`.
pub(crate) fn lease(address: Ipv4Addr, c: u8, expire: i64) -> Lease4 {
    let k = key(c);
    Lease4 {
        address,
        hwaddr: k.hwaddr,
        hwtype: 1,
        client_id: k.client_id,
        valid_lifetime: 3600,
        expire,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: format!("client-{c}"),
        state: LeaseState::Default,
        user_context: None,
        relay_id: None,
        remote_id: None,
    }
}

/// 10.0.0.first – 10.0.0.last in subnet 1, pool id 7.
fn pool(first: u8, last: u8) -> PoolRange {
    PoolRange {
        start: ip(first),
        end: ip(last),
        subnet_id: 1,
        pool_id: 7,
    }
}

fn store(t: &TestDb) -> Arc<dyn LeaseStore> {
    t.db.leases()
}

/// A store with `pools` loaded.
async fn loaded(t: &TestDb, pools: &[PoolRange]) -> Arc<dyn LeaseStore> {
    let s = store(t);
    s.sync_pools4(pools, NOW).await.expect("sync_pools4");
    s
}

async fn claim_free_takes_a_free_address_in_pool(t: &TestDb) {
    let p = pool(10, 20);
    let s = loaded(t, &[p]).await;
    assert!(s
        .claim4(&lease(ip(10), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap()
        .is_some());
    let got = s
        .claim_free4(&lease(ip(0), 2, NOW + 600), &[p], NOW)
        .await
        .unwrap();
    let got = got.expect("a free address");
    // Which free address is the backend's choice (PostgreSQL starts at a random point).
    assert!(got.address > ip(10) && got.address <= ip(20), "{got:?}");
    assert_eq!(got.pool_id, 7);
    assert_eq!(s.lease4_by_address(got.address).await.unwrap(), Some(got));
}

/// Reserve `address` in subnet 1 for a client that never shows up.
async fn reserve(t: &TestDb, address: Ipv4Addr) {
    let h = Host {
        host_id: 0,
        identifier_type: IdentifierType::HwAddress,
        identifier: mac(99),
        ipv4_subnet_id: Some(1),
        ipv6_subnet_id: None,
        ipv4_address: Some(address),
        hostname: None,
        client_classes4: vec![],
        client_classes6: vec![],
        next_server: None,
        server_hostname: None,
        boot_file_name: None,
        options4: vec![],
        user_context: None,
    };
    t.db.hosts().add_host(&h).await.expect("add_host");
}

/// On PostgreSQL claims start at a random point of the range, so successive claims do
/// not queue for the bottom of the pool (the other backends take the lowest).
async fn claim_free_spreads_over_the_pool_on_postgres(t: &TestDb) {
    let p = pool(10, 209);
    let s = loaded(t, &[p]).await;
    let mut got = Vec::new();
    for c in 1..=8 {
        let l = s.claim_free4(&lease(ip(0), c, NOW + 600), &[p], NOW).await;
        got.push(l.unwrap().expect("a free address").address);
    }
    let lowest: Vec<Ipv4Addr> = (10..18).map(ip).collect();
    if t.backend == crate::common::Backend::Postgres {
        assert_ne!(got, lowest, "claims start at random points");
    } else {
        assert_eq!(got, lowest, "claims take the lowest free address");
    }
}

async fn claim_free_skips_reserved_address(t: &TestDb) {
    let p = pool(10, 12);
    let s = loaded(t, &[p]).await;
    reserve(t, ip(10)).await;
    let mut got = HashSet::new();
    for c in 1..=3 {
        let l = s
            .claim_free4(&lease(ip(0), c, NOW + 600), &[p], NOW)
            .await
            .unwrap();
        got.insert(l.map(|l| l.address));
    }
    assert_eq!(got, HashSet::from([Some(ip(11)), Some(ip(12)), None]));
}

async fn claim_free_returns_none_when_pool_full(t: &TestDb) {
    let p = pool(10, 12);
    let s = loaded(t, &[p]).await;
    let mut seen = HashSet::new();
    for c in 1..=3 {
        let got = s
            .claim_free4(&lease(ip(0), c, NOW + 600), &[p], NOW)
            .await
            .unwrap();
        assert!(seen.insert(got.expect("free address").address));
    }
    assert_eq!(
        s.claim_free4(&lease(ip(0), 4, NOW + 600), &[p], NOW)
            .await
            .unwrap(),
        None
    );
}

async fn claim_free_moves_to_next_range(t: &TestDb) {
    let (a, b) = (
        pool(10, 10),
        PoolRange {
            pool_id: 8,
            ..pool(30, 31)
        },
    );
    let s = loaded(t, &[a, b]).await;
    let first = s
        .claim_free4(&lease(ip(0), 1, NOW + 600), &[b, a], NOW)
        .await
        .unwrap();
    assert_eq!(first.map(|l| (l.address, l.pool_id)), Some((ip(10), 7)));
    let second = s
        .claim_free4(&lease(ip(0), 2, NOW + 600), &[b, a], NOW)
        .await
        .unwrap()
        .expect("the next range");
    assert!(
        [ip(30), ip(31)].contains(&second.address) && second.pool_id == 8,
        "{second:?}"
    );
}

async fn claim4_renews_own_lease(t: &TestDb) {
    let s = store(t);
    assert!(s
        .claim4(&lease(ip(5), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap()
        .is_some());
    let renewed = lease(ip(5), 1, NOW + 7200);
    let got = s.claim4(&renewed, &key(1), NOW + 100).await.unwrap();
    assert_eq!(got, Some(renewed.clone()));
    assert_eq!(s.lease4_by_address(ip(5)).await.unwrap(), Some(renewed));
}

async fn claim4_refuses_address_held_by_other(t: &TestDb) {
    let s = store(t);
    let mine = lease(ip(5), 1, NOW + 600);
    assert!(s.claim4(&mine, &key(1), NOW).await.unwrap().is_some());
    let theirs = lease(ip(5), 2, NOW + 600);
    assert_eq!(s.claim4(&theirs, &key(2), NOW).await.unwrap(), None);
    assert_eq!(s.lease4_by_address(ip(5)).await.unwrap(), Some(mine));
}

async fn claim4_takes_expired_address(t: &TestDb) {
    let s = store(t);
    assert!(s
        .claim4(&lease(ip(5), 1, NOW - 10), &key(1), NOW - 3600)
        .await
        .unwrap()
        .is_some());
    let theirs = lease(ip(5), 2, NOW + 600);
    assert_eq!(
        s.claim4(&theirs, &key(2), NOW).await.unwrap(),
        Some(theirs.clone())
    );
    assert_eq!(s.lease4_by_address(ip(5)).await.unwrap(), Some(theirs));
}

async fn offer_then_request_converts_state(t: &TestDb) {
    let p = pool(10, 11);
    let s = loaded(t, &[p]).await;
    let offer = Lease4 {
        state: LeaseState::Offered,
        ..lease(ip(0), 1, NOW + 60)
    };
    let offered = s
        .claim_free4(&offer, &[p], NOW)
        .await
        .unwrap()
        .expect("offer");
    assert_eq!(offered.state, LeaseState::Offered);
    let other = lease(offered.address, 2, NOW + 3600);
    assert_eq!(s.claim4(&other, &key(2), NOW + 1).await.unwrap(), None);
    let request = Lease4 {
        pool_id: 7,
        ..lease(offered.address, 1, NOW + 3600)
    };
    let got = s.claim4(&request, &key(1), NOW + 2).await.unwrap();
    assert_eq!(got.map(|l| l.state), Some(LeaseState::Default));
    let row = s
        .lease4_by_address(offered.address)
        .await
        .unwrap()
        .expect("row");
    assert_eq!((row.state, row.expire), (LeaseState::Default, NOW + 3600));
}

async fn release_frees_address_for_others(t: &TestDb) {
    let p = pool(10, 10);
    let s = loaded(t, &[p]).await;
    let mine = s
        .claim_free4(&lease(ip(0), 1, NOW + 600), &[p], NOW)
        .await
        .unwrap();
    assert_eq!(mine.map(|l| l.address), Some(ip(10)));
    assert_eq!(
        s.claim_free4(&lease(ip(0), 2, NOW + 600), &[p], NOW)
            .await
            .unwrap(),
        None
    );
    assert!(s.release4(ip(10), &key(1), NOW + 5).await.unwrap());
    let row = s
        .lease4_by_address(ip(10))
        .await
        .unwrap()
        .expect("row kept");
    assert_eq!((row.state, row.expire), (LeaseState::Released, NOW + 5));
    let theirs = s
        .claim_free4(&lease(ip(0), 2, NOW + 600), &[p], NOW + 6)
        .await
        .unwrap();
    assert_eq!(theirs.map(|l| l.hwaddr), Some(mac(2)));
}

async fn release_by_other_client_is_refused(t: &TestDb) {
    let s = store(t);
    let mine = lease(ip(5), 1, NOW + 600);
    s.claim4(&mine, &key(1), NOW).await.unwrap();
    assert!(!s.release4(ip(5), &key(2), NOW).await.unwrap());
    let hw_only = ClientKey {
        client_id: None,
        hwaddr: mac(3),
    };
    assert!(!s.release4(ip(5), &hw_only, NOW).await.unwrap());
    assert_eq!(s.lease4_by_address(ip(5)).await.unwrap(), Some(mine));
}

async fn decline_holds_address_for_probation(t: &TestDb) {
    let p = pool(10, 10);
    let s = loaded(t, &[p]).await;
    s.claim_free4(&lease(ip(0), 1, NOW + 600), &[p], NOW)
        .await
        .unwrap()
        .expect("lease");
    assert!(!s.decline4(ip(10), &key(2), 86_400, NOW).await.unwrap());
    assert!(s.decline4(ip(10), &key(1), 86_400, NOW).await.unwrap());
    let row = s.lease4_by_address(ip(10)).await.unwrap().expect("row");
    assert_eq!(row.state, LeaseState::Declined);
    assert_eq!(row.expire, NOW + 86_400);
    assert!(row.hwaddr.is_empty() && row.client_id.is_none() && row.hostname.is_empty());
    // Nobody, not even the decliner, gets it during probation.
    assert_eq!(
        s.claim_free4(&lease(ip(0), 2, NOW + 600), &[p], NOW + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.claim4(&lease(ip(10), 1, NOW + 600), &key(1), NOW + 1)
            .await
            .unwrap(),
        None
    );
    let later = NOW + 86_401;
    assert!(s
        .claim4(&lease(ip(10), 2, later + 600), &key(2), later)
        .await
        .unwrap()
        .is_some());
}

async fn reclaim_expired_returns_addresses_to_free_list(t: &TestDb) {
    let p = pool(10, 11);
    let s = loaded(t, &[p]).await;
    for c in 1..=2 {
        s.claim_free4(&lease(ip(0), c, NOW + 10), &[p], NOW)
            .await
            .unwrap()
            .expect("lease");
    }
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 0);
    assert_eq!(s.reclaim_expired4(NOW + 20, 100).await.unwrap(), 2);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 2);
    let row = s
        .lease4_by_address(ip(10))
        .await
        .unwrap()
        .expect("row kept");
    assert_eq!(row.state, LeaseState::ExpiredReclaimed);
    assert_eq!(s.reclaim_expired4(NOW + 20, 100).await.unwrap(), 0);
    let got = s
        .claim_free4(&lease(ip(0), 3, NOW + 600), &[p], NOW + 21)
        .await
        .unwrap();
    assert!(
        matches!(got, Some(ref l) if [ip(10), ip(11)].contains(&l.address)),
        "{got:?}"
    );
}

async fn reclaim_is_bounded_by_max(t: &TestDb) {
    let s = store(t);
    for c in 1..=5 {
        s.claim4(&lease(ip(c), c, NOW + i64::from(c)), &key(c), NOW)
            .await
            .unwrap();
    }
    let later = NOW + 100;
    assert_eq!(s.reclaim_expired4(later, 2).await.unwrap(), 2);
    // Oldest first: the first batch took the two earliest expiries (10.0.0.1 and .2).
    let reclaimed: Vec<Ipv4Addr> = s
        .all_leases4()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.state == LeaseState::ExpiredReclaimed)
        .map(|l| l.address)
        .collect();
    assert_eq!(reclaimed, vec![ip(1), ip(2)]);
    let rest = [
        s.reclaim_expired4(later, 2).await.unwrap(),
        s.reclaim_expired4(later, 2).await.unwrap(),
        s.reclaim_expired4(later, 2).await.unwrap(),
    ];
    assert_eq!(rest, [2, 1, 0]);
}

async fn flush_removes_old_reclaimed_rows(t: &TestDb) {
    let s = store(t);
    s.claim4(&lease(ip(5), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap();
    s.claim4(&lease(ip(6), 2, NOW + 600), &key(2), NOW)
        .await
        .unwrap();
    assert!(s.release4(ip(5), &key(1), NOW).await.unwrap());
    assert_eq!(s.flush_reclaimed4(NOW + 5, 10).await.unwrap(), 0);
    assert_eq!(s.flush_reclaimed4(NOW + 20, 10).await.unwrap(), 1);
    assert_eq!(s.lease4_by_address(ip(5)).await.unwrap(), None);
    assert!(s.lease4_by_address(ip(6)).await.unwrap().is_some());
}

async fn sync_pools_is_idempotent_and_skips_leased(t: &TestDb) {
    let p = pool(10, 19);
    let s = store(t);
    s.claim4(&lease(ip(12), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap();
    s.claim4(&lease(ip(13), 2, NOW - 1), &key(2), NOW - 600)
        .await
        .unwrap(); // expired
    s.sync_pools4(&[p], NOW).await.unwrap();
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 9);
    s.sync_pools4(&[p], NOW).await.unwrap();
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 9);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM lease4_pool").await, 1);
    let leased = t
        .raw_count("SELECT COUNT(*) FROM free_lease4 WHERE address = 167772172")
        .await;
    assert_eq!(leased, 0, "10.0.0.12 is leased and must not be free");
    let mut got = Vec::new();
    while let Some(l) = s
        .claim_free4(&lease(ip(0), 3, NOW + 600), &[p], NOW)
        .await
        .unwrap()
    {
        got.push(l.address);
    }
    assert_eq!(got.len(), 9);
    assert!(!got.contains(&ip(12)));
}

async fn claim_expired_takes_oldest(t: &TestDb) {
    let p = pool(10, 19);
    let s = store(t);
    s.claim4(&lease(ip(10), 1, NOW - 100), &key(1), NOW - 1000)
        .await
        .unwrap();
    s.claim4(&lease(ip(11), 2, NOW - 500), &key(2), NOW - 1000)
        .await
        .unwrap();
    s.claim4(&lease(ip(12), 3, NOW + 500), &key(3), NOW - 1000)
        .await
        .unwrap();
    s.claim4(&lease(ip(40), 4, NOW - 900), &key(4), NOW - 1000)
        .await
        .unwrap(); // outside
    let take = |c| lease(ip(0), c, NOW + 600);
    let first = s
        .claim_expired4(&take(5), &[p], NOW)
        .await
        .unwrap()
        .expect("expired");
    assert_eq!((first.address, first.pool_id), (ip(11), 7));
    let row = s.lease4_by_address(ip(11)).await.unwrap().expect("row");
    assert_eq!(row.hwaddr, mac(5));
    let second = s.claim_expired4(&take(6), &[p], NOW).await.unwrap();
    assert_eq!(second.map(|l| l.address), Some(ip(10)));
    assert_eq!(s.claim_expired4(&take(7), &[p], NOW).await.unwrap(), None);
}

async fn lease4_by_client_prefers_client_id(t: &TestDb) {
    let s = store(t);
    let by_cid = lease(ip(10), 1, NOW + 100);
    // Same hwaddr, other client id, later expiry.
    let same_hw = Lease4 {
        client_id: Some(vec![9, 9]),
        ..lease(ip(11), 1, NOW + 900)
    };
    s.claim4(&by_cid, &key(1), NOW).await.unwrap();
    s.claim4(&same_hw, &key(1), NOW).await.unwrap();
    let got = s.lease4_by_client(&key(1), &[1]).await.unwrap();
    assert_eq!(got.map(|l| l.address), Some(ip(10)));
    let hw_only = ClientKey {
        client_id: None,
        hwaddr: mac(1),
    };
    let got = s.lease4_by_client(&hw_only, &[1]).await.unwrap();
    assert_eq!(got.map(|l| l.address), Some(ip(11)));
    assert_eq!(s.lease4_by_client(&key(1), &[2]).await.unwrap(), None);
    assert!(s.release4(ip(10), &key(1), NOW).await.unwrap());
    assert_eq!(s.lease4_by_client(&key(1), &[1, 2]).await.unwrap(), None);
}

async fn counts_per_subnet(t: &TestDb) {
    let s = store(t);
    s.claim4(&lease(ip(1), 1, NOW + 100), &key(1), NOW)
        .await
        .unwrap();
    s.claim4(&lease(ip(2), 2, NOW + 100), &key(2), NOW)
        .await
        .unwrap();
    s.claim4(&lease(ip(3), 3, NOW + 100), &key(3), NOW)
        .await
        .unwrap();
    s.claim4(&lease(ip(4), 4, NOW - 1), &key(4), NOW - 100)
        .await
        .unwrap(); // expired
    let other = Lease4 {
        subnet_id: 2,
        ..lease(ip(5), 5, NOW + 100)
    };
    s.claim4(&other, &key(5), NOW).await.unwrap();
    assert!(s.decline4(ip(3), &key(3), 600, NOW).await.unwrap());
    let counts = s.lease4_counts(NOW).await.unwrap();
    let want = vec![
        SubnetLeaseCounts {
            subnet_id: 1,
            assigned: 2,
            declined: 1,
        },
        SubnetLeaseCounts {
            subnet_id: 2,
            assigned: 1,
            declined: 0,
        },
    ];
    assert_eq!(counts, want);
}

async fn upload_is_all_or_nothing(t: &TestDb) {
    let s = store(t);
    let good = vec![
        lease(ip(3), 3, NOW),
        lease(ip(1), 1, NOW),
        lease(ip(2), 2, NOW),
    ];
    assert_eq!(s.upload_leases4(&good).await.unwrap(), 3);
    let all: Vec<Ipv4Addr> = s
        .all_leases4()
        .await
        .unwrap()
        .iter()
        .map(|l| l.address)
        .collect();
    assert_eq!(all, vec![ip(1), ip(2), ip(3)]);
    let bad = vec![lease(ip(9), 9, NOW), lease(ip(2), 4, NOW)];
    let err = s.upload_leases4(&bad).await.expect_err("duplicate address");
    assert!(
        matches!(err, shoal::store::StoreError::Conflict(_)),
        "{err:?}"
    );
    assert_eq!(s.lease4_by_address(ip(9)).await.unwrap(), None);
}

async fn concurrent_allocations_never_duplicate(t: &TestDb) {
    let p = pool(100, 115);
    let s1 = loaded(t, &[p]).await;
    let second = Db::connect(&t.config).await.expect("second handle");
    let s2 = second.leases();
    let tasks: Vec<_> = (0..64u8)
        .map(|c| {
            let s = if c % 2 == 0 { s1.clone() } else { s2.clone() };
            tokio::spawn(async move {
                let got = s.claim_free4(&lease(ip(0), c, NOW + 600), &[p], NOW).await;
                (c, got.expect("claim_free4"))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (c, got) = task.await.expect("task");
        if let Some(l) = got {
            winners.push((c, l.address));
        }
    }
    assert_eq!(winners.len(), 16);
    let distinct: HashSet<Ipv4Addr> = winners.iter().map(|w| w.1).collect();
    assert_eq!(distinct.len(), 16);
    let rows = s1.all_leases4().await.unwrap();
    assert_eq!(rows.len(), 16);
    for (c, address) in winners {
        let row = rows
            .iter()
            .find(|r| r.address == address)
            .expect("row of winner");
        assert_eq!(
            row.hwaddr,
            mac(c),
            "{address} belongs to the client that got it"
        );
    }
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 0);
    second.close().await;
}

async fn concurrent_claims_of_one_address_only_one_wins(t: &TestDb) {
    let second = Db::connect(&t.config).await.expect("second handle");
    let (s1, s2) = (store(t), second.leases());
    let tasks: Vec<_> = (1..=20u8)
        .map(|c| {
            let s = if c % 2 == 0 { s1.clone() } else { s2.clone() };
            tokio::spawn(async move {
                let got = s.claim4(&lease(ip(50), c, NOW + 600), &key(c), NOW).await;
                (c, got.expect("claim4"))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (c, got) = task.await.expect("task");
        if got.is_some() {
            winners.push(c);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let row = s1.lease4_by_address(ip(50)).await.unwrap().expect("row");
    assert_eq!(row.hwaddr, mac(winners[0]));
    second.close().await;
}

/// Many concurrent claims (distinct addresses, plus five clients after one address, and
/// one client renewing its own lease twice at once) decide exactly as they would one by
/// one; where the backend groups claims into shared commits, some did share one.
async fn concurrent_claims_decide_as_single_ones(t: &TestDb) {
    let s = loaded(t, &[pool(10, 60)]).await;
    let mine = lease(ip(60), 200, NOW + 600);
    assert!(s.claim4(&mine, &key(200), NOW).await.unwrap().is_some());
    let before = s.claim_batches();
    let start = Arc::new(tokio::sync::Barrier::new(48));
    let tasks: Vec<_> = (1..=48u8)
        .map(|c| {
            let (s, start) = (s.clone(), start.clone());
            // 1..=40: one address each; 41..=45: all after .55; 46..=48: .60, whose
            // owner (200) is not among them, then the owner twice at once.
            let (address, client) = match c {
                1..=40 => (ip(9 + c), c),
                41..=45 => (ip(55), c),
                46 => (ip(60), c),
                _ => (ip(60), 200),
            };
            tokio::spawn(async move {
                start.wait().await;
                let l = lease(address, client, NOW + 900);
                let got = s.claim4(&l, &key(client), NOW).await;
                (c, address, got.expect("claim4"))
            })
        })
        .collect();
    let mut at_55 = Vec::new();
    for task in tasks {
        let (c, address, got) = task.await.expect("task");
        match c {
            1..=40 => assert!(got.is_some(), "client {c} gets its free {address}"),
            41..=45 => {
                if got.is_some() {
                    at_55.push(c);
                }
            }
            46 => assert_eq!(got, None, "{address} is held by its owner"),
            _ => assert!(got.is_some(), "the owner renews {address}"),
        }
    }
    assert_eq!(at_55.len(), 1, "one winner of .55: {at_55:?}");
    let row = s.lease4_by_address(ip(55)).await.unwrap().expect("row");
    assert_eq!(row.hwaddr, mac(at_55[0]));
    let row = s.lease4_by_address(ip(60)).await.unwrap().expect("row");
    assert_eq!((row.hwaddr, row.expire), (mac(200), NOW + 900));
    for c in 1..=40u8 {
        let row = s.lease4_by_address(ip(9 + c)).await.unwrap().expect("row");
        assert_eq!(row.hwaddr, mac(c));
    }
    assert_eq!(
        before.is_some(),
        t.backend != crate::common::Backend::Sqlite,
        "PostgreSQL and MySQL group claims"
    );
    if let (Some(b), Some(a)) = (before, s.claim_batches()) {
        let (statements, claims) = (a.statements - b.statements, a.claims - b.claims);
        assert_eq!(claims, 48);
        assert!(
            statements < claims,
            "{claims} claims in {statements} commits"
        );
    }
}

/// Two front-ends (two store handles) each with claims of the same ten addresses in
/// flight at once, interleaved, so their shared commits overlap: every address
/// ends with exactly one holder, every claim reported as won is that holder's, and no
/// claim fails (lock conflicts between the batches are waited out or retried).
async fn overlapping_batches_of_two_front_ends_never_double_lease(t: &TestDb) {
    let second = Db::connect(&t.config).await.expect("second handle");
    let (s1, s2) = (loaded(t, &[pool(10, 19)]).await, second.leases());
    let start = Arc::new(tokio::sync::Barrier::new(60));
    let tasks: Vec<_> = (1..=60u8)
        .map(|c| {
            let s = if c % 2 == 0 { s1.clone() } else { s2.clone() };
            let start = start.clone();
            // Client c wants .10 + (7c mod 10): six clients per address.
            let address = ip(10 + (c % 10 * 7) % 10);
            tokio::spawn(async move {
                start.wait().await;
                let l = lease(address, c, NOW + 600);
                (
                    c,
                    address,
                    s.claim4(&l, &key(c), NOW).await.expect("claim4"),
                )
            })
        })
        .collect();
    let mut won = std::collections::HashMap::new();
    for task in tasks {
        let (c, address, got) = task.await.expect("task");
        if got.is_some() {
            assert!(won.insert(address, c).is_none(), "{address} won twice");
        }
    }
    assert_eq!(won.len(), 10, "every address has a holder: {won:?}");
    for (address, c) in won {
        let row = s1.lease4_by_address(address).await.unwrap().expect("row");
        assert_eq!(row.hwaddr, mac(c), "{address} is held by its winner");
    }
    second.close().await;
}

/// A claim the database refuses (a hostname longer than the column, where the backend
/// checks) fails alone: the claims that went with it in a shared commit still succeed.
async fn one_failing_claim_does_not_fail_its_batch(t: &TestDb) {
    let s = loaded(t, &[pool(10, 250)]).await;
    // The database servers refuse it (SQLite does not check lengths) and group claims.
    let server = t.backend != crate::common::Backend::Sqlite;
    // Until a shared statement was split (20 claims at once nearly always share one).
    for attempt in 0..5u8 {
        let start = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (1..=20u8)
            .map(|n| {
                let (s, start) = (s.clone(), start.clone());
                let c = 20 * attempt + n;
                tokio::spawn(async move {
                    let mut l = lease(ip(9 + c), c, NOW + 900);
                    if n == 7 {
                        l.hostname = "h".repeat(400);
                    }
                    start.wait().await;
                    (n, c, s.claim4(&l, &key(c), NOW).await)
                })
            })
            .collect();
        for task in tasks {
            let (n, c, got) = task.await.expect("task");
            if n == 7 {
                assert!(
                    !server || got.is_err(),
                    "the server refuses the long hostname"
                );
                continue;
            }
            assert!(got.expect("claim4").is_some(), "client {c}");
            let row = s.lease4_by_address(ip(9 + c)).await.unwrap().expect("row");
            assert_eq!(row.hwaddr, mac(c));
        }
        if !server || s.claim_batches().is_some_and(|b| b.split > 0) {
            return;
        }
    }
    panic!("no shared claim statement was split in five attempts");
}

async fn late_offer_does_not_downgrade_active_lease(t: &TestDb) {
    let s = loaded(t, &[pool(10, 20)]).await;
    let committed = lease(ip(12), 3, NOW + 3600);
    s.claim4(&committed, &key(3), NOW)
        .await
        .unwrap()
        .expect("committed");
    // A sibling front-end, late, writes an offer of the same address to the same client.
    let mut offer = lease(ip(12), 3, NOW + 30);
    offer.state = LeaseState::Offered;
    let got = s
        .claim4(&offer, &key(3), NOW + 1)
        .await
        .unwrap()
        .expect("offer answered");
    assert_eq!(
        got.state,
        LeaseState::Default,
        "returned the existing lease"
    );
    assert_eq!(got.expire, NOW + 3600);
    let row = s.lease4_by_address(ip(12)).await.unwrap().unwrap();
    assert_eq!(row.state, LeaseState::Default);
    assert_eq!(row.expire, NOW + 3600);
}

async fn release_offers_frees_other_offers_only(t: &TestDb) {
    let s = loaded(t, &[pool(10, 20)]).await;
    let mut offer = lease(ip(13), 4, NOW + 30);
    offer.state = LeaseState::Offered;
    s.claim4(&offer, &key(4), NOW)
        .await
        .unwrap()
        .expect("offered");
    let mut other = lease(ip(15), 4, NOW + 30);
    other.state = LeaseState::Offered;
    s.claim4(&other, &key(4), NOW)
        .await
        .unwrap()
        .expect("offered by a sibling");
    assert_eq!(
        s.release_offers4(&key(5), ip(15), NOW).await.unwrap(),
        0,
        "not another client's"
    );
    // The client chose the server committing .15: .13 goes, .15 stays.
    assert_eq!(s.release_offers4(&key(4), ip(15), NOW).await.unwrap(), 1);
    assert!(s
        .lease4_by_address(ip(13))
        .await
        .unwrap()
        .unwrap()
        .state
        .is_free());
    assert_eq!(
        s.lease4_by_address(ip(15)).await.unwrap().unwrap().state,
        LeaseState::Offered
    );
    // A committed lease is left alone.
    s.claim4(&lease(ip(14), 4, NOW + 3600), &key(4), NOW)
        .await
        .unwrap()
        .expect("lease");
    s.release_offers4(&key(4), ip(15), NOW).await.unwrap();
    assert_eq!(
        s.lease4_by_address(ip(14)).await.unwrap().unwrap().state,
        LeaseState::Default
    );
}

async fn previous_or_free_returns_the_clients_row_without_writing(t: &TestDb) {
    let p = pool(10, 20);
    let s = loaded(t, &[p]).await;
    let mine = lease(ip(15), 1, NOW + 600);
    assert!(s.claim4(&mine, &key(1), NOW).await.unwrap().is_some());
    let got = s
        .previous_or_free4(&key(1), &[1], &lease(ip(0), 1, NOW + 900), &[p], NOW)
        .await
        .unwrap();
    assert_eq!(got, PreviousOrFree::Previous(ip(15)));
    // Nothing was taken from the free list and the lease is unchanged.
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 10);
    assert_eq!(s.lease4_by_address(ip(15)).await.unwrap(), Some(mine));
    // A row in another subnet is not the client's previous address here.
    let got = s
        .previous_or_free4(&key(1), &[2], &lease(ip(0), 1, NOW + 900), &[p], NOW)
        .await
        .unwrap();
    assert!(
        matches!(got, PreviousOrFree::Free(Some(ref l))
            if l.address != ip(15) && (ip(10)..=ip(20)).contains(&l.address)),
        "{got:?}"
    );
}

async fn previous_or_free_claims_for_a_new_client(t: &TestDb) {
    let p = pool(10, 11);
    let s = loaded(t, &[p]).await;
    let mut offer = lease(ip(0), 2, NOW + 600);
    offer.state = LeaseState::Offered;
    let got = s
        .previous_or_free4(&key(2), &[1], &offer, &[p], NOW)
        .await
        .unwrap();
    let PreviousOrFree::Free(Some(l)) = got else {
        panic!("claimed: {got:?}")
    };
    assert!([ip(10), ip(11)].contains(&l.address), "{l:?}");
    assert_eq!((l.pool_id, l.state), (7, LeaseState::Offered));
    let (mine, other) = (l.address, if l.address == ip(10) { ip(11) } else { ip(10) });
    assert_eq!(s.lease4_by_address(mine).await.unwrap(), Some(l));
    // The next call of the same client finds that row instead of taking another.
    let again = s
        .previous_or_free4(&key(2), &[1], &offer, &[p], NOW)
        .await
        .unwrap();
    assert_eq!(again, PreviousOrFree::Previous(mine));
    // A client with no identifier at all still gets a free address; then the pool is full.
    let anon = ClientKey {
        client_id: None,
        hwaddr: Vec::new(),
    };
    let got = s
        .previous_or_free4(&anon, &[1], &offer, &[p], NOW)
        .await
        .unwrap();
    assert!(
        matches!(got, PreviousOrFree::Free(Some(ref l)) if l.address == other),
        "{got:?}"
    );
    let got = s
        .previous_or_free4(&key(3), &[1], &offer, &[p], NOW)
        .await
        .unwrap();
    assert_eq!(got, PreviousOrFree::Free(None));
}

async fn concurrent_previous_or_free_never_duplicate(t: &TestDb) {
    let p = pool(100, 111);
    let s1 = loaded(t, &[p]).await;
    let second = Db::connect(&t.config).await.expect("second handle");
    let s2 = second.leases();
    // 24 clients, each asking twice at once through different handles, for 12 addresses.
    let tasks: Vec<_> = (0..48u8)
        .map(|i| {
            let c = i / 2;
            let s = if i % 2 == 0 { s1.clone() } else { s2.clone() };
            tokio::spawn(async move {
                let got = s
                    .previous_or_free4(&key(c), &[1], &lease(ip(0), c, NOW + 600), &[p], NOW)
                    .await;
                got.expect("previous_or_free4")
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let rows = s1.all_leases4().await.unwrap();
    assert_eq!(rows.len(), 12, "every address claimed exactly once");
    let owners: HashSet<Vec<u8>> = rows.iter().map(|r| r.hwaddr.clone()).collect();
    assert!(
        owners.len() >= 6,
        "rows spread over clients: {}",
        owners.len()
    );
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 0);
    second.close().await;
}

async fn peek_free_picks_a_free_address_without_writing(t: &TestDb) {
    // 60 addresses: picks start at random points, so they spread over the pool.
    let p = PoolRange {
        start: Ipv4Addr::new(10, 0, 1, 0),
        end: Ipv4Addr::new(10, 0, 1, 59),
        subnet_id: 1,
        pool_id: 7,
    };
    let s = loaded(t, &[p]).await;
    let mut seen = HashSet::new();
    for _ in 0..40 {
        let a = s
            .peek_free4(1, &[p], NOW)
            .await
            .unwrap()
            .expect("a free address");
        assert!((p.start..=p.end).contains(&a), "{a} lies in the pool");
        seen.insert(a);
    }
    assert!(
        seen.len() > 1,
        "picks are spread, not always the same address"
    );
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM free_lease4").await,
        60,
        "nothing taken"
    );
    assert!(s.all_leases4().await.unwrap().is_empty());
}

/// Picks that start above the last free address wrap round to the bottom of the range:
/// with only the lowest (then only the highest) address free, every pick finds it.
async fn free_picks_wrap_round_to_the_start_of_the_range(t: &TestDb) {
    let p = pool(10, 40);
    let s = loaded(t, &[p]).await;
    for a in 11..=39 {
        let got = s.claim4(&lease(ip(a), a, NOW + 600), &key(a), NOW).await;
        assert!(got.unwrap().is_some());
    }
    // .10 and .40 are free; a claimed .40 leaves only the bottom one.
    assert!(s
        .claim4(&lease(ip(40), 40, NOW + 600), &key(40), NOW)
        .await
        .unwrap()
        .is_some());
    for _ in 0..20 {
        assert_eq!(s.peek_free4(1, &[p], NOW).await.unwrap(), Some(ip(10)));
    }
    let got = s
        .claim_free4(&lease(ip(0), 10, NOW + 600), &[p], NOW)
        .await
        .unwrap();
    assert_eq!(got.map(|l| l.address), Some(ip(10)));
    // Only the top one free: picks from any point below find it.
    assert!(s.release4(ip(40), &key(40), NOW).await.unwrap());
    for _ in 0..20 {
        assert_eq!(s.peek_free4(1, &[p], NOW).await.unwrap(), Some(ip(40)));
    }
    let got = s
        .claim_free4(&lease(ip(0), 41, NOW + 600), &[p], NOW)
        .await
        .unwrap();
    assert_eq!(got.map(|l| l.address), Some(ip(40)));
    assert_eq!(s.peek_free4(1, &[p], NOW).await.unwrap(), None);
}

async fn peek_free_skips_leased_and_reserved_addresses(t: &TestDb) {
    let p = pool(10, 12);
    let s = loaded(t, &[p]).await;
    // .10 is reserved for someone; .11 is leased.
    reserve(t, ip(10)).await;
    assert!(s
        .claim4(&lease(ip(11), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap()
        .is_some());
    for _ in 0..10 {
        assert_eq!(s.peek_free4(1, &[p], NOW).await.unwrap(), Some(ip(12)));
    }
    assert!(s
        .claim4(&lease(ip(12), 2, NOW + 600), &key(2), NOW)
        .await
        .unwrap()
        .is_some());
    assert_eq!(s.peek_free4(1, &[p], NOW).await.unwrap(), None);
    assert_eq!(s.peek_free4(1, &[], NOW).await.unwrap(), None);
}

async fn peek_expired_finds_the_oldest_without_taking_it(t: &TestDb) {
    let p = pool(10, 12);
    let s = loaded(t, &[p]).await;
    for (a, c, exp) in [(10, 1, NOW - 50), (11, 2, NOW - 500), (12, 3, NOW + 500)] {
        assert!(s
            .claim4(&lease(ip(a), c, exp), &key(c), NOW - 1000)
            .await
            .unwrap()
            .is_some());
    }
    assert_eq!(s.peek_expired4(1, &[p], NOW).await.unwrap(), Some(ip(11)));
    assert_eq!(
        s.peek_expired4(1, &[p], NOW).await.unwrap(),
        Some(ip(11)),
        "not taken"
    );
    assert_eq!(
        s.peek_expired4(1, &[pool(12, 12)], NOW).await.unwrap(),
        None
    );
}

async fn previous_or_peek_reads_only(t: &TestDb) {
    let p = pool(10, 12);
    let s = loaded(t, &[p]).await;
    assert!(s
        .claim4(&lease(ip(12), 1, NOW + 600), &key(1), NOW)
        .await
        .unwrap()
        .is_some());
    let got = s
        .previous_or_peek4(&key(1), &[1], 1, &[p], NOW)
        .await
        .unwrap();
    assert_eq!(got, PreviousOrFree::Previous(ip(12)));
    let got = s
        .previous_or_peek4(&key(2), &[1], 1, &[p], NOW)
        .await
        .unwrap();
    assert!(
        matches!(got, PreviousOrFree::Free(Some(a)) if a == ip(10) || a == ip(11)),
        "{got:?}"
    );
    let anon = ClientKey {
        client_id: None,
        hwaddr: Vec::new(),
    };
    let got = s
        .previous_or_peek4(&anon, &[1], 1, &[p], NOW)
        .await
        .unwrap();
    assert!(matches!(got, PreviousOrFree::Free(Some(_))), "{got:?}");
    let got = s
        .previous_or_peek4(&key(2), &[1], 1, &[], NOW)
        .await
        .unwrap();
    assert_eq!(got, PreviousOrFree::Free(None));
    assert_eq!(s.all_leases4().await.unwrap().len(), 1, "nothing written");
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM free_lease4").await, 2);
}

battery!(
    claim_free_takes_a_free_address_in_pool,
    claim_free_skips_reserved_address,
    claim_free_spreads_over_the_pool_on_postgres,
    claim_free_returns_none_when_pool_full,
    claim_free_moves_to_next_range,
    claim4_renews_own_lease,
    claim4_refuses_address_held_by_other,
    claim4_takes_expired_address,
    offer_then_request_converts_state,
    release_frees_address_for_others,
    release_by_other_client_is_refused,
    decline_holds_address_for_probation,
    reclaim_expired_returns_addresses_to_free_list,
    reclaim_is_bounded_by_max,
    flush_removes_old_reclaimed_rows,
    sync_pools_is_idempotent_and_skips_leased,
    claim_expired_takes_oldest,
    lease4_by_client_prefers_client_id,
    counts_per_subnet,
    upload_is_all_or_nothing,
    concurrent_allocations_never_duplicate,
    concurrent_claims_of_one_address_only_one_wins,
    late_offer_does_not_downgrade_active_lease,
    concurrent_claims_decide_as_single_ones,
    overlapping_batches_of_two_front_ends_never_double_lease,
    one_failing_claim_does_not_fail_its_batch,
    release_offers_frees_other_offers_only,
    previous_or_free_returns_the_clients_row_without_writing,
    previous_or_free_claims_for_a_new_client,
    concurrent_previous_or_free_never_duplicate,
    peek_free_picks_a_free_address_without_writing,
    free_picks_wrap_round_to_the_start_of_the_range,
    peek_free_skips_leased_and_reserved_addresses,
    peek_expired_finds_the_oldest_without_taking_it,
    previous_or_peek_reads_only,
);
