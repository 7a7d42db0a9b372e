//! Statistics: Kea's `statistic-*` commands and the Prometheus `/metrics` text.
//!
//! Packet counters come from [`Counters`](crate::dhcp::Counters) (process-local); the
//! per-subnet `subnet[id].assigned-addresses`, `-declined-addresses` and
//! `-total-addresses` come from the shared database and the configured pools, so they
//! are cluster-wide. `statistic-reset` moves a baseline kept by the API; `/metrics`
//! reports the raw, monotonic counters.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::args::Args;
use super::envelope::{Answer, CmdResult};
use super::ApiState;
use crate::dhcp::DropReason;
use crate::store::{ClaimBatchStats, StoreResult};

/// Kea's packet statistics reported even before the first packet.
const KNOWN: &[&str] = &[
    "pkt4-received",
    "pkt4-discover-received",
    "pkt4-request-received",
    "pkt4-release-received",
    "pkt4-decline-received",
    "pkt4-inform-received",
    "pkt4-offer-sent",
    "pkt4-ack-sent",
    "pkt4-nak-sent",
    "pkt4-parse-failed",
    "pkt4-receive-drop",
];

/// Every packet counter (known names at 0 included), raw.
pub fn raw_counters(state: &ApiState) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = KNOWN.iter().map(|k| (k.to_string(), 0)).collect();
    for r in DropReason::ALL {
        m.insert(format!("pkt4-drop-{}", r.name()), 0);
    }
    m.extend(state.handler.counters().snapshot());
    m
}

/// Per-subnet address statistics, by Kea name.
pub async fn subnet_stats(state: &ApiState) -> StoreResult<BTreeMap<String, u64>> {
    let cfg = state.handler.config();
    let counts = state.leases.lease4_counts(state.clock.now()).await?;
    let pools = cfg.pools();
    let mut m = BTreeMap::new();
    for s in &cfg.subnets {
        let total: u64 = pools
            .iter()
            .filter(|p| p.subnet_id == s.id)
            .map(|p| p.size())
            .sum();
        let c = counts.iter().find(|c| c.subnet_id == s.id);
        let id = s.id;
        m.insert(format!("subnet[{id}].total-addresses"), total);
        m.insert(
            format!("subnet[{id}].assigned-addresses"),
            c.map_or(0, |c| c.assigned),
        );
        m.insert(
            format!("subnet[{id}].declined-addresses"),
            c.map_or(0, |c| c.declined),
        );
    }
    Ok(m)
}

