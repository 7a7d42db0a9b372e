//! Allocation policy over the store: which address a client gets, in Kea's order.
//!
//! 1. the address the client already holds (its lease or offer) in a permitted pool;
//! 2. the address it asks for (option 50), when free and in a permitted pool;
//! 3. an address from the free list of the permitted pools, subnet by subnet (a shared
//!    network moves on to the next subnet when one is full);
//! 4. the longest-expired lease in those pools.
//!
//! Every step that writes is one atomic store claim, so two front-ends racing for one
//! address cannot both win; the loser simply moves on to the next step. A new client's
//! allocation costs one round trip on PostgreSQL (client look-up and free-list claim in one
//! statement), two elsewhere, whatever the pool size.

use std::net::Ipv4Addr;

use crate::settings::{Pool4, Subnet4};
use crate::store::{
    ClientKey, Lease4, LeaseState, LeaseStore, PoolRange, PreviousOrFree, StoreResult, UnixTime,
};

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

/// The store operations an allocation makes. [`Hold`] makes them on the store (an OFFER
/// is written, holding its address for the offer lifetime); [`Peek`] answers the same
/// questions without writing (`offer-lifetime: 0`, Kea's default: the REQUEST's claim
/// is the only write, and a clash between two offers ends in a NAK).
#[async_trait::async_trait]
pub trait Claims: Sync {
    /// The store these claims act on; every method defaults to doing it there.
    fn store(&self) -> &dyn LeaseStore;
    /// See [`LeaseStore::lease4_by_client`].
    async fn lease4_by_client(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
    ) -> StoreResult<Option<Lease4>> {
        self.store().lease4_by_client(client, subnet_ids).await
    }
    /// See [`LeaseStore::previous_or_free4`].
    async fn previous_or_free4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree> {
        self.store()
            .previous_or_free4(client, subnet_ids, lease, pools, now)
            .await
    }
    /// See [`LeaseStore::claim4`].
    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        self.store().claim4(lease, client, now).await
    }
    /// See [`LeaseStore::claim_free4`].
    async fn claim_free4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        self.store().claim_free4(lease, pools, now).await
    }
    /// See [`LeaseStore::claim_expired4`].
    async fn claim_expired4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        self.store().claim_expired4(lease, pools, now).await
    }
}

/// Claims written to the store.
pub struct Hold<'s>(pub &'s dyn LeaseStore);

impl Claims for Hold<'_> {
    fn store(&self) -> &dyn LeaseStore {
        self.0
    }
}

/// Claims answered by reading only: the lease a claim would write, nothing written.
pub struct Peek<'s>(pub &'s dyn LeaseStore);

/// `lease` moved to `address`, with the pool id of the range holding it.
fn placed(lease: &Lease4, address: Ipv4Addr, pools: &[PoolRange]) -> Lease4 {
    Lease4 {
        address,
        pool_id: pools
            .iter()
            .find(|p| p.contains(address))
            .map_or(lease.pool_id, |p| p.pool_id),
        ..lease.clone()
    }
}

#[async_trait::async_trait]
impl Claims for Peek<'_> {
    fn store(&self) -> &dyn LeaseStore {
        self.0
    }
    async fn previous_or_free4(
        &self,
        client: &ClientKey,
        subnet_ids: &[u32],
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<PreviousOrFree> {
        let got = self
            .0
            .previous_or_peek4(client, subnet_ids, lease.subnet_id, pools, now)
            .await?;
        Ok(match got {
            PreviousOrFree::Previous(a) => PreviousOrFree::Previous(a),
            PreviousOrFree::Free(a) => PreviousOrFree::Free(a.map(|a| placed(lease, a, pools))),
        })
    }
    async fn claim4(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        Ok(match self.0.lease4_by_address(lease.address).await? {
            Some(cur) if !cur.takeable(now) && !client.owns(&cur) => None,
            _ => Some(lease.clone()),
        })
    }
    async fn claim_free4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let got = self.0.peek_free4(lease.subnet_id, pools, now).await?;
        Ok(got.map(|a| placed(lease, a, pools)))
    }
    async fn claim_expired4(
        &self,
        lease: &Lease4,
        pools: &[PoolRange],
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let got = self.0.peek_expired4(lease.subnet_id, pools, now).await?;
        Ok(got.map(|a| placed(lease, a, pools)))
    }
}

