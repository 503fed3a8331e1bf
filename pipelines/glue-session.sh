#!/usr/bin/env bash
# Glues a session stored by lvvideoglue into a WebM video:
#   lvvideogluesrc session-id=ID ! jpegdec ! videoconvert ! vp8enc ! webmmux ! filesink
set -euo pipefail

usage() {
    cat <<'TEXT'
Usage: glue-session.sh --session ID [--redis-url URL] [--output FILE] [--draw] [--mirrored]

Reads the frames lvvideoglue stored for session ID from Redis and writes them as a WebM video
(VP8), timed as they were recorded.

  --session ID      the session id (letters, digits, '.', '-', '_')
  --redis-url URL   Redis holding the session (default: $REDIS_URL, else redis://127.0.0.1:6379);
                    redis://[:password@]host[:port][/db] or unix:///path/to/socket
  --output FILE     the video to write (default: session-ID.webm)
  --draw            draw face boxes, the challenge prompt and progress, and the verdict border
  --mirrored        the frames are a selfie view (challenge arrows mirrored)
  --help            this text

The liveness plugin must be on GStreamer's plugin path (installed, or GST_PLUGIN_PATH set to
the folder holding libgstliveness.so). The video holds face images: keep it accordingly.
TEXT
}

session="" redis_url="${REDIS_URL:-redis://127.0.0.1:6379}" output="" draw=false mirrored=false
while [ $# -gt 0 ]; do
    case "$1" in
        --session) session="${2:-}"; shift 2 || { echo "glue-session.sh: --session needs a value" >&2; exit 2; } ;;
        --redis-url) redis_url="${2:-}"; shift 2 || { echo "glue-session.sh: --redis-url needs a value" >&2; exit 2; } ;;
        --output) output="${2:-}"; shift 2 || { echo "glue-session.sh: --output needs a value" >&2; exit 2; } ;;
        --draw) draw=true; shift ;;
        --mirrored) mirrored=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "glue-session.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$session" ]; then
    echo "glue-session.sh: --session ID is required (see --help)" >&2
    exit 2
fi
if ! [[ "$session" =~ ^[A-Za-z0-9._-]{1,128}$ ]]; then
    echo "glue-session.sh: session id '$session' has characters other than letters, digits, '.', '-', '_'" >&2
    exit 2
fi
url_chars='^[][A-Za-z0-9+.:/@%_=?&-]+$'
if ! [[ "$redis_url" =~ $url_chars ]]; then
    echo "glue-session.sh: '$redis_url' does not look like a Redis URL" >&2
    exit 2
fi
output="${output:-session-$session.webm}"
for tool in gst-launch-1.0 gst-inspect-1.0; do
    command -v "$tool" >/dev/null || { echo "glue-session.sh: $tool not found (apt-get install gstreamer1.0-tools)" >&2; exit 3; }
done
if ! gst-inspect-1.0 lvvideogluesrc >/dev/null 2>&1; then
    echo "glue-session.sh: the liveness plugin (lvvideogluesrc) is not found: install it, or set GST_PLUGIN_PATH to the folder holding libgstliveness.so (target/debug or target/release of a build)" >&2
    exit 3
fi
for element in jpegdec vp8enc webmmux; do
    gst-inspect-1.0 "$element" >/dev/null 2>&1 || { echo "glue-session.sh: GStreamer element $element is missing (apt-get install gstreamer1.0-plugins-good)" >&2; exit 3; }
done

gst-launch-1.0 -q lvvideogluesrc "redis-url=$redis_url" "session-id=$session" "draw=$draw" "mirrored=$mirrored" \
    ! jpegdec ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink "location=$output"
echo "$output"
