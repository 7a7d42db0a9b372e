//! DISCOVER → OFFER. The offered address is held in the database (state `offered`) for
//! offer-lifetime, so a sibling front-end cannot offer it to someone else meanwhile.

use dhcproto::v4::{DhcpOption, MessageType};
use tracing::debug;

use super::{subnet, Ctx, Env, HandlerResult, Template};
use crate::alloc;
use crate::dhcp::{DropReason, Reply};
use crate::store::LeaseState;

/// Offer hold when offer-lifetime is 0 (Kea's "not persisted"): long enough for the
/// client's REQUEST, short enough not to waste addresses.
const DEFAULT_OFFER_HOLD: u32 = 10;

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let Some(selected) = subnet::select(env.cfg, ctx) else {
        return Ok(Reply::Drop(DropReason::NoSubnet));
    };
    let choices = subnet::choices(env.cfg, selected, ctx);
    let hold = match selected.offer_lifetime {
        0 => DEFAULT_OFFER_HOLD,
        n => n,
    };
    let template = Template {
        ctx,
        state: LeaseState::Offered,
        now: env.now,
        hold: Some(hold),
    };
    let client = ctx.client_key(selected.match_client_id);
    let Some(lease) = alloc::allocate(
        env.leases,
        &template,
        &client,
        &choices,
        ctx.requested,
        env.now,
    )
    .await?
    else {
        return Ok(Reply::Drop(DropReason::PoolExhausted));
    };
    debug!(address = %lease.address, subnet = lease.subnet_id, "offering");
    let (choice, pool) = alloc::locate(&choices, lease.address)
        .map(|(c, p)| (c.subnet, p))
        .unwrap_or((selected, &selected.pools[0]));
    Ok(super::request::lease_reply(
        env,
        ctx,
        MessageType::Offer,
        choice,
        Some(pool),
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
