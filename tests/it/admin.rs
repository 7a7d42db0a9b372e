//! shoal-admin CLI tests: exit codes and messages of every command, the three ways to name
//! a database (`--url`, `-c FILE`, Kea-style `pgsql|mysql -u -n -h -P`, Unix sockets).

use std::process::{Command, Output};

use crate::common::{
    fresh_db, fresh_empty_db, mysql_server_url, pg_server_url, Backend, TempDir, TestDb,
};

/// Run shoal-admin with `args`.
pub fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal-admin"))
        .args(args)
        .output()
        .expect("run shoal-admin")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// `user`, `host`, `port` of a server URL `scheme://user[:pw]@host:port/db`.
fn server_parts(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (auth, hostpart) = rest.split_once('@').unwrap_or(("", rest));
    let user = auth.split(':').next().unwrap_or_default().to_string();
    let hostport = hostpart.split(['/', '?']).next().unwrap_or_default();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, ""));
    (user, host.to_string(), port.to_string())
}

async fn version_exit_codes_track_schema(t: &TestDb) {
    let e = fresh_empty_db(t.backend).await;
    let out = admin(&["db-version", "--url", &e.url]);
    assert_eq!(code(&out), 4, "{out:?}");
    assert!(stdout(&out).contains("not initialised"), "{out:?}");

    let out = admin(&["db-upgrade", "--to", "1", "--url", &e.url]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(stdout(&out), "applied V1 leases_and_hosts\n");
    let out = admin(&["db-version", "--url", &e.url]);
    assert_eq!(code(&out), 3, "{out:?}");
    assert!(
        stdout(&out).starts_with("schema version 1 (this build expects 2)"),
        "{out:?}"
    );

    let out = admin(&["db-upgrade", "--url", &e.url]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(stdout(&out), "applied V2 free_lease4\n");
    let out = admin(&["db-version", "--url", &e.url]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(stdout(&out), "schema version 2 (this build expects 2)\n");

    let out = admin(&["db-init", "--url", &e.url]);
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(stderr(&out).contains("already initialised"), "{out:?}");
}

async fn db_init_prints_each_migration(t: &TestDb) {
    let e = fresh_empty_db(t.backend).await;
    let out = admin(&["db-init", "--url", &e.url]);
    assert_eq!(code(&out), 0, "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("applied V1 leases_and_hosts\napplied V2 free_lease4\n"),
        "{text}"
    );
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM free_lease4").await, 0);
}

async fn lease_upload_refuses_malformed_file_writing_nothing(t: &TestDb) {
    let dir = TempDir::new();
    let file = dir.file("bad.csv");
    let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n\
                10.0.0.1,02:00:00:00:00:01,,3600,1900000000,1,0,0,a,0,,0\n\
                10.0.0.x,02:00:00:00:00:02,,3600,1900000000,1,0,0,b,0,,0\n";
    std::fs::write(&file, text).unwrap();
    let out = admin(&["lease-upload", "--url", &t.url, "-i", &file]);
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(
        stderr(&out).contains("line 3: invalid address \"10.0.0.x\""),
        "{out:?}"
    );
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM lease4").await, 0);
}

async fn config_file_names_the_database(t: &TestDb) {
    let dir = TempDir::new();
    let file = dir.file("shoal.json");
    let kind = match t.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
    };
    let db = match t.backend {
        Backend::Sqlite => serde_json::json!({"type": kind, "name": t.name}),
        _ => serde_json::json!({"type": kind, "url": t.url}),
    };
    let config = serde_json::json!({"Dhcp4": {"valid-lifetime": 600, "lease-database": db}});
    std::fs::write(&file, config.to_string()).unwrap();
    let out = admin(&["db-version", "-c", &file]);
    assert_eq!(code(&out), 0, "{out:?}");
}

battery!(
    version_exit_codes_track_schema,
    db_init_prints_each_migration,
    lease_upload_refuses_malformed_file_writing_nothing,
    config_file_names_the_database,
);

/// Kea-style `<backend> -u -n -h -P` reaches a fresh database on a server.
async fn kea_style_round(backend: Backend, kea_name: &str, host_override: Option<String>) {
    let e = fresh_empty_db(backend).await;
    let server = match backend {
        Backend::Postgres => pg_server_url(),
        _ => mysql_server_url(),
    };
    let (user, host, port) = server_parts(&server);
    let host = host_override.unwrap_or(host);
    let mut args = vec!["db-init", kea_name, "-u", &user, "-n", &e.name, "-h", &host];
    if !port.is_empty() && !host.starts_with('/') {
        args.extend(["-P", &port]);
    }
    let out = admin(&args);
    assert_eq!(code(&out), 0, "{args:?} {out:?}");
    args[0] = "db-version";
    let out = admin(&args);
    assert_eq!(code(&out), 0, "{args:?} {out:?}");
    assert_eq!(stdout(&out), "schema version 2 (this build expects 2)\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kea_style_arguments_postgres() {
    kea_style_round(Backend::Postgres, "pgsql", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kea_style_arguments_mysql() {
    kea_style_round(Backend::Mysql, "mysql", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_postgres() {
    let dir = std::env::var("SHOAL_TEST_PG_SOCKET_DIR").unwrap_or("/var/run/postgresql".into());
    kea_style_round(Backend::Postgres, "pgsql", Some(dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_mysql() {
    let sock = std::env::var("SHOAL_TEST_MYSQL_SOCKET").unwrap_or("/run/mysqld/mysqld.sock".into());
    kea_style_round(Backend::Mysql, "mysql", Some(sock)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_dump_of_empty_database_is_header_only() {
    let t = fresh_db(Backend::Sqlite).await;
    let out = admin(&["lease-dump", "--url", &t.url]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        stdout(&out),
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n"
    );
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let out = admin(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for needle in [
        "EXIT CODES",
        "3   db-version",
        "4   db-version",
        "lease-upload -i FILE",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    for args in [
        &["db-frobnicate", "--url", "sqlite:///x"][..],
        &["db-version"],
        &["db-version", "-n", "x"],
    ] {
        let out = admin(args);
        assert_eq!(code(&out), 2, "{args:?} {out:?}");
    }
}

#[test]
fn unreachable_database_exits_1() {
    let out = admin(&[
        "db-version",
        "pgsql",
        "-u",
        "postgres",
        "-n",
        "x",
        "-h",
        "127.0.0.1",
        "-P",
        "1",
    ]);
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(stderr(&out).contains("cannot connect"), "{out:?}");
}
