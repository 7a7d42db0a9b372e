//! Reading command arguments: every failure names the argument and what was expected
//! (`'ip-address' must be an IPv4 address, got "x"`), so an operator can fix the call.

use std::net::Ipv4Addr;

use serde_json::{Map, Value};

use super::envelope::ApiError;
use crate::settings::options::parse_hex;

/// The `arguments` map of a command.
pub struct Args<'a>(pub &'a Map<String, Value>);

fn bad(msg: String) -> ApiError {
    ApiError::BadArgument(msg)
}

impl<'a> Args<'a> {
    /// Is `key` present?
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.opt_str(key)?
            .ok_or_else(|| bad(format!("missing mandatory '{key}' argument")))
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(format!("'{key}' must be a string"))),
        }
    }

    /// A required IPv4 address.
    pub fn ipv4(&self, key: &str) -> Result<Ipv4Addr, ApiError> {
        let s = self.str(key)?;
        s.parse()
            .map_err(|_| bad(format!("'{key}' must be an IPv4 address, got {s:?}")))
    }

    /// An optional IPv4 address.
    pub fn opt_ipv4(&self, key: &str) -> Result<Option<Ipv4Addr>, ApiError> {
        if self.opt_str(key)?.is_none() {
            return Ok(None);
        }
        self.ipv4(key).map(Some)
    }

    /// A required unsigned 32-bit integer.
    pub fn u32(&self, key: &str) -> Result<u32, ApiError> {
        self.opt_u32(key)?
            .ok_or_else(|| bad(format!("missing mandatory '{key}' argument")))
    }

    /// An optional unsigned 32-bit integer.
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| bad(format!("'{key}' must be an integer from 0 to 4294967295"))),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(bad(format!("'{key}' must be a boolean"))),
        }
    }

    /// An optional list of unsigned 32-bit integers.
    pub fn opt_u32_list(&self, key: &str) -> Result<Option<Vec<u32>>, ApiError> {
        let Some(v) = self.0.get(key) else {
            return Ok(None);
        };
        let err = || bad(format!("'{key}' must be a list of integers"));
        let list = v.as_array().ok_or_else(err)?;
        list.iter()
            .map(|x| {
                x.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(err)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A required list of strings.
    pub fn opt_str_list(&self, key: &str) -> Result<Vec<String>, ApiError> {
        let Some(v) = self.0.get(key) else {
            return Ok(Vec::new());
        };
        let err = || bad(format!("'{key}' must be a list of strings"));
        v.as_array()
            .ok_or_else(err)?
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(err))
            .collect()
    }

    /// A required hex value (`01:02:03`, `010203`).
    pub fn hex(&self, key: &str) -> Result<Vec<u8>, ApiError> {
        let s = self.str(key)?;
        let bytes = parse_hex(&s.replace('-', ":"))
            .map_err(|_| bad(format!("'{key}' must be hex like 01:02:03, got {s:?}")))?;
        if bytes.is_empty() {
            return Err(bad(format!("'{key}' must not be empty")));
        }
        Ok(bytes)
    }

    /// Refuse keys outside `allowed` (a typo must not silently widen a query).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(bad(format!(
                "unknown argument '{k}' (expected one of: {})",
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }
}
