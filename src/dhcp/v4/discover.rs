//! DISCOVER → OFFER. With a non-zero offer-lifetime the offered address is held in the
//! database (state `offered`) for that long, so a sibling front-end cannot offer it to
//! someone else meanwhile. With `offer-lifetime: 0` (Kea's default) nothing is written:
//! the address is picked by reading only, and the REQUEST's claim is the one write.

use dhcproto::v4::{DhcpOption, MessageType};
use tracing::debug;

use super::{subnet, Ctx, Env, Guard, HandlerResult, Template};
use crate::alloc::{self, AllocRequest};
use crate::dhcp::{DropReason, Reply};
use crate::store::LeaseState;

/// How long a DISCOVER's host look-up is kept for its REQUEST when the offer is not held
/// in the database (offer-lifetime 0).
const UNHELD_OFFER_MEMORY: u32 = 10;

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let Some(selected) = env.subnet(ctx) else {
        return Ok(Reply::Drop(DropReason::NoSubnet));
    };
    let choices = subnet::choices(env.cfg, selected, ctx);
    let held = selected.offer_lifetime > 0;
    let hold = if held {
        selected.offer_lifetime
    } else {
        UNHELD_OFFER_MEMORY
    };
    let template = Template {
        cfg: env.cfg,
        ctx,
        state: LeaseState::Offered,
        now: env.now,
        hold: Some(hold),
    };
    let client = ctx.key_in(selected);
    let req = AllocRequest {
        client: &client,
        choices: &choices,
        requested: ctx.requested,
        reserved: ctx.host.as_ref().and_then(|h| h.address),
        now: env.now,
    };
    let guard = Guard { env, ctx };
    let got = if held {
        alloc::allocate(&alloc::Hold(env.leases), &template, &guard, &req).await?
    } else {
        alloc::allocate(&alloc::Peek(env.leases), &template, &guard, &req).await?
    };
    let Some(lease) = got else {
        return Ok(Reply::Drop(DropReason::PoolExhausted));
    };
    debug!(address = %lease.address, subnet = lease.subnet_id, "offering");
    if lease.state == LeaseState::Offered {
        // An offer picked now was checked against reservations (by the free-list pick
        // or the guard); a returned active lease is checked again at REQUEST.
        env.txns.offered(
            ctx.txn_key(),
            env.now,
            hold,
            lease.subnet_id,
            lease.address,
            ctx.host.clone(),
        );
    }
    let subnet = choices
        .iter()
        .map(|c| c.subnet)
        .find(|s| s.id == lease.subnet_id)
        .unwrap_or(selected);
    let pool = alloc::locate(&choices, lease.address).map(|(_, p)| p);
    Ok(super::request::lease_reply(
        env,
        ctx,
        MessageType::Offer,
        subnet,
        pool,
        &lease,
    ))
}

/// Add the lease-related options (51, 58, 59, subnet mask) to `m`.
pub(super) fn lease_options(
    m: &mut dhcproto::v4::Message,
    subnet: &crate::settings::Subnet4,
    valid: u32,
) {
    let opts = m.opts_mut();
    opts.insert(DhcpOption::AddressLeaseTime(valid));
    let (t1, t2) = subnet.timers.t1_t2(valid);
    if let Some(t1) = t1 {
        opts.insert(DhcpOption::Renewal(t1));
    }
    if let Some(t2) = t2 {
        opts.insert(DhcpOption::Rebinding(t2));
    }
    opts.insert(DhcpOption::SubnetMask(subnet.prefix.netmask()));
}
