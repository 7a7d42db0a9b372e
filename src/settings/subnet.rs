//! `subnet4`, `pools` and `shared-networks` → [`Subnet4`] / [`SharedNetwork4`],
//! with inherited values resolved (subnet > shared network > global).
//!
//! Subnets without an `id` get one after all subnets are read (see
//! [`assign_ids`]), as Kea does: the next free id in file order.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::option_data::read_option_data;
use super::reader::{Obj, Problems};
use super::reservation::read_reservations;
use super::schema;
use super::scope::{Scope, DEFAULT_OFFER_LIFETIME};
use super::types::{OptionDef, Pool4, SharedNetwork4, Subnet4};

/// Where a subnet came from, for cross-checks that name paths.
#[derive(Debug, Clone)]
pub(crate) struct SubnetMeta {
    /// JSON path of the subnet.
    pub(crate) path: String,
    /// JSON path of each pool's `pool` key.
    pub(crate) pool_paths: Vec<String>,
    /// Whether `id` was written (ids 0 = not yet assigned).
    pub(crate) explicit_id: bool,
}

/// Parse `a - b` or `prefix/len`.
pub(crate) fn parse_pool(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    if let Some((a, b)) = text.split_once('-') {
        let parse = |s: &str| {
            s.trim()
                .parse::<Ipv4Addr>()
                .map_err(|_| format!("{:?} is not an IPv4 address", s.trim()))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        if a > b {
            return Err(format!("pool start {a} is after its end {b}"));
        }
        return Ok((a, b));
    }
    let net: Ipv4Net = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is neither \"first - last\" nor \"prefix/len\""))?;
    Ok((net.network(), net.broadcast()))
}

/// Read one subnet under `parent` (the resolved shared-network-over-global scope).
pub(crate) fn read_subnet(
    v: &Value,
    path: &str,
    parent: &Scope,
    network: Option<&str>,
    defs: &[OptionDef],
    p: &mut Problems,
) -> Option<(Subnet4, SubnetMeta)> {
    let o = Obj::new(v, path, &schema::SUBNET, p)?;
    let own = Scope::read(&o, p);
    let scope = own.over(parent);
    if own.sets_timing() {
        scope.check_timing(path, p);
    }
    let id = o.u32("id", p);
    if id == Some(0) {
        p.add(o.at("id"), "subnet id 0 is reserved; use 1 or more");
    }
    let prefix = read_prefix(&o, p);
    let mut pools = Vec::new();
    let mut pool_paths = Vec::new();
    for (ppath, pv) in o.list("pools", p) {
        if let Some(pool) = read_pool(pv, &ppath, prefix, defs, p) {
            pools.push(pool);
            pool_paths.push(format!("{ppath}.pool"));
        }
    }
    let reservations = read_reservations(o.list("reservations", p), defs, p);
    if let Some(net) = prefix {
        for (i, r) in reservations.iter().enumerate() {
            if let Some(ip) = r.ip_address.filter(|ip| !net.contains(ip)) {
                p.add(
                    format!("{path}.reservations[{i}].ip-address"),
                    format!("{ip} is outside subnet {net}"),
                );
            }
        }
    }
    let option_data = read_option_data(o.list("option-data", p), defs, p);
    let subnet = Subnet4 {
        id: id.unwrap_or(0),
        prefix: prefix?,
        pools,
        option_data,
        relay_addresses: scope.relay.clone().unwrap_or_default(),
        interface: scope.interface.clone(),
        client_classes: scope.classes.clone().unwrap_or_default(),
        require_client_classes: scope.required.clone().unwrap_or_default(),
        valid_lifetime: scope.lifetimes(),
        timers: scope.timers(),
        match_client_id: scope.match_client_id.unwrap_or(true),
        authoritative: scope.authoritative.unwrap_or(false),
        reservations,
        reservation_modes: scope.modes(),
        shared_network: network.map(str::to_string),
        next_server: scope.next_server,
        server_hostname: scope.server_hostname.clone(),
        boot_file_name: scope.boot_file_name.clone(),
        offer_lifetime: scope.offer.unwrap_or(DEFAULT_OFFER_LIFETIME),
        user_context: o.get("user-context").cloned(),
    };
    Some((
        subnet,
        SubnetMeta {
            path: path.to_string(),
            pool_paths,
            explicit_id: id.is_some_and(|i| i > 0),
        },
    ))
}

