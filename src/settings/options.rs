//! Standard DHCPv4 option definitions (Kea's names, codes and types) and the
//! encoding of an `option-data` `data` string into wire bytes, following Kea's rules:
//! with `csv-format` (default true) the text is comma-separated values parsed by type;
//! without it, `data` is hex (`0A 0B`, `0a:0b`, `0x0a0b`).

use std::net::Ipv4Addr;

/// One option definition: Kea type name (`ipv4-address`, `uint16`, `record`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdOption {
    /// Kea name.
    pub name: &'static str,
    /// Code.
    pub code: u8,
    /// Kea type name.
    pub option_type: &'static str,
    /// Whether `data` is a list of values.
    pub array: bool,
}

const fn o(name: &'static str, code: u8, option_type: &'static str, array: bool) -> StdOption {
    StdOption {
        name,
        code,
        option_type,
        array,
    }
}

const IP: &str = "ipv4-address";

/// The standard DHCPv4 options shoal knows by name (a subset of Kea's table).
pub const STANDARD: &[StdOption] = &[
    o("subnet-mask", 1, IP, false),
    o("time-offset", 2, "int32", false),
    o("routers", 3, IP, true),
    o("time-servers", 4, IP, true),
    o("name-servers", 5, IP, true),
    o("domain-name-servers", 6, IP, true),
    o("log-servers", 7, IP, true),
    o("cookie-servers", 8, IP, true),
    o("lpr-servers", 9, IP, true),
    o("impress-servers", 10, IP, true),
    o("resource-location-servers", 11, IP, true),
    o("host-name", 12, "string", false),
    o("boot-size", 13, "uint16", false),
    o("merit-dump", 14, "string", false),
    o("domain-name", 15, "string", false),
    o("swap-server", 16, IP, false),
    o("root-path", 17, "string", false),
    o("extensions-path", 18, "string", false),
    o("ip-forwarding", 19, "boolean", false),
    o("non-local-source-routing", 20, "boolean", false),
    o("policy-filter", 21, IP, true),
    o("max-dgram-reassembly", 22, "uint16", false),
    o("default-ip-ttl", 23, "uint8", false),
    o("path-mtu-aging-timeout", 24, "uint32", false),
    o("path-mtu-plateau-table", 25, "uint16", true),
    o("interface-mtu", 26, "uint16", false),
    o("all-subnets-local", 27, "boolean", false),
    o("broadcast-address", 28, IP, false),
    o("perform-mask-discovery", 29, "boolean", false),
    o("mask-supplier", 30, "boolean", false),
    o("router-discovery", 31, "boolean", false),
    o("router-solicitation-address", 32, IP, false),
    o("static-routes", 33, IP, true),
    o("trailer-encapsulation", 34, "boolean", false),
    o("arp-cache-timeout", 35, "uint32", false),
    o("ieee802-3-encapsulation", 36, "boolean", false),
    o("default-tcp-ttl", 37, "uint8", false),
    o("tcp-keepalive-interval", 38, "uint32", false),
    o("tcp-keepalive-garbage", 39, "boolean", false),
    o("nis-domain", 40, "string", false),
    o("nis-servers", 41, IP, true),
    o("ntp-servers", 42, IP, true),
    o("vendor-encapsulated-options", 43, "binary", false),
    o("netbios-name-servers", 44, IP, true),
    o("netbios-dd-server", 45, IP, true),
    o("netbios-node-type", 46, "uint8", false),
    o("netbios-scope", 47, "string", false),
    o("font-servers", 48, IP, true),
    o("x-display-manager", 49, IP, true),
    o("dhcp-message", 56, "string", false),
    o("dhcp-max-message-size", 57, "uint16", false),
    o("vendor-class-identifier", 60, "string", false),
    o("nwip-domain-name", 62, "string", false),
    o("nwip-suboptions", 63, "binary", false),
    o("nisplus-domain-name", 64, "string", false),
    o("nisplus-servers", 65, IP, true),
    o("tftp-server-name", 66, "string", false),
    o("boot-file-name", 67, "string", false),
    o("mobile-ip-home-agent", 68, IP, true),
    o("smtp-server", 69, IP, true),
    o("pop-server", 70, IP, true),
    o("nntp-server", 71, IP, true),
    o("www-server", 72, IP, true),
    o("finger-server", 73, IP, true),
    o("irc-server", 74, IP, true),
    o("streettalk-server", 75, IP, true),
    o("streettalk-directory-assistance-server", 76, IP, true),
    o("user-class", 77, "binary", false),
    o("nds-servers", 85, IP, true),
    o("nds-tree-name", 86, "string", false),
    o("nds-context", 87, "string", false),
    o("bcms-controller-names", 88, "fqdn", true),
    o("bcms-controller-address", 89, IP, true),
    o("client-last-transaction-time", 91, "uint32", false),
    o("associated-ip", 92, IP, true),
    o("client-system", 93, "uint16", true),
    o("uap-servers", 98, "string", false),
    o("pcode", 100, "string", false),
    o("tcode", 101, "string", false),
    o("v6-only-preferred", 108, "uint32", false),
    o("netinfo-server-address", 112, IP, true),
    o("netinfo-server-tag", 113, "string", false),
    o("v4-captive-portal", 114, "string", false),
    o("auto-config", 116, "uint8", false),
    o("name-service-search", 117, "uint16", true),
    o("subnet-selection", 118, IP, false),
    o("domain-search", 119, "fqdn", true),
    o("classless-static-route", 121, "internal", false),
    o("pana-agent", 136, IP, true),
    o("v4-lost", 137, "fqdn", false),
    o("capwap-ac-v4", 138, IP, true),
    o("sip-ua-cs-domains", 141, "fqdn", true),
    o("v4-access-domain", 213, "fqdn", false),
];

