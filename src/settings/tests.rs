//! Settings: loading, environment overrides, inheritance, option encoding, timers.

use super::*;

pub(super) fn load_env(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_str_with_env(text, &env)
}

pub(super) fn load(text: &str) -> Result<Settings, ConfigError> {
    load_env(text, &[])
}

pub(super) const BASE: &str = r#"{
  // Kea-style comment
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0/192.0.2.1", "*" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "postgresql", "name": "kea", "host": "localhost", "user": "kea" },
    "valid-lifetime": 4000, # hash comment
    "renew-timer": 1000,
    "rebind-timer": 2000,
    "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54" } ],
    /* block
       comment */
    "shared-networks": [ {
      "name": "campus",
      "valid-lifetime": 3000,
      "relay": { "ip-addresses": [ "10.0.0.1" ] },
      "interface": "eth1",
      "subnet4": [ { "id": 10, "subnet": "10.1.0.0/24", "pools": [ { "pool": "10.1.0.10 - 10.1.0.20" } ] },
                   { "id": 11, "subnet": "10.2.0.0/24", "valid-lifetime": 2600, "min-valid-lifetime": 2500 } ]
    } ],
    "subnet4": [ {
      "id": 1, "subnet": "192.0.2.0/24",
      "pools": [ { "pool": "192.0.2.100 - 192.0.2.199", "pool-id": 7 }, { "pool": "192.0.2.64/28" } ],
      "option-data": [ { "name": "routers", "data": "192.0.2.1" } ],
      "reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.2.10", "hostname": "printer" },
                        { "client-id": "'gw-7'", "ip-address": "192.0.2.11" } ]
    } ]
  }
}"#;

