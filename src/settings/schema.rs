//! The key names shoal knows at each level of a Kea `Dhcp4` configuration.
//!
//! These lists drive three things: unknown-key detection (with suggestions), the
//! "not supported" answers for Kea features shoal lacks, and the mapping of
//! `SHOAL_…` environment variables to keys that are absent from the file.

use super::reader::Schema;

/// Keys valid at the top level of the file.
pub(crate) const ROOT: Schema = Schema {
    known: &["Dhcp4"],
    refused: &[
        ("Dhcp6", "DHCPv6 is not supported yet"),
        ("DhcpDdns", "shoal has no DHCP-DDNS daemon"),
        (
            "Control-agent",
            "shoal serves its control API itself (see Dhcp4.control-sockets)",
        ),
        ("Dhcp4o6", "DHCPv4-over-DHCPv6 is not supported"),
    ],
};

/// Keys shared by the global, shared-network and subnet levels (inheritable parameters).
macro_rules! inheritable {
    () => {
        [
            "valid-lifetime",
            "min-valid-lifetime",
            "max-valid-lifetime",
            "renew-timer",
            "rebind-timer",
            "calculate-tee-times",
            "t1-percent",
            "t2-percent",
            "offer-lifetime",
            "match-client-id",
            "authoritative",
            "option-data",
            "reservations-global",
            "reservations-in-subnet",
            "reservations-out-of-pool",
            "next-server",
            "server-hostname",
            "boot-file-name",
            // Accepted and harmless: only meaningful with DHCP-DDNS (refused when enabled)
            // or purely statistical / allocator hints the engine may ignore.
            "ddns-send-updates",
            "ddns-override-no-update",
            "ddns-override-client-update",
            "ddns-replace-client-name",
            "ddns-generated-prefix",
            "ddns-qualifying-suffix",
            "ddns-update-on-renew",
            "ddns-use-conflict-resolution",
            "ddns-conflict-resolution-mode",
            "ddns-ttl-percent",
            "hostname-char-set",
            "hostname-char-replacement",
            "store-extended-info",
            "cache-threshold",
            "cache-max-age",
            "allocator",
        ]
    };
}

