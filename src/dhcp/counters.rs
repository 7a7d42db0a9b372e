//! Packet counters, kept off the database path (plain atomics), for the control API and
//! metrics. Names follow Kea's statistics (`pkt4-received`, `pkt4-discover-received`,
//! `pkt4-ack-sent`, …) plus `pkt4-drop-<reason>`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::DropReason;

/// Thread-safe named counters.
#[derive(Debug, Default)]
pub struct Counters {
    named: Mutex<BTreeMap<String, &'static AtomicU64>>,
}

impl Counters {
    /// New, empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, name: &str) -> &'static AtomicU64 {
        let mut map = self.named.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(name) {
            return c;
        }
        // Counters live for the process; leaking one small atomic per distinct name lets
        // the hot path bump it without holding the lock.
        let c: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        map.insert(name.to_string(), c);
        c
    }

    /// Add one to `name`.
    pub fn incr(&self, name: &str) {
        self.slot(name).fetch_add(1, Ordering::Relaxed);
    }

    /// Count a dropped packet under `pkt4-drop-<reason>` and `pkt4-receive-drop`.
    pub fn dropped(&self, reason: DropReason) {
        self.incr("pkt4-receive-drop");
        self.incr(&format!("pkt4-drop-{}", reason.name()));
    }

    /// Current value of `name` (0 if never counted).
    pub fn get(&self, name: &str) -> u64 {
        let map = self.named.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Every counter and its value, sorted by name.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let map = self.named.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_name_and_drop_reason() {
        let c = Counters::new();
        c.incr("pkt4-received");
        c.incr("pkt4-received");
        c.dropped(DropReason::Malformed);
        assert_eq!(c.get("pkt4-received"), 2);
        assert_eq!(c.get("pkt4-drop-malformed"), 1);
        assert_eq!(c.get("pkt4-receive-drop"), 1);
        assert_eq!(c.get("never"), 0);
    }
}
