//! Settings: every rule produces a problem naming the right path.

use super::tests::load;

/// Load `dhcp4` (the body of the Dhcp4 map) and return "path: message" lines.
fn problems(dhcp4: &str) -> Vec<String> {
    match load(&format!(r#"{{"Dhcp4": {{ {dhcp4} }}}}"#)) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn expect(dhcp4: &str, path: &str, needle: &str) {
    let ps = problems(dhcp4);
    assert!(
        ps.iter()
            .any(|p| p.starts_with(&format!("{path}: ")) && p.contains(needle)),
        "expected `{path}: …{needle}…` in {ps:#?}"
    );
}

const SUBNET: &str = r#""subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}]}]"#;

#[test]
fn unknown_key_suggests_closest() {
    expect(
        r#""valid-lifetim": 10"#,
        "Dhcp4.valid-lifetim",
        "did you mean \"valid-lifetime\"",
    );
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "pool": []}]"#,
        "Dhcp4.subnet4[0].pool",
        "\"pools\"",
    );
}

#[test]
fn top_level_dhcp6_and_missing_dhcp4() {
    let e = load(r#"{"Dhcp4": {}, "Dhcp6": {}}"#).unwrap_err();
    assert!(
        e.to_string()
            .contains("Dhcp6: not supported: DHCPv6 is not supported yet"),
        "{e}"
    );
    let e = load(r#"{"Dhcp6": {}}"#).unwrap_err();
    assert!(e.problems.iter().any(|p| p.path == "Dhcp4"), "{e}");
}

#[test]
fn invalid_json_names_line() {
    let e = load("{\n\"Dhcp4\": {\n\"a\": x }}").unwrap_err();
    assert_eq!(e.problems[0].path, "line 3 column 6");
}

#[test]
fn not_supported_features() {
    expect(
        r#""reservation-mode": "global""#,
        "Dhcp4.reservation-mode",
        "reservations-global",
    );
    expect(
        r#""dhcp-ddns": {"enable-updates": true}"#,
        "Dhcp4.dhcp-ddns.enable-updates",
        "not supported",
    );
    assert!(problems(
        r#""dhcp-ddns": {"enable-updates": false}, "sanity-checks": {}, "dhcp4o6-port": 0"#
    )
    .is_empty());
    expect(
        r#""lease-database": {"type": "memfile"}"#,
        "Dhcp4.lease-database.type",
        "use sqlite for the embedded",
    );
    expect(
        r#""hooks-libraries": [{"library": "/usr/lib/libdhcp_radius.so"}]"#,
        "Dhcp4.hooks-libraries[0].library",
        "not supported",
    );
    assert!(problems(r#""hooks-libraries": [{"library": "/x/libdhcp_lease_cmds.so"}, {"library": "libdhcp_pgsql.so"}]"#).is_empty());
    expect(
        r#""host-reservation-identifiers": ["flex-id"]"#,
        "Dhcp4.host-reservation-identifiers[0]",
        "libdhcp_flex_id.so",
    );
    let flex = r#""hooks-libraries": [{"library": "libdhcp_flex_id.so", "parameters": {"identifier-expression": "relay4[2].hex"}}], "host-reservation-identifiers": ["flex-id", "hw-address"], "reservations": [{"flex-id": "'port-7'", "ip-address": "10.0.0.7"}]"#;
    assert!(problems(flex).is_empty(), "{:?}", problems(flex));
    expect(
        r#""hooks-libraries": [{"library": "libdhcp_flex_id.so", "parameters": {"identifier-expression": "relay4[2].hex +"}}]"#,
        "Dhcp4.hooks-libraries[0].parameters.identifier-expression",
        "column",
    );
}

#[test]
fn wrong_types_and_ranges() {
    expect(
        r#""valid-lifetime": "long""#,
        "Dhcp4.valid-lifetime",
        "expected an integer",
    );
    expect(
        r#""valid-lifetime": -1"#,
        "Dhcp4.valid-lifetime",
        "out of range",
    );
    expect(
        r#""multi-threading": {"thread-pool-size": 100000}"#,
        "Dhcp4.multi-threading.thread-pool-size",
        "out of range 0..=1024",
    );
    expect(
        r#""authoritative": "yes""#,
        "Dhcp4.authoritative",
        "true or false",
    );
    expect(r#""t1-percent": 1.5"#, "Dhcp4.t1-percent", "less than 1");
    expect(r#""subnet4": {}"#, "Dhcp4.subnet4", "expected a list");
}

#[test]
fn database_targets() {
    expect(
        r#""lease-database": {"type": "sqlite"}"#,
        "Dhcp4.lease-database.name",
        "required",
    );
    expect(
        r#""lease-database": {"type": "postgresql", "host": "db"}"#,
        "Dhcp4.lease-database.name",
        "required",
    );
    expect(
        r#""lease-database": {"type": "mysql", "url": "mysql://db/kea", "host": "db"}"#,
        "Dhcp4.lease-database.url",
        "not both",
    );
    expect(
        r#""lease-database": {"type": "mysql", "url": "postgres://db/kea"}"#,
        "Dhcp4.lease-database.url",
        "must start with",
    );
    expect(
        r#""hosts-database": {"type": "sqlite", "name": "a"}, "hosts-databases": []"#,
        "Dhcp4.hosts-databases",
        "not both",
    );
    assert!(
        problems(r#""lease-database": {"type": "postgresql", "url": "postgres://u@db/kea"}"#)
            .is_empty()
    );
}

#[test]
fn pool_rules() {
    expect(
        r#""subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}, {"pool": "192.0.2.15 - 192.0.2.30"}]}]"#,
        "Dhcp4.subnet4[0].pools[1].pool",
        "overlaps Dhcp4.subnet4[0].pools[0].pool",
    );
    expect(
        r#""subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "10.0.0.1 - 10.0.0.9"}]}]"#,
        "Dhcp4.subnet4[0].pools[0].pool",
        "not inside subnet",
    );
    expect(
        r#""subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.9 - 192.0.2.1"}]}]"#,
        "Dhcp4.subnet4[0].pools[0].pool",
        "after its end",
    );
}

#[test]
fn pool_overlap_across_subnets() {
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/16", "pools": [{"pool": "10.0.1.0/24"}]},
                      {"id": 2, "subnet": "10.0.0.0/8", "pools": [{"pool": "10.0.1.200 - 10.0.2.5"}]}]"#,
        "Dhcp4.subnet4[1].pools[0].pool",
        "overlaps Dhcp4.subnet4[0].pools[0].pool",
    );
}

#[test]
fn subnet_rules() {
    expect(&format!("{SUBNET}, \"shared-networks\": [{{\"name\": \"n\", \"subnet4\": [{{\"id\": 1, \"subnet\": \"10.0.0.0/8\"}}]}}]"),
        "Dhcp4.shared-networks[0].subnet4[0].id", "duplicate subnet id 1");
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/8"}, {"id": 2, "subnet": "10.0.0.0/8"}]"#,
        "Dhcp4.subnet4[1].subnet",
        "duplicate subnet",
    );
    expect(
        r#""subnet4": [{"id": 0, "subnet": "10.0.0.0/8"}]"#,
        "Dhcp4.subnet4[0].id",
        "reserved",
    );
    expect(
        r#""subnet4": [{"id": 3, "subnet": "10.0.0.1/8"}]"#,
        "Dhcp4.subnet4[0].subnet",
        "did you mean \"10.0.0.0/8\"",
    );
    expect(
        r#""subnet4": [{"id": 3}]"#,
        "Dhcp4.subnet4[0].subnet",
        "required",
    );
}

#[test]
fn timer_rules() {
    expect(
        r#""renew-timer": 200, "rebind-timer": 100"#,
        "Dhcp4",
        "renew-timer (200) must be less than rebind-timer (100)",
    );
    expect(
        r#""rebind-timer": 8000"#,
        "Dhcp4",
        "rebind-timer (8000) must be less than valid-lifetime (7200)",
    );
    expect(
        r#""min-valid-lifetime": 9000"#,
        "Dhcp4",
        "min-valid-lifetime (9000) <= valid-lifetime (7200)",
    );
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "max-valid-lifetime": 60}]"#,
        "Dhcp4.subnet4[0]",
        "<= max-valid-lifetime (60)",
    );
}

#[test]
fn reservation_rules() {
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "reservations": [{"hw-address": "01:02:03:04:05:06", "ip-address": "10.9.9.9"}]}]"#,
        "Dhcp4.subnet4[0].reservations[0].ip-address",
        "outside subnet",
    );
    expect(
        r#""reservations": [{"ip-address": "10.0.0.1"}]"#,
        "Dhcp4.reservations[0]",
        "exactly one identifier",
    );
    expect(
        r#""reservations": [{"hw-address": "zz"}]"#,
        "Dhcp4.reservations[0].hw-address",
        "not hex",
    );
    expect(
        r#""reservations": [{"flex-id": "zz"}]"#,
        "Dhcp4.reservations[0].flex-id",
        "not hex",
    );
}

