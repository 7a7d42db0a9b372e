//! REQUEST → ACK or NAK, in each client state of RFC 2131 §4.3.2:
//! SELECTING (names a server id), INIT-REBOOT (requested address, no ciaddr),
//! RENEWING / REBINDING (ciaddr set).

use std::net::Ipv4Addr;

use dhcproto::v4::{self, MessageType};
use tracing::debug;

use super::discover::lease_options;
use super::{add_options, options, reply_to, send, subnet, Ctx, Env, HandlerResult, Template};
use crate::alloc;
use crate::dhcp::{DropReason, Reply};
use crate::settings::{Pool4, Subnet4};
use crate::store::{Lease4, LeaseState};

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let ours = ctx.meta.server_addr();
    if let Some(named) = ctx.server_id {
        if Some(named) != ours {
            // The client chose another server: free what we offered it, at once.
            if let Some(addr) = ctx.requested {
                let client = ctx.client_key(env.cfg.match_client_id);
                env.leases.release_offer4(addr, &client, env.now).await?;
            }
            return Ok(Reply::Drop(DropReason::NotForUs));
        }
    }
    let Some(selected) = subnet::select(env.cfg, ctx) else {
        return Ok(Reply::Drop(DropReason::NoSubnet));
    };
    let ciaddr = ctx.msg.ciaddr();
    let init_reboot = ctx.server_id.is_none() && ciaddr.is_unspecified();
    let Some(addr) = ctx
        .requested
        .or((!ciaddr.is_unspecified()).then_some(ciaddr))
    else {
        return Ok(Reply::Drop(DropReason::Malformed));
    };
    let choices = subnet::choices(env.cfg, selected, ctx);
    let client = ctx.client_key(selected.match_client_id);
    if !choices.iter().any(|c| c.subnet.prefix.contains(&addr)) {
        // RFC 2131 §4.3.2: the client is on the wrong network; tell it.
        return Ok(nak(env, ctx, selected));
    }
    if alloc::locate(&choices, addr).is_none() {
        // On this link but not in a pool the client may use.
        return Ok(nak_or_silence(env, ctx, selected, init_reboot));
    }
    if init_reboot {
        // RFC 2131: a server with no record of this client stays silent unless authoritative.
        match env.leases.lease4_by_address(addr).await? {
            Some(l) if client.owns(&l) && !l.state.is_free() => {}
            Some(_) => return Ok(nak(env, ctx, selected)),
            None => return Ok(nak_or_silence(env, ctx, selected, true)),
        }
    }
    let template = Template {
        ctx,
        state: LeaseState::Default,
        now: env.now,
        hold: None,
    };
    match alloc::claim_at(env.leases, &template, &client, &choices, addr, env.now).await? {
        Some(lease) => {
            debug!(address = %lease.address, subnet = lease.subnet_id, "acknowledged");
            let (c, pool) = alloc::locate(&choices, addr)
                .map_or((selected, None), |(c, p)| (c.subnet, Some(p)));
            Ok(lease_reply(env, ctx, MessageType::Ack, c, pool, &lease))
        }
        None => Ok(nak(env, ctx, selected)),
    }
}

fn nak_or_silence(
    env: &Env<'_>,
    ctx: &Ctx,
    subnet: &Subnet4,
    silent_unless_authoritative: bool,
) -> Reply {
    if silent_unless_authoritative && !subnet.authoritative {
        Reply::Drop(DropReason::NotForUs)
    } else {
        nak(env, ctx, subnet)
    }
}

fn nak(_env: &Env<'_>, ctx: &Ctx, _subnet: &Subnet4) -> Reply {
    let server_id = ctx.meta.server_addr().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let m = reply_to(ctx, MessageType::Nak, server_id);
    send(ctx, m, MessageType::Nak)
}

/// An OFFER or ACK carrying `lease`: yiaddr, lifetimes, next-server/boot fields and the
/// configured options.
pub(super) fn lease_reply(
    env: &Env<'_>,
    ctx: &Ctx,
    kind: MessageType,
    subnet: &Subnet4,
    pool: Option<&Pool4>,
    lease: &Lease4,
) -> Reply {
    let server_id = ctx.meta.server_addr().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut m: v4::Message = reply_to(ctx, kind, server_id);
    m.set_yiaddr(lease.address);
    if let Some(ns) = subnet.next_server {
        m.set_siaddr(ns);
    }
    if let Some(sname) = &subnet.server_hostname {
        m.set_sname_str(sname);
    }
    if let Some(file) = &subnet.boot_file_name {
        m.set_fname_str(file);
    }
    lease_options(&mut m, subnet, lease.valid_lifetime);
    let merged = options::configured(env.cfg, Some(subnet), pool, &[], ctx);
    add_options(&mut m, options::select(&merged, ctx));
    send(ctx, m, kind)
}
