//! REQUEST → ACK or NAK, in each client state of RFC 2131 §4.3.2:
//! SELECTING (names a server id), INIT-REBOOT (requested address, no ciaddr),
//! RENEWING / REBINDING (ciaddr set).

use std::net::Ipv4Addr;

use dhcproto::v4::{self, DhcpOption, MessageType};
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
            // The client chose another server: free what else was offered to it, at once,
            // but not the address that server is committing (a sibling front-end may
            // have offered the same one from the shared database). Offers that are not
            // held (offer-lifetime 0) left nothing to free.
            let held = env.subnet(ctx).is_none_or(|s| s.offer_lifetime > 0);
            if let (true, Some(addr)) = (held, ctx.requested) {
                let client = ctx.client_key(env.cfg.match_client_id);
                env.leases.release_offers4(&client, addr, env.now).await?;
            }
            return Ok(Reply::Drop(DropReason::NotForUs));
        }
    }
    let Some(selected) = env.subnet(ctx) else {
        return Ok(Reply::Drop(DropReason::NoSubnet));
    };
    let init_reboot = ctx.server_id.is_none() && ctx.msg.ciaddr().is_unspecified();
    let Some(addr) = ctx.wanted_address() else {
        return Ok(Reply::Drop(DropReason::Malformed));
    };
    let choices = subnet::choices(env.cfg, selected, ctx);
    let client = ctx.key_in(selected);
    if !choices.iter().any(|c| c.subnet.prefix.contains(&addr)) {
        // RFC 2131 §4.3.2: the client is on the wrong network; tell it.
        return Ok(nak(ctx));
    }
    let reserved = ctx.host.as_ref().and_then(|h| h.address);
    if ctx.address_taken || reserved.is_some_and(|r| r != addr && selected.prefix.contains(&r)) {
        // Reserved for someone else, or this client has a different reservation:
        // NAK so the client comes back through DISCOVER to the right address.
        return Ok(nak(ctx));
    }
    let permitted = reserved == Some(addr) || alloc::locate(&choices, addr).is_some();
    if !permitted {
        // On this link but not in a pool the client may use.
        return Ok(nak_or_silence(ctx, selected, init_reboot));
    }
    if init_reboot {
        // RFC 2131: a server with no record of this client stays silent unless authoritative.
        match env.leases.lease4_by_address(addr).await? {
            Some(l) if client.owns(&l) && !l.state.is_free() => {}
            Some(_) => return Ok(nak(ctx)),
            None => return Ok(nak_or_silence(ctx, selected, true)),
        }
    }
    let template = Template {
        cfg: env.cfg,
        ctx,
        state: LeaseState::Default,
        now: env.now,
        hold: None,
    };
    let (subnet, pool) = match alloc::locate(&choices, addr) {
        Some((c, p)) => (c.subnet, Some(p)),
        None => (selected, None),
    };
    let lease = template_lease(&template, subnet, pool, addr);
    match env.leases.claim4(&lease, &client, env.now).await? {
        Some(lease) => {
            debug!(address = %lease.address, subnet = lease.subnet_id, "acknowledged");
            Ok(lease_reply(
                env,
                ctx,
                MessageType::Ack,
                subnet,
                pool,
                &lease,
            ))
        }
        None => Ok(nak(ctx)),
    }
}

fn template_lease(
    t: &Template<'_>,
    subnet: &Subnet4,
    pool: Option<&Pool4>,
    addr: Ipv4Addr,
) -> Lease4 {
    use crate::alloc::LeaseTemplate;
    let fallback = Pool4 {
        start: addr,
        end: addr,
        pool_id: 0,
        client_classes: Vec::new(),
        require_client_classes: Vec::new(),
        option_data: Vec::new(),
    };
    t.lease_for(subnet, pool.unwrap_or(&fallback), addr)
}

fn nak_or_silence(ctx: &Ctx, subnet: &Subnet4, silent_unless_authoritative: bool) -> Reply {
    if silent_unless_authoritative && !subnet.authoritative {
        Reply::Drop(DropReason::NotForUs)
    } else {
        nak(ctx)
    }
}

fn nak(ctx: &Ctx) -> Reply {
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
    boot_fields(env, ctx, subnet, &mut m);
    lease_options(&mut m, subnet, lease.valid_lifetime);
    if let Some(name) = ctx.host.as_ref().and_then(|h| h.hostname.as_ref()) {
        if ctx.hostname.is_some() || ctx.prl.contains(&12) {
            m.opts_mut().insert(DhcpOption::Hostname(name.clone()));
        }
    }
    let host_opts = ctx.host.as_ref().map_or(&[][..], |h| &h.options[..]);
    let classes = with_pool_classes(env, ctx, pool);
    let merged = options::configured(env.cfg, Some(subnet), pool, host_opts, &classes);
    add_options(&mut m, options::select(&merged, ctx));
    send(ctx, m, kind)
}

/// The client's classes plus the pool's required (`require-client-classes`) ones.
pub(super) fn with_pool_classes(env: &Env<'_>, ctx: &Ctx, pool: Option<&Pool4>) -> Vec<String> {
    match pool {
        Some(p) if !p.require_client_classes.is_empty() => env.classes.evaluate_required(
            ctx,
            ctx.len,
            ctx.host.is_some(),
            &p.require_client_classes,
        ),
        _ => ctx.classes.clone(),
    }
}

/// siaddr / sname / file: reservation > class > subnet (Kea's precedence).
pub(super) fn boot_fields(env: &Env<'_>, ctx: &Ctx, subnet: &Subnet4, m: &mut v4::Message) {
    let classes: Vec<_> = env
        .cfg
        .client_classes
        .iter()
        .filter(|c| ctx.in_class(&c.name))
        .collect();
    let host = ctx.host.as_ref();
    let next = host
        .and_then(|h| h.next_server)
        .or_else(|| classes.iter().find_map(|c| c.next_server))
        .or(subnet.next_server);
    let sname = host
        .and_then(|h| h.server_hostname.clone())
        .or_else(|| classes.iter().find_map(|c| c.server_hostname.clone()))
        .or_else(|| subnet.server_hostname.clone());
    let file = host
        .and_then(|h| h.boot_file_name.clone())
        .or_else(|| classes.iter().find_map(|c| c.boot_file_name.clone()))
        .or_else(|| subnet.boot_file_name.clone());
    if let Some(ns) = next {
        m.set_siaddr(ns);
    }
    if let Some(s) = sname {
        m.set_sname_str(s);
    }
    if let Some(f) = file {
        m.set_fname_str(f);
    }
}
