//! host_cmds: `reservation-add`, `reservation-get`, `reservation-del` (DHCPv4).
//!
//! `operation-target` is Kea's: reads default to `all` (configuration file first, then
//! the host database), writes to `alternate` (the host database). The file's
//! reservations cannot be changed by command: edit the file and `config-reload`.

use std::net::Ipv4Addr;

use serde_json::{Map, Value};

use super::args::Args;
use super::envelope::{Answer, ApiError, CmdResult};
use super::{json, ApiState};
use crate::settings::{Dhcp4Config, Reservation};
use crate::store::{IdentifierType, StoreError};

/// Where a host command looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    File,
    Database,
    Both,
}

fn target(a: &Args<'_>, writing: bool) -> Result<Target, ApiError> {
    let t = match a.opt_str("operation-target")? {
        None | Some("default") if writing => Target::Database,
        None | Some("default") | Some("all") => Target::Both,
        Some("primary") => Target::File,
        Some("alternate") => Target::Database,
        Some(other) => {
            return Err(ApiError::BadArgument(format!(
                "'operation-target' must be one of primary, alternate, all, default, got {other:?}"
            )))
        }
    };
    if writing && t != Target::Database {
        return Err(ApiError::BadArgument(
            "changing the configuration file's reservations is not supported; use \
             'operation-target': 'alternate' (the host database), or edit the file and run config-reload"
                .into(),
        ));
    }
    Ok(t)
}

/// The host a get/del names: by address or by identifier, in `subnet-id`.
enum Selector {
    Address(Ipv4Addr),
    Identifier(IdentifierType, Vec<u8>),
}

fn selector(a: &Args<'_>) -> Result<(u32, Selector), ApiError> {
    let subnet_id = a.u32("subnet-id")?;
    let sel = if a.has("ip-address") {
        Selector::Address(a.ipv4("ip-address")?)
    } else if a.has("identifier-type") {
        let (k, id) = json::identifier_args(a)?;
        Selector::Identifier(k, id)
    } else {
        return Err(ApiError::BadArgument(
            "missing 'ip-address', or 'identifier-type' and 'identifier'".into(),
        ));
    };
    Ok((subnet_id, sel))
}

fn file_reservations(cfg: &Dhcp4Config, subnet_id: u32) -> &[Reservation] {
    if subnet_id == 0 {
        return &cfg.reservations;
    }
    cfg.subnet(subnet_id).map_or(&[], |s| &s.reservations)
}

fn file_match<'c>(cfg: &'c Dhcp4Config, subnet_id: u32, sel: &Selector) -> Option<&'c Reservation> {
    file_reservations(cfg, subnet_id)
        .iter()
        .find(|r| match sel {
            Selector::Address(a) => r.ip_address == Some(*a),
            Selector::Identifier(k, id) => r.identifier_type == *k && &r.identifier == id,
        })
}

/// `reservation-add`.
pub async fn add(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let args = Args(a);
    args.only(&["reservation", "operation-target"])?;
    target(&args, true)?;
    let r = match a.get("reservation") {
        Some(Value::Object(r)) => r,
        Some(_) => return Err(ApiError::BadArgument("'reservation' must be a map".into())),
        None => {
            return Err(ApiError::BadArgument(
                "missing mandatory 'reservation' argument".into(),
            ))
        }
    };
    let host = json::host_from_reservation(r)?;
    let subnet_id = host.ipv4_subnet_id.unwrap_or(0);
    let cfg = state.handler.config();
    if subnet_id != 0 {
        let Some(subnet) = cfg.subnet(subnet_id) else {
            return Err(ApiError::BadArgument(format!(
                "'subnet-id': no subnet with id {subnet_id} is configured"
            )));
        };
        if let Some(addr) = host.ipv4_address.filter(|a| !subnet.prefix.contains(a)) {
            return Err(ApiError::BadArgument(format!(
                "'ip-address': {addr} is not in subnet {} ({})",
                subnet_id, subnet.prefix
            )));
        }
    }
    let by_id = Selector::Identifier(host.identifier_type, host.identifier.clone());
    let by_addr = host.ipv4_address.map(Selector::Address);
    if file_match(&cfg, subnet_id, &by_id).is_some()
        || by_addr.is_some_and(|s| file_match(&cfg, subnet_id, &s).is_some())
    {
        return Err(ApiError::Conflict(format!(
            "the configuration file already reserves this identifier or address in subnet {subnet_id}"
        )));
    }
    match state.hosts.add_host(&host).await {
        Ok(_) => Ok(Answer::ok("Host added.")),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "a reservation for this identifier or address already exists in subnet {subnet_id}"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `reservation-get`.
pub async fn get(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let args = Args(a);
    args.only(&[
        "subnet-id",
        "ip-address",
        "identifier-type",
        "identifier",
        "operation-target",
    ])?;
    let t = target(&args, false)?;
    let (subnet_id, sel) = selector(&args)?;
    if t != Target::Database {
        let cfg = state.handler.config();
        if let Some(r) = file_match(&cfg, subnet_id, &sel) {
            return Ok(Answer::ok_with(
                "Host found.",
                json::file_host(r, subnet_id),
            ));
        }
    }
    if t != Target::File {
        let host = match &sel {
            Selector::Address(addr) => state.hosts.host4_by_address(subnet_id, *addr).await?,
            Selector::Identifier(k, id) => {
                state.hosts.host4(subnet_id, &[(*k, id.clone())]).await?
            }
        };
        if let Some(h) = host {
            return Ok(Answer::ok_with("Host found.", json::host(&h)));
        }
    }
    Ok(Answer::empty("Host not found."))
}

/// `reservation-del`.
pub async fn del(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let args = Args(a);
    args.only(&[
        "subnet-id",
        "ip-address",
        "identifier-type",
        "identifier",
        "operation-target",
    ])?;
    target(&args, true)?;
    let (subnet_id, sel) = selector(&args)?;
    let (kind, id) = match sel {
        Selector::Identifier(k, id) => (k, id),
        Selector::Address(addr) => match state.hosts.host4_by_address(subnet_id, addr).await? {
            Some(h) => (h.identifier_type, h.identifier),
            None => return Ok(Answer::empty("Host not deleted (not found).")),
        },
    };
    if state.hosts.del_host4(subnet_id, kind, &id).await? {
        Ok(Answer::ok("Host deleted."))
    } else {
        Ok(Answer::empty("Host not deleted (not found)."))
    }
}