/// Builds the lease to write for a given subnet (lifetimes differ per subnet).
pub trait LeaseTemplate: Sync {
    /// The lease to store at `address` in `subnet`/`pool`.
    fn lease_for(&self, subnet: &Subnet4, pool: &Pool4, address: Ipv4Addr) -> Lease4;
}

/// Decides whether a client may take an address that someone else may have reserved.
#[async_trait::async_trait]
pub trait AddressGuard: Sync {
    /// May this client be given `addr` in subnet `subnet_id`? `from_free_list`: the
    /// address came from a free-list or expired-lease pick (which already skips
    /// addresses reserved in the lease database).
    async fn allowed(
        &self,
        subnet_id: u32,
        addr: Ipv4Addr,
        from_free_list: bool,
    ) -> StoreResult<bool>;
}

/// A guard that allows everything (no reservations in play).
pub struct AllowAll;

#[async_trait::async_trait]
impl AddressGuard for AllowAll {
    async fn allowed(&self, _: u32, _: Ipv4Addr, _: bool) -> StoreResult<bool> {
        Ok(true)
    }
}

/// One allocation: who, where, and what the client asked for.
pub struct AllocRequest<'r, 'a> {
    /// The client.
    pub client: &'r ClientKey,
    /// Candidate subnets with permitted pools, selected subnet first.
    pub choices: &'r [Choice<'a>],
    /// Address the client asked for (option 50).
    pub requested: Option<Ipv4Addr>,
    /// The client's reserved address, when it has one in a candidate subnet.
    pub reserved: Option<Ipv4Addr>,
    /// Now.
    pub now: UnixTime,
}

/// How many free-list picks may turn out to be reserved (in the configuration file)
/// for someone else before giving up on a subnet; each such address stays held for the
/// offer lifetime, so the next pick moves past it.
const MAX_RESERVED_SKIPS: usize = 8;

/// Claim an address for the client following the policy above. `None` when every
/// permitted pool is exhausted.
pub async fn allocate(
    store: &dyn Claims,
    template: &dyn LeaseTemplate,
    guard: &dyn AddressGuard,
    req: &AllocRequest<'_, '_>,
) -> StoreResult<Option<Lease4>> {
    let (client, choices, now) = (req.client, req.choices, req.now);
    if choices.is_empty() {
        return Ok(None);
    }
    // 0. The client's reservation, pool or not.
    if let Some(addr) = req.reserved {
        if let Some(subnet) = choices
            .iter()
            .map(|c| c.subnet)
            .find(|s| s.prefix.contains(&addr))
        {
            let pool = choices
                .iter()
                .find_map(|c| c.pool_of(addr))
                .cloned()
                .unwrap_or_else(|| out_of_pool(addr));
            let lease = template.lease_for(subnet, &pool, addr);
            if let Some(l) = store.claim4(&lease, client, now).await? {
                return Ok(Some(l));
            }
            if free_offer_on_reserved(store.store(), client, addr, now).await? {
                if let Some(l) = store.claim4(&lease, client, now).await? {
                    return Ok(Some(l));
                }
            }
        }
    }
    let subnet_ids: Vec<u32> = choices.iter().map(|c| c.subnet.id).collect();
    // 1. The client's own lease or offer. A client asking for no address goes on to the
    // free list of the first subnet anyway, so both are asked in one store call.
    let first = &choices[0];
    let mut taken = None;
    let prev = match (req.requested, first.pools.first()) {
        (None, Some(p0)) => {
            let proto = template.lease_for(first.subnet, p0, p0.start);
            match store
                .previous_or_free4(client, &subnet_ids, &proto, &first.ranges(), now)
                .await?
            {
                PreviousOrFree::Previous(a) => Some(a),
                PreviousOrFree::Free(l) => {
                    taken = l;
                    None
                }
            }
        }
        _ => store
            .lease4_by_client(client, &subnet_ids)
            .await?
            .map(|l| l.address),
    };
    if let Some(prev) = prev {
        if let Some(lease) =
            guarded_claim(store, template, guard, client, choices, prev, now).await?
        {
            return Ok(Some(lease));
        }
    }
    // 2. The requested address.
    if let Some(addr) = req.requested {
        if let Some(lease) =
            guarded_claim(store, template, guard, client, choices, addr, now).await?
        {
            return Ok(Some(lease));
        }
    }
    // 3. The free list (already taken from when step 1 did it), then 4. expired leases,
    // subnet by subnet.
    if let Some(lease) = taken {
        if guard.allowed(first.subnet.id, lease.address, true).await? {
            return Ok(Some(lease));
        }
        // Reserved for someone else: pick again (below, holding what is refused).
    }
    for choice in choices {
        if let Some(lease) = pick(store, template, guard, choice, now, Pick::Free).await? {
            return Ok(Some(lease));
        }
    }
    for choice in choices {
        if let Some(lease) = pick(store, template, guard, choice, now, Pick::Expired).await? {
            return Ok(Some(lease));
        }
    }
    Ok(None)
}

