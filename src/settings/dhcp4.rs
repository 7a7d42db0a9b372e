//! The `Dhcp4` map → [`Dhcp4Config`]: reads every section, resolves inheritance and
//! runs the cross-checks. All problems are collected in [`Problems`].

use serde_json::Value;

use super::classes::{check_refs, read_classes};
use super::database::{read_database, DatabaseConfig};
use super::ha::read_hooks;
use super::option_data::{read_option_data, read_option_defs};
use super::reader::{Obj, Problems};
use super::reservation::read_reservations;
use super::schema;
use super::scope::{Scope, DEFAULT_OFFER_LIFETIME};
use super::service::{
    read_config_control, read_control_socket, read_expired, read_logger, read_multi_threading,
};
use super::subnet::{assign_ids, read_network, read_subnet};
use super::types::{Dhcp4Config, InterfaceSpec, InterfacesConfig, SocketType};
use super::validate::check_subnets;
use crate::store::IdentifierType;

/// Default lease database when `lease-database` is absent.
pub const DEFAULT_LEASE_DB: &str = "/var/lib/shoal/leases4.sqlite";

/// Read and check the `Dhcp4` map at `path`.
pub(crate) fn read_dhcp4(v: &Value, path: &str, p: &mut Problems) -> Option<Dhcp4Config> {
    let o = Obj::new(v, path, &schema::DHCP4, p)?;
    check_ddns(&o, p);
    let global = Scope::read_global(&o, p);
    global.check_timing(path, p);
    let option_defs = read_option_defs(o.list("option-def", p), p);
    let defs = &option_defs;
    let client_classes = read_classes(o.list("client-classes", p), defs, p);

    let mut subnets = Vec::new();
    for (spath, sv) in o.list("subnet4", p) {
        subnets.extend(read_subnet(sv, &spath, &global, None, defs, p));
    }
    let mut shared_networks = Vec::new();
    for (npath, nv) in o.list("shared-networks", p) {
        if let Some(n) = read_network(nv, &npath, &global, defs, &mut subnets, p) {
            if shared_networks
                .iter()
                .any(|x: &super::types::SharedNetwork4| x.name == n.name)
            {
                p.add(
                    format!("{npath}.name"),
                    format!("duplicate shared network name {:?}", n.name),
                );
            }
            shared_networks.push(n);
        }
    }
    assign_ids(&mut subnets, &mut shared_networks);
    check_subnets(&subnets, p);
    for (s, m) in &subnets {
        check_refs(&s.client_classes, &m.path, &client_classes, p);
        for (pool, ppath) in s.pools.iter().zip(&m.pool_paths) {
            check_refs(
                &pool.client_classes,
                ppath.trim_end_matches(".pool"),
                &client_classes,
                p,
            );
        }
    }

    let hooks = read_hooks(o.list("hooks-libraries", p), p);
    let identifiers = read_identifiers(&o, hooks.flex_id_expression.is_some(), p);
    let offer_lifetime = global.offer.unwrap_or(DEFAULT_OFFER_LIFETIME);
    Some(Dhcp4Config {
        interfaces: read_interfaces(&o, p),
        lease_database: read_lease_db(&o, p),
        hosts_databases: read_hosts_dbs(&o, p),
        hosts_in_lease_db: !o.has("hosts-database") && !o.has("hosts-databases"),
        valid_lifetime: global.lifetimes(),
        timers: global.timers(),
        offer_lifetime,
        decline_probation_period: o.u32("decline-probation-period", p).unwrap_or(86_400),
        match_client_id: global.match_client_id.unwrap_or(true),
        authoritative: global.authoritative.unwrap_or(false),
        option_data: read_option_data(o.list("option-data", p), defs, p),
        subnets: subnets.into_iter().map(|(s, _)| s).collect(),
        shared_networks,
        client_classes,
        reservations: read_reservations(o.list("reservations", p), defs, p),
        reservation_modes: global.modes(),
        host_reservation_identifiers: identifiers,
        expired_leases_processing: read_expired(
            o.obj("expired-leases-processing", &schema::EXPIRED, p),
            p,
        ),
        server_tag: o.name("server-tag", p),
        config_control: o
            .obj("config-control", &schema::CONFIG_CONTROL, p)
            .map(|c| read_config_control(c, p)),
        control_sockets: read_control_sockets(&o, p),
        loggers: o
            .list("loggers", p)
            .into_iter()
            .filter_map(|(lp, lv)| {
                Obj::new(lv, &lp, &schema::LOGGER, p).and_then(|l| read_logger(l, p))
            })
            .collect(),
        hooks_libraries: hooks.libs,
        ha: hooks.ha,
        flex_id_expression: hooks.flex_id_expression,
        multi_threading: read_multi_threading(
            o.obj("multi-threading", &schema::MULTI_THREADING, p),
            p,
        ),
        option_defs,
    })
}

