# Shared by bench/load.sh and bench/soak.sh: bench/common.sh, the load
# generator, and helpers to start `uploadgate serve` and describe wrk requests.
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
source bench/common.sh
# A build of its own, so that the load generator's features never change the server's.
cargo build --profile "$PROFILE" --ignore-rust-version --locked -p uploadgate-loadgen --quiet

# Starts `uploadgate serve` in $work/$1 (extra TOML lines in $2); sets $pid, $api, $token.
start_server() {
    local dir=$work/$1 api_port store_port
    mkdir -p "$dir"
    api_port=$(free_port)
    store_port=$(free_port)
    cat >"$dir/uploadgate.toml" <<TOML
listen = "127.0.0.1:$api_port"
data_dir = "$dir/data"
$2
# One user at full speed would be rate limited: measure the work, not the refusal.
[limits]
user_rate = 0
ip_rate = 0
[store]
listen = "127.0.0.1:$store_port"
[profiles.video]
content_types = ["video/*"]
max_size = "20GiB"
TOML
    RUST_LOG=warn "$ug" --config "$dir/uploadgate.toml" serve --demo-token >"$dir/out.log" 2>"$dir/err.log" &
    pid=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$api_port/healthz" && break; sleep 0.1; done
    token=$(sed -n 's/.*export TOKEN=//p' "$dir/out.log")
    api="http://127.0.0.1:$api_port"
}

# Failed requests in wrk's report on stdin: non-2xx answers plus socket errors.
wrk_errors() {
    awk '/Non-2xx/ {e += $5} /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10} END {print e + 0}'
}

# The processes listening on loopback port $1 (all of gunicorn's workers).
pid_on_port() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | xargs; }

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

# wrk's latency ("899.00us", "4.70ms", "1.20s") in milliseconds.
ms() { awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    printf "%.3f", v * (u == "us" ? 0.001 : u == "s" ? 1000 : 1) }' <<<"$1"; }