/// Another client holds an OFFER on `addr`, which is reserved for `client`: it was picked
/// from the free list before the pick was refused (that hold makes the next pick move
/// on), or before the reservation existed. Release that client's offers so the owner gets
/// its address; the other client's REQUEST for it is refused anyway (reserved for someone
/// else), and any other offer of its stays claimable while the address is free.
async fn free_offer_on_reserved(
    store: &dyn LeaseStore,
    client: &ClientKey,
    addr: Ipv4Addr,
    now: UnixTime,
) -> StoreResult<bool> {
    match store.lease4_by_address(addr).await? {
        Some(cur) if cur.state == LeaseState::Offered && !client.owns(&cur) => {
            let holder = ClientKey {
                client_id: cur.client_id,
                hwaddr: cur.hwaddr,
            };
            Ok(store
                .release_offers4(&holder, Ipv4Addr::UNSPECIFIED, now)
                .await?
                > 0)
        }
        _ => Ok(false),
    }
}

#[derive(Clone, Copy)]
enum Pick {
    Free,
    Expired,
}

async fn pick(
    store: &dyn Claims,
    template: &dyn LeaseTemplate,
    guard: &dyn AddressGuard,
    choice: &Choice<'_>,
    now: UnixTime,
    how: Pick,
) -> StoreResult<Option<Lease4>> {
    let ranges = choice.ranges();
    let Some(first) = choice.pools.first() else {
        return Ok(None);
    };
    let proto = template.lease_for(choice.subnet, first, first.start);
    let hold = Hold(store.store());
    let mut claims = store;
    for _ in 0..MAX_RESERVED_SKIPS {
        let got = match how {
            Pick::Free => claims.claim_free4(&proto, &ranges, now).await?,
            Pick::Expired => claims.claim_expired4(&proto, &ranges, now).await?,
        };
        let Some(lease) = got else { return Ok(None) };
        if guard.allowed(choice.subnet.id, lease.address, true).await? {
            return Ok(Some(lease));
        }
        // Reserved (in the configuration file) for someone else. Hold it, so that the
        // next pick moves past it (it is reclaimed after the offer hold): a pick that
        // holds nothing could draw the same address again.
        claims = &hold;
    }
    Ok(None)
}

/// A pool stand-in for a reserved address outside every pool.
fn out_of_pool(addr: Ipv4Addr) -> Pool4 {
    Pool4 {
        start: addr,
        end: addr,
        pool_id: 0,
        client_classes: Vec::new(),
        require_client_classes: Vec::new(),
        option_data: Vec::new(),
    }
}

async fn guarded_claim(
    store: &dyn Claims,
    template: &dyn LeaseTemplate,
    guard: &dyn AddressGuard,
    client: &ClientKey,
    choices: &[Choice<'_>],
    addr: Ipv4Addr,
    now: UnixTime,
) -> StoreResult<Option<Lease4>> {
    let Some((choice, _)) = locate(choices, addr) else {
        return Ok(None);
    };
    if !guard.allowed(choice.subnet.id, addr, false).await? {
        return Ok(None);
    }
    claim_at(store, template, client, choices, addr, now).await
}

/// Claim one specific address if it lies in a permitted pool.
pub async fn claim_at(
    store: &dyn Claims,
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
