# Sourced by every bench script: the uploadgate build ($PROFILE, default dist,
# the profile to deploy; release builds in minutes instead of 20, for trying a
# change), a work dir the engines' users can read, free loopback ports, and a
# process's RSS and CPU time from /proc.
PROFILE=${PROFILE:-dist}
bin=$PWD/target/$PROFILE
ug=$bin/uploadgate
cargo build --profile "$PROFILE" --ignore-rust-version --locked -p uploadgate --quiet

work=$(mktemp -d)
chmod 755 "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# CPU time (user + system, in clock ticks of 1/100 s) of the processes $1
# (space-separated pids) and their threads.
cpu_ticks() { # shellcheck disable=SC2086
    (cd /proc && cat ${1// /\/stat }/stat) | awk '{t += $14 + $15} END {print t}'
}

# The EXIT trap of the scripts that run uploadgate ($server_pid) on a Garage
# started in $work/garage.
stop_server_and_garage() {
    [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
    scripts/engines/garage stop "$work/garage" >/dev/null 2>&1 || true
    rm -rf "$work"
}
