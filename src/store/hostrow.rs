//! Row shapes shared by the three `host.rs` backends: the column list, the tuple each
//! backend decodes, and the conversion to the domain [`Host`]. No SQL is executed here;
//! backends differ only in placeholders and how they get the new `host_id`.

use std::net::Ipv4Addr;

use super::{
    addr_from_db, addr_to_db, id_from_db, Host, HostOption, IdentifierType, StoreError, StoreResult,
};

/// Columns of `hosts`, in the order of [`HostRow`].
pub(crate) const HOST_COLUMNS: &str = "host_id, dhcp_identifier, dhcp_identifier_type, \
    dhcp4_subnet_id, dhcp6_subnet_id, ipv4_address, hostname, dhcp4_client_classes, \
    dhcp6_client_classes, dhcp4_next_server, dhcp4_server_hostname, dhcp4_boot_file_name, \
    user_context";

/// One `hosts` row as decoded by every backend (see [`HOST_COLUMNS`]).
pub(crate) type HostRow = (
    i64,
    Vec<u8>,
    i16,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One `dhcp4_options` row: code, value, formatted_value, space, persistent.
pub(crate) type OptionRow = (i16, Option<Vec<u8>>, Option<String>, String, bool);

/// Columns of `dhcp4_options`, in the order of [`OptionRow`].
pub(crate) const OPTION_COLUMNS: &str = "code, value, formatted_value, space, persistent";

fn classes_from_db(v: Option<String>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Client classes as the comma-separated column value (NULL when none).
pub(crate) fn classes_to_db(classes: &[String]) -> Option<String> {
    (!classes.is_empty()).then(|| classes.join(","))
}

/// An optional address as its BIGINT column value.
pub(crate) fn opt_addr_to_db(a: Option<Ipv4Addr>) -> Option<i64> {
    a.map(addr_to_db)
}

/// Convert a decoded `hosts` row and its options into the domain type.
pub(crate) fn host_from_row(row: HostRow, options: Vec<OptionRow>) -> StoreResult<Host> {
    let (id, identifier, id_type, s4, s6, addr, hostname, cc4, cc6, next, sname, file, ctx) = row;
    let identifier_type = IdentifierType::from_code(i64::from(id_type))
        .ok_or_else(|| StoreError::Other(format!("host {id}: identifier type {id_type}")))?;
    let options4 = options
        .into_iter()
        .map(|(code, value, formatted_value, space, persistent)| {
            let code = u16::try_from(code)
                .map_err(|_| StoreError::Other(format!("host {id}: option code {code}")))?;
            Ok(HostOption {
                code,
                space,
                value,
                formatted_value,
                persistent,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Host {
        host_id: id,
        identifier_type,
        identifier,
        ipv4_subnet_id: s4.map(|v| id_from_db(v, "dhcp4_subnet_id")).transpose()?,
        ipv6_subnet_id: s6.map(|v| id_from_db(v, "dhcp6_subnet_id")).transpose()?,
        ipv4_address: addr.map(|v| addr_from_db(v, "ipv4_address")).transpose()?,
        hostname,
        client_classes4: classes_from_db(cc4),
        client_classes6: classes_from_db(cc6),
        next_server: next
            .map(|v| addr_from_db(v, "dhcp4_next_server"))
            .transpose()?,
        server_hostname: sname,
        boot_file_name: file,
        options4,
        user_context: ctx,
    })
}

/// The `WHERE` clause selecting a v4 host by any of `n` identifiers:
/// `dhcp4_subnet_id = P AND ((dhcp_identifier_type = P AND dhcp_identifier = P) OR ...)`,
/// with placeholders produced by `ph(i)` for i = 1.. (subnet first, then type/id pairs).
pub(crate) fn host4_where(n: usize, ph: impl Fn(usize) -> String) -> String {
    let ors = (0..n)
        .map(|i| {
            format!(
                "(dhcp_identifier_type = {} AND dhcp_identifier = {})",
                ph(2 + 2 * i),
                ph(3 + 2 * i)
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    format!("dhcp4_subnet_id = {} AND ({ors})", ph(1))
}

/// Of the hosts found for several identifiers, the one whose identifier comes first in `ids`.
pub(crate) fn pick_by_order(
    rows: Vec<HostRow>,
    ids: &[(IdentifierType, Vec<u8>)],
) -> Option<HostRow> {
    ids.iter().find_map(|(t, v)| {
        rows.iter()
            .find(|r| i64::from(r.2) == *t as i64 && &r.1 == v)
            .cloned()
    })
}

/// Turn a unique violation on `hosts` into a Conflict naming what collided.
pub(crate) fn host_conflict(e: StoreError, host: &Host) -> StoreError {
    let StoreError::Conflict(msg) = e else {
        return e;
    };
    let subnet = host
        .ipv4_subnet_id
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    if msg.contains("hosts_by_ipv4") || msg.contains("ipv4_address") {
        let addr = host.ipv4_address.map(|a| a.to_string()).unwrap_or_default();
        StoreError::Conflict(format!(
            "address {addr} is already reserved in subnet {subnet}"
        ))
    } else {
        StoreError::Conflict(format!(
            "{} {} is already reserved in subnet {subnet}",
            host.identifier_type.name(),
            hex_colon(&host.identifier)
        ))
    }
}

/// Bytes as colon-separated lowercase hex (`01:02:0a`).
pub fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A host row LEFT JOINed with one of its options (columns `HOST_COLUMNS` then
/// `OPTION_COLUMNS`, option columns NULL when the host has none): one round trip brings
/// hosts and their options.
pub(crate) struct JoinedRow {
    host: HostRow,
    option: Option<OptionRow>,
}

impl<'r, R> sqlx::FromRow<'r, R> for JoinedRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i16: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let host = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
            row.try_get(5)?,
            row.try_get(6)?,
            row.try_get(7)?,
            row.try_get(8)?,
            row.try_get(9)?,
            row.try_get(10)?,
            row.try_get(11)?,
            row.try_get(12)?,
        );
        let code: Option<i16> = row.try_get(13)?;
        let option = match code {
            None => None,
            Some(code) => Some((
                code,
                row.try_get(14)?,
                row.try_get(15)?,
                row.try_get::<Option<String>, _>(16)?.unwrap_or_default(),
                row.try_get::<Option<bool>, _>(17)?.unwrap_or(false),
            )),
        };
        Ok(JoinedRow { host, option })
    }
}

/// The SELECT for [`super::HostStore::hosts4_for_packet`]: hosts of the given subnets that
/// match one of `n_ids` identifiers or reserve one address, with their options.
/// Placeholders in order: subnet ids, then (type, value) pairs, then the address.
pub(crate) fn packet_query(
    n_subnets: usize,
    n_ids: usize,
    with_address: bool,
    ph: impl Fn(usize) -> String,
) -> String {
    let subnets = (1..=n_subnets).map(&ph).collect::<Vec<_>>().join(", ");
    let mut ors: Vec<String> = (0..n_ids)
        .map(|i| {
            format!(
                "(h.dhcp_identifier_type = {} AND h.dhcp_identifier = {})",
                ph(n_subnets + 1 + 2 * i),
                ph(n_subnets + 2 + 2 * i)
            )
        })
        .collect();
    if with_address {
        ors.push(format!(
            "h.ipv4_address = {}",
            ph(n_subnets + 1 + 2 * n_ids)
        ));
    }
    let host_cols = HOST_COLUMNS
        .split(", ")
        .map(|c| format!("h.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {host_cols}, o.code, o.value, o.formatted_value, o.space, o.persistent \
         FROM hosts h LEFT JOIN dhcp4_options o ON o.host_id = h.host_id \
         WHERE h.dhcp4_subnet_id IN ({subnets}) AND ({}) ORDER BY h.host_id, o.option_id",
        ors.join(" OR ")
    )
}

/// Group joined rows into hosts, in host_id order.
pub(crate) fn hosts_from_joined(rows: Vec<JoinedRow>) -> StoreResult<Vec<Host>> {
    let mut out: Vec<(HostRow, Vec<OptionRow>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((h, opts)) if h.0 == r.host.0 => opts.extend(r.option),
            _ => out.push((r.host, r.option.into_iter().collect())),
        }
    }
    out.into_iter().map(|(h, o)| host_from_row(h, o)).collect()
}
