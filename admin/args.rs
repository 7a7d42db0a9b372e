//! Command-line parsing for `shoal-admin` (no argument-parser crate: the grammar is small
//! and Kea-shaped, with `-h` meaning host as in kea-admin).

use anyhow::{anyhow, bail, Context};
use shoal::settings::{DatabaseConfig, DatabaseType};

/// Usage text, including exit codes.
pub const HELP: &str = "\
shoal-admin — schema and lease maintenance for a shoal lease database

USAGE:
    shoal-admin <COMMAND> <DATABASE> [OPTIONS]

COMMANDS:
    db-init                 create the schema in an empty database (refuses an initialised one)
    db-version              print the schema version and the one this build expects
    db-upgrade [--to N]     apply pending migrations (up to version N), one line per migration
    lease-dump [-o FILE]    write all IPv4 leases as Kea memfile CSV (stdout by default)
    lease-upload -i FILE    load a lease CSV in one transaction (all or nothing)

DATABASE (one of):
    --url URL               postgres://user:pass@host:port/name, mysql://…, sqlite:///path/file.db
    -c, --config FILE       the Dhcp4 lease-database of a shoal configuration file
    pgsql|mysql|sqlite -u USER -p PASSWORD -n NAME -h HOST -P PORT
                            Kea-style (for sqlite, -n is the file path); a HOST starting
                            with / is a Unix socket (PostgreSQL directory, MySQL socket file)

EXIT CODES:
    0   success (db-version: the schema is the one this build expects)
    1   error (connection, refused command, database newer than this build)
    2   usage error
    3   db-version: the database schema is older than this build (run db-upgrade)
    4   db-version: the database is not initialised (run db-init)
";

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// db-init.
    Init,
    /// db-version.
    Version,
    /// db-upgrade.
    Upgrade {
        /// Stop at this version.
        to: Option<i64>,
    },
    /// lease-dump.
    Dump {
        /// Output file (stdout when None).
        output: Option<String>,
    },
    /// lease-upload.
    Upload {
        /// Input file.
        input: String,
    },
}

/// A parsed command line.
#[derive(Debug)]
pub struct Invocation {
    /// The command.
    pub command: Command,
    /// The database it acts on.
    pub database: DatabaseConfig,
}

#[derive(Default)]
struct Raw {
    url: Option<String>,
    config: Option<String>,
    backend: Option<DatabaseType>,
    user: Option<String>,
    password: Option<String>,
    name: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    to: Option<i64>,
    output: Option<String>,
    input: Option<String>,
}

/// Parse arguments (without the program name). `Ok(None)` means: print help.
pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Invocation>> {
    let mut it = args.into_iter();
    let Some(cmd) = it.next() else {
        return Ok(None);
    };
    if matches!(cmd.as_str(), "--help" | "help") {
        return Ok(None);
    }
    let mut raw = Raw::default();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--help" => return Ok(None),
            "--url" => raw.url = Some(value()?),
            "-c" | "--config" => raw.config = Some(value()?),
            "-u" => raw.user = Some(value()?),
            "-p" => raw.password = Some(value()?),
            "-n" => raw.name = Some(value()?),
            "-h" => raw.host = Some(value()?),
            "-P" => raw.port = Some(value()?.parse().context("-P: invalid port")?),
            "--to" => raw.to = Some(value()?.parse().context("--to: invalid version")?),
            "-o" => raw.output = Some(value()?),
            "-i" => raw.input = Some(value()?),
            "pgsql" | "postgresql" => raw.backend = Some(DatabaseType::Postgresql),
            "mysql" => raw.backend = Some(DatabaseType::Mysql),
            "sqlite" => raw.backend = Some(DatabaseType::Sqlite),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let command = match cmd.as_str() {
        "db-init" => Command::Init,
        "db-version" => Command::Version,
        "db-upgrade" => Command::Upgrade { to: raw.to.take() },
        "lease-dump" => Command::Dump {
            output: raw.output.take(),
        },
        "lease-upload" => Command::Upload {
            input: raw
                .input
                .take()
                .ok_or_else(|| anyhow!("lease-upload needs -i FILE"))?,
        },
        other => bail!("unknown command {other:?}"),
    };
    if raw.to.is_some() || raw.output.is_some() || raw.input.is_some() {
        bail!("--to, -o and -i belong to db-upgrade, lease-dump and lease-upload");
    }
    let database = database(raw)?;
    Ok(Some(Invocation { command, database }))
}

