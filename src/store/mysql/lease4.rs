//! Lease operations on MySQL / MariaDB (10.6+ for `SKIP LOCKED`).
//!
//! Each claim is **one transaction**: the free-list row is taken with
//! `SELECT … FOR UPDATE SKIP LOCKED` and deleted, the lease row is locked with
//! `SELECT … FOR UPDATE` and the free/owned decision is made on that locked row (by
//! [`ClientKey::owns`] itself), then the row is updated or inserted. Locking reads always
//! see the newest committed version, whatever the session's isolation level. When no lease
//! row exists yet, two processes may both try to `INSERT`; the primary key lets one win and
//! the other gets a duplicate-key error, after which the whole claim is retried (it then
//! sees the winner's row). Deadlocks (1213) and lock-wait timeouts (1205) are retried too,
//! up to [`ATTEMPTS`] times. Locks are taken free list first, then lease row.

use std::net::Ipv4Addr;

use sqlx::mysql::{MySqlArguments, MySqlDatabaseError, MySqlRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, MySql, MySqlConnection, Row};

use super::MySqlStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, StoreError, StoreResult,
    SubnetLeaseCounts, UnixTime,
};

type MyQuery<'q> = Query<'q, MySql, MySqlArguments>;

/// The lease4 columns in bind order (address first).
macro_rules! cols {
    () => {
        "address, hwaddr, hwtype, client_id, valid_lifetime, expire, subnet_id, pool_id, \
         fqdn_fwd, fqdn_rev, hostname, state, user_context, relay_id, remote_id"
    };
}

/// Attempts per operation on deadlock, lock-wait timeout or a lost insert race.
const ATTEMPTS: usize = 3;
/// Stale free-list rows claim_free4 may consume in one transaction before giving up.
const STALE_RETRIES: usize = 8;
/// Rows per multi-row INSERT (15 parameters each, under MySQL's 65535).
const UPLOAD_BATCH: usize = 1000;
/// Addresses per free-list load statement (MySQL 8's default recursion depth is 1000).
const LOAD_CHUNK: i64 = 1000;

const SELECT_BY_ADDRESS: &str = concat!("SELECT ", cols!(), " FROM lease4 WHERE address = ?");
const LOCK_BY_ADDRESS: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM lease4 WHERE address = ? FOR UPDATE"
);
const INSERT_LEASE: &str = concat!(
    "INSERT INTO lease4 (",
    cols!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);
/// Every column but the address; the address is bound last.
const UPDATE_LEASE: &str = "UPDATE lease4 SET hwaddr = ?, hwtype = ?, client_id = ?, \
     valid_lifetime = ?, expire = ?, subnet_id = ?, pool_id = ?, fqdn_fwd = ?, fqdn_rev = ?, \
     hostname = ?, state = ?, user_context = ?, relay_id = ?, remote_id = ? WHERE address = ?";
const DELETE_FREE: &str = "DELETE FROM free_lease4 WHERE address = ?";
/// Re-add an address to the free list when it lies in a loaded pool.
const REFREE: &str = "INSERT IGNORE INTO free_lease4 (address) SELECT ? FROM DUAL \
     WHERE EXISTS (SELECT 1 FROM lease4_pool p WHERE ? BETWEEN p.start_address AND p.end_address)";
/// Ownership test on alias `l`; binds client id three times, then hwaddr (see [`bind_key`]).
const OWNED: &str = "((? IS NOT NULL AND l.client_id = ?) \
     OR ((? IS NULL OR l.client_id IS NULL) AND l.hwaddr = ?))";
const LOAD_CHUNK_SQL: &str = "INSERT IGNORE INTO free_lease4 (address) \
     WITH RECURSIVE seq (a) AS (SELECT ? UNION ALL SELECT a + 1 FROM seq WHERE a < ?) \
     SELECT a FROM seq WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = seq.a \
       AND l.state IN (0, 1, 5) AND l.expire >= ?)";
const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= ? THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= ? THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

