//! Lease operations on PostgreSQL.
//!
//! Every claim is **one statement** built from data-modifying CTEs, so it is atomic on its
//! own and costs one round trip:
//! - the free-list pick is `ORDER BY address LIMIT 1 FOR UPDATE SKIP LOCKED`, one indexed
//!   range scan per pool range (ranges are `UNION ALL`ed in address order under an outer
//!   `LIMIT 1`, so later ranges are only read when earlier ones are empty);
//! - the lease write is `INSERT … ON CONFLICT (address) DO UPDATE … WHERE <address is free
//!   or owned>`. In READ COMMITTED, PostgreSQL evaluates that `WHERE` on the newest
//!   committed row version under a row lock, so of two concurrent claims of one address
//!   only one can succeed. This guard — not the free list — is what makes double leasing
//!   impossible: a stale `free_lease4` row (possible when a pool load races a claim) is
//!   consumed harmlessly and the pick moves on.

use std::net::Ipv4Addr;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row};

use super::PgStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, StoreError, StoreResult,
    SubnetLeaseCounts, UnixTime,
};

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

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
const IN_LOADED_POOL: &str =
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
const CLAIM4: &str = concat!(
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
const SYNC_RANGE: &str =
    "WITH p AS (INSERT INTO lease4_pool (start_address, end_address, subnet_id, loaded_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING start_address, end_address) \
     INSERT INTO free_lease4 (address) \
     SELECT g FROM p, generate_series(p.start_address, p.end_address) AS g \
     WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = g \
        AND l.state IN (0, 1, 5) AND l.expire >= $4) \
     ON CONFLICT DO NOTHING";

fn addr_i64(a: Ipv4Addr) -> i64 {
    i64::from(u32::from(a))
}

/// Convert a BIGINT column value back to an address.
pub(super) fn i64_addr(v: i64) -> StoreResult<Ipv4Addr> {
    u32::try_from(v)
        .map(Ipv4Addr::from)
        .map_err(|_| StoreError::Other(format!("address {v} out of IPv4 range")))
}

fn to_u32(v: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Other(format!("{what} {v} out of range")))
}

/// Bind the 14 non-address columns of `lease`, in [`cols!`] order.
fn bind_fields<'q>(q: PgQuery<'q>, lease: &Lease4) -> PgQuery<'q> {
    q.bind(lease.hwaddr.clone())
        .bind(i16::from(lease.hwtype))
        .bind(lease.client_id.clone())
        .bind(i64::from(lease.valid_lifetime))
        .bind(lease.expire)
        .bind(i64::from(lease.subnet_id))
        .bind(i64::from(lease.pool_id))
        .bind(lease.fqdn_fwd)
        .bind(lease.fqdn_rev)
        .bind(lease.hostname.clone())
        .bind(lease.state.code())
        .bind(lease.user_context.clone())
        .bind(lease.relay_id.clone())
        .bind(lease.remote_id.clone())
}

/// Read one lease row selected with [`cols!`].
fn lease_from_row(row: &PgRow) -> StoreResult<Lease4> {
    let get = |e: sqlx::Error| StoreError::Other(format!("lease4 row: {e}"));
    let state: i16 = row.try_get("state").map_err(get)?;
    let hwtype: i16 = row.try_get("hwtype").map_err(get)?;
    Ok(Lease4 {
        address: i64_addr(row.try_get("address").map_err(get)?)?,
        hwaddr: row
            .try_get::<Option<Vec<u8>>, _>("hwaddr")
            .map_err(get)?
            .unwrap_or_default(),
        hwtype: u8::try_from(hwtype).unwrap_or(1),
        client_id: row.try_get("client_id").map_err(get)?,
        valid_lifetime: to_u32(
            row.try_get("valid_lifetime").map_err(get)?,
            "valid_lifetime",
        )?,
        expire: row.try_get("expire").map_err(get)?,
        subnet_id: to_u32(row.try_get("subnet_id").map_err(get)?, "subnet_id")?,
        pool_id: to_u32(row.try_get("pool_id").map_err(get)?, "pool_id")?,
        fqdn_fwd: row.try_get("fqdn_fwd").map_err(get)?,
        fqdn_rev: row.try_get("fqdn_rev").map_err(get)?,
        hostname: row.try_get("hostname").map_err(get)?,
        state: LeaseState::from_code(i64::from(state))
            .ok_or_else(|| StoreError::Other(format!("unknown lease state {state}")))?,
        user_context: row.try_get("user_context").map_err(get)?,
        relay_id: row.try_get("relay_id").map_err(get)?,
        remote_id: row.try_get("remote_id").map_err(get)?,
    })
}

