//! Path-aware readers over a `serde_json::Value` tree.
//!
//! Every reader reports into [`Problems`] instead of returning early, so one pass
//! collects all mistakes. Each problem names the JSON path (`Dhcp4.subnet4[0].id`).
//! [`Obj::new`] checks an object's keys against a [`Schema`]: unknown keys get the
//! closest known key suggested; keys Kea knows but shoal refuses get their reason.

use std::net::Ipv4Addr;

use serde_json::{Map, Value};

use super::Problem;

/// Collected problems (the whole configuration is checked before failing).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) list: Vec<Problem>,
}

impl Problems {
    /// Record a problem at `path`.
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// The keys an object may hold.
pub(crate) struct Schema {
    /// Keys shoal reads (or accepts as harmless).
    pub(crate) known: &'static [&'static str],
    /// Keys Kea knows but shoal refuses, with the reason.
    pub(crate) refused: &'static [(&'static str, &'static str)],
}

/// Keys allowed in every Kea map.
const EVERYWHERE: [&str; 2] = ["comment", "user-context"];

/// One JSON object being read, with its path.
pub(crate) struct Obj<'a> {
    pub(crate) path: String,
    pub(crate) map: &'a Map<String, Value>,
}

/// A short description of a JSON value for "found …" messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

/// Levenshtein distance (small inputs only: configuration key names).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `key`, when it is plausibly a typo of it.
pub(crate) fn closest<'k>(key: &str, candidates: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let norm = key.to_ascii_lowercase().replace('_', "-");
    candidates
        .map(|c| (edit_distance(&norm, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl<'a> Obj<'a> {
    /// Read `value` as an object with `schema`'s keys; `None` (after reporting) if not a map.
    pub(crate) fn new(
        value: &'a Value,
        path: &str,
        schema: &Schema,
        p: &mut Problems,
    ) -> Option<Self> {
        let Some(map) = value.as_object() else {
            let at = if path.is_empty() { "(top level)" } else { path };
            p.add(at, format!("expected a map, found {}", describe(value)));
            return None;
        };
        for key in map.keys() {
            if schema.known.contains(&key.as_str()) || EVERYWHERE.contains(&key.as_str()) {
                continue;
            }
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if let Some((_, why)) = schema.refused.iter().find(|(k, _)| k == key) {
                p.add(at, format!("not supported: {why}"));
            } else if let Some(s) = closest(key, schema.known.iter().copied()) {
                p.add(at, format!("unknown key; did you mean \"{s}\"?"));
            } else {
                p.add(at, "unknown key");
            }
        }
        Some(Self {
            path: path.to_string(),
            map,
        })
    }

    /// Path of child `key`.
    pub(crate) fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            return key.to_string();
        }
        format!("{}.{key}", self.path)
    }

    /// The raw child value.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Whether `key` is present.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// An integer in `lo..=hi`.
    pub(crate) fn int(&self, key: &str, lo: i64, hi: i64, p: &mut Problems) -> Option<i64> {
        let v = self.get(key)?;
        match v.as_i64() {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            Some(n) => {
                p.add(self.at(key), format!("{n} is out of range {lo}..={hi}"));
                None
            }
            None => {
                p.add(
                    self.at(key),
                    format!("expected an integer, found {}", describe(v)),
                );
                None
            }
        }
    }

    /// An unsigned 32-bit integer.
    pub(crate) fn u32(&self, key: &str, p: &mut Problems) -> Option<u32> {
        self.int(key, 0, i64::from(u32::MAX), p)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// A boolean.
    pub(crate) fn bool(&self, key: &str, p: &mut Problems) -> Option<bool> {
        let v = self.get(key)?;
        let b = v.as_bool();
        if b.is_none() {
            p.add(
                self.at(key),
                format!("expected true or false, found {}", describe(v)),
            );
        }
        b
    }

    /// A number (integer or fraction).
    pub(crate) fn f64(&self, key: &str, p: &mut Problems) -> Option<f64> {
        let v = self.get(key)?;
        let n = v.as_f64();
        if n.is_none() {
            p.add(
                self.at(key),
                format!("expected a number, found {}", describe(v)),
            );
        }
        n
    }

    /// A string.
    pub(crate) fn string(&self, key: &str, p: &mut Problems) -> Option<String> {
        let v = self.get(key)?;
        let s = v.as_str().map(str::to_string);
        if s.is_none() {
            p.add(
                self.at(key),
                format!("expected a string, found {}", describe(v)),
            );
        }
        s
    }

    /// A non-empty string (an empty one is reported).
    pub(crate) fn name(&self, key: &str, p: &mut Problems) -> Option<String> {
        let s = self.string(key, p)?;
        if s.trim().is_empty() {
            p.add(self.at(key), "must not be empty");
            return None;
        }
        Some(s)
    }

    /// An IPv4 address in dotted-quad form.
    pub(crate) fn ipv4(&self, key: &str, p: &mut Problems) -> Option<Ipv4Addr> {
        let s = self.string(key, p)?;
        match s.trim().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                p.add(self.at(key), format!("{s:?} is not an IPv4 address"));
                None
            }
        }
    }

    /// The elements of list `key` with their paths (empty when absent or not a list).
    pub(crate) fn list(&self, key: &str, p: &mut Problems) -> Vec<(String, &'a Value)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let Some(items) = v.as_array() else {
            p.add(
                self.at(key),
                format!("expected a list, found {}", describe(v)),
            );
            return Vec::new();
        };
        let base = self.at(key);
        items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{base}[{i}]"), item))
            .collect()
    }

    /// A list of strings.
    pub(crate) fn strings(&self, key: &str, p: &mut Problems) -> Vec<String> {
        let mut out = Vec::new();
        for (path, item) in self.list(key, p) {
            match item.as_str() {
                Some(s) => out.push(s.to_string()),
                None => p.add(path, format!("expected a string, found {}", describe(item))),
            }
        }
        out
    }

    /// Child map `key`.
    pub(crate) fn obj(&self, key: &str, schema: &Schema, p: &mut Problems) -> Option<Obj<'a>> {
        let v = self.get(key)?;
        Obj::new(v, &self.at(key), schema, p)
    }

    /// Client classes from `client-class` (one name) and/or `client-classes` (a list).
    pub(crate) fn classes(&self, p: &mut Problems) -> Option<Vec<String>> {
        if !self.has("client-class") && !self.has("client-classes") {
            return None;
        }
        let mut out = self.strings("client-classes", p);
        if let Some(one) = self.string("client-class", p) {
            if self.has("client-classes") {
                p.add(
                    self.at("client-class"),
                    "use either client-class or client-classes, not both",
                );
            } else if !one.is_empty() {
                out.push(one);
            }
        }
        Some(out)
    }

    /// `require-client-classes` / `evaluate-additional-classes` (Kea 2.7+ name).
    pub(crate) fn required_classes(&self, p: &mut Problems) -> Option<Vec<String>> {
        let old = self.has("require-client-classes");
        let new = self.has("evaluate-additional-classes");
        if old && new {
            p.add(
                self.at("evaluate-additional-classes"),
                "use either require-client-classes or evaluate-additional-classes, not both",
            );
        }
        match (old, new) {
            (false, false) => None,
            (true, _) => Some(self.strings("require-client-classes", p)),
            (false, true) => Some(self.strings("evaluate-additional-classes", p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let known = ["valid-lifetime", "renew-timer", "rebind-timer"];
        assert_eq!(
            closest("valid-lifetim", known.iter().copied()),
            Some("valid-lifetime")
        );
        assert_eq!(
            closest("renew_timer", known.iter().copied()),
            Some("renew-timer")
        );
        assert_eq!(closest("completely-else", known.iter().copied()), None);
    }
}
