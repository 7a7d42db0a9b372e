//! `shoal-admin`: schema and lease maintenance over `shoal::store`.
//!
//! Thin commands: argument parsing here, the work in [`shoal::store::migrate`] and the
//! lease store. Only this tool changes a server database's schema (the server refuses a
//! mismatch); see `--help` for commands and exit codes.

mod args;
mod csv;

use std::process::ExitCode;

use anyhow::{bail, Context};
use shoal::store::{migrate, Db};

use args::{Command, Invocation};

/// Exit codes of `db-version` (documented in `--help`).
const EXIT_OLDER: u8 = 3;
const EXIT_NOT_INITIALISED: u8 = 4;

fn main() -> ExitCode {
    let inv = match args::parse(std::env::args().skip(1)) {
        Ok(Some(inv)) => inv,
        Ok(None) => {
            print!("{}", args::HELP);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e:#}\n\nrun `shoal-admin --help` for usage");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(inv)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(inv: Invocation) -> anyhow::Result<u8> {
    let db = Db::connect(&inv.database)
        .await
        .context("cannot connect to the database")?;
    let code = match inv.command {
        Command::Init => {
            for line in migrate::init(&db).await? {
                println!("{line}");
            }
            println!("schema version {}", migrate::expected_version());
            0
        }
        Command::Version => db_version(&db).await?,
        Command::Upgrade { to } => {
            let applied = migrate::upgrade(&db, to).await?;
            if applied.is_empty() {
                println!("nothing to apply");
            }
            for line in applied {
                println!("{line}");
            }
            0
        }
        Command::Dump { output } => lease_dump(&db, output.as_deref()).await?,
        Command::Upload { input } => lease_upload(&db, &input).await?,
    };
    db.close().await;
    Ok(code)
}

async fn db_version(db: &Db) -> anyhow::Result<u8> {
    let expected = migrate::expected_version();
    match migrate::version(db).await? {
        None => {
            println!(
                "database not initialised (this build expects {expected}); run shoal-admin db-init"
            );
            Ok(EXIT_NOT_INITIALISED)
        }
        Some(v) => {
            println!("schema version {v} (this build expects {expected})");
            if v < expected {
                println!("run shoal-admin db-upgrade");
                Ok(EXIT_OLDER)
            } else if v > expected {
                bail!("database schema version {v} is newer than this build ({expected})")
            } else {
                Ok(0)
            }
        }
    }
}

async fn require_current(db: &Db) -> anyhow::Result<()> {
    let expected = migrate::expected_version();
    match migrate::version(db).await? {
        Some(v) if v == expected => Ok(()),
        found => bail!(
            "database schema version {found:?} is not the expected {expected}; run db-init or db-upgrade first"
        ),
    }
}

async fn lease_dump(db: &Db, output: Option<&str>) -> anyhow::Result<u8> {
    require_current(db).await?;
    let leases = db.leases().all_leases4().await?;
    let text = csv::write_leases(&leases);
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {path}"))?;
            eprintln!("{} leases written to {path}", leases.len());
        }
        None => print!("{text}"),
    }
    Ok(0)
}

async fn lease_upload(db: &Db, input: &str) -> anyhow::Result<u8> {
    require_current(db).await?;
    let text = std::fs::read_to_string(input).with_context(|| format!("cannot read {input}"))?;
    let leases = csv::read_leases(&text).with_context(|| format!("{input}: nothing written"))?;
    let n = db
        .leases()
        .upload_leases4(&leases)
        .await
        .context("upload refused; nothing written")?;
    println!("{n} leases uploaded");
    Ok(0)
}
