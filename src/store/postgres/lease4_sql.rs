//! SQL text, binds and row mapping for `lease4.rs` (same backend).

use std::net::Ipv4Addr;

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;

use crate::store::peek_sql::random_point;
use crate::store::{ClientKey, Lease4, PoolRange};

pub(super) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// The lease4 columns in bind order (address first).
macro_rules! cols {
    () => {
        "address, hwaddr, hwtype, client_id, valid_lifetime, expire, subnet_id, pool_id, \
         fqdn_fwd, fqdn_rev, hostname, state, user_context, relay_id, remote_id"
    };
}

/// `SET` list of an upsert: every column but the address from the proposed row.
macro_rules! upsert_set {
    () => {
        "hwaddr = EXCLUDED.hwaddr, hwtype = EXCLUDED.hwtype, client_id = EXCLUDED.client_id, \
         valid_lifetime = EXCLUDED.valid_lifetime, expire = EXCLUDED.expire, \
         subnet_id = EXCLUDED.subnet_id, pool_id = EXCLUDED.pool_id, \
         fqdn_fwd = EXCLUDED.fqdn_fwd, fqdn_rev = EXCLUDED.fqdn_rev, \
         hostname = EXCLUDED.hostname, state = EXCLUDED.state, \
         user_context = EXCLUDED.user_context, relay_id = EXCLUDED.relay_id, \
         remote_id = EXCLUDED.remote_id"
    };
}

/// An address exists in some loaded pool range (`lease4_pool`). `{a}` is the address expression.
pub(super) const IN_LOADED_POOL: &str =
    "EXISTS (SELECT 1 FROM lease4_pool p WHERE {a} BETWEEN p.start_address AND p.end_address)";

/// The existing row is an active lease and the write is only an offer.
macro_rules! keep {
    () => {
        "(EXCLUDED.state = 5 AND lease4.state = 0 AND lease4.expire >= $16)"
    };
}

/// claim4: $1..$14 fields, $15 address, $16 now, $17 client id, $18 hwaddr (NULL if empty).
/// An offer written over the same client's active lease keeps that lease as it is (a
/// sibling's late OFFER must not turn a committed lease back into an offer).
pub(super) const CLAIM4: &str = concat!(
    "WITH gone AS (DELETE FROM free_lease4 WHERE address = $15) ",
    "INSERT INTO lease4 (",
    cols!(),
    ") VALUES ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ",
    "ON CONFLICT (address) DO UPDATE SET ",
    "hwaddr = EXCLUDED.hwaddr, hwtype = EXCLUDED.hwtype, client_id = EXCLUDED.client_id, ",
    "subnet_id = EXCLUDED.subnet_id, pool_id = EXCLUDED.pool_id, ",
    "fqdn_fwd = EXCLUDED.fqdn_fwd, fqdn_rev = EXCLUDED.fqdn_rev, ",
    "hostname = EXCLUDED.hostname, user_context = EXCLUDED.user_context, ",
    "relay_id = EXCLUDED.relay_id, remote_id = EXCLUDED.remote_id, ",
    "valid_lifetime = CASE WHEN ",
    keep!(),
    " THEN lease4.valid_lifetime ELSE EXCLUDED.valid_lifetime END, ",
    "expire = CASE WHEN ",
    keep!(),
    " THEN lease4.expire ELSE EXCLUDED.expire END, ",
    "state = CASE WHEN ",
    keep!(),
    " THEN lease4.state ELSE EXCLUDED.state END",
    " WHERE lease4.state IN (2, 3) OR lease4.expire < $16",
    " OR ($17::bytea IS NOT NULL AND lease4.client_id = $17)",
    " OR (($17::bytea IS NULL OR lease4.client_id IS NULL) AND lease4.hwaddr = $18)",
    " RETURNING valid_lifetime, expire, state"
);

/// sync_pools4 for one range: $1 start, $2 end, $3 subnet, $4 now. The loser of a race on
/// the `lease4_pool` row inserts nothing.
pub(super) const SYNC_RANGE: &str =
    "WITH p AS (INSERT INTO lease4_pool (start_address, end_address, subnet_id, loaded_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING start_address, end_address) \
     INSERT INTO free_lease4 (address) \
     SELECT g FROM p, generate_series(p.start_address, p.end_address) AS g \
     WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = g \
        AND l.state IN (0, 1, 5) AND l.expire >= $4) \
     ON CONFLICT DO NOTHING";

/// Bind the 14 non-address columns of `lease`, in [`cols!`] order.
pub(super) fn bind_fields<'q>(q: PgQuery<'q>, lease: &Lease4) -> PgQuery<'q> {
    crate::store::lease_row::bind_lease_fields!(q, lease, i16)
}

