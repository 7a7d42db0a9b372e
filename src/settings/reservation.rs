//! `reservations` entries → [`Reservation`].
//!
//! Exactly one identifier per reservation: `hw-address`, `duid`, `client-id` or
//! `circuit-id`, written as hex (`01:aa:bb`, `01aabb`) or, except for `hw-address`,
//! as quoted text (`'gateway-7'`) as Kea allows.

use serde_json::Value;

use super::option_data::read_option_data;
use super::options::parse_hex;
use super::reader::{Obj, Problems};
use super::schema;
use super::types::{OptionDef, Reservation};
use crate::store::IdentifierType;

const IDENTIFIERS: [(&str, IdentifierType); 5] = [
    ("hw-address", IdentifierType::HwAddress),
    ("duid", IdentifierType::Duid),
    ("client-id", IdentifierType::ClientId),
    ("circuit-id", IdentifierType::CircuitId),
    ("flex-id", IdentifierType::FlexId),
];

/// Parse an identifier value: hex, or `'text'` for everything but `hw-address`.
pub(crate) fn parse_identifier(kind: IdentifierType, text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    if kind != IdentifierType::HwAddress && t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'')
    {
        return Ok(t.as_bytes()[1..t.len() - 1].to_vec());
    }
    let bytes = parse_hex(&t.replace('-', ":"))?;
    if bytes.is_empty() {
        return Err("the identifier is empty".into());
    }
    if kind == IdentifierType::HwAddress && bytes.len() > 20 {
        return Err(format!("{text:?} is longer than 20 bytes"));
    }
    Ok(bytes)
}

/// Read a `reservations` list.
pub(crate) fn read_reservations(
    items: Vec<(String, &Value)>,
    defs: &[OptionDef],
    p: &mut Problems,
) -> Vec<Reservation> {
    let mut out: Vec<Reservation> = Vec::new();
    for (path, v) in items {
        let Some(o) = Obj::new(v, &path, &schema::RESERVATION, p) else {
            continue;
        };
        let Some(r) = read_one(&o, defs, p) else {
            continue;
        };
        if out
            .iter()
            .any(|x| x.identifier_type == r.identifier_type && x.identifier == r.identifier)
        {
            p.add(
                &path,
                format!(
                    "duplicate reservation for {} {:02x?}",
                    r.identifier_type.name(),
                    r.identifier
                ),
            );
        }
        if let Some(ip) = r.ip_address {
            if out.iter().any(|x| x.ip_address == Some(ip)) {
                p.add(o.at("ip-address"), format!("{ip} is reserved twice"));
            }
        }
        out.push(r);
    }
    out
}

fn read_one(o: &Obj<'_>, defs: &[OptionDef], p: &mut Problems) -> Option<Reservation> {
    let present: Vec<_> = IDENTIFIERS.iter().filter(|(k, _)| o.has(k)).collect();
    if present.len() != 1 {
        let names: Vec<&str> = IDENTIFIERS.iter().map(|(k, _)| *k).collect();
        p.add(
            &o.path,
            format!(
                "needs exactly one identifier ({}), found {}",
                names.join(", "),
                present.len()
            ),
        );
        return None;
    }
    let (key, kind) = present[0];
    let identifier = match o.string(key, p).map(|s| parse_identifier(*kind, &s)) {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            p.add(o.at(key), e);
            None
        }
        None => None,
    };
    let hostname = o.string("hostname", p).filter(|h| !h.is_empty());
    let option_data = read_option_data(o.list("option-data", p), defs, p);
    Some(Reservation {
        identifier_type: *kind,
        identifier: identifier?,
        ip_address: o.ipv4("ip-address", p),
        hostname,
        client_classes: o.strings("client-classes", p),
        option_data,
        next_server: o.ipv4("next-server", p),
        server_hostname: o.string("server-hostname", p),
        boot_file_name: o.string("boot-file-name", p),
    })
}
