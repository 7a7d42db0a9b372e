-- V1: the lease and host-reservation schema (SQLite). Same tables and meaning as
-- migrations/postgres/V1.
-- IPv4 addresses are BIGINT (as in Kea's lease4) so that a pool is an index range scan.
-- Expiry times are Unix seconds (BIGINT) in every dialect: one representation for
-- PostgreSQL, MySQL and SQLite, and the same value Kea's memfile CSV carries.
-- lease state: 0 default, 1 declined, 2 expired-reclaimed, 3 released, 5 offered.

CREATE TABLE lease4 (
    address        BIGINT PRIMARY KEY,            -- at most one lease row per address
    hwaddr         BLOB,
    hwtype         SMALLINT NOT NULL DEFAULT 1,
    client_id      BLOB,
    valid_lifetime BIGINT NOT NULL,
    expire         BIGINT NOT NULL,
    subnet_id      BIGINT NOT NULL,
    pool_id        BIGINT NOT NULL DEFAULT 0,
    fqdn_fwd       BOOLEAN NOT NULL DEFAULT FALSE,
    fqdn_rev       BOOLEAN NOT NULL DEFAULT FALSE,
    hostname       VARCHAR(255) NOT NULL DEFAULT '',
    state          SMALLINT NOT NULL DEFAULT 0,
    user_context   TEXT,
    relay_id       BLOB,
    remote_id      BLOB,
    CHECK (address BETWEEN 0 AND 4294967295)
);
-- Client look-ups (returning client, RELEASE/DECLINE ownership checks).
CREATE INDEX lease4_by_hwaddr ON lease4 (hwaddr, subnet_id);
CREATE INDEX lease4_by_client_id ON lease4 (client_id, subnet_id);
-- Reclamation walks expired leases in expiry order.
CREATE INDEX lease4_by_state_expire ON lease4 (state, expire);
-- Per-subnet statistics.
CREATE INDEX lease4_by_subnet ON lease4 (subnet_id, state);

CREATE TABLE lease6 (
    address        BLOB NOT NULL,                -- 16 bytes; the prefix for IA_PD
    prefix_len     SMALLINT NOT NULL DEFAULT 128,
    lease_type     SMALLINT NOT NULL DEFAULT 0,   -- 0 IA_NA, 1 IA_TA, 2 IA_PD
    duid           BLOB NOT NULL,
    iaid           BIGINT NOT NULL,
    hwaddr         BLOB,
    hwtype         SMALLINT,
    valid_lifetime BIGINT NOT NULL,
    pref_lifetime  BIGINT NOT NULL,
    expire         BIGINT NOT NULL,
    subnet_id      BIGINT NOT NULL,
    pool_id        BIGINT NOT NULL DEFAULT 0,
    fqdn_fwd       BOOLEAN NOT NULL DEFAULT FALSE,
    fqdn_rev       BOOLEAN NOT NULL DEFAULT FALSE,
    hostname       VARCHAR(255) NOT NULL DEFAULT '',
    state          SMALLINT NOT NULL DEFAULT 0,
    user_context   TEXT,
    relay_id       BLOB,
    remote_id      BLOB,
    PRIMARY KEY (address, prefix_len)
);
CREATE INDEX lease6_by_duid_iaid ON lease6 (duid, iaid, subnet_id);
CREATE INDEX lease6_by_state_expire ON lease6 (state, expire);
CREATE INDEX lease6_by_subnet ON lease6 (subnet_id, state);

-- Host reservations. Identifier types as Kea's host_identifier_type:
-- 0 hw-address, 1 duid, 2 circuit-id, 3 client-id, 4 flex-id.
-- dhcp4_subnet_id 0 is a global reservation; NULL means "not a DHCPv4 reservation".
CREATE TABLE hosts (
    host_id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dhcp_identifier       BLOB NOT NULL,
    dhcp_identifier_type  SMALLINT NOT NULL CHECK (dhcp_identifier_type BETWEEN 0 AND 4),
    dhcp4_subnet_id       BIGINT,
    dhcp6_subnet_id       BIGINT,
    ipv4_address          BIGINT,
    hostname              VARCHAR(255),
    dhcp4_client_classes  VARCHAR(255),
    dhcp6_client_classes  VARCHAR(255),
    dhcp4_next_server     BIGINT,
    dhcp4_server_hostname VARCHAR(64),
    dhcp4_boot_file_name  VARCHAR(128),
    user_context          TEXT,
    auth_key              VARCHAR(32)
);
-- Integrity lives in the database: one host per identifier per subnet, one host per
-- reserved address per subnet (NULLs are distinct, so v6-only hosts are unaffected).
CREATE UNIQUE INDEX hosts_by_id_v4 ON hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id);
CREATE UNIQUE INDEX hosts_by_id_v6 ON hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id);
CREATE UNIQUE INDEX hosts_by_ipv4 ON hosts (ipv4_address, dhcp4_subnet_id);

CREATE TABLE ipv6_reservations (
    reservation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    address        BLOB NOT NULL,
    prefix_len     SMALLINT NOT NULL DEFAULT 128,
    type           SMALLINT NOT NULL DEFAULT 0,   -- 0 address, 2 prefix
    dhcp6_iaid     BIGINT,
    host_id        INTEGER NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ipv6_reservations_by_address ON ipv6_reservations (address, prefix_len);
CREATE INDEX ipv6_reservations_by_host ON ipv6_reservations (host_id);

-- Per-host options (scope_id 3 = host, as in Kea). value is the wire form;
-- formatted_value the textual form Kea's option-data "data" accepts.
CREATE TABLE dhcp4_options (
    option_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    code            SMALLINT NOT NULL,
    value           BLOB,
    formatted_value TEXT,
    space           VARCHAR(128) NOT NULL DEFAULT 'dhcp4',
    persistent      BOOLEAN NOT NULL DEFAULT FALSE,
    host_id         INTEGER REFERENCES hosts (host_id) ON DELETE CASCADE,
    scope_id        SMALLINT NOT NULL DEFAULT 3,
    user_context    TEXT
);
CREATE INDEX dhcp4_options_by_host ON dhcp4_options (host_id);

CREATE TABLE dhcp6_options (
    option_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    code            INTEGER NOT NULL,
    value           BLOB,
    formatted_value TEXT,
    space           VARCHAR(128) NOT NULL DEFAULT 'dhcp6',
    persistent      BOOLEAN NOT NULL DEFAULT FALSE,
    host_id         INTEGER REFERENCES hosts (host_id) ON DELETE CASCADE,
    scope_id        SMALLINT NOT NULL DEFAULT 3,
    user_context    TEXT
);
CREATE INDEX dhcp6_options_by_host ON dhcp6_options (host_id);