pub(super) use crate::store::lease_row::lease_from_row;
pub(super) use crate::store::{addr_from_db, addr_to_db, id_from_db};

/// The client-key parameters of an ownership check: client id, and the hwaddr or NULL
/// when empty (an empty hwaddr never identifies anyone, as in [`ClientKey::owns`]).
pub(super) fn key_params(client: &ClientKey) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
    (client.client_id.clone(), hw)
}

/// SQL for "the row `l` is owned by the client" given the client id at `$cid` and the
/// hwaddr at `$hw`; mirrors [`ClientKey::owns`].
pub(super) fn owned_by(cid: usize, hw: usize) -> String {
    format!(
        "((${cid}::bytea IS NOT NULL AND l.client_id = ${cid}) \
         OR ((${cid}::bytea IS NULL OR l.client_id IS NULL) AND l.hwaddr = ${hw}))"
    )
}

/// Ranges sorted by start, the order in which the free list is searched.
pub(super) fn sorted(pools: &[PoolRange]) -> Vec<PoolRange> {
    let mut v = pools.to_vec();
    v.sort_by_key(|p| (p.start, p.end));
    v
}

/// `(col BETWEEN $n AND $n+1 OR …)` for each range, parameters from `first`.
pub(super) fn ranges_sql(col: &str, n: usize, first: usize) -> String {
    let parts: Vec<String> = (0..n)
        .map(|i| {
            let a = first + 2 * i;
            format!("{col} BETWEEN ${a} AND ${}", a + 1)
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

pub(super) fn bind_ranges<'q>(mut q: PgQuery<'q>, pools: &[PoolRange]) -> PgQuery<'q> {
    for p in pools {
        q = q.bind(addr_to_db(p.start)).bind(addr_to_db(p.end));
    }
    q
}

/// The pool id of the range holding `address` (0 when none does).
pub(super) fn pool_id_of(pools: &[PoolRange], address: Ipv4Addr) -> u32 {
    pools
        .iter()
        .find(|p| p.contains(address))
        .map_or(0, |p| p.pool_id)
}

/// `CASE` giving the pool id of the range (parameters from $17, in `pools` order) that
/// holds `col`: the stored row carries the pool it was allocated from. Pool ids are
/// integers from the validated configuration, inlined as literals.
pub(super) fn pool_id_case(col: &str, pools: &[PoolRange]) -> String {
    let arms: String = pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let a = 17 + 2 * i;
            format!(" WHEN {col} BETWEEN ${a} AND ${} THEN {}", a + 1, p.pool_id)
        })
        .collect();
    format!("CASE{arms} ELSE $7 END")
}

/// claim_free4: $1..$14 fields, $15 now, $16 subnet, ranges from $17, then one random
/// starting point per range (see [`bind_froms`]).
pub(super) fn claim_free_sql(pools: &[PoolRange]) -> String {
    free_sql(pools, None)
}

/// previous_or_free4: as [`claim_free_sql`], plus the client's key (`key_col` = $k) and
/// subnet ids ($k+1, an array) after the ranges, then the starting points. The free pick
/// runs only when the client has no row; the one result row carries `prev`, `picked` and
/// `claimed`.
pub(super) fn previous_or_free_sql(pools: &[PoolRange], key_col: &str) -> String {
    free_sql(pools, Some(key_col))
}

/// Bind one random starting point per range, in `pools` order: the pick takes the first
/// free address at or above it (wrapping round to the range's start). Concurrent claims,
/// on this front-end or another, then seldom reach for the same row (with `SKIP LOCKED`
/// they would skip each other's, but each skip is a wasted lock attempt), and a pick
/// does not walk the free-list entries that claims deleted at the bottom of the range
/// and vacuum has not yet removed.
pub(super) fn bind_froms<'q>(mut q: PgQuery<'q>, pools: &[PoolRange]) -> PgQuery<'q> {
    for p in pools {
        q = q.bind(random_point(p));
    }
    q
}

/// [`CLAIM4`] with its parameters bound.
pub(super) fn claim4_query<'q>(lease: &Lease4, client: &ClientKey, now: i64) -> PgQuery<'q> {
    let (cid, hw) = key_params(client);
    bind_fields(sqlx::query(CLAIM4), lease)
        .bind(addr_to_db(lease.address))
        .bind(now)
        .bind(cid)
        .bind(hw)
}

