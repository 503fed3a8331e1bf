#!/usr/bin/env bash
# `make bench` (last step): lpserver's capacity on this machine. Starts the release lpserver on
# a free loopback port and runs lpload against it at each session count of CAPACITY_SESSIONS
# (default "24 32 40 50"), 10 frames a second each, the bundled demo clip (its sessions
# pass), each session a relying party's user of its own; then the same on one core (the
# server pinned with taskset) at CAPACITY_ONE_CORE (default "12 16 20"); then overload: the server
# with its default MAX_SESSIONS and twice that many sessions, where those past the bound must
# get `busy` (1023) and the admitted ones keep their latency; then mixed load: CAPACITY_MIXED
# (default 24) LPProto sessions and CAPACITY_REST (default 4) REST clients calling /liveness
# back to back, both through the one analysis gate of ANALYSIS_THREADS places (the REST
# answers' latency and `busy` count printed beside lpload's). Prints lpload's figures and the
# server's CPU time per answered frame, read from /proc before and after each run, and the
# share of the machine's CPU time the hypervisor gave to other guests (steal).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CAPACITY_BIN:-$root/target/release}"
counts="${CAPACITY_SESSIONS:-24 32 40 50}"
one_core="${CAPACITY_ONE_CORE:-12 16 20}"
fps="${CAPACITY_FPS:-10}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
api_key="capacity-$(openssl rand -hex 24)"
export PORT="$port" ORT_DISABLE_TELEMETRY=1 API_KEYS="bench:$api_key" MIN_AGE=0
export LIVENESS_JWT_SECRET="capacity-bench-$(openssl rand -hex 16)"
# The demo clip is a render: no sensor noise, its still lead-in repeats frames, its movements
# come at fixed times and no screen lights it.
export CHALLENGE_SEQUENCE=turn_left,look_up,turn_right MAX_CONNECTIONS_PER_IP=10000 MIN_SENSOR_NOISE=0 MAX_DUPLICATE_SHARE=1 REQUIRE_VARYING_JPEG=0
export FLASH=0 NO_FLASH_PROMPT_HOLD_MIN_MS=0 NO_FLASH_PROMPT_HOLD_MAX_MS=0
ticks="$(getconf CLK_TCK)"
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null || true' EXIT

# start_server [taskset cores] [MAX_SESSIONS]: (re)starts lpserver, waits until it answers.
start_server() {
    if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
    local pin=()
    [ -n "$1" ] && pin=(taskset -c "$1")
    if [ -n "$2" ]; then export MAX_SESSIONS="$2"; else unset MAX_SESSIONS; fi
    "${pin[@]}" "$bin/lpserver" >/tmp/lpserver-capacity.log 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
        sleep 0.2
    done
    curl -fs "http://127.0.0.1:$port/health" >/dev/null || { cat /tmp/lpserver-capacity.log >&2; exit 1; }
    # Warm-up, not measured: the first inferences of each pooled model session are slow.
    "$bin/lpload" --url "ws://127.0.0.1:$port/lpproto" --sessions 2 --frames 30 --api-key "$api_key" >/dev/null
}

# run LABEL SESSIONS: one lpload run and the server's CPU time per answered frame.
run() {
    local before after out frames cpu_before cpu_after
    before="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    cpu_before="$(grep '^cpu ' /proc/stat)"
    out="$("$bin/lpload" --url "ws://127.0.0.1:$port/lpproto" --sessions "$2" --fps "$fps" --ramp-ms 2000 \
        --api-key "$api_key")"
    after="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    cpu_after="$(grep '^cpu ' /proc/stat)"
    frames="$(awk '/^frames answered/ {print $3}' <<<"$out")"
    echo "== $1, $2 sessions"
    grep -v '^lpload:' <<<"$out"
    awk -v t="$((after - before))" -v hz="$ticks" -v f="$frames" \
        'BEGIN { printf "lpserver CPU %.2f ms a frame\n", f ? t * 1000 / hz / f : 0 }'
    # On a virtual machine the hypervisor may give the cores to other guests ("steal"): the
    # share of the run's CPU time it took tells a slow run from a slow server.
    printf '%s\n%s\n' "$cpu_before" "$cpu_after" | awk '
        { total[NR] = 0; for (i = 2; i <= NF; i++) total[NR] += $i; steal[NR] = $9 }
        END { d = total[2] - total[1]; printf "steal %.0f %% of the CPU time\n\n", d ? 100 * (steal[2] - steal[1]) / d : 0 }'
}

start_server "" 1000
for n in $counts; do run "2 cores" "$n"; done
start_server 0 1000
for n in $one_core; do run "1 core" "$n"; done
start_server "" ""
max="$(curl -fs "http://127.0.0.1:$port/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_sessions"])')"
run "overload: MAX_SESSIONS $max (the default here)" "$((2 * max))"

# mixed LABEL SESSIONS CLIENTS: lpload's sessions and REST clients at once; the REST clients
# run until lpload ends.
mixed() {
    local body="/tmp/lpserver-capacity-body.json" stop="/tmp/lpserver-capacity-stop" times="/tmp/lpserver-capacity-rest"
    python3 -c 'import base64,json,sys; print(json.dumps({"image": base64.b64encode(open(sys.argv[1],"rb").read()).decode()}))' \
        "$root/tests/fixtures/astronaut.png" >"$body"
    rm -f "$stop" "$times".*
    for c in $(seq "$3"); do
        ( while [ ! -e "$stop" ]; do
            curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'content-type: application/json' \
                --data-binary "@$body" "http://127.0.0.1:$port/liveness" >>"$times.$c"
          done ) &
    done
    run "$1" "$2"
    touch "$stop"
    wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
    local answers busy other p50 p95
    answers="$(cat "$times".* | wc -l)"
    busy="$(cat "$times".* | awk '$1 == 503' | wc -l)"
    other="$(cat "$times".* | awk '$1 != 503 && $1 != 200' | wc -l)"
    p50="$(cat "$times".* | awk '{print $2 * 1000}' | sort -n | awk -v n="$answers" 'NR == int(n * 0.5) + 1 {printf "%.0f", $1}')"
    p95="$(cat "$times".* | awk '{print $2 * 1000}' | sort -n | awk -v n="$answers" 'NR == int(n * 0.95) + 1 {printf "%.0f", $1}')"
    printf 'REST /liveness: %s answered, %s busy, %s other; latency p50 %s ms, p95 %s ms\n\n' \
        "$answers" "$busy" "$other" "${p50:-0}" "${p95:-0}"
}

start_server "" 1000
mixed "mixed: LPProto and REST through one gate" "${CAPACITY_MIXED:-24}" "${CAPACITY_REST:-4}"
