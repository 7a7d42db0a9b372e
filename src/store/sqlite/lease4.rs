//! Lease operations on SQLite.
//!
//! SQLite has a single writer. Every claim runs in one transaction opened with
//! `BEGIN IMMEDIATE`, which takes the write lock up front, so the read that decides
//! (is the address free, or owned by this client — decided by [`ClientKey::owns`] itself)
//! and the write that follows cannot interleave with another writer, in this process or
//! another. No row locks or `SKIP LOCKED` are needed. The pool's busy timeout makes a
//! second process wait for the lock rather than fail.

use std::net::Ipv4Addr;

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, StoreError, StoreResult,
    SubnetLeaseCounts, UnixTime,
};

type LiteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;

/// The lease4 columns in bind order (address first).
macro_rules! cols {
    () => {
        "address, hwaddr, hwtype, client_id, valid_lifetime, expire, subnet_id, pool_id, \
         fqdn_fwd, fqdn_rev, hostname, state, user_context, relay_id, remote_id"
    };
}

/// Opens a write transaction: the lock is taken before the first read.
const BEGIN: &str = "BEGIN IMMEDIATE";
/// Stale free-list rows claim_free4 may consume in one transaction before giving up.
const STALE_RETRIES: usize = 8;
/// Rows per multi-row INSERT (15 parameters each, under SQLite's 32766).
const UPLOAD_BATCH: usize = 1000;

const SELECT_BY_ADDRESS: &str = concat!("SELECT ", cols!(), " FROM lease4 WHERE address = ?");
/// Write a whole row, replacing any row at the address (the caller decided it may).
const UPSERT_LEASE: &str = concat!(
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
const DELETE_FREE: &str = "DELETE FROM free_lease4 WHERE address = ?";
/// Re-add an address to the free list when it lies in a loaded pool.
const REFREE: &str = "INSERT OR IGNORE INTO free_lease4 (address) SELECT ?1 \
     WHERE EXISTS (SELECT 1 FROM lease4_pool p WHERE ?1 BETWEEN p.start_address AND p.end_address)";
/// Ownership test on table `lease4`: ?3 client id, ?4 hwaddr (NULL when empty).
const OWNED: &str = "((?3 IS NOT NULL AND client_id = ?3) \
     OR ((?3 IS NULL OR client_id IS NULL) AND hwaddr = ?4))";
const PICK_FREE: &str = "SELECT f.address FROM free_lease4 f WHERE f.address BETWEEN ?1 AND ?2 \
     AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = f.address \
       AND h.dhcp4_subnet_id = ?3) ORDER BY f.address LIMIT 1";
const LOAD_RANGE: &str = "WITH RECURSIVE seq (a) AS \
       (SELECT ?1 UNION ALL SELECT a + 1 FROM seq WHERE a < ?2) \
     INSERT OR IGNORE INTO free_lease4 (address) \
     SELECT a FROM seq WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = seq.a \
       AND l.state IN (0, 1, 5) AND l.expire >= ?3)";
const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= ?1 THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= ?1 THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

fn addr_i64(a: Ipv4Addr) -> i64 {
    i64::from(u32::from(a))
}

fn i64_addr(v: i64) -> StoreResult<Ipv4Addr> {
    u32::try_from(v)
        .map(Ipv4Addr::from)
        .map_err(|_| StoreError::Other(format!("address {v} out of IPv4 range")))
}

fn to_u32(v: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Other(format!("{what} {v} out of range")))
}

/// Bind the 14 non-address columns of `lease`, in [`cols!`] order.
fn bind_fields<'q>(q: LiteQuery<'q>, lease: &Lease4) -> LiteQuery<'q> {
    q.bind(lease.hwaddr.clone())
        .bind(i64::from(lease.hwtype))
        .bind(lease.client_id.clone())
        .bind(i64::from(lease.valid_lifetime))
        .bind(lease.expire)
        .bind(i64::from(lease.subnet_id))
        .bind(i64::from(lease.pool_id))
        .bind(lease.fqdn_fwd)
        .bind(lease.fqdn_rev)
        .bind(lease.hostname.clone())
        .bind(i64::from(lease.state.code()))
        .bind(lease.user_context.clone())
        .bind(lease.relay_id.clone())
        .bind(lease.remote_id.clone())
}

