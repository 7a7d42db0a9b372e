//! SQL text, binds, row mapping and the per-attempt transaction bodies (`*_once`, retried
//! by `retrying!`) behind `lease4.rs`.

use std::net::Ipv4Addr;

use sqlx::mysql::{MySqlArguments, MySqlDatabaseError};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Connection, MySql, MySqlConnection, Row};

use super::MySqlStore;
use crate::store::{ClientKey, Lease4, PoolRange, UnixTime};

pub(super) type MyQuery<'q> = Query<'q, MySql, MySqlArguments>;

/// The lease4 columns in bind order (address first).
macro_rules! cols {
    () => {
        "address, hwaddr, hwtype, client_id, valid_lifetime, expire, subnet_id, pool_id, \
         fqdn_fwd, fqdn_rev, hostname, state, user_context, relay_id, remote_id"
    };
}

/// Attempts per operation on deadlock, lock-wait timeout or a lost insert race.
pub(super) const ATTEMPTS: usize = 3;
/// Stale free-list rows claim_free4 may consume in one transaction before giving up.
pub(super) const STALE_RETRIES: usize = 8;
/// Rows per multi-row INSERT (15 parameters each, under MySQL's 65535).
pub(super) const UPLOAD_BATCH: usize = 1000;
/// Addresses per free-list load statement (MySQL 8's default recursion depth is 1000).
pub(super) const LOAD_CHUNK: i64 = 1000;

pub(super) const SELECT_BY_ADDRESS: &str =
    concat!("SELECT ", cols!(), " FROM lease4 WHERE address = ?");
pub(super) const LOCK_BY_ADDRESS: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM lease4 WHERE address = ? FOR UPDATE"
);
pub(super) const INSERT_LEASE: &str = concat!(
    "INSERT INTO lease4 (",
    cols!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);
/// Every column but the address; the address is bound last.
pub(super) const UPDATE_LEASE: &str = "UPDATE lease4 SET hwaddr = ?, hwtype = ?, client_id = ?, \
     valid_lifetime = ?, expire = ?, subnet_id = ?, pool_id = ?, fqdn_fwd = ?, fqdn_rev = ?, \
     hostname = ?, state = ?, user_context = ?, relay_id = ?, remote_id = ? WHERE address = ?";
pub(super) const DELETE_FREE: &str = "DELETE FROM free_lease4 WHERE address = ?";
/// Re-add an address to the free list when it lies in a loaded pool.
pub(super) const REFREE: &str = "INSERT IGNORE INTO free_lease4 (address) SELECT ? FROM DUAL \
     WHERE EXISTS (SELECT 1 FROM lease4_pool p WHERE ? BETWEEN p.start_address AND p.end_address)";
/// Ownership test on alias `l`; binds client id three times, then hwaddr (see [`bind_key`]).
pub(super) const OWNED: &str = "((? IS NOT NULL AND l.client_id = ?) \
     OR ((? IS NULL OR l.client_id IS NULL) AND l.hwaddr = ?))";
pub(super) const LOAD_CHUNK_SQL: &str = "INSERT IGNORE INTO free_lease4 (address) \
     WITH RECURSIVE seq (a) AS (SELECT ? UNION ALL SELECT a + 1 FROM seq WHERE a < ?) \
     SELECT a FROM seq WHERE NOT EXISTS (SELECT 1 FROM lease4 l WHERE l.address = seq.a \
       AND l.state IN (0, 1, 5) AND l.expire >= ?)";
pub(super) const COUNTS: &str = "SELECT subnet_id, \
     COUNT(CASE WHEN state = 0 AND expire >= ? THEN 1 END) AS assigned, \
     COUNT(CASE WHEN state = 1 AND expire >= ? THEN 1 END) AS declined \
     FROM lease4 GROUP BY subnet_id ORDER BY subnet_id";

/// What one attempt of a transactional operation decided.
pub(super) enum Step<T> {
    /// Finished with this result.
    Done(T),
    /// Lost an insert race; run the whole operation again.
    Again,
}

/// Deadlock or lock-wait timeout: the transaction was (or should be) rolled back and can
/// simply be run again.
pub(super) fn is_lock_error(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<MySqlDatabaseError>())
        .is_some_and(|d| matches!(d.number(), 1205 | 1213))
}

pub(super) fn is_duplicate(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Run `$attempt` (an expression yielding `Result<Step<T>, sqlx::Error>`) up to
/// [`ATTEMPTS`] times; `$lost` is the result when every attempt lost an insert race.
/// [`retrying!`] with each attempt on a connection `$c` of the fast pool `$pool`. The
/// connection is returned after `Step::Done` (whose paths commit or roll back); after
/// anything else a transaction may still be open on it, so it is closed.
macro_rules! retrying_on {
    ($pool:expr, $c:ident => $attempt:expr, $lost:expr) => {{
        let mut n = 0;
        loop {
            n += 1;
            let mut conn = $pool.get().await?;
            let r = {
                let $c: &mut sqlx::MySqlConnection = &mut conn;
                $attempt.await
            };
            match r {
                Ok(Step::Done(v)) => {
                    conn.release();
                    break Ok(v);
                }
                Ok(Step::Again) if n < ATTEMPTS => continue,
                Ok(Step::Again) => break Ok($lost),
                Err(e) if is_lock_error(&e) && n < ATTEMPTS => continue,
                Err(e) => break Err(map_err(e)),
            }
        }
    }};
}

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

/// Bind the 14 non-address columns of `lease`, in [`cols!`] order.
pub(super) fn bind_fields<'q>(q: MyQuery<'q>, lease: &Lease4) -> MyQuery<'q> {
    crate::store::lease_row::bind_lease_fields!(q, lease, i16)
}

