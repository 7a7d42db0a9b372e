//! A small connection pool for the per-packet statements.
//!
//! sqlx's `Pool` pings every connection when it is returned (`return_to_pool` sends a
//! Sync / COM_PING and waits for the answer), so each one-statement use costs two round
//! trips and two wake-ups of the database backend. On the packet path that doubled the
//! database work per DORA. This pool returns a connection without a ping when the
//! statement using it completed, and discards it otherwise: a future dropped mid-statement
//! (the per-packet deadline) or any error may leave the protocol state unknown, so such a
//! connection is closed rather than reused. A connection idle for longer than
//! [`STALE_AFTER`] is pinged once before reuse, so one closed by the server or a proxy
//! while idle is replaced instead of failing a packet.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Database};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{map_err, StoreError, StoreResult};

/// Session set-up run on each new connection.
pub(crate) type Init<DB> = dyn for<'c> Fn(
        &'c mut <DB as Database>::Connection,
    ) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>
    + Send
    + Sync;

/// A connection idle this long is pinged before it is used again.
const STALE_AFTER: Duration = Duration::from_secs(30);

/// Connections of one database, at most `max` open.
pub(crate) struct FastPool<DB: Database> {
    inner: Arc<Inner<DB>>,
}

impl<DB: Database> Clone for FastPool<DB> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for FastPool<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPool")
            .field(
                "idle",
                &self.inner.idle.lock().map(|v| v.len()).unwrap_or(0),
            )
            .finish()
    }
}

struct Inner<DB: Database> {
    opts: <DB::Connection as Connection>::Options,
    /// Most recently returned last (reusing it keeps few connections warm), with the
    /// time it was returned.
    idle: Mutex<VecDeque<(DB::Connection, Instant)>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    init: Option<Box<Init<DB>>>,
    stale_after: Duration,
}

impl<DB: Database> FastPool<DB> {
    /// A pool opening connections with `opts` lazily, at most `max` at a time; `init`
    /// runs on each new connection (session settings).
    pub(crate) fn new(
        opts: <DB::Connection as Connection>::Options,
        max: u32,
        acquire_timeout: Duration,
        init: Option<Box<Init<DB>>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                opts,
                idle: Mutex::new(VecDeque::new()),
                permits: Arc::new(Semaphore::new(max.max(1) as usize)),
                acquire_timeout,
                init,
                stale_after: STALE_AFTER,
            }),
        }
    }

    /// A connection: an idle one, else a new one, waiting at most the acquire timeout
    /// for a free slot.
    pub(crate) async fn get(&self) -> StoreResult<Conn<DB>> {
        let permit = tokio::time::timeout(
            self.inner.acquire_timeout,
            self.inner.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| StoreError::Unavailable("timed out waiting for a database connection".into()))?
        .map_err(|_| StoreError::Unavailable("connection pool closed".into()))?;
        let idle = self.inner.idle.lock().ok().and_then(|mut v| v.pop_back());
        let conn = match idle {
            Some((c, since)) if since.elapsed() < self.inner.stale_after => c,
            // Idle for a while: the server or something between may have closed it,
            // so check it once rather than fail a client's packet on it.
            Some((mut c, _)) => match c.ping().await {
                Ok(()) => c,
                Err(_) => self.open().await?,
            },
            None => self.open().await?,
        };
        Ok(Conn {
            conn: Some(conn),
            inner: self.inner.clone(),
            clean: false,
            _permit: permit,
        })
    }

    async fn open(&self) -> StoreResult<DB::Connection> {
        let mut conn = tokio::time::timeout(self.inner.acquire_timeout, self.inner.opts.connect())
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to the database".into()))?
            .map_err(map_err)?;
        if let Some(init) = &self.inner.init {
            init(&mut conn).await.map_err(map_err)?;
        }
        Ok(conn)
    }

    /// Close every idle connection (open ones close when their users drop them).
    pub(crate) fn clear(&self) {
        if let Ok(mut v) = self.inner.idle.lock() {
            v.clear();
        }
    }
}

