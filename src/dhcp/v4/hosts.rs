//! Host reservations for one packet: identifiers taken from the packet in
//! `host-reservation-identifiers` order, looked up in the configuration file first (it
//! takes precedence, as in Kea), then in each host database in order (the lease database
//! when no `hosts-database` is set). One database round trip per packet and source finds
//! both the client's own reservation and whoever reserves the address it wants.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::context::Ctx;
use crate::classify::{Packet, ValueExpression};
use crate::settings::{options, Dhcp4Config, OptionData, Reservation, Subnet4};
use crate::store::{Host, HostStore, IdentifierType, StoreResult};

/// What a reservation gives a client, from the file or a database.
#[derive(Debug, Clone, PartialEq)]
pub struct HostMatch {
    /// Identifier that matched.
    pub identifier_type: IdentifierType,
    /// Its value.
    pub identifier: Vec<u8>,
    /// Subnet id of the reservation (0 = global).
    pub subnet_id: u32,
    /// Reserved address.
    pub address: Option<Ipv4Addr>,
    /// Reserved hostname.
    pub hostname: Option<String>,
    /// Classes the host belongs to.
    pub classes: Vec<String>,
    /// Host options (highest precedence).
    pub options: Vec<OptionData>,
    /// siaddr.
    pub next_server: Option<Ipv4Addr>,
    /// sname.
    pub server_hostname: Option<String>,
    /// file.
    pub boot_file_name: Option<String>,
}

impl HostMatch {
    fn from_reservation(r: &Reservation, subnet_id: u32) -> Self {
        Self {
            identifier_type: r.identifier_type,
            identifier: r.identifier.clone(),
            subnet_id,
            address: r.ip_address,
            hostname: r.hostname.clone(),
            classes: r.client_classes.clone(),
            options: r.option_data.clone(),
            next_server: r.next_server,
            server_hostname: r.server_hostname.clone(),
            boot_file_name: r.boot_file_name.clone(),
        }
    }

    fn from_db(h: Host, subnet_id: u32) -> Self {
        let options = h
            .options4
            .iter()
            .filter_map(|o| {
                let code = u8::try_from(o.code).ok()?;
                let data = match (&o.value, &o.formatted_value) {
                    (Some(v), _) => v.clone(),
                    (None, Some(text)) => encode_text(code, text)?,
                    (None, None) => Vec::new(),
                };
                Some(OptionData {
                    code,
                    name: None,
                    space: o.space.clone(),
                    data,
                    always_send: o.persistent,
                    never_send: false,
                })
            })
            .collect();
        Self {
            identifier_type: h.identifier_type,
            identifier: h.identifier,
            subnet_id,
            address: h.ipv4_address,
            hostname: h.hostname,
            classes: h.client_classes4,
            options,
            next_server: h.next_server,
            server_hostname: h.server_hostname,
            boot_file_name: h.boot_file_name,
        }
    }
}

/// A textual option value from the hosts table, encoded by its standard definition.
fn encode_text(code: u8, text: &str) -> Option<Vec<u8>> {
    let def = options::by_code(code)?;
    options::encode(def.option_type, def.array, &[], text, true).ok()
}

/// The result of a look-up: the client's reservation, and whether the address it wants
/// is reserved for someone else.
#[derive(Debug, Default)]
pub struct Lookup {
    /// The client's own reservation.
    pub host: Option<HostMatch>,
    /// `address` is reserved (in this subnet) for a different client.
    pub address_taken: bool,
}

/// File reservations indexed for the packet path, plus the host databases.
pub struct HostSources {
    by_id: HashMap<(u32, IdentifierType, Vec<u8>), HostMatch>,
    by_addr: HashMap<(u32, Ipv4Addr), (IdentifierType, Vec<u8>)>,
    dbs: Vec<Arc<dyn HostStore>>,
    hosts_with_leases: bool,
    /// The flex-id expression (libdhcp_flex_id.so's identifier-expression).
    flex_id: Option<ValueExpression>,
}

impl HostSources {
    /// Index the configuration's reservations; `dbs` are searched in order after them.
    /// `hosts_with_leases`: the only host database is the lease database.
    pub fn new(cfg: &Dhcp4Config, dbs: Vec<Arc<dyn HostStore>>, hosts_with_leases: bool) -> Self {
        let mut by_id = HashMap::new();
        let mut by_addr = HashMap::new();
        let mut add = |subnet_id: u32, r: &Reservation| {
            by_id.insert(
                (subnet_id, r.identifier_type, r.identifier.clone()),
                HostMatch::from_reservation(r, subnet_id),
            );
            if let Some(a) = r.ip_address {
                by_addr.insert((subnet_id, a), (r.identifier_type, r.identifier.clone()));
            }
        };
        for r in &cfg.reservations {
            add(0, r);
        }
        for s in &cfg.subnets {
            for r in &s.reservations {
                add(s.id, r);
            }
        }
        // Validated at load; an expression that fails here yields no flex-id identifier.
        let flex_id = cfg
            .flex_id_expression
            .as_deref()
            .and_then(|e| ValueExpression::parse(e).ok());
        Self {
            by_id,
            by_addr,
            dbs,
            hosts_with_leases,
            flex_id,
        }
    }

