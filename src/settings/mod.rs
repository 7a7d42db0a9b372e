//! Configuration in ISC Kea's JSON format → validated runtime types.
//!
//! [`Settings::load`] reads a Kea-style file (comments `//`, `#`, `/* */` and trailing
//! commas allowed), applies `SHOAL_…` environment overrides through the `config`
//! crate (see [`mod@env`] for the naming), then walks the tree with path-aware readers
//! that collect **every** problem as `PATH: MESSAGE` (e.g.
//! `Dhcp4.subnet4[0].pools[1].pool: pool 10.0.0.1 - 10.0.0.9 is not inside subnet 192.0.2.0/24`).
//! Nothing is silently ignored: an unknown key gets the closest valid key suggested,
//! and a Kea feature shoal lacks is reported as "not supported".
//!
//! Only the `Dhcp4` section exists today; `Dhcp6` is refused as not supported yet. A
//! future `dhcp6` module would sit next to [`dhcp4`](self) and add a field to [`Settings`].
//!
//! # Supported keys (`Dhcp4`)
//!
//! | key | default | notes |
//! |---|---|---|
//! | `interfaces-config` `{interfaces, dhcp-socket-type, re-detect}` | `[]`, `raw`, `true` | `"eth0"`, `"eth0/192.0.2.1"`, `"*"`; `outbound-interface` only `same-as-inbound` |
//! | `lease-database` | sqlite `/var/lib/shoal/leases4.sqlite` | `type` postgresql / mysql / sqlite; memfile refused |
//! | `hosts-database` / `hosts-databases` | the lease database | same keys; not both; `"hosts-databases": []` = no database reservations |
//! | database keys | | `name host port user password url connect-timeout(5) max-reconnect-tries(0) reconnect-wait-time(0) on-fail retry-on-startup readonly max-connections(16)` |
//! | `valid-lifetime` / `min-` / `max-valid-lifetime` | 7200 / = valid / = valid | inheritable |
//! | `renew-timer`, `rebind-timer` | unset | inheritable; must be renew < rebind < valid |
//! | `calculate-tee-times`, `t1-percent`, `t2-percent` | false, 0.5, 0.875 | inheritable |
//! | `offer-lifetime` | 60 | inheritable; 0 = offers are not written (Kea) |
//! | `decline-probation-period` | 86400 | |
//! | `match-client-id`, `authoritative` | true, false | inheritable |
//! | `reservations-global` / `-in-subnet` / `-out-of-pool` | false / true / false | inheritable; `reservation-mode` refused |
//! | `next-server`, `server-hostname`, `boot-file-name` | unset | inheritable; also per class / reservation |
//! | `option-data` | `[]` | by `name` or `code`; `csv-format`, `space`, `always-send`, `never-send` |
//! | `option-def` | `[]` | `name code type array record-types space encapsulate` |
//! | `subnet4` | `[]` | `id`(auto in file order if absent; 0 refused) `subnet pools relay interface client-class(es) require-client-classes reservations option-data` + inheritable keys |
//! | `pools[]` | | `pool` (`a - b` or `a/len`), `pool-id`, `client-class(es)`, `option-data` |
//! | `shared-networks` | `[]` | `name subnet4 interface relay option-data client-class(es)` + inheritable keys |
//! | `client-classes` | `[]` | `name test only-if-required only-in-additional-list option-data next-server server-hostname boot-file-name *-valid-lifetime` |
//! | `reservations` | `[]` | `hw-address`/`duid`/`client-id`/`circuit-id`, `ip-address hostname client-classes option-data next-server server-hostname boot-file-name` |
//! | `host-reservation-identifiers` | hw-address, duid, circuit-id, client-id | flex-id refused |
//! | `expired-leases-processing` | 10, 25, 3600, 100, 250, 5 | Kea's six keys |
//! | `server-tag` | unset | |
//! | `config-control` | unset | `config-databases` (one), `config-fetch-wait-time` (30) |
//! | `control-socket` / `control-sockets` | none | `unix` (`socket-name`) or `http` (`socket-address` 127.0.0.1, `socket-port` 8000, basic `authentication`) |
//! | `loggers` | `[]` | `name severity debuglevel output-options[].output` |
//! | `hooks-libraries` | `[]` | `libdhcp_ha.so` → HA; lease_cmds / pgsql / mysql accepted; others refused |
//! | `multi-threading` | true, 0, 64 | worker threads, read at start-up |
//! | `user-context`, `comment` | | anywhere |
//!
//! Accepted as harmless: `sanity-checks`, `dhcp4o6-port`, `statistic-default-*`,
//! `early-global-reservations-lookup`, `ddns-*` and `hostname-char-*` (DNS updates
//! themselves are refused), `store-extended-info`, `cache-*`, `allocator`,
//! `dhcp-ddns` with `enable-updates: false`.

