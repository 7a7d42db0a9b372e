//! `client-classes` → [`ClientClassDef`], and the check that every class a pool,
//! subnet or shared network names exists (only when classes are defined at all,
//! since HA and built-in classes need no definition).

use serde_json::Value;

use super::option_data::read_option_data;
use super::reader::{Obj, Problems};
use super::schema;
use super::types::{ClientClassDef, Lifetimes, OptionDef};

/// Read `client-classes`.
pub(crate) fn read_classes(
    items: Vec<(String, &Value)>,
    defs: &[OptionDef],
    p: &mut Problems,
) -> Vec<ClientClassDef> {
    let mut out: Vec<ClientClassDef> = Vec::new();
    for (path, v) in items {
        let Some(o) = Obj::new(v, &path, &schema::CLIENT_CLASS, p) else {
            continue;
        };
        let Some(name) = o.name("name", p) else {
            if !o.has("name") {
                p.add(o.at("name"), "is required");
            }
            continue;
        };
        if out.iter().any(|c| c.name == name) {
            p.add(o.at("name"), format!("duplicate class name {name:?}"));
        }
        let only = o.bool("only-if-required", p).unwrap_or(false)
            | o.bool("only-in-additional-list", p).unwrap_or(false);
        let valid = o.u32("valid-lifetime", p);
        let min = o.u32("min-valid-lifetime", p);
        let max = o.u32("max-valid-lifetime", p);
        let valid_lifetime = (valid.is_some() || min.is_some() || max.is_some()).then(|| {
            let default = valid.or(min).or(max).unwrap_or_default();
            Lifetimes {
                default,
                min: min.unwrap_or(default),
                max: max.unwrap_or(default),
            }
        });
        if let Some(l) = valid_lifetime.filter(|l| l.min > l.default || l.default > l.max) {
            p.add(
                &path,
                format!(
                    "lifetimes must satisfy min ({}) <= valid ({}) <= max ({})",
                    l.min, l.default, l.max
                ),
            );
        }
        out.push(ClientClassDef {
            name,
            test: o.string("test", p).filter(|t| !t.trim().is_empty()),
            only_if_required: only,
            option_data: read_option_data(o.list("option-data", p), defs, p),
            next_server: o.ipv4("next-server", p),
            server_hostname: o.string("server-hostname", p),
            boot_file_name: o.string("boot-file-name", p),
            valid_lifetime,
        });
    }
    out
}

/// Classes that exist without a definition (Kea built-ins and HA scope classes).
pub(crate) fn is_builtin(name: &str) -> bool {
    matches!(name, "ALL" | "KNOWN" | "UNKNOWN" | "BOOTP" | "DROP")
        || ["VENDOR_CLASS_", "HA_", "ha_", "SPAWN_"]
            .iter()
            .any(|pre| name.starts_with(pre))
}

/// Report each name in `used` that is neither defined nor built in.
pub(crate) fn check_refs(
    used: &[String],
    path: &str,
    defined: &[ClientClassDef],
    p: &mut Problems,
) {
    if defined.is_empty() {
        return;
    }
    for name in used {
        if !is_builtin(name) && !defined.iter().any(|c| &c.name == name) {
            p.add(
                path,
                format!("unknown client class {name:?} (not in Dhcp4.client-classes)"),
            );
        }
    }
}
