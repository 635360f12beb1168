#!/usr/bin/env bash
# Requests/s and p99 of uploadgate's request routes, side by side in one run with
# the reference servers in ../shared/anchors: Express + AWS SDK v3, Flask + boto3,
# a no-op axum echo that marks this machine's ceiling, and durable-axum, the
# floor of a gatekeeper that keeps a durable record (validation, one durable
# SQLite row, one signature). Every uploadgate figure is also given as a ratio
# to durable-axum's, beside Express's and the echo's.
#
#   bench/load.sh                 # 3 rounds of 10 s per target, 64 connections
#   ROUNDS=1 DURATION=30s CONNECTIONS=128 bench/load.sh
#
# This machine's cores are shared: the same server's requests/s moves by up to
# 2 times within minutes. So every server is started first, the targets take
# turns within each round, and the table holds each figure's median over the
# rounds (errors: the sum), so that a ratio compares runs minutes apart at most.
#
# POST /v1/uploads runs on SQLite (with uploadgate's HS256 token, then an
# RS256 and an ES256 token from a real OpenID provider) and on PostgreSQL (a throwaway server
# from scripts/engines/postgres, with fsync on). Server RSS is sampled after each
# run, and the server's CPU time per request is measured, which varies far less
# than requests/s here.
#
# Loopback only; every run is bounded by DURATION. Installs wrk (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ANCHORS=${ANCHORS:-../shared/anchors}

source bench/lib.sh
cleanup() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    [[ -n ${pg_server_pid:-} ]] && kill "$pg_server_pid" 2>/dev/null || true
    scripts/engines/postgres stop "$work/pg" >/dev/null 2>&1 || true
    scripts/engines/oidc stop "$work/oidc" >/dev/null 2>&1 || true
    [[ -x $ANCHORS/start.sh ]] && "$ANCHORS/start.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Creation with the RS256 and ES256 access tokens of a real OpenID provider