/// What one attempt of a transactional operation decided.
enum Step<T> {
    /// Finished with this result.
    Done(T),
    /// Lost an insert race; run the whole operation again.
    Again,
}

/// Deadlock or lock-wait timeout: the transaction was (or should be) rolled back and can
/// simply be run again.
fn is_lock_error(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<MySqlDatabaseError>())
        .is_some_and(|d| matches!(d.number(), 1205 | 1213))
}

fn is_duplicate(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Run `$attempt` (an expression yielding `Result<Step<T>, sqlx::Error>`) up to
/// [`ATTEMPTS`] times; `$lost` is the result when every attempt lost an insert race.
macro_rules! retrying {
    ($attempt:expr, $lost:expr) => {{
        let mut n = 0;
        loop {
            n += 1;
            match $attempt.await {
                Ok(Step::Done(v)) => break Ok(v),
                Ok(Step::Again) if n < ATTEMPTS => continue,
                Ok(Step::Again) => break Ok($lost),
                Err(e) if is_lock_error(&e) && n < ATTEMPTS => continue,
                Err(e) => break Err(map_err(e)),
            }
        }
    }};
}

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
fn bind_fields<'q>(q: MyQuery<'q>, lease: &Lease4) -> MyQuery<'q> {
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

/// Bind the parameters of [`OWNED`].
fn bind_key<'q>(q: MyQuery<'q>, client: &ClientKey) -> MyQuery<'q> {
    let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
    q.bind(client.client_id.clone())
        .bind(client.client_id.clone())
        .bind(client.client_id.clone())
        .bind(hw)
}

fn lease_from_row(row: &MySqlRow) -> StoreResult<Lease4> {
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

/// `(col BETWEEN ? AND ? OR …)`, one pair per range.
fn ranges_sql(col: &str, n: usize) -> String {
    let parts = vec![format!("{col} BETWEEN ? AND ?"); n];
    format!("({})", parts.join(" OR "))
}

fn bind_ranges<'q>(mut q: MyQuery<'q>, pools: &[PoolRange]) -> MyQuery<'q> {
    for p in pools {
        q = q.bind(addr_i64(p.start)).bind(addr_i64(p.end));
    }
    q
}

/// `lease` placed at `address`, with the pool id of the range it fell in.
fn with_address(lease: &Lease4, address: Ipv4Addr, pools: &[PoolRange]) -> Lease4 {
    let pool_id = pools
        .iter()
        .find(|p| p.contains(address))
        .map_or(0, |p| p.pool_id);
    Lease4 {
        address,
        pool_id,
        ..lease.clone()
    }
}

/// Write `lease` at its address given the locked current row: update it, or insert when
/// there is none. `Again` when a concurrent insert won the primary key.
async fn write_lease(
    conn: &mut MySqlConnection,
    lease: &Lease4,
    exists: bool,
) -> Result<Step<()>, sqlx::Error> {
    let address = addr_i64(lease.address);
    if exists {
        bind_fields(sqlx::query(UPDATE_LEASE), lease)
            .bind(address)
            .execute(&mut *conn)
            .await?;
        return Ok(Step::Done(()));
    }
    let res = bind_fields(sqlx::query(INSERT_LEASE).bind(address), lease)
        .execute(&mut *conn)
        .await;
    match res {
        Ok(_) => Ok(Step::Done(())),
        Err(e) if is_duplicate(&e) => Ok(Step::Again),
        Err(e) => Err(e),
    }
}