/// The client-key parameters of an ownership check: client id, and the hwaddr or NULL
/// when empty (an empty hwaddr never identifies anyone, as in [`ClientKey::owns`]).
fn key_params(client: &ClientKey) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
    (client.client_id.clone(), hw)
}

/// SQL for "the row `l` is owned by the client" given the client id at `$cid` and the
/// hwaddr at `$hw`; mirrors [`ClientKey::owns`].
fn owned_by(cid: usize, hw: usize) -> String {
    format!(
        "((${cid}::bytea IS NOT NULL AND l.client_id = ${cid}) \
         OR ((${cid}::bytea IS NULL OR l.client_id IS NULL) AND l.hwaddr = ${hw}))"
    )
}

/// Ranges sorted by start, the order in which the free list is searched.
fn sorted(pools: &[PoolRange]) -> Vec<PoolRange> {
    let mut v = pools.to_vec();
    v.sort_by_key(|p| (p.start, p.end));
    v
}

/// `(col BETWEEN $n AND $n+1 OR …)` for each range, parameters from `first`.
fn ranges_sql(col: &str, n: usize, first: usize) -> String {
    let parts: Vec<String> = (0..n)
        .map(|i| {
            let a = first + 2 * i;
            format!("{col} BETWEEN ${a} AND ${}", a + 1)
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

fn bind_ranges<'q>(mut q: PgQuery<'q>, pools: &[PoolRange]) -> PgQuery<'q> {
    for p in pools {
        q = q.bind(addr_i64(p.start)).bind(addr_i64(p.end));
    }
    q
}

/// The pool id of the range holding `address` (0 when none does).
fn pool_id_of(pools: &[PoolRange], address: Ipv4Addr) -> u32 {
    pools
        .iter()
        .find(|p| p.contains(address))
        .map_or(0, |p| p.pool_id)
}

/// `CASE` giving the pool id of the range (parameters from $17, in `pools` order) that
/// holds `col`: the stored row carries the pool it was allocated from. Pool ids are
/// integers from the validated configuration, inlined as literals.
fn pool_id_case(col: &str, pools: &[PoolRange]) -> String {
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

/// claim_free4: $1..$14 fields, $15 now, $16 subnet, ranges from $17.
fn claim_free_sql(pools: &[PoolRange]) -> String {
    let n = pools.len();
    let picks: Vec<String> = (0..n)
        .map(|i| {
            let a = 17 + 2 * i;
            format!(
                "SELECT address FROM (SELECT f.address FROM free_lease4 f \
                 WHERE f.address BETWEEN ${a} AND ${b} \
                 AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = f.address \
                 AND h.dhcp4_subnet_id = $16) \
                 ORDER BY f.address LIMIT 1 FOR UPDATE SKIP LOCKED) r{i}",
                b = a + 1
            )
        })
        .collect();
    format!(
        "WITH pick AS (SELECT address FROM ({picks}) u LIMIT 1), \
         gone AS (DELETE FROM free_lease4 WHERE address = (SELECT address FROM pick) \
           RETURNING address), \
         ins AS (INSERT INTO lease4 ({cols}) SELECT gone.address, \
           $1, $2, $3, $4, $5, $6, {pool_id}, $8, $9, $10, $11, $12, $13, $14 FROM gone \
           ON CONFLICT (address) DO UPDATE SET {set} \
           WHERE lease4.state IN (2, 3) OR lease4.expire < $15 RETURNING address) \
         SELECT gone.address AS picked, ins.address AS claimed \
         FROM gone LEFT JOIN ins ON ins.address = gone.address",
        picks = picks.join(" UNION ALL "),
        pool_id = pool_id_case("gone.address", pools),
        cols = cols!(),
        set = upsert_set!(),
    )
}

/// claim_expired4: $1..$14 fields, $15 now, $16 subnet, ranges from $17.
fn claim_expired_sql(pools: &[PoolRange]) -> String {
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
const STALE_RETRIES: usize = 8;

#[async_trait::async_trait]
impl LeaseStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()> {
        for p in pools {
            sqlx::query(SYNC_RANGE)
                .bind(addr_i64(p.start))
                .bind(addr_i64(p.end))
                .bind(i64::from(p.subnet_id))
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn lease4_by_address(&self, address: Ipv4Addr) -> StoreResult<Option<Lease4>> {
        let sql = concat!("SELECT ", cols!(), " FROM lease4 WHERE address = $1");
        let row = sqlx::query(sql)
            .bind(addr_i64(address))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn lease4_by_client(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
    ) -> StoreResult<Option<Lease4>> {
        let (col, key) = match &client.client_id {
            Some(cid) => ("client_id", cid.clone()),
            None if client.hwaddr.is_empty() => return Ok(None),
            None => ("hwaddr", client.hwaddr.clone()),
        };
        let sql = format!(
            "SELECT {} FROM lease4 WHERE {col} = $1 AND subnet_id = ANY($2) AND state <> 3 \
             ORDER BY expire DESC LIMIT 1",
            cols!()
        );
        let subnets: Vec<i64> = subnet_ids.iter().map(|&s| i64::from(s)).collect();
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .bind(subnets)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let (cid, hw) = key_params(client);
        let row = bind_fields(sqlx::query(CLAIM4), lease)
            .bind(addr_i64(lease.address))
            .bind(now)
            .bind(cid)
            .bind(hw)
            .fetch_optional(self.pool_for(lease))
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Other(format!("lease4 row: {e}"));
        let state: i16 = row.try_get("state").map_err(get)?;
        let mut stored = lease.clone();
        stored.valid_lifetime = to_u32(
            row.try_get("valid_lifetime").map_err(get)?,
            "valid_lifetime",
        )?;
        stored.expire = row.try_get("expire").map_err(get)?;
        stored.state = LeaseState::from_code(i64::from(state))
            .ok_or_else(|| StoreError::Other(format!("unknown lease state {state}")))?;
        Ok(Some(stored))
    }

    async fn claim_free4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        if pools.is_empty() {
            return Ok(None);
        }
        let pools = sorted(pools);
        let sql = claim_free_sql(&pools);
        for _ in 0..STALE_RETRIES {
            let q = bind_fields(sqlx::query(AssertSqlSafe(sql.as_str())), lease)
                .bind(now)
                .bind(i64::from(lease.subnet_id));
            let row = bind_ranges(q, &pools)
                .fetch_optional(self.pool_for(lease))
                .await
                .map_err(map_err)?;
            let Some(row) = row else { return Ok(None) };
            let claimed: Option<i64> = row.try_get("claimed").map_err(map_err)?;
            if let Some(a) = claimed {
                return Ok(Some(with_address(lease, i64_addr(a)?, &pools)));
            }
            // A stale free-list row (its address is in use) was consumed; pick again.
        }
        Ok(None)
    }

    async fn claim_expired4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        if pools.is_empty() {
            return Ok(None);
        }
        let sql = claim_expired_sql(pools);
        let q = bind_fields(sqlx::query(AssertSqlSafe(sql)), lease)
            .bind(now)
            .bind(i64::from(lease.subnet_id));
        let row = bind_ranges(q, pools)
            .fetch_optional(self.pool_for(lease))
            .await
            .map_err(map_err)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let a: i64 = row.try_get("address").map_err(map_err)?;
                Ok(Some(with_address(lease, i64_addr(a)?, pools)))
            }
        }
    }

    async fn release4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.release_states("0, 5", address, client, now).await
    }

    async fn release_offers4(
        &self,
        client: &ClientKey,
        keep: Ipv4Addr,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let sql = format!(
            "SELECT l.address FROM lease4 l WHERE l.state = 5 AND l.address <> $1 AND {}",
            owned_by(2, 3)
        );
        let (cid, hw) = key_params(client);
        let offers: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_i64(keep))
            .bind(cid)
            .bind(hw)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut freed = 0;
        for a in offers {
            freed += u64::from(self.release_states("5", i64_addr(a)?, client, now).await?);
        }
        Ok(freed)
    }

    async fn decline4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        probation: u32,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE lease4 l SET state = 1, expire = $2, valid_lifetime = $5, hwaddr = NULL, \
             client_id = NULL, hostname = '' \
             WHERE l.address = $1 AND l.state IN (0, 5) AND {}",
            owned_by(3, 4)
        );
        let (cid, hw) = key_params(client);
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(addr_i64(address))
            .bind(now + i64::from(probation))
            .bind(cid)
            .bind(hw)
            .bind(i64::from(probation))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn reclaim_expired4(&self, now: UnixTime, max: u32) -> StoreResult<u64> {
        let sql = format!(
            "WITH pick AS (SELECT address FROM lease4 WHERE state IN (0, 1, 5) AND expire < $1 \
               ORDER BY expire LIMIT $2 FOR UPDATE SKIP LOCKED), \
             upd AS (UPDATE lease4 l SET state = 2 FROM pick WHERE l.address = pick.address \
               RETURNING l.address), \
             fr AS (INSERT INTO free_lease4 (address) SELECT upd.address FROM upd \
               WHERE {} ON CONFLICT DO NOTHING) \
             SELECT count(*) AS n FROM upd",
            IN_LOADED_POOL.replace("{a}", "upd.address")
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(max))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn flush_reclaimed4(&self, now: UnixTime, hold: u32) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM lease4 WHERE state IN (2, 3) AND expire < $1")
            .bind(now - i64::from(hold))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn lease4_counts(&self, now: UnixTime) -> StoreResult<Vec<SubnetLeaseCounts>> {
        let rows = sqlx::query(COUNTS)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let (s, a, d): (i64, i64, i64) = (
                    r.try_get(0).map_err(map_err)?,
                    r.try_get(1).map_err(map_err)?,
                    r.try_get(2).map_err(map_err)?,
                );
                Ok(SubnetLeaseCounts {
                    subnet_id: to_u32(s, "subnet_id")?,
                    assigned: u64::try_from(a).unwrap_or(0),
                    declined: u64::try_from(d).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn all_leases4(&self) -> StoreResult<Vec<Lease4>> {
        let sql = concat!("SELECT ", cols!(), " FROM lease4 ORDER BY address");
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(lease_from_row).collect()
    }

    async fn upload_leases4(&self, leases: &[Lease4]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for chunk in leases.chunks(UPLOAD_BATCH) {
            let mut sql = String::from(concat!("INSERT INTO lease4 (", cols!(), ") VALUES "));
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let ps: Vec<String> = (1..=15).map(|c| format!("${}", i * 15 + c)).collect();
                    format!("({})", ps.join(", "))
                })
                .collect();
            sql.push_str(&rows.join(", "));
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for l in chunk {
                q = bind_fields(q.bind(addr_i64(l.address)), l);
            }
            q.execute(&mut *tx).await.map_err(map_err)?;
            let active: Vec<i64> = chunk
                .iter()
                .filter(|l| !l.state.is_free())
                .map(|l| addr_i64(l.address))
                .collect();
            sqlx::query("DELETE FROM free_lease4 WHERE address = ANY($1)")
                .bind(active)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(leases.len() as u64)
    }
}

/// Rows per multi-row INSERT in upload_leases4 (15 parameters each, under PG's 65535).
const UPLOAD_BATCH: usize = 1000;

/// lease4_counts: $1 now.
const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= $1 THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= $1 THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

/// `lease` placed at `address`, with the pool id of the range it fell in.
fn with_address(lease: &Lease4, address: Ipv4Addr, pools: &[PoolRange]) -> Lease4 {
    Lease4 {
        address,
        pool_id: pool_id_of(pools, address),
        ..lease.clone()
    }
}

impl PgStore {
    /// Release `address` if its state is one of `states` and `client` owns it; the address
    /// returns to the free list.
    async fn release_states(
        &self,
        states: &str,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let sql = format!(
            "WITH rel AS (UPDATE lease4 l SET state = 3, expire = $2 \
               WHERE l.address = $1 AND l.state IN ({states}) AND {owned} RETURNING l.address), \
             fr AS (INSERT INTO free_lease4 (address) SELECT rel.address FROM rel \
               WHERE {pool} ON CONFLICT DO NOTHING) \
             SELECT count(*) AS n FROM rel",
            owned = owned_by(3, 4),
            pool = IN_LOADED_POOL.replace("{a}", "rel.address"),
        );
        let (cid, hw) = key_params(client);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_i64(address))
            .bind(now)
            .bind(cid)
            .bind(hw)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }
}
