//! Leases and host reservations ↔ Kea's JSON shapes (lease_cmds `Lease4::toElement`,
//! host_cmds `Host::toElement`). Output keys and defaults follow Kea (`"0.0.0.0"` and `""`
//! for unset fields) so existing Kea tooling parses shoal's answers.

use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use super::args::Args;
use super::envelope::ApiError;
use crate::settings::options::{self, by_code, by_name};
use crate::settings::{OptionData, Reservation};
use crate::store::{hex_colon, Host, HostOption, IdentifierType, Lease4};

/// A lease as lease_cmds prints it.
pub fn lease(l: &Lease4) -> Value {
    let mut m = Map::new();
    m.insert("ip-address".into(), json!(l.address.to_string()));
    m.insert("hw-address".into(), json!(hex_colon(&l.hwaddr)));
    if let Some(id) = &l.client_id {
        m.insert("client-id".into(), json!(hex_colon(id)));
    }
    m.insert("valid-lft".into(), json!(l.valid_lifetime));
    m.insert("cltt".into(), json!(l.expire - i64::from(l.valid_lifetime)));
    m.insert("subnet-id".into(), json!(l.subnet_id));
    m.insert("pool-id".into(), json!(l.pool_id));
    m.insert("fqdn-fwd".into(), json!(l.fqdn_fwd));
    m.insert("fqdn-rev".into(), json!(l.fqdn_rev));
    m.insert("hostname".into(), json!(l.hostname));
    m.insert("state".into(), json!(l.state.code()));
    if let Some(uc) = l
        .user_context
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        m.insert("user-context".into(), uc);
    }
    Value::Object(m)
}

fn addr_or_zero(a: Option<Ipv4Addr>) -> String {
    a.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string()
}

/// A database host as host_cmds prints it.
pub fn host(h: &Host) -> Value {
    let options: Vec<Value> = h
        .options4
        .iter()
        .map(|o| {
            let name = u8::try_from(o.code).ok().and_then(by_code).map(|d| d.name);
            let (data, csv) = match (&o.formatted_value, &o.value) {
                (Some(text), _) => (text.clone(), true),
                (None, Some(bytes)) => (hex_colon(bytes), false),
                (None, None) => (String::new(), true),
            };
            json!({ "code": o.code, "name": name, "space": o.space, "data": data,
                    "csv-format": csv, "always-send": o.persistent, "never-send": false })
        })
        .collect();
    let mut m = host_common(
        h.identifier_type,
        &h.identifier,
        h.ipv4_subnet_id.unwrap_or(0),
        h.ipv4_address,
        h.hostname.as_deref(),
        &h.client_classes4,
        h.next_server,
        h.server_hostname.as_deref(),
        h.boot_file_name.as_deref(),
    );
    m.insert("option-data".into(), Value::Array(options));
    if let Some(uc) = h
        .user_context
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        m.insert("user-context".into(), uc);
    }
    Value::Object(m)
}

/// A reservation from the configuration file, in the same shape.
pub fn file_host(r: &Reservation, subnet_id: u32) -> Value {
    let mut m = host_common(
        r.identifier_type,
        &r.identifier,
        subnet_id,
        r.ip_address,
        r.hostname.as_deref(),
        &r.client_classes,
        r.next_server,
        r.server_hostname.as_deref(),
        r.boot_file_name.as_deref(),
    );
    let opts: Vec<Value> = r.option_data.iter().map(option_data).collect();
    m.insert("option-data".into(), Value::Array(opts));
    Value::Object(m)
}

fn option_data(o: &OptionData) -> Value {
    json!({ "code": o.code, "name": o.name, "space": o.space, "data": hex_colon(&o.data),
            "csv-format": false, "always-send": o.always_send, "never-send": o.never_send })
}

#[allow(clippy::too_many_arguments)]
fn host_common(
    kind: IdentifierType,
    identifier: &[u8],
    subnet_id: u32,
    address: Option<Ipv4Addr>,
    hostname: Option<&str>,
    classes: &[String],
    next_server: Option<Ipv4Addr>,
    server_hostname: Option<&str>,
    boot_file_name: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(kind.name().into(), json!(hex_colon(identifier)));
    m.insert("subnet-id".into(), json!(subnet_id));
    m.insert("ip-address".into(), json!(addr_or_zero(address)));
    m.insert("hostname".into(), json!(hostname.unwrap_or("")));
    m.insert("client-classes".into(), json!(classes));
    m.insert("next-server".into(), json!(addr_or_zero(next_server)));
    m.insert(
        "server-hostname".into(),
        json!(server_hostname.unwrap_or("")),
    );
    m.insert("boot-file-name".into(), json!(boot_file_name.unwrap_or("")));
    m
}

const IDENTIFIERS: [&str; 5] = ["hw-address", "duid", "client-id", "circuit-id", "flex-id"];

/// Parse an identifier value: hex, or `'text'` for everything but `hw-address` (as Kea).
pub fn identifier(kind: IdentifierType, key: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    let t = text.trim();
    if kind != IdentifierType::HwAddress && t.len() >= 3 && t.starts_with('\'') && t.ends_with('\'')
    {
        return Ok(t.as_bytes()[1..t.len() - 1].to_vec());
    }
    let bytes = options::parse_hex(&t.replace('-', ":")).map_err(|_| {
        ApiError::BadArgument(format!("'{key}' must be hex like 01:02:03, got {text:?}"))
    })?;
    if bytes.is_empty() || (kind == IdentifierType::HwAddress && bytes.len() > 20) {
        return Err(ApiError::BadArgument(format!(
            "'{key}' must be 1 to {} bytes",
            if kind == IdentifierType::HwAddress {
                20
            } else {
                255
            }
        )));
    }
    Ok(bytes)
}

