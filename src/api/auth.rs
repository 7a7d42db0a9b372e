//! HTTP basic authentication for the control API (Kea's `authentication` map, type
//! `basic`). Credentials are compared in constant time, against every configured client
//! without stopping at the first match, so the timing says nothing about which user or
//! how many bytes matched. Refusals are HTTP 401 with `WWW-Authenticate: Basic
//! realm="…"` and Kea's stock body `{"result": 401, "text": "Unauthorized"}`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tracing::info;

use crate::settings::BasicAuth;

/// The accepted `Authorization` tokens of one socket.
#[derive(Clone)]
pub struct Credentials {
    realm: String,
    tokens: Vec<(String, Vec<u8>)>,
}

impl Credentials {
    /// From the configuration.
    pub fn new(cfg: &BasicAuth) -> Arc<Self> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let tokens = cfg
            .clients
            .iter()
            .map(|c| {
                let token = format!("{}:{}", c.user, c.password);
                (c.user.clone(), b64.encode(token).into_bytes())
            })
            .collect();
        Arc::new(Self {
            realm: cfg.realm.clone(),
            tokens,
        })
    }

    /// The user whose credentials `header` carries.
    pub fn check(&self, header: Option<&HeaderValue>) -> Option<&str> {
        let value = header?.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let token = token.trim().as_bytes();
        let mut found = None;
        for (user, expected) in &self.tokens {
            if ct_eq(token, expected) {
                found = Some(user.as_str());
            }
        }
        found
    }

    fn refuse(&self) -> Response {
        let body = axum::Json(serde_json::json!({ "result": 401, "text": "Unauthorized" }));
        let mut resp = (StatusCode::UNAUTHORIZED, body).into_response();
        let realm = self.realm.replace('"', "");
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// Constant-time equality for byte strings (the length is not secret: tokens of a
/// different length differ).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// axum middleware: pass authenticated requests on, refuse the rest.
pub async fn require(State(creds): State<Arc<Credentials>>, req: Request, next: Next) -> Response {
    match creds.check(req.headers().get(header::AUTHORIZATION)) {
        Some(user) => {
            tracing::debug!(user, "control API request authenticated");
            next.run(req).await
        }
        None => {
            info!(path = %req.uri().path(), "control API request refused: bad or missing credentials");
            creds.refuse()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::AuthClient;

    fn creds() -> Arc<Credentials> {
        Credentials::new(&BasicAuth {
            realm: "r".into(),
            clients: vec![AuthClient {
                user: "admin".into(),
                password: "s3cret".into(),
            }],
        })
    }

    #[test]
    fn accepts_the_configured_user_only() {
        let c = creds();
        // base64("admin:s3cret")
        let ok = HeaderValue::from_static("Basic YWRtaW46czNjcmV0");
        assert_eq!(c.check(Some(&ok)), Some("admin"));
        let lower = HeaderValue::from_static("basic YWRtaW46czNjcmV0");
        assert_eq!(c.check(Some(&lower)), Some("admin"));
        let wrong = HeaderValue::from_static("Basic YWRtaW46d3Jvbmc=");
        assert_eq!(c.check(Some(&wrong)), None);
        assert_eq!(c.check(None), None);
        let bearer = HeaderValue::from_static("Bearer YWRtaW46czNjcmV0");
        assert_eq!(c.check(Some(&bearer)), None);
    }
}