#[test]
fn loads_kea_json_with_comments() {
    let s = load(BASE).unwrap();
    let d = &s.dhcp4;
    assert_eq!(
        d.interfaces.interfaces[0],
        InterfaceSpec {
            name: "eth0".into(),
            address: Some("192.0.2.1".parse().unwrap())
        }
    );
    assert_eq!(d.interfaces.interfaces[1].name, "*");
    assert_eq!(d.interfaces.socket_type, SocketType::Udp);
    assert_eq!(d.lease_database.db_type, DatabaseType::Postgresql);
    assert_eq!(d.subnets.len(), 3);
    assert_eq!(d.option_data[0].data, vec![192, 0, 2, 53, 192, 0, 2, 54]);
    let r = &d.subnet(1).unwrap().reservations;
    assert_eq!(r[0].identifier, vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    assert_eq!(r[1].identifier, b"gw-7".to_vec());
    assert_eq!(r[1].identifier_type, crate::store::IdentifierType::ClientId);
}

#[test]
fn pools_lists_every_pool_with_subnet_and_pool_id() {
    let s = load(BASE).unwrap();
    let pools = s.pools();
    assert_eq!(pools.len(), 3);
    let p = pools
        .iter()
        .find(|p| p.subnet_id == 1 && p.pool_id == 7)
        .unwrap();
    assert_eq!(
        (p.start.to_string(), p.end.to_string()),
        ("192.0.2.100".into(), "192.0.2.199".into())
    );
    let cidr = pools
        .iter()
        .find(|p| p.start.to_string() == "192.0.2.64")
        .unwrap();
    assert_eq!(cidr.end.to_string(), "192.0.2.79");
}

#[test]
fn inheritance_subnet_over_network_over_global() {
    let s = load(BASE).unwrap();
    let d = &s.dhcp4;
    let plain = d.subnet(1).unwrap();
    assert_eq!(plain.valid_lifetime, Lifetimes::fixed(4000));
    assert_eq!(plain.shared_network, None);
    let in_net = d.subnet(10).unwrap();
    assert_eq!(in_net.valid_lifetime.default, 3000);
    assert_eq!(
        in_net.relay_addresses,
        vec!["10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert_eq!(in_net.interface.as_deref(), Some("eth1"));
    assert_eq!(in_net.shared_network.as_deref(), Some("campus"));
    assert_eq!(in_net.timers.renew_timer, Some(1000));
    let own = d.subnet(11).unwrap();
    assert_eq!(
        own.valid_lifetime,
        Lifetimes {
            default: 2600,
            min: 2500,
            max: 2600
        }
    );
    assert_eq!(d.shared_networks[0].subnet_ids, vec![10, 11]);
}

#[test]
fn defaults_follow_kea() {
    let s = load(r#"{"Dhcp4": {}}"#).unwrap();
    let d = &s.dhcp4;
    assert_eq!(d.lease_database, DatabaseConfig::sqlite(DEFAULT_LEASE_DB));
    assert_eq!(d.valid_lifetime, Lifetimes::fixed(7200));
    assert_eq!(d.offer_lifetime, 60);
    assert_eq!(d.decline_probation_period, 86400);
    assert!(d.match_client_id && !d.authoritative);
    assert_eq!(
        d.reservation_modes,
        ReservationModes {
            global: false,
            in_subnet: true,
            out_of_pool: false
        }
    );
    assert_eq!(d.host_reservation_identifiers.len(), 4);
    assert_eq!(d.expired_leases_processing.max_reclaim_time, 250);
    assert_eq!(d.interfaces.socket_type, SocketType::Raw);
    assert!(d.multi_threading.enable);
}

#[test]
fn multi_threading_sets_worker_threads() {
    let with = |mt: &str| {
        let json = format!(r#"{{"Dhcp4": {{"multi-threading": {mt}, "subnet4": []}}}}"#);
        load(&json).unwrap().dhcp4.multi_threading.worker_threads()
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(with(r#"{"thread-pool-size": 3}"#), 3);
    assert_eq!(with(r#"{"thread-pool-size": 0}"#), cpus);
    assert_eq!(with(r#"{}"#), cpus);
    assert_eq!(
        with(r#"{"enable-multi-threading": false, "thread-pool-size": 8}"#),
        1
    );
}

#[test]
fn subnets_without_id_get_next_free_id_in_file_order() {
    let s = load(r#"{"Dhcp4": {"subnet4": [
        {"subnet": "10.0.0.0/24"}, {"id": 1, "subnet": "10.0.1.0/24"}, {"subnet": "10.0.2.0/24"}]}}"#)
    .unwrap();
    let ids: Vec<u32> = s.dhcp4.subnets.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![2, 1, 3]);
}

#[test]
fn env_overrides_top_level_key() {
    let s = load_env(BASE, &[("SHOAL_DHCP4__VALID_LIFETIME", "7300")]).unwrap();
    assert_eq!(s.dhcp4.valid_lifetime.default, 7300);
    assert_eq!(s.dhcp4.subnet(1).unwrap().valid_lifetime.default, 7300);
}

#[test]
fn env_overrides_nested_hyphenated_keys_present_or_absent() {
    let env = [
        ("SHOAL_DHCP4__LEASE_DATABASE__HOST", "db1"),
        ("SHOAL_DHCP4__LEASE_DATABASE__PORT", "5433"),
        ("SHOAL_DHCP4__LEASE_DATABASE__PASSWORD", "12345"),
        (
            "SHOAL_DHCP4__EXPIRED_LEASES_PROCESSING__MAX_RECLAIM_LEASES",
            "7",
        ),
        ("SHOAL_DHCP4__INTERFACES_CONFIG__INTERFACES", r#"["eth7"]"#),
        ("SHOAL_LOG", "debug"),
    ];
    let s = load_env(BASE, &env).unwrap();
    let db = &s.dhcp4.lease_database;
    assert_eq!(db.host.as_deref(), Some("db1"));
    assert_eq!(db.port, Some(5433));
    assert_eq!(db.password.as_deref(), Some("12345"));
    assert_eq!(s.dhcp4.expired_leases_processing.max_reclaim_leases, 7);
    assert_eq!(s.dhcp4.interfaces.interfaces.len(), 1);
    assert_eq!(s.dhcp4.interfaces.interfaces[0].name, "eth7");
}

#[test]
fn env_value_replacing_a_string_stays_a_string() {
    let s = load_env(
        r#"{"Dhcp4": {"server-tag": "a"}}"#,
        &[("SHOAL_DHCP4__SERVER_TAG", "007")],
    )
    .unwrap();
    assert_eq!(s.dhcp4.server_tag.as_deref(), Some("007"));
}

#[test]
fn env_naming_no_key_is_an_error_naming_the_variable() {
    let err = load_env(BASE, &[("SHOAL_DHCP4__VALID_LIFETIM", "1")]).unwrap_err();
    assert_eq!(err.problems[0].path, "SHOAL_DHCP4__VALID_LIFETIM");
    assert!(err.problems[0].message.contains("valid-lifetime"), "{err}");
    let err = load_env(BASE, &[("SHOAL_DHCP4__SUBNET4__0__ID", "9")]).unwrap_err();
    assert!(err.problems[0].message.contains("list"), "{err}");
}

#[test]
fn env_override_is_validated_like_the_file() {
    let err = load_env(BASE, &[("SHOAL_DHCP4__VALID_LIFETIME", "abc")]).unwrap_err();
    assert_eq!(err.problems[0].path, "Dhcp4.valid-lifetime");
}

#[test]
fn lifetimes_clamp_to_min_max() {
    let l = Lifetimes {
        default: 600,
        min: 300,
        max: 900,
    };
    assert_eq!(l.clamp(None), 600);
    assert_eq!(l.clamp(Some(100)), 300);
    assert_eq!(l.clamp(Some(500)), 500);
    assert_eq!(l.clamp(Some(5000)), 900);
}

#[test]
fn t1_t2_explicit_calculated_and_omitted() {
    let mut t = Timers {
        renew_timer: Some(100),
        rebind_timer: Some(200),
        ..Timers::default()
    };
    assert_eq!(t.t1_t2(1000), (Some(100), Some(200)));
    assert_eq!(t.t1_t2(150), (Some(100), None));
    assert_eq!(t.t1_t2(100), (None, None));
    t = Timers::default();
    assert_eq!(t.t1_t2(1000), (None, None));
    t.calculate_tee_times = true;
    assert_eq!(t.t1_t2(1000), (Some(500), Some(875)));
    t.renew_timer = Some(300);
    assert_eq!(t.t1_t2(1000), (Some(300), Some(875)));
    t.renew_timer = Some(900);
    assert_eq!(t.t1_t2(1000), (None, Some(875)));
}

fn opt(json: &str) -> Result<Vec<u8>, ConfigError> {
    let text = format!(
        r#"{{"Dhcp4": {{"option-def": [{{"name": "rec", "code": 224, "type": "record", "record-types": "uint8, ipv4-address"}}], "option-data": [{json}]}}}}"#
    );
    load(&text).map(|s| s.dhcp4.option_data[0].data.clone())
}

#[test]
fn option_encoding_per_type() {
    assert_eq!(
        opt(r#"{"name": "routers", "data": "10.0.0.1,10.0.0.2"}"#).unwrap(),
        vec![10, 0, 0, 1, 10, 0, 0, 2]
    );
    assert_eq!(
        opt(r#"{"code": 26, "data": "1500"}"#).unwrap(),
        vec![0x05, 0xdc]
    );
    assert_eq!(
        opt(r#"{"name": "time-offset", "data": "-1"}"#).unwrap(),
        vec![0xff; 4]
    );
    assert_eq!(
        opt(r#"{"name": "ip-forwarding", "data": "true"}"#).unwrap(),
        vec![1]
    );
    assert_eq!(
        opt(r#"{"name": "domain-name", "data": "example.org"}"#).unwrap(),
        b"example.org".to_vec()
    );
    assert_eq!(
        opt(r#"{"name": "domain-search", "data": "a.org, b"}"#).unwrap(),
        vec![1, b'a', 3, b'o', b'r', b'g', 0, 1, b'b', 0]
    );
    assert_eq!(
        opt(r#"{"name": "classless-static-route", "data": "10.0.0.0/8 - 10.1.1.1, 0.0.0.0/0 - 192.0.2.1"}"#).unwrap(),
        vec![8, 10, 10, 1, 1, 1, 0, 192, 0, 2, 1]
    );
    assert_eq!(
        opt(r#"{"code": 250, "csv-format": false, "data": "0A 0B"}"#).unwrap(),
        vec![10, 11]
    );
    assert_eq!(
        opt(r#"{"name": "routers", "csv-format": false, "data": "0x0a000001"}"#).unwrap(),
        vec![10, 0, 0, 1]
    );
    assert_eq!(
        opt(r#"{"name": "user-class", "data": "0a:0b"}"#).unwrap(),
        vec![10, 11]
    );
    assert_eq!(
        opt(r#"{"name": "rec", "data": "3, 10.0.0.1"}"#).unwrap(),
        vec![3, 10, 0, 0, 1]
    );
}

#[test]
fn option_by_name_and_code_must_agree() {
    assert!(opt(r#"{"name": "routers", "code": 3, "data": "10.0.0.1"}"#).is_ok());
    let err = opt(r#"{"name": "routers", "code": 6, "data": "10.0.0.1"}"#).unwrap_err();
    assert_eq!(err.problems[0].path, "Dhcp4.option-data[0].code");
}

#[test]
fn deploy_examples_load_and_bad_examples_fail() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in [
        "shoal-sqlite.json",
        "shoal-postgresql.json",
        "shoal-mysql.json",
        "kea-ha-load-balancing.json",
        "kea-advanced-classification.json",
    ] {
        let s = Settings::load(&root.join("deploy").join(name))
            .unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert!(!s.dhcp4.subnets.is_empty(), "{name}");
    }
    for name in [
        "bad-overlap.json",
        "bad-memfile.json",
        "bad-timers.json",
        "bad-dhcp6.json",
    ] {
        let e = Settings::load(&root.join("tests/data/config").join(name)).unwrap_err();
        assert!(!e.problems.is_empty(), "{name}");
        eprintln!("{name}:\n{e}\n");
    }
}