/// `identifier-type` + `identifier` arguments (reservation-get / -del).
pub fn identifier_args(a: &Args<'_>) -> Result<(IdentifierType, Vec<u8>), ApiError> {
    let name = a.str("identifier-type")?;
    let kind = IdentifierType::from_name(name).ok_or_else(|| {
        ApiError::BadArgument(format!(
            "'identifier-type' must be one of {}, got {name:?}",
            IDENTIFIERS.join(", ")
        ))
    })?;
    let bytes = identifier(kind, "identifier", a.str("identifier")?)?;
    Ok((kind, bytes))
}

/// A `reservation` map of reservation-add → a v4 database host.
pub fn host_from_reservation(r: &Map<String, Value>) -> Result<Host, ApiError> {
    let a = Args(r);
    for v6 in ["ip-addresses", "prefixes", "excluded-prefixes"] {
        if a.has(v6) {
            return Err(ApiError::BadArgument(format!(
                "'{v6}' is not supported: shoal serves DHCPv4 only"
            )));
        }
    }
    a.only(&[
        "subnet-id",
        "hw-address",
        "duid",
        "client-id",
        "circuit-id",
        "flex-id",
        "ip-address",
        "hostname",
        "client-classes",
        "next-server",
        "server-hostname",
        "boot-file-name",
        "option-data",
        "user-context",
        "comment",
    ])?;
    let subnet_id = a.u32("subnet-id")?;
    let present: Vec<&str> = IDENTIFIERS.iter().copied().filter(|k| a.has(k)).collect();
    let key = match present.as_slice() {
        [one] => *one,
        [] => {
            return Err(ApiError::BadArgument(format!(
                "one identifier is required: {}",
                IDENTIFIERS.join(", ")
            )))
        }
        _ => {
            return Err(ApiError::BadArgument(format!(
                "only one identifier is allowed, got {}",
                present.join(", ")
            )))
        }
    };
    if key == "flex-id" {
        return Err(ApiError::BadArgument("'flex-id' is not supported".into()));
    }
    let kind = IdentifierType::from_name(key)
        .ok_or_else(|| ApiError::BadArgument(format!("'{key}' is not an identifier")))?;
    let user_context = r.get("user-context").map(Value::to_string);
    Ok(Host {
        host_id: 0,
        identifier_type: kind,
        identifier: identifier(kind, key, a.str(key)?)?,
        ipv4_subnet_id: Some(subnet_id),
        ipv6_subnet_id: None,
        ipv4_address: a.opt_ipv4("ip-address")?,
        hostname: a
            .opt_str("hostname")?
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        client_classes4: a.opt_str_list("client-classes")?,
        client_classes6: Vec::new(),
        next_server: a.opt_ipv4("next-server")?,
        server_hostname: a.opt_str("server-hostname")?.map(str::to_string),
        boot_file_name: a.opt_str("boot-file-name")?.map(str::to_string),
        options4: host_options(r.get("option-data"))?,
        user_context,
    })
}

/// `option-data` of a reservation: standard options by `name` or `code`; the `data` is
/// checked by encoding it now, so a bad value is refused here, not at packet time.
fn host_options(v: Option<&Value>) -> Result<Vec<HostOption>, ApiError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::BadArgument("'option-data' must be a list".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, item)| host_option(i, item))
        .collect()
}

fn host_option(i: usize, item: &Value) -> Result<HostOption, ApiError> {
    let bad = |m: String| ApiError::BadArgument(format!("'option-data[{i}]': {m}"));
    let map = item
        .as_object()
        .ok_or_else(|| bad("must be a map".into()))?;
    let a = Args(map);
    let def = match (
        a.opt_str("name").map_err(|e| bad(e.to_string()))?,
        a.opt_u32("code"),
    ) {
        (Some(n), _) => by_name(n).ok_or_else(|| bad(format!("unknown option name {n:?}")))?,
        (None, Ok(Some(c))) => u8::try_from(c)
            .ok()
            .and_then(by_code)
            .ok_or_else(|| bad(format!("unknown option code {c}")))?,
        _ => return Err(bad("'name' or 'code' is required".into())),
    };
    if let Some(why) = options::server_managed(def.code) {
        return Err(bad(format!("option {} {why}", def.name)));
    }
    let data = a
        .opt_str("data")
        .map_err(|e| bad(e.to_string()))?
        .unwrap_or("");
    let csv = a
        .opt_bool("csv-format")
        .map_err(|e| bad(e.to_string()))?
        .unwrap_or(true);
    let wire = options::encode(def.option_type, def.array, &[], data, csv)
        .map_err(|e| bad(format!("'data': {e}")))?;
    Ok(HostOption {
        code: u16::from(def.code),
        space: "dhcp4".into(),
        value: (!csv).then_some(wire),
        formatted_value: csv.then(|| data.to_string()),
        persistent: a
            .opt_bool("always-send")
            .map_err(|e| bad(e.to_string()))?
            .unwrap_or(false),
    })
}
