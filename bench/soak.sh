#!/usr/bin/env bash
# Soak: POST /v1/uploads at 64 connections for SOAK (default 5m), sampling the
# server's RSS every 10 s. Memory should stay flat and no request should fail.
# Then the same soak against durable-axum (../shared/anchors: the floor of a
# gatekeeper that keeps a durable record), and uploadgate's figures as ratios to it.
#
#   bench/soak.sh                       # SQLite, 5 minutes each
#   SOAK=60 DATABASE=postgres bench/soak.sh
#   DURABLE=0 bench/soak.sh             # uploadgate alone
#
# Loopback only, bounded by SOAK seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK=${SOAK:-300}
CONNECTIONS=${CONNECTIONS:-64}
ANCHORS=${ANCHORS:-../shared/anchors}
source bench/lib.sh
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    scripts/engines/postgres stop "$work/pg" >/dev/null 2>&1 || true
    [[ -x $ANCHORS/start.sh ]] && "$ANCHORS/start.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

database=""
if [[ ${DATABASE:-sqlite} == postgres ]]; then
    database="database_url = \"$(PG_FSYNC=on scripts/engines/postgres start "$work/pg" 2>"$work/pg.log")\""
fi
start_server soak "$database"
server_pid=$pid
create_lua=$(lua POST '{"filename":"a.png","contentType":"image/png","size":1234}' \
    "Authorization: Bearer $token" "Content-Type: application/json")

wrk -t2 -c"$CONNECTIONS" -d"${SOAK}s" --latency -s "$create_lua" "$api/v1/uploads" >"$work/wrk.txt" &
wrk_pid=$!
samples=()
while kill -0 "$wrk_pid" 2>/dev/null; do
    samples+=("$(rss_mib "$server_pid")")
    echo "t=$(( ${#samples[@]} * 10 - 10 ))s RSS $(rss_mib "$server_pid") MiB" >&2
    sleep 10
done
wait "$wrk_pid"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
errors=$(wrk_errors <"$work/wrk.txt")
first=${samples[1]:-${samples[0]}}
last=${samples[-1]}
max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
echo
echo "soak ${SOAK}s, ${DATABASE:-sqlite}, wrk -t2 -c$CONNECTIONS: ${rps%.*} requests/s, p99 $p99," \
    "errors $errors; server RSS at 10 s $first MiB, at end $last MiB, max $max MiB"

if [[ ${DURABLE:-1} == 1 && -x $ANCHORS/start.sh ]]; then
    kill "$server_pid" 2>/dev/null || true
    server_pid=""
    "$ANCHORS/start.sh" >"$work/anchors.log"
    durable_lua=$(lua POST '{"fileName":"a.png","fileType":"image/png","fileSize":1234}' \
        "X-User-ID: u1" "Content-Type: application/json")
    wrk -t2 -c"$CONNECTIONS" -d"${SOAK}s" --latency -s "$durable_lua" \
        "http://127.0.0.1:${DURABLE_PORT:-18083}/api/upload/generate-url" >"$work/durable.txt"
    d_rps=$(awk '/Requests\/sec/ {print $2}' "$work/durable.txt")
    d_p99=$(awk '$1 == "99%" {print $2}' "$work/durable.txt")
    echo "durable-axum, same soak: ${d_rps%.*} requests/s, p99 $d_p99, errors $(wrk_errors <"$work/durable.txt")"
    awk -v r="$rps" -v d="$d_rps" -v p="$(ms "$p99")" -v dp="$(ms "$d_p99")" \
        'BEGIN {printf "uploadgate against durable-axum: requests/s %.2fx, p99 %.2fx (above 1: slower)\n", r / d, p / dp}'
fi
