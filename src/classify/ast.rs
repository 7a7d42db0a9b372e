//! The typed syntax tree a parsed expression compiles to.
//!
//! Invariant: the split into [`BoolExpr`] and [`StrExpr`] is Kea's `bool_expr` /
//! `string_expr`; the parser only builds well-typed trees, so evaluation never meets a
//! boolean where bytes are expected or the other way round.

/// How an option's content is rendered (`.hex` or `.text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    /// Raw bytes.
    Hex,
    /// Textual form (strings as-is, addresses dotted, integers in decimal).
    Text,
}

/// `pkt.<field>` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PktField {
    Iface,
    Src,
    Dst,
    Len,
}

/// `pkt4.<field>` header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkt4Field {
    Mac,
    Hlen,
    Htype,
    Ciaddr,
    Giaddr,
    Yiaddr,
    Siaddr,
    MsgType,
    TransId,
}

/// The integer conversions `int8totext` … `uint32totext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntKind {
    I8,
    I16,
    I32,
    U8,
    U16,
    U32,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BoolExpr {
    Not(Box<BoolExpr>),
    And(Box<BoolExpr>, Box<BoolExpr>),
    Or(Box<BoolExpr>, Box<BoolExpr>),
    Equal(Box<StrExpr>, Box<StrExpr>),
    /// `option[c].exists`
    OptionExists(u8),
    /// `option[c].option[s].exists`
    SubOptionExists(u8, u8),
    /// `relay4[s].exists`
    Relay4Exists(u8),
    /// `vendor[e].exists` (0 = any)
    VendorExists(u32),
    /// `vendor[e].option[c].exists`
    VendorOptionExists(u32, u8),
    /// `vendor-class[e].exists`
    VendorClassExists(u32),
    /// `member('name')`, `known` (= `member('KNOWN')`), `unknown` (= `member('UNKNOWN')`)
    Member(String),
}

/// A byte-string value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StrExpr {
    /// String, hex, address or integer (4 bytes, network order) literal.
    Literal(Vec<u8>),
    Option(u8, Repr),
    SubOption(u8, u8, Repr),
    Relay4(u8, Repr),
    Pkt(PktField),
    Pkt4(Pkt4Field),
    /// `vendor.enterprise`
    VendorEnterprise,
    /// `vendor[e].option[c].hex|text`
    VendorOption(u32, u8, Repr),
    /// `vendor-class.enterprise`
    VendorClassEnterprise,
    /// `vendor-class[e].data[i]`
    VendorClassData(u32, u8),
    /// `substring(s, start, length)`; `None` length = `all`.
    Substring(Box<StrExpr>, i64, Option<i64>),
    /// `split(s, delimiters, field)`
    Split(Box<StrExpr>, Box<StrExpr>, i64),
    Concat(Box<StrExpr>, Box<StrExpr>),
    IfElse(Box<BoolExpr>, Box<StrExpr>, Box<StrExpr>),
    HexString(Box<StrExpr>, Box<StrExpr>),
    Lcase(Box<StrExpr>),
    Ucase(Box<StrExpr>),
    AddrToText(Box<StrExpr>),
    IntToText(IntKind, Box<StrExpr>),
}