/// Bind the parameters of [`OWNED`].
pub(super) fn bind_key<'q>(q: MyQuery<'q>, client: &ClientKey) -> MyQuery<'q> {
    let hw = (!client.hwaddr.is_empty()).then(|| client.hwaddr.clone());
    q.bind(client.client_id.clone())
        .bind(client.client_id.clone())
        .bind(client.client_id.clone())
        .bind(hw)
}

pub(super) use crate::store::lease_row::lease_from_row;
pub(super) use crate::store::{addr_from_db, addr_to_db, id_from_db};

/// `(?, …)` with `n` placeholders: an `IN` list.
pub(super) fn list(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// `(col BETWEEN ? AND ? OR …)`, one pair per range.
pub(super) fn ranges_sql(col: &str, n: usize) -> String {
    let parts = vec![format!("{col} BETWEEN ? AND ?"); n];
    format!("({})", parts.join(" OR "))
}

pub(super) fn bind_ranges<'q>(mut q: MyQuery<'q>, pools: &[PoolRange]) -> MyQuery<'q> {
    for p in pools {
        q = q.bind(addr_to_db(p.start)).bind(addr_to_db(p.end));
    }
    q
}

/// `lease` placed at `address`, with the pool id of the range it fell in.
pub(super) fn with_address(lease: &Lease4, address: Ipv4Addr, pools: &[PoolRange]) -> Lease4 {
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

/// A multi-row `INSERT` of `leases`, with `tail` after the values.
pub(super) fn insert_rows<'q>(leases: &[&Lease4], tail: &str) -> MyQuery<'q> {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; leases.len()];
    let sql = format!(
        "INSERT INTO lease4 ({}) VALUES {}{tail}",
        cols!(),
        values.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for l in leases {
        q = bind_fields(q.bind(addr_to_db(l.address)), l);
    }
    q
}

/// Write `lease` at its address given the locked current row: update it, or insert when
/// there is none. `Again` when a concurrent insert won the primary key.
pub(super) async fn write_lease(
    conn: &mut MySqlConnection,
    lease: &Lease4,
    exists: bool,
) -> Result<Step<()>, sqlx::Error> {
    let address = addr_to_db(lease.address);
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
pub(super) async fn lock_lease(
    conn: &mut MySqlConnection,
    address: Ipv4Addr,
) -> Result<Option<Lease4>, sqlx::Error> {
    let row = sqlx::query(LOCK_BY_ADDRESS)
        .bind(addr_to_db(address))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(lease_from_row)
        .transpose()
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// One attempt of `claim4` for one lease (offers included), in its own transaction.
pub(super) async fn claim4_once(
    c: &mut MySqlConnection,
    lease: &Lease4,
    client: &ClientKey,
    now: UnixTime,
) -> Result<Step<Option<Lease4>>, sqlx::Error> {
    let mut tx = c.begin().await?;
    sqlx::query(DELETE_FREE)
        .bind(addr_to_db(lease.address))
        .execute(&mut *tx)
        .await?;
    let cur = lock_lease(&mut tx, lease.address).await?;
    if let Some(cur) = &cur {
        if !cur.takeable(now) && !client.owns(cur) {
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

impl MySqlStore {
    pub(super) async fn claim_free4_once(
        &self,
        c: &mut MySqlConnection,
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
        let mut tx = c.begin().await?;
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
            let addr = addr_from_db(a, "address")
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            let cur = lock_lease(&mut tx, addr).await?;
            if cur.as_ref().is_some_and(|c| !c.takeable(now)) {
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

    pub(super) async fn claim_expired4_once(
        &self,
        c: &mut MySqlConnection,
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
        let mut tx = c.begin().await?;
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
        let addr =
            addr_from_db(a, "address").map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        let placed = with_address(lease, addr, pools);
        bind_fields(sqlx::query(UPDATE_LEASE), &placed)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DELETE_FREE).bind(a).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Step::Done(Some(placed)))
    }

    pub(super) async fn release4_once(
        &self,
        c: &mut MySqlConnection,
        states: &str,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> Result<Step<bool>, sqlx::Error> {
        let sql = format!(
            "UPDATE lease4 l SET l.state = 3, l.expire = ? \
             WHERE l.address = ? AND l.state IN ({states}) AND {OWNED}"
        );
        let a = addr_to_db(address);
        let mut tx = c.begin().await?;
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

    pub(super) async fn reclaim_once(
        &self,
        now: UnixTime,
        max: u32,
    ) -> Result<Step<u64>, sqlx::Error> {
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

    pub(super) async fn sync_range_once(
        &self,
        p: &PoolRange,
        now: UnixTime,
    ) -> Result<Step<()>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT IGNORE INTO lease4_pool (start_address, end_address, subnet_id, loaded_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(addr_to_db(p.start))
        .bind(addr_to_db(p.end))
        .bind(i64::from(p.subnet_id))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let (start, end) = (addr_to_db(p.start), addr_to_db(p.end));
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

    pub(super) async fn upload_once(&self, leases: &[Lease4]) -> Result<Step<u64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for chunk in leases.chunks(UPLOAD_BATCH) {
            let rows: Vec<&Lease4> = chunk.iter().collect();
            insert_rows(&rows, "").execute(&mut *tx).await?;
            let active: Vec<i64> = chunk
                .iter()
                .filter(|l| !l.state.is_free())
                .map(|l| addr_to_db(l.address))
                .collect();
            if !active.is_empty() {
                let sql = format!(
                    "DELETE FROM free_lease4 WHERE address IN {}",
                    list(active.len())
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

pub(super) use cols;

pub(super) use retrying;
pub(super) use retrying_on;
