-- V1: the lease and host-reservation schema (MySQL / MariaDB).
-- Same tables and meaning as migrations/postgres/V1. MySQL DDL commits implicitly, so each
-- table is one statement with its indexes inline and IF NOT EXISTS: a V1 interrupted half-way
-- can simply be run again.
-- IPv4 addresses are BIGINT; expiry times are Unix seconds.
-- lease state: 0 default, 1 declined, 2 expired-reclaimed, 3 released, 5 offered.

CREATE TABLE IF NOT EXISTS lease4 (
    address        BIGINT NOT NULL PRIMARY KEY,
    hwaddr         VARBINARY(64),
    hwtype         SMALLINT NOT NULL DEFAULT 1,
    client_id      VARBINARY(255),
    valid_lifetime BIGINT NOT NULL,
    expire         BIGINT NOT NULL,
    subnet_id      BIGINT NOT NULL,
    pool_id        BIGINT NOT NULL DEFAULT 0,
    fqdn_fwd       BOOLEAN NOT NULL DEFAULT FALSE,
    fqdn_rev       BOOLEAN NOT NULL DEFAULT FALSE,
    hostname       VARCHAR(255) NOT NULL DEFAULT '',
    state          SMALLINT NOT NULL DEFAULT 0,
    user_context   TEXT,
    relay_id       VARBINARY(255),
    remote_id      VARBINARY(255),
    CHECK (address BETWEEN 0 AND 4294967295),
    INDEX lease4_by_hwaddr (hwaddr, subnet_id),
    INDEX lease4_by_client_id (client_id, subnet_id),
    INDEX lease4_by_state_expire (state, expire),
    INDEX lease4_by_subnet (subnet_id, state)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS lease6 (
    address        VARBINARY(16) NOT NULL,
    prefix_len     SMALLINT NOT NULL DEFAULT 128,
    lease_type     SMALLINT NOT NULL DEFAULT 0,
    duid           VARBINARY(130) NOT NULL,
    iaid           BIGINT NOT NULL,
    hwaddr         VARBINARY(64),
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
    relay_id       VARBINARY(255),
    remote_id      VARBINARY(255),
    PRIMARY KEY (address, prefix_len),
    INDEX lease6_by_duid_iaid (duid, iaid, subnet_id),
    INDEX lease6_by_state_expire (state, expire),
    INDEX lease6_by_subnet (subnet_id, state)
) ENGINE = InnoDB;

-- Identifier types: 0 hw-address, 1 duid, 2 circuit-id, 3 client-id, 4 flex-id.
-- dhcp4_subnet_id 0 is a global reservation; NULL means "not a DHCPv4 reservation".
CREATE TABLE IF NOT EXISTS hosts (
    host_id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    dhcp_identifier       VARBINARY(255) NOT NULL,
    dhcp_identifier_type  SMALLINT NOT NULL,
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
    auth_key              VARCHAR(32),
    CHECK (dhcp_identifier_type BETWEEN 0 AND 4),
    UNIQUE INDEX hosts_by_id_v4 (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id),
    UNIQUE INDEX hosts_by_id_v6 (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id),
    UNIQUE INDEX hosts_by_ipv4 (ipv4_address, dhcp4_subnet_id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS ipv6_reservations (
    reservation_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    address        VARBINARY(16) NOT NULL,
    prefix_len     SMALLINT NOT NULL DEFAULT 128,
    type           SMALLINT NOT NULL DEFAULT 0,
    dhcp6_iaid     BIGINT,
    host_id        BIGINT NOT NULL,
    UNIQUE INDEX ipv6_reservations_by_address (address, prefix_len),
    INDEX ipv6_reservations_by_host (host_id),
    FOREIGN KEY (host_id) REFERENCES hosts (host_id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS dhcp4_options (
    option_id       BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code            SMALLINT NOT NULL,
    value           BLOB,
    formatted_value TEXT,
    space           VARCHAR(128) NOT NULL DEFAULT 'dhcp4',
    persistent      BOOLEAN NOT NULL DEFAULT FALSE,
    host_id         BIGINT,
    scope_id        SMALLINT NOT NULL DEFAULT 3,
    user_context    TEXT,
    INDEX dhcp4_options_by_host (host_id),
    FOREIGN KEY (host_id) REFERENCES hosts (host_id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS dhcp6_options (
    option_id       BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code            INT NOT NULL,
    value           BLOB,
    formatted_value TEXT,
    space           VARCHAR(128) NOT NULL DEFAULT 'dhcp6',
    persistent      BOOLEAN NOT NULL DEFAULT FALSE,
    host_id         BIGINT,
    scope_id        SMALLINT NOT NULL DEFAULT 3,
    user_context    TEXT,
    INDEX dhcp6_options_by_host (host_id),
    FOREIGN KEY (host_id) REFERENCES hosts (host_id) ON DELETE CASCADE
) ENGINE = InnoDB;
