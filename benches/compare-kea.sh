#!/usr/bin/env bash
# compare-kea.sh — DHCPv4 throughput of shoal vs ISC Kea 2.2 on the same databases.
#
# One namespace topology for the whole run (a bridge in a hub namespace; servers in
# <id>-s0 / <id>-s1 at 10.78.0.2 / 10.78.0.3 on veth-s0, perfdhcp in <id>-p at 10.78.0.10,
# acting as a relay), one fresh database per measured point. For each point it searches
# the highest perfdhcp rate whose DORA exchanges lose < 1% (doubling from START_RATE (500/s), then
# bisecting to within 5%), each trial 4 s, each point <= 60 s, and reports the achieved 4-way
# exchanges/s and the average DISCOVER→OFFER and REQUEST→ACK latency at that rate.
#
# Then, at two fixed rates for every point (CPU_RATE, 1000/s, and CPU_RATE2, 2000/s, CPU_SECS
# 8 s each), it reads the CPU
# time the server process(es) and the database server (every postgres / mariadbd process,
# including the postmaster's reaped children) used, from /proc, and divides it by the
# DORA exchanges completed: the server-plus-database CPU cost per DORA, which does not
# depend on how many cores perfdhcp leaves free.
#
# shoal runs configured as Kea is here: offer-lifetime 0 (offers not written, as Kea 2.2
# does) and "hosts-databases": [] (Kea has no hosts database). One more point runs shoal's
# defaults: offers held in the database for 60 s, reservations looked up in the lease database.
# Points: shoal on PostgreSQL, MySQL, SQLite; two shoal processes on one PostgreSQL;
# Kea (kea-dhcp4, multi-threading on, schema from `kea-admin db-init`) on PostgreSQL and
# MySQL. Plus pgbench TPS of a single-row upsert on the same PostgreSQL (the DB ceiling).
#
# Needs root, perfdhcp, kea-dhcp4, kea-admin, pgbench, psql, mysql. Everything it creates
# (namespaces, databases shoal_b_*/kea_b_*, processes, temp dir) is removed on exit.
# Env: PG_SOCKET (/var/run/postgresql), MYSQL_SOCKET (/run/mysqld/mysqld.sock),
#      START_RATE (500), TRIAL_SECS (4), POINT_BUDGET (60), CPU_RATE (1000), CPU_RATE2 (2000), CPU_SECS (8), SKIP_BUILD=1 to use an existing target/perf build,
#      POINTS (subset of: shoal-pg kea-pg shoal-pg-defaults shoal-pg2 shoal-my kea-my shoal-sqlite pgbench).
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "compare-kea.sh needs root (network namespaces)" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_SOCKET=${PG_SOCKET:-/var/run/postgresql}
MYSQL_SOCKET=${MYSQL_SOCKET:-/run/mysqld/mysqld.sock}
TRIAL_SECS=${TRIAL_SECS:-4}
POINT_BUDGET=${POINT_BUDGET:-60}
CPU_RATE=${CPU_RATE:-1000}
CPU_RATE2=${CPU_RATE2:-2000}
CPU_SECS=${CPU_SECS:-8}
HZ=$(getconf CLK_TCK)
POINTS=${POINTS:-shoal-pg kea-pg shoal-pg-defaults shoal-pg2 shoal-my kea-my shoal-sqlite pgbench}
ID="kb$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/compare-kea.XXXXXX)
PIDS=()
LAST_PID=
RUN=$(( $$ % 10000 ))
NSS=()

log() { echo "[$(date +%T)] $*" >&2; }

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
    # Databases are named <prefix>_<RUN>_<n> (made in subshells, so found by name here).
    for d in $(psql -qAt -h 127.0.0.1 -U postgres -c \
        "SELECT datname FROM pg_database WHERE datname ~ '^(shoal_b|kea_b|pgbench_b)_${RUN}_[0-9]+\$'" 2>/dev/null); do
        psql -qAt -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
    done
    for d in $(mysql -h 127.0.0.1 -uroot -Nse "SHOW DATABASES" 2>/dev/null | grep -E "^(shoal_b|kea_b)_${RUN}_[0-9]+\$"); do
        mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
    done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- build
