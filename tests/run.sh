#!/usr/bin/env bash
# The test command of shoal: ./tests/run.sh
#
# On a fresh Debian machine with Rust it installs what the tests need (when run as root),
# makes sure a PostgreSQL server (127.0.0.1:5432, trust auth, user postgres) and a MariaDB
# server (127.0.0.1:3306, root with an empty password) answer — using running ones, starting
# installed ones, or starting throw-away servers in a temp dir — then builds everything and
# runs the whole test suite. Servers that were already running are never stopped or
# restarted; throw-away servers started here are stopped on exit.
#
# Environment: CI=true turns "no database" into a hard failure (it always is one: the tests
# use real databases). CARGO_TARGET_DIR defaults to ~/.cache/shoal-target so CI reuses
# artifacts. TEST_THREADS (default 8), TEST_TIMEOUT seconds (default 1080);
# SHOAL_RUN_SETUP_ONLY=1 stops after the databases are ready.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1
SCRATCH="$(mktemp -d /tmp/shoal-run.XXXXXX)"
chmod 755 "$SCRATCH"   # a throw-away server running as postgres must reach its dir
STARTED_PG_DIR=""; STARTED_MY_PID=""

cleanup() {
    if [ -n "$STARTED_PG_DIR" ]; then
        say "stopping the throw-away PostgreSQL in $STARTED_PG_DIR"
        as_postgres "$PG_BIN/pg_ctl" -D "$STARTED_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    fi
    if [ -n "$STARTED_MY_PID" ]; then
        say "stopping the throw-away MariaDB (pid $STARTED_MY_PID)"
        kill "$STARTED_MY_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$STARTED_MY_PID" 2>/dev/null || break; sleep 1; done
    fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# Wait up to $1 seconds for command "$2..." to succeed.
wait_for() {
    local secs=$1; shift
    for _ in $(seq 1 "$secs"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    return 1
}

# ---------------------------------------------------------------- packages
PACKAGES="postgresql mariadb-server mariadb-client isc-dhcp-client udhcpc dhcpcd isc-dhcp-relay
kea-admin kea-dhcp4-server iproute2 curl"
KEA_DAEMONS="kea-dhcp4 kea-dhcp6 kea-ctrl-agent kea-dhcp-ddns"

install_packages() {
    local missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && { say "system packages present"; return 0; }
    if [ "$IS_ROOT" != 1 ]; then
        say "missing packages:$missing (not root: not installing; tests needing them will fail)"
        return 0
    fi
    # Kea daemons running before the install are not ours to touch; remember them.
    local before; before="$(pgrep -x -d ' ' "$(echo "$KEA_DAEMONS" | tr ' ' '|')" || true)"
    # policy-rc.d 101 keeps maintainer scripts from starting services; we start what we need.
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        policy=/usr/sbin/policy-rc.d
    fi
    say "installing:$missing"
    local rc=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } || rc=$?
    [ -n "$policy" ] && rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install failed ($rc)"
    # Stop any Kea daemon the packages' postinst started anyway (only those, by pid).
    for pid in $(pgrep -x "$(echo "$KEA_DAEMONS" | tr ' ' '|')" || true); do
        case " $before " in *" $pid "*) ;; *) say "stopping kea daemon $pid started by its package"; kill "$pid" || true ;; esac
    done
}

