//! Composition root: the only place that wires settings, store, DHCP service, background
//! reclamation and signals together. Shutdown drains in order: stop reading sockets →
//! finish in-flight transactions → stop background tasks → close pools.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::clock::{Clock, SystemClock};
use crate::dhcp::health::{self, DbHealth};
use crate::dhcp::server::{self, ServerOptions};
use crate::dhcp::v4::V4Handler;
use crate::dhcp::Counters;
use crate::settings::{ExpiredLeasesProcessing, Settings};
use crate::store::{self, HostStore, LeaseStore, PoolRange};

/// Command-line choices that affect running.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Configuration file.
    pub config: PathBuf,
    /// Server port override (`-p`).
    pub port: Option<u16>,
}

/// Run shoal with the configuration loaded from `opts.config` until SIGTERM/SIGINT.
pub async fn run(opts: RunOptions, settings: Settings) -> anyhow::Result<()> {
    for w in settings.warnings() {
        warn!(warning = %w, "configuration read but not acted on");
    }
    let pools = settings.pools();
    let cfg = Arc::new(settings.dhcp4);
    let db = open_with_retry(&cfg.lease_database)
        .await
        .context("opening the lease database")?;
    let leases = db.leases();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    sync_pools(leases.as_ref(), &pools, clock.now()).await?;

    let host_dbs = open_host_databases(&cfg, &db).await?;
    let api_hosts = host_dbs.first().cloned().unwrap_or_else(|| db.hosts());
    let counters = Arc::new(Counters::new());
    let health = Arc::new(DbHealth::default());
    let handler = Arc::new(
        V4Handler::with_hosts(
            cfg.clone(),
            leases.clone(),
            host_dbs,
            counters,
            clock.clone(),
        )
        .with_health(health.clone()),
    );
    let interfaces = server::resolve_interfaces(&cfg.interfaces)?;
    let shutdown = CancellationToken::new();
    let api_state = crate::api::ApiState::new(
        handler.clone(),
        leases.clone(),
        api_hosts,
        opts.config.clone(),
        clock.clone(),
        shutdown.clone(),
    );
    let api = crate::api::start(&cfg.control_sockets, api_state.clone())
        .await
        .context("starting the control API")?;

    tokio::spawn(health::watchdog(
        health.clone(),
        leases.clone(),
        cfg.lease_database.clone(),
        clock.clone(),
        shutdown.clone(),
    ));
    let reclaim = tokio::spawn(reclaim_loop(
        leases.clone(),
        cfg.expired_leases_processing,
        clock.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(signals(api_state, shutdown.clone()));

    let server_opts = ServerOptions {
        port: opts.port.unwrap_or(67),
        ..ServerOptions::default()
    };
    info!(
        backend = leases.backend(),
        subnets = cfg.subnets.len(),
        "shoal started"
    );
    server::serve(handler, interfaces, server_opts, shutdown.clone()).await?;
    shutdown.cancel();
    let _ = reclaim.await;
    for task in api {
        let _ = task.await;
    }
    if health.gave_up() {
        anyhow::bail!("the lease database stayed unreachable (on-fail policy); shoal stopped");
    }
    if let Some(b) = leases.claim_batches() {
        info!(
            claims = b.claims,
            commits = b.statements,
            "lease claims and the commits that made them durable"
        );
    }
    info!("shoal stopped");
    Ok(())
}

/// Open the lease database; with `retry-on-startup`, a database that is not there yet is
/// retried max-reconnect-tries times, reconnect-wait-time apart (as Kea).
async fn open_with_retry(
    cfg: &crate::settings::DatabaseConfig,
) -> Result<store::Db, store::StoreError> {
    let mut tries = 0;
    loop {
        match store::open_for_server(cfg).await {
            Err(e)
                if e.is_retryable() && cfg.retry_on_startup && tries < cfg.max_reconnect_tries =>
            {
                tries += 1;
                warn!(err = %e, tries, "lease database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(u64::from(
                    cfg.reconnect_wait_time.max(100),
                )))
                .await;
            }
            other => return other,
        }
    }
}

