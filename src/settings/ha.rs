//! `hooks-libraries`: no library is ever loaded. Kea's `libdhcp_ha.so` entry carries
//! the HA parameters (read exactly as Kea writes them); `libdhcp_lease_cmds.so`,
//! `libdhcp_pgsql.so` and `libdhcp_mysql.so` are built in and accepted; anything else
//! is refused as not supported.

use serde_json::Value;

use super::reader::{Obj, Problems, Schema};
use super::schema;

/// A `hooks-libraries` entry (recorded, never loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct HookLibrary {
    /// `library` path as written.
    pub library: String,
    /// `parameters` as written (`null` when absent).
    pub parameters: Value,
}

/// HA mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaMode {
    /// `load-balancing`.
    LoadBalancing,
    /// `hot-standby`.
    HotStandby,
    /// `passive-backup`.
    PassiveBackup,
}

/// HA peer role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaRole {
    /// `primary`.
    Primary,
    /// `secondary` (load-balancing).
    Secondary,
    /// `standby` (hot-standby).
    Standby,
    /// `backup`.
    Backup,
}

/// One HA relationship (`high-availability[0]`), Kea defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct HaConfig {
    /// `this-server-name` (matches a peer).
    pub this_server_name: String,
    /// `mode`.
    pub mode: HaMode,
    /// `heartbeat-delay` ms (10000).
    pub heartbeat_delay: u32,
    /// `max-response-delay` ms (60000).
    pub max_response_delay: u32,
    /// `max-ack-delay` ms (10000).
    pub max_ack_delay: u32,
    /// `max-unacked-clients` (10).
    pub max_unacked_clients: u32,
    /// `max-rejected-lease-updates` (10).
    pub max_rejected_lease_updates: u32,
    /// `send-lease-updates` (true).
    pub send_lease_updates: bool,
    /// `sync-leases` (true).
    pub sync_leases: bool,
    /// `sync-timeout` ms (60000).
    pub sync_timeout: u32,
    /// `sync-page-limit` (10000).
    pub sync_page_limit: u32,
    /// `delayed-updates-limit` (100 in load-balancing, else 0).
    pub delayed_updates_limit: u32,
    /// `wait-backup-ack` (false).
    pub wait_backup_ack: bool,
    /// `peers`.
    pub peers: Vec<HaPeer>,
}

/// An HA peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaPeer {
    /// `name`.
    pub name: String,
    /// `url` of its control API.
    pub url: String,
    /// `role`.
    pub role: HaRole,
    /// `auto-failover` (true).
    pub auto_failover: bool,
    /// `basic-auth-user`.
    pub basic_auth_user: Option<String>,
    /// `basic-auth-password`.
    pub basic_auth_password: Option<String>,
}

/// Libraries that are built into shoal and need nothing.
const BUILT_IN: [&str; 3] = [
    "libdhcp_lease_cmds.so",
    "libdhcp_pgsql.so",
    "libdhcp_mysql.so",
];

/// What `hooks-libraries` configures.
pub(crate) struct Hooks {
    pub libs: Vec<HookLibrary>,
    pub ha: Option<HaConfig>,
    pub flex_id_expression: Option<String>,
}

