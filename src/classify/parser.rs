//! Recursive-descent parser for Kea's expression grammar (`src/lib/eval/parser.yy`).
//!
//! Precedence, loosest first: `or`, `and`, `not`, `==`, `+`. Every node is typed as a
//! condition or a value while it is built, so a type mistake is reported at the column
//! of the offending operand, and the caller decides which type the whole must have.
//! `member('x')` references are collected with their columns for the class-order check.

use super::ast::{BoolExpr, IntKind, StrExpr};
use super::lexer::{tokenize, Spanned, Tok};
use super::ParseError;

/// A parsed (sub)expression of either type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Bool(BoolExpr),
    Str(StrExpr),
}

/// The result of parsing a whole expression.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub node: Node,
    /// Column where the expression starts.
    pub col: usize,
    /// `member()` names with the column of the name.
    pub members: Vec<(String, usize)>,
}

/// Parse `text` into a typed tree.
pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
        members: Vec::new(),
    };
    let (node, col) = p.expr()?;
    let next = p.peek();
    if next.tok != Tok::End {
        return Err(ParseError::new(
            next.col,
            format!(
                "unexpected {} after a complete expression",
                next.tok.describe()
            ),
        ));
    }
    Ok(Parsed {
        node,
        col,
        members: p.members,
    })
}

/// Parser state: the tokens, the cursor and the `member()` names seen.
pub(super) struct Parser {
    pub(super) toks: Vec<Spanned>,
    pub(super) pos: usize,
    pub(super) members: Vec<(String, usize)>,
}

pub(super) type Res<T> = Result<T, ParseError>;

impl Parser {
    pub(super) fn peek(&self) -> &Spanned {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    pub(super) fn next(&mut self) -> Spanned {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x == w)
    }

    pub(super) fn expect(&mut self, tok: Tok, after: &str) -> Res<()> {
        let t = self.next();
        if t.tok == tok {
            return Ok(());
        }
        Err(ParseError::new(
            t.col,
            format!(
                "expected {} {after}, found {}",
                tok.describe(),
                t.tok.describe()
            ),
        ))
    }

    pub(super) fn expect_word(&mut self, choices: &[&str], after: &str) -> Res<String> {
        let t = self.next();
        match t.tok {
            Tok::Word(w) if choices.contains(&w.as_str()) => Ok(w),
            other => Err(ParseError::new(
                t.col,
                format!(
                    "expected {} {after}, found {}",
                    choices.join(" or "),
                    other.describe()
                ),
            )),
        }
    }

    /// Any expression, with the column where it starts.
    pub(super) fn expr(&mut self) -> Res<(Node, usize)> {
        let (mut left, col) = self.and_expr()?;
        while self.is_word("or") {
            self.next();
            let a = need_bool(left, col, "'or'")?;
            let (right, rcol) = self.and_expr()?;
            let b = need_bool(right, rcol, "'or'")?;
            left = Node::Bool(BoolExpr::Or(Box::new(a), Box::new(b)));
        }
        Ok((left, col))
    }

    fn and_expr(&mut self) -> Res<(Node, usize)> {
        let (mut left, col) = self.not_expr()?;
        while self.is_word("and") {
            self.next();
            let a = need_bool(left, col, "'and'")?;
            let (right, rcol) = self.not_expr()?;
            let b = need_bool(right, rcol, "'and'")?;
            left = Node::Bool(BoolExpr::And(Box::new(a), Box::new(b)));
        }
        Ok((left, col))
    }

