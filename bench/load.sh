#!/usr/bin/env bash
# Requests/s and p99 of uploadgate's request routes, side by side in one run with
# the reference presigners in ../shared/anchors (Express + AWS SDK v3, Flask +
# boto3, and a no-op axum echo that marks this machine's ceiling).
#
#   bench/load.sh                 # 10 s per target, 64 connections
#   DURATION=30s CONNECTIONS=128 bench/load.sh
#
# Loopback only; every run is bounded by DURATION. Installs wrk (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ANCHORS=${ANCHORS:-../shared/anchors}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --ignore-rust-version -p uploadgate --quiet

work=$(mktemp -d)
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    [[ -x $ANCHORS/start.sh ]] && "$ANCHORS/start.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
store_port=$(free_port)
cat >"$work/uploadgate.toml" <<TOML
listen = "127.0.0.1:$api_port"
data_dir = "$work/data"
[store]
listen = "127.0.0.1:$store_port"
[profiles.video]
content_types = ["video/*"]
max_size = "20GiB"
TOML
RUST_LOG=warn target/release/uploadgate --config "$work/uploadgate.toml" serve >"$work/out.log" 2>"$work/err.log" &
server_pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$api_port/healthz" && break; sleep 0.1; done
token=$(sed -n 's/.*export TOKEN=//p' "$work/out.log")
api="http://127.0.0.1:$api_port"

upload_id=$(curl -fs -X POST "$api/v1/uploads" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"filename":"v.mp4","contentType":"video/mp4","size":1073741824,"profile":"video"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

lua() { # method, json body, headers...
    local file="$work/$RANDOM.lua" method=$1 body=$2
    shift 2
    {
        echo "wrk.method = \"$method\""
        [[ -n $body ]] && echo "wrk.body = '$body'"
        for header in "$@"; do echo "wrk.headers[\"${header%%:*}\"] = \"${header#*: }\""; done
    } >"$file"
    echo "$file"
}

results=()
run() { # name, url, lua file
    local out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$2")
    local rps p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    results+=("| $1 | ${rps%.*} | $p99 | ${errors:-0} |")
    echo "$1: $rps requests/s, p99 $p99, non-2xx ${errors:-0}" >&2
}

auth="Authorization: Bearer $token"
json="Content-Type: application/json"
run "uploadgate POST /v1/uploads (record + presigned PUT)" "$api/v1/uploads" \
    "$(lua POST '{"filename":"a.png","contentType":"image/png","size":1234}' "$auth" "$json")"
run "uploadgate POST /v1/uploads/{id}/parts (1 part)" "$api/v1/uploads/$upload_id/parts" \
    "$(lua POST '{"partNumbers":[7]}' "$auth" "$json")"
run "uploadgate GET /companion/<token>/s3/params (record + POST policy)" \
    "$api/companion/$token/s3/params?filename=a.png&type=image%2Fpng" "$(lua GET '')"
run "uploadgate GET /v1/uploads/{id}" "$api/v1/uploads/$upload_id" "$(lua GET '' "$auth")"

if [[ -x $ANCHORS/start.sh ]]; then
    "$ANCHORS/start.sh" >"$work/anchors.log"
    anchor_lua=$(lua POST '{"fileName":"a.png","fileType":"image/png","fileSize":1234}' "X-User-ID: u1" "$json")
    run "anchor: Express + AWS SDK v3 (no record)" "http://127.0.0.1:${EXPRESS_PORT:-18080}/api/upload/generate-url" "$anchor_lua"
    run "anchor: Flask + boto3, 2 workers (no record)" "http://127.0.0.1:${FLASK_PORT:-18081}/api/upload/generate-url" "$anchor_lua"
    run "anchor: no-op axum echo (ceiling)" "http://127.0.0.1:${NOOP_PORT:-18082}/api/upload/generate-url" "$anchor_lua"
fi

echo
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, loopback, $(nproc) cores, $(date -u +%F)"
echo
echo "| route | requests/s | p99 | non-2xx |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${results[@]}"
