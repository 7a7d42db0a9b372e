//! Database health as the packet path sees it, and Kea's reaction to losing the lease
//! database (`on-fail`, `max-reconnect-tries`, `reconnect-wait-time`):
//!
//! - a failed database operation wakes the watchdog ([`DbHealth::failed`]);
//! - the watchdog probes the database; a probe that works means a passing error
//!   (a deadlock, a timeout), nothing more happens;
//! - otherwise, with `stop-retry-exit` and `stop-retry-continue`-like policies, DHCP service
//!   is disabled (packets dropped as `database-down`) while it retries every
//!   reconnect-wait-time, up to max-reconnect-tries; `serve-retry-*` keeps serving;
//! - when the database answers again service resumes; when the tries run out, `*-exit`
//!   policies stop the process (exit code 1, as Kea), `serve-retry-continue` keeps trying.
//!
//! Committed leases are never at risk: a client is only ACKed after its lease committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::settings::{DatabaseConfig, OnFail};
use crate::store::LeaseStore;

/// Shared between the handler (reports failures, checks `serving`) and the watchdog.
#[derive(Debug)]
pub struct DbHealth {
    serving: AtomicBool,
    failed: Notify,
    fatal: AtomicBool,
}

impl Default for DbHealth {
    fn default() -> Self {
        Self {
            serving: AtomicBool::new(true),
            failed: Notify::new(),
            fatal: AtomicBool::new(false),
        }
    }
}

impl DbHealth {
    /// A database operation failed in a way that may mean the database is gone.
    pub fn failed(&self) {
        self.failed.notify_one();
    }

    /// Is DHCP service enabled (false while `stop-retry-*` waits for the database)?
    pub fn serving(&self) -> bool {
        self.serving.load(Ordering::Relaxed)
    }

    /// Did the watchdog give up (the process should exit with an error)?
    pub fn gave_up(&self) -> bool {
        self.fatal.load(Ordering::Relaxed)
    }
}

/// Watch the lease database until `shutdown`; may cancel `shutdown` when `on-fail` says
/// the process must exit.
pub async fn watchdog(
    health: Arc<DbHealth>,
    leases: Arc<dyn LeaseStore>,
    cfg: DatabaseConfig,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let wait = Duration::from_millis(u64::from(cfg.reconnect_wait_time.max(100)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = health.failed.notified() => {}
        }
        if probe(leases.as_ref(), clock.as_ref()).await {
            continue;
        }
        let stop = cfg.on_fail == OnFail::StopRetryExit;
        if stop {
            health.serving.store(false, Ordering::Relaxed);
        }
        warn!(on_fail = ?cfg.on_fail, tries = cfg.max_reconnect_tries, "lease database lost");
        let mut tries = 0u32;
        let recovered = loop {
            let forever = cfg.on_fail == OnFail::ServeRetryContinue;
            if !forever && tries >= cfg.max_reconnect_tries {
                break false;
            }
            tries += 1;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if probe(leases.as_ref(), clock.as_ref()).await {
                break true;
            }
        };
        if recovered {
            health.serving.store(true, Ordering::Relaxed);
            info!(
                tries,
                "lease database reachable again; DHCP service resumed"
            );
        } else {
            error!(
                tries,
                "lease database unreachable and reconnect tries exhausted; exiting"
            );
            health.fatal.store(true, Ordering::Relaxed);
            shutdown.cancel();
            return;
        }
    }
}

/// A cheap primary-key read: does the database answer?
async fn probe(leases: &dyn LeaseStore, _clock: &dyn Clock) -> bool {
    leases
        .lease4_by_address(std::net::Ipv4Addr::UNSPECIFIED)
        .await
        .is_ok()
}