    /// The client's identifiers, in `host-reservation-identifiers` order.
    pub fn identifiers(&self, cfg: &Dhcp4Config, ctx: &Ctx) -> Vec<(IdentifierType, Vec<u8>)> {
        cfg.host_reservation_identifiers
            .iter()
            .filter_map(|t| {
                let v = match t {
                    IdentifierType::HwAddress => Some(ctx.hwaddr.clone()),
                    // RFC 4361: client id = 0xff, IAID (4 bytes), DUID.
                    IdentifierType::Duid => ctx
                        .client_id
                        .as_ref()
                        .filter(|c| c.len() > 5 && c[0] == 0xff)
                        .map(|c| c[5..].to_vec()),
                    IdentifierType::CircuitId => ctx.circuit_id.clone(),
                    IdentifierType::ClientId => ctx.client_id.clone(),
                    IdentifierType::FlexId => self
                        .flex_id
                        .as_ref()
                        .and_then(|e| e.evaluate(&Packet::new(ctx, ctx.len), &ctx.classes).ok())
                        .filter(|v| !v.is_empty()),
                }?;
                Some((*t, v))
            })
            .collect()
    }

    /// Find the client's reservation in `subnet` (and globally when
    /// reservations-global is set), and whether `address` is reserved for another client.
    pub async fn lookup(
        &self,
        cfg: &Dhcp4Config,
        ctx: &Ctx,
        subnet: &Subnet4,
        address: Option<Ipv4Addr>,
    ) -> StoreResult<Lookup> {
        let modes = subnet.reservation_modes;
        let mut scopes = Vec::with_capacity(2);
        if modes.global {
            scopes.push(0);
        }
        if modes.in_subnet {
            scopes.push(subnet.id);
        }
        if scopes.is_empty() {
            return Ok(Lookup::default());
        }
        let ids = self.identifiers(cfg, ctx);
        let mine = |t: IdentifierType, v: &[u8]| ids.iter().any(|(it, iv)| *it == t && iv == v);
        let mut out = Lookup::default();
        // The file first: it wins over the databases.
        'file: for s in &scopes {
            for (t, v) in &ids {
                if let Some(h) = self.by_id.get(&(*s, *t, v.clone())) {
                    out.host = Some(h.clone());
                    break 'file;
                }
            }
        }
        if let Some(a) = address {
            if let Some((t, v)) = self.by_addr.get(&(subnet.id, a)) {
                out.address_taken |= !mine(*t, v);
            }
        }
        let want_addr = address.filter(|_| modes.in_subnet);
        for db in &self.dbs {
            if out.host.is_some() && want_addr.is_none() {
                break;
            }
            let found = db.hosts4_for_packet(&scopes, &ids, want_addr).await?;
            if let Some(a) = want_addr {
                out.address_taken |= found.iter().any(|h| {
                    h.ipv4_subnet_id == Some(subnet.id)
                        && h.ipv4_address == Some(a)
                        && !mine(h.identifier_type, &h.identifier)
                });
            }
            if out.host.is_none() {
                // Scope order (global first when enabled), then identifier order.
                out.host = scopes.iter().find_map(|s| {
                    ids.iter().find_map(|(t, v)| {
                        found
                            .iter()
                            .find(|h| {
                                h.ipv4_subnet_id == Some(*s)
                                    && h.identifier_type == *t
                                    && &h.identifier == v
                            })
                            .map(|h| HostMatch::from_db(h.clone(), *s))
                    })
                });
            }
        }
        Ok(out)
    }

    /// Is `address` reserved in a host database, in subnet `subnet_id`, for a client
    /// other than the one with these identifiers? One round trip per database.
    pub async fn db_reserved_for_other(
        &self,
        subnet_id: u32,
        address: Ipv4Addr,
        ids: &[(IdentifierType, Vec<u8>)],
    ) -> StoreResult<bool> {
        for db in &self.dbs {
            let found = db
                .hosts4_for_packet(&[subnet_id], &[], Some(address))
                .await?;
            if found.iter().any(|h| {
                h.ipv4_address == Some(address)
                    && !ids
                        .iter()
                        .any(|(t, v)| *t == h.identifier_type && *v == h.identifier)
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// True when the only host database is the lease database itself: its free-list
    /// picks already skip reserved addresses in SQL.
    pub fn hosts_live_with_leases(&self) -> bool {
        self.hosts_with_leases
    }

    /// Is `address` reserved in the configuration file, in subnet `subnet_id`, for a
    /// client other than the one with these identifiers?
    pub fn file_reserved_for_other(
        &self,
        subnet_id: u32,
        address: Ipv4Addr,
        ids: &[(IdentifierType, Vec<u8>)],
    ) -> bool {
        self.by_addr
            .get(&(subnet_id, address))
            .is_some_and(|(t, v)| !ids.iter().any(|(it, iv)| it == t && iv == v))
    }
}
