//! Inheritable parameters (global → shared network → subnet) and their checks.
//!
//! A [`Scope`] holds what one level wrote (every field optional); [`Scope::over`]
//! layers a child over its parent, and the accessors apply Kea's defaults to the
//! resolved chain. Lifetimes resolve per field: an unset `min-valid-lifetime` anywhere
//! in the chain means "equal to the resolved `valid-lifetime`".

use std::net::Ipv4Addr;

use super::reader::{Obj, Problems};
use super::types::{Lifetimes, ReservationModes, Timers};

/// Kea's default `valid-lifetime`.
pub(crate) const DEFAULT_VALID_LIFETIME: u32 = 7200;
/// shoal's default `offer-lifetime`.
pub(crate) const DEFAULT_OFFER_LIFETIME: u32 = 60;

/// What one level (global, shared network, subnet) sets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) valid: Option<u32>,
    pub(crate) min: Option<u32>,
    pub(crate) max: Option<u32>,
    pub(crate) renew: Option<u32>,
    pub(crate) rebind: Option<u32>,
    pub(crate) calc: Option<bool>,
    pub(crate) t1p: Option<f64>,
    pub(crate) t2p: Option<f64>,
    pub(crate) offer: Option<u32>,
    pub(crate) match_client_id: Option<bool>,
    pub(crate) authoritative: Option<bool>,
    pub(crate) res_global: Option<bool>,
    pub(crate) res_in_subnet: Option<bool>,
    pub(crate) res_out_of_pool: Option<bool>,
    pub(crate) next_server: Option<Ipv4Addr>,
    pub(crate) server_hostname: Option<String>,
    pub(crate) boot_file_name: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) relay: Option<Vec<Ipv4Addr>>,
    pub(crate) classes: Option<Vec<String>>,
    pub(crate) required: Option<Vec<String>>,
}

fn percent(o: &Obj<'_>, key: &str, p: &mut Problems) -> Option<f64> {
    let v = o.f64(key, p)?;
    if !(v > 0.0 && v < 1.0) {
        p.add(
            o.at(key),
            format!("{v} must be greater than 0 and less than 1"),
        );
        return None;
    }
    Some(v)
}

impl Scope {
    /// Read the inheritable keys present in `o` (a subnet or shared network).
    pub(crate) fn read(o: &Obj<'_>, p: &mut Problems) -> Self {
        Self {
            interface: o.name("interface", p),
            relay: read_relay(o, p),
            classes: o.classes(p),
            required: o.required_classes(p),
            ..Self::read_global(o, p)
        }
    }

    /// Read the inheritable keys valid at the global level (no interface, relay or
    /// admission classes; there `client-classes` holds the class definitions).
    pub(crate) fn read_global(o: &Obj<'_>, p: &mut Problems) -> Self {
        Self {
            valid: o.u32("valid-lifetime", p),
            min: o.u32("min-valid-lifetime", p),
            max: o.u32("max-valid-lifetime", p),
            renew: o.u32("renew-timer", p),
            rebind: o.u32("rebind-timer", p),
            calc: o.bool("calculate-tee-times", p),
            t1p: percent(o, "t1-percent", p),
            t2p: percent(o, "t2-percent", p),
            offer: o.u32("offer-lifetime", p),
            match_client_id: o.bool("match-client-id", p),
            authoritative: o.bool("authoritative", p),
            res_global: o.bool("reservations-global", p),
            res_in_subnet: o.bool("reservations-in-subnet", p),
            res_out_of_pool: o.bool("reservations-out-of-pool", p),
            next_server: o.ipv4("next-server", p),
            server_hostname: o.string("server-hostname", p),
            boot_file_name: o.string("boot-file-name", p),
            ..Self::default()
        }
    }

    /// `self` (the child) layered over `parent`.
    pub(crate) fn over(&self, parent: &Scope) -> Scope {
        macro_rules! pick {
            ($($f:ident),*) => { Scope { $($f: self.$f.clone().or_else(|| parent.$f.clone())),* } };
        }
        pick!(
            valid,
            min,
            max,
            renew,
            rebind,
            calc,
            t1p,
            t2p,
            offer,
            match_client_id,
            authoritative,
            res_global,
            res_in_subnet,
            res_out_of_pool,
            next_server,
            server_hostname,
            boot_file_name,
            interface,
            relay,
            classes,
            required
        )
    }