pub mod database;
pub mod env;
pub mod options;

mod classes;
pub(crate) mod comments;
mod dhcp4;
mod ha;
mod option_data;
mod reader;
mod reservation;
mod schema;
mod scope;
mod service;
mod subnet;
mod types;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rules;

use std::fmt;
use std::path::{Path, PathBuf};

pub use database::{DatabaseConfig, DatabaseType, OnFail};
pub use dhcp4::DEFAULT_LEASE_DB;
pub use types::*;

use crate::store::PoolRange;
use reader::{Obj, Problems};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The `Dhcp4` section.
    pub dhcp4: Dhcp4Config,
    /// File it was read from (`None` for strings).
    pub source: Option<PathBuf>,
}

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path (`Dhcp4.subnet4[0].pools[1].pool`), file position, or env variable.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// All problems found, each naming its path. Display: one `PATH: MESSAGE` per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

impl Settings {
    /// Read a Kea-format JSON file (comments `//`, `#`, `/* */` allowed), apply
    /// environment overrides (`SHOAL_…`, see [`mod@env`]), validate.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        let mut s = Self::from_str_with_env(&text, &env)?;
        s.source = Some(path.to_path_buf());
        Ok(s)
    }

    /// Same from a string, with an explicit environment map.
    pub fn from_str_with_env(
        text: &str,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let strict = comments::to_strict_json(text);
        let parsed: serde_json::Value = serde_json::from_str(&strict).map_err(|e| {
            ConfigError::one(
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        })?;
        let mut p = Problems::default();
        let overrides = env::overrides(&parsed, env, &mut p);
        if !p.list.is_empty() {
            return Err(ConfigError { problems: p.list });
        }
        let root = if overrides.is_empty() {
            parsed
        } else {
            env::apply(&strict, overrides).map_err(|e| ConfigError::one("environment", e))?
        };
        let dhcp4 =
            Obj::new(&root, "", &schema::ROOT, &mut p).and_then(|top| match top.get("Dhcp4") {
                Some(v) => dhcp4::read_dhcp4(v, "Dhcp4", &mut p),
                None => {
                    p.add("Dhcp4", "is required (shoal serves DHCPv4)");
                    None
                }
            });
        if let Some(d) = &dhcp4 {
            check_class_expressions(d, &mut p);
        }
        match dhcp4 {
            Some(dhcp4) if p.list.is_empty() => Ok(Settings {
                dhcp4,
                source: None,
            }),
            _ => Err(ConfigError { problems: p.list }),
        }
    }

    /// Every pool of every subnet, for `LeaseStore::sync_pools4`.
    pub fn pools(&self) -> Vec<PoolRange> {
        self.dhcp4.pools()
    }

    /// Parts of a valid configuration that shoal reads but does not act on yet: said at
    /// `shoal -t` and at start-up, never silently ignored.
    pub fn warnings(&self) -> Vec<String> {
        let d = &self.dhcp4;
        let mut out = Vec::new();
        if d.ha.is_some() {
            out.push(
                "Dhcp4.hooks-libraries: libdhcp_ha.so parameters are read, but the HA module is not \
                 implemented yet: this front-end serves every client (safe with a shared lease database)"
                    .to_string(),
            );
        }
        if d.config_control
            .as_ref()
            .is_some_and(|c| !c.config_databases.is_empty())
        {
            out.push(
                "Dhcp4.config-control.config-databases: the configuration backend is not implemented \
                 yet; the configuration comes from this file only"
                    .to_string(),
            );
        }
        out
    }
}

/// Class `test` expressions are parsed at load, so a bad one is refused with the class
/// path and the column, never met at packet time.
fn check_class_expressions(d: &Dhcp4Config, p: &mut Problems) {
    if let Err(errors) = crate::classify::ClassSet::compile(&d.client_classes, &|_| false) {
        for e in errors {
            let i = d.client_classes.iter().position(|c| c.name == e.class);
            let path = match i {
                Some(i) => format!("Dhcp4.client-classes[{i}].test"),
                None => "Dhcp4.client-classes".to_string(),
            };
            let msg = match e.column {
                Some(c) => format!("column {c}: {}", e.message),
                None => e.message.clone(),
            };
            p.add(path, msg);
        }
    }
}
