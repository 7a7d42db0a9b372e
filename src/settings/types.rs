//! Validated runtime configuration types (what the DHCP engine reads).
//!
//! Everything here is already checked: addresses parse, pools lie inside their
//! subnets, option payloads are encoded to wire bytes, and per-subnet values are
//! resolved through the subnet > shared-network > global inheritance chain.

use std::net::Ipv4Addr;

use crate::store::{IdentifierType, PoolRange};

pub use super::database::DatabaseConfig;
pub use super::ha::{HaConfig, HaMode, HaPeer, HaRole, HookLibrary};
pub use super::service::{
    AuthClient, BasicAuth, ConfigControl, ControlSocket, ControlSocketType,
    ExpiredLeasesProcessing, Logger, MultiThreading, Severity,
};

/// The `Dhcp4` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Dhcp4Config {
    /// `interfaces-config`.
    pub interfaces: InterfacesConfig,
    /// `lease-database`; default SQLite at `/var/lib/shoal/leases4.sqlite`.
    pub lease_database: DatabaseConfig,
    /// `hosts-database` (one) or `hosts-databases` (list).
    pub hosts_databases: Vec<DatabaseConfig>,
    /// Neither key given: reservations are also looked up in the lease database's own
    /// `hosts` table. False with `"hosts-databases": []`: no database reservations at all
    /// (no look-up per packet), only those in this file.
    pub hosts_in_lease_db: bool,
    /// Global `valid-lifetime` / `min-valid-lifetime` / `max-valid-lifetime`.
    pub valid_lifetime: Lifetimes,
    /// Global T1/T2 settings.
    pub timers: Timers,
    /// Seconds an OFFER holds its address (`offer-lifetime`, default 60; 0 = not written, as in Kea).
    pub offer_lifetime: u32,
    /// `decline-probation-period` (default 86400 s).
    pub decline_probation_period: u32,
    /// `match-client-id` (default true).
    pub match_client_id: bool,
    /// `authoritative` (default false).
    pub authoritative: bool,
    /// Global `option-data`.
    pub option_data: Vec<OptionData>,
    /// `option-def`.
    pub option_defs: Vec<OptionDef>,
    /// All subnets, including those inside shared networks, inheritance resolved.
    pub subnets: Vec<Subnet4>,
    /// `shared-networks`.
    pub shared_networks: Vec<SharedNetwork4>,
    /// `client-classes`, in file order (evaluation order).
    pub client_classes: Vec<ClientClassDef>,
    /// Global `reservations`.
    pub reservations: Vec<Reservation>,
    /// Global reservation flags.
    pub reservation_modes: ReservationModes,
    /// `host-reservation-identifiers` (lookup order).
    pub host_reservation_identifiers: Vec<IdentifierType>,
    /// `expired-leases-processing`.
    pub expired_leases_processing: ExpiredLeasesProcessing,
    /// `server-tag`.
    pub server_tag: Option<String>,
    /// `config-control`.
    pub config_control: Option<ConfigControl>,
    /// `control-socket` and `control-sockets`.
    pub control_sockets: Vec<ControlSocket>,
    /// `loggers`.
    pub loggers: Vec<Logger>,
    /// `hooks-libraries` (none is loaded; recognised ones configure built-in features).
    pub hooks_libraries: Vec<HookLibrary>,
    /// HA parameters from the `libdhcp_ha.so` entry.
    pub ha: Option<HaConfig>,
    /// The flex-id identifier expression from the `libdhcp_flex_id.so` entry
    /// (`parameters.identifier-expression`), evaluated per packet for `flex-id`
    /// reservations.
    pub flex_id_expression: Option<String>,
    /// `multi-threading`.
    pub multi_threading: MultiThreading,
}

impl Dhcp4Config {
    /// The subnet with this id.
    pub fn subnet(&self, id: u32) -> Option<&Subnet4> {
        self.subnets.iter().find(|s| s.id == id)
    }

    /// Every pool of every subnet (start, end, subnet id, pool id).
    pub fn pools(&self) -> Vec<PoolRange> {
        self.subnets
            .iter()
            .flat_map(|s| {
                s.pools.iter().map(move |p| PoolRange {
                    start: p.start,
                    end: p.end,
                    subnet_id: s.id,
                    pool_id: p.pool_id,
                })
            })
            .collect()
    }
}