if [ -z "${SKIP_BUILD:-}" ]; then
    log "building shoal (cargo build --profile perf)"
    (cd "$ROOT" && cargo build --profile perf --bins 2>&1 | tail -2) >&2
fi
SHOAL="${CARGO_TARGET_DIR:-$ROOT/target}/perf/shoal"
ADMIN="${CARGO_TARGET_DIR:-$ROOT/target}/perf/shoal-admin"

# ---------------------------------------------------------------- topology
mkns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up; }
mkns "$ID-h"; mkns "$ID-s0"; mkns "$ID-s1"; mkns "$ID-p"
ip -n "$ID-h" link add br0 type bridge; ip -n "$ID-h" link set br0 up
join() { # ns ifname cidr port
    ip -n "$ID-h" link add "$4" type veth peer name "$2" netns "$1"
    ip -n "$ID-h" link set "$4" master br0 up
    ip -n "$1" link set "$2" up
    ip -n "$1" addr add "$3" dev "$2"
}
join "$ID-s0" veth-s0 10.78.0.2/16 p1
join "$ID-s1" veth-s0 10.78.0.3/16 p2
join "$ID-p" p0 10.78.0.10/16 p3

# ---------------------------------------------------------------- configs
POOL='"pools": [{"pool": "10.78.1.0 - 10.78.255.250"}]'
SUBNET="\"subnet4\": [{\"id\": 1, \"subnet\": \"10.78.0.0/16\", $POOL,
  \"option-data\": [{\"name\": \"routers\", \"data\": \"10.78.0.1\"}]}]"

