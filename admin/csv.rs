//! Lease CSV in Kea's memfile lease4 format (lease-dump / lease-upload).
//!
//! Columns: `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,
//! hostname,state,user_context,pool_id`; hwaddr/client_id are colon-hex, expire is Unix
//! seconds, booleans are 0/1. Fields holding a comma, quote or newline are quoted per
//! RFC 4180. Parsing is strict: the first bad record fails the whole file with its line.

use std::net::Ipv4Addr;

use shoal::store::{hex_colon, Lease4, LeaseState};

/// The header line (without newline).
pub const HEADER: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,\
fqdn_rev,hostname,state,user_context,pool_id";

/// A malformed file: the (1-based) line and what is wrong there.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    /// Line of the file where the record starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Quote a field when RFC 4180 requires it.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The whole dump: header plus one line per lease.
pub fn write_leases(leases: &[Lease4]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for l in leases {
        let cols = [
            l.address.to_string(),
            hex_colon(&l.hwaddr),
            l.client_id.as_deref().map(hex_colon).unwrap_or_default(),
            l.valid_lifetime.to_string(),
            l.expire.to_string(),
            l.subnet_id.to_string(),
            u8::from(l.fqdn_fwd).to_string(),
            u8::from(l.fqdn_rev).to_string(),
            field(&l.hostname),
            l.state.code().to_string(),
            field(l.user_context.as_deref().unwrap_or_default()),
            l.pool_id.to_string(),
        ];
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    out
}

/// Split `text` into records of fields, each with the line it starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut out = Vec::new();
    let (mut line, mut start_line) = (1, 1);
    let (mut fields, mut cur, mut quoted, mut in_record) =
        (Vec::new(), String::new(), false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cur.push(c);
            }
            (false, '"') if cur.is_empty() => {
                quoted = true;
                in_record = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                in_record = true;
            }
            (false, '\r') => {}
            (false, '\n') => {
                if in_record || !cur.is_empty() {
                    fields.push(std::mem::take(&mut cur));
                    out.push((start_line, std::mem::take(&mut fields)));
                }
                in_record = false;
                line += 1;
                start_line = line;
            }
            (false, c) => {
                cur.push(c);
                in_record = true;
            }
        }
    }
    if quoted {
        return Err(CsvError {
            line: start_line,
            message: "unterminated quoted field".into(),
        });
    }
    if in_record || !cur.is_empty() {
        fields.push(cur);
        out.push((start_line, fields));
    }
    Ok(out)
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(':')
        .map(|b| u8::from_str_radix(b, 16).map_err(|_| format!("invalid hex byte {b:?}")))
        .collect()
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(format!("invalid boolean {s:?} (expected 0 or 1)")),
    }
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("invalid {what} {s:?}"))
}

/// Parse a dump. The header names the columns (`pool_id` may be absent, as in older Kea
/// files); every other column of [`HEADER`] is required.
pub fn read_leases(text: &str) -> Result<Vec<Lease4>, CsvError> {
    let mut recs = records(text)?.into_iter();
    let Some((hline, header)) = recs.next() else {
        return Err(CsvError {
            line: 1,
            message: "empty file (expected a header line)".into(),
        });
    };
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let mut idx = Vec::new();
    for name in HEADER.split(',') {
        match col(name) {
            Some(i) => idx.push(Some(i)),
            None if name == "pool_id" => idx.push(None),
            None => {
                let message = format!("header lacks column {name:?}");
                return Err(CsvError {
                    line: hline,
                    message,
                });
            }
        }
    }
    recs.map(|(line, f)| {
        if f.len() != header.len() {
            let message = format!("{} fields, header has {}", f.len(), header.len());
            return Err(CsvError { line, message });
        }
        let get = |k: usize| idx[k].map_or("", |i| f[i].as_str());
        lease_from_fields(&get).map_err(|message| CsvError { line, message })
    })
    .collect()
}

fn lease_from_fields<'a>(get: &dyn Fn(usize) -> &'a str) -> Result<Lease4, String> {
    let address: Ipv4Addr = get(0)
        .parse()
        .map_err(|_| format!("invalid address {:?}", get(0)))?;
    let client_id = parse_hex(get(2))?;
    let state_code: i64 = parse_num(get(9), "state")?;
    let state = LeaseState::from_code(state_code).ok_or(format!("invalid state {state_code}"))?;
    let pool_id = if get(11).is_empty() {
        0
    } else {
        parse_num(get(11), "pool_id")?
    };
    Ok(Lease4 {
        address,
        hwaddr: parse_hex(get(1))?,
        hwtype: 1,
        client_id: (!client_id.is_empty()).then_some(client_id),
        valid_lifetime: parse_num(get(3), "valid_lifetime")?,
        expire: parse_num(get(4), "expire")?,
        subnet_id: parse_num(get(5), "subnet_id")?,
        pool_id,
        fqdn_fwd: parse_bool(get(6))?,
        fqdn_rev: parse_bool(get(7))?,
        hostname: get(8).to_string(),
        state,
        user_context: (!get(10).is_empty()).then(|| get(10).to_string()),
        relay_id: None,
        remote_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(10, 0, 0, 7),
            hwaddr: vec![2, 0, 0, 0, 0, 0xab],
            hwtype: 1,
            client_id: None,
            valid_lifetime: 600,
            expire: 1_800_000_000,
            subnet_id: 3,
            pool_id: 1,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: "a,\"b\"".into(),
            state: LeaseState::Declined,
            user_context: Some("{\"x\": [1,2]}".into()),
            relay_id: None,
            remote_id: None,
        }
    }

    #[test]
    fn round_trip_with_quoted_fields() {
        let text = write_leases(&[sample(), sample()]);
        assert!(text.contains("\"a,\"\"b\"\"\""), "{text}");
        assert_eq!(read_leases(&text).unwrap(), vec![sample(), sample()]);
    }

    #[test]
    fn bad_address_names_line() {
        let mut text = write_leases(&[sample()]);
        text.push_str("10.0.0.x,,,600,1800000000,3,0,0,,0,,0\n");
        let err = read_leases(&text).unwrap_err();
        assert_eq!(err.to_string(), "line 3: invalid address \"10.0.0.x\"");
    }

    #[test]
    fn missing_pool_id_column_defaults_to_zero() {
        let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,\
                    hostname,state,user_context\n10.0.0.1,01:02,,60,100,1,0,0,h,0,\n";
        let leases = read_leases(text).unwrap();
        assert_eq!(leases[0].pool_id, 0);
        assert_eq!(leases[0].hwaddr, vec![1, 2]);
    }

    #[test]
    fn wrong_field_count_is_refused() {
        let err = read_leases(&format!("{HEADER}\n10.0.0.1,01\n")).unwrap_err();
        assert_eq!(err.line, 2);
    }
}