/// The current row at `address`, locked.
async fn lock_lease(
    conn: &mut MySqlConnection,
    address: Ipv4Addr,
) -> Result<Option<Lease4>, sqlx::Error> {
    let row = sqlx::query(LOCK_BY_ADDRESS)
        .bind(addr_i64(address))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(lease_from_row)
        .transpose()
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// Is the address of `cur` free for anyone at `now`?
fn is_takeable(cur: &Lease4, now: UnixTime) -> bool {
    cur.state.is_free() || cur.expire < now
}

impl MySqlStore {
    async fn claim4_once(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> Result<Step<Option<Lease4>>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(DELETE_FREE)
            .bind(addr_i64(lease.address))
            .execute(&mut *tx)
            .await?;
        let cur = lock_lease(&mut tx, lease.address).await?;
        if let Some(cur) = &cur {
            if !is_takeable(cur, now) && !client.owns(cur) {
                tx.rollback().await?;
                return Ok(Step::Done(None));
            }
            if client.owns(cur) && crate::store::offer_keeps_lease(cur, lease, now) {
                tx.rollback().await?;
                return Ok(Step::Done(Some(cur.clone())));
            }
        }
        match write_lease(&mut tx, lease, cur.is_some()).await? {
            Step::Again => Ok(Step::Again),
            Step::Done(()) => {
                tx.commit().await?;
                Ok(Step::Done(Some(lease.clone())))
            }
        }
    }

    async fn claim_free4_once(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> Result<Step<Option<Lease4>>, sqlx::Error> {
        let pick = format!(
            "SELECT f.address FROM free_lease4 f WHERE {} AND NOT EXISTS (SELECT 1 FROM hosts h \
             WHERE h.ipv4_address = f.address AND h.dhcp4_subnet_id = ?) \
             ORDER BY f.address LIMIT 1 FOR UPDATE SKIP LOCKED",
            ranges_sql("f.address", pools.len())
        );
        let mut tx = self.pool.begin().await?;
        for _ in 0..STALE_RETRIES {
            let q = bind_ranges(sqlx::query(AssertSqlSafe(pick.as_str())), pools);
            let picked = q
                .bind(i64::from(lease.subnet_id))
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?;
            let Some(a) = picked else { break };
            sqlx::query(DELETE_FREE).bind(a).execute(&mut *tx).await?;
            let addr = i64_addr(a).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            let cur = lock_lease(&mut tx, addr).await?;
            if cur.as_ref().is_some_and(|c| !is_takeable(c, now)) {
                continue; // stale free-list row, now removed
            }
            let placed = with_address(lease, addr, pools);
            return match write_lease(&mut tx, &placed, cur.is_some()).await? {
                Step::Again => Ok(Step::Again),
                Step::Done(()) => {
                    tx.commit().await?;
                    Ok(Step::Done(Some(placed)))
                }
            };
        }
        tx.commit().await?;
        Ok(Step::Done(None))
    }

    async fn claim_expired4_once(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> Result<Step<Option<Lease4>>, sqlx::Error> {
        let pick = format!(
            "SELECT l.address FROM lease4 l WHERE {} AND l.state IN (0, 1, 5) AND l.expire < ? \
             AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = l.address \
             AND h.dhcp4_subnet_id = ?) ORDER BY l.expire LIMIT 1 FOR UPDATE SKIP LOCKED",
            ranges_sql("l.address", pools.len())
        );
        let mut tx = self.pool.begin().await?;
        let picked = bind_ranges(sqlx::query(AssertSqlSafe(pick)), pools)
            .bind(now)
            .bind(i64::from(lease.subnet_id))
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?;
        let Some(a) = picked else {
            tx.commit().await?;
            return Ok(Step::Done(None));
        };
        let addr = i64_addr(a).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        let placed = with_address(lease, addr, pools);
        bind_fields(sqlx::query(UPDATE_LEASE), &placed)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DELETE_FREE).bind(a).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Step::Done(Some(placed)))
    }

    async fn release4_once(
        &self,
        states: &str,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> Result<Step<bool>, sqlx::Error> {
        let sql = format!(
            "UPDATE lease4 l SET l.state = 3, l.expire = ? \
             WHERE l.address = ? AND l.state IN ({states}) AND {OWNED}"
        );
        let a = addr_i64(address);
        let mut tx = self.pool.begin().await?;
        let q = sqlx::query(AssertSqlSafe(sql)).bind(now).bind(a);
        let done = bind_key(q, client).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Step::Done(false));
        }
        sqlx::query(REFREE)
            .bind(a)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Step::Done(true))
    }

    async fn reclaim_once(&self, now: UnixTime, max: u32) -> Result<Step<u64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let picked: Vec<i64> = sqlx::query_scalar(
            "SELECT address FROM lease4 WHERE state IN (0, 1, 5) AND expire < ? \
             ORDER BY expire LIMIT ? FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .bind(i64::from(max))
        .fetch_all(&mut *tx)
        .await?;
        for &a in &picked {
            sqlx::query("UPDATE lease4 SET state = 2 WHERE address = ?")
                .bind(a)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REFREE)
                .bind(a)
                .bind(a)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Step::Done(picked.len() as u64))
    }

    async fn sync_range_once(&self, p: &PoolRange, now: UnixTime) -> Result<Step<()>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT IGNORE INTO lease4_pool (start_address, end_address, subnet_id, loaded_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(addr_i64(p.start))
        .bind(addr_i64(p.end))
        .bind(i64::from(p.subnet_id))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let (start, end) = (addr_i64(p.start), addr_i64(p.end));
            let mut lo = start;
            while lo <= end {
                let hi = (lo + LOAD_CHUNK - 1).min(end);
                sqlx::query(LOAD_CHUNK_SQL)
                    .bind(lo)
                    .bind(hi)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                lo = hi + 1;
            }
        }
        tx.commit().await?;
        Ok(Step::Done(()))
    }

    async fn upload_once(&self, leases: &[Lease4]) -> Result<Step<u64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
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
            q.execute(&mut *tx).await?;
            let active: Vec<i64> = chunk
                .iter()
                .filter(|l| !l.state.is_free())
                .map(|l| addr_i64(l.address))
                .collect();
            if !active.is_empty() {
                let sql = format!(
                    "DELETE FROM free_lease4 WHERE address IN ({})",
                    vec!["?"; active.len()].join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for a in active {
                    q = q.bind(a);
                }
                q.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(Step::Done(leases.len() as u64))
    }
}

