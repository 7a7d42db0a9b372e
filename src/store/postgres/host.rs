//! Host reservations on PostgreSQL: the `$n` SQL shared with SQLite
//! (see `store/dollar_host.rs`).

use std::net::Ipv4Addr;

use sqlx::AssertSqlSafe;

use super::PgStore;
use crate::store::{
    addr_to_db, classes_to_db, host4_where, host_conflict, host_from_row, hosts_from_joined,
    id_to_db, map_err, opt_addr_to_db, packet_query, pick_by_order, Host, HostRow, HostStore,
    IdentifierType, JoinedRow, OptionRow, StoreResult, HOST_COLUMNS, OPTION_COLUMNS,
};

crate::store::dollar_host::dollar_host_store!(PgStore);

impl PgStore {
    /// Run a packet-path query on a connection of the fast pool.
    async fn fetch_all_hot<'q, O>(
        &self,
        q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Vec<O>>
    where
        O: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut c = self.fast.get().await?;
        let r = q.fetch_all(&mut *c).await;
        c.finish(r)
    }
}