/// `dhcp-ddns` is accepted only with `enable-updates` false; `echo-client-id` only true.
fn check_ddns(o: &Obj<'_>, p: &mut Problems) {
    if let Some(d) = o.obj("dhcp-ddns", &schema::DHCP_DDNS, p) {
        if d.bool("enable-updates", p) == Some(true) {
            p.add(
                d.at("enable-updates"),
                "not supported: DNS updates (DHCP-DDNS) are not implemented",
            );
        }
    }
    if o.bool("echo-client-id", p) == Some(false) {
        p.add(
            o.at("echo-client-id"),
            "not supported: shoal always echoes the client identifier (RFC 6842)",
        );
    }
}

fn read_interfaces(o: &Obj<'_>, p: &mut Problems) -> InterfacesConfig {
    let mut cfg = InterfacesConfig {
        interfaces: Vec::new(),
        socket_type: SocketType::Raw,
        re_detect: true,
    };
    let Some(i) = o.obj("interfaces-config", &schema::INTERFACES, p) else {
        return cfg;
    };
    for (path, v) in i.list("interfaces", p) {
        let Some(text) = v.as_str().filter(|s| !s.trim().is_empty()) else {
            p.add(
                path,
                "expected an interface name (\"eth0\", \"eth0/192.0.2.1\" or \"*\")",
            );
            continue;
        };
        let (name, address) = match text.split_once('/') {
            Some((n, a)) => match a.trim().parse() {
                Ok(addr) => (n.trim(), Some(addr)),
                Err(_) => {
                    p.add(path, format!("{a:?} is not an IPv4 address"));
                    continue;
                }
            },
            None => (text.trim(), None),
        };
        cfg.interfaces.push(InterfaceSpec {
            name: name.to_string(),
            address,
        });
    }
    cfg.socket_type = match i.string("dhcp-socket-type", p).as_deref() {
        None | Some("raw") => SocketType::Raw,
        Some("udp") => SocketType::Udp,
        Some(other) => {
            p.add(
                i.at("dhcp-socket-type"),
                format!("{other:?} is not one of raw, udp"),
            );
            SocketType::Raw
        }
    };
    cfg.re_detect = i.bool("re-detect", p).unwrap_or(true);
    if let Some(out) = i.string("outbound-interface", p) {
        if out != "same-as-inbound" {
            p.add(
                i.at("outbound-interface"),
                format!("not supported: {out:?} (only same-as-inbound)"),
            );
        }
    }
    i.bool("service-sockets-require-all", p);
    i.u32("service-sockets-max-retries", p);
    i.u32("service-sockets-retry-wait-time", p);
    cfg
}

fn read_lease_db(o: &Obj<'_>, p: &mut Problems) -> DatabaseConfig {
    match o.get("lease-database") {
        Some(v) => read_database(v, &o.at("lease-database"), p),
        None => None,
    }
    .unwrap_or_else(|| DatabaseConfig::sqlite(DEFAULT_LEASE_DB))
}

fn read_hosts_dbs(o: &Obj<'_>, p: &mut Problems) -> Vec<DatabaseConfig> {
    if o.has("hosts-database") && o.has("hosts-databases") {
        p.add(
            o.at("hosts-databases"),
            "use either hosts-database or hosts-databases, not both",
        );
    }
    let mut out: Vec<DatabaseConfig> = o
        .get("hosts-database")
        .and_then(|v| read_database(v, &o.at("hosts-database"), p))
        .into_iter()
        .collect();
    for (path, v) in o.list("hosts-databases", p) {
        out.extend(read_database(v, &path, p));
    }
    out
}

fn read_identifiers(o: &Obj<'_>, flex_hook: bool, p: &mut Problems) -> Vec<IdentifierType> {
    if !o.has("host-reservation-identifiers") {
        return vec![
            IdentifierType::HwAddress,
            IdentifierType::Duid,
            IdentifierType::CircuitId,
            IdentifierType::ClientId,
        ];
    }
    let mut out = Vec::new();
    for (path, v) in o.list("host-reservation-identifiers", p) {
        match v.as_str().map(|s| (s, IdentifierType::from_name(s))) {
            Some(("flex-id", _)) if !flex_hook => p.add(
                path,
                "flex-id needs the libdhcp_flex_id.so entry in hooks-libraries (its identifier-expression)",
            ),
            Some((_, Some(t))) if !out.contains(&t) => out.push(t),
            Some((s, Some(_))) => p.add(path, format!("{s:?} is listed twice")),
            _ => p.add(
                path,
                "expected one of hw-address, duid, circuit-id, client-id, flex-id",
            ),
        }
    }
    out
}

fn read_control_sockets(o: &Obj<'_>, p: &mut Problems) -> Vec<super::types::ControlSocket> {
    let mut out = Vec::new();
    if let Some(s) = o.obj("control-socket", &schema::CONTROL_SOCKET, p) {
        out.extend(read_control_socket(s, p));
    }
    for (path, v) in o.list("control-sockets", p) {
        if let Some(s) = Obj::new(v, &path, &schema::CONTROL_SOCKET, p) {
            out.extend(read_control_socket(s, p));
        }
    }
    out
}
