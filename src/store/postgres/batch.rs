//! PostgreSQL's side of group commit (`store/group_commit.rs`): several claims in one
//! statement, `CLAIM4`'s rule applied per row.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use sqlx::{Postgres, Row};

use super::lease4_sql::{
    addr_from_db, addr_to_db, claim4_query, cols, key_params, upsert_set, PgQuery,
};
use crate::store::fastpool::FastPool;
use crate::store::group_commit::{Claim, ClaimMany};
use crate::store::StoreError;
use crate::store::{ClientKey, Lease4, StoreResult, UnixTime};

/// A claim's condition values of the row being decided, looked up by its address.
macro_rules! of_input {
    ($col:literal) => {
        concat!(
            "(SELECT i.",
            $col,
            " FROM input i WHERE i.address = EXCLUDED.address)"
        )
    };
}

/// Claims of active leases (never offers): arrays, one element per claim, in address
/// order: $1 address, $2..$15 the other columns, $16 now, $17 client id, $18 hwaddr (NULL
/// if empty). The `WHERE` is `CLAIM4`'s, per row; an offer never comes here, so
/// `CLAIM4`'s keep-the-active-lease case cannot arise.
const CLAIM4_MANY: &str = concat!(
    "WITH input AS (SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::smallint[], ",
    "$4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::boolean[], ",
    "$10::boolean[], $11::text[], $12::smallint[], $13::text[], $14::bytea[], $15::bytea[], ",
    "$16::bigint[], $17::bytea[], $18::bytea[]) AS i(",
    cols!(),
    ", now, kcid, khw)), ",
    "gone AS (DELETE FROM free_lease4 WHERE address IN (SELECT address FROM input)) ",
    "INSERT INTO lease4 (",
    cols!(),
    ") SELECT ",
    cols!(),
    " FROM input ORDER BY address ",
    "ON CONFLICT (address) DO UPDATE SET ",
    upsert_set!(),
    " WHERE lease4.state IN (2, 3) OR lease4.expire < ",
    of_input!("now"),
    " OR (",
    of_input!("kcid"),
    " IS NOT NULL AND lease4.client_id = ",
    of_input!("kcid"),
    ") OR ((",
    of_input!("kcid"),
    " IS NULL OR lease4.client_id IS NULL) AND lease4.hwaddr = ",
    of_input!("khw"),
    ") RETURNING address"
);

/// Claims through the packet-path pool, each statement bounded by `timeout` (a
/// statement stuck on a lock must not hold every later claim for long).
#[derive(Debug)]
pub(crate) struct PgClaims {
    pub(crate) pool: FastPool<Postgres>,
    pub(crate) timeout: Duration,
}

#[async_trait::async_trait]
impl ClaimMany for PgClaims {
    /// One statement for `rows` (distinct addresses, in address order): the addresses
    /// claimed. A lone claim runs the one-row `CLAIM4`, cheaper to plan and run than
    /// `CLAIM4_MANY`'s arrays.
    async fn claim_many(&self, rows: &[Claim<'_>]) -> StoreResult<HashSet<Ipv4Addr>> {
        let mut c = self.pool.get().await?;
        let limit = |e| StoreError::Unavailable(format!("lease claim: {e}"));
        let addresses = if let [(lease, client, now)] = rows {
            let q = claim4_query(lease, client, *now);
            let r = tokio::time::timeout(self.timeout, q.fetch_optional(&mut *c))
                .await
                .map_err(limit)?;
            c.finish(r)?.map(|_| vec![addr_to_db(lease.address)])
        } else {
            let r = tokio::time::timeout(self.timeout, many(rows).fetch_all(&mut *c))
                .await
                .map_err(limit)?;
            let got = c.finish(r)?;
            let got: Result<Vec<i64>, _> = got.iter().map(|row| row.try_get(0)).collect();
            Some(got.map_err(crate::store::map_err)?)
        };
        addresses
            .unwrap_or_default()
            .into_iter()
            .map(|a| addr_from_db(a, "address"))
            .collect()
    }
}

/// `CLAIM4_MANY` with its arrays bound, one element per claim.
fn many<'q>(rows: &[Claim<'_>]) -> PgQuery<'q> {
    fn each<T>(rows: &[Claim<'_>], f: impl Fn(&Lease4, &ClientKey, UnixTime) -> T) -> Vec<T> {
        rows.iter().map(|&(l, c, n)| f(l, c, n)).collect()
    }
    sqlx::query(CLAIM4_MANY)
        .bind(each(rows, |l, _, _| addr_to_db(l.address)))
        .bind(each(rows, |l, _, _| l.hwaddr.clone()))
        .bind(each(rows, |l, _, _| i16::from(l.hwtype)))
        .bind(each(rows, |l, _, _| l.client_id.clone()))
        .bind(each(rows, |l, _, _| i64::from(l.valid_lifetime)))
        .bind(each(rows, |l, _, _| l.expire))
        .bind(each(rows, |l, _, _| i64::from(l.subnet_id)))
        .bind(each(rows, |l, _, _| i64::from(l.pool_id)))
        .bind(each(rows, |l, _, _| l.fqdn_fwd))
        .bind(each(rows, |l, _, _| l.fqdn_rev))
        .bind(each(rows, |l, _, _| l.hostname.clone()))
        .bind(each(rows, |l, _, _| l.state.code()))
        .bind(each(rows, |l, _, _| l.user_context.clone()))
        .bind(each(rows, |l, _, _| l.relay_id.clone()))
        .bind(each(rows, |l, _, _| l.remote_id.clone()))
        .bind(each(rows, |_, _, now| now))
        .bind(each(rows, |_, c, _| key_params(c).0))
        .bind(each(rows, |_, c, _| key_params(c).1))
}
