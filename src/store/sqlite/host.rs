//! Host reservations on SQLite: the `$n` SQL shared with PostgreSQL
//! (see `store/dollar_host.rs`).

use std::net::Ipv4Addr;

use sqlx::AssertSqlSafe;

use super::SqliteStore;
use crate::store::{
    addr_to_db, classes_to_db, host4_where, host_conflict, host_from_row, hosts_from_joined,
    id_to_db, map_err, opt_addr_to_db, packet_query, pick_by_order, Host, HostRow, HostStore,
    IdentifierType, JoinedRow, OptionRow, StoreResult, HOST_COLUMNS, OPTION_COLUMNS,
};

crate::store::dollar_host::dollar_host_store!(SqliteStore);

impl SqliteStore {
    /// Run a packet-path query (SQLite's pool is in-process: no round trip to save).
    async fn fetch_all_hot<'q, O>(
        &self,
        q: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    ) -> StoreResult<Vec<O>>
    where
        O: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        q.fetch_all(&self.pool).await.map_err(map_err)
    }
}