/// Read `hooks-libraries`: the list as written, plus HA when `libdhcp_ha.so` is present
/// and the flex-id expression when `libdhcp_flex_id.so` is.
pub(crate) fn read_hooks(items: Vec<(String, &Value)>, p: &mut Problems) -> Hooks {
    let mut libs = Vec::new();
    let mut ha = None;
    let mut flex_id_expression = None;
    for (path, v) in items {
        let Some(o) = Obj::new(v, &path, &schema::HOOK, p) else {
            continue;
        };
        let Some(library) = o.name("library", p) else {
            if !o.has("library") {
                p.add(o.at("library"), "is required");
            }
            continue;
        };
        let parameters = o.get("parameters").cloned().unwrap_or(Value::Null);
        let file = library.rsplit('/').next().unwrap_or(&library);
        if file == "libdhcp_ha.so" {
            if ha.is_some() {
                p.add(o.at("library"), "libdhcp_ha.so is listed twice");
            }
            ha = read_ha_parameters(&o, p);
        } else if file == "libdhcp_flex_id.so" {
            flex_id_expression = read_flex_id_parameters(&o, p);
        } else if !BUILT_IN.contains(&file) {
            p.add(
                o.at("library"),
                format!("not supported: hook library {file:?} (shoal loads no libraries; built in: libdhcp_ha.so, libdhcp_flex_id.so, {})", BUILT_IN.join(", ")),
            );
        }
        libs.push(HookLibrary {
            library,
            parameters,
        });
    }
    Hooks {
        libs,
        ha,
        flex_id_expression,
    }
}

/// `libdhcp_flex_id.so` parameters: `identifier-expression` (Kea's expression language,
/// parsed here so an error points at its column); `replace-client-id: true` is refused.
fn read_flex_id_parameters(o: &Obj<'_>, p: &mut Problems) -> Option<String> {
    const PARAMS: Schema = Schema {
        known: &["identifier-expression", "replace-client-id", "ignore-iaid"],
        refused: &[],
    };
    let Some(params) = o.obj("parameters", &PARAMS, p) else {
        p.add(
            o.at("parameters"),
            "libdhcp_flex_id.so needs parameters.identifier-expression",
        );
        return None;
    };
    if params.bool("replace-client-id", p) == Some(true) {
        p.add(
            params.at("replace-client-id"),
            "not supported: shoal keeps the client's own client identifier",
        );
    }
    let Some(expr) = params.name("identifier-expression", p) else {
        p.add(params.at("identifier-expression"), "is required");
        return None;
    };
    if let Err(e) = crate::classify::ValueExpression::parse(&expr) {
        p.add(params.at("identifier-expression"), e.to_string());
        return None;
    }
    Some(expr)
}

fn read_ha_parameters(o: &Obj<'_>, p: &mut Problems) -> Option<HaConfig> {
    const PARAMS: Schema = Schema {
        known: &["high-availability"],
        refused: &[],
    };
    let Some(params) = o.obj("parameters", &PARAMS, p) else {
        p.add(
            o.at("parameters"),
            "libdhcp_ha.so needs parameters.high-availability",
        );
        return None;
    };
    let rels = params.list("high-availability", p);
    if rels.is_empty() {
        p.add(
            params.at("high-availability"),
            "needs exactly one relationship",
        );
        return None;
    }
    if rels.len() > 1 {
        p.add(
            params.at("high-availability"),
            "not supported: more than one HA relationship (hub-and-spoke)",
        );
    }
    let (path, v) = rels.into_iter().next()?;
    read_relationship(Obj::new(v, &path, &schema::HA, p)?, p)
}

fn read_relationship(o: Obj<'_>, p: &mut Problems) -> Option<HaConfig> {
    let mode = match o.string("mode", p).as_deref() {
        Some("load-balancing") => Some(HaMode::LoadBalancing),
        Some("hot-standby") => Some(HaMode::HotStandby),
        Some("passive-backup") => Some(HaMode::PassiveBackup),
        Some(other) => {
            p.add(
                o.at("mode"),
                format!("{other:?} is not one of load-balancing, hot-standby, passive-backup"),
            );
            None
        }
        None => {
            p.add(o.at("mode"), "is required");
            None
        }
    };
    let this = o.name("this-server-name", p);
    if !o.has("this-server-name") {
        p.add(o.at("this-server-name"), "is required");
    }
    let mut peers = Vec::new();
    for (path, v) in o.list("peers", p) {
        if let Some(peer) = Obj::new(v, &path, &schema::HA_PEER, p).and_then(|po| read_peer(po, p))
        {
            peers.push(peer);
        }
    }
    let (mode, this) = (mode?, this?);
    check_peers(&o, mode, &this, &peers, p);
    let lb = mode == HaMode::LoadBalancing;
    let u = |key: &str, default: u32, p: &mut Problems| o.u32(key, p).unwrap_or(default);
    Some(HaConfig {
        this_server_name: this,
        mode,
        heartbeat_delay: u("heartbeat-delay", 10_000, p),
        max_response_delay: u("max-response-delay", 60_000, p),
        max_ack_delay: u("max-ack-delay", 10_000, p),
        max_unacked_clients: u("max-unacked-clients", 10, p),
        max_rejected_lease_updates: u("max-rejected-lease-updates", 10, p),
        send_lease_updates: o.bool("send-lease-updates", p).unwrap_or(true),
        sync_leases: o.bool("sync-leases", p).unwrap_or(true),
        sync_timeout: u("sync-timeout", 60_000, p),
        sync_page_limit: u("sync-page-limit", 10_000, p),
        delayed_updates_limit: u("delayed-updates-limit", if lb { 100 } else { 0 }, p),
        wait_backup_ack: o.bool("wait-backup-ack", p).unwrap_or(false),
        peers,
    })
}

