//! What a DISCOVER learned, kept for its REQUEST: the client's host look-up and the
//! address offered (which the free-list pick already checked against reservations).
//! A REQUEST of the same transaction (xid + chaddr) for that address within the offer's
//! hold reuses it instead of asking the host databases again, so a whole DORA costs one
//! host look-up. Entries are single-use and bounded in number and age; a reservation
//! added between a client's DISCOVER and REQUEST applies from its next transaction.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use super::hosts::HostMatch;

/// At most this many transactions are remembered; beyond it the oldest half goes.
const MAX_ENTRIES: usize = 16_384;

#[derive(Debug, Clone)]
struct Entry {
    at: i64,
    hold: i64,
    subnet_id: u32,
    offered: Ipv4Addr,
    host: Option<HostMatch>,
}

/// Offers awaiting their REQUEST, keyed by (xid, chaddr).
#[derive(Debug, Default)]
pub struct TxnCache {
    entries: Mutex<HashMap<(u32, Vec<u8>), Entry>>,
}

impl TxnCache {
    /// Remember an OFFER of `offered` in `subnet_id`, valid for `hold` seconds from `now`.
    pub fn offered(
        &self,
        key: (u32, Vec<u8>),
        now: i64,
        hold: u32,
        subnet_id: u32,
        offered: Ipv4Addr,
        host: Option<HostMatch>,
    ) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.at + e.hold >= now);
            if map.len() >= MAX_ENTRIES {
                let mut ages: Vec<i64> = map.values().map(|e| e.at).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, e| e.at > cut);
            }
        }
        let entry = Entry {
            at: now,
            hold: i64::from(hold),
            subnet_id,
            offered,
            host,
        };
        map.insert(key, entry);
    }

    /// The host look-up of the DISCOVER that offered `address` in `subnet_id` to this
    /// transaction, if still fresh. Single use.
    pub fn take(
        &self,
        key: &(u32, Vec<u8>),
        now: i64,
        subnet_id: u32,
        address: Ipv4Addr,
    ) -> Option<Option<HostMatch>> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.remove(key)?;
        (e.subnet_id == subnet_id && e.offered == address && now <= e.at + e.hold).then_some(e.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> (u32, Vec<u8>) {
        (u32::from(n), vec![n; 6])
    }

    #[test]
    fn reused_once_for_the_offered_address_while_fresh() {
        let c = TxnCache::default();
        let a = Ipv4Addr::new(10, 0, 0, 5);
        c.offered(key(1), 100, 30, 1, a, None);
        assert!(
            c.take(&key(1), 101, 1, Ipv4Addr::new(10, 0, 0, 6))
                .is_none(),
            "other address"
        );
        c.offered(key(1), 100, 30, 1, a, None);
        assert!(c.take(&key(1), 101, 2, a).is_none(), "other subnet");
        c.offered(key(1), 100, 30, 1, a, None);
        assert!(c.take(&key(1), 131, 1, a).is_none(), "too old");
        c.offered(key(1), 100, 30, 1, a, None);
        assert_eq!(c.take(&key(1), 110, 1, a), Some(None));
        assert!(c.take(&key(1), 110, 1, a).is_none(), "single use");
    }

    #[test]
    fn stays_bounded() {
        let c = TxnCache::default();
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            c.offered(
                (i, vec![1]),
                i64::from(i),
                1_000_000,
                1,
                Ipv4Addr::LOCALHOST,
                None,
            );
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
