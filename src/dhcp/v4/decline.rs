//! DECLINE: the client found its address in use; it waits decline-probation-period
//! before anyone gets it again. No reply is sent.

use super::{Ctx, Env, HandlerResult};
use crate::dhcp::{DropReason, Reply};

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let Some(addr) = ctx.requested else {
        return Ok(Reply::Drop(DropReason::Malformed));
    };
    let client = ctx.client_key(env.cfg.match_client_id);
    let probation = env.cfg.decline_probation_period;
    if env
        .leases
        .decline4(addr, &client, probation, env.now)
        .await?
    {
        tracing::info!(address = %addr, probation, "address declined");
        Ok(Reply::Done)
    } else {
        Ok(Reply::Drop(DropReason::NotOwner))
    }
}
