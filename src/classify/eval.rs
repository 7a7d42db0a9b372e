//! Evaluation of a typed tree against one received packet, with Kea's semantics.
//!
//! Values are byte strings; `==` compares bytes. A missing option reads as `""` for
//! `.hex`/`.text` and `false` for `.exists`. Integer fields (`pkt4.hlen`, `pkt.len`, …)
//! and integer literals are 4 bytes in network order. Conversions that Kea refuses
//! (`addrtotext` of 5 bytes, `uint16totext` of 3 bytes) are an [`EvalError`]: the whole
//! test then counts as not matched. Nothing here panics on packet data.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ast::{BoolExpr, IntKind, Pkt4Field, PktField, Repr, StrExpr};
use super::packet::{class_tuple, option_payload, option_text, sub_option, vendor_block};
use super::{names, EvalError, Packet};

/// Option 82, relay agent information.
const RELAY_AGENT_INFO: u8 = 82;
/// Option 124, vendor-identifying vendor class.
const VIVCO: u8 = 124;
/// Option 125, vendor-identifying vendor-specific information.
const VIVSO: u8 = 125;

type Res<T> = Result<T, EvalError>;

/// A packet plus the classes it belongs to so far.
pub(crate) struct Env<'a> {
    pub pkt: &'a Packet<'a>,
    pub classes: &'a [String],
}

impl Env<'_> {
    /// Evaluate a condition.
    pub(crate) fn truth(&self, e: &BoolExpr) -> Res<bool> {
        Ok(match e {
            BoolExpr::Not(a) => !self.truth(a)?,
            BoolExpr::And(a, b) => self.truth(a)? && self.truth(b)?,
            BoolExpr::Or(a, b) => self.truth(a)? || self.truth(b)?,
            BoolExpr::Equal(a, b) => self.value(a)? == self.value(b)?,
            BoolExpr::OptionExists(c) => self.payload(*c).is_some(),
            BoolExpr::SubOptionExists(c, s) => self
                .payload(*c)
                .is_some_and(|p| sub_option(&p, *s).is_some()),
            BoolExpr::Relay4Exists(s) => self
                .payload(RELAY_AGENT_INFO)
                .is_some_and(|p| sub_option(&p, *s).is_some()),
            BoolExpr::VendorExists(ent) => self
                .payload(VIVSO)
                .is_some_and(|p| vendor_block(&p, *ent).is_some()),
            BoolExpr::VendorOptionExists(ent, c) => self.payload(VIVSO).is_some_and(|p| {
                vendor_block(&p, *ent).is_some_and(|b| sub_option(b.data, *c).is_some())
            }),
            BoolExpr::VendorClassExists(ent) => self
                .payload(VIVCO)
                .is_some_and(|p| vendor_block(&p, *ent).is_some()),
            BoolExpr::Member(name) => self.classes.iter().any(|c| c == name),
        })
    }

    /// Evaluate a value.
    pub(crate) fn value(&self, e: &StrExpr) -> Res<Vec<u8>> {
        Ok(match e {
            StrExpr::Literal(b) => b.clone(),
            StrExpr::Option(c, r) => self.payload(*c).map_or_else(Vec::new, |p| match r {
                Repr::Hex => p,
                Repr::Text => option_text(&p, names::scalar_type(*c)),
            }),
            StrExpr::SubOption(c, s, _) => self.sub(*c, *s),
            StrExpr::Relay4(s, _) => self.sub(RELAY_AGENT_INFO, *s),
            StrExpr::Pkt(f) => self.pkt_field(*f),
            StrExpr::Pkt4(f) => self.pkt4_field(*f),
            StrExpr::VendorEnterprise => self.enterprise(VIVSO),
            StrExpr::VendorClassEnterprise => self.enterprise(VIVCO),
            StrExpr::VendorOption(ent, c, _) => self
                .payload(VIVSO)
                .and_then(|p| {
                    let b = vendor_block(&p, *ent)?;
                    sub_option(b.data, *c).map(<[u8]>::to_vec)
                })
                .unwrap_or_default(),
            StrExpr::VendorClassData(ent, i) => self
                .payload(VIVCO)
                .and_then(|p| {
                    let b = vendor_block(&p, *ent)?;
                    class_tuple(b.data, *i).map(<[u8]>::to_vec)
                })
                .unwrap_or_default(),
            StrExpr::Substring(s, start, len) => substring(&self.value(s)?, *start, *len),
            StrExpr::Split(s, d, field) => split(&self.value(s)?, &self.value(d)?, *field),
            StrExpr::Concat(a, b) => {
                let mut v = self.value(a)?;
                v.extend(self.value(b)?);
                v
            }
            StrExpr::IfElse(c, a, b) => {
                if self.truth(c)? {
                    self.value(a)?
                } else {
                    self.value(b)?
                }
            }
            StrExpr::HexString(s, sep) => hexstring(&self.value(s)?, &self.value(sep)?),
            StrExpr::Lcase(s) => self.value(s)?.to_ascii_lowercase(),
            StrExpr::Ucase(s) => self.value(s)?.to_ascii_uppercase(),
            StrExpr::AddrToText(s) => addr_to_text(&self.value(s)?)?,
            StrExpr::IntToText(k, s) => int_to_text(*k, &self.value(s)?)?,
        })
    }

    fn payload(&self, code: u8) -> Option<Vec<u8>> {
        option_payload(&self.pkt.ctx.msg, code)
    }

    fn sub(&self, code: u8, sub: u8) -> Vec<u8> {
        self.payload(code)
            .and_then(|p| sub_option(&p, sub).map(<[u8]>::to_vec))
            .unwrap_or_default()
    }

    fn enterprise(&self, code: u8) -> Vec<u8> {
        self.payload(code)
            .and_then(|p| vendor_block(&p, 0).map(|b| b.enterprise.to_be_bytes().to_vec()))
            .unwrap_or_default()
    }

    fn pkt_field(&self, f: PktField) -> Vec<u8> {
        let ctx = self.pkt.ctx;
        match f {
            PktField::Iface => ctx.meta.iface.as_bytes().to_vec(),
            PktField::Src => ctx.meta.src.ip().octets().to_vec(),
            PktField::Dst => self
                .pkt
                .dst
                .or_else(|| ctx.meta.server_addr())
                .map(|a| a.octets().to_vec())
                .unwrap_or_default(),
            PktField::Len => u32::try_from(self.pkt.pkt_len)
                .unwrap_or(u32::MAX)
                .to_be_bytes()
                .to_vec(),
        }
    }

    fn pkt4_field(&self, f: Pkt4Field) -> Vec<u8> {
        let ctx = self.pkt.ctx;
        let msg = &ctx.msg;
        let word = |v: u32| v.to_be_bytes().to_vec();
        let addr = |a: Ipv4Addr| a.octets().to_vec();
        match f {
            Pkt4Field::Mac => ctx.hwaddr.clone(),
            Pkt4Field::Hlen => word(u32::from(msg.hlen())),
            Pkt4Field::Htype => word(u32::from(u8::from(msg.htype()))),
            Pkt4Field::Ciaddr => addr(msg.ciaddr()),
            Pkt4Field::Giaddr => addr(msg.giaddr()),
            Pkt4Field::Yiaddr => addr(msg.yiaddr()),
            Pkt4Field::Siaddr => addr(msg.siaddr()),
            Pkt4Field::MsgType => word(u32::from(u8::from(ctx.msg_type))),
            Pkt4Field::TransId => word(msg.xid()),
        }
    }
}