fn lease_from_row(row: &SqliteRow) -> StoreResult<Lease4> {
    let get = |e: sqlx::Error| StoreError::Other(format!("lease4 row: {e}"));
    let state: i64 = row.try_get("state").map_err(get)?;
    let hwtype: i64 = row.try_get("hwtype").map_err(get)?;
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
        state: LeaseState::from_code(state)
            .ok_or_else(|| StoreError::Other(format!("unknown lease state {state}")))?,
        user_context: row.try_get("user_context").map_err(get)?,
        relay_id: row.try_get("relay_id").map_err(get)?,
        remote_id: row.try_get("remote_id").map_err(get)?,
    })
}

/// The current row at `address` (inside the caller's write transaction).
async fn current(conn: &mut SqliteConnection, address: Ipv4Addr) -> StoreResult<Option<Lease4>> {
    let row = sqlx::query(SELECT_BY_ADDRESS)
        .bind(addr_i64(address))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(lease_from_row).transpose()
}

/// Write `lease` and take its address off the free list.
async fn write_lease(conn: &mut SqliteConnection, lease: &Lease4) -> StoreResult<()> {
    let a = addr_i64(lease.address);
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

/// Is the address of `cur` free for anyone at `now`?
fn is_takeable(cur: &Lease4, now: UnixTime) -> bool {
    cur.state.is_free() || cur.expire < now
}

/// `lease` placed at `address`, with the pool id of the range it fell in.
fn with_address(lease: &Lease4, address: Ipv4Addr, pool_id: u32) -> Lease4 {
    Lease4 {
        address,
        pool_id,
        ..lease.clone()
    }
}

/// The lowest free, unreserved address of `p` (inside the caller's transaction).
async fn pick_free(
    conn: &mut SqliteConnection,
    p: &PoolRange,
    subnet_id: u32,
) -> StoreResult<Option<Ipv4Addr>> {
    let a: Option<i64> = sqlx::query_scalar(PICK_FREE)
        .bind(addr_i64(p.start))
        .bind(addr_i64(p.end))
        .bind(i64::from(subnet_id))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    a.map(i64_addr).transpose()
}

#[async_trait::async_trait]
impl LeaseStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()> {
        for p in pools {
            let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
            let done = sqlx::query(
                "INSERT OR IGNORE INTO lease4_pool (start_address, end_address, subnet_id, \
                 loaded_at) VALUES (?, ?, ?, ?)",
            )
            .bind(addr_i64(p.start))
            .bind(addr_i64(p.end))
            .bind(i64::from(p.subnet_id))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() > 0 {
                sqlx::query(LOAD_RANGE)
                    .bind(addr_i64(p.start))
                    .bind(addr_i64(p.end))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn lease4_by_address(&self, address: Ipv4Addr) -> StoreResult<Option<Lease4>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        current(&mut conn, address).await
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
        if subnet_ids.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {} FROM lease4 WHERE {col} = ? AND subnet_id IN ({}) AND state <> 3 \
             ORDER BY expire DESC LIMIT 1",
            cols!(),
            vec!["?"; subnet_ids.len()].join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(key);
        for &s in subnet_ids {
            q = q.bind(i64::from(s));
        }
        let row = q.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        if let Some(cur) = current(&mut tx, lease.address).await? {
            if !is_takeable(&cur, now) && !client.owns(&cur) {
                tx.rollback().await.map_err(map_err)?;
                return Ok(None);
            }
            if client.owns(&cur) && crate::store::offer_keeps_lease(&cur, lease, now) {
                tx.rollback().await.map_err(map_err)?;
                return Ok(Some(cur));
            }
        }
        write_lease(&mut tx, lease).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(lease.clone()))
    }

    async fn claim_free4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let mut ranges = pools.to_vec();
        ranges.sort_by_key(|p| (p.start, p.end));
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        let mut stale = 0;
        for p in &ranges {
            while let Some(addr) = pick_free(&mut tx, p, lease.subnet_id).await? {
                let cur = current(&mut tx, addr).await?;
                if cur.as_ref().is_some_and(|c| !is_takeable(c, now)) {
                    // A stale free-list row: drop it and look again.
                    sqlx::query(DELETE_FREE)
                        .bind(addr_i64(addr))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    stale += 1;
                    if stale >= STALE_RETRIES {
                        break;
                    }
                    continue;
                }
                let placed = with_address(lease, addr, p.pool_id);
                write_lease(&mut tx, &placed).await?;
                tx.commit().await.map_err(map_err)?;
                return Ok(Some(placed));
            }
        }
        tx.commit().await.map_err(map_err)?;
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
        let ranges = vec!["l.address BETWEEN ? AND ?"; pools.len()].join(" OR ");
        let sql = format!(
            "SELECT l.address FROM lease4 l WHERE ({ranges}) AND l.state IN (0, 1, 5) \
             AND l.expire < ? AND NOT EXISTS (SELECT 1 FROM hosts h \
             WHERE h.ipv4_address = l.address AND h.dhcp4_subnet_id = ?) \
             ORDER BY l.expire LIMIT 1"
        );
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for p in pools {
            q = q.bind(addr_i64(p.start)).bind(addr_i64(p.end));
        }
        let picked = q
            .bind(now)
            .bind(i64::from(lease.subnet_id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(a) = picked else {
            tx.commit().await.map_err(map_err)?;
            return Ok(None);
        };
        let addr = i64_addr(a)?;
        let pool_id = pools
            .iter()
            .find(|p| p.contains(addr))
            .map_or(0, |p| p.pool_id);
        let placed = with_address(lease, addr, pool_id);
        write_lease(&mut tx, &placed).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(placed))
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
        let sql =
            format!("SELECT address FROM lease4 WHERE state = ?2 AND address <> ?1 AND {OWNED}");
        let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
        let offers: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_i64(keep))
            .bind(LeaseState::Offered.code())
            .bind(client.client_id.clone())
            .bind(hw)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut freed = 0;
        for a in offers {
            let addr = Ipv4Addr::from(u32::try_from(a).unwrap_or_default());
            freed += u64::from(self.release_states("5", addr, client, now).await?);
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
            "UPDATE lease4 SET state = 1, expire = ?2, valid_lifetime = ?5, hwaddr = NULL, \
             client_id = NULL, hostname = '' \
             WHERE address = ?1 AND state IN (0, 5) AND {OWNED}"
        );
        let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(addr_i64(address))
            .bind(now + i64::from(probation))
            .bind(client.client_id.clone())
            .bind(hw)
            .bind(i64::from(probation))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn reclaim_expired4(&self, now: UnixTime, max: u32) -> StoreResult<u64> {
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        let picked: Vec<i64> = sqlx::query_scalar(
            "SELECT address FROM lease4 WHERE state IN (0, 1, 5) AND expire < ? \
             ORDER BY expire LIMIT ?",
        )
        .bind(now)
        .bind(i64::from(max))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for &a in &picked {
            sqlx::query("UPDATE lease4 SET state = 2 WHERE address = ?")
                .bind(a)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query(REFREE)
                .bind(a)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(picked.len() as u64)
    }

    async fn flush_reclaimed4(&self, now: UnixTime, hold: u32) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM lease4 WHERE state IN (2, 3) AND expire < ?")
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
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        for chunk in leases.chunks(UPLOAD_BATCH) {
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()];
            let sql = format!(
                "INSERT INTO lease4 ({}) VALUES {}",
                cols!(),
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for l in chunk {
                q = bind_fields(q.bind(addr_i64(l.address)), l);
            }
            q.execute(&mut *tx).await.map_err(map_err)?;
            for l in chunk.iter().filter(|l| !l.state.is_free()) {
                sqlx::query(DELETE_FREE)
                    .bind(addr_i64(l.address))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(leases.len() as u64)
    }
}

impl SqliteStore {
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
            "UPDATE lease4 SET state = 3, expire = ?2 \
             WHERE address = ?1 AND state IN ({states}) AND {OWNED}"
        );
        let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
        let a = addr_i64(address);
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(map_err)?;
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(a)
            .bind(now)
            .bind(client.client_id.clone())
            .bind(hw)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        sqlx::query(REFREE)
            .bind(a)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}
