#!/usr/bin/env bash
# `make demo-server [MODE=open|rp]`: lpserver with the browser page on http://127.0.0.1:5003/.
#   MODE=open (default): anonymous sessions (OPEN_SESSIONS=1), attempts counted by address.
#   MODE=rp: relying-party sessions only; this script plays the relying party's backend: it
#            creates a session with curl and prints the page's address carrying the one-time
#            client token, then, once the session has ended, fetches its result.
# The keys are made up for this run and printed: a demo, not a deployment.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${MODE:-open}"
port="${PORT:-5003}"
export LIVENESS_JWT_SECRET="DEMO-KEY-not-secret-do-not-use-in-production"
export MIN_AGE="${MIN_AGE:-0}" PORT="$port" ORT_DISABLE_TELEMETRY=1
server="${LPSERVER:-$root/target/debug/lpserver}"
base="http://127.0.0.1:$port"

case "$mode" in
open) export OPEN_SESSIONS=1 ;;
rp)
    api_key="demo-$(openssl rand -hex 24)"
    export API_KEYS="demo:$api_key" OPEN_SESSIONS=0
    ;;
*) echo "MODE is open or rp, not $mode" >&2; exit 2 ;;
esac

"$server" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -fs "$base/health" >/dev/null && break
    sleep 0.2
done

if [ "$mode" = open ]; then
    echo "Open $base/ in a browser (Ctrl-C stops the server)."
    wait $pid
    exit 0
fi

created=$(curl -fsS -X POST "$base/v1/sessions" -H "Authorization: Bearer $api_key" \
    -H 'Content-Type: application/json' -d '{"userReference": "demo-user"}')
session_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionId"])' <<<"$created")
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["clientToken"])' <<<"$created")
echo "POST /v1/sessions -> session $session_id"
echo "Open within 2 minutes: $base/#session-token=$token"
echo "Waiting for the session to end (Ctrl-C stops the server) ..."
while true; do
    status=$(curl -s -o /tmp/lp-demo-result.json -w '%{http_code}' "$base/v1/sessions/$session_id/result" \
        -H "Authorization: Bearer $api_key")
    if [ "$status" = 200 ]; then
        echo "GET /v1/sessions/$session_id/result:"
        python3 -m json.tool /tmp/lp-demo-result.json
        rm -f /tmp/lp-demo-result.json
        break
    elif [ "$status" != 409 ]; then
        echo "GET /v1/sessions/$session_id/result: HTTP $status $(cat /tmp/lp-demo-result.json)" >&2
        break
    fi
    sleep 1
done