const fn concat<const A: usize, const B: usize, const C: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; C] {
    let mut out = [""; C];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

const INHERITABLE: [&str; 34] = inheritable!();

const DHCP4_OWN: [&str; 26] = [
    "reservations",
    "interfaces-config",
    "lease-database",
    "hosts-database",
    "hosts-databases",
    "decline-probation-period",
    "option-def",
    "subnet4",
    "shared-networks",
    "client-classes",
    "host-reservation-identifiers",
    "expired-leases-processing",
    "server-tag",
    "config-control",
    "control-socket",
    "control-sockets",
    "loggers",
    "hooks-libraries",
    "multi-threading",
    "dhcp-ddns",
    "echo-client-id",
    // Accepted as harmless.
    "sanity-checks",
    "dhcp4o6-port",
    "statistic-default-sample-count",
    "statistic-default-sample-age",
    "early-global-reservations-lookup",
];
const DHCP4_KEYS: [&str; 60] = concat(INHERITABLE, DHCP4_OWN);

/// Keys of `Dhcp4`.
pub(crate) const DHCP4: Schema = Schema {
    known: &DHCP4_KEYS,
    refused: &[
        ("interface", "valid in a subnet or shared network, not globally"),
        ("relay", "valid in a subnet or shared network, not globally"),
        ("client-class", "valid in a subnet, pool or shared network, not globally"),
        ("reservation-mode", "replaced in Kea 2.x; use reservations-global, reservations-in-subnet and reservations-out-of-pool"),
        ("dhcp-queue-control", "shoal bounds its work queue itself"),
        ("ip-reservations-unique", "shoal always requires reserved addresses to be unique"),
        ("parked-packet-limit", "shoal does not park packets (no hook libraries are loaded)"),
        ("compatibility", "lenient parsing options are not implemented"),
        ("server-id", "DUID/server-id configuration is DHCPv6 only"),
        ("subnet6", "DHCPv6 is not supported yet"),
    ],
};

const NETWORK_OWN: [&str; 6] = [
    "name",
    "subnet4",
    "interface",
    "relay",
    "client-class",
    "client-classes",
];
const NETWORK_OWN2: [&str; 2] = ["require-client-classes", "evaluate-additional-classes"];
const NETWORK_A: [&str; 40] = concat(INHERITABLE, NETWORK_OWN);
const NETWORK_KEYS: [&str; 42] = concat(NETWORK_A, NETWORK_OWN2);

/// Keys of a `shared-networks` entry.
pub(crate) const SHARED_NETWORK: Schema = Schema {
    known: &NETWORK_KEYS,
    refused: &[(
        "reservation-mode",
        "use reservations-global, reservations-in-subnet and reservations-out-of-pool",
    )],
};

const SUBNET_OWN: [&str; 10] = [
    "reservations",
    "id",
    "subnet",
    "pools",
    "interface",
    "relay",
    "client-class",
    "client-classes",
    "require-client-classes",
    "evaluate-additional-classes",
];
const SUBNET_KEYS: [&str; 44] = concat(INHERITABLE, SUBNET_OWN);

/// Keys of a `subnet4` entry.
pub(crate) const SUBNET: Schema = Schema {
    known: &SUBNET_KEYS,
    refused: &[
        (
            "reservation-mode",
            "use reservations-global, reservations-in-subnet and reservations-out-of-pool",
        ),
        ("4o6-interface", "DHCPv4-over-DHCPv6 is not supported"),
        ("4o6-interface-id", "DHCPv4-over-DHCPv6 is not supported"),
        ("4o6-subnet", "DHCPv4-over-DHCPv6 is not supported"),
        ("pd-pools", "prefix delegation is DHCPv6"),
    ],
};

/// Keys of a `pools` entry.
pub(crate) const POOL: Schema = Schema {
    known: &[
        "pool",
        "pool-id",
        "client-class",
        "client-classes",
        "require-client-classes",
        "evaluate-additional-classes",
        "option-data",
    ],
    refused: &[],
};

/// Keys of `relay`.
pub(crate) const RELAY: Schema = Schema {
    known: &["ip-addresses", "ip-address"],
    refused: &[],
};

/// Keys of a reservation.
pub(crate) const RESERVATION: Schema = Schema {
    known: &[
        "hw-address",
        "duid",
        "client-id",
        "circuit-id",
        "ip-address",
        "hostname",
        "client-classes",
        "option-data",
        "next-server",
        "server-hostname",
        "boot-file-name",
        "flex-id",
    ],
    refused: &[],
};

/// Keys of a `client-classes` entry.
pub(crate) const CLIENT_CLASS: Schema = Schema {
    known: &[
        "name",
        "test",
        "only-if-required",
        "only-in-additional-list",
        "option-data",
        "next-server",
        "server-hostname",
        "boot-file-name",
        "valid-lifetime",
        "min-valid-lifetime",
        "max-valid-lifetime",
    ],
    refused: &[
        (
            "option-def",
            "option definitions inside a class are not supported; define them globally",
        ),
        (
            "template-test",
            "template classes (spawning) are not supported",
        ),
    ],
};

/// Keys of an `option-data` entry.
pub(crate) const OPTION_DATA: Schema = Schema {
    known: &[
        "name",
        "code",
        "space",
        "data",
        "csv-format",
        "always-send",
        "never-send",
    ],
    refused: &[(
        "client-classes",
        "per-option class guards are not supported; put the option in a client class",
    )],
};

/// Keys of an `option-def` entry.
pub(crate) const OPTION_DEF: Schema = Schema {
    known: &[
        "name",
        "code",
        "space",
        "type",
        "array",
        "record-types",
        "encapsulate",
    ],
    refused: &[],
};

/// Keys of `interfaces-config`.
pub(crate) const INTERFACES: Schema = Schema {
    known: &[
        "interfaces",
        "dhcp-socket-type",
        "re-detect",
        "outbound-interface",
        "service-sockets-require-all",
        "service-sockets-max-retries",
        "service-sockets-retry-wait-time",
    ],
    refused: &[],
};

/// Keys of `lease-database`, `hosts-database(s)` and `config-databases` entries.
pub(crate) const DATABASE: Schema = Schema {
    known: &[
        "type",
        "name",
        "host",
        "port",
        "user",
        "password",
        "url",
        "connect-timeout",
        "max-reconnect-tries",
        "reconnect-wait-time",
        "on-fail",
        "retry-on-startup",
        "readonly",
        "max-connections",
    ],
    refused: &[
        ("persist", "memfile is not supported; use sqlite"),
        ("lfc-interval", "memfile is not supported; use sqlite"),
        ("max-row-errors", "memfile is not supported; use sqlite"),
        (
            "password-file",
            "put the password in `password` or an environment override",
        ),
        ("trust-anchor", "TLS to the database is not supported yet"),
        ("cert-file", "TLS to the database is not supported yet"),
        ("key-file", "TLS to the database is not supported yet"),
        ("ssl-mode", "TLS to the database is not supported yet"),
        ("cipher-list", "TLS to the database is not supported yet"),
        ("read-timeout", "per-query timeouts are not supported"),
        ("write-timeout", "per-query timeouts are not supported"),
        ("tcp-user-timeout", "per-query timeouts are not supported"),
    ],
};

/// Keys of `expired-leases-processing`.
pub(crate) const EXPIRED: Schema = Schema {
    known: &[
        "reclaim-timer-wait-time",
        "flush-reclaimed-timer-wait-time",
        "hold-reclaimed-time",
        "max-reclaim-leases",
        "max-reclaim-time",
        "unwarned-reclaim-cycles",
    ],
    refused: &[],
};

/// Keys of `multi-threading`.
pub(crate) const MULTI_THREADING: Schema = Schema {
    known: &[
        "enable-multi-threading",
        "thread-pool-size",
        "packet-queue-size",
    ],
    refused: &[],
};

/// Keys of `config-control`.
pub(crate) const CONFIG_CONTROL: Schema = Schema {
    known: &["config-databases", "config-fetch-wait-time"],
    refused: &[],
};

/// Keys of `control-socket` and `control-sockets` entries.
pub(crate) const CONTROL_SOCKET: Schema = Schema {
    known: &[
        "socket-type",
        "socket-name",
        "socket-address",
        "socket-port",
        "authentication",
    ],
    refused: &[
        (
            "trust-anchor",
            "TLS on the control socket is not supported yet; use a reverse proxy",
        ),
        (
            "cert-file",
            "TLS on the control socket is not supported yet; use a reverse proxy",
        ),
        (
            "key-file",
            "TLS on the control socket is not supported yet; use a reverse proxy",
        ),
        (
            "cert-required",
            "TLS on the control socket is not supported yet; use a reverse proxy",
        ),
        ("http-headers", "custom HTTP headers are not supported"),
    ],
};

/// Keys of `authentication`.
pub(crate) const AUTHENTICATION: Schema = Schema {
    known: &["type", "realm", "clients"],
    refused: &[("directory", "password files are not supported")],
};

/// Keys of an authentication client.
pub(crate) const AUTH_CLIENT: Schema = Schema {
    known: &["user", "password"],
    refused: &[
        ("user-file", "credential files are not supported"),
        ("password-file", "credential files are not supported"),
    ],
};

/// Keys of a logger.
pub(crate) const LOGGER: Schema = Schema {
    known: &[
        "name",
        "severity",
        "debuglevel",
        "output-options",
        "output_options",
    ],
    refused: &[],
};

/// Keys of a logger output.
pub(crate) const LOGGER_OUTPUT: Schema = Schema {
    known: &["output", "flush", "maxsize", "maxver", "pattern"],
    refused: &[],
};

/// Keys of a hooks-libraries entry.
pub(crate) const HOOK: Schema = Schema {
    known: &["library", "parameters"],
    refused: &[],
};

/// Keys of `dhcp-ddns` (accepted only with updates disabled).
pub(crate) const DHCP_DDNS: Schema = Schema {
    known: &[
        "enable-updates",
        "server-ip",
        "server-port",
        "sender-ip",
        "sender-port",
        "max-queue-size",
        "ncr-protocol",
        "ncr-format",
    ],
    refused: &[],
};

/// Keys of one `high-availability` relationship.
pub(crate) const HA: Schema = Schema {
    known: &[
        "this-server-name",
        "mode",
        "heartbeat-delay",
        "max-response-delay",
        "max-ack-delay",
        "max-unacked-clients",
        "max-rejected-lease-updates",
        "send-lease-updates",
        "sync-leases",
        "sync-timeout",
        "sync-page-limit",
        "delayed-updates-limit",
        "wait-backup-ack",
        "peers",
        "multi-threading",
        "restrict-commands",
    ],
    refused: &[
        ("trust-anchor", "TLS between HA peers is not supported yet"),
        ("cert-file", "TLS between HA peers is not supported yet"),
        ("key-file", "TLS between HA peers is not supported yet"),
        (
            "require-client-certs",
            "TLS between HA peers is not supported yet",
        ),
        (
            "state-machine",
            "pausing the HA state machine is not supported",
        ),
    ],
};

/// Keys of an HA peer.
pub(crate) const HA_PEER: Schema = Schema {
    known: &[
        "name",
        "url",
        "role",
        "auto-failover",
        "basic-auth-user",
        "basic-auth-password",
    ],
    refused: &[
        (
            "basic-auth-password-file",
            "credential files are not supported",
        ),
        ("trust-anchor", "TLS between HA peers is not supported yet"),
        ("cert-file", "TLS between HA peers is not supported yet"),
        ("key-file", "TLS between HA peers is not supported yet"),
    ],
};

/// The schema of the map at `path` (real key spellings), for mapping environment
/// variables onto keys absent from the file. Lists are not addressable.
pub(crate) fn schema_at(path: &[String]) -> Option<&'static Schema> {
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match parts.as_slice() {
        [] => &ROOT,
        ["Dhcp4"] => &DHCP4,
        ["Dhcp4", "lease-database" | "hosts-database"] => &DATABASE,
        ["Dhcp4", "interfaces-config"] => &INTERFACES,
        ["Dhcp4", "expired-leases-processing"] => &EXPIRED,
        ["Dhcp4", "multi-threading"] => &MULTI_THREADING,
        ["Dhcp4", "config-control"] => &CONFIG_CONTROL,
        ["Dhcp4", "control-socket"] => &CONTROL_SOCKET,
        ["Dhcp4", "dhcp-ddns"] => &DHCP_DDNS,
        _ => return None,
    })
}