    /// Whether this level sets any lifetime or timer key.
    pub(crate) fn sets_timing(&self) -> bool {
        self.valid.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.renew.is_some()
            || self.rebind.is_some()
    }

    /// Resolved lifetimes (Kea defaults).
    pub(crate) fn lifetimes(&self) -> Lifetimes {
        let default = self.valid.unwrap_or(DEFAULT_VALID_LIFETIME);
        Lifetimes {
            default,
            min: self.min.unwrap_or(default),
            max: self.max.unwrap_or(default),
        }
    }

    /// Resolved timers (Kea defaults).
    pub(crate) fn timers(&self) -> Timers {
        let d = Timers::default();
        Timers {
            renew_timer: self.renew,
            rebind_timer: self.rebind,
            calculate_tee_times: self.calc.unwrap_or(d.calculate_tee_times),
            t1_percent: self.t1p.unwrap_or(d.t1_percent),
            t2_percent: self.t2p.unwrap_or(d.t2_percent),
        }
    }

    /// Resolved reservation flags.
    pub(crate) fn modes(&self) -> ReservationModes {
        let d = ReservationModes::default();
        ReservationModes {
            global: self.res_global.unwrap_or(d.global),
            in_subnet: self.res_in_subnet.unwrap_or(d.in_subnet),
            out_of_pool: self.res_out_of_pool.unwrap_or(d.out_of_pool),
        }
    }

    /// Report timer/lifetime combinations that cannot work, at `path`.
    pub(crate) fn check_timing(&self, path: &str, p: &mut Problems) {
        let l = self.lifetimes();
        if l.min > l.default || l.default > l.max {
            p.add(path, format!(
                "lifetimes must satisfy min-valid-lifetime ({}) <= valid-lifetime ({}) <= max-valid-lifetime ({})",
                l.min, l.default, l.max
            ));
        }
        if l.default == 0 {
            p.add(path, "valid-lifetime must be greater than 0");
        }
        if let (Some(r), Some(b)) = (self.renew, self.rebind) {
            if r >= b {
                p.add(
                    path,
                    format!("renew-timer ({r}) must be less than rebind-timer ({b})"),
                );
            }
        }
        if let Some(b) = self.rebind {
            if b >= l.default {
                p.add(
                    path,
                    format!(
                        "rebind-timer ({b}) must be less than valid-lifetime ({})",
                        l.default
                    ),
                );
            }
        } else if let Some(r) = self.renew {
            if r >= l.default {
                p.add(
                    path,
                    format!(
                        "renew-timer ({r}) must be less than valid-lifetime ({})",
                        l.default
                    ),
                );
            }
        }
        let t = self.timers();
        if t.calculate_tee_times && t.t1_percent >= t.t2_percent {
            p.add(
                path,
                format!(
                    "t1-percent ({}) must be less than t2-percent ({})",
                    t.t1_percent, t.t2_percent
                ),
            );
        }
    }
}

/// `relay`: `{"ip-addresses": [..]}` or legacy `{"ip-address": ".."}` (0.0.0.0 = none).
fn read_relay(o: &Obj<'_>, p: &mut Problems) -> Option<Vec<Ipv4Addr>> {
    let r = o.obj("relay", &super::schema::RELAY, p)?;
    if r.has("ip-address") && r.has("ip-addresses") {
        p.add(
            r.at("ip-address"),
            "use either ip-address or ip-addresses, not both",
        );
    }
    let mut out = Vec::new();
    if let Some(a) = r.ipv4("ip-address", p) {
        if !a.is_unspecified() {
            out.push(a);
        }
    }
    for (path, v) in r.list("ip-addresses", p) {
        match v.as_str().map(|s| s.trim().parse::<Ipv4Addr>()) {
            Some(Ok(a)) => out.push(a),
            _ => p.add(
                path,
                format!(
                    "expected an IPv4 address, found {}",
                    super::reader::describe(v)
                ),
            ),
        }
    }
    Some(out)
}
