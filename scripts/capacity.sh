#!/usr/bin/env bash
# `make bench` (last step): lpserver's capacity. Starts the release lpserver on a free
# loopback port and runs lpload against it at each session count of CAPACITY_SESSIONS
# (default "10 20 30 40 50"), 10 frames a second each, the bundled demo clip (its sessions
# pass), each session a relying party's user of its own. Prints lpload's figures and the server's CPU time per answered frame, read from
# /proc before and after each run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CAPACITY_BIN:-$root/target/release}"
counts="${CAPACITY_SESSIONS:-10 20 30 40 50}"
fps="${CAPACITY_FPS:-10}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
api_key="capacity-$(openssl rand -hex 24)"
export PORT="$port" ORT_DISABLE_TELEMETRY=1 API_KEYS="bench:$api_key" MIN_AGE=0
export LIVENESS_JWT_SECRET="capacity-bench-$(openssl rand -hex 16)"
export CHALLENGE_SEQUENCE=turn_left,look_up,turn_right
export MAX_SESSIONS="${MAX_SESSIONS:-1000}" MAX_CONNECTIONS_PER_IP=10000
"$bin/lpserver" >/tmp/lpserver-capacity.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
done
ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for n in $counts; do
    before="$(cpu)"
    out="$("$bin/lpload" --url "ws://127.0.0.1:$port/lpproto" --sessions "$n" --fps "$fps" --ramp-ms 2000 --api-key "$api_key" "$@")"
    after="$(cpu)"
    echo "$out"
    frames="$(awk '/^frames answered/ {print $3}' <<<"$out")"
    awk -v t="$((after - before))" -v hz="$ticks" -v f="$frames" -v n="$n" \
        'BEGIN { printf "%d sessions: lpserver CPU %.2f ms a frame\n\n", n, f ? t * 1000 / hz / f : 0 }'
done
