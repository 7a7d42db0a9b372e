//! MySQL's side of group commit (`store/group_commit.rs`): several claims in one
//! transaction, each decided by `claim4`'s rule on its locked row.
//!
//! The transaction removes the addresses from the free list, locks their lease rows in
//! address order, decides each claim in Rust exactly as `claim4_once` does, then writes
//! the new rows with one `INSERT` (a concurrent insert of one of them fails the whole
//! attempt with a duplicate key, and the attempt is run again, as `claim4_once` does) and
//! the locked existing rows with one `INSERT … ON DUPLICATE KEY UPDATE`. A claim refused
//! here leaves a free-list row removed, which is right: the address is held.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use sqlx::{AssertSqlSafe, Connection, MySql, MySqlConnection};

use super::lease4_sql::*;
use crate::store::fastpool::FastPool;
use crate::store::group_commit::{Claim, ClaimMany};
use crate::store::{map_err, Lease4, StoreResult};

/// Claims through the packet-path pool.
#[derive(Debug)]
pub(crate) struct MyClaims {
    pub(crate) fast: FastPool<MySql>,
}

#[async_trait::async_trait]
impl ClaimMany for MyClaims {
    async fn claim_many(&self, rows: &[Claim<'_>]) -> StoreResult<HashSet<Ipv4Addr>> {
        if let [(lease, client, now)] = rows {
            let got = retrying_on!(self.fast, c => claim4_once(c, lease, client, *now), None)?;
            return Ok(got.into_iter().map(|l| l.address).collect());
        }
        retrying_on!(self.fast, c => claim_many_once(c, rows), HashSet::new())
    }
}

/// One attempt at claiming `rows` (distinct addresses, in address order).
async fn claim_many_once(
    c: &mut MySqlConnection,
    rows: &[Claim<'_>],
) -> Result<Step<HashSet<Ipv4Addr>>, sqlx::Error> {
    let addresses: Vec<i64> = rows.iter().map(|r| addr_to_db(r.0.address)).collect();
    let mut tx = c.begin().await?;
    let mut q = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM free_lease4 WHERE address IN {}",
        list(rows.len())
    )));
    for &a in &addresses {
        q = q.bind(a);
    }
    q.execute(&mut *tx).await?;
    let mut q = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM lease4 WHERE address IN {} ORDER BY address FOR UPDATE",
        cols!(),
        list(rows.len())
    )));
    for &a in &addresses {
        q = q.bind(a);
    }
    let current: HashMap<Ipv4Addr, Lease4> = q
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| lease_from_row(r).map(|l| (l.address, l)))
        .collect::<Result<_, _>>()
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
    let (mut new, mut over) = (Vec::new(), Vec::new());
    for &(lease, client, now) in rows {
        match current.get(&lease.address) {
            None => new.push(lease),
            Some(cur) if cur.takeable(now) || client.owns(cur) => over.push(lease),
            Some(_) => {}
        }
    }
    if !new.is_empty() {
        let r = insert_rows(&new, "").execute(&mut *tx).await;
        match r {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => return Ok(Step::Again),
            Err(e) => return Err(e),
        }
    }
    if !over.is_empty() {
        // Every one of these rows exists and is locked by this transaction: the insert
        // always takes its update branch.
        let set = concat!(
            " ON DUPLICATE KEY UPDATE hwaddr = VALUES(hwaddr), hwtype = VALUES(hwtype), ",
            "client_id = VALUES(client_id), valid_lifetime = VALUES(valid_lifetime), ",
            "expire = VALUES(expire), subnet_id = VALUES(subnet_id), pool_id = VALUES(pool_id), ",
            "fqdn_fwd = VALUES(fqdn_fwd), fqdn_rev = VALUES(fqdn_rev), ",
            "hostname = VALUES(hostname), state = VALUES(state), ",
            "user_context = VALUES(user_context), relay_id = VALUES(relay_id), ",
            "remote_id = VALUES(remote_id)"
        );
        insert_rows(&over, set).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Step::Done(
        new.iter().chain(&over).map(|l| l.address).collect(),
    ))
}