# Kea-equivalent by default: offers not written, no hosts database (Kea has none here).
# "defaults" = shoal's own defaults: offers held 60 s, reservations looked up in the lease
# database.
shoal_config() { # file lease-db-json [defaults]
    local extra='"offer-lifetime": 0, "hosts-databases": [],'
    [ "${3:-}" = defaults ] && extra=
    cat >"$1" <<EOF
{"Dhcp4": {"interfaces-config": {"interfaces": ["veth-s0"]}, "lease-database": $2,
 $extra "valid-lifetime": 3600, $SUBNET}}
EOF
}
kea_config() { # file lease-db-json
    cat >"$1" <<EOF
{"Dhcp4": {"interfaces-config": {"interfaces": ["veth-s0"], "dhcp-socket-type": "raw"},
 "lease-database": $2, "valid-lifetime": 3600,
 "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 4, "packet-queue-size": 64},
 $SUBNET,
 "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "stderr"}]}]}}
EOF
}

new_pg() { local d="$1_${RUN}_$RANDOM"; psql -qAt -h 127.0.0.1 -U postgres -c "CREATE DATABASE $d" >/dev/null; echo "$d"; }
new_my() { local d="$1_${RUN}_$RANDOM"; mysql -h 127.0.0.1 -uroot -e "CREATE DATABASE $d"; echo "$d"; }

# start NS TAG CMD... : start a server in NS, wait until UDP 67 is bound (10 s)
start() {
    local ns="$1" tag="$2"; shift 2
    ip netns exec "$ns" "$@" >"$WORK/$tag.log" 2>&1 &
    local pid=$!; PIDS+=("$pid"); LAST_PID=$pid
    for _ in $(seq 100); do
        if ip netns exec "$ns" ss -Hlun | grep -q ':67 '; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$tag did not start:"; tail -20 "$WORK/$tag.log" >&2; return 1
}
stop() { for p in "$@"; do kill "$p" 2>/dev/null || true; done; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }

# ---------------------------------------------------------------- measurement
# trial RATE -> "achieved drop_pct do_ms ra_ms"
trial() {
    local out
    out=$(timeout $(( TRIAL_SECS + 15 )) ip netns exec "$ID-p" perfdhcp -4 -l p0 -r "$1" -R 200000 \
        -p "$TRIAL_SECS" -W 500000 2>&1 || true)
    echo "$out" >>"$WORK/perfdhcp.log"
    echo "$out" | awk '
        /^Rate:/ {rate=$2}
        /Statistics for: DISCOVER-OFFER/ {s="do"} /Statistics for: REQUEST-ACK/ {s="ra"}
        /^sent packets:/ {sent[s]=$3} /^received packets:/ {recv[s]=$3}
        /^avg delay:/ {avg[s]=$3}
        END { if (sent["do"] > 0) drop = 100 * (1 - recv["ra"] / sent["do"]); else drop = 100;
              printf "%.0f %.2f %s %s\n", rate, drop, avg["do"] == "" ? "-" : avg["do"], avg["ra"] == "" ? "-" : avg["ra"] }'
}

# ticks PID... -> CPU clock ticks used so far by those processes (all threads), plus the
# time of children they reaped (a PostgreSQL backend that exits is counted by the postmaster)
ticks() {
    local t=0 p v
    for p in "$@"; do
        v=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null) || continue
        t=$(( t + ${v:-0} ))
    done
    echo "$t"
}
db_pids() { pgrep -x 'postgres|mariadbd|mysqld' || true; }

# cpu_cost RATE PID... -> "server_ms db_ms" CPU per completed DORA at RATE
cpu_cost() {
    local s0 d0 s1 d1 out acks rate="$1"; shift
    s0=$(ticks "$@"); d0=$(ticks $(db_pids))
    out=$(timeout $(( CPU_SECS + 15 )) ip netns exec "$ID-p" perfdhcp -4 -l p0 -r "$rate" -R 200000 \
        -p "$CPU_SECS" -W 500000 2>&1 || true)
    s1=$(ticks "$@"); d1=$(ticks $(db_pids))
    echo "$out" >>"$WORK/perfdhcp.log"
    acks=$(echo "$out" | awk '/Statistics for: REQUEST-ACK/ {s=1} s && /^received packets:/ {print $3; exit}')
    awk -v s=$(( s1 - s0 )) -v d=$(( d1 - d0 )) -v a="${acks:-0}" -v hz="$HZ" 'BEGIN {
        if (a > 0) printf "%.3f %.3f\n", s * 1000 / hz / a, d * 1000 / hz / a; else print "- -" }'
}

# measure LABEL PID... -> appends a row to $WORK/rows
measure() {
    local label="$1" start=$SECONDS rate=${START_RATE:-500} good="" bad="" best="0 100 - -" r
    while [ $(( SECONDS - start + TRIAL_SECS + 1 )) -le "$POINT_BUDGET" ]; do
        r=$(trial "$rate"); log "$label rate $rate -> $r"
        if awk -v d="$(echo "$r" | cut -d' ' -f2)" 'BEGIN {exit !(d < 1)}'; then
            good=$rate; best="$r"
            if [ -z "$bad" ]; then rate=$(( rate * 2 )); continue; fi
        else
            bad=$rate
            if [ -z "$good" ]; then   # nothing passed yet: halve, down to 25/s
                [ "$rate" -gt 25 ] || break
                rate=$(( rate / 2 )); continue
            fi
        fi
        # Bisect until the bracket is within 5% of the passing rate (or the budget ends).
        [ $(( (bad - good) * 20 )) -gt "$good" ] || break
        rate=$(( (good + bad) / 2 ))
    done
    shift
    local cpu cpu2
    cpu=$(cpu_cost "$CPU_RATE" "$@"); log "$label CPU ms/DORA at $CPU_RATE/s (server db) -> $cpu"
    cpu2=$(cpu_cost "$CPU_RATE2" "$@"); log "$label CPU ms/DORA at $CPU_RATE2/s (server db) -> $cpu2"
    echo "$label|$best $cpu $cpu2" >>"$WORK/rows"
}

