//! Process commands: `version-get`, `build-report`, `status-get`, `config-get`,
//! `config-hash-get`, `config-test`, `config-reload`, `shutdown`, `leases-reclaim`.
//!
//! `config-get` reports the configuration file as it was when last (re)loaded, comments
//! stripped, with Kea's SHA-256 `hash`; shoal keeps no serialisable form of the
//! validated settings, so environment overrides are not shown.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tracing::{error, info};

use super::args::Args;
use super::envelope::{Answer, ApiError, CmdResult};
use super::ApiState;
use crate::settings::Settings;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `version-get`.
pub fn version_get() -> Answer {
    Answer::ok_with(
        VERSION,
        json!({ "extended": format!("shoal {VERSION} (Kea-compatible control API; lease backends: postgresql, mysql, sqlite)") }),
    )
}

/// `build-report`.
pub fn build_report() -> Answer {
    Answer::ok(format!(
        "shoal {VERSION}\nlease backends: postgresql, mysql, sqlite\ncontrol sockets: http, unix\n\
         target: {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    ))
}

/// `status-get`: pid, uptime, seconds since the last reload, threading and DHCP state.
pub fn status_get(state: &ApiState) -> Answer {
    let cfg = state.handler.config();
    let reload = state
        .last_reload
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .elapsed()
        .as_secs();
    let mt = cfg.multi_threading;
    Answer::ok_with(
        "",
        json!({
            "pid": std::process::id(),
            "uptime": state.started.elapsed().as_secs(),
            "reload": reload,
            "multi-threading-enabled": mt.enable,
            "thread-pool-size": mt.worker_threads(),
            "packet-queue-size": mt.packet_queue_size,
            "dhcp-state": {
                "disabled-by-db-connection": false,
                "disabled-by-local-command": [],
                "disabled-by-remote-command": [],
                "disabled-by-user": false,
                "globally-disabled": false
            },
            "sockets": { "status": "ready" }
        }),
    )
}

/// Read a Kea-format file as JSON (comments and trailing commas removed).
pub fn read_config_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&super::kea_json::to_strict_json(&text))
        .map_err(|e| format!("invalid JSON: {e}"))
}

/// Kea's config hash: SHA-256 of the JSON text, upper-case hex.
pub fn config_hash(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

fn running(state: &ApiState) -> Option<Value> {
    state
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// `config-get`.
pub fn config_get(state: &ApiState) -> Answer {
    let Some(mut cfg) = running(state) else {
        return Answer::error("the running configuration is not available");
    };
    let hash = config_hash(&cfg);
    if let Value::Object(m) = &mut cfg {
        m.insert("hash".into(), json!(hash));
    }
    Answer::ok_with("", cfg)
}

/// `config-hash-get`.
pub fn config_hash_get(state: &ApiState) -> Answer {
    match running(state) {
        Some(cfg) => Answer::ok_with("", json!({ "hash": config_hash(&cfg) })),
        None => Answer::error("the running configuration is not available"),
    }
}

/// `config-test`: validate `{"Dhcp4": {...}}` as the file loader would, reporting every
/// problem (one `PATH: MESSAGE` per line).
pub fn config_test(a: &Map<String, Value>) -> CmdResult {
    if !a.contains_key("Dhcp4") {
        return Err(ApiError::BadArgument(
            "missing mandatory 'Dhcp4' argument (the configuration to test)".into(),
        ));
    }
    let text = Value::Object(a.clone()).to_string();
    let env: Vec<(String, String)> = std::env::vars().collect();
    Ok(match Settings::from_str_with_env(&text, &env) {
        Ok(_) => Answer::ok("Configuration seems sane."),
        Err(e) => Answer::error(format!("Configuration check failed:\n{e}")),
    })
}

/// `config-reload`: re-read the file; a bad file (or a failed pool load) keeps the
/// running configuration.
pub async fn config_reload(state: &ApiState) -> Answer {
    match reload(state).await {
        Ok(()) => Answer::ok("Configuration successful."),
        Err(text) => {
            error!(problems = %text, "config-reload refused; keeping the running configuration");
            Answer::error(format!("Config reload failed:\n{text}"))
        }
    }
}

/// Re-read the configuration file: the one reload path, for `config-reload` and SIGHUP.
/// A bad file is refused with its problems and the running configuration is kept.
pub async fn reload(state: &ApiState) -> Result<(), String> {
    let settings = Settings::load(&state.config_path).map_err(|e| e.to_string())?;
    let json = read_config_json(&state.config_path)?;
    state
        .leases
        .sync_pools4(&settings.pools(), state.clock.now())
        .await
        .map_err(|err| {
            error!(?err, "loading pools failed during config-reload");
            "loading the new pools into the lease database failed; see the server log".to_string()
        })?;
    state.handler.reload(Arc::new(settings.dhcp4));
    *state.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(json);
    *state.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
    info!(path = %state.config_path.display(), "configuration reloaded");
    Ok(())
}

/// `shutdown` (`exit-value` accepted).
pub fn shutdown(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["exit-value"])?;
    a.opt_u32("exit-value")?;
    info!("shutdown requested by command");
    state.shutdown.cancel();
    Ok(Answer::ok("Shutting down."))
}

/// `leases-reclaim`: one reclamation run now; `remove: true` also deletes reclaimed rows.
pub async fn leases_reclaim(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["remove"])?;
    let remove = a.opt_bool("remove")?.unwrap_or(false);
    let elp = state.handler.config().expired_leases_processing;
    let n = crate::app::reclaim_once(state.leases.as_ref(), &elp, state.clock.as_ref()).await;
    let mut removed = 0;
    if remove {
        removed = state.leases.flush_reclaimed4(state.clock.now(), 0).await?;
    }
    Ok(Answer::ok_with(
        "Reclamation of expired leases is complete.",
        json!({ "reclaimed": n, "removed": removed }),
    ))
}
