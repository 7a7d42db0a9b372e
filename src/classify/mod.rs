//! Client classification with Kea's expression language.
//!
//! A class `test` such as `substring(option[60].hex,0,6) == 'Aastra'` is parsed once, at
//! configuration load, into a typed tree ([`Expression`]); a [`ClassSet`] holds every
//! class in definition order and evaluates them per packet.
//!
//! Invariants:
//! - A test is a condition; a value at the top (`option[60].hex`) is refused at load.
//! - `member('x')` may name only a class defined *earlier* or a built-in one, so
//!   evaluation in definition order never needs a class not yet decided (as in Kea).
//! - Evaluation never panics on packet data; an expression Kea would reject at run time
//!   (`uint16totext` of 3 bytes) makes its class not match.
//!
//! Layout: `lexer` → `parser` + `terms` (a typed tree, `ast`) → `eval` (over `packet`,
//! the wire views of a dhcproto message); `names` maps option names to codes; `set`
//! holds [`ClassSet`].

mod ast;
mod eval;
mod lexer;
mod names;
mod packet;
mod parser;
mod set;
mod terms;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eval;

use std::net::Ipv4Addr;

use crate::dhcp::v4::Ctx;

pub use set::{is_builtin, ClassError, ClassSet};

use ast::{BoolExpr, StrExpr};
use parser::Node;

/// A syntax or type error in an expression, at a 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column of the offending token.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        ParseError {
            column,
            message: message.into(),
        }
    }
}

/// A run-time evaluation failure (Kea's `EvalTypeError`); the test does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(String);

impl EvalError {
    fn new(message: impl Into<String>) -> Self {
        EvalError(message.into())
    }
}

/// What an expression is evaluated against: the parsed message plus what the context
/// does not record.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The received message.
    pub ctx: &'a Ctx,
    /// Datagram length in bytes (`pkt.len`).
    pub pkt_len: usize,
    /// Destination address (`pkt.dst`); `None` reads the interface's primary address.
    pub dst: Option<Ipv4Addr>,
}

impl<'a> Packet<'a> {
    /// A packet view with `dst` taken from the interface.
    pub fn new(ctx: &'a Ctx, pkt_len: usize) -> Self {
        Packet {
            ctx,
            pkt_len,
            dst: None,
        }
    }
}

/// A parsed boolean expression (a class `test`).
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    root: BoolExpr,
    members: Vec<(String, usize)>,
}

impl Expression {
    /// Parse a condition; a value-typed expression is an error.
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        let parsed = parser::parse(text)?;
        match parsed.node {
            Node::Bool(root) => Ok(Expression {
                root,
                members: parsed.members,
            }),
            Node::Str(_) => Err(ParseError::new(
                parsed.col,
                "the expression is a value, not a condition (a test needs e.g. \
                 `... == ...`, `.exists` or `member(...)`)",
            )),
        }
    }

    /// The class names given to `member()` (and `known`/`unknown` as `KNOWN`/`UNKNOWN`
    /// are not listed), each with the column of its quoted name.
    pub fn members(&self) -> impl Iterator<Item = (&str, usize)> {
        self.members.iter().map(|(n, c)| (n.as_str(), *c))
    }

    /// Whether the expression asks about `KNOWN`/`UNKNOWN` directly.
    fn asks_known(&self) -> bool {
        fn walk(e: &BoolExpr) -> bool {
            match e {
                BoolExpr::Member(n) => n == "KNOWN" || n == "UNKNOWN",
                BoolExpr::Not(a) => walk(a),
                BoolExpr::And(a, b) | BoolExpr::Or(a, b) => walk(a) || walk(b),
                BoolExpr::Equal(a, b) => walk_str(a) || walk_str(b),
                _ => false,
            }
        }
        fn walk_str(e: &StrExpr) -> bool {
            match e {
                StrExpr::IfElse(c, a, b) => walk(c) || walk_str(a) || walk_str(b),
                StrExpr::Substring(s, ..)
                | StrExpr::Lcase(s)
                | StrExpr::Ucase(s)
                | StrExpr::AddrToText(s)
                | StrExpr::IntToText(_, s) => walk_str(s),
                StrExpr::Split(a, b, _) | StrExpr::Concat(a, b) | StrExpr::HexString(a, b) => {
                    walk_str(a) || walk_str(b)
                }
                _ => false,
            }
        }
        walk(&self.root)
    }

    /// Evaluate against `pkt`, with `classes` the classes the packet belongs to so far.
    pub fn evaluate(&self, pkt: &Packet<'_>, classes: &[String]) -> Result<bool, EvalError> {
        eval::Env { pkt, classes }.truth(&self.root)
    }
}

/// A parsed value expression (Kea's "top-level string" form, e.g. for templates).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueExpression {
    root: StrExpr,
}

impl ValueExpression {
    /// Parse a value; a condition is an error.
    pub fn parse(text: &str) -> Result<ValueExpression, ParseError> {
        let parsed = parser::parse(text)?;
        match parsed.node {
            Node::Str(root) => Ok(ValueExpression { root }),
            Node::Bool(_) => Err(ParseError::new(
                parsed.col,
                "the expression is a condition, not a value",
            )),
        }
    }

    /// Evaluate to bytes.
    pub fn evaluate(&self, pkt: &Packet<'_>, classes: &[String]) -> Result<Vec<u8>, EvalError> {
        eval::Env { pkt, classes }.value(&self.root)
    }
}