#[async_trait::async_trait]
impl LeaseStore for MySqlStore {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()> {
        for p in pools {
            retrying!(self.sync_range_once(p, now), ())?;
        }
        Ok(())
    }

    async fn lease4_by_address(&self, address: Ipv4Addr) -> StoreResult<Option<Lease4>> {
        let row = sqlx::query(SELECT_BY_ADDRESS)
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
        retrying!(self.claim4_once(lease, client, now), None)
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
        retrying!(self.claim_free4_once(lease, pools, now), None)
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
        retrying!(self.claim_expired4_once(lease, pools, now), None)
    }

    async fn release4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<bool> {
        retrying!(self.release4_once("0, 5", address, client, now), false)
    }

    async fn release_offers4(
        &self,
        client: &ClientKey,
        keep: Ipv4Addr,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let sql = format!(
            "SELECT l.address FROM lease4 l WHERE l.state = 5 AND l.address <> ? AND {OWNED}"
        );
        let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
        let offers: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_i64(keep))
            .bind(client.client_id.clone())
            .bind(client.client_id.clone())
            .bind(client.client_id.clone())
            .bind(hw)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut freed = 0;
        for a in offers {
            let addr = i64_addr(a)?;
            freed += u64::from(retrying!(
                self.release4_once("5", addr, client, now),
                false
            )?);
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
            "UPDATE lease4 l SET l.state = 1, l.expire = ?, l.valid_lifetime = ?, \
             l.hwaddr = NULL, l.client_id = NULL, l.hostname = '' \
             WHERE l.address = ? AND l.state IN (0, 5) AND {OWNED}"
        );
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(now + i64::from(probation))
            .bind(i64::from(probation))
            .bind(addr_i64(address));
        let done = bind_key(q, client)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn reclaim_expired4(&self, now: UnixTime, max: u32) -> StoreResult<u64> {
        retrying!(self.reclaim_once(now, max), 0)
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
        retrying!(self.upload_once(leases), 0)
    }
}
