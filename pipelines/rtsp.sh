#!/usr/bin/env bash
# The liveness chain on an RTSP stream (IP camera, media server): rtspsrc, then decodebin picks
# the depayloader and decoder.
#   rtspsrc ! decodebin ! queue leaky=downstream ! videoconvert ! lvfacedetect ! ... ! lvjwtsink
set -euo pipefail
LV_NAME=rtsp.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<'TEXT'
Usage: rtsp.sh --location rtsp://HOST[:PORT]/PATH [--latency MS] [--protocol tcp|udp] [chain options]

Runs the whole liveness chain on an RTSP stream and prints the verdict token.

  --location URL      the stream (rtsp://, rtsps://; user:password@ in the URL if needed)
  --latency MS        jitter buffer latency (default 200)
  --protocol P        tcp (default: works through NAT and firewalls) or udp (lower latency)
TEXT
    lv_chain_help
}

location="" latency=200 protocol=tcp
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --location) [ $# -ge 2 ] || lv_die "--location needs a URL"; location="$2"; shift 2 ;;
        --latency) [ $# -ge 2 ] || lv_die "--latency needs milliseconds"; latency="$2"; shift 2 ;;
        --protocol) [ $# -ge 2 ] || lv_die "--protocol needs tcp or udp"; protocol="$2"; shift 2 ;;
        *) lv_chain_option "$@"; shift "$LV_SHIFT" ;;
    esac
done
[ -n "$location" ] || lv_die "--location rtsp://... is required (see --help)"
[[ "$location" =~ ^rtsps?://[^[:space:]\"\']+$ ]] || lv_die "'$location' is not an rtsp:// or rtsps:// URL"
[[ "$latency" =~ ^[0-9]+$ ]] || lv_die "--latency must be milliseconds"
case "$protocol" in tcp | udp) ;; *) lv_die "--protocol is tcp or udp" ;; esac
LV_LIVE=true
LV_SOURCE=(rtspsrc "location=$location" "latency=$latency" "protocols=$protocol" ! decodebin)
lv_run rtspsrc decodebin