/// Codes the server fills in itself; configuring them is refused.
pub fn server_managed(code: u8) -> Option<&'static str> {
    match code {
        0 | 255 => Some("is pad/end, not an option"),
        50..=55 | 61 | 82 => Some("is managed by the server"),
        58 | 59 => Some("is managed by the server; set renew-timer / rebind-timer instead"),
        _ => None,
    }
}

/// Look up a standard option by name.
pub fn by_name(name: &str) -> Option<&'static StdOption> {
    STANDARD.iter().find(|d| d.name == name)
}

/// Look up a standard option by code.
pub fn by_code(code: u8) -> Option<&'static StdOption> {
    STANDARD.iter().find(|d| d.code == code)
}

/// Kea type names accepted in `option-def` (and record fields, except `record`).
pub const TYPES: &[&str] = &[
    "empty",
    "binary",
    "boolean",
    "int8",
    "int16",
    "int32",
    "uint8",
    "uint16",
    "uint32",
    "ipv4-address",
    "string",
    "fqdn",
    "record",
];

/// Parse hex in Kea's accepted spellings: `0a0b`, `0x0a0b`, `0a:0b`, `0a 0b`, `a:b`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let bad = || format!("{text:?} is not hex");
    if t.contains([':', ' ']) {
        return t
            .split([':', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.len() <= 2 {
                    u8::from_str_radix(s, 16).map_err(|_| bad())
                } else {
                    Err(bad())
                }
            })
            .collect();
    }
    let padded = if t.len() % 2 == 1 {
        format!("0{t}")
    } else {
        t.to_string()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| {
            padded
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

/// Encode `data` for an option of Kea type `option_type`.
pub fn encode(
    option_type: &str,
    array: bool,
    record_types: &[String],
    data: &str,
    csv: bool,
) -> Result<Vec<u8>, String> {
    if !csv {
        return parse_hex(data);
    }
    match option_type {
        "empty" if data.trim().is_empty() => Ok(Vec::new()),
        "empty" => Err("this option carries no data; data must be empty".into()),
        "internal" => encode_classless_routes(data),
        "record" => encode_record(record_types, array, data),
        _ if array => {
            let mut out = Vec::new();
            for v in split_csv(data) {
                out.extend(encode_scalar(option_type, &v)?);
            }
            if out.is_empty() {
                return Err("needs at least one value".into());
            }
            Ok(out)
        }
        "string" => {
            let s = data.replace("\\,", ",");
            if s.is_empty() {
                return Err("a string option must not be empty".into());
            }
            Ok(s.into_bytes())
        }
        _ => encode_scalar(option_type, data.trim()),
    }
}

fn split_csv(data: &str) -> Vec<String> {
    data.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn encode_record(types: &[String], array: bool, data: &str) -> Result<Vec<u8>, String> {
    let values = split_csv(data);
    let enough = if array {
        values.len() >= types.len()
    } else {
        values.len() == types.len()
    };
    if !enough || types.is_empty() {
        return Err(format!(
            "expected {} comma-separated values ({}), found {}",
            types.len(),
            types.join(", "),
            values.len()
        ));
    }
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let t = types
            .get(i)
            .or(types.last())
            .map_or("binary", String::as_str);
        out.extend(encode_scalar(t, v)?);
    }
    Ok(out)
}

fn parse_int(v: &str) -> Option<i64> {
    match v.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Encode one value of a scalar type.
pub fn encode_scalar(t: &str, v: &str) -> Result<Vec<u8>, String> {
    let int = |lo: i64, hi: i64| -> Result<i64, String> {
        match parse_int(v) {
            Some(n) if (lo..=hi).contains(&n) => Ok(n),
            Some(n) => Err(format!("{n} is out of range {lo}..={hi} for {t}")),
            None => Err(format!("{v:?} is not an integer ({t})")),
        }
    };
    Ok(match t {
        "ipv4-address" => v
            .parse::<Ipv4Addr>()
            .map_err(|_| format!("{v:?} is not an IPv4 address"))?
            .octets()
            .to_vec(),
        "uint8" => vec![int(0, 255)? as u8],
        "uint16" => (int(0, 65535)? as u16).to_be_bytes().to_vec(),
        "uint32" => (int(0, i64::from(u32::MAX))? as u32).to_be_bytes().to_vec(),
        "int8" => (int(-128, 127)? as i8).to_be_bytes().to_vec(),
        "int16" => (int(-32768, 32767)? as i16).to_be_bytes().to_vec(),
        "int32" => (int(i64::from(i32::MIN), i64::from(i32::MAX))? as i32)
            .to_be_bytes()
            .to_vec(),
        "boolean" => match v {
            "true" | "1" => vec![1],
            "false" | "0" => vec![0],
            _ => return Err(format!("{v:?} is not a boolean (true or false)")),
        },
        "string" if !v.is_empty() => v.as_bytes().to_vec(),
        "fqdn" => encode_fqdn(v)?,
        "binary" => parse_hex(v)?,
        _ => return Err(format!("cannot encode {v:?} as {t}")),
    })
}

/// RFC 1035 label encoding (no compression), trailing root label included.
pub fn encode_fqdn(name: &str) -> Result<Vec<u8>, String> {
    let trimmed = name.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("an empty domain name".into());
    }
    let mut out = Vec::new();
    for label in trimmed.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name:?} has an empty or over-long (>63) label"));
        }
        out.push(label.len() as u8);
        out.extend(label.as_bytes());
    }
    out.push(0);
    if out.len() > 255 {
        return Err(format!("{name:?} is longer than 255 octets"));
    }
    Ok(out)
}

/// RFC 3442 from Kea's text form `10.0.0.0/8 - 10.1.1.1, 0.0.0.0/0 - 192.0.2.1`.
pub fn encode_classless_routes(data: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for route in split_csv(data) {
        let (dest, router) = route
            .split_once('-')
            .ok_or_else(|| format!("{route:?} is not \"prefix/len - router\""))?;
        let net: ipnet::Ipv4Net = dest
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not a prefix", dest.trim()))?;
        let router: Ipv4Addr = router
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not an IPv4 address", router.trim()))?;
        let len = net.prefix_len();
        out.push(len);
        out.extend(&net.network().octets()[..usize::from(len.div_ceil(8))]);
        out.extend(router.octets());
    }
    if out.is_empty() {
        return Err("needs at least one route".into());
    }
    Ok(out)
}
