#!/usr/bin/env bash
# `make demo`: the whole liveness chain in gst-launch-1.0 on a bundled clip of a real face
# (tests/fixtures/demo-session.webm: the astronaut photo re-rendered turning left, looking up,
# turning right), first asked that sequence (it passes and the decoded token is printed), then
# a randomly drawn one (the recording does not fit it and the session fails).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export GST_PLUGIN_PATH="$root/target/debug${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

# DEMO KEY: public, printed here, for this demo only. Real deployments set their own secret
# (key-file or LIVENESS_JWT_SECRET) or an RS256/ES256 key pair; lvjwtsink has no default key.
demo_key="DEMO-KEY-not-secret-do-not-use-in-production"
clip="$root/tests/fixtures/demo-session.webm"

run() {
    local challenge_props="$1"
    local launch=(filesrc location="$clip" ! decodebin ! videoconvert
        ! lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis
        ! lvchallenge "$challenge_props"
        ! lvjwtsink key="$demo_key" session-id=demo-session)
    echo "\$ gst-launch-1.0 -m ${launch[*]}"
    echo
    gst-launch-1.0 -m "${launch[@]}" | DEMO_KEY="$demo_key" README="$root/docs/elements.md" python3 "$root/scripts/show-token.py"
}


echo "=== 1. The clip asked the sequence it performs ==="
run "sequence=turn_left,look_up,turn_right"
echo
echo "=== 2. The same clip replayed against a randomly drawn sequence ==="
run "length=5"
