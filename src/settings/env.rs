//! Environment overrides: `SHOAL_DHCP4__VALID_LIFETIME=7200` → `Dhcp4.valid-lifetime`.
//!
//! The `config` crate lowercases environment names and cannot produce hyphens, so
//! names are mapped here, before `config` sees them: strip `SHOAL_`, split on `__`,
//! and match each segment case-insensitively (with `_` ≡ `-`) against the keys the
//! file actually has at that level, or the keys shoal knows there when the file
//! lacks them. The real dotted path is then handed to `config` with `set_override`.
//!
//! Values are parsed as JSON when they parse (`7200`, `true`, `["eth0","eth1"]`),
//! else taken as a string; a value replacing a string stays a string (`"007"`).
//! Lists cannot be addressed element-wise (`SUBNET4__0__ID` is refused): override
//! the whole list with a JSON array instead. Variables whose name has no `__` and
//! does not start with `SHOAL_DHCP` (e.g. `SHOAL_LOG`) are left for other uses.

use config::{Config, File, FileFormat, Map, ValueKind};
use serde_json::Value;

use super::reader::{closest, Problems};
use super::schema::schema_at;

/// Keys whose values are always strings, even when the variable looks like a number.
const STRING_KEYS: [&str; 12] = [
    "name",
    "host",
    "user",
    "password",
    "url",
    "server-tag",
    "socket-name",
    "socket-address",
    "server-hostname",
    "boot-file-name",
    "interface",
    "realm",
];

/// Environment variable prefix.
pub const PREFIX: &str = "SHOAL_";

fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

/// Map `SHOAL_…` variables to (real dotted path, value).
pub(crate) fn overrides(
    root: &Value,
    env: &[(String, String)],
    p: &mut Problems,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if !rest.contains("__") && !rest.to_ascii_uppercase().starts_with("DHCP") {
            continue;
        }
        match resolve(root, rest) {
            Ok((path, existing)) => {
                let value = match (existing, serde_json::from_str::<Value>(raw)) {
                    (Some(Value::String(_)), _) | (_, Err(_)) => Value::String(raw.clone()),
                    _ if path
                        .last()
                        .is_some_and(|k| STRING_KEYS.contains(&k.as_str())) =>
                    {
                        Value::String(raw.clone())
                    }
                    (_, Ok(v)) => v,
                };
                out.push((path.join("."), value));
            }
            Err(why) => p.add(name.clone(), why),
        }
    }
    out
}

/// Resolve `DHCP4__LEASE_DATABASE__HOST` to `["Dhcp4","lease-database","host"]`.
fn resolve<'a>(root: &'a Value, rest: &str) -> Result<(Vec<String>, Option<&'a Value>), String> {
    let mut path: Vec<String> = Vec::new();
    let mut cur = Some(root);
    for seg in rest.split("__") {
        let want = norm(seg);
        if matches!(cur, Some(Value::Array(_))) {
            return Err(format!(
                "{} is a list; lists cannot be overridden element-wise, set the whole list as JSON",
                path.join(".")
            ));
        }
        let in_file = cur
            .and_then(Value::as_object)
            .and_then(|m| m.keys().find(|k| norm(k) == want))
            .cloned();
        let schema = schema_at(&path);
        let known = || {
            schema
                .and_then(|s| s.known.iter().find(|k| norm(k) == want))
                .map(|k| k.to_string())
        };
        let Some(key) = in_file.or_else(known) else {
            let at = if path.is_empty() {
                "the top level".to_string()
            } else {
                path.join(".")
            };
            let hint = schema
                .and_then(|s| closest(&want, s.known.iter().copied()))
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            return Err(format!("names no known key: {seg:?} at {at}{hint}"));
        };
        cur = cur.and_then(|v| v.get(&key));
        path.push(key);
    }
    Ok((path, cur))
}

fn to_config(v: Value) -> config::Value {
    let kind = match v {
        Value::Null => ValueKind::Nil,
        Value::Bool(b) => ValueKind::Boolean(b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => ValueKind::I64(i),
            (None, Some(u)) => ValueKind::U64(u),
            _ => ValueKind::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => ValueKind::String(s),
        Value::Array(a) => ValueKind::Array(a.into_iter().map(to_config).collect()),
        Value::Object(m) => ValueKind::Table(
            m.into_iter()
                .map(|(k, v)| (k, to_config(v)))
                .collect::<Map<_, _>>(),
        ),
    };
    config::Value::new(None, kind)
}

/// Load strict JSON through `config` with the overrides applied.
pub(crate) fn apply(strict_json: &str, overrides: Vec<(String, Value)>) -> Result<Value, String> {
    let mut builder = Config::builder().add_source(File::from_str(strict_json, FileFormat::Json));
    for (path, value) in overrides {
        builder = builder
            .set_override(&path, to_config(value))
            .map_err(|e| format!("{path}: {e}"))?;
    }
    let cfg = builder.build().map_err(|e| e.to_string())?;
    cfg.try_deserialize::<Value>().map_err(|e| e.to_string())
}
