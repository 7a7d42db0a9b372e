//! SQL text, binds and row mapping for `lease4.rs` (same backend).

use std::net::Ipv4Addr;

use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Sqlite, SqliteConnection};

use crate::store::{map_err, Lease4, PoolRange, StoreResult};

pub(super) type LiteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;

/// The lease4 columns in bind order (address first).
macro_rules! cols {
    () => {
        "address, hwaddr, hwtype, client_id, valid_lifetime, expire, subnet_id, pool_id, \
         fqdn_fwd, fqdn_rev, hostname, state, user_context, relay_id, remote_id"
    };
}

/// Opens a write transaction: the lock is taken before the first read.
pub(super) const BEGIN: &str = "BEGIN IMMEDIATE";
/// Stale free-list rows claim_free4 may consume in one transaction before giving up.
pub(super) const STALE_RETRIES: usize = 8;
/// Rows per multi-row INSERT (15 parameters each, under SQLite's 32766).
pub(super) const UPLOAD_BATCH: usize = 1000;

pub(super) const SELECT_BY_ADDRESS: &str =
    concat!("SELECT ", cols!(), " FROM lease4 WHERE address = ?");
/// Write a whole row, replacing any row at the address (the caller decided it may).
pub(super) const UPSERT_LEASE: &str = concat!(
    "INSERT INTO lease4 (",
    cols!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET \
     hwaddr = excluded.hwaddr, hwtype = excluded.hwtype, client_id = excluded.client_id, \
     valid_lifetime = excluded.valid_lifetime, expire = excluded.expire, \
     subnet_id = excluded.subnet_id, pool_id = excluded.pool_id, \
     fqdn_fwd = excluded.fqdn_fwd, fqdn_rev = excluded.fqdn_rev, \
     hostname = excluded.hostname, state = excluded.state, \
     user_context = excluded.user_context, relay_id = excluded.relay_id, \
     remote_id = excluded.remote_id"
);
pub(super) const DELETE_FREE: &str = "DELETE FROM free_lease4 WHERE address = ?";
/// Re-add an address to the free list when it lies in a loaded pool.
pub(super) const REFREE: &str = "INSERT OR IGNORE INTO free_lease4 (address) SELECT ?1 \
     WHERE EXISTS (SELECT 1 FROM lease4_pool p WHERE ?1 BETWEEN p.start_address AND p.end_address)";
/// Ownership test on table `lease4`: ?3 client id, ?4 hwaddr (NULL when empty).
pub(super) const OWNED: &str = "((?3 IS NOT NULL AND client_id = ?3) \
     OR ((?3 IS NULL OR client_id IS NULL) AND hwaddr = ?4))";
pub(super) const PICK_FREE: &str =
    "SELECT f.address FROM free_lease4 f WHERE f.address BETWEEN ?1 AND ?2 \
     AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = f.address \
       AND h.dhcp4_subnet_id = ?3) ORDER BY f.address LIMIT 1";
pub(super) const LOAD_RANGE: &str = "WITH RECURSIVE seq (a) AS \
       (SELECT ?1 UNION ALL SELECT a + 1 FROM seq WHERE a < ?2) \
     INSERT OR IGNORE INTO free_lease4 (address) \
     SELECT a FROM seq WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = seq.a \
       AND l.state IN (0, 1, 5) AND l.expire >= ?3)";
pub(super) const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= ?1 THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= ?1 THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

/// Bind the 14 non-address columns of `lease`, in [`cols!`] order.
pub(super) fn bind_fields<'q>(q: LiteQuery<'q>, lease: &Lease4) -> LiteQuery<'q> {
    crate::store::lease_row::bind_lease_fields!(q, lease, i64)
}

pub(super) use crate::store::lease_row::lease_from_row;
pub(super) use crate::store::{addr_from_db, addr_to_db, id_from_db};

/// The current row at `address` (inside the caller's write transaction).
pub(super) async fn current(
    conn: &mut SqliteConnection,
    address: Ipv4Addr,
) -> StoreResult<Option<Lease4>> {
    let row = sqlx::query(SELECT_BY_ADDRESS)
        .bind(addr_to_db(address))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(lease_from_row).transpose()
}

/// Write `lease` and take its address off the free list.
pub(super) async fn write_lease(conn: &mut SqliteConnection, lease: &Lease4) -> StoreResult<()> {
    let a = addr_to_db(lease.address);
    bind_fields(sqlx::query(UPSERT_LEASE).bind(a), lease)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query(DELETE_FREE)
        .bind(a)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// `lease` placed at `address`, with the pool id of the range it fell in.
pub(super) fn with_address(lease: &Lease4, address: Ipv4Addr, pool_id: u32) -> Lease4 {
    Lease4 {
        address,
        pool_id,
        ..lease.clone()
    }
}

/// The lowest free, unreserved address of `p` (inside the caller's transaction).
pub(super) async fn pick_free(
    conn: &mut SqliteConnection,
    p: &PoolRange,
    subnet_id: u32,
) -> StoreResult<Option<Ipv4Addr>> {
    let a: Option<i64> = sqlx::query_scalar(PICK_FREE)
        .bind(addr_to_db(p.start))
        .bind(addr_to_db(p.end))
        .bind(i64::from(subnet_id))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    a.map(|v| addr_from_db(v, "address")).transpose()
}

pub(super) use cols;