#[test]
fn class_rules() {
    let pools = r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10 - 10.0.0.20", "client-class": "phonez"}]}]"#;
    assert!(problems(pools).is_empty(), "no classes defined: no check");
    expect(
        &format!(r#""client-classes": [{{"name": "phones"}}], {pools}"#),
        "Dhcp4.subnet4[0].pools[0]",
        "unknown client class \"phonez\"",
    );
    let ps = problems(
        r#""client-classes": [{"name": "a"}], "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.1/32", "client-class": "HA_server1"}]}]"#,
    );
    assert!(ps.is_empty(), "{ps:?}");
    expect(
        r#""client-classes": [{"name": "a"}, {"name": "a"}]"#,
        "Dhcp4.client-classes[1].name",
        "duplicate class name",
    );
}

#[test]
fn option_rules() {
    expect(
        r#""option-data": [{"name": "routerz", "data": "10.0.0.1"}]"#,
        "Dhcp4.option-data[0].name",
        "did you mean \"routers\"",
    );
    expect(
        r#""option-data": [{"name": "routers", "data": "10.0.0.300"}]"#,
        "Dhcp4.option-data[0].data",
        "not an IPv4 address",
    );
    expect(
        r#""option-data": [{"name": "interface-mtu", "data": "70000"}]"#,
        "Dhcp4.option-data[0].data",
        "out of range",
    );
    expect(
        r#""option-data": [{"code": 51, "data": "10"}]"#,
        "Dhcp4.option-data[0]",
        "managed by the server",
    );
    expect(
        r#""option-data": [{"code": 250, "data": "abc"}]"#,
        "Dhcp4.option-data[0].data",
        "no definition",
    );
    expect(
        r#""option-def": [{"name": "my-routers", "code": 3, "type": "ipv4-address"}]"#,
        "Dhcp4.option-def[0].code",
        "cannot be redefined",
    );
    expect(
        r#""option-def": [{"name": "x", "code": 224, "type": "ipv6-address"}]"#,
        "Dhcp4.option-def[0].type",
        "not one of",
    );
}

#[test]
fn ha_rules() {
    let ha = |rel: &str| {
        format!(
            r#""hooks-libraries": [{{"library": "/usr/lib/libdhcp_ha.so", "parameters": {{"high-availability": [{rel}]}}}}]"#
        )
    };
    expect(
        &ha(
            r#"{"this-server-name": "s9", "mode": "load-balancing", "peers": [{"name": "s1", "url": "http://a/", "role": "primary"}, {"name": "s2", "url": "http://b/", "role": "secondary"}]}"#,
        ),
        "Dhcp4.hooks-libraries[0].parameters.high-availability[0].this-server-name",
        "not the name of any peer",
    );
    expect(
        &ha(
            r#"{"this-server-name": "s1", "mode": "hot-standby", "peers": [{"name": "s1", "url": "http://a/", "role": "primary"}, {"name": "s2", "url": "http://b/", "role": "secondary"}]}"#,
        ),
        "Dhcp4.hooks-libraries[0].parameters.high-availability[0].peers",
        "standby",
    );
    expect(
        &ha(
            r#"{"this-server-name": "s1", "mode": "load-balancing", "heartbeat-delai": 1, "peers": []}"#,
        ),
        "Dhcp4.hooks-libraries[0].parameters.high-availability[0].heartbeat-delai",
        "\"heartbeat-delay\"",
    );
}

#[test]
fn all_problems_are_collected() {
    let ps = problems(
        r#""valid-lifetime": "x", "authoritative": 1, "subnet4": [{"id": 0, "subnet": "bad"}]"#,
    );
    assert!(ps.len() >= 4, "{ps:#?}");
}

#[test]
fn class_expressions_are_parsed_at_load() {
    expect(
        r#""client-classes": [{"name": "a", "test": "option[60].hex == 'x"}]"#,
        "Dhcp4.client-classes[0].test",
        "column",
    );
    expect(
        r#""client-classes": [{"name": "a", "test": "member('b')"}, {"name": "b", "test": "known"}]"#,
        "Dhcp4.client-classes[0].test",
        "member('b')",
    );
}

#[test]
fn oversized_pool_is_refused() {
    expect(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "pools": [{"pool": "10.0.0.0/8"}]}]"#,
        "Dhcp4.subnet4[0].pools[0].pool",
        "at most 1048576",
    );
    assert!(problems(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/12", "pools": [{"pool": "10.0.0.0/12"}]}]"#
    )
    .is_empty());
}