/// Kea's `substring`: negative start counts from the end, negative length takes bytes
/// before the start; out-of-range start gives `""`.
pub(crate) fn substring(s: &[u8], start: i64, len: Option<i64>) -> Vec<u8> {
    let n = s.len() as i64;
    if s.is_empty() || start < -n || start >= n {
        return Vec::new();
    }
    let mut start = if start < 0 { n + start } else { start };
    let mut len = len.unwrap_or(n);
    if len < 0 {
        len = -len;
        if len <= start {
            start -= len;
        } else {
            len = start;
            start = 0;
        }
    }
    let end = start.saturating_add(len).min(n);
    s[start as usize..end as usize].to_vec()
}

/// Kea's `split`: field `field` (1-based) of `s` cut at any byte of `delims`.
pub(crate) fn split(s: &[u8], delims: &[u8], field: i64) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    if delims.is_empty() {
        return s.to_vec();
    }
    let fields: Vec<&[u8]> = s.split(|b| delims.contains(b)).collect();
    usize::try_from(field)
        .ok()
        .and_then(|f| f.checked_sub(1))
        .and_then(|i| fields.get(i))
        .map_or_else(Vec::new, |f| f.to_vec())
}

/// Two lower-case hex digits per byte, joined by `sep`.
pub(crate) fn hexstring(s: &[u8], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * (2 + sep.len()));
    for (i, b) in s.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

fn addr_to_text(s: &[u8]) -> Res<Vec<u8>> {
    let text = match s.len() {
        0 => return Ok(Vec::new()),
        4 => Ipv4Addr::new(s[0], s[1], s[2], s[3]).to_string(),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(s);
            Ipv6Addr::from(b).to_string()
        }
        n => {
            return Err(EvalError::new(format!(
                "addrtotext: {n} bytes is not an address"
            )))
        }
    };
    Ok(text.into_bytes())
}

fn int_to_text(kind: IntKind, s: &[u8]) -> Res<Vec<u8>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let (want, name) = match kind {
        IntKind::I8 => (1, "int8"),
        IntKind::U8 => (1, "uint8"),
        IntKind::I16 => (2, "int16"),
        IntKind::U16 => (2, "uint16"),
        IntKind::I32 => (4, "int32"),
        IntKind::U32 => (4, "uint32"),
    };
    if s.len() != want {
        return Err(EvalError::new(format!(
            "{name}totext: {} bytes cannot be converted to {name}",
            s.len()
        )));
    }
    let mut be = [0u8; 4];
    be[4 - want..].copy_from_slice(s);
    let u = u32::from_be_bytes(be);
    let text = match kind {
        IntKind::I8 => (u as u8 as i8).to_string(),
        IntKind::I16 => (u as u16 as i16).to_string(),
        IntKind::I32 => (u as i32).to_string(),
        IntKind::U8 | IntKind::U16 | IntKind::U32 => u.to_string(),
    };
    Ok(text.into_bytes())
}