    fn not_expr(&mut self) -> Res<(Node, usize)> {
        if self.is_word("not") {
            let col = self.next().col;
            let (inner, icol) = self.not_expr()?;
            let b = need_bool(inner, icol, "'not'")?;
            return Ok((Node::Bool(BoolExpr::Not(Box::new(b))), col));
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Res<(Node, usize)> {
        let (left, col) = self.concat_expr()?;
        if self.peek().tok != Tok::Eq {
            return Ok((left, col));
        }
        self.next();
        let a = need_str(left, col, "'=='")?;
        let (right, rcol) = self.concat_expr()?;
        let b = need_str(right, rcol, "'=='")?;
        Ok((Node::Bool(BoolExpr::Equal(Box::new(a), Box::new(b))), col))
    }

    fn concat_expr(&mut self) -> Res<(Node, usize)> {
        let (mut left, col) = self.primary()?;
        while self.peek().tok == Tok::Plus {
            self.next();
            let a = need_str(left, col, "'+'")?;
            let (right, rcol) = self.primary()?;
            let b = need_str(right, rcol, "'+'")?;
            left = Node::Str(StrExpr::Concat(Box::new(a), Box::new(b)));
        }
        Ok((left, col))
    }

    fn primary(&mut self) -> Res<(Node, usize)> {
        let t = self.next();
        let col = t.col;
        let node = match t.tok {
            Tok::LParen => {
                let (inner, _) = self.expr()?;
                self.expect(Tok::RParen, &format!("to close '(' at column {col}"))?;
                inner
            }
            Tok::Str(s) => Node::Str(StrExpr::Literal(s.into_bytes())),
            Tok::Hex(h) => Node::Str(StrExpr::Literal(decode_hex(&h))),
            Tok::Addr(a) => Node::Str(StrExpr::Literal(a)),
            Tok::Int(i) => {
                let v = int_in(&i, col, 0, i64::from(u32::MAX), "integer")?;
                Node::Str(StrExpr::Literal((v as u32).to_be_bytes().to_vec()))
            }
            Tok::Word(w) => self.word(&w, col)?,
            other => {
                return Err(ParseError::new(
                    col,
                    format!("expected an expression, found {}", other.describe()),
                ))
            }
        };
        Ok((node, col))
    }

    fn word(&mut self, w: &str, col: usize) -> Res<Node> {
        let int_kind = match w {
            "int8totext" => Some(IntKind::I8),
            "int16totext" => Some(IntKind::I16),
            "int32totext" => Some(IntKind::I32),
            "uint8totext" => Some(IntKind::U8),
            "uint16totext" => Some(IntKind::U16),
            "uint32totext" => Some(IntKind::U32),
            _ => None,
        };
        if let Some(k) = int_kind {
            let s = self.unary_fn(w)?;
            return Ok(Node::Str(StrExpr::IntToText(k, Box::new(s))));
        }
        Ok(match w {
            "option" => self.option_tail()?,
            "relay4" => self.relay4_tail()?,
            "pkt" => Node::Str(StrExpr::Pkt(self.pkt_field()?)),
            "pkt4" => Node::Str(StrExpr::Pkt4(self.pkt4_field()?)),
            "vendor" => self.vendor_tail()?,
            "vendor-class" => self.vendor_class_tail()?,
            "substring" => self.substring()?,
            "split" => self.split()?,
            "member" => self.member()?,
            "known" => Node::Bool(BoolExpr::Member("KNOWN".into())),
            "unknown" => Node::Bool(BoolExpr::Member("UNKNOWN".into())),
            "concat" | "hexstring" => {
                self.expect(Tok::LParen, &format!("after '{w}'"))?;
                let a = self.str_arg(w)?;
                self.expect(Tok::Comma, &format!("between the arguments of '{w}'"))?;
                let b = self.str_arg(w)?;
                self.expect(Tok::RParen, &format!("after the arguments of '{w}'"))?;
                let (a, b) = (Box::new(a), Box::new(b));
                Node::Str(if w == "concat" {
                    StrExpr::Concat(a, b)
                } else {
                    StrExpr::HexString(a, b)
                })
            }
            "ifelse" => {
                self.expect(Tok::LParen, "after 'ifelse'")?;
                let (c, ccol) = self.expr()?;
                let c = need_bool(c, ccol, "the first argument of 'ifelse'")?;
                self.expect(Tok::Comma, "after the condition of 'ifelse'")?;
                let a = self.str_arg(w)?;
                self.expect(Tok::Comma, "between the values of 'ifelse'")?;
                let b = self.str_arg(w)?;
                self.expect(Tok::RParen, "after the arguments of 'ifelse'")?;
                Node::Str(StrExpr::IfElse(Box::new(c), Box::new(a), Box::new(b)))
            }
            "lcase" => Node::Str(StrExpr::Lcase(Box::new(self.unary_fn(w)?))),
            "ucase" => Node::Str(StrExpr::Ucase(Box::new(self.unary_fn(w)?))),
            "addrtotext" => Node::Str(StrExpr::AddrToText(Box::new(self.unary_fn(w)?))),
            "relay6" | "pkt6" | "peeraddr" | "linkaddr" => {
                return Err(ParseError::new(
                    col,
                    format!("'{w}' can only be used in DHCPv6"),
                ))
            }
            _ => return Err(ParseError::new(col, format!("unknown word '{w}'"))),
        })
    }

    /// A value argument of function `f`.
    pub(super) fn str_arg(&mut self, f: &str) -> Res<StrExpr> {
        let (n, col) = self.expr()?;
        need_str(n, col, &format!("an argument of '{f}'"))
    }

    /// `( value )` after a one-argument function name.
    pub(super) fn unary_fn(&mut self, f: &str) -> Res<StrExpr> {
        self.expect(Tok::LParen, &format!("after '{f}'"))?;
        let s = self.str_arg(f)?;
        self.expect(Tok::RParen, &format!("after the argument of '{f}'"))?;
        Ok(s)
    }

    /// A literal integer argument within `lo..=hi`.
    pub(super) fn int_arg(&mut self, what: &str, lo: i64, hi: i64) -> Res<i64> {
        let t = self.next();
        match t.tok {
            Tok::Int(i) => int_in(&i, t.col, lo, hi, what),
            other => Err(ParseError::new(
                t.col,
                format!("expected {what} (an integer), found {}", other.describe()),
            )),
        }
    }
}

pub(super) fn need_bool(n: Node, col: usize, ctx: &str) -> Res<BoolExpr> {
    match n {
        Node::Bool(b) => Ok(b),
        Node::Str(_) => Err(ParseError::new(
            col,
            format!("{ctx} needs a condition here, found a value"),
        )),
    }
}

pub(super) fn need_str(n: Node, col: usize, ctx: &str) -> Res<StrExpr> {
    match n {
        Node::Str(s) => Ok(s),
        Node::Bool(_) => Err(ParseError::new(
            col,
            format!("{ctx} needs a value here, found a condition"),
        )),
    }
}

pub(super) fn int_in(text: &str, col: usize, lo: i64, hi: i64, what: &str) -> Res<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| ParseError::new(col, format!("{what} {text} out of range {lo}..{hi}")))
}

/// Hex digits to bytes; an odd count gets a leading zero (as Kea does).
fn decode_hex(digits: &str) -> Vec<u8> {
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    padded
        .as_bytes()
        .chunks(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}