/// The host databases in look-up order: `hosts-database(s)`, or the lease database's
/// own `hosts` table when neither key is given (none for `"hosts-databases": []`).
async fn open_host_databases(
    cfg: &crate::settings::Dhcp4Config,
    lease_db: &store::Db,
) -> anyhow::Result<Vec<Arc<dyn HostStore>>> {
    if cfg.hosts_in_lease_db {
        return Ok(vec![lease_db.hosts()]);
    }
    let mut out = Vec::new();
    for (i, hcfg) in cfg.hosts_databases.iter().enumerate() {
        let db = store::open_for_server(hcfg)
            .await
            .with_context(|| format!("opening hosts-databases[{i}]"))?;
        out.push(if hcfg.readonly {
            Arc::new(store::ReadOnlyHosts(db.hosts()))
        } else {
            db.hosts()
        });
    }
    Ok(out)
}

/// Make the free list cover every configured pool.
async fn sync_pools(leases: &dyn LeaseStore, pools: &[PoolRange], now: i64) -> anyhow::Result<()> {
    leases
        .sync_pools4(pools, now)
        .await
        .context("loading pools into the free-address list")?;
    Ok(())
}

/// SIGHUP re-reads the configuration (the same path as `config-reload`); SIGTERM /
/// SIGINT start a graceful shutdown.
async fn signals(state: Arc<crate::api::ApiState>, shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                if let Err(problems) = crate::api::server_cmds::reload(&state).await {
                    error!(%problems, "configuration reload refused; keeping the running configuration");
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = shutdown.cancelled() => return,
        }
    }
    info!("shutting down: finishing in-flight transactions");
    shutdown.cancel();
}

/// Background reclamation (expired-leases-processing): bounded batches every
/// reclaim-timer-wait-time, flush of old reclaimed rows every flush-reclaimed-timer-wait-time.
/// Several front-ends may run it at once: the store's batches skip rows others hold.
pub async fn reclaim_loop(
    leases: Arc<dyn LeaseStore>,
    elp: ExpiredLeasesProcessing,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    if elp.reclaim_timer_wait_time == 0 {
        return;
    }
    let mut reclaim =
        tokio::time::interval(Duration::from_secs(u64::from(elp.reclaim_timer_wait_time)));
    let flush_every = u64::from(elp.flush_reclaimed_timer_wait_time.max(1));
    let mut flush = tokio::time::interval(Duration::from_secs(flush_every));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = reclaim.tick() => {
                reclaim_once(leases.as_ref(), &elp, clock.as_ref()).await;
            }
            _ = flush.tick(), if elp.flush_reclaimed_timer_wait_time > 0 => {
                if let Err(err) = leases.flush_reclaimed4(clock.now(), elp.hold_reclaimed_time).await {
                    warn!(?err, "flushing reclaimed leases failed");
                }
            }
        }
    }
}

/// One reclamation cycle: batches of max-reclaim-leases until none are left or
/// max-reclaim-time has passed.
pub async fn reclaim_once(
    leases: &dyn LeaseStore,
    elp: &ExpiredLeasesProcessing,
    clock: &dyn Clock,
) -> u64 {
    let started = std::time::Instant::now();
    let budget = Duration::from_millis(u64::from(elp.max_reclaim_time));
    let batch = if elp.max_reclaim_leases == 0 {
        1000
    } else {
        elp.max_reclaim_leases
    };
    let mut total = 0;
    loop {
        match leases.reclaim_expired4(clock.now(), batch).await {
            Ok(n) => {
                total += n;
                if n < u64::from(batch) || (elp.max_reclaim_time > 0 && started.elapsed() >= budget)
                {
                    break;
                }
            }
            Err(err) => {
                warn!(?err, "lease reclamation failed");
                break;
            }
        }
    }
    if total > 0 {
        info!(reclaimed = total, "expired leases reclaimed");
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    async fn sources(hosts_keys: &str) -> usize {
        let json = format!(r#"{{"Dhcp4": {{ {hosts_keys} "subnet4": []}}}}"#);
        let settings = Settings::from_str_with_env(&json, &[]).expect("valid");
        let dir = std::env::temp_dir().join(format!(
            "shoal-app-test-{}-{}.db",
            std::process::id(),
            hosts_keys.len()
        ));
        let cfg = crate::settings::DatabaseConfig::sqlite(dir.to_str().expect("utf-8 path"));
        let db = store::open_for_server(&cfg).await.expect("sqlite");
        let n = open_host_databases(&settings.dhcp4, &db)
            .await
            .expect("host databases")
            .len();
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", dir.display()));
        }
        n
    }

    #[tokio::test]
    async fn hosts_come_from_the_lease_database_unless_configured_empty() {
        assert_eq!(sources("").await, 1, "the lease database's own hosts table");
        assert_eq!(
            sources(r#""hosts-databases": [],"#).await,
            0,
            "an empty list: no database reservations, no look-ups"
        );
    }
}