# ---------------------------------------------------------------- points
PGDB_JSON() { echo "{\"type\": \"postgresql\", \"name\": \"$1\", \"host\": \"$PG_SOCKET\", \"user\": \"postgres\"}"; }
MYDB_JSON() { echo "{\"type\": \"mysql\", \"name\": \"$1\", \"host\": \"$MYSQL_SOCKET\", \"user\": \"root\"}"; }

point_shoal() { # label backend nservers [defaults]
    local label="$1" backend="$2" n="$3" mode="${4:-}" db json pids=()
    case "$backend" in
        pg) db=$(new_pg shoal_b); "$ADMIN" db-init --url "postgres://postgres@127.0.0.1/$db" >/dev/null; json=$(PGDB_JSON "$db") ;;
        my) db=$(new_my shoal_b); "$ADMIN" db-init --url "mysql://root@127.0.0.1/$db" >/dev/null; json=$(MYDB_JSON "$db") ;;
        sqlite) json="{\"type\": \"sqlite\", \"name\": \"$WORK/shoal-$RANDOM.db\"}" ;;
    esac
    shoal_config "$WORK/shoal-$backend.json" "$json" "$mode"
    for i in $(seq 0 $(( n - 1 ))); do
        if ! start "$ID-s$i" "shoal-$backend-$n-$i" env RUST_LOG=warn "$SHOAL" -c "$WORK/shoal-$backend.json"; then
            echo "$label|0 100 - - - - - -" >>"$WORK/rows"; stop "${pids[@]}" "$LAST_PID"; return
        fi
        pids+=("$LAST_PID")
    done
    measure "$label" "${pids[@]}"; stop "${pids[@]}"
}

point_kea() { # label backend
    local label="$1" backend="$2" db json pid
    case "$backend" in
        pg) db=$(new_pg kea_b); kea-admin db-init pgsql -h 127.0.0.1 -u postgres -n "$db" >>"$WORK/kea-admin.log" 2>&1
            json="{\"type\": \"postgresql\", \"name\": \"$db\", \"host\": \"$PG_SOCKET\", \"user\": \"postgres\"}" ;;
        my) db=$(new_my kea_b); kea-admin db-init mysql -h 127.0.0.1 -u root -p "" -n "$db" >>"$WORK/kea-admin.log" 2>&1
            json="{\"type\": \"mysql\", \"name\": \"$db\", \"host\": \"localhost\", \"user\": \"root\"}" ;;
    esac
    kea_config "$WORK/kea-$backend.json" "$json"
    if ! start "$ID-s0" "kea-$backend" env KEA_PIDFILE_DIR="$WORK" KEA_LOCKFILE_DIR="$WORK" \
        /usr/sbin/kea-dhcp4 -c "$WORK/kea-$backend.json"; then
        echo "$label|0 100 - - - - - -" >>"$WORK/rows"; stop "$LAST_PID"; return
    fi
    pid=$LAST_PID
    measure "$label" "$pid"; stop "$pid"
}

pgbench_tps() {
    local db; db=$(new_pg pgbench_b)
    psql -qAt -h 127.0.0.1 -U postgres -d "$db" -c \
        "CREATE TABLE lease (address BIGINT PRIMARY KEY, hwaddr BYTEA, expire BIGINT, state SMALLINT)" >/dev/null
    cat >"$WORK/upsert.sql" <<'EOF'
\set a random(1, 65536)
INSERT INTO lease (address, hwaddr, expire, state) VALUES (:a, '\x0102030405', :a, 0)
  ON CONFLICT (address) DO UPDATE SET hwaddr = EXCLUDED.hwaddr, expire = lease.expire + 1, state = 0;
EOF
    pgbench -n -h 127.0.0.1 -U postgres -c 4 -j 2 -T 10 -f "$WORK/upsert.sql" "$db" 2>/dev/null |
        awk '/^tps/ {printf "%.0f", $3}'
}