fn read_prefix(o: &Obj<'_>, p: &mut Problems) -> Option<Ipv4Net> {
    let Some(text) = o.string("subnet", p) else {
        if !o.has("subnet") {
            p.add(o.at("subnet"), "is required (e.g. \"192.0.2.0/24\")");
        }
        return None;
    };
    match text.trim().parse::<Ipv4Net>() {
        Ok(net) if net != net.trunc() => {
            p.add(
                o.at("subnet"),
                format!(
                    "{text:?} has host bits set; did you mean \"{}\"?",
                    net.trunc()
                ),
            );
            None
        }
        Ok(net) => Some(net),
        Err(_) => {
            p.add(
                o.at("subnet"),
                format!("{text:?} is not an IPv4 prefix (e.g. \"192.0.2.0/24\")"),
            );
            None
        }
    }
}

/// The largest pool: its addresses are rows of `free_lease4`, loaded when the pool is
/// first configured.
const MAX_POOL_SIZE: u64 = 1 << 20;

fn read_pool(
    v: &Value,
    path: &str,
    prefix: Option<Ipv4Net>,
    defs: &[OptionDef],
    p: &mut Problems,
) -> Option<Pool4> {
    let o = Obj::new(v, path, &schema::POOL, p)?;
    let range = match o.string("pool", p).map(|t| parse_pool(&t)) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            p.add(o.at("pool"), e);
            None
        }
        None => {
            if !o.has("pool") {
                p.add(
                    o.at("pool"),
                    "is required (e.g. \"192.0.2.100 - 192.0.2.199\")",
                );
            }
            None
        }
    };
    if let Some((a, b)) = range {
        let size = u64::from(u32::from(b)) - u64::from(u32::from(a)) + 1;
        if size > MAX_POOL_SIZE {
            p.add(
                o.at("pool"),
                format!(
                    "pool {a} - {b} has {size} addresses; at most {MAX_POOL_SIZE} (a /12) are \
                     supported, since every address of a pool is listed in the database's \
                     free-address table: split it"
                ),
            );
        }
    }
    if let (Some((a, b)), Some(net)) = (range, prefix) {
        if !net.contains(&a) || !net.contains(&b) {
            p.add(
                o.at("pool"),
                format!("pool {a} - {b} is not inside subnet {net}"),
            );
        }
    }
    let option_data = read_option_data(o.list("option-data", p), defs, p);
    let (start, end) = range?;
    Some(Pool4 {
        start,
        end,
        pool_id: o.u32("pool-id", p).unwrap_or(0),
        client_classes: o.classes(p).unwrap_or_default(),
        require_client_classes: o.required_classes(p).unwrap_or_default(),
        option_data,
    })
}

/// Read one shared network; its subnets are appended to `subnets`.
pub(crate) fn read_network(
    v: &Value,
    path: &str,
    global: &Scope,
    defs: &[OptionDef],
    subnets: &mut Vec<(Subnet4, SubnetMeta)>,
    p: &mut Problems,
) -> Option<SharedNetwork4> {
    let o = Obj::new(v, path, &schema::SHARED_NETWORK, p)?;
    let name = o.name("name", p);
    if !o.has("name") {
        p.add(o.at("name"), "is required");
    }
    let own = Scope::read(&o, p);
    let scope = own.over(global);
    if own.sets_timing() {
        scope.check_timing(path, p);
    }
    for (spath, sv) in o.list("subnet4", p) {
        subnets.extend(read_subnet(sv, &spath, &scope, name.as_deref(), defs, p));
    }
    Some(SharedNetwork4 {
        name: name?,
        subnet_ids: Vec::new(),
        interface: own.interface,
        relay_addresses: own.relay.unwrap_or_default(),
        option_data: read_option_data(o.list("option-data", p), defs, p),
        client_classes: own.classes.unwrap_or_default(),
    })
}

/// Give subnets without an `id` the next free id (file order), then fill in
/// each shared network's `subnet_ids`.
pub(crate) fn assign_ids(subnets: &mut [(Subnet4, SubnetMeta)], networks: &mut [SharedNetwork4]) {
    let mut next = 1u32;
    let used: Vec<u32> = subnets
        .iter()
        .filter(|(_, m)| m.explicit_id)
        .map(|(s, _)| s.id)
        .collect();
    for (s, m) in subnets.iter_mut().filter(|(_, m)| !m.explicit_id) {
        while used.contains(&next) {
            next = next.saturating_add(1);
        }
        s.id = next;
        m.explicit_id = false;
        next = next.saturating_add(1);
    }
    for n in networks {
        n.subnet_ids = subnets
            .iter()
            .filter(|(s, _)| s.shared_network.as_deref() == Some(n.name.as_str()))
            .map(|(s, _)| s.id)
            .collect();
    }
}
