#!/usr/bin/env bash
# Uploads one file (2 GiB by default) over loopback with `uploadgate upload`,
# `aws s3 cp` (awscli from PyPI) and `rclone copyto` (Debian), to the embedded
# store and to a single-node Garage, all with 8 MiB parts and 4 in flight.
# The tools take turns over ROUNDS rounds (A B C A B C ...), so that the
# machine's drift reaches all of them alike; the table gives each figure's
# median and range, and uploadgate's ratio to each other tool.
#
# Then the resume figure: `uploadgate upload` is stopped with Ctrl-C once
# storage has acknowledged half the parts (read from the upload's record,
# `uploadedParts`), then run again; the bytes sent twice are set against the
# bound, the parts in flight at the interrupt.
#
#   bench/upload.sh                    # 2 GiB, 3 rounds
#   SIZE_MIB=512 ROUNDS=5 STORES=embedded bench/upload.sh
#   PROFILE=release bench/upload.sh    # a quicker build than dist
#
# Loopback only. Installs what is missing: rclone (Debian), awscli (a venv
# cached in ~/.cache/uploadgate-bench), Garage (scripts/engines/garage).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-2048}
STORES=${STORES:-"embedded garage"}
ROUNDS=${ROUNDS:-3}
PART=8
PARALLEL=4