fn timestamp(state: &ApiState) -> String {
    chrono::DateTime::from_timestamp(state.clock.now(), 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// Counters as the API reports them: minus the last reset's baseline.
fn counters(state: &ApiState) -> BTreeMap<String, u64> {
    let base = state.stats_base.lock().unwrap_or_else(|p| p.into_inner());
    raw_counters(state)
        .into_iter()
        .map(|(k, v)| {
            let b = base.get(&k).copied().unwrap_or(0);
            (k, v.saturating_sub(b))
        })
        .collect()
}

fn sample(v: u64, ts: &str) -> Value {
    json!([[v, ts]])
}

/// `statistic-get {name}`: Kea answers 0 with an empty map for an unknown name.
pub async fn get(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["name"])?;
    let name = a.str("name")?;
    let ts = timestamp(state);
    let value = if name.starts_with("subnet[") {
        subnet_stats(state).await?.get(name).copied()
    } else {
        counters(state).get(name).copied()
    };
    let mut m = Map::new();
    if let Some(v) = value {
        m.insert(name.to_string(), sample(v, &ts));
    }
    Ok(Answer::ok_with("", Value::Object(m)))
}

/// `statistic-get-all`.
pub async fn get_all(state: &ApiState) -> CmdResult {
    let ts = timestamp(state);
    let mut all = counters(state);
    all.extend(subnet_stats(state).await?);
    let m: Map<String, Value> = all.into_iter().map(|(k, v)| (k, sample(v, &ts))).collect();
    Ok(Answer::ok_with("", Value::Object(m)))
}

/// `statistic-reset {name}` (packet counters; address statistics are live counts).
pub fn reset(state: &ApiState, a: &Map<String, Value>) -> CmdResult {
    let a = Args(a);
    a.only(&["name"])?;
    let name = a.str("name")?;
    let Some(v) = raw_counters(state).get(name).copied() else {
        return Ok(Answer::error(format!("No '{name}' statistic found")));
    };
    let mut base = state.stats_base.lock().unwrap_or_else(|p| p.into_inner());
    base.insert(name.to_string(), v);
    Ok(Answer::ok(format!("Statistic '{name}' reset.")))
}

/// `statistic-reset-all`.
pub fn reset_all(state: &ApiState) -> Answer {
    let raw = raw_counters(state);
    *state.stats_base.lock().unwrap_or_else(|p| p.into_inner()) = raw.into_iter().collect();
    Answer::ok("All statistics reset to neutral values.")
}

/// `pkt4-ack-sent` → `shoal_pkt4_ack_sent_total`.
fn metric_name(kea: &str) -> String {
    let s: String = kea
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("shoal_{s}_total")
}

/// The Prometheus text exposition (version 0.0.4) of every counter and, when the
/// database answers, the per-subnet address gauges.
pub async fn prometheus(state: &ApiState) -> String {
    let mut out = String::new();
    for (k, v) in raw_counters(state) {
        let n = metric_name(&k);
        out.push_str(&format!(
            "# HELP {n} Kea statistic {k}.\n# TYPE {n} counter\n{n} {v}\n"
        ));
    }
    let up = state.started.elapsed().as_secs();
    out.push_str(&format!(
        "# HELP shoal_uptime_seconds Seconds since start.\n# TYPE shoal_uptime_seconds gauge\nshoal_uptime_seconds {up}\n"
    ));
    if let Some(b) = state.leases.claim_batches() {
        out.push_str(&claim_metrics(b));
    }
    let subnets = subnet_stats(state).await;
    let db_up = u8::from(subnets.is_ok());
    out.push_str(&format!(
        "# HELP shoal_database_up 1 when the lease database answered this scrape.\n\
         # TYPE shoal_database_up gauge\nshoal_database_up {db_up}\n"
    ));
    if let Ok(stats) = subnets {
        for (metric, suffix) in [
            ("shoal_subnet_assigned_addresses", "assigned-addresses"),
            ("shoal_subnet_declined_addresses", "declined-addresses"),
            ("shoal_subnet_total_addresses", "total-addresses"),
        ] {
            out.push_str(&format!(
                "# HELP {metric} Kea statistic subnet[id].{suffix}.\n# TYPE {metric} gauge\n"
            ));
            for (k, v) in stats.iter().filter(|(k, _)| k.ends_with(suffix)) {
                let id = k
                    .trim_start_matches("subnet[")
                    .split(']')
                    .next()
                    .unwrap_or("0");
                out.push_str(&format!("{metric}{{subnet_id=\"{id}\"}} {v}\n"));
            }
        }
    }
    out
}

/// Group commit's counters (PostgreSQL, MySQL): claims per commit is their ratio.
fn claim_metrics(b: ClaimBatchStats) -> String {
    [
        (
            "shoal_lease_claims_total",
            "Lease claims (REQUESTs) sent to the database.",
            b.claims,
        ),
        (
            "shoal_lease_claim_commits_total",
            "Statements (one commit each) that carried them.",
            b.statements,
        ),
        (
            "shoal_lease_claim_splits_total",
            "Shared claim statements that failed and were retried one claim at a time.",
            b.split,
        ),
    ]
    .iter()
    .map(|(n, help, v)| format!("# HELP {n} {help}\n# TYPE {n} counter\n{n} {v}\n"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_metrics_are_prometheus_counters() {
        let text = claim_metrics(ClaimBatchStats {
            statements: 4,
            claims: 10,
            split: 1,
        });
        assert!(
            text.contains("# TYPE shoal_lease_claims_total counter\nshoal_lease_claims_total 10\n")
        );
        assert!(text.contains("\nshoal_lease_claim_commits_total 4\n"));
        assert!(text.contains("\nshoal_lease_claim_splits_total 1\n"));
    }
}
