#!/usr/bin/env bash
# Soak: POST /v1/uploads at 64 connections for SOAK (default 5m), sampling the
# server's RSS every 10 s. Memory should stay flat and no request should fail.
#
#   bench/soak.sh                       # SQLite, 5 minutes
#   SOAK=60 DATABASE=postgres bench/soak.sh
#
# Loopback only, bounded by SOAK seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK=${SOAK:-300}
CONNECTIONS=${CONNECTIONS:-64}
source bench/lib.sh
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    scripts/engines/postgres stop "$work/pg" >/dev/null 2>&1 || true
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
