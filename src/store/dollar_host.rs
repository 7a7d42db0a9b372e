//! Host reservations with `$n` placeholders and RETURNING: the SQL text PostgreSQL and
//! SQLite share. Look-ups by identifier (one round trip for all identifiers), by address,
//! and per packet (hosts and options in one joined query); inserts in one transaction
//! with their options. Instantiated by `postgres/host.rs` and `sqlite/host.rs`.

/// Implement `HostStore` for a store with a `pool` field whose database takes `$n`
/// placeholders, and a `fetch_all_hot` method running a packet-path query.
macro_rules! dollar_host_store {
    ($store:ty) => {
        impl $store {
            async fn with_options(&self, row: Option<HostRow>) -> StoreResult<Option<Host>> {
                let Some(row) = row else { return Ok(None) };
                let sql = format!(
                    "SELECT {OPTION_COLUMNS} FROM dhcp4_options WHERE host_id = $1 ORDER BY option_id"
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
        impl HostStore for $store {
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
                    host4_where(ids.len(), |i| format!("${i}"))
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
                    format!("${i}")
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
                hosts_from_joined(self.fetch_all_hot(q).await?)
            }

            async fn host4_by_address(
                &self,
                subnet_id: u32,
                address: Ipv4Addr,
            ) -> StoreResult<Option<Host>> {
                let sql = format!(
                    "SELECT {HOST_COLUMNS} FROM hosts WHERE dhcp4_subnet_id = $1 AND ipv4_address = $2"
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
                let host_id: i64 = sqlx::query_scalar(
                    "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, \
                     dhcp6_subnet_id, ipv4_address, hostname, dhcp4_client_classes, \
                     dhcp6_client_classes, dhcp4_next_server, dhcp4_server_hostname, \
                     dhcp4_boot_file_name, user_context) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING host_id",
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
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| host_conflict(map_err(e), host))?;
                for o in &host.options4 {
                    sqlx::query(
                        "INSERT INTO dhcp4_options (code, value, formatted_value, space, persistent, \
                         host_id, scope_id) VALUES ($1, $2, $3, $4, $5, $6, 3)",
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
                    "DELETE FROM hosts WHERE dhcp4_subnet_id = $1 AND dhcp_identifier_type = $2 \
                     AND dhcp_identifier = $3",
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
    };
}

pub(crate) use dollar_host_store;
