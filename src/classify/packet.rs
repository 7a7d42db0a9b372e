//! Wire-level views of a decoded DHCPv4 message for the evaluator: an option's raw
//! payload, sub-options, and the vendor options 124/125 (RFC 3925).
//!
//! dhcproto keeps options typed, so a payload is obtained by re-encoding the one option
//! and joining its RFC 3396 chunks; for typed options this gives the canonical encoding
//! of what was received. Malformed sub-option areas read as "no such sub-option".

use dhcproto::v4::{DhcpOption, Message, OptionCode};
use dhcproto::{Encodable, Encoder};

/// The payload of option `code`, or `None` when the message does not carry it.
pub(crate) fn option_payload(msg: &Message, code: u8) -> Option<Vec<u8>> {
    if code == 0 || code == 255 {
        return None;
    }
    let opt: &DhcpOption = msg.opts().get(OptionCode::from(code))?;
    let mut wire = Vec::new();
    opt.encode(&mut Encoder::new(&mut wire)).ok()?;
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < wire.len() {
        let len = usize::from(wire[i + 1]);
        let data = wire.get(i + 2..i + 2 + len)?;
        if wire[i] == code {
            out.extend_from_slice(data);
        }
        i += 2 + len;
    }
    Some(out)
}

/// Sub-option `code` in a `code, len, data` area; `None` when absent or malformed.
pub(crate) fn sub_option(area: &[u8], code: u8) -> Option<&[u8]> {
    let mut found = None;
    let mut i = 0;
    while i < area.len() {
        let c = area[i];
        if c == 0 || c == 255 {
            i += 1;
            continue;
        }
        let len = usize::from(*area.get(i + 1)?);
        let data = area.get(i + 2..i + 2 + len)?;
        if c == code && found.is_none() {
            found = Some(data);
        }
        i += 2 + len;
    }
    found
}

/// One enterprise block of option 124 or 125: `enterprise (4), len (1), data`.
pub(crate) struct VendorBlock<'a> {
    pub enterprise: u32,
    pub data: &'a [u8],
}

/// The enterprise blocks of a 124/125 payload; stops at the first malformed one.
pub(crate) fn vendor_blocks(payload: &[u8]) -> Vec<VendorBlock<'_>> {
    let mut out = Vec::new();
    let mut rest = payload;
    while rest.len() >= 5 {
        let enterprise = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let len = usize::from(rest[4]);
        let Some(data) = rest.get(5..5 + len) else {
            break;
        };
        out.push(VendorBlock { enterprise, data });
        rest = &rest[5 + len..];
    }
    out
}

/// The block for `enterprise` (0 = the first one).
pub(crate) fn vendor_block(payload: &[u8], enterprise: u32) -> Option<VendorBlock<'_>> {
    vendor_blocks(payload)
        .into_iter()
        .find(|b| enterprise == 0 || b.enterprise == enterprise)
}

/// Opaque data item `index` of a vendor-class block (each item is `len (1), data`).
pub(crate) fn class_tuple(data: &[u8], index: u8) -> Option<&[u8]> {
    let mut rest = data;
    let mut n = 0;
    while let Some(&len) = rest.first() {
        let item = rest.get(1..1 + usize::from(len))?;
        if n == index {
            return Some(item);
        }
        n += 1;
        rest = &rest[1 + usize::from(len)..];
    }
    None
}

/// `.text` of an option with Kea type `ty` (when known): addresses dotted, integers and
/// booleans as words; anything else is the payload itself.
pub(crate) fn option_text(payload: &[u8], ty: Option<&str>) -> Vec<u8> {
    let text = match (ty, payload.len()) {
        (Some("ipv4-address"), 4) => Some(
            std::net::Ipv4Addr::new(payload[0], payload[1], payload[2], payload[3]).to_string(),
        ),
        (Some("uint8"), 1) => Some(payload[0].to_string()),
        (Some("int8"), 1) => Some((payload[0] as i8).to_string()),
        (Some("uint16"), 2) => Some(u16::from_be_bytes([payload[0], payload[1]]).to_string()),
        (Some("int16"), 2) => Some(i16::from_be_bytes([payload[0], payload[1]]).to_string()),
        (Some("uint32"), 4) => {
            Some(u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]).to_string())
        }
        (Some("int32"), 4) => {
            Some(i32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]).to_string())
        }
        (Some("boolean"), 1) => Some((payload[0] != 0).to_string()),
        _ => None,
    };
    text.map_or_else(|| payload.to_vec(), String::into_bytes)
}
