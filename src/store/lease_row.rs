//! One lease4 row → [`Lease4`], for every backend (columns read by name, so any
//! `SELECT` listing the lease4 columns works).

use super::{addr_from_db, id_from_db, Lease4, LeaseState, StoreError, StoreResult};

/// Map a row holding the lease4 columns.
pub(crate) fn lease_from_row<'r, R>(row: &'r R) -> StoreResult<Lease4>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i16: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let get = |e: sqlx::Error| StoreError::Other(format!("lease4 row: {e}"));
    let state: i16 = row.try_get("state").map_err(get)?;
    let hwtype: i16 = row.try_get("hwtype").map_err(get)?;
    let u32_col =
        |name: &'r str| -> StoreResult<u32> { id_from_db(row.try_get(name).map_err(get)?, name) };
    Ok(Lease4 {
        address: addr_from_db(row.try_get("address").map_err(get)?, "address")?,
        hwaddr: row
            .try_get::<Option<Vec<u8>>, _>("hwaddr")
            .map_err(get)?
            .unwrap_or_default(),
        hwtype: u8::try_from(hwtype).unwrap_or(1),
        client_id: row.try_get("client_id").map_err(get)?,
        valid_lifetime: u32_col("valid_lifetime")?,
        expire: row.try_get("expire").map_err(get)?,
        subnet_id: u32_col("subnet_id")?,
        pool_id: u32_col("pool_id")?,
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

/// Bind the 14 non-address lease4 columns of `$lease` to `$q`, in `cols!` order (the same
/// in every dialect); `$small` is the integer type the backend uses for SMALLINT columns.
macro_rules! bind_lease_fields {
    ($q:expr, $lease:expr, $small:ty) => {
        $q.bind($lease.hwaddr.clone())
            .bind(<$small>::from($lease.hwtype))
            .bind($lease.client_id.clone())
            .bind(i64::from($lease.valid_lifetime))
            .bind($lease.expire)
            .bind(i64::from($lease.subnet_id))
            .bind(i64::from($lease.pool_id))
            .bind($lease.fqdn_fwd)
            .bind($lease.fqdn_rev)
            .bind($lease.hostname.clone())
            .bind(<$small>::from($lease.state.code()))
            .bind($lease.user_context.clone())
            .bind($lease.relay_id.clone())
            .bind($lease.remote_id.clone())
    };
}
pub(crate) use bind_lease_fields;
