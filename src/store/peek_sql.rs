//! Read-only address picks for OFFERs that are not held in the database
//! (`offer-lifetime: 0`, Kea's behaviour): the SQL every backend shares.
//!
//! Placeholders are numbered in order of appearance, so one binding order serves both
//! `$n` (PostgreSQL, SQLite) and `?` (MySQL) databases: per range a random point, its
//! end and the subnet id, then its start, end and the subnet id for [`peek_free_sql`]; the ranges, then now and the subnet id for
//! [`peek_expired_sql`].

use std::net::Ipv4Addr;

use rand::Rng;

use super::{addr_from_db, addr_to_db, map_err, PoolRange, StoreResult, UnixTime};

/// A free address of the given ranges, not reserved in `hosts` for the subnet: the first
/// one at or above a random point of a range, else (wrapping round) the first of the
/// range. Ranges are tried in order.
///
/// Why a random point and not the lowest few: concurrent DISCOVERs (on any front-end)
/// then seldom offer the same address (the loser of a clash gets a NAK and asks again),
/// the pick reads one index entry instead of sorting a handful, and it does not walk the
/// free-list entries that claims deleted at the bottom of the range and vacuum has not
/// yet removed.
///
/// A stale free-list row (its address in use: a pool load raced a claim) is not filtered
/// here, as the check would make the planner scan every lease below the free addresses;
/// the REQUEST's claim refuses such an address, and the client gets a NAK and asks again.
pub(crate) fn peek_free_sql(ranges: usize, ph: impl Fn(usize) -> String) -> String {
    let branch = |tag: String, lo: String, hi: String, subnet: String| {
        format!(
            "SELECT address FROM (SELECT f.address FROM free_lease4 f \
             WHERE f.address BETWEEN {lo} AND {hi} \
             AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = f.address \
               AND h.dhcp4_subnet_id = {subnet}) \
             ORDER BY f.address LIMIT 1) {tag}"
        )
    };
    let parts: Vec<String> = (0..ranges)
        .flat_map(|i| {
            let p = |k: usize| ph(6 * i + k);
            [
                branch(format!("a{i}"), p(1), p(2), p(3)),
                branch(format!("b{i}"), p(4), p(5), p(6)),
            ]
        })
        .collect();
    // No ORDER BY: the branches run in turn and stop at the first row (a sort would run
    // every wrap-round branch, each from the bottom of its range). Which branch answers
    // never matters for correctness: every one yields a free address.
    format!(
        "SELECT address FROM ({}) u LIMIT 1",
        parts.join(" UNION ALL ")
    )
}

/// The longest-expired lease row of the given ranges that may be taken over (as
/// `claim_expired4` would take it), never a reserved address.
pub(crate) fn peek_expired_sql(ranges: usize, ph: impl Fn(usize) -> String) -> String {
    let within: Vec<String> = (0..ranges)
        .map(|i| format!("l.address BETWEEN {} AND {}", ph(2 * i + 1), ph(2 * i + 2)))
        .collect();
    format!(
        "SELECT l.address FROM lease4 l WHERE ({}) AND l.state IN (0, 1, 5) AND l.expire < {} \
         AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.ipv4_address = l.address \
           AND h.dhcp4_subnet_id = {}) ORDER BY l.expire LIMIT 1",
        within.join(" OR "),
        ph(2 * ranges + 1),
        ph(2 * ranges + 2)
    )
}

/// A random address of `p` (as stored): where a free-list pick starts.
pub(crate) fn random_point(p: &PoolRange) -> i64 {
    let (start, end) = (addr_to_db(p.start), addr_to_db(p.end));
    rand::rng().random_range(start..=end.max(start))
}

/// The values of [`peek_free_sql`]'s placeholders, in order.
pub(crate) fn peek_free_binds(subnet_id: u32, pools: &[PoolRange]) -> Vec<i64> {
    pools
        .iter()
        .flat_map(|p| {
            let (start, end, s) = (addr_to_db(p.start), addr_to_db(p.end), i64::from(subnet_id));
            [random_point(p), end, s, start, end, s]
        })
        .collect()
}

/// The values of [`peek_expired_sql`]'s placeholders, in order.
pub(crate) fn peek_expired_binds(subnet_id: u32, pools: &[PoolRange], now: UnixTime) -> Vec<i64> {
    pools
        .iter()
        .flat_map(|p| [addr_to_db(p.start), addr_to_db(p.end)])
        .chain([now, i64::from(subnet_id)])
        .collect()
}

/// A read-only pick ready to run: its SQL and the values of its placeholders.
pub(crate) struct Pick {
    sql: String,
    binds: Vec<i64>,
}

/// [`peek_free_sql`] with its binds; None without ranges (nothing to pick from).
pub(crate) fn free_pick(
    subnet_id: u32,
    pools: &[PoolRange],
    ph: impl Fn(usize) -> String,
) -> Option<Pick> {
    (!pools.is_empty()).then(|| Pick {
        sql: peek_free_sql(pools.len(), ph),
        binds: peek_free_binds(subnet_id, pools),
    })
}

/// [`peek_expired_sql`] with its binds; None without ranges.
pub(crate) fn expired_pick(
    subnet_id: u32,
    pools: &[PoolRange],
    now: UnixTime,
    ph: impl Fn(usize) -> String,
) -> Option<Pick> {
    (!pools.is_empty()).then(|| Pick {
        sql: peek_expired_sql(pools.len(), ph),
        binds: peek_expired_binds(subnet_id, pools, now),
    })
}

/// Run `pick` on `exec`: the address it selects.
pub(crate) async fn fetch_pick<'e, DB, E>(exec: E, pick: Pick) -> StoreResult<Option<Ipv4Addr>>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut q = sqlx::query_scalar::<DB, i64>(sqlx::AssertSqlSafe(pick.sql));
    for v in pick.binds {
        q = q.bind(v);
    }
    let got = q.fetch_optional(exec).await.map_err(map_err)?;
    got.map(|a| addr_from_db(a, "address")).transpose()
}

/// `$n` placeholders.
pub(crate) fn dollar(i: usize) -> String {
    format!("${i}")
}

/// `?` placeholders.
pub(crate) fn question(_: usize) -> String {
    "?".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_binding_order() {
        let sql = peek_free_sql(2, dollar);
        let order: Vec<usize> = sql
            .match_indices('$')
            .map(|(i, _)| {
                sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(order, (1..=12).collect::<Vec<_>>());
        let sql = peek_expired_sql(2, dollar);
        assert!(sql.contains("BETWEEN $3 AND $4) AND l.state IN (0, 1, 5) AND l.expire < $5"));
        assert!(sql.contains("dhcp4_subnet_id = $6"));
        assert_eq!(peek_free_sql(1, question).matches('?').count(), 6);
    }
}
