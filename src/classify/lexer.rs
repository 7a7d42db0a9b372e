//! Tokenizer for Kea's expression language, following Kea's `src/lib/eval/lexer.ll`.
//!
//! Invariants: every token carries the 1-based character column where it starts, so
//! parse errors can point at it; at each position the longest matching rule wins (as
//! with flex), so `10.0.0.1` is an address, `0x0a` a hex string and `fe80::1` an IPv6
//! address rather than a word. Strings are single-quoted with no escapes.

use super::ParseError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `'...'` (contents, quotes removed).
    Str(String),
    /// `0x...` (the text after `0x`).
    Hex(String),
    /// `-?[0-9]+` (text, range-checked by the parser).
    Int(String),
    /// IPv4 or IPv6 address literal (bytes, 4 or 16).
    Addr(Vec<u8>),
    /// A word: a keyword (`option`, `and`, `vendor-class`, …) or an option name.
    Word(String),
    /// `==`
    Eq,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `.`
    Dot,
    /// `,`
    Comma,
    /// `*`
    Star,
    /// `+`
    Plus,
    /// End of input.
    End,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Hex(h) => format!("hex string 0x{h}"),
            Tok::Int(i) => format!("integer {i}"),
            Tok::Addr(_) => "IP address".to_string(),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Eq => "'=='".to_string(),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::LBracket => "'['".to_string(),
            Tok::RBracket => "']'".to_string(),
            Tok::Dot => "'.'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::Star => "'*'".to_string(),
            Tok::Plus => "'+'".to_string(),
            Tok::End => "end of expression".to_string(),
        }
    }
}

/// A token and the 1-based column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spanned {
    pub tok: Tok,
    pub col: usize,
}

/// Split `text` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '\'' || c == '\n')
                .map(|p| p + i + 1)
                .filter(|&e| chars[e] == '\'')
                .ok_or_else(|| ParseError::new(col, "unterminated string"))?;
            out.push(Spanned {
                tok: Tok::Str(chars[i + 1..end].iter().collect()),
                col,
            });
            i = end + 1;
            continue;
        }
        let (tok, len) = longest_match(&chars[i..], col)?;
        out.push(Spanned { tok, col });
        i += len;
    }
    out.push(Spanned {
        tok: Tok::End,
        col: chars.len() + 1,
    });
    Ok(out)
}

/// The longest rule matching at the start of `s` (flex semantics).
fn longest_match(s: &[char], col: usize) -> Result<(Tok, usize), ParseError> {
    let punct = match s[0] {
        '=' if s.get(1) == Some(&'=') => Some((Tok::Eq, 2)),
        '(' => Some((Tok::LParen, 1)),
        ')' => Some((Tok::RParen, 1)),
        '[' => Some((Tok::LBracket, 1)),
        ']' => Some((Tok::RBracket, 1)),
        '.' => Some((Tok::Dot, 1)),
        ',' => Some((Tok::Comma, 1)),
        '*' => Some((Tok::Star, 1)),
        '+' => Some((Tok::Plus, 1)),
        _ => None,
    };
    if let Some(p) = punct {
        return Ok(p);
    }
    let hex = hex_len(s);
    let int = int_len(s);
    let word = word_len(s);
    let addr = addr4_len(s).max(addr6_len(s));
    let best = hex.max(int).max(word).max(addr);
    let text: String = s[..best].iter().collect();
    if best == 0 {
        return Err(ParseError::new(
            col,
            format!("invalid character '{}'", s[0]),
        ));
    }
    // Ties go to the rule listed first in Kea's lexer: hex, integer, name, address.
    let tok =
        if best == hex {
            Tok::Hex(text[2..].to_string())
        } else if best == int {
            Tok::Int(text)
        } else if best == word {
            Tok::Word(text)
        } else {
            Tok::Addr(parse_addr(&text).ok_or_else(|| {
                ParseError::new(col, format!("'{text}' is not a valid IP address"))
            })?)
        };
    Ok((tok, best))
}

fn count(s: &[char], f: impl Fn(char) -> bool) -> usize {
    s.iter().take_while(|&&c| f(c)).count()
}

/// `0[xX][0-9a-fA-F]+`
fn hex_len(s: &[char]) -> usize {
    if s.len() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
        let n = count(&s[2..], |c| c.is_ascii_hexdigit());
        if n > 0 {
            return n + 2;
        }
    }
    0
}

/// `-?[0-9]+`
fn int_len(s: &[char]) -> usize {
    let sign = usize::from(s[0] == '-');
    let n = count(&s[sign..], |c| c.is_ascii_digit());
    if n == 0 {
        0
    } else {
        sign + n
    }
}

/// `[A-Za-z]([-_A-Za-z0-9]*[A-Za-z0-9])?`
fn word_len(s: &[char]) -> usize {
    if !s[0].is_ascii_alphabetic() {
        return 0;
    }
    let mut n = 1 + count(&s[1..], |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_'
    });
    while n > 1 && !s[n - 1].is_ascii_alphanumeric() {
        n -= 1;
    }
    n
}

/// `[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+`
fn addr4_len(s: &[char]) -> usize {
    let mut i = 0;
    for part in 0..4 {
        if part > 0 {
            if s.get(i) != Some(&'.') {
                return 0;
            }
            i += 1;
        }
        let n = count(&s[i.min(s.len())..], |c| c.is_ascii_digit());
        if n == 0 {
            return 0;
        }
        i += n;
    }
    i
}

/// `[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*`
fn addr6_len(s: &[char]) -> usize {
    let mut i = count(s, |c| c.is_ascii_hexdigit());
    for _ in 0..2 {
        if s.get(i) != Some(&':') {
            return 0;
        }
        i += 1;
        if i < s.len() {
            i += count(&s[i..], |c| c.is_ascii_hexdigit());
        }
    }
    if i < s.len() {
        i += count(&s[i..], |c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    i
}

fn parse_addr(text: &str) -> Option<Vec<u8>> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => Some(a.octets().to_vec()),
        std::net::IpAddr::V6(a) => Some(a.octets().to_vec()),
    }
}
