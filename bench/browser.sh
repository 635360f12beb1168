#!/usr/bin/env bash
# The browser's data path against Uppy's: one SIZE_MIB file (default 1024) from
# headless Chromium to a single-node Garage, through uploadgate's page (per-part
# SHA-256 on) and through Uppy 6 on uploadgate's Companion routes, alternating
# over ROUNDS rounds (default 2). Prints a table of medians, uploadgate's ratios
# to Uppy, and what hashing alone costs. See web/bench/browser.mjs.
#
#   bench/browser.sh
#   SIZE_MIB=256 ROUNDS=3 bench/browser.sh
#
# Loopback only. Installs Chromium (Debian) and web/'s npm packages if missing;
# Garage as scripts/engines/garage does (once, about 15 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-1024}
PROFILE=${PROFILE:-release}
[[ -x /usr/bin/chromium ]] || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
[[ -d web/node_modules ]] || (cd web && npm ci --no-audit --no-fund --loglevel=error)
source bench/common.sh
trap stop_server_and_garage EXIT

echo "creating a $SIZE_MIB MiB file" >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/big.parts.bin"

mapfile -t garage_env < <(scripts/engines/garage start "$work/garage")
for line in "${garage_env[@]}"; do export "${line?}"; done
api_port=$(free_port)
site_port=$(free_port)
cat >"$work/uploadgate.toml" <<TOML
listen = "127.0.0.1:$api_port"
data_dir = "$work/data"
cors_origins = ["http://127.0.0.1:$api_port", "http://127.0.0.1:$site_port"]
[s3]
endpoint = "$UPLOADGATE_TEST_S3_ENDPOINT"
region = "$UPLOADGATE_TEST_S3_REGION"
bucket = "uploads"
access_key_id = "$UPLOADGATE_TEST_S3_ACCESS_KEY_ID"
secret_access_key = "$UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY"
force_path_style = true
[profiles.default]
content_types = ["application/octet-stream"]
max_size = "100GiB"
TOML
"$ug" --config "$work/uploadgate.toml" bucket setup >/dev/null
RUST_LOG=warn "$ug" --config "$work/uploadgate.toml" serve --demo-token >"$work/out.log" 2>"$work/err.log" &
server_pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$api_port/healthz" && break; sleep 0.1; done
token=$(sed -n 's/.*export TOKEN=//p' "$work/out.log")
page=$(sed -n 's/^upload page: //p' "$work/out.log")

SITE_PORT=$site_port node web/bench/browser.mjs "http://127.0.0.1:$api_port" "$token" "$page" "$work/big.parts.bin" "$server_pid"
