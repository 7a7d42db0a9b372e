//! Subnet selection (Kea's order): subnet-selection option 118 (RFC 3011), the relay's
//! link-selection sub-option (RFC 3527), giaddr against `relay.ip-addresses` then against
//! subnet prefixes, ciaddr for a renewing client, and finally the receiving interface
//! (by `interface` name, then by its addresses). A subnet in a shared network brings its
//! siblings along as further candidates.

use std::net::Ipv4Addr;

use super::context::Ctx;
use crate::alloc::Choice;
use crate::settings::{Dhcp4Config, Subnet4};

fn containing(cfg: &Dhcp4Config, addr: Ipv4Addr) -> Option<&Subnet4> {
    cfg.subnets.iter().find(|s| s.prefix.contains(&addr))
}

/// The subnet the client is on, before class filtering.
pub fn select<'a>(cfg: &'a Dhcp4Config, ctx: &Ctx) -> Option<&'a Subnet4> {
    if let Some(a) = ctx.subnet_selection.or(ctx.link_selection) {
        return containing(cfg, a);
    }
    let giaddr = ctx.msg.giaddr();
    if !giaddr.is_unspecified() {
        return cfg
            .subnets
            .iter()
            .find(|s| s.relay_addresses.contains(&giaddr))
            .or_else(|| containing(cfg, giaddr));
    }
    let ciaddr = ctx.msg.ciaddr();
    if !ciaddr.is_unspecified() {
        if let Some(s) = containing(cfg, ciaddr) {
            return Some(s);
        }
    }
    if let Some(s) = cfg
        .subnets
        .iter()
        .find(|s| s.interface.as_deref() == Some(ctx.meta.iface.as_str()))
    {
        return Some(s);
    }
    ctx.meta
        .iface_addrs
        .iter()
        .find_map(|(a, _)| containing(cfg, *a))
}

/// The selected subnet and its shared-network siblings that admit the client, each
/// with the pools the client's classes permit. The selected subnet comes first.
pub fn choices<'a>(cfg: &'a Dhcp4Config, selected: &'a Subnet4, ctx: &Ctx) -> Vec<Choice<'a>> {
    let mut subnets: Vec<&Subnet4> = vec![selected];
    if let Some(net) = &selected.shared_network {
        subnets.extend(
            cfg.subnets
                .iter()
                .filter(|s| s.id != selected.id && s.shared_network.as_ref() == Some(net)),
        );
    }
    subnets
        .into_iter()
        .filter(|s| ctx.admitted(&s.client_classes))
        .map(|subnet| Choice {
            subnet,
            pools: subnet
                .pools
                .iter()
                .filter(|p| ctx.admitted(&p.client_classes))
                .collect(),
        })
        .collect()
}