fn free_sql(pools: &[PoolRange], prev_key: Option<&str>) -> String {
    let n = pools.len();
    let k = 17 + 2 * n;
    let (prev_cte, no_prev, froms) = match prev_key {
        Some(col) => (
            format!(
                "prev AS (SELECT address FROM lease4 WHERE {col} = ${k} \
                 AND subnet_id = ANY(${k1}) AND state <> 3 ORDER BY expire DESC LIMIT 1), ",
                k1 = k + 1
            ),
            "NOT EXISTS (SELECT 1 FROM prev) AND ",
            k + 2,
        ),
        None => (String::new(), "", k),
    };
    let branch = |tag: String, lo: usize, hi: usize| {
        format!(
            "SELECT address FROM (SELECT f.address FROM free_lease4 f \
             WHERE {no_prev}f.address BETWEEN ${lo} AND ${hi} \
             AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = f.address \
             AND h.dhcp4_subnet_id = $16) \
             ORDER BY f.address LIMIT 1 FOR UPDATE SKIP LOCKED) {tag}"
        )
    };
    // Per range: from its random point up, then from its start (the wrap-round branch
    // runs only when the first found nothing: the Append stops at the first row).
    let picks: Vec<String> = (0..n)
        .flat_map(|i| {
            let a = 17 + 2 * i;
            [
                branch(format!("r{i}"), froms + i, a + 1),
                branch(format!("w{i}"), a, a + 1),
            ]
        })
        .collect();
    let result = if prev_key.is_some() {
        "SELECT (SELECT address FROM prev) AS prev, gone.address AS picked, \
         ins.address AS claimed FROM (SELECT 1) one LEFT JOIN gone ON true \
         LEFT JOIN ins ON ins.address = gone.address"
    } else {
        "SELECT gone.address AS picked, ins.address AS claimed \
         FROM gone LEFT JOIN ins ON ins.address = gone.address"
    };
    format!(
        "WITH {prev_cte}pick AS (SELECT address FROM ({picks}) u LIMIT 1), \
         gone AS (DELETE FROM free_lease4 WHERE address = (SELECT address FROM pick) \
           RETURNING address), \
         ins AS (INSERT INTO lease4 ({cols}) SELECT gone.address, \
           $1, $2, $3, $4, $5, $6, {pool_id}, $8, $9, $10, $11, $12, $13, $14 FROM gone \
           ON CONFLICT (address) DO UPDATE SET {set} \
           WHERE lease4.state IN (2, 3) OR lease4.expire < $15 RETURNING address) \
         {result}",
        picks = picks.join(" UNION ALL "),
        pool_id = pool_id_case("gone.address", pools),
        cols = cols!(),
        set = upsert_set!(),
    )
}

/// claim_expired4: $1..$14 fields, $15 now, $16 subnet, ranges from $17.
pub(super) fn claim_expired_sql(pools: &[PoolRange]) -> String {
    format!(
        "WITH pick AS (SELECT l.address FROM lease4 l WHERE {ranges} \
           AND l.state IN (0, 1, 5) AND l.expire < $15 \
           AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = l.address \
             AND h.dhcp4_subnet_id = $16) \
           ORDER BY l.expire LIMIT 1 FOR UPDATE SKIP LOCKED), \
         upd AS (UPDATE lease4 SET hwaddr = $1, hwtype = $2, client_id = $3, \
           valid_lifetime = $4, expire = $5, subnet_id = $6, pool_id = {pool_id}, fqdn_fwd = $8, \
           fqdn_rev = $9, hostname = $10, state = $11, user_context = $12, relay_id = $13, \
           remote_id = $14 \
           WHERE address = (SELECT address FROM pick) AND state IN (0, 1, 5) AND expire < $15 \
           RETURNING address), \
         gone AS (DELETE FROM free_lease4 WHERE address IN (SELECT address FROM upd)) \
         SELECT address FROM upd",
        ranges = ranges_sql("l.address", pools.len(), 17),
        pool_id = pool_id_case("address", pools),
    )
}

/// How many times claim_free4 retries after consuming a stale free-list row.
pub(super) const STALE_RETRIES: usize = 8;

/// Rows per multi-row INSERT in upload_leases4 (15 parameters each, under PG's 65535).
pub(super) const UPLOAD_BATCH: usize = 1000;

/// lease4_counts: $1 now.
pub(super) const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= $1 THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= $1 THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

/// `lease` placed at `address`, with the pool id of the range it fell in.
pub(super) fn with_address(lease: &Lease4, address: Ipv4Addr, pools: &[PoolRange]) -> Lease4 {
    Lease4 {
        address,
        pool_id: pool_id_of(pools, address),
        ..lease.clone()
    }
}

pub(super) use cols;
pub(super) use upsert_set;
