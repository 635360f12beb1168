#!/usr/bin/env bash
# Requests/s and p99 of uploadgate's request routes, side by side in one run with
# the reference presigners in ../shared/anchors (Express + AWS SDK v3, Flask +
# boto3, and a no-op axum echo that marks this machine's ceiling).
#
#   bench/load.sh                 # 10 s per target, 64 connections
#   DURATION=30s CONNECTIONS=128 bench/load.sh
#
# POST /v1/uploads runs twice: on SQLite and on PostgreSQL (a throwaway server
# from scripts/engines/postgres). Server RSS is sampled after each run, and the
# server's CPU time per request is measured: this machine's shared cores make
# requests/s vary from run to run, CPU per request much less.
#
# Loopback only; every run is bounded by DURATION. Installs wrk (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ANCHORS=${ANCHORS:-../shared/anchors}

source bench/lib.sh
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    [[ -n ${pg_server_pid:-} ]] && kill "$pg_server_pid" 2>/dev/null || true
    scripts/engines/postgres stop "$work/pg" >/dev/null 2>&1 || true
    [[ -x $ANCHORS/start.sh ]] && "$ANCHORS/start.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

start_server sqlite ""
server_pid=$pid

upload_id=$(curl -fs -X POST "$api/v1/uploads" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"filename":"v.mp4","contentType":"video/mp4","size":1073741824,"profile":"video"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

results=()
run() { # name, url, lua file, server pid, [sample RSS]
    local out before after
    before=$(cpu_ticks "$4")
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$2")
    after=$(cpu_ticks "$4")
    local rps p50 p99 errors rss=""
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    local socket_errors
    socket_errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    errors=$((${errors:-0} + ${socket_errors:-0}))
    [[ -n ${5:-} ]] && rss="$(rss_mib "$4") MiB"
    local total cpu
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu=$(awk -v t="$((after - before))" -v n="$total" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
    results+=("| $1 | ${rps%.*} | $p50 | $p99 | $errors | $cpu µs | $rss |")
    echo "$1: $rps requests/s, p50 $p50, p99 $p99, errors $errors, CPU $cpu µs/request, RSS ${rss:-n/a}" >&2
}

auth="Authorization: Bearer $token"
json="Content-Type: application/json"
create_lua=$(lua POST '{"filename":"a.png","contentType":"image/png","size":1234}' "$auth" "$json")
run "uploadgate POST /v1/uploads, SQLite (record + presigned PUT)" "$api/v1/uploads" "$create_lua" "$server_pid" rss
run "uploadgate POST /v1/uploads/{id}/parts (1 part)" "$api/v1/uploads/$upload_id/parts" \
    "$(lua POST '{"partNumbers":[7]}' "$auth" "$json")" "$server_pid" rss
run "uploadgate GET /companion/<token>/s3/params (record + POST policy)" \
    "$api/companion/$token/s3/params?filename=a.png&type=image%2Fpng" "$(lua GET '')" "$server_pid" rss
run "uploadgate GET /v1/uploads/{id}" "$api/v1/uploads/$upload_id" "$(lua GET '' "$auth")" "$server_pid" rss
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=

if [[ ${POSTGRES:-1} == 1 ]]; then
    pg_url=$(scripts/engines/postgres start "$work/pg" 2>"$work/pg.log")
    start_server postgres "database_url = \"$pg_url\""
    pg_server_pid=$pid
    run "uploadgate POST /v1/uploads, PostgreSQL (record + presigned PUT)" "$api/v1/uploads" \
        "$(lua POST '{"filename":"a.png","contentType":"image/png","size":1234}' "Authorization: Bearer $token" "$json")" "$pg_server_pid" rss
    kill "$pg_server_pid" && wait "$pg_server_pid" 2>/dev/null || true
    pg_server_pid=
fi

if [[ -x $ANCHORS/start.sh ]]; then
    "$ANCHORS/start.sh" >"$work/anchors.log"
    anchor_lua=$(lua POST '{"fileName":"a.png","fileType":"image/png","fileSize":1234}' "X-User-ID: u1" "$json")
    anchor() { # name, port
        run "$1" "http://127.0.0.1:$2/api/upload/generate-url" "$anchor_lua" "$(pid_on_port "$2")"
    }
    anchor "anchor: Express + AWS SDK v3 (no record)" "${EXPRESS_PORT:-18080}"
    anchor "anchor: Flask + boto3, 2 workers (no record)" "${FLASK_PORT:-18081}"
    anchor "anchor: no-op axum echo (ceiling)" "${NOOP_PORT:-18082}"
fi

echo
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, loopback, $(nproc) cores, $(date -u +%F)"
echo
echo "| route | requests/s | p50 | p99 | errors | server CPU per request | server RSS after |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${results[@]}"
