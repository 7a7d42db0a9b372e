//! Recursive-descent parser for Kea's expression grammar (`src/lib/eval/parser.yy`).
//!
//! Precedence, loosest first: `or`, `and`, `not`, `==`, `+`. Every node is typed as a
//! condition or a value while it is built, so a type mistake is reported at the column
//! of the offending operand, and the caller decides which type the whole must have.
//! `member('x')` references are collected with their columns for the class-order check.

use super::ast::{BoolExpr, IntKind, Pkt4Field, PktField, Repr, StrExpr};
use super::lexer::{tokenize, Spanned, Tok};
use super::{names, ParseError};

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

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    members: Vec<(String, usize)>,
}

type Res<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> &Spanned {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Spanned {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x == w)
    }

    fn expect(&mut self, tok: Tok, after: &str) -> Res<()> {
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

    fn expect_word(&mut self, choices: &[&str], after: &str) -> Res<String> {
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
    fn expr(&mut self) -> Res<(Node, usize)> {
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
    fn str_arg(&mut self, f: &str) -> Res<StrExpr> {
        let (n, col) = self.expr()?;
        need_str(n, col, &format!("an argument of '{f}'"))
    }

    /// `( value )` after a one-argument function name.
    fn unary_fn(&mut self, f: &str) -> Res<StrExpr> {
        self.expect(Tok::LParen, &format!("after '{f}'"))?;
        let s = self.str_arg(f)?;
        self.expect(Tok::RParen, &format!("after the argument of '{f}'"))?;
        Ok(s)
    }

    /// A literal integer argument within `lo..=hi`.
    fn int_arg(&mut self, what: &str, lo: i64, hi: i64) -> Res<i64> {
        let t = self.next();
        match t.tok {
            Tok::Int(i) => int_in(&i, t.col, lo, hi, what),
            other => Err(ParseError::new(
                t.col,
                format!("expected {what} (an integer), found {}", other.describe()),
            )),
        }
    }

    /// `[ code-or-name ]` after `option`.
    fn option_code(&mut self) -> Res<u8> {
        self.expect(Tok::LBracket, "after 'option'")?;
        let t = self.next();
        let code = match t.tok {
            Tok::Int(i) => int_in(&i, t.col, 0, 255, "option code")? as u8,
            Tok::Word(name) => names::code_by_name(&name)
                .ok_or_else(|| ParseError::new(t.col, format!("option '{name}' is not defined")))?,
            other => {
                return Err(ParseError::new(
                    t.col,
                    format!("expected option code or name, found {}", other.describe()),
                ))
            }
        };
        self.expect(Tok::RBracket, "after option code")?;
        Ok(code)
    }

    /// `[ n ]` sub-option code.
    fn sub_code(&mut self, after: &str) -> Res<u8> {
        self.expect(Tok::LBracket, &format!("after '{after}'"))?;
        let c = self.int_arg("sub-option code", 0, 255)? as u8;
        self.expect(Tok::RBracket, "after sub-option code")?;
        Ok(c)
    }

    /// `. hex|text|exists`; `None` means `exists`.
    fn repr(&mut self) -> Res<Option<Repr>> {
        self.expect(Tok::Dot, "after ']'")?;
        Ok(
            match self
                .expect_word(&["hex", "text", "exists"], "after '.'")?
                .as_str()
            {
                "hex" => Some(Repr::Hex),
                "text" => Some(Repr::Text),
                _ => None,
            },
        )
    }

    fn option_tail(&mut self) -> Res<Node> {
        let code = self.option_code()?;
        let sub_follows = matches!(
            self.toks.get(self.pos + 1),
            Some(Spanned { tok: Tok::Word(w), .. }) if w == "option"
        );
        if self.peek().tok == Tok::Dot && sub_follows {
            self.pos += 2;
            let sub = self.sub_code("option")?;
            return Ok(match self.repr()? {
                Some(r) => Node::Str(StrExpr::SubOption(code, sub, r)),
                None => Node::Bool(BoolExpr::SubOptionExists(code, sub)),
            });
        }
        Ok(match self.repr()? {
            Some(r) => Node::Str(StrExpr::Option(code, r)),
            None => Node::Bool(BoolExpr::OptionExists(code)),
        })
    }

    fn relay4_tail(&mut self) -> Res<Node> {
        let sub = self.sub_code("relay4")?;
        Ok(match self.repr()? {
            Some(r) => Node::Str(StrExpr::Relay4(sub, r)),
            None => Node::Bool(BoolExpr::Relay4Exists(sub)),
        })
    }

    fn pkt_field(&mut self) -> Res<PktField> {
        self.expect(Tok::Dot, "after 'pkt'")?;
        let f = self.expect_word(&["iface", "src", "dst", "len"], "after 'pkt.'")?;
        Ok(match f.as_str() {
            "iface" => PktField::Iface,
            "src" => PktField::Src,
            "dst" => PktField::Dst,
            _ => PktField::Len,
        })
    }

    fn pkt4_field(&mut self) -> Res<Pkt4Field> {
        use Pkt4Field as F;
        self.expect(Tok::Dot, "after 'pkt4'")?;
        let all = [
            ("mac", F::Mac),
            ("hlen", F::Hlen),
            ("htype", F::Htype),
            ("ciaddr", F::Ciaddr),
            ("giaddr", F::Giaddr),
            ("yiaddr", F::Yiaddr),
            ("siaddr", F::Siaddr),
            ("msgtype", F::MsgType),
            ("transid", F::TransId),
        ];
        let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        let f = self.expect_word(&names, "after 'pkt4.'")?;
        Ok(all
            .iter()
            .find(|(n, _)| *n == f)
            .map_or(F::Mac, |(_, v)| *v))
    }

    /// `[ n|* ]` enterprise id (0 = any).
    fn enterprise(&mut self, after: &str) -> Res<u32> {
        self.expect(Tok::LBracket, &format!("after '{after}'"))?;
        let id = if self.peek().tok == Tok::Star {
            self.next();
            0
        } else {
            self.int_arg("enterprise id or '*'", 0, i64::from(u32::MAX))? as u32
        };
        self.expect(Tok::RBracket, "after enterprise id")?;
        Ok(id)
    }

    fn vendor_tail(&mut self) -> Res<Node> {
        if self.peek().tok == Tok::Dot {
            self.next();
            self.expect_word(&["enterprise"], "after 'vendor.'")?;
            return Ok(Node::Str(StrExpr::VendorEnterprise));
        }
        let ent = self.enterprise("vendor")?;
        self.expect(Tok::Dot, "after ']'")?;
        if self.expect_word(&["exists", "option"], "after 'vendor[..].'")? == "exists" {
            return Ok(Node::Bool(BoolExpr::VendorExists(ent)));
        }
        let code = self.sub_code("option")?;
        Ok(match self.repr()? {
            Some(r) => Node::Str(StrExpr::VendorOption(ent, code, r)),
            None => Node::Bool(BoolExpr::VendorOptionExists(ent, code)),
        })
    }

    fn vendor_class_tail(&mut self) -> Res<Node> {
        if self.peek().tok == Tok::Dot {
            self.next();
            self.expect_word(&["enterprise"], "after 'vendor-class.'")?;
            return Ok(Node::Str(StrExpr::VendorClassEnterprise));
        }
        let ent = self.enterprise("vendor-class")?;
        self.expect(Tok::Dot, "after ']'")?;
        if self.expect_word(&["exists", "data"], "after 'vendor-class[..].'")? == "exists" {
            return Ok(Node::Bool(BoolExpr::VendorClassExists(ent)));
        }
        let mut index = 0;
        if self.peek().tok == Tok::LBracket {
            self.next();
            index = self.int_arg("data index", 0, 255)? as u8;
            self.expect(Tok::RBracket, "after data index")?;
        }
        Ok(Node::Str(StrExpr::VendorClassData(ent, index)))
    }

    fn substring(&mut self) -> Res<Node> {
        self.expect(Tok::LParen, "after 'substring'")?;
        let s = self.str_arg("substring")?;
        self.expect(Tok::Comma, "after the first argument of 'substring'")?;
        let (lo, hi) = (i64::from(i32::MIN), i64::from(i32::MAX));
        let start = self.int_arg("start position", lo, hi)?;
        self.expect(Tok::Comma, "after the start position")?;
        let len = if self.is_word("all") {
            self.next();
            None
        } else {
            Some(self.int_arg("length or 'all'", lo, hi)?)
        };
        self.expect(Tok::RParen, "after the arguments of 'substring'")?;
        Ok(Node::Str(StrExpr::Substring(Box::new(s), start, len)))
    }

    fn split(&mut self) -> Res<Node> {
        self.expect(Tok::LParen, "after 'split'")?;
        let s = self.str_arg("split")?;
        self.expect(Tok::Comma, "after the first argument of 'split'")?;
        let d = self.str_arg("split")?;
        self.expect(Tok::Comma, "after the delimiters")?;
        let field = self.int_arg("field number", i64::from(i32::MIN), i64::from(i32::MAX))?;
        self.expect(Tok::RParen, "after the arguments of 'split'")?;
        Ok(Node::Str(StrExpr::Split(Box::new(s), Box::new(d), field)))
    }

    fn member(&mut self) -> Res<Node> {
        self.expect(Tok::LParen, "after 'member'")?;
        let t = self.next();
        let Tok::Str(name) = t.tok else {
            return Err(ParseError::new(
                t.col,
                format!("expected a quoted class name, found {}", t.tok.describe()),
            ));
        };
        self.expect(Tok::RParen, "after the class name")?;
        self.members.push((name.clone(), t.col));
        Ok(Node::Bool(BoolExpr::Member(name)))
    }
}

fn need_bool(n: Node, col: usize, ctx: &str) -> Res<BoolExpr> {
    match n {
        Node::Bool(b) => Ok(b),
        Node::Str(_) => Err(ParseError::new(
            col,
            format!("{ctx} needs a condition here, found a value"),
        )),
    }
}

fn need_str(n: Node, col: usize, ctx: &str) -> Res<StrExpr> {
    match n {
        Node::Str(s) => Ok(s),
        Node::Bool(_) => Err(ParseError::new(
            col,
            format!("{ctx} needs a value here, found a condition"),
        )),
    }
}

fn int_in(text: &str, col: usize, lo: i64, hi: i64, what: &str) -> Res<i64> {
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
