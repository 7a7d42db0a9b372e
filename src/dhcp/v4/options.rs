//! Building a reply's options: configured option-data merged with Kea's precedence
//! (host > pool > subnet > shared network > class > global), then filtered by the
//! client's parameter request list.

use std::collections::BTreeMap;

use super::context::Ctx;
use crate::settings::{Dhcp4Config, OptionData, Pool4, Subnet4};

/// Options a server sends when configured, requested or not (as Kea does):
/// routers, domain-name-servers, domain-name.
const ALWAYS: [u8; 3] = [3, 6, 15];

/// Options set by the protocol code itself; configuration never overrides them.
const MANAGED: [u8; 9] = [0, 50, 51, 52, 53, 54, 55, 61, 82];

/// Merge the configured options that apply to this client; returns code → payload.
pub fn configured<'a>(
    cfg: &'a Dhcp4Config,
    subnet: Option<&'a Subnet4>,
    pool: Option<&'a Pool4>,
    host_options: &'a [OptionData],
    classes: &[String],
) -> BTreeMap<u8, &'a OptionData> {
    let mut merged: BTreeMap<u8, &OptionData> = BTreeMap::new();
    let mut layer = |opts: &'a [OptionData]| {
        for o in opts {
            merged.insert(o.code, o);
        }
    };
    layer(&cfg.option_data);
    for class in &cfg.client_classes {
        if classes.contains(&class.name) {
            layer(&class.option_data);
        }
    }
    if let Some(s) = subnet {
        if let Some(net) = s
            .shared_network
            .as_ref()
            .and_then(|n| cfg.shared_networks.iter().find(|sn| &sn.name == n))
        {
            layer(&net.option_data);
        }
        layer(&s.option_data);
    }
    if let Some(p) = pool {
        layer(&p.option_data);
    }
    layer(host_options);
    merged
}

/// The options to put in the reply, in code order: requested (option 55), always-send,
/// or one of the options Kea sends unasked; never-send ones and managed codes are removed.
pub fn select(merged: &BTreeMap<u8, &OptionData>, ctx: &Ctx) -> Vec<(u8, Vec<u8>)> {
    merged
        .iter()
        .filter(|(code, o)| {
            !o.never_send
                && !MANAGED.contains(code)
                && (o.always_send || ALWAYS.contains(code) || ctx.prl.contains(code))
        })
        .map(|(code, o)| (*code, o.data.clone()))
        .collect()
}