: >"$WORK/rows"
TPS="-"
for p in $POINTS; do
    case "$p" in
        shoal-pg) point_shoal "shoal 1x PostgreSQL" pg 1 ;;
        kea-pg) point_kea "Kea 2.2 PostgreSQL" pg ;;
        shoal-pg-defaults) point_shoal "shoal 1x PG, defaults" pg 1 defaults ;;
        shoal-pg2) point_shoal "shoal 2x PostgreSQL" pg 2 ;;
        shoal-my) point_shoal "shoal 1x MySQL" my 1 ;;
        kea-my) point_kea "Kea 2.2 MySQL" my ;;
        shoal-sqlite) point_shoal "shoal 1x SQLite" sqlite 1 ;;
        pgbench) TPS=$(pgbench_tps) ;;
        *) log "unknown point $p" ;;
    esac
done

# ---------------------------------------------------------------- report
field() { grep -F "$1|" "$WORK/rows" | head -1 | cut -d'|' -f2 | cut -d' ' -f"$2"; }
# cpu_of LABEL [FIRST_FIELD] -> server + database ms per DORA (fields 5-6: CPU_RATE, 7-8: CPU_RATE2)
cpu_of() { local f=${2:-5}; awk -v s="$(field "$1" "$f")" -v d="$(field "$1" $(( f + 1 )))" 'BEGIN { if (s != "" && s != "-") printf "%.3f", s + d; else print "-" }'; }
# ratio A B: DORA/s of A over B, and B's CPU per DORA over A's at both rates ("times better")
ratio() {
    awk -v a="$(field "$1" 1)" -v b="$(field "$2" 1)" -v ca="$(cpu_of "$1")" -v cb="$(cpu_of "$2")" \
        -v ca2="$(cpu_of "$1" 7)" -v cb2="$(cpu_of "$2" 7)" 'BEGIN {
        r = (b > 0) ? sprintf("%.2f", a / b) : "-"; c = (ca > 0 && cb > 0) ? sprintf("%.2f", cb / ca) : "-"
        c2 = (ca2 > 0 && cb2 > 0) ? sprintf("%.2f", cb2 / ca2) : "-"
        printf "%s / %s / %s", r, c, c2 }'
}
echo
echo "DHCPv4 DORA/s at < 1% drops (perfdhcp, ${TRIAL_SECS}s trials); server + database CPU ms per DORA at ${CPU_RATE}/s and ${CPU_RATE2}/s; $(nproc) cores; $(date -u +%F)"
row() { printf '| %-22s | %8s | %7s | %10s | %10s | %8s | %8s | %9s | %9s | %-20s |\n' "$@"; }
row configuration "DORA/s" "drops%" "D-O avg ms" "R-A avg ms" "srv ms" "db ms" "total ms" "@${CPU_RATE2}/s" "vs Kea: rate/CPU/CPU2"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------ ---------- --------- ------------ ------------ ---------- ---------- ----------- ----------- ----------------------
while IFS='|' read -r label rest; do
    read -r rate drop dom ram srv db _ <<<"$rest"
    r=""
    case "$label" in
        "shoal 1x PostgreSQL") r=$(ratio "shoal 1x PostgreSQL" "Kea 2.2 PostgreSQL") ;;
        "shoal 1x PG, defaults") r=$(ratio "shoal 1x PG, defaults" "Kea 2.2 PostgreSQL") ;;
        "shoal 2x PostgreSQL") r=$(ratio "shoal 2x PostgreSQL" "Kea 2.2 PostgreSQL") ;;
        "shoal 1x MySQL") r=$(ratio "shoal 1x MySQL" "Kea 2.2 MySQL") ;;
    esac
    row "$label" "$rate" "$drop" "$dom" "$ram" "$srv" "$db" "$(cpu_of "$label")" "$(cpu_of "$label" 7)" "$r"
done <"$WORK/rows"
row "pgbench upsert (TPS)" "$TPS" "" "" "" "" "" "" "" "DB ceiling"