command -v rclone >/dev/null || { apt-get update -qq && apt-get install -y -qq rclone >/dev/null; }
[[ -x /usr/bin/time ]] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
venv=$HOME/.cache/uploadgate-bench/awscli
[[ -x $venv/bin/aws ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q awscli; }
source bench/common.sh
trap stop_server_and_garage EXIT

echo "creating a ${SIZE_MIB} MiB file" >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/big.bin"
size=$(stat -c %s "$work/big.bin")

# Starts `uploadgate serve` (extra TOML in $1); sets server_pid, api, token,
# and the store's endpoint, region and keys for the other tools.
start_server() {
    local dir=$work/server-$RANDOM api_port
    mkdir -p "$dir"
    api_port=$(free_port)
    cat >"$dir/uploadgate.toml" <<TOML
listen = "127.0.0.1:$api_port"
data_dir = "$dir/data"
[store]
listen = "127.0.0.1:$(free_port)"
$1
[profiles.default]
content_types = ["application/octet-stream"]
max_size = "100GiB"
multipart_threshold = "${PART}MiB"
part_size = "${PART}MiB"
TOML
    RUST_LOG=warn "$ug" --config "$dir/uploadgate.toml" serve --demo-token >"$dir/out.log" 2>"$dir/err.log" &
    server_pid=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$api_port/healthz" && break; sleep 0.1; done
    api="http://127.0.0.1:$api_port"
    token=$(sed -n 's/.*export TOKEN=//p' "$dir/out.log")
    server_dir=$dir
}

# measure NAME COMMAND...: one run under GNU time, appended to $work/runs as
# "store<TAB>tool<TAB>wall<TAB>cpu<TAB>rss_kib<TAB>store_cpu". The store's CPU
# is Garage's, or for the embedded store the whole server's.
measure() {
    local name=$1
    shift
    local out=$work/time.txt before
    before=$(cpu_ticks "$store_pid")
    /usr/bin/time -f "%e %U %S %M" -o "$out" "$@" >"$work/last.out" 2>"$work/last.err" || {
        echo "$store $name failed:" >&2
        tail -5 "$work/last.err" >&2
        printf '%s\t%s\tfailed\t\t\t\n' "$store" "$name" >>"$work/runs"
        return 0
    }
    read -r wall user sys rss_kb <"$out"
    local cpu
    cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
    local store_cpu
    store_cpu=$(awk -v a="$(cpu_ticks "$store_pid")" -v b="$before" 'BEGIN {printf "%.2f", (a - b) / 100}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$name" "$wall" "$cpu" "$rss_kb" "$store_cpu" >>"$work/runs"
    echo "$store $name: $wall s, CPU $cpu s, peak RSS $((rss_kb / 1024)) MiB, store CPU $store_cpu s" >&2
}
: >"$work/runs"

aws_config=$work/aws.config
cat >"$aws_config" <<CFG
[default]
s3 =
    multipart_threshold = ${PART}MB
    multipart_chunksize = ${PART}MB
    max_concurrent_requests = $PARALLEL
CFG

for store in $STORES; do
    if [[ $store == garage ]]; then
        mapfile -t garage_env < <(scripts/engines/garage start "$work/garage")
        for line in "${garage_env[@]}"; do export "${line?}"; done
        endpoint=$UPLOADGATE_TEST_S3_ENDPOINT region=$UPLOADGATE_TEST_S3_REGION
        key_id=$UPLOADGATE_TEST_S3_ACCESS_KEY_ID secret=$UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY
        start_server "[s3]
endpoint = \"$endpoint\"
region = \"$region\"
bucket = \"uploads\"
access_key_id = \"$key_id\"
secret_access_key = \"$secret\"
force_path_style = true"
    else
        start_server ""
        endpoint=$(sed -n 's/^embedded S3 store: //p' "$server_dir/out.log")
        region=us-east-1
        key_id=$(cat "$server_dir/data/secrets/store-access-key-id")
        secret=$(cat "$server_dir/data/secrets/store-secret-access-key")
    fi
    store_pid=$server_pid
    [[ $store == garage ]] && store_pid=$(cat "$work/garage/pid")

    for round in $(seq "$ROUNDS"); do
        echo "$store, round $round of $ROUNDS" >&2
        measure "uploadgate upload" env UPLOADGATE_SERVER="$api" UPLOADGATE_TOKEN="$token" \
            UPLOADGATE_STATE_DIR="$work/state" "$ug" upload --quiet --json --parallel "$PARALLEL" "$work/big.bin"
        measure "aws s3 cp" env AWS_CONFIG_FILE="$aws_config" AWS_ACCESS_KEY_ID="$key_id" \
            AWS_SECRET_ACCESS_KEY="$secret" AWS_DEFAULT_REGION="$region" \
            "$venv/bin/aws" s3 cp --only-show-errors --endpoint-url "$endpoint" "$work/big.bin" "s3://uploads/bench/aws.bin"
        measure "rclone copyto" env -u AWS_CA_BUNDLE RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other \
            RCLONE_CONFIG_S3_ACCESS_KEY_ID="$key_id" RCLONE_CONFIG_S3_SECRET_ACCESS_KEY="$secret" \
            RCLONE_CONFIG_S3_ENDPOINT="$endpoint" RCLONE_CONFIG_S3_REGION="$region" \
            rclone copyto --ignore-times --s3-chunk-size "${PART}M" --s3-upload-concurrency "$PARALLEL" \
            --s3-upload-cutoff "${PART}M" --s3-disable-checksum "$work/big.bin" "s3:uploads/bench/rclone.bin"
    done

    # The resume figure: Ctrl-C once storage holds half the parts, as the
    # upload's record says, then the same command again.
    UPLOADGATE_SERVER="$api" UPLOADGATE_TOKEN="$token" UPLOADGATE_STATE_DIR="$work/state-resume" \
        "$ug" upload --json --parallel "$PARALLEL" "$work/big.bin" >/dev/null 2>"$work/interrupted.err" &
    upload_pid=$!
    parts=$(( (size + PART * 1048576 - 1) / (PART * 1048576) ))
    held=$(python3 bench/stored_parts.py "$api" "$token" "$work/state-resume" "$(( parts / 2 ))" "$upload_pid")
    kill -INT "$upload_pid" 2>/dev/null || true
    wait "$upload_pid" || true
    first=$(sed -n 's/^interrupted after sending \([0-9]*\) bytes.*/\1/p' "$work/interrupted.err")
    UPLOADGATE_SERVER="$api" UPLOADGATE_TOKEN="$token" UPLOADGATE_STATE_DIR="$work/state-resume" \
        "$ug" upload --quiet --json --parallel "$PARALLEL" "$work/big.bin" >"$work/resumed.json"
    read -r stored sent < <(python3 -c "import json; d = json.load(open('$work/resumed.json'))[0]; print(d['bytesAlreadyStored'], d['bytesSent'])")
    if [[ -n $first ]]; then
        resume_lines+=("| $store | $held of $parts | $first ($((first * 100 / size))%) | $stored | $sent | $((first - stored)) | $((PARALLEL * PART * 1024 * 1024)) |")
    else
        resume_lines+=("| $store | $held of $parts | (finished before the interrupt) | | | | |")
    fi

    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=
done

echo
echo "$SIZE_MIB MiB over loopback, ${PART} MiB parts, $PARALLEL in flight, $(nproc) cores, $ROUNDS rounds, $PROFILE build, $(date -u +%F)"
echo
python3 bench/upload_table.py "$size" <"$work/runs"
echo
echo "Resume (Ctrl-C once storage held half the parts, then the same command):"
echo
echo "| store | parts stored at Ctrl-C | bytes sent before Ctrl-C | kept in storage | sent by the resume | sent twice | bound (parts in flight) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${resume_lines[@]}"