# (scripts/engines/oidc), beside uploadgate's own HS256: each connection sends
# one token, as a browser does, so this measures the verified-token memory.
oidc=$(scripts/engines/oidc start "$work/oidc")
start_server sqlite "[[auth.issuers]]
issuer = \"$oidc\"
audiences = [\"uploadgate\"]"
server_pid=$pid
provider_token() { # client id
    curl -fs -u "$1:$1-secret" -d grant_type=client_credentials -d scope=upload "$oidc/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
for _ in $(seq 100); do
    curl -fs "$api/readyz" | grep -q "not loaded" || break
    sleep 0.1
done
auth="Authorization: Bearer $token"
json="Content-Type: application/json"
create_body='{"filename":"a.png","contentType":"image/png","size":1234}'
upload_id=$(curl -fs -X POST "$api/v1/uploads" -H "$auth" -H "$json" \
    -d '{"filename":"v.mp4","contentType":"video/mp4","size":1073741824,"profile":"video"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

targets=()
target() { # name, url, lua file, server pids, [sample RSS]
    targets+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"${5:-}")
}
target "uploadgate POST /v1/uploads, SQLite (record + presigned PUT)" "$api/v1/uploads" \
    "$(lua POST "$create_body" "$auth" "$json")" "$server_pid" rss
hs256_target=0
rs256_target=${#targets[@]}
target "uploadgate POST /v1/uploads, SQLite, provider's RS256 token" "$api/v1/uploads" \
    "$(lua POST "$create_body" "Authorization: Bearer $(provider_token app-rs)" "$json")" "$server_pid" rss
es256_target=${#targets[@]}
target "uploadgate POST /v1/uploads, SQLite, provider's ES256 token" "$api/v1/uploads" \
    "$(lua POST "$create_body" "Authorization: Bearer $(provider_token app-es)" "$json")" "$server_pid" rss
target "uploadgate POST /v1/uploads/{id}/parts (1 part)" "$api/v1/uploads/$upload_id/parts" \
    "$(lua POST '{"partNumbers":[7]}' "$auth" "$json")" "$server_pid" rss
target "uploadgate GET /companion/<token>/s3/params (record + POST policy)" \
    "$api/companion/$token/s3/params?filename=a.png&type=image%2Fpng" "$(lua GET '')" "$server_pid" rss
target "uploadgate GET /v1/uploads/{id}" "$api/v1/uploads/$upload_id" "$(lua GET '' "$auth")" "$server_pid" rss
# The anchors' own route and body, through uploadgate's simple door.
target "uploadgate POST /api/upload/generate-url, SQLite (the anchors' route)" "$api/api/upload/generate-url" \
    "$(lua POST '{"fileName":"a.png","fileType":"image/png","fileSize":1234}' "$auth" "$json")" "$server_pid" rss

if [[ ${POSTGRES:-1} == 1 ]]; then
    pg_url=$(PG_FSYNC=on scripts/engines/postgres start "$work/pg" 2>"$work/pg.log")
    start_server postgres "database_url = \"$pg_url\""
    pg_server_pid=$pid
    target "uploadgate POST /v1/uploads, PostgreSQL (record + presigned PUT)" "$api/v1/uploads" \
        "$(lua POST "$create_body" "Authorization: Bearer $token" "$json")" "$pg_server_pid" rss
fi

uploadgate_targets=${#targets[@]}
if [[ -x $ANCHORS/start.sh ]]; then
    "$ANCHORS/start.sh" >"$work/anchors.log"
    anchor_lua=$(lua POST '{"fileName":"a.png","fileType":"image/png","fileSize":1234}' "X-User-ID: u1" "$json")
    anchor() { # name, port
        target "$1" "http://127.0.0.1:$2/api/upload/generate-url" "$anchor_lua" "$(pid_on_port "$2")"
    }
    express_target=${#targets[@]}
    anchor "anchor: Express + AWS SDK v3 (no record)" "${EXPRESS_PORT:-18080}"
    anchor "anchor: Flask + boto3, 2 workers (no record)" "${FLASK_PORT:-18081}"
    echo_target=${#targets[@]}
    anchor "anchor: no-op axum echo (ceiling)" "${NOOP_PORT:-18082}"
    durable_target=${#targets[@]}
    anchor "anchor: durable-axum (durable floor)" "${DURABLE_PORT:-18083}"
fi

# One wrk run of target $1; appends "rps p50 p99 errors cpu_us rss" to $work/samples.$1.
measure() {
    local name url lua pids rss_wanted out before after
    IFS=$'\t' read -r name url lua pids rss_wanted <<<"${targets[$1]}"
    before=$(cpu_ticks "$pids")
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" "$url")
    after=$(cpu_ticks "$pids")
    local rps p50 p99 errors total cpu rss=-
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p50=$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    errors=$(wrk_errors <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu=$(awk -v t="$((after - before))" -v n="$total" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
    [[ -n $rss_wanted ]] && rss=$(rss_mib "${pids%% *}")
    echo "$rps $p50 $p99 $errors $cpu $rss" >>"$work/samples.$1"
    echo "round $round: $name: $rps requests/s, p50 $p50 ms, p99 $p99 ms, errors $errors, CPU $cpu µs/request${rss_wanted:+, RSS $rss MiB}" >&2
}

for round in $(seq "$ROUNDS"); do
    for i in "${!targets[@]}"; do measure "$i"; done
done

column_median() { # file, column
    awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
declare -a median_rps
echo
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, loopback, $(nproc) cores, $(date -u +%F); median of $ROUNDS rounds (errors: sum)"
echo
echo "| route | requests/s | p50 | p99 | errors | server CPU per request | server RSS after |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for i in "${!targets[@]}"; do
    file=$work/samples.$i
    median_rps[i]=$(column_median "$file" 1)
    rss=$(tail -n1 "$file" | awk '{print $6}')
    printf '| %s | %s | %s ms | %s ms | %s | %s µs | %s |\n' "${targets[$i]%%$'\t'*}" "${median_rps[i]}" \
        "$(column_median "$file" 2)" "$(column_median "$file" 3)" "$(awk '{e += $4} END {print e}' "$file")" \
        "$(column_median "$file" 5)" "$([[ $rss == - ]] || echo "$rss MiB")"
done

echo
hs256_cpu=$(column_median "$work/samples.$hs256_target" 5)
for i in $rs256_target $es256_target; do
    awk -v name="${targets[$i]%%$'\t'*}" -v c="$(column_median "$work/samples.$i" 5)" -v h="$hs256_cpu" \
        'BEGIN {printf "%s: CPU per request %.2f times HS256'"'"'s\n", name, c / h}'
done

if [[ -n ${express_target:-} ]]; then
    express=${median_rps[express_target]} echo_rps=${median_rps[echo_target]}
    durable=$work/samples.$durable_target
    echo
    echo "Against the anchors (medians; requests/s and CPU: above 1 is more; p99: above 1 is slower):"
    echo
    echo "| route | requests/s vs durable-axum | p99 vs durable-axum | CPU per request vs durable-axum | requests/s vs Express | % of the echo |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for ((i = 0; i < uploadgate_targets; i++)); do
        file=$work/samples.$i
        awk -v name="${targets[$i]%%$'\t'*}" -v r="${median_rps[i]}" -v x="$express" -v e="$echo_rps" \
            -v d="$(column_median "$durable" 1)" -v p="$(column_median "$file" 3)" -v dp="$(column_median "$durable" 3)" \
            -v c="$(column_median "$file" 5)" -v dc="$(column_median "$durable" 5)" \
            'BEGIN {printf "| %s | %.2fx | %.2fx | %.2fx | %.1fx | %.0f%% |\n", name, r / d, p / dp, c / dc, r / x, 100 * r / e}'
    done
fi
