//! The HTTP transport: `POST /` takes one Kea command and answers a one-element JSON
//! list (Control Agent compatibility); `GET /metrics` is Prometheus text; `GET /health`
//! answers while the process runs; `GET /ready` answers 200 only when the lease database
//! does. With `authentication` configured, `/` and `/metrics` need basic credentials;
//! the probes stay open so orchestrators can use them without secrets.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{error, info};

use super::auth::{self, Credentials};
use super::envelope::Command;
use super::{dispatch, stats, ApiState};
use crate::settings::BasicAuth;

/// The router for one HTTP control socket.
pub fn router(state: Arc<ApiState>, auth: Option<BasicAuth>) -> Router {
    let protected = Router::new()
        .route("/", post(command))
        .route("/metrics", get(metrics))
        .with_state(state.clone());
    let protected = match auth {
        Some(cfg) => protected.layer(axum::middleware::from_fn_with_state(
            Credentials::new(&cfg),
            auth::require,
        )),
        None => protected,
    };
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
        .merge(protected)
}

/// Serve `listener` until the state's shutdown token is cancelled; requests in flight
/// (including the `shutdown` command's own answer) complete first.
pub fn spawn(
    listener: TcpListener,
    state: Arc<ApiState>,
    auth: Option<BasicAuth>,
) -> JoinHandle<()> {
    let shutdown = state.shutdown.clone();
    let local = listener.local_addr().ok();
    let app = router(state, auth);
    tokio::spawn(async move {
        info!(addr = ?local, "control API listening (http)");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(err) = served {
            error!(?err, "control API (http) stopped with an error");
        }
    })
}

async fn command(State(state): State<Arc<ApiState>>, body: Bytes) -> Json<serde_json::Value> {
    let answer = match Command::parse(&body) {
        Ok(cmd) => dispatch::run(&state, &cmd).await,
        Err(answer) => answer,
    };
    Json(serde_json::json!([answer.to_json()]))
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let text = stats::prometheus(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(State(state): State<Arc<ApiState>>) -> Response {
    // A primary-key look-up: the cheapest question that needs the database.
    match state
        .leases
        .lease4_by_address(std::net::Ipv4Addr::UNSPECIFIED)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            error!(?err, "readiness check: lease database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "lease database unavailable",
            )
                .into_response()
        }
    }
}
