#!/usr/bin/env bash
# The liveness chain on a recorded file: any container and codec decodebin reads.
#   filesrc ! decodebin ! queue ! videoconvert ! lvfacedetect ! lvlandmarks ! lvantispoof
#     ! lvsurfaceanalysis ! lvchallenge ! lvjwtsink
set -euo pipefail
LV_NAME=file.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<'TEXT'
Usage: file.sh --input FILE [chain options]

Runs the whole liveness chain on a video file and prints the verdict token. A recording only
passes the challenges it performs, so give it its sequence (--sequence).

  --input FILE        the video (any format GStreamer's decodebin reads)
TEXT
    lv_chain_help
}

input=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --input) [ $# -ge 2 ] || lv_die "--input needs a file"; input="$2"; shift 2 ;;
        *) lv_chain_option "$@"; shift "$LV_SHIFT" ;;
    esac
done
[ -n "$input" ] || lv_die "--input FILE is required (see --help)"
if [ "$LV_DRY_RUN" != true ]; then
    [ -f "$input" ] || lv_die "no file $input" 3
    [ -r "$input" ] || lv_die "cannot read $input" 3
fi
LV_SOURCE=(filesrc "location=$input" ! decodebin)
lv_run decodebin
