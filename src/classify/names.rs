//! Option names usable in `option[name]`, and option types used by `.text`.
//!
//! Names come from [`crate::settings::options::STANDARD`]; that table leaves out the
//! options the server manages itself (50–55, 58, 59, 61, 82, …), which are exactly the
//! ones classification tests read most, so they are added here under Kea's names.

use crate::settings::options;

/// Kea names and types of the DHCPv4 options missing from the settings table.
const EXTRA: &[(&str, u8, &str)] = &[
    ("dhcp-requested-address", 50, "ipv4-address"),
    ("dhcp-lease-time", 51, "uint32"),
    ("dhcp-option-overload", 52, "uint8"),
    ("dhcp-message-type", 53, "uint8"),
    ("dhcp-server-identifier", 54, "ipv4-address"),
    ("dhcp-parameter-request-list", 55, "binary"),
    ("dhcp-renewal-time", 58, "uint32"),
    ("dhcp-rebinding-time", 59, "uint32"),
    ("dhcp-client-identifier", 61, "binary"),
    ("fqdn", 81, "record"),
    ("dhcp-agent-options", 82, "empty"),
    ("authenticate", 90, "binary"),
    ("client-ndi", 94, "record"),
    ("uuid-guid", 97, "record"),
    ("vivco-suboptions", 124, "record"),
    ("vivso-suboptions", 125, "binary"),
];

/// The code of the option called `name`.
pub(crate) fn code_by_name(name: &str) -> Option<u8> {
    options::by_name(name)
        .map(|o| o.code)
        .or_else(|| EXTRA.iter().find(|e| e.0 == name).map(|e| e.1))
}

/// The Kea type of a single-valued option `code`, when it is known and not an array.
pub(crate) fn scalar_type(code: u8) -> Option<&'static str> {
    match options::by_code(code) {
        Some(o) if o.array => None,
        Some(o) => Some(o.option_type),
        None => EXTRA.iter().find(|e| e.1 == code).map(|e| e.2),
    }
}
