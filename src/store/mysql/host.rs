//! Host reservations on MySQL/MariaDB: look-ups by identifier (one round trip for all
//! identifiers, options in a second query only when a host is found) and by address;
//! inserts in one transaction with their options.

use std::net::Ipv4Addr;

use sqlx::AssertSqlSafe;

use super::MySqlStore;
use crate::store::{
    addr_to_db, classes_to_db, host4_where, host_conflict, host_from_row, hosts_from_joined,
    id_to_db, map_err, opt_addr_to_db, packet_query, pick_by_order, Host, HostRow, HostStore,
    IdentifierType, JoinedRow, OptionRow, StoreResult, HOST_COLUMNS, OPTION_COLUMNS,
};

impl MySqlStore {
    async fn with_options(&self, row: Option<HostRow>) -> StoreResult<Option<Host>> {
        let Some(row) = row else { return Ok(None) };
        let sql = format!(
            "SELECT {OPTION_COLUMNS} FROM dhcp4_options WHERE host_id = ? ORDER BY option_id"
        );
        let options: Vec<OptionRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(row.0)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        host_from_row(row, options).map(Some)
    }
}

#[async_trait::async_trait]
impl HostStore for MySqlStore {
    async fn host4(
        &self,
        subnet_id: u32,
        ids: &[(IdentifierType, Vec<u8>)],
    ) -> StoreResult<Option<Host>> {
        if ids.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE {}",
            host4_where(ids.len(), |_| "?".to_string())
        );
        let mut q = sqlx::query_as::<_, HostRow>(AssertSqlSafe(sql)).bind(id_to_db(subnet_id));
        for (t, v) in ids {
            q = q.bind(*t as i16).bind(v.as_slice());
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        self.with_options(pick_by_order(rows, ids)).await
    }

    async fn hosts4_for_packet(
        &self,
        subnet_ids: &[u32],
        ids: &[(IdentifierType, Vec<u8>)],
        address: Option<Ipv4Addr>,
    ) -> StoreResult<Vec<Host>> {
        if subnet_ids.is_empty() || (ids.is_empty() && address.is_none()) {
            return Ok(Vec::new());
        }
        let sql = packet_query(subnet_ids.len(), ids.len(), address.is_some(), |i| {
            let _ = i;
            "?".to_string()
        });
        let mut q = sqlx::query_as::<_, JoinedRow>(AssertSqlSafe(sql));
        for s in subnet_ids {
            q = q.bind(id_to_db(*s));
        }
        for (t, v) in ids {
            q = q.bind(*t as i16).bind(v.as_slice());
        }
        if let Some(a) = address {
            q = q.bind(addr_to_db(a));
        }
        let mut c = self.fast.get().await?;
        let r = q.fetch_all(&mut *c).await;
        hosts_from_joined(c.finish(r)?)
    }

    async fn host4_by_address(
        &self,
        subnet_id: u32,
        address: Ipv4Addr,
    ) -> StoreResult<Option<Host>> {
        let sql = format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE dhcp4_subnet_id = ? AND ipv4_address = ?"
        );
        let row: Option<HostRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id_to_db(subnet_id))
            .bind(addr_to_db(address))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        self.with_options(row).await
    }

    async fn add_host(&self, host: &Host) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let inserted = sqlx::query(
            "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, \
             dhcp6_subnet_id, ipv4_address, hostname, dhcp4_client_classes, \
             dhcp6_client_classes, dhcp4_next_server, dhcp4_server_hostname, \
             dhcp4_boot_file_name, user_context) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(host.identifier.as_slice())
        .bind(host.identifier_type as i16)
        .bind(host.ipv4_subnet_id.map(id_to_db))
        .bind(host.ipv6_subnet_id.map(id_to_db))
        .bind(opt_addr_to_db(host.ipv4_address))
        .bind(host.hostname.as_deref())
        .bind(classes_to_db(&host.client_classes4))
        .bind(classes_to_db(&host.client_classes6))
        .bind(opt_addr_to_db(host.next_server))
        .bind(host.server_hostname.as_deref())
        .bind(host.boot_file_name.as_deref())
        .bind(host.user_context.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| host_conflict(map_err(e), host))?;
        // MySQL has no INSERT … RETURNING (MariaDB does); LAST_INSERT_ID is per session.
        let host_id = i64::try_from(inserted.last_insert_id())
            .map_err(|_| crate::store::StoreError::Other("host_id out of range".into()))?;
        for o in &host.options4 {
            sqlx::query(
                "INSERT INTO dhcp4_options (code, value, formatted_value, space, persistent, \
                 host_id, scope_id) VALUES (?, ?, ?, ?, ?, ?, 3)",
            )
            .bind(o.code as i16)
            .bind(o.value.as_deref())
            .bind(o.formatted_value.as_deref())
            .bind(o.space.as_str())
            .bind(o.persistent)
            .bind(host_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(host_id)
    }

    async fn del_host4(
        &self,
        subnet_id: u32,
        identifier_type: IdentifierType,
        identifier: &[u8],
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM hosts WHERE dhcp4_subnet_id = ? AND dhcp_identifier_type = ? \
             AND dhcp_identifier = ?",
        )
        .bind(id_to_db(subnet_id))
        .bind(identifier_type as i16)
        .bind(identifier)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }
}
