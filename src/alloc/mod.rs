//! Allocation policy over the store: which address a client gets, in Kea's order.
//!
//! 1. the address the client already holds (its lease or offer) in a permitted pool;
//! 2. the address it asks for (option 50), when free and in a permitted pool;
//! 3. an address from the free list of the permitted pools, subnet by subnet (a shared
//!    network moves on to the next subnet when one is full);
//! 4. the longest-expired lease in those pools.
//!
//! Every step that writes is one atomic store claim, so two front-ends racing for one
//! address cannot both win; the loser simply moves on to the next step. A typical
//! allocation costs two round trips (client look-up + one claim) whatever the pool size.

use std::net::Ipv4Addr;

use crate::settings::{Pool4, Subnet4};
use crate::store::{ClientKey, Lease4, LeaseStore, PoolRange, StoreResult, UnixTime};

/// A subnet the client may get an address from, with the pools its classes permit.
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    /// The subnet.
    pub subnet: &'a Subnet4,
    /// Pools of that subnet the client is allowed to use.
    pub pools: Vec<&'a Pool4>,
}

impl Choice<'_> {
    /// The permitted pools as store ranges.
    pub fn ranges(&self) -> Vec<PoolRange> {
        self.pools
            .iter()
            .map(|p| PoolRange {
                start: p.start,
                end: p.end,
                subnet_id: self.subnet.id,
                pool_id: p.pool_id,
            })
            .collect()
    }

    /// The permitted pool holding `addr`.
    pub fn pool_of(&self, addr: Ipv4Addr) -> Option<&Pool4> {
        self.pools
            .iter()
            .copied()
            .find(|p| (p.start..=p.end).contains(&addr))
    }
}

/// Find the choice and pool an address belongs to.
pub fn locate<'c, 'a>(
    choices: &'c [Choice<'a>],
    addr: Ipv4Addr,
) -> Option<(&'c Choice<'a>, &'a Pool4)> {
    choices.iter().find_map(|c| {
        c.pools
            .iter()
            .copied()
            .find(|p| (p.start..=p.end).contains(&addr))
            .map(|p| (c, p))
    })
}

/// Builds the lease to write for a given subnet (lifetimes differ per subnet).
pub trait LeaseTemplate: Sync {
    /// The lease to store at `address` in `subnet`/`pool`.
    fn lease_for(&self, subnet: &Subnet4, pool: &Pool4, address: Ipv4Addr) -> Lease4;
}

/// Claim an address for `client` following the policy above. `None` when every
/// permitted pool is exhausted.
pub async fn allocate(
    store: &dyn LeaseStore,
    template: &dyn LeaseTemplate,
    client: &ClientKey,
    choices: &[Choice<'_>],
    requested: Option<Ipv4Addr>,
    now: UnixTime,
) -> StoreResult<Option<Lease4>> {
    if choices.is_empty() {
        return Ok(None);
    }
    let subnet_ids: Vec<u32> = choices.iter().map(|c| c.subnet.id).collect();
    // 1. The client's own lease or offer.
    if let Some(prev) = store.lease4_by_client(client, &subnet_ids).await? {
        if let Some(lease) = claim_at(store, template, client, choices, prev.address, now).await? {
            return Ok(Some(lease));
        }
    }
    // 2. The requested address.
    if let Some(addr) = requested {
        if let Some(lease) = claim_at(store, template, client, choices, addr, now).await? {
            return Ok(Some(lease));
        }
    }
    // 3. The free list, then 4. expired leases, subnet by subnet.
    for choice in choices {
        let ranges = choice.ranges();
        if ranges.is_empty() {
            continue;
        }
        let first = choice.pools[0];
        let proto = template.lease_for(choice.subnet, first, first.start);
        if let Some(lease) = store.claim_free4(&proto, &ranges, now).await? {
            return Ok(Some(lease));
        }
    }
    for choice in choices {
        let ranges = choice.ranges();
        if ranges.is_empty() {
            continue;
        }
        let first = choice.pools[0];
        let proto = template.lease_for(choice.subnet, first, first.start);
        if let Some(lease) = store.claim_expired4(&proto, &ranges, now).await? {
            return Ok(Some(lease));
        }
    }
    Ok(None)
}

/// Claim one specific address if it lies in a permitted pool.
pub async fn claim_at(
    store: &dyn LeaseStore,
    template: &dyn LeaseTemplate,
    client: &ClientKey,
    choices: &[Choice<'_>],
    addr: Ipv4Addr,
    now: UnixTime,
) -> StoreResult<Option<Lease4>> {
    let Some((choice, pool)) = locate(choices, addr) else {
        return Ok(None);
    };
    let lease = template.lease_for(choice.subnet, pool, addr);
    store.claim4(&lease, client, now).await
}
