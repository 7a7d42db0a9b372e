//! The parser's rules for the packet accessors (`option[..]`, `relay4[..]`, `pkt.`,
//! `pkt4.`, `vendor…`, `vendor-class…`) and for the functions whose arguments are literal
//! integers or names (`substring`, `split`, `member`), as in Kea's grammar.

use super::ast::{BoolExpr, Pkt4Field, PktField, Repr, StrExpr};
use super::lexer::{Spanned, Tok};
use super::parser::{int_in, Node, Parser, Res};
use super::{names, ParseError};

impl Parser {
    /// `[ code-or-name ]` after `option`.
    pub(super) fn option_code(&mut self) -> Res<u8> {
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
    pub(super) fn sub_code(&mut self, after: &str) -> Res<u8> {
        self.expect(Tok::LBracket, &format!("after '{after}'"))?;
        let c = self.int_arg("sub-option code", 0, 255)? as u8;
        self.expect(Tok::RBracket, "after sub-option code")?;
        Ok(c)
    }

    /// `. hex|text|exists`; `None` means `exists`.
    pub(super) fn repr(&mut self) -> Res<Option<Repr>> {
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

    pub(super) fn option_tail(&mut self) -> Res<Node> {
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

    pub(super) fn relay4_tail(&mut self) -> Res<Node> {
        let sub = self.sub_code("relay4")?;
        Ok(match self.repr()? {
            Some(r) => Node::Str(StrExpr::Relay4(sub, r)),
            None => Node::Bool(BoolExpr::Relay4Exists(sub)),
        })
    }

    pub(super) fn pkt_field(&mut self) -> Res<PktField> {
        self.expect(Tok::Dot, "after 'pkt'")?;
        let f = self.expect_word(&["iface", "src", "dst", "len"], "after 'pkt.'")?;
        Ok(match f.as_str() {
            "iface" => PktField::Iface,
            "src" => PktField::Src,
            "dst" => PktField::Dst,
            _ => PktField::Len,
        })
    }

    pub(super) fn pkt4_field(&mut self) -> Res<Pkt4Field> {
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
    pub(super) fn enterprise(&mut self, after: &str) -> Res<u32> {
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

    pub(super) fn vendor_tail(&mut self) -> Res<Node> {
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

    pub(super) fn vendor_class_tail(&mut self) -> Res<Node> {
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

    pub(super) fn substring(&mut self) -> Res<Node> {
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

    pub(super) fn split(&mut self) -> Res<Node> {
        self.expect(Tok::LParen, "after 'split'")?;
        let s = self.str_arg("split")?;
        self.expect(Tok::Comma, "after the first argument of 'split'")?;
        let d = self.str_arg("split")?;
        self.expect(Tok::Comma, "after the delimiters")?;
        let field = self.int_arg("field number", i64::from(i32::MIN), i64::from(i32::MAX))?;
        self.expect(Tok::RParen, "after the arguments of 'split'")?;
        Ok(Node::Str(StrExpr::Split(Box::new(s), Box::new(d), field)))
    }

    pub(super) fn member(&mut self) -> Res<Node> {
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
