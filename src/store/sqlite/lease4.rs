//! Lease operations on SQLite.
//!
//! SQLite has a single writer. Every claim runs in one transaction opened with
//! `BEGIN IMMEDIATE`, which takes the write lock up front, so the read that decides
//! (is the address free, or owned by this client — decided by [`ClientKey::owns`] itself)
//! and the write that follows cannot interleave with another writer, in this process or
//! another. No row locks or `SKIP LOCKED` are needed. The pool's busy timeout makes a
//! second process wait for the lock rather than fail.

use std::net::Ipv4Addr;

use sqlx::{AssertSqlSafe, Row};

use super::SqliteStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, StoreResult, SubnetLeaseCounts,
    UnixTime,
};

use super::lease4_sql::*;
use crate::store::peek_sql::{dollar, expired_pick, fetch_pick, free_pick, Pick};

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
            .bind(addr_to_db(p.start))
            .bind(addr_to_db(p.end))
            .bind(i64::from(p.subnet_id))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() > 0 {
                sqlx::query(LOAD_RANGE)
                    .bind(addr_to_db(p.start))
                    .bind(addr_to_db(p.end))
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
        let Some((col, key)) = client.lookup() else {
            return Ok(None);
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
            if !cur.takeable(now) && !client.owns(&cur) {
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
                if cur.as_ref().is_some_and(|c| !c.takeable(now)) {
                    // A stale free-list row: drop it and look again.
                    sqlx::query(DELETE_FREE)
                        .bind(addr_to_db(addr))
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

    async fn peek_free4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        _now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>> {
        self.peek(free_pick(subnet_id, pools, dollar)).await
    }

    async fn peek_expired4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>> {
        self.peek(expired_pick(subnet_id, pools, now, dollar)).await
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
            q = q.bind(addr_to_db(p.start)).bind(addr_to_db(p.end));
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
        let addr = addr_from_db(a, "address")?;
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
            .bind(addr_to_db(keep))
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
            .bind(addr_to_db(address))
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
                    subnet_id: id_from_db(s, "subnet_id")?,
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
                q = bind_fields(q.bind(addr_to_db(l.address)), l);
            }
            q.execute(&mut *tx).await.map_err(map_err)?;
            for l in chunk.iter().filter(|l| !l.state.is_free()) {
                sqlx::query(DELETE_FREE)
                    .bind(addr_to_db(l.address))
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
        let a = addr_to_db(address);
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

impl SqliteStore {
    /// Run a read-only pick (`store/peek_sql.rs`); None: nothing to pick from.
    async fn peek(&self, pick: Option<Pick>) -> StoreResult<Option<Ipv4Addr>> {
        match pick {
            Some(p) => fetch_pick(&self.pool, p).await,
            None => Ok(None),
        }
    }
}
