//! Store conformance battery: schema management (init, version, upgrade, divergence,
//! concurrent migration) and host reservations, run on SQLite, PostgreSQL and MySQL.

use std::net::Ipv4Addr;

use shoal::store::{migrate, Db, Host, HostOption, IdentifierType, Lease4, LeaseState, StoreError};

use crate::common::{fresh_empty_db, TestDb};

/// A lease row for `address` owned by hardware address `mac`.
pub fn lease(address: Ipv4Addr, mac: u8) -> Lease4 {
    Lease4 {
        address,
        hwaddr: vec![0x02, 0, 0, 0, 0, mac],
        hwtype: 1,
        client_id: Some(vec![1, 0x02, 0, 0, 0, 0, mac]),
        valid_lifetime: 3600,
        expire: 1_900_000_000,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: true,
        hostname: format!("host-{mac}"),
        state: LeaseState::Default,
        user_context: None,
        relay_id: None,
        remote_id: None,
    }
}

/// A v4 reservation in `subnet` for `identifier` of type `t`.
pub fn host(t: IdentifierType, identifier: &[u8], subnet: u32, addr: Option<Ipv4Addr>) -> Host {
    Host {
        host_id: 0,
        identifier_type: t,
        identifier: identifier.to_vec(),
        ipv4_subnet_id: Some(subnet),
        ipv6_subnet_id: None,
        ipv4_address: addr,
        hostname: Some(format!("h-{}", t.name())),
        client_classes4: vec!["gold".into(), "voip".into()],
        client_classes6: vec![],
        next_server: Some(Ipv4Addr::new(10, 0, 0, 2)),
        server_hostname: Some("tftp".into()),
        boot_file_name: Some("pxelinux.0".into()),
        options4: vec![HostOption {
            code: 6,
            space: "dhcp4".into(),
            value: None,
            formatted_value: Some("10.0.0.53".into()),
            persistent: true,
        }],
        user_context: Some(r#"{"rack":"a1"}"#.into()),
    }
}

async fn db_init_creates_schema(t: &TestDb) {
    assert_eq!(
        migrate::version(&t.db).await.unwrap(),
        Some(migrate::expected_version())
    );
    for table in [
        "lease4",
        "hosts",
        "dhcp4_options",
        "free_lease4",
        "lease4_pool",
    ] {
        assert_eq!(
            t.raw_count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    let history = t
        .raw_count("SELECT COUNT(*) FROM refinery_schema_history")
        .await;
    assert_eq!(history, migrate::expected_version());
}

async fn db_init_refuses_initialised(t: &TestDb) {
    let err = migrate::init(&t.db).await.unwrap_err();
    assert!(err.to_string().contains("already initialised"), "{err}");
    // A lease4 table created by someone else also counts as initialised.
    let other = fresh_empty_db(t.backend).await;
    other
        .raw_exec("CREATE TABLE lease4 (address BIGINT PRIMARY KEY)")
        .await;
    let err = migrate::init(&other.db).await.unwrap_err();
    assert!(err.to_string().contains("lease4"), "{err}");
    assert_eq!(migrate::version(&other.db).await.unwrap(), None);
}

async fn db_version_reports_current(t: &TestDb) {
    let [pg, my, lite] = migrate::embedded_versions();
    assert_eq!(
        pg, my,
        "postgres and mysql migrations must carry the same versions"
    );
    assert_eq!(
        pg, lite,
        "postgres and sqlite migrations must carry the same versions"
    );
    let highest = pg.iter().map(|(v, _)| *v).max().unwrap();
    assert_eq!(migrate::expected_version(), highest);
    assert_eq!(migrate::version(&t.db).await.unwrap(), Some(highest));
    let empty = fresh_empty_db(t.backend).await;
    assert_eq!(migrate::version(&empty.db).await.unwrap(), None);
    // Nothing pending: upgrade applies nothing.
    assert!(migrate::upgrade(&t.db, None).await.unwrap().is_empty());
}

async fn upgrade_from_v1_preserves_data(t: &TestDb) {
    let e = fresh_empty_db(t.backend).await;
    let applied = migrate::upgrade(&e.db, Some(1)).await.unwrap();
    assert_eq!(applied, vec!["applied V1 leases_and_hosts".to_string()]);
    assert_eq!(migrate::version(&e.db).await.unwrap(), Some(1));
    e.raw_exec(
        "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, hostname) \
         VALUES (167772165, NULL, 3600, 1900000000, 7, 'keep')",
    )
    .await;
    let applied = migrate::upgrade(&e.db, None).await.unwrap();
    assert_eq!(applied, vec!["applied V2 free_lease4".to_string()]);
    assert_eq!(migrate::version(&e.db).await.unwrap(), Some(2));
    let kept = "SELECT COUNT(*) FROM lease4 WHERE address = 167772165 AND hostname = 'keep' \
                AND subnet_id = 7";
    assert_eq!(e.raw_count(kept).await, 1);
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM free_lease4").await, 0);
    // Going back is refused, going past the build's version too.
    assert!(migrate::upgrade(&e.db, Some(1)).await.is_err());
    let beyond = migrate::expected_version() + 1;
    assert!(migrate::upgrade(&e.db, Some(beyond)).await.is_err());
}

async fn refuses_diverged_database(t: &TestDb) {
    t.raw_exec("UPDATE refinery_schema_history SET checksum = '12345' WHERE version = 1")
        .await;
    let err = migrate::upgrade(&t.db, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
    assert!(err.to_string().contains("V1"), "{err}");

    let other = fresh_empty_db(t.backend).await;
    migrate::upgrade(&other.db, None).await.unwrap();
    other
        .raw_exec(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES (99, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
        )
        .await;
    let err = migrate::upgrade(&other.db, None).await.unwrap_err();
    assert!(err.to_string().contains("V99"), "{err}");
    // The server refuses a database newer than the build.
    assert!(shoal::store::open_for_server(&other.config).await.is_err());
}

async fn concurrent_upgrades_apply_each_migration_once(t: &TestDb) {
    let e = fresh_empty_db(t.backend).await;
    let a = Db::connect(&e.config).await.unwrap();
    let b = Db::connect(&e.config).await.unwrap();
    let (ra, rb) = tokio::join!(migrate::upgrade(&a, None), migrate::upgrade(&b, None));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.len() + rb.len(),
        migrate::expected_version() as usize,
        "{ra:?} {rb:?}"
    );
    assert_eq!(
        migrate::version(&e.db).await.unwrap(),
        Some(migrate::expected_version())
    );
}

async fn open_for_server_refuses_mismatch(t: &TestDb) {
    let e = fresh_empty_db(t.backend).await;
    let opened = shoal::store::open_for_server(&e.config).await;
    if t.backend == crate::common::Backend::Sqlite {
        // Embedded SQLite initialises itself.
        opened.unwrap();
        let v = migrate::version(&e.db).await.unwrap();
        assert_eq!(v, Some(migrate::expected_version()));
        return;
    }
    match opened {
        Err(StoreError::SchemaMismatch {
            found: None,
            command,
            ..
        }) => {
            assert!(command.starts_with("shoal-admin db-init"), "{command}")
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    migrate::upgrade(&e.db, Some(1)).await.unwrap();
    match shoal::store::open_for_server(&e.config).await {
        Err(StoreError::SchemaMismatch {
            found: Some(1),
            command,
            ..
        }) => {
            assert!(command.starts_with("shoal-admin db-upgrade"), "{command}")
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    shoal::store::open_for_server(&t.config).await.unwrap();
}

async fn second_lease_row_for_address_rejected(t: &TestDb) {
    let a = Ipv4Addr::new(10, 0, 0, 9);
    let err =
        t.db.leases()
            .upload_leases4(&[lease(a, 1), lease(a, 2)])
            .await
            .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM lease4").await,
        0,
        "nothing written"
    );
}

async fn host_lookup_by_every_identifier_type(t: &TestDb) {
    let hosts = t.db.hosts();
    let types = [
        IdentifierType::HwAddress,
        IdentifierType::Duid,
        IdentifierType::CircuitId,
        IdentifierType::ClientId,
        IdentifierType::FlexId,
    ];
    for (i, ty) in types.iter().enumerate() {
        let id = vec![0xa0, i as u8, 0x01];
        let addr = Ipv4Addr::new(10, 0, 1, 10 + i as u8);
        let mut h = host(*ty, &id, 1, Some(addr));
        h.host_id = hosts.add_host(&h).await.unwrap();
        assert!(h.host_id > 0);
        let got = hosts.host4(1, &[(*ty, id.clone())]).await.unwrap();
        assert_eq!(got.as_ref(), Some(&h), "{}", ty.name());
        assert_eq!(
            hosts.host4_by_address(1, addr).await.unwrap(),
            Some(h.clone())
        );
        // Same bytes under another type, or another subnet: no match.
        let other = types[(i + 1) % types.len()];
        assert_eq!(hosts.host4(1, &[(other, id.clone())]).await.unwrap(), None);
        assert_eq!(hosts.host4(2, &[(*ty, id.clone())]).await.unwrap(), None);
    }
    assert_eq!(hosts.host4(1, &[]).await.unwrap(), None);
}

async fn host_lookup_prefers_identifier_order(t: &TestDb) {
    let hosts = t.db.hosts();
    let mac = vec![2, 0, 0, 0, 0, 7];
    let cid = vec![1, 2, 0, 0, 0, 0, 7];
    let by_mac = host(
        IdentifierType::HwAddress,
        &mac,
        5,
        Some(Ipv4Addr::new(10, 5, 0, 1)),
    );
    let mut by_cid = host(
        IdentifierType::ClientId,
        &cid,
        5,
        Some(Ipv4Addr::new(10, 5, 0, 2)),
    );
    by_cid.options4.clear();
    by_cid.client_classes4.clear();
    hosts.add_host(&by_mac).await.unwrap();
    hosts.add_host(&by_cid).await.unwrap();
    let ids_cid_first = [
        (IdentifierType::ClientId, cid.clone()),
        (IdentifierType::HwAddress, mac.clone()),
    ];
    let got = hosts.host4(5, &ids_cid_first).await.unwrap().unwrap();
    assert_eq!(got.ipv4_address, Some(Ipv4Addr::new(10, 5, 0, 2)));
    assert!(got.options4.is_empty() && got.client_classes4.is_empty());
    let ids_mac_first = [ids_cid_first[1].clone(), ids_cid_first[0].clone()];
    let got = hosts.host4(5, &ids_mac_first).await.unwrap().unwrap();
    assert_eq!(got.ipv4_address, Some(Ipv4Addr::new(10, 5, 0, 1)));
    assert_eq!(
        got.client_classes4,
        vec!["gold".to_string(), "voip".to_string()]
    );
    // Global reservations live in subnet 0.
    let global = host(IdentifierType::FlexId, b"flex", 0, None);
    hosts.add_host(&global).await.unwrap();
    let got = hosts
        .host4(0, &[(IdentifierType::FlexId, b"flex".to_vec())])
        .await
        .unwrap();
    assert_eq!(got.map(|h| h.ipv4_address), Some(None));
}

async fn host_unique_constraints(t: &TestDb) {
    let hosts = t.db.hosts();
    let mac = [2, 0, 0, 0, 0, 1];
    let a = Ipv4Addr::new(10, 0, 2, 1);
    hosts
        .add_host(&host(IdentifierType::HwAddress, &mac, 1, Some(a)))
        .await
        .unwrap();
    // Same identifier, same subnet, other address.
    let dup = host(
        IdentifierType::HwAddress,
        &mac,
        1,
        Some(Ipv4Addr::new(10, 0, 2, 2)),
    );
    match hosts.add_host(&dup).await {
        Err(StoreError::Conflict(msg)) => {
            assert!(msg.contains("hw-address 02:00:00:00:00:01"), "{msg}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Same address, same subnet, other identifier.
    let dup = host(IdentifierType::HwAddress, &[2, 0, 0, 0, 0, 9], 1, Some(a));
    match hosts.add_host(&dup).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("address 10.0.2.1"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    // The refused inserts left nothing behind (options included).
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM hosts").await, 1);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM dhcp4_options").await, 1);
    // Same identifier and address in another subnet is fine.
    hosts
        .add_host(&host(IdentifierType::HwAddress, &mac, 2, Some(a)))
        .await
        .unwrap();
    // Deleting removes the host and its options; a second delete finds nothing.
    assert!(hosts
        .del_host4(1, IdentifierType::HwAddress, &mac)
        .await
        .unwrap());
    assert!(!hosts
        .del_host4(1, IdentifierType::HwAddress, &mac)
        .await
        .unwrap());
    assert_eq!(
        hosts
            .host4(1, &[(IdentifierType::HwAddress, mac.to_vec())])
            .await
            .unwrap(),
        None
    );
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM dhcp4_options").await, 1);
    assert!(hosts.host4_by_address(2, a).await.unwrap().is_some());
}

async fn lease_dump_upload_round_trip(t: &TestDb) {
    let mut leases = vec![
        lease(Ipv4Addr::new(10, 0, 0, 5), 5),
        lease(Ipv4Addr::new(10, 0, 0, 6), 6),
    ];
    leases[1].hostname = "comma, \"quoted\" host".into();
    leases[1].user_context = Some(r#"{"a": 1, "b": "x,y"}"#.into());
    leases[1].client_id = None;
    leases[1].state = LeaseState::Declined;
    leases[1].pool_id = 3;
    t.db.leases().upload_leases4(&leases).await.unwrap();

    let dir = crate::common::TempDir::new();
    let file = dir.file("leases.csv");
    let out = crate::admin::admin(&["lease-dump", "--url", &t.url, "-o", &file]);
    assert!(out.status.success(), "{out:?}");
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(
        csv.starts_with("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let other = crate::common::fresh_db(t.backend).await;
    let out = crate::admin::admin(&["lease-upload", "--url", &other.url, "-i", &file]);
    assert!(out.status.success(), "{out:?}");
    let mut back = other.db.leases().all_leases4().await.unwrap();
    // The CSV format carries no hwtype/relay/remote ids; they come back as defaults.
    for l in &mut back {
        l.hwtype = 1;
    }
    assert_eq!(back, leases);
}

battery!(
    db_init_creates_schema,
    db_init_refuses_initialised,
    db_version_reports_current,
    upgrade_from_v1_preserves_data,
    refuses_diverged_database,
    concurrent_upgrades_apply_each_migration_once,
    open_for_server_refuses_mismatch,
    second_lease_row_for_address_rejected,
    host_lookup_by_every_identifier_type,
    host_lookup_prefers_identifier_order,
    host_unique_constraints,
    lease_dump_upload_round_trip,
);
