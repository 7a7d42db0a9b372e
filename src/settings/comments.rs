//! Kea's JSON dialect → strict JSON.
//!
//! Kea accepts `//`, `#` and `/* */` comments and trailing commas before `}` or `]`.
//! [`to_strict_json`] removes them while leaving string literals untouched (a `#` or
//! `//` inside `"http://…"` is data). Line breaks inside comments are kept so that
//! serde_json's line/column numbers still point into the original file.

/// Strip comments and trailing commas from Kea-style JSON, respecting strings.
pub(crate) fn to_strict_json(text: &str) -> String {
    remove_trailing_commas(&strip_comments(text))
}

/// Remove `//`, `#` and `/* */` comments outside string literals.
pub(crate) fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        out.push(escaped);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '#' => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    for d in chars.by_ref() {
        if d == '\n' {
            out.push('\n');
            break;
        }
    }
}

/// Drop a `,` whose next non-blank character is `}` or `]` (outside strings).
fn remove_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(&e) = chars.get(i + 1) {
                    out.push(e);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|d| !d.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_all_comment_styles_but_not_inside_strings() {
        let text = "{\n // a\n \"u\": \"http://x/#y\", # b\n /* c\n d */ \"v\": 1 }";
        let v: serde_json::Value = serde_json::from_str(&to_strict_json(text)).unwrap();
        assert_eq!(v["u"], "http://x/#y");
        assert_eq!(v["v"], 1);
    }

    #[test]
    fn keeps_line_numbers() {
        let text = "/* one\ntwo */\n{\n  \"a\": x\n}";
        let err = serde_json::from_str::<serde_json::Value>(&to_strict_json(text)).unwrap_err();
        assert_eq!(err.line(), 4);
    }

    #[test]
    fn removes_trailing_commas_outside_strings() {
        let text = r#"{"a": [1, 2, ], "b": "x, }", }"#;
        let v: serde_json::Value = serde_json::from_str(&to_strict_json(text)).unwrap();
        assert_eq!(v["a"], serde_json::json!([1, 2]));
        assert_eq!(v["b"], "x, }");
    }

    #[test]
    fn escaped_quote_does_not_end_string() {
        let text = r#"{"a": "q\" // not a comment"}"#;
        let v: serde_json::Value = serde_json::from_str(&to_strict_json(text)).unwrap();
        assert_eq!(v["a"], "q\" // not a comment");
    }
}
