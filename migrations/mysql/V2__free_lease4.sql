-- V2: the free-address list (see migrations/postgres/V2 for why). Idempotent DDL,
-- because MySQL commits each CREATE on its own.
CREATE TABLE IF NOT EXISTS free_lease4 (
    address BIGINT NOT NULL PRIMARY KEY
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS lease4_pool (
    start_address BIGINT NOT NULL,
    end_address   BIGINT NOT NULL,
    subnet_id     BIGINT NOT NULL,
    loaded_at     BIGINT NOT NULL,
    PRIMARY KEY (start_address, end_address)
) ENGINE = InnoDB;
