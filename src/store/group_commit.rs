//! Group commit for lease claims: claims that arrive while a claim statement is in
//! flight wait for it, then go to the database together, in one statement (PostgreSQL)
//! or one transaction (MySQL), and one commit.
//!
//! A durable commit costs the database a log flush (an `fdatasync`), and each statement a
//! server wake-up: on PostgreSQL at 4,000 DORA/s, a third of the database's CPU per DORA
//! was the flush alone. Batching never delays a claim when the database is idle (a lone
//! claim goes at once, as a batch of one); under load, batches grow by themselves.
//!
//! Every claim keeps the meaning of a single `claim4`: the backend decides each row by
//! the same rule. Two claims of one address never share a batch (the later one runs in
//! the next round, and sees the first one's row), backends write rows in address order
//! (so two batches cannot lock each other's rows in opposite orders), and when a shared
//! batch fails, each of its claims is retried alone, so one claim's trouble is not the
//! others'.
//!
//! One worker task per store runs the batches, one at a time. It ends when the store is
//! dropped. A claim whose worker is gone (its runtime stopped) runs alone on the
//! caller's task.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::{ClaimBatchStats, ClientKey, Lease4, StoreError, StoreResult, UnixTime};

/// Most claims in one batch.
const MAX_BATCH: usize = 64;

/// One claim: the lease (never an offer), its client and the time of the claim.
pub(crate) type Claim<'a> = (&'a Lease4, &'a ClientKey, UnixTime);

/// A backend's claim of several leases at once.
#[async_trait::async_trait]
pub(crate) trait ClaimMany: Send + Sync + std::fmt::Debug + 'static {
    /// Claim `rows` (distinct addresses, in address order) in one commit, each with
    /// `claim4`'s meaning: the addresses claimed.
    async fn claim_many(&self, rows: &[Claim<'_>]) -> StoreResult<HashSet<Ipv4Addr>>;
}

/// One claim waiting for its batch.
struct Job {
    lease: Lease4,
    client: ClientKey,
    now: UnixTime,
    reply: oneshot::Sender<StoreResult<Option<Lease4>>>,
}

impl Job {
    fn claim(&self) -> Claim<'_> {
        (&self.lease, &self.client, self.now)
    }

    /// The answer to this job given the addresses its batch claimed.
    fn outcome(&self, claimed: &HashSet<Ipv4Addr>) -> Option<Lease4> {
        claimed
            .contains(&self.lease.address)
            .then(|| self.lease.clone())
    }
}

/// The sending side, held by the store; the worker starts with the first claim.
#[derive(Debug)]
pub(crate) struct ClaimBatcher<C: ClaimMany> {
    core: Arc<Core<C>>,
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

/// What runs the batches: shared by the worker and by claims made alone.
#[derive(Debug)]
struct Core<C> {
    backend: C,
    statements: AtomicU64,
    claims: AtomicU64,
    split: AtomicU64,
}

impl<C: ClaimMany> ClaimBatcher<C> {
    /// Claims through `backend`.
    pub(crate) fn new(backend: C) -> Self {
        Self {
            core: Arc::new(Core {
                backend,
                statements: AtomicU64::new(0),
                claims: AtomicU64::new(0),
                split: AtomicU64::new(0),
            }),
            tx: Mutex::new(None),
        }
    }

    /// Batches run and claims they carried, so far.
    pub(crate) fn stats(&self) -> ClaimBatchStats {
        ClaimBatchStats {
            statements: self.core.statements.load(Ordering::Relaxed),
            claims: self.core.claims.load(Ordering::Relaxed),
            split: self.core.split.load(Ordering::Relaxed),
        }
    }

    /// Claim `lease` (not an offer) for `client`, with `claim4`'s meaning.
    pub(crate) async fn claim(
        &self,
        lease: &Lease4,
        client: &ClientKey,
        now: UnixTime,
    ) -> StoreResult<Option<Lease4>> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            lease: lease.clone(),
            client: client.clone(),
            now,
            reply,
        };
        if let Some(tx) = self.sender() {
            // The worker answers every job it takes; no answer means the worker itself
            // is gone (its runtime stopped), perhaps mid-batch: claiming again is safe,
            // as a client's own claim of its own address succeeds.
            if tx.send(job).is_ok() {
                if let Ok(r) = answer.await {
                    return r;
                }
            }
            tracing::debug!("claim worker gone; claiming alone");
            self.forget_worker();
        }
        let claimed = self.core.batch(&[(lease, client, now)]).await?;
        Ok(claimed.contains(&lease.address).then(|| lease.clone()))
    }

    /// The worker's queue, starting the worker on first use (a runtime is needed).
    fn sender(&self) -> Option<mpsc::UnboundedSender<Job>> {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tx.as_ref().filter(|t| !t.is_closed()) {
            return Some(t.clone());
        }
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (t, rx) = mpsc::unbounded_channel();
        handle.spawn(self.core.clone().run(rx));
        *tx = Some(t.clone());
        Some(t)
    }

    fn forget_worker(&self) {
        *self.tx.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl<C: ClaimMany> Core<C> {
    /// The worker: take whatever claims are waiting (up to [`MAX_BATCH`]), run them,
    /// repeat; end when the store is dropped.
    async fn run(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            // A claim whose packet was given up on is not made.
            batch.retain(|j| !j.reply.is_closed());
            self.rounds(std::mem::take(&mut batch)).await;
        }
    }

    /// Run `jobs` in rounds of distinct addresses, answering each job.
    async fn rounds(&self, mut jobs: Vec<Job>) {
        while !jobs.is_empty() {
            let mut seen = HashSet::new();
            let (mut round, later): (Vec<Job>, Vec<Job>) =
                jobs.into_iter().partition(|j| seen.insert(j.lease.address));
            round.sort_by_key(|j| j.lease.address);
            let rows: Vec<Claim<'_>> = round.iter().map(Job::claim).collect();
            match self.batch(&rows).await {
                Ok(claimed) => {
                    for j in round {
                        let got = j.outcome(&claimed);
                        let _ = j.reply.send(Ok(got));
                    }
                }
                // One statement for each claim, so that one claim's trouble (a lock
                // wait that timed out, a deadlock with another front-end) is not all.
                Err(e) if round.len() > 1 => {
                    let n = round.len();
                    self.split.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, claims = n, "shared claim failed; each goes alone");
                    self.one_by_one(round).await;
                }
                Err(e) => {
                    // A round of one: its own error.
                    if let Some(j) = round.into_iter().next() {
                        let _ = j.reply.send(Err(e));
                    }
                }
            }
            jobs = later;
        }
    }

    /// Each job alone, skipping those whose packet was given up on. Once one finds the
    /// database unreachable, the rest get that answer at once rather than each waiting
    /// out its own timeout.
    async fn one_by_one(&self, round: Vec<Job>) {
        let mut down: Option<String> = None;
        for j in round.into_iter().filter(|j| !j.reply.is_closed()) {
            if let Some(why) = &down {
                let _ = j.reply.send(Err(StoreError::Unavailable(why.clone())));
                continue;
            }
            let r = self.batch(&[j.claim()]).await;
            if let Err(StoreError::Unavailable(why)) = &r {
                down = Some(why.clone());
            }
            let got = r.map(|claimed| j.outcome(&claimed));
            let _ = j.reply.send(got);
        }
    }

    /// One batch, counted.
    async fn batch(&self, rows: &[Claim<'_>]) -> StoreResult<HashSet<Ipv4Addr>> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.claims.fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.backend.claim_many(rows).await
    }
}
