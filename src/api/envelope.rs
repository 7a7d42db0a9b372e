//! Kea's command envelope: `{"command", "service", "arguments"}` in, `{"result", "text",
//! "arguments"}` out, and the one place errors become answers.
//!
//! Result codes are Kea's (ctrl-channel.rst): 0 success, 1 error, 2 unsupported command,
//! 3 empty / not found, 4 conflict. A [`StoreError`] always becomes result 1 with a
//! generic text; the database's own message is logged, never sent (it can name tables,
//! hosts or users).

use serde_json::{json, Map, Value};
use tracing::warn;

use crate::store::StoreError;

/// Kea result code: success.
pub const SUCCESS: i64 = 0;
/// Kea result code: error.
pub const ERROR: i64 = 1;
/// Kea result code: the command is not supported.
pub const UNSUPPORTED: i64 = 2;
/// Kea result code: nothing found / nothing affected.
pub const EMPTY: i64 = 3;
/// Kea result code: conflict with the server's state.
pub const CONFLICT: i64 = 4;

/// One command as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Command name (`lease4-get`).
    pub name: String,
    /// `arguments`, an empty map when absent.
    pub arguments: Map<String, Value>,
}

impl Command {
    /// Parse a request body (comments allowed, as Kea since 1.9.7).
    pub fn parse(body: &[u8]) -> Result<Command, Answer> {
        let text = std::str::from_utf8(body)
            .map_err(|_| Answer::error("invalid request: the body is not UTF-8"))?;
        let strict = crate::api::kea_json::to_strict_json(text);
        let v: Value = serde_json::from_str(&strict)
            .map_err(|e| Answer::error(format!("invalid request: not valid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// Check a parsed request.
    pub fn from_value(v: Value) -> Result<Command, Answer> {
        let Value::Object(mut m) = v else {
            return Err(Answer::error("invalid request: expected a JSON map"));
        };
        let name = match m.remove("command") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(Answer::error("invalid request: 'command' must be a string")),
            None => return Err(Answer::error("invalid request: 'command' is missing")),
        };
        let arguments = match m.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a,
            Some(_) => return Err(Answer::error("invalid request: 'arguments' must be a map")),
        };
        if let Some(s) = m.get("service") {
            if !s.is_array() {
                return Err(Answer::error("invalid request: 'service' must be a list"));
            }
        }
        if let Some(k) = m.keys().find(|k| *k != "service") {
            return Err(Answer::error(format!(
                "invalid request: unknown key '{k}' (expected command, service, arguments)"
            )));
        }
        Ok(Command { name, arguments })
    }
}

/// One answer: Kea's `{"result", "text", "arguments"}` map.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Kea result code.
    pub result: i64,
    /// Human-readable text.
    pub text: String,
    /// Command-specific payload.
    pub arguments: Option<Value>,
}

impl Answer {
    /// Success with a text.
    pub fn ok(text: impl Into<String>) -> Self {
        Self::new(SUCCESS, text, None)
    }

    /// Success with a payload.
    pub fn ok_with(text: impl Into<String>, arguments: Value) -> Self {
        Self::new(SUCCESS, text, Some(arguments))
    }

    /// A result code, text and optional payload.
    pub fn new(result: i64, text: impl Into<String>, arguments: Option<Value>) -> Self {
        Self {
            result,
            text: text.into(),
            arguments,
        }
    }

    /// Result 1.
    pub fn error(text: impl Into<String>) -> Self {
        Self::new(ERROR, text, None)
    }

    /// Result 3.
    pub fn empty(text: impl Into<String>) -> Self {
        Self::new(EMPTY, text, None)
    }

    /// The JSON map.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("result".into(), json!(self.result));
        m.insert("text".into(), json!(self.text));
        if let Some(a) = &self.arguments {
            m.insert("arguments".into(), a.clone());
        }
        Value::Object(m)
    }
}

/// Why a command failed: bad input (result 1, text shown), a conflict (result 4), or the
/// database (result 1, generic text).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or invalid arguments; the text names the argument.
    #[error("{0}")]
    BadArgument(String),
    /// The change conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// The storage layer failed.
    #[error("database error")]
    Store(#[from] StoreError),
}

impl From<ApiError> for Answer {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadArgument(t) => Answer::error(t),
            ApiError::Conflict(t) => Answer::new(CONFLICT, t, None),
            ApiError::Store(StoreError::ReadOnly) => Answer::error(
                "the hosts database is read-only (readonly: true): change reservations where they are managed",
            ),
            ApiError::Store(err) => {
                warn!(?err, "control command failed in the database");
                Answer::error("database error; see the server log")
            }
        }
    }
}

/// Result of a command handler.
pub type CmdResult = Result<Answer, ApiError>;
