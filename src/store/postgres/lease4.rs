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

use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::store::{
    map_err, ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, PreviousOrFree, StoreError,
    StoreResult, SubnetLeaseCounts, UnixTime,
};

use super::lease4_sql::*;
use crate::store::peek_sql::{
    dollar, expired_pick, fetch_pick, free_pick, peek_free_binds, peek_free_sql, Pick,
};

#[async_trait::async_trait]
impl LeaseStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn claim_batches(&self) -> Option<crate::store::ClaimBatchStats> {
        Some(self.claims.stats())
    }

    async fn sync_pools4(&self, pools: &[PoolRange], now: UnixTime) -> StoreResult<()> {
        for p in pools {
            sqlx::query(SYNC_RANGE)
                .bind(addr_to_db(p.start))
                .bind(addr_to_db(p.end))
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
        let mut c = self.fast.get().await?;
        let r = sqlx::query(sql)
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
        let sql = format!(
            "SELECT {} FROM lease4 WHERE {col} = $1 AND subnet_id = ANY($2) AND state <> 3 \
             ORDER BY expire DESC LIMIT 1",
            cols!()
        );
        let subnets: Vec<i64> = subnet_ids.iter().map(|&s| i64::from(s)).collect();
        let mut c = self.fast.get().await?;
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .bind(subnets)
            .fetch_optional(&mut *c)
            .await;
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
        let mut c = self.pool_for(lease).get().await?;
        let r = claim4_query(lease, client, now)
            .fetch_optional(&mut *c)
            .await;
        let row = c.finish(r)?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Other(format!("lease4 row: {e}"));
        let state: i16 = row.try_get("state").map_err(get)?;
        let mut stored = lease.clone();
        stored.valid_lifetime = id_from_db(
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
            let mut c = self.pool_for(lease).get().await?;
            let r = bind_froms(bind_ranges(q, &pools), &pools)
                .fetch_optional(&mut *c)
                .await;
            let row = c.finish(r)?;
            let Some(row) = row else { return Ok(None) };
            let claimed: Option<i64> = row.try_get("claimed").map_err(map_err)?;
            if let Some(a) = claimed {
                return Ok(Some(with_address(
                    lease,
                    addr_from_db(a, "address")?,
                    &pools,
                )));
            }
            // A stale free-list row (its address is in use) was consumed; pick again.
        }
        Ok(None)
    }

    async fn previous_or_free4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree> {
        let Some((col, key)) = client.lookup() else {
            return Ok(PreviousOrFree::Free(
                self.claim_free4(lease, pools, now).await?,
            ));
        };
        if pools.is_empty() {
            return Ok(match self.lease4_by_client(client, subnet_ids).await? {
                Some(prev) => PreviousOrFree::Previous(prev.address),
                None => PreviousOrFree::Free(None),
            });
        }
        let pools = sorted(pools);
        let sql = previous_or_free_sql(&pools, col);
        let subnets: Vec<i64> = subnet_ids.iter().map(|&s| i64::from(s)).collect();
        let q = bind_fields(sqlx::query(AssertSqlSafe(sql)), lease)
            .bind(now)
            .bind(i64::from(lease.subnet_id));
        let mut c = self.pool_for(lease).get().await?;
        let q = bind_ranges(q, &pools).bind(key).bind(subnets);
        let r = bind_froms(q, &pools).fetch_one(&mut *c).await;
        let row = c.finish(r)?;
        let prev: Option<i64> = row.try_get("prev").map_err(map_err)?;
        if let Some(a) = prev {
            return Ok(PreviousOrFree::Previous(addr_from_db(a, "address")?));
        }
        let picked: Option<i64> = row.try_get("picked").map_err(map_err)?;
        let claimed: Option<i64> = row.try_get("claimed").map_err(map_err)?;
        match (picked, claimed) {
            (None, _) => Ok(PreviousOrFree::Free(None)),
            (Some(_), Some(a)) => Ok(PreviousOrFree::Free(Some(with_address(
                lease,
                addr_from_db(a, "address")?,
                &pools,
            )))),
            // A stale free-list row was consumed: the plain pick retries.
            (Some(_), None) => Ok(PreviousOrFree::Free(
                self.claim_free4(lease, &pools, now).await?,
            )),
        }
    }

    async fn peek_free4(
        &self,
        subnet_id: u32,
        pools: &[PoolRange],
        _now: UnixTime,
    ) -> StoreResult<Option<Ipv4Addr>> {
        self.peek(free_pick(subnet_id, pools, dollar)).await
    }

    async fn previous_or_peek4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        subnet_id: u32,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree<Ipv4Addr>> {
        let Some((col, key)) = client.lookup() else {
            return Ok(PreviousOrFree::Free(
                self.peek_free4(subnet_id, pools, now).await?,
            ));
        };
        let peek = match pools.len() {
            0 => "NULL::bigint".to_string(),
            n => format!("({})", peek_free_sql(n, dollar)),
        };
        let (k, k1) = (6 * pools.len() + 1, 6 * pools.len() + 2);
        let sql = format!(
            "WITH prev AS (SELECT address FROM lease4 WHERE {col} = ${k} \
             AND subnet_id = ANY(${k1}) AND state <> 3 ORDER BY expire DESC LIMIT 1) \
             SELECT (SELECT address FROM prev) AS prev, \
             CASE WHEN NOT EXISTS (SELECT 1 FROM prev) THEN {peek} END AS free"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in peek_free_binds(subnet_id, pools) {
            q = q.bind(v);
        }
        let subnets: Vec<i64> = subnet_ids.iter().map(|&s| i64::from(s)).collect();
        let mut c = self.fast.get().await?;
        let r = q.bind(key).bind(subnets).fetch_one(&mut *c).await;
        let row = c.finish(r)?;
        let prev: Option<i64> = row.try_get("prev").map_err(map_err)?;
        let free: Option<i64> = row.try_get("free").map_err(map_err)?;
        Ok(match (prev, free) {
            (Some(a), _) => PreviousOrFree::Previous(addr_from_db(a, "address")?),
            (None, a) => PreviousOrFree::Free(a.map(|a| addr_from_db(a, "address")).transpose()?),
        })
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
        let sql = claim_expired_sql(pools);
        let q = bind_fields(sqlx::query(AssertSqlSafe(sql)), lease)
            .bind(now)
            .bind(i64::from(lease.subnet_id));
        let mut c = self.pool_for(lease).get().await?;
        let r = bind_ranges(q, pools).fetch_optional(&mut *c).await;
        let row = c.finish(r)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let a: i64 = row.try_get("address").map_err(map_err)?;
                Ok(Some(with_address(
                    lease,
                    addr_from_db(a, "address")?,
                    pools,
                )))
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
        let mut c = self.fast.get().await?;
        let r = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_to_db(keep))
            .bind(cid)
            .bind(hw)
            .fetch_all(&mut *c)
            .await;
        let offers: Vec<i64> = c.finish(r)?;
        let mut freed = 0;
        for a in offers {
            freed += u64::from(
                self.release_states("5", addr_from_db(a, "address")?, client, now)
                    .await?,
            );
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
        let mut c = self.fast.get().await?;
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(addr_to_db(address))
            .bind(now + i64::from(probation))
            .bind(cid)
            .bind(hw)
            .bind(i64::from(probation))
            .execute(&mut *c)
            .await;
        let done = c.finish(r)?;
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
                q = bind_fields(q.bind(addr_to_db(l.address)), l);
            }
            q.execute(&mut *tx).await.map_err(map_err)?;
            let active: Vec<i64> = chunk
                .iter()
                .filter(|l| !l.state.is_free())
                .map(|l| addr_to_db(l.address))
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
        let mut c = self.fast.get().await?;
        let r = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(addr_to_db(address))
            .bind(now)
            .bind(cid)
            .bind(hw)
            .fetch_one(&mut *c)
            .await;
        let n: i64 = c.finish(r)?;
        Ok(n > 0)
    }
}

impl PgStore {
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
