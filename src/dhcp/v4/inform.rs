//! INFORM → ACK with configuration options and no lease (RFC 2131 §3.4).

use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use super::{add_options, options, reply_to, send, Ctx, Env, HandlerResult};
use crate::dhcp::{DropReason, Reply};

pub(super) async fn handle(env: &Env<'_>, ctx: &Ctx) -> HandlerResult {
    let Some(selected) = env.subnet(ctx) else {
        return Ok(Reply::Drop(DropReason::NoSubnet));
    };
    let server_id = ctx.meta.server_addr().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut m = reply_to(ctx, MessageType::Ack, server_id);
    m.set_ciaddr(ctx.msg.ciaddr());
    m.opts_mut().insert(dhcproto::v4::DhcpOption::SubnetMask(
        selected.prefix.netmask(),
    ));
    let pool = selected
        .pools
        .iter()
        .find(|p| (p.start..=p.end).contains(&ctx.msg.ciaddr()));
    super::request::boot_fields(env, ctx, selected, &mut m);
    let host_opts = ctx.host.as_ref().map_or(&[][..], |h| &h.options[..]);
    let classes = super::request::with_pool_classes(env, ctx, pool);
    let merged = options::configured(env.cfg, Some(selected), pool, host_opts, &classes);
    add_options(&mut m, options::select(&merged, ctx));
    Ok(send(ctx, m, MessageType::Ack))
}
