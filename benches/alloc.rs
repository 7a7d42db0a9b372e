//! Allocation benchmark: `cargo bench --bench alloc`.
//!
//! For each reachable backend (SQLite always; PostgreSQL at `SHOAL_TEST_PG_URL`, MySQL at
//! `SHOAL_TEST_MYSQL_URL`, same defaults as the test harness) this creates a scratch
//! database, loads one /16 pool (65,536 addresses) into the free list, fills it to 99% with
//! `upload_leases4`, then times `SHOAL_BENCH_N` (default 500) sequential `claim_free4`
//! calls and prints allocations/s, mean latency and round trips per allocation. The point:
//! a nearly full pool costs the same as an empty one (one indexed pick).

use std::net::Ipv4Addr;
use std::time::Instant;

use shoal::settings::{DatabaseConfig, DatabaseType};
use shoal::store::{migrate, Db, Lease4, LeaseState, PoolRange};
use sqlx::{AssertSqlSafe, Connection};

const NOW: i64 = 1_800_000_000;
const POOL_START: u32 = 0x0A01_0000; // 10.1.0.0
const POOL_SIZE: u32 = 65_536;

fn lease(address: Ipv4Addr, n: u32) -> Lease4 {
    let mac = n.to_be_bytes();
    Lease4 {
        address,
        hwaddr: vec![0x02, 0xbe, mac[0], mac[1], mac[2], mac[3]],
        hwtype: 1,
        client_id: None,
        valid_lifetime: 3600,
        expire: NOW + 3600,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        state: LeaseState::Default,
        user_context: None,
        relay_id: None,
        remote_id: None,
    }
}

/// Run one statement on a server's maintenance database.
async fn server_exec(backend: DatabaseType, url: &str, sql: &str) -> Result<(), String> {
    let q = AssertSqlSafe(sql.to_string());
    let r = match backend {
        DatabaseType::Postgresql => {
            let mut c = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(q).execute(&mut c).await.map(|_| ())
        }
        DatabaseType::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(q).execute(&mut c).await.map(|_| ())
        }
        DatabaseType::Sqlite => Ok(()),
    };
    r.map_err(|e| e.to_string())
}

/// `url` (…/maintenance_db) with its database name replaced.
fn url_with_db(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}

struct Target {
    label: &'static str,
    backend: DatabaseType,
    server: Option<String>,
    round_trips: &'static str,
}

async fn run(t: &Target, n: usize) -> Result<(), String> {
    let name = format!("shoal_bench_{}", std::process::id());
    let dir = std::env::temp_dir().join(&name);
    let mut cfg = DatabaseConfig::sqlite(&dir.join("bench.db").to_string_lossy());
    if let Some(server) = &t.server {
        server_exec(t.backend, server, &format!("CREATE DATABASE {name}")).await?;
        cfg.db_type = t.backend;
        cfg.name = None;
        cfg.url = Some(url_with_db(server, &name));
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    let result = measure(&cfg, n).await;
    match &t.server {
        Some(server) => {
            let _ = server_exec(t.backend, server, &format!("DROP DATABASE {name}")).await;
        }
        None => {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let (load, fill, lat) = result?;
    let got = lat.len();
    let total: f64 = lat.iter().map(|d| d.as_secs_f64()).sum();
    // Mean of the first and of the last tenth: equal when a pick does not slow down as
    // claims (and their not yet vacuumed free-list entries) pile up.
    let tenth = (got / 10).max(1);
    let mean_us = |xs: &[std::time::Duration]| {
        xs.iter().map(|d| d.as_secs_f64()).sum::<f64>() * 1e6 / xs.len().max(1) as f64
    };
    println!(
        "{:<10} load /16 {:>6.2}s  fill 99% {:>6.2}s  {got} claim_free4: {:>8.0} alloc/s  \
         mean {:>7.1} µs (first tenth {:>7.1}, last tenth {:>7.1})  round trips/alloc {}",
        t.label,
        load.as_secs_f64(),
        fill.as_secs_f64(),
        got as f64 / total.max(1e-9),
        total * 1e6 / got.max(1) as f64,
        mean_us(&lat[..tenth.min(got)]),
        mean_us(&lat[got.saturating_sub(tenth)..]),
        t.round_trips,
    );
    Ok(())
}

/// Pool load time, fill time, and the latency of each allocation.
type Timings = (
    std::time::Duration,
    std::time::Duration,
    Vec<std::time::Duration>,
);

async fn measure(cfg: &DatabaseConfig, n: usize) -> Result<Timings, String> {
    let db = Db::connect(cfg).await.map_err(|e| e.to_string())?;
    migrate::init(&db).await.map_err(|e| e.to_string())?;
    let s = db.leases();
    let pool = PoolRange {
        start: Ipv4Addr::from(POOL_START),
        end: Ipv4Addr::from(POOL_START + POOL_SIZE - 1),
        subnet_id: 1,
        pool_id: 1,
    };
    let t0 = Instant::now();
    s.sync_pools4(&[pool], NOW)
        .await
        .map_err(|e| e.to_string())?;
    let load = t0.elapsed();
    // Lease every address except one in a hundred.
    let fill: Vec<Lease4> = (0..POOL_SIZE)
        .filter(|i| i % 100 != 0)
        .map(|i| lease(Ipv4Addr::from(POOL_START + i), i))
        .collect();
    let t1 = Instant::now();
    s.upload_leases4(&fill).await.map_err(|e| e.to_string())?;
    let fill_time = t1.elapsed();
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let l = lease(Ipv4Addr::UNSPECIFIED, POOL_SIZE + i as u32);
        let t = Instant::now();
        match s.claim_free4(&l, &[pool], NOW).await {
            Ok(Some(_)) => lat.push(t.elapsed()),
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    db.close().await;
    Ok((load, fill_time, lat))
}

fn main() {
    let n: usize = std::env::var("SHOAL_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let pg = std::env::var("SHOAL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let my = std::env::var("SHOAL_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into());
    let targets = [
        Target {
            label: "postgresql",
            backend: DatabaseType::Postgresql,
            server: Some(pg),
            round_trips: "1 (one statement)",
        },
        Target {
            label: "mysql",
            backend: DatabaseType::Mysql,
            server: Some(my),
            round_trips: "6 (BEGIN, pick, delete, lock, insert, COMMIT)",
        },
        Target {
            label: "sqlite",
            backend: DatabaseType::Sqlite,
            server: None,
            round_trips: "in-process (6 statements)",
        },
    ];
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    for t in &targets {
        if let Err(e) = rt.block_on(run(t, n)) {
            println!("{:<10} skipped: {e}", t.label);
        }
    }
}