fn read_peer(o: Obj<'_>, p: &mut Problems) -> Option<HaPeer> {
    for key in ["name", "url", "role"] {
        if !o.has(key) {
            p.add(o.at(key), "is required");
        }
    }
    let role = match o.string("role", p).as_deref() {
        Some("primary") => Some(HaRole::Primary),
        Some("secondary") => Some(HaRole::Secondary),
        Some("standby") => Some(HaRole::Standby),
        Some("backup") => Some(HaRole::Backup),
        Some(other) => {
            p.add(
                o.at("role"),
                format!("{other:?} is not one of primary, secondary, standby, backup"),
            );
            None
        }
        None => None,
    };
    let url = o.name("url", p);
    if let Some(u) = &url {
        if !u.starts_with("http://") {
            let why = if u.starts_with("https://") {
                "not supported: https between peers"
            } else {
                "must be an http:// URL"
            };
            p.add(o.at("url"), why);
        }
    }
    Some(HaPeer {
        name: o.name("name", p)?,
        url: url?,
        role: role?,
        auto_failover: o.bool("auto-failover", p).unwrap_or(true),
        basic_auth_user: o.string("basic-auth-user", p),
        basic_auth_password: o.string("basic-auth-password", p),
    })
}

/// Kea's rules: this server is a peer; names are unique; roles fit the mode.
fn check_peers(o: &Obj<'_>, mode: HaMode, this: &str, peers: &[HaPeer], p: &mut Problems) {
    let at = o.at("peers");
    if !peers.iter().any(|x| x.name == this) {
        p.add(
            o.at("this-server-name"),
            format!("{this:?} is not the name of any peer"),
        );
    }
    for (i, x) in peers.iter().enumerate() {
        if peers[..i].iter().any(|y| y.name == x.name) {
            p.add(
                format!("{at}[{i}].name"),
                format!("duplicate peer name {:?}", x.name),
            );
        }
    }
    let count = |r: HaRole| peers.iter().filter(|x| x.role == r).count();
    let (need, other) = match mode {
        HaMode::LoadBalancing => (HaRole::Secondary, HaRole::Standby),
        HaMode::HotStandby => (HaRole::Standby, HaRole::Secondary),
        HaMode::PassiveBackup => (HaRole::Backup, HaRole::Secondary),
    };
    if count(HaRole::Primary) != 1 {
        p.add(&at, "needs exactly one primary peer");
    }
    if mode != HaMode::PassiveBackup && count(need) != 1 {
        p.add(
            &at,
            format!("{mode:?} needs exactly one {need:?} peer").to_lowercase(),
        );
    }
    if count(other) > 0 || (mode == HaMode::PassiveBackup && count(HaRole::Standby) > 0) {
        p.add(
            &at,
            format!("role {other:?} is not valid in {mode:?} mode").to_lowercase(),
        );
    }
}