/// A connection on loan. Call [`Conn::release`] after the statement completed to return
/// it; dropped without that, the connection is closed.
pub(crate) struct Conn<DB: Database> {
    conn: Option<DB::Connection>,
    inner: Arc<Inner<DB>>,
    clean: bool,
    _permit: OwnedSemaphorePermit,
}

impl<DB: Database> Conn<DB> {
    /// Return the connection for reuse: its last statement completed.
    pub(crate) fn release(mut self) {
        self.clean = true;
    }

    /// Pass `r` through, returning the connection when it is `Ok` and closing it otherwise.
    pub(crate) fn finish<T>(self, r: Result<T, sqlx::Error>) -> StoreResult<T> {
        match r {
            Ok(v) => {
                self.release();
                Ok(v)
            }
            Err(e) => Err(map_err(e)),
        }
    }
}

impl<DB: Database> Deref for Conn<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl<DB: Database> DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl<DB: Database> Drop for Conn<DB> {
    fn drop(&mut self) {
        if let (true, Some(c)) = (self.clean, self.conn.take()) {
            if let Ok(mut v) = self.inner.idle.lock() {
                v.push_back((c, Instant::now()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{Executor, Sqlite};

    use super::*;

    fn pool(max: u32) -> FastPool<Sqlite> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").expect("options");
        let init: Box<Init<Sqlite>> = Box::new(|c| {
            Box::pin(async move { c.execute("CREATE TEMP TABLE t (x)").await.map(|_| ()) })
        });
        FastPool::new(opts, max, Duration::from_millis(200), Some(init))
    }

    #[tokio::test]
    async fn a_long_idle_connection_is_checked_and_kept_when_alive() {
        let mut p = pool(1);
        Arc::get_mut(&mut p.inner).expect("sole owner").stale_after = Duration::ZERO;
        let mut c = p.get().await.expect("connection");
        c.execute("INSERT INTO t VALUES (1)").await.expect("insert");
        c.release();
        // Every idle connection now counts as stale: it is pinged, answers, and is reused.
        let mut c = p.get().await.expect("connection");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *c)
            .await
            .expect("count");
        assert_eq!(n, 1, "the same connection, kept after its ping");
    }

    fn idle(p: &FastPool<Sqlite>) -> usize {
        p.inner.idle.lock().expect("lock").len()
    }

    #[tokio::test]
    async fn released_connections_are_reused_and_dropped_ones_closed() {
        let p = pool(2);
        let mut c = p.get().await.expect("connection");
        // The init ran: the connection has its temporary table.
        c.execute("INSERT INTO t VALUES (1)").await.expect("insert");
        c.release();
        assert_eq!(idle(&p), 1);
        // The same connection comes back: its temporary table still has the row.
        let mut c = p.get().await.expect("connection");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *c)
            .await
            .expect("count");
        assert_eq!(n, 1);
        // Dropped without release (a cancelled or failed statement): not reused.
        drop(c);
        assert_eq!(idle(&p), 0);
        let mut c = p.get().await.expect("new connection");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *c)
            .await
            .expect("count");
        assert_eq!(n, 0, "a fresh connection");
        // finish() closes on error and returns on success.
        let r = sqlx::query("SELECT * FROM missing").execute(&mut *c).await;
        assert!(c.finish(r).is_err());
        assert_eq!(idle(&p), 0);
        let c = p.get().await.expect("connection");
        assert!(c.finish(Ok(())).is_ok());
        assert_eq!(idle(&p), 1);
    }

    #[tokio::test]
    async fn waiting_for_a_connection_times_out_with_unavailable() {
        let p = pool(1);
        let held = p.get().await.expect("connection");
        let err = p.get().await.err().expect("no free slot");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        held.release();
        assert!(p.get().await.is_ok(), "the slot is free again");
    }
}
