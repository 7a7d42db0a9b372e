//! RELEASE: the client gives its address back; no reply is sent.

use super::{Ctx, Env, HandlerResult};
use crate::dhcp::{DropReason, Reply};

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let addr = ctx.msg.ciaddr();
    if addr.is_unspecified() {
        return Ok(Reply::Drop(DropReason::Malformed));
    }
    let client = ctx.client_key(env.cfg.match_client_id);
    if env.leases.release4(addr, &client, env.now).await? {
        tracing::debug!(address = %addr, "released");
        Ok(Reply::Done)
    } else {
        Ok(Reply::Drop(DropReason::NotOwner))
    }
}