fn database(raw: Raw) -> anyhow::Result<DatabaseConfig> {
    let kea_style = raw.backend.is_some();
    let sources = [raw.url.is_some(), raw.config.is_some(), kea_style];
    match sources.iter().filter(|s| **s).count() {
        0 => bail!("no database given: use --url URL, -c FILE or pgsql|mysql|sqlite -n NAME …"),
        1 => {}
        _ => bail!("give the database once: --url, -c or pgsql|mysql|sqlite"),
    }
    if !kea_style
        && [&raw.user, &raw.password, &raw.name, &raw.host]
            .iter()
            .any(|o| o.is_some())
    {
        bail!("-u/-p/-n/-h/-P need a backend: pgsql, mysql or sqlite");
    }
    if let Some(path) = &raw.config {
        return from_config_file(path);
    }
    let mut cfg = DatabaseConfig::sqlite("");
    cfg.name = None;
    cfg.max_connections = 4;
    if let Some(url) = raw.url {
        cfg.db_type = shoal::store::backend_of(&DatabaseConfig {
            url: Some(url.clone()),
            ..cfg.clone()
        })?;
        cfg.url = Some(url);
        return Ok(cfg);
    }
    cfg.db_type = raw.backend.unwrap_or(DatabaseType::Sqlite);
    cfg.user = raw.user;
    cfg.password = raw.password;
    cfg.name = Some(raw.name.ok_or_else(|| anyhow!("-n NAME is required"))?);
    cfg.host = raw.host;
    cfg.port = raw.port;
    Ok(cfg)
}

/// The `Dhcp4.lease-database` of a shoal (Kea-format) configuration file, read through
/// the same loader as the server (comments, environment overrides, validation).
fn from_config_file(path: &str) -> anyhow::Result<DatabaseConfig> {
    let settings = shoal::settings::Settings::load(std::path::Path::new(path))
        .map_err(|e| anyhow!("{path}: invalid configuration:\n{e}"))?;
    let mut cfg = settings.dhcp4.lease_database;
    cfg.max_connections = cfg.max_connections.min(4);
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> anyhow::Result<Option<Invocation>> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn kea_style_arguments() {
        let inv = p(&[
            "db-init",
            "pgsql",
            "-u",
            "postgres",
            "-n",
            "shoal",
            "-h",
            "127.0.0.1",
            "-P",
            "5433",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(inv.command, Command::Init);
        assert_eq!(inv.database.db_type, DatabaseType::Postgresql);
        assert_eq!(inv.database.name.as_deref(), Some("shoal"));
        assert_eq!(inv.database.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(inv.database.port, Some(5433));
    }

    #[test]
    fn url_and_upgrade_target() {
        let inv = p(&["db-upgrade", "--to", "1", "--url", "mysql://root@h/db"])
            .unwrap()
            .unwrap();
        assert_eq!(inv.command, Command::Upgrade { to: Some(1) });
        assert_eq!(inv.database.db_type, DatabaseType::Mysql);
    }

    #[test]
    fn refuses_ambiguous_or_missing_database() {
        assert!(p(&["db-version"]).is_err());
        assert!(p(&["db-version", "--url", "sqlite:///x", "mysql", "-n", "x"]).is_err());
        assert!(p(&["db-version", "-n", "x"]).is_err());
        assert!(p(&["lease-upload", "--url", "sqlite:///x"]).is_err());
        assert!(p(&["db-frobnicate", "--url", "sqlite:///x"]).is_err());
        assert!(p(&["--help"]).unwrap().is_none());
    }
}