/// `interfaces-config`.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfacesConfig {
    /// Interfaces to listen on.
    pub interfaces: Vec<InterfaceSpec>,
    /// `dhcp-socket-type` (default raw, as Kea).
    pub socket_type: SocketType,
    /// `re-detect` (default true).
    pub re_detect: bool,
}

/// One `interfaces` entry: `eth0`, `eth0/192.0.2.1` or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    /// Interface name; `*` means all.
    pub name: String,
    /// Address to bind on that interface.
    pub address: Option<Ipv4Addr>,
}

/// `dhcp-socket-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    /// Raw sockets (can answer clients without an address by unicast).
    Raw,
    /// Plain UDP sockets.
    Udp,
}

/// Lease lifetime bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// `valid-lifetime` (Kea default 7200).
    pub default: u32,
    /// `min-valid-lifetime` (defaults to `valid-lifetime`).
    pub min: u32,
    /// `max-valid-lifetime` (defaults to `valid-lifetime`).
    pub max: u32,
}

impl Lifetimes {
    /// Same value for default, min and max.
    pub fn fixed(secs: u32) -> Self {
        Self {
            default: secs,
            min: secs,
            max: secs,
        }
    }

    /// The lifetime to grant: the client's request (option 51) clamped to `[min, max]`,
    /// or `default` when it asked for nothing.
    pub fn clamp(&self, requested: Option<u32>) -> u32 {
        match requested {
            None => self.default,
            Some(r) => r.clamp(self.min, self.max.max(self.min)),
        }
    }
}

/// T1/T2 settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timers {
    /// `renew-timer` (T1, option 58).
    pub renew_timer: Option<u32>,
    /// `rebind-timer` (T2, option 59).
    pub rebind_timer: Option<u32>,
    /// `calculate-tee-times` (default false in DHCPv4).
    pub calculate_tee_times: bool,
    /// `t1-percent` (default 0.5).
    pub t1_percent: f64,
    /// `t2-percent` (default 0.875).
    pub t2_percent: f64,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            renew_timer: None,
            rebind_timer: None,
            calculate_tee_times: false,
            t1_percent: 0.5,
            t2_percent: 0.875,
        }
    }
}

impl Timers {
    /// (T1, T2) for a lease of `valid` seconds, Kea semantics: explicit timers win;
    /// otherwise, with `calculate-tee-times`, percentages of `valid` (rounded).
    /// T2 ≥ valid is omitted; T1 ≥ valid or T1 ≥ T2 is omitted.
    pub fn t1_t2(&self, valid: u32) -> (Option<u32>, Option<u32>) {
        let pct = |p: f64| (f64::from(valid) * p).round() as u32;
        let t2 = self
            .rebind_timer
            .or_else(|| self.calculate_tee_times.then(|| pct(self.t2_percent)))
            .filter(|t2| *t2 < valid);
        let t1 = self
            .renew_timer
            .or_else(|| self.calculate_tee_times.then(|| pct(self.t1_percent)))
            .filter(|t1| *t1 < valid && t2.is_none_or(|t2| *t1 < t2));
        (t1, t2)
    }
}

/// A `subnet4` entry with inherited values resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet4 {
    /// Subnet id (explicit, or assigned in file order like Kea when absent).
    pub id: u32,
    /// `subnet` prefix.
    pub prefix: ipnet::Ipv4Net,
    /// Address pools.
    pub pools: Vec<Pool4>,
    /// This subnet's own `option-data`. The engine layers options as Kea does:
    /// reservation > pool > subnet > shared network > client class > global.
    pub option_data: Vec<OptionData>,
    /// `relay.ip-addresses` (or legacy `relay.ip-address`), inherited from the shared network.
    pub relay_addresses: Vec<Ipv4Addr>,
    /// `interface`, inherited from the shared network.
    pub interface: Option<String>,
    /// Admission classes (`client-class` / `client-classes`), inherited.
    pub client_classes: Vec<String>,
    /// `require-client-classes` / `evaluate-additional-classes`.
    pub require_client_classes: Vec<String>,
    /// Resolved lifetimes.
    pub valid_lifetime: Lifetimes,
    /// Resolved timers.
    pub timers: Timers,
    /// Resolved `match-client-id`.
    pub match_client_id: bool,
    /// Resolved `authoritative`.
    pub authoritative: bool,
    /// Reservations in this subnet.
    pub reservations: Vec<Reservation>,
    /// Resolved reservation flags.
    pub reservation_modes: ReservationModes,
    /// Name of the shared network holding this subnet.
    pub shared_network: Option<String>,
    /// Resolved `next-server` (siaddr).
    pub next_server: Option<Ipv4Addr>,
    /// Resolved `server-hostname` (sname).
    pub server_hostname: Option<String>,
    /// Resolved `boot-file-name` (file).
    pub boot_file_name: Option<String>,
    /// Resolved `offer-lifetime`.
    pub offer_lifetime: u32,
    /// `user-context`.
    pub user_context: Option<serde_json::Value>,
}