# ---------------------------------------------------------------- PostgreSQL
as_postgres() {
    if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ok() { pg_isready -q -h 127.0.0.1 -p 5432 && psql -h 127.0.0.1 -U postgres -Atqc 'select 1' postgres; }

ensure_postgres() {
    export SHOAL_TEST_PG_SOCKET_DIR="${SHOAL_TEST_PG_SOCKET_DIR:-/var/run/postgresql}"
    if command -v pg_isready >/dev/null && pg_ok >/dev/null 2>&1; then
        say "PostgreSQL answers on 127.0.0.1:5432"; return 0
    fi
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    [ -n "$PG_BIN" ] || return 1
    local cluster
    cluster="$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main" && $3 == 5432 {print $1; exit}' || true)"
    if [ -n "$cluster" ]; then
        say "starting PostgreSQL cluster $cluster/main"
        mkdir -p /var/run/postgresql && { [ "$IS_ROOT" = 1 ] && chown postgres:postgres /var/run/postgresql || true; }
        pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
        wait_for 30 pg_ok && return 0
        say "cluster $cluster/main did not come up"
    fi
    local dir="$SCRATCH/pg"
    say "starting a throw-away PostgreSQL in $dir"
    mkdir -p "$dir"; [ "$IS_ROOT" = 1 ] && chown postgres: "$dir"
    as_postgres "$PG_BIN/initdb" -A trust -U postgres -D "$dir/data" >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p 5432 -k $dir -h 127.0.0.1" start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    STARTED_PG_DIR="$dir"
    export SHOAL_TEST_PG_SOCKET_DIR="$dir"
    wait_for 30 pg_ok
}

# ---------------------------------------------------------------- MariaDB
my_ok() { mysqladmin --connect-timeout=2 -h127.0.0.1 -P3306 -uroot ping; }
my_login_ok() { mysql --connect-timeout=2 -h127.0.0.1 -P3306 -uroot -e 'select 1'; }

ensure_mariadb() {
    export SHOAL_TEST_MYSQL_SOCKET="${SHOAL_TEST_MYSQL_SOCKET:-/run/mysqld/mysqld.sock}"
    if command -v mysqladmin >/dev/null && my_ok >/dev/null 2>&1; then
        say "MariaDB answers on 127.0.0.1:3306"
    elif [ -x /usr/sbin/mariadbd ] && [ -d /var/lib/mysql/mysql ]; then
        say "starting the installed MariaDB"
        mkdir -p /run/mysqld && { [ "$IS_ROOT" = 1 ] && chown mysql:mysql /run/mysqld || true; }
        local user_arg=""; [ "$IS_ROOT" = 1 ] && user_arg="--user=mysql"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- $user_arg
        wait_for 60 my_ok || return 1
    elif [ -x /usr/sbin/mariadbd ]; then
        local dir="$SCRATCH/my"
        say "starting a throw-away MariaDB in $dir"
        mkdir -p "$dir"
        mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
            --user="$(id -un)" >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
        /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --port=3306 \
            --bind-address=127.0.0.1 --user="$(id -un)" >"$dir/server.log" 2>&1 &
        STARTED_MY_PID=$!
        export SHOAL_TEST_MYSQL_SOCKET="$dir/mysqld.sock"
        wait_for 60 my_ok || { cat "$dir/server.log" >&2; return 1; }
    else
        return 1
    fi
    if ! my_login_ok >/dev/null 2>&1; then
        say "allowing root to log in over TCP with an empty password"
        mysql -uroot -S "$SHOAL_TEST_MYSQL_SOCKET" -e \
            "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')" \
            || return 1
        my_login_ok >/dev/null 2>&1 || return 1
    fi
}

# ---------------------------------------------------------------- main
install_packages
ensure_postgres || die "no PostgreSQL on 127.0.0.1:5432 and none could be started${CI:+ (CI=true)}"
ensure_mariadb || die "no MariaDB on 127.0.0.1:3306 and none could be started${CI:+ (CI=true)}"
export SHOAL_TEST_PG_URL="${SHOAL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export SHOAL_TEST_MYSQL_URL="${SHOAL_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/mysql}"
say "SHOAL_TEST_PG_URL=$SHOAL_TEST_PG_URL SHOAL_TEST_MYSQL_URL=$SHOAL_TEST_MYSQL_URL"
say "SHOAL_TEST_PG_SOCKET_DIR=$SHOAL_TEST_PG_SOCKET_DIR SHOAL_TEST_MYSQL_SOCKET=$SHOAL_TEST_MYSQL_SOCKET"

if [ "${SHOAL_RUN_SETUP_ONLY:-}" = 1 ]; then say "setup done (SHOAL_RUN_SETUP_ONLY=1)"; exit 0; fi

say "cargo build --all-targets (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --all-targets
say "cargo test --lib --bins --tests -- --test-threads=${TEST_THREADS:-8}"
timeout --foreground "${TEST_TIMEOUT:-1080}" cargo test --lib --bins --tests -- --test-threads="${TEST_THREADS:-8}"
say "all tests passed"
