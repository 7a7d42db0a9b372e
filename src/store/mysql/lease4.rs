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

use sqlx::{AssertSqlSafe, Row};

use super::MySqlStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, StoreResult, SubnetLeaseCounts,
    UnixTime,
};

use super::lease4_sql::*;
use crate::store::peek_sql::{expired_pick, fetch_pick, free_pick, question, Pick};

#[async_trait::async_trait]
impl LeaseStore for MySqlStore {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    fn claim_batches(&self) -> Option<crate::store::ClaimBatchStats> {
        Some(self.claims.stats())
    }

    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()> {
        for p in pools {
            retrying!(self.sync_range_once(p, now), ())?;
        }
        Ok(())
    }

    async fn lease4_by_address(&self, address: Ipv4Addr) -> StoreResult<Option<Lease4>> {
        let mut c = self.fast.get().await?;
        let r = sqlx::query(SELECT_BY_ADDRESS)
            .bind(addr_to_db(address))
            .fetch_optional(&mut *c)
            .await;
        let row = c.finish(r)?;
        row.as_ref().map(lease_from_row).transpose()
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
            "SELECT {} FROM lease4 WHERE {col} = ? AND subnet_id IN {} AND state <> 3 \
             ORDER BY expire DESC LIMIT 1",
            cols!(),
            list(subnet_ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(key);
        for &s in subnet_ids {
            q = q.bind(i64::from(s));
        }
        let mut c = self.fast.get().await?;
        let r = q.fetch_optional(&mut *c).await;
        let row = c.finish(r)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        if lease.state != LeaseState::Offered {
            return self.claims.claim(lease, client, now).await;
        }
        retrying_on!(self.fast, c => claim4_once(c, lease, client, now), None)
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
        retrying_on!(self.fast, c => self.claim_free4_once(c, lease, pools, now), None)
    }

    async fn peek_free4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        _now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>> {
        self.peek(free_pick(subnet_id, pools, question)).await
    }

    async fn peek_expired4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>> {
        self.peek(expired_pick(subnet_id, pools, now, question))
            .await
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
        retrying_on!(self.fast, c => self.claim_expired4_once(c, lease, pools, now), None)
    }

    async fn release4(
        &self,
        address: Ipv4Addr,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<bool> {
        retrying_on!(self.fast, c => self.release4_once(c, "0, 5", address, client, now), false)
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
        let mut c = self.fast.get().await?;
        let r = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_to_db(keep))
            .bind(client.client_id.clone())
            .bind(client.client_id.clone())
            .bind(client.client_id.clone())
            .bind(hw)
            .fetch_all(&mut *c)
            .await;
        let offers: Vec<i64> = c.finish(r)?;
        let mut freed = 0;
        for a in offers {
            let addr = addr_from_db(a, "address")?;
            freed += u64::from(retrying_on!(
                self.fast,
                c => self.release4_once(c, "5", addr, client, now),
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
            .bind(addr_to_db(address));
        let mut c = self.fast.get().await?;
        let r = bind_key(q, client).execute(&mut *c).await;
        let done = c.finish(r)?;
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
        retrying!(self.upload_once(leases), 0)
    }
}

impl MySqlStore {
    /// Run a read-only pick (`store/peek_sql.rs`) on a packet-path connection; None:
    /// nothing to pick from.
    async fn peek(&self, pick: Option<Pick>) -> StoreResult<Option<Ipv4Addr>> {
        let Some(p) = pick else { return Ok(None) };
        let mut c = self.fast.get().await?;
        let got = fetch_pick(&mut *c, p).await;
        if got.is_ok() {
            c.release();
        }
        got
    }
}