/// A `pools` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool4 {
    /// First address.
    pub start: Ipv4Addr,
    /// Last address (inclusive).
    pub end: Ipv4Addr,
    /// Kea `pool-id` (default 0).
    pub pool_id: u32,
    /// Classes allowed to use the pool (empty = everyone).
    pub client_classes: Vec<String>,
    /// `require-client-classes` / `evaluate-additional-classes`.
    pub require_client_classes: Vec<String>,
    /// Pool-level `option-data`.
    pub option_data: Vec<OptionData>,
}

/// A `shared-networks` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedNetwork4 {
    /// Network name.
    pub name: String,
    /// Ids of its subnets.
    pub subnet_ids: Vec<u32>,
    /// `interface`.
    pub interface: Option<String>,
    /// `relay.ip-addresses`.
    pub relay_addresses: Vec<Ipv4Addr>,
    /// Network-level `option-data`.
    pub option_data: Vec<OptionData>,
    /// Admission classes.
    pub client_classes: Vec<String>,
}

/// One option value, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionData {
    /// Option code.
    pub code: u8,
    /// Option name when known.
    pub name: Option<String>,
    /// Option space (`dhcp4` for standard options).
    pub space: String,
    /// Payload in wire format (without code and length).
    pub data: Vec<u8>,
    /// `always-send`.
    pub always_send: bool,
    /// `never-send`.
    pub never_send: bool,
}

/// An `option-def` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef {
    /// Name.
    pub name: String,
    /// Code.
    pub code: u8,
    /// Space (default `dhcp4`).
    pub space: String,
    /// Kea type name (`uint8`, `ipv4-address`, `record`, …).
    pub option_type: String,
    /// `array`.
    pub array: bool,
    /// `record-types`, split.
    pub record_types: Vec<String>,
    /// `encapsulate`.
    pub encapsulate: Option<String>,
}

/// A `client-classes` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientClassDef {
    /// Name.
    pub name: String,
    /// Raw `test` expression text.
    pub test: Option<String>,
    /// `only-if-required` / `only-in-additional-list`.
    pub only_if_required: bool,
    /// Class `option-data`.
    pub option_data: Vec<OptionData>,
    /// `next-server`.
    pub next_server: Option<Ipv4Addr>,
    /// `server-hostname`.
    pub server_hostname: Option<String>,
    /// `boot-file-name`.
    pub boot_file_name: Option<String>,
    /// Class lifetimes when `valid-lifetime` (or min/max) is set.
    pub valid_lifetime: Option<Lifetimes>,
}

/// A host reservation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// Which identifier.
    pub identifier_type: IdentifierType,
    /// Identifier bytes.
    pub identifier: Vec<u8>,
    /// Reserved address.
    pub ip_address: Option<Ipv4Addr>,
    /// Reserved hostname.
    pub hostname: Option<String>,
    /// Classes assigned to the host.
    pub client_classes: Vec<String>,
    /// Host `option-data`.
    pub option_data: Vec<OptionData>,
    /// siaddr.
    pub next_server: Option<Ipv4Addr>,
    /// sname.
    pub server_hostname: Option<String>,
    /// file.
    pub boot_file_name: Option<String>,
}

/// `reservations-global` / `-in-subnet` / `-out-of-pool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationModes {
    /// Look up global reservations (default false).
    pub global: bool,
    /// Look up subnet reservations (default true).
    pub in_subnet: bool,
    /// Reserved addresses are all outside pools (default false).
    pub out_of_pool: bool,
}

impl Default for ReservationModes {
    fn default() -> Self {
        Self {
            global: false,
            in_subnet: true,
            out_of_pool: false,
        }
    }
}
