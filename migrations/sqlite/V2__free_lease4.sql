-- V2: a free-address list, so allocation is one indexed pick (FOR UPDATE SKIP LOCKED)
-- instead of probing a pool that may be 99% leased. Every address of a configured pool
-- that has no active lease has a row here; claiming an address deletes its row in the
-- same statement that writes the lease. lease4_pool records which ranges were loaded,
-- so a front-end starting up does not reload a /16 that a sibling already loaded.
CREATE TABLE free_lease4 (
    address BIGINT PRIMARY KEY
);

CREATE TABLE lease4_pool (
    start_address BIGINT NOT NULL,
    end_address   BIGINT NOT NULL,
    subnet_id     BIGINT NOT NULL,
    loaded_at     BIGINT NOT NULL,
    PRIMARY KEY (start_address, end_address)
);
