//! lease_cmds: `lease4-get`, `lease4-get-all`, `lease4-get-by-hw-address`,
//! `lease4-get-by-client-id`, `lease4-del`.
//!
//! Rows in state *released* hold a free address (kept only so a returning client gets
//! it back): the queries treat them as absent, as Kea does for a deleted lease.
//! `lease4-del` frees the address through the store's `release4` with the lease's own
//! client key, so the address returns to the free list atomically.

use serde_json::{json, Map, Value};

use super::args::Args;
use super::envelope::{Answer, ApiError, CmdResult, EMPTY};
use super::{json, ApiState};
use crate::store::{ClientKey, Lease4, LeaseState};

fn visible(l: &Lease4) -> bool {
    l.state != LeaseState::Released
}

fn found(leases: &[Lease4]) -> Answer {
    let list: Vec<Value> = leases.iter().map(json::lease).collect();
    let text = format!("{} IPv4 lease(s) found.", list.len());
    let result = if list.is_empty() { EMPTY } else { 0 };
    Answer::new(result, text, Some(json!({ "leases": list })))
}

/// `lease4-get`: by `ip-address`, or by `identifier-type` (`hw-address` / `client-id`),
/// `identifier` and `subnet-id`.
pub async fn get(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["ip-address", "identifier-type", "identifier", "subnet-id"])?;
    let lease = if a.has("ip-address") {
        state
            .leases
            .lease4_by_address(a.ipv4("ip-address")?)
            .await?
    } else if a.has("identifier-type") {
        let (kind, id) = json::identifier_args(&a)?;
        let subnet = a.u32("subnet-id")?;
        let key = match kind {
            crate::store::IdentifierType::HwAddress => ClientKey {
                client_id: None,
                hwaddr: id,
            },
            crate::store::IdentifierType::ClientId => ClientKey {
                client_id: Some(id),
                hwaddr: Vec::new(),
            },
            _ => {
                return Err(ApiError::BadArgument(
                    "'identifier-type' must be hw-address or client-id for lease4-get".into(),
                ))
            }
        };
        state.leases.lease4_by_client(&key, &[subnet]).await?
    } else {
        return Err(ApiError::BadArgument(
            "missing mandatory 'ip-address' argument (or 'identifier-type', 'identifier' and 'subnet-id')".into(),
        ));
    };
    Ok(match lease.filter(visible) {
        Some(l) => Answer::ok_with("IPv4 lease found.", json::lease(&l)),
        None => Answer::empty("Lease not found."),
    })
}

/// `lease4-get-all`, optionally only in `subnets`.
pub async fn get_all(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["subnets"])?;
    let subnets = a.opt_u32_list("subnets")?;
    let leases: Vec<Lease4> = state
        .leases
        .all_leases4()
        .await?
        .into_iter()
        .filter(visible)
        .filter(|l| subnets.as_ref().is_none_or(|s| s.contains(&l.subnet_id)))
        .collect();
    Ok(found(&leases))
}

/// One look-up per configured subnet (the store's indexed client query), so the client's
/// lease in every subnet is found without scanning the table.
async fn by_client(state: &ApiState, key: ClientKey) -> CmdResult {
    let cfg = state.handler.config();
    let mut out = Vec::new();
    for s in &cfg.subnets {
        if let Some(l) = state.leases.lease4_by_client(&key, &[s.id]).await? {
            if visible(&l) && !out.iter().any(|x: &Lease4| x.address == l.address) {
                out.push(l);
            }
        }
    }
    Ok(found(&out))
}

/// `lease4-get-by-hw-address`.
pub async fn get_by_hw_address(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["hw-address"])?;
    let hwaddr = json::identifier(
        crate::store::IdentifierType::HwAddress,
        "hw-address",
        a.str("hw-address")?,
    )?;
    by_client(
        state,
        ClientKey {
            client_id: None,
            hwaddr,
        },
    )
    .await
}

/// `lease4-get-by-client-id`.
pub async fn get_by_client_id(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["client-id"])?;
    let id = a.hex("client-id")?;
    by_client(
        state,
        ClientKey {
            client_id: Some(id),
            hwaddr: Vec::new(),
        },
    )
    .await
}

/// `lease4-del` by `ip-address`.
pub async fn del(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["ip-address", "hw-address", "subnet-id", "update-ddns"])?;
    let address = a.ipv4("ip-address")?;
    let Some(lease) = state.leases.lease4_by_address(address).await? else {
        return Ok(Answer::empty("IPv4 lease not found."));
    };
    match lease.state {
        LeaseState::Released | LeaseState::ExpiredReclaimed => {
            return Ok(Answer::empty("IPv4 lease not found."))
        }
        LeaseState::Declined => return Ok(Answer::error(
            "deleting a declined lease is not supported yet; it is freed when its probation ends",
        )),
        LeaseState::Default | LeaseState::Offered => {}
    }
    let key = ClientKey {
        client_id: lease.client_id.clone(),
        hwaddr: lease.hwaddr.clone(),
    };
    if state
        .leases
        .release4(address, &key, state.clock.now())
        .await?
    {
        Ok(Answer::ok("IPv4 lease deleted."))
    } else {
        // The row changed hands between the read and the release.
        Err(ApiError::Conflict(
            "the lease changed while being deleted; try again".into(),
        ))
    }
}
