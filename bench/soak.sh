#!/usr/bin/env bash
# Soak: POST /v1/uploads at 64 connections for SOAK seconds (default 300) on each
# database, with the janitor sweeping every JANITOR (default 5s) over a table
# that grows by every request, then the same soak against durable-axum
# (../shared/anchors: the floor of a gatekeeper that keeps a durable record).
#
# The load generator (crates/loadgen) keeps every request's latency, so the
# report gives each second's p99 and max, the seconds whose max passed 20, 50
# and 100 ms, the server's RSS and CPU second by second, and uploadgate's
# figures as ratios to durable-axum's. Per-second tables are kept in OUT.
#
#   bench/soak.sh                          # SQLite and PostgreSQL, 5 minutes each
#   SOAK=60 DATABASES=postgres bench/soak.sh
#   DURABLE=0 bench/soak.sh                # uploadgate alone
#
# Loopback only, bounded by SOAK seconds per run.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK=${SOAK:-300}
CONNECTIONS=${CONNECTIONS:-64}
JANITOR=${JANITOR:-5s}
DATABASES=${DATABASES:-sqlite postgres}
ANCHORS=${ANCHORS:-../shared/anchors}
OUT=${OUT:-target/bench/soak-$(date -u +%Y%m%dT%H%M%SZ)}
source bench/lib.sh
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    scripts/engines/postgres stop "$work/pg" >/dev/null 2>&1 || true
    [[ -x $ANCHORS/start.sh ]] && "$ANCHORS/start.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$OUT"

# Runs the load generator against URL for SOAK seconds watching PID; $1 names
# the run. Prints its report, keeps its per-second table, sets summary[$1].
declare -A summary
soak() { # name url pid headers-and-body...
    local name=$1 url=$2 watched=$3
    shift 3
    echo "== $name: ${SOAK}s at $CONNECTIONS connections"
    "$bin/uploadgate-loadgen" "$url" --connections "$CONNECTIONS" --duration "${SOAK}s" \
        --watch-pid "$watched" --per-second "$OUT/$name.tsv" "$@" | tee "$work/$name.txt" | grep -v '^summary'
    summary[$name]=$(sed -n 's/^summary //p' "$work/$name.txt")
}
field() { tr ' ' '\n' <<<"${summary[$1]}" | sed -n "s/^$2=//p"; }

for database in $DATABASES; do
    config="[janitor]
interval = \"$JANITOR\""
    if [[ $database == postgres ]]; then
        pg_url=$(PG_FSYNC=on scripts/engines/postgres start "$work/pg" 2>"$work/pg.log")
        config="database_url = \"$pg_url\"
$config"
    fi
    start_server "$database" "$config"
    server_pid=$pid
    soak "$database" "$api/v1/uploads" "$server_pid" --header "Authorization: Bearer $token" \
        --header "Content-Type: application/json" --body '{"filename":"a.png","contentType":"image/png","size":1234}'
    if [[ $database == postgres ]]; then
        rows=$("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" "$pg_url" -tAc 'SELECT count(*) FROM uploads')
    else
        rows=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM uploads").fetchone()[0])' \
            "$work/$database/data/uploadgate.db")
    fi
    metrics=$(curl -fs "$api/metrics")
    sweep_seconds=$(awk '/^uploadgate_janitor_sweep_duration_seconds_sum/ {print $2}' <<<"$metrics")
    sweep_count=$(awk '/^uploadgate_janitor_sweep_duration_seconds_count/ {print $2}' <<<"$metrics")
    echo "rows in the uploads table at the end: $rows; janitor: $sweep_count sweeps, $(awk -v s="$sweep_seconds" -v n="$sweep_count" 'BEGIN {printf "%.1f", n ? s / n * 1000 : 0}') ms each on average"
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=""
    [[ $database == postgres ]] && scripts/engines/postgres stop "$work/pg" >/dev/null
done

if [[ ${DURABLE:-1} == 1 && -x $ANCHORS/start.sh ]]; then
    "$ANCHORS/start.sh" >"$work/anchors.log"
    port=${DURABLE_PORT:-18083}
    soak durable-axum "http://127.0.0.1:$port/api/upload/generate-url" "$(pid_on_port "$port")" \
        --header "X-User-ID: u1" --header "Content-Type: application/json" \
        --body '{"fileName":"a.png","fileType":"image/png","fileSize":1234}'
    echo
    echo "uploadgate against durable-axum (requests/s: above 1 is faster; latency and CPU: above 1 is slower)"
    printf '%-10s %8s %8s %14s %8s %8s %10s\n' database rps p99 "worst 1s p99" max "CPU/req" ">50ms s"
    for database in $DATABASES; do
        awk -v r="$(field "$database" rps)" -v dr="$(field durable-axum rps)" \
            -v p="$(field "$database" p99_ms)" -v dp="$(field durable-axum p99_ms)" \
            -v w="$(field "$database" worst_second_p99_ms)" -v dw="$(field durable-axum worst_second_p99_ms)" \
            -v m="$(field "$database" max_ms)" -v dm="$(field durable-axum max_ms)" \
            -v c="$(field "$database" cpu_us)" -v dc="$(field durable-axum cpu_us)" \
            -v s="$(field "$database" over_50ms)" -v ds="$(field durable-axum over_50ms)" -v db="$database" \
            'BEGIN {printf "%-10s %7.2fx %7.2fx %13.2fx %7.2fx %7.2fx %5d vs %d\n", db, r / dr, p / dp, w / dw, m / dm, c / dc, s, ds}'
    done
fi
echo "per-second tables: $OUT"
