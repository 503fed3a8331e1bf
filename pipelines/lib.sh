# Shared by the source scripts of pipelines/ (camera.sh, rtsp.sh, file.sh): the chain's
# options, the checks before a run, and a run that prints the verdict token. Sourced, not run.
#
# A script sets LV_NAME and LV_SOURCE (an array: the source part of the launch line, ending in
# raw video), passes the options it does not know to lv_chain_option, then calls lv_run.

LV_SEQUENCE="" LV_CHALLENGES="" LV_LENGTH="" LV_MIRRORED=false LV_KEY_FILE="" LV_ALGORITHM=hs256
LV_MIN_AGE="" LV_DISPLAY=false LV_TIMEOUT=120 LV_DRY_RUN=false LV_SHIFT=0
# Live sources (cameras, RTSP) set LV_LIVE=true: frames the analysis cannot keep up with are
# dropped before it, oldest first, instead of piling up.
LV_LIVE=false
# ONNX Runtime 1.32 keeps a device id and queues telemetry events under $HOME unless told not
# to: the chain's models and the machine stay private.
export ORT_DISABLE_TELEMETRY="${ORT_DISABLE_TELEMETRY:-1}"

lv_die() {
    echo "$LV_NAME: $1" >&2
    exit "${2:-2}"
}

# The help text of the chain options.
lv_chain_help() {
    cat <<'TEXT'
Chain options:
  --sequence LIST     a fixed challenge sequence, e.g. turn_left,look_up (tests and recordings
                      only: a live check draws a random one)
  --challenges LIST   the pool random sequences are drawn from (default: lvchallenge's six
                      head movements)
  --length N          challenges per session (default 5)
  --mirrored          the frames are a selfie view (front camera shown as a mirror)
  --key-file FILE     the token key: HS256 secret or RS256/ES256 PEM private key; without it
                      LIVENESS_JWT_SECRET (at least 32 bytes) signs. There is no default key
  --algorithm ALG     hs256 (default), rs256 or es256
  --min-age YEARS     age the best shot must show (default 18; 0 switches the check off)
  --display           show the video with lvchallenge's prompt (needs a display; the prompt
                      is drawn into the frames, so the token's best shot shows it too)
  --timeout SECONDS   give up when no verdict came after this long (default 120)
  --dry-run           print the gst-launch-1.0 command line and exit
  --help              this text

The token is printed on standard output, the verdict (isOk, errors) on standard error; the
exit status is 0 when a token was issued, whatever its verdict. The liveness plugin must be
on GStreamer's plugin path (installed by meson, or GST_PLUGIN_PATH set to the folder holding
libgstliveness.so). The token holds the best shot, a face image.
TEXT
}

# Takes one chain option from "$@" and sets LV_SHIFT to the words it used (0: not one).
lv_option() {
    LV_SHIFT=2
    local value="${2-}"
    case "$1" in
        --sequence) LV_SEQUENCE="$value" ;;
        --challenges) LV_CHALLENGES="$value" ;;
        --length) LV_LENGTH="$value" ;;
        --key-file) LV_KEY_FILE="$value" ;;
        --algorithm) LV_ALGORITHM="$value" ;;
        --min-age) LV_MIN_AGE="$value" ;;
        --timeout) LV_TIMEOUT="$value" ;;
        --mirrored) LV_MIRRORED=true; LV_SHIFT=1; return ;;
        --display) LV_DISPLAY=true; LV_SHIFT=1; return ;;
        --dry-run) LV_DRY_RUN=true; LV_SHIFT=1; return ;;
        *) LV_SHIFT=0; return ;;
    esac
    [ $# -ge 2 ] || lv_die "$1 needs a value (see --help)"
}

# Like lv_option, for the last branch of a script's own option loop: anything else is refused.
lv_chain_option() {
    lv_option "$@"
    [ "$LV_SHIFT" -gt 0 ] || lv_die "unknown argument '$1' (see --help)"
}

# Fails when $1 (named $2) is not made of the characters of a list, number or path.
lv_check_word() {
    [[ "$1" =~ ^[A-Za-z0-9_.,:/@%+=~-]*$ ]] || lv_die "$2 '$1' has characters a launch line cannot carry"
}

lv_check_tools() {
    local tool element
    for tool in gst-launch-1.0 gst-inspect-1.0; do
        command -v "$tool" >/dev/null || lv_die "$tool not found (apt-get install gstreamer1.0-tools)" 3
    done
    if ! gst-inspect-1.0 lvjwtsink >/dev/null 2>&1; then
        lv_die "the liveness plugin is not found: install it (meson install), or set GST_PLUGIN_PATH to the folder holding libgstliveness.so (target/debug or target/release of a build)" 3
    fi
    for element in "$@"; do
        gst-inspect-1.0 "$element" >/dev/null 2>&1 || lv_die "GStreamer element $element is missing (apt-get install gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)" 3
    done
}

# The chain after the source, into the array LV_CHAIN; the token goes to $1.
lv_chain() {
    local token_file="$1"
    local challenge=(lvchallenge "mirrored=$LV_MIRRORED" "draw=$LV_DISPLAY")
    [ -n "$LV_SEQUENCE" ] && challenge+=("sequence=$LV_SEQUENCE")
    [ -n "$LV_CHALLENGES" ] && challenge+=("challenges=$LV_CHALLENGES")
    [ -n "$LV_LENGTH" ] && challenge+=("length=$LV_LENGTH")
    local sink=(lvjwtsink "algorithm=$LV_ALGORITHM" "location=$token_file")
    [ -n "$LV_KEY_FILE" ] && sink+=("key-file=$LV_KEY_FILE")
    [ -n "$LV_MIN_AGE" ] && sink+=("min-age=$LV_MIN_AGE")
    # The analysis runs in its own thread behind a queue; the elements work in place.
    local queue=(queue max-size-buffers=4 max-size-bytes=0 max-size-time=0)
    [ "$LV_LIVE" = true ] && queue+=(leaky=downstream)
    LV_CHAIN=(! "${queue[@]}" ! videoconvert
        ! lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis ! "${challenge[@]}")
    if [ "$LV_DISPLAY" = true ]; then
        LV_CHAIN+=(! tee name=show show. ! queue leaky=downstream max-size-buffers=2 ! videoconvert
            ! autovideosink sync=false show. ! queue ! "${sink[@]}")
    else
        LV_CHAIN+=(! "${sink[@]}")
    fi
}

# Checks the options, then runs LV_SOURCE and the chain until the token is written, prints it,
# and stops the pipeline.
lv_run() {
    lv_check_word "$LV_SEQUENCE" --sequence
    lv_check_word "$LV_CHALLENGES" --challenges
    [[ -z "$LV_LENGTH" || "$LV_LENGTH" =~ ^[0-9]+$ ]] || lv_die "--length must be a number"
    [[ -z "$LV_MIN_AGE" || "$LV_MIN_AGE" =~ ^[0-9]+$ ]] || lv_die "--min-age must be a number of years"
    [[ "$LV_TIMEOUT" =~ ^[0-9]+$ ]] || lv_die "--timeout must be a number of seconds"
    case "$LV_ALGORITHM" in hs256 | rs256 | es256) ;; *) lv_die "--algorithm is hs256, rs256 or es256" ;; esac
    if [ "$LV_DRY_RUN" = true ]; then
        lv_chain "/tmp/token.jwt"
        echo "gst-launch-1.0 -e ${LV_SOURCE[*]} ${LV_CHAIN[*]}"
        return 0
    fi
    if [ -n "$LV_KEY_FILE" ]; then
        [ -r "$LV_KEY_FILE" ] || lv_die "cannot read the key file $LV_KEY_FILE" 3
    elif [ -z "${LIVENESS_JWT_SECRET:-}" ]; then
        lv_die "no signing key: set LIVENESS_JWT_SECRET (e.g. export LIVENESS_JWT_SECRET=\$(openssl rand -hex 32)) or pass --key-file; there is no default key"
    fi
    lv_check_tools "$@"

    # The token holds a face image: it lives in a private folder removed on exit.
    LV_WORK="$(mktemp -d)"
    chmod 700 "$LV_WORK"
    trap 'rm -rf "$LV_WORK"' EXIT
    local work="$LV_WORK"
    lv_chain "$work/token"
    gst-launch-1.0 -e "${LV_SOURCE[@]}" "${LV_CHAIN[@]}" >"$work/log" 2>&1 &
    local pid=$! waited=0
    while kill -0 "$pid" 2>/dev/null && [ ! -s "$work/token" ]; do
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -ge $((LV_TIMEOUT * 5)) ]; then
            kill -INT "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            lv_die "no verdict within $LV_TIMEOUT s" 4
        fi
    done
    if [ ! -s "$work/token" ]; then
        wait "$pid" 2>/dev/null || true
        grep -E -A1 "^(ERROR|WARNING|Additional debug info)" "$work/log" | head -n 12 >&2 || true
        lv_die "the pipeline ended without a verdict" 1
    fi
    # The verdict is in: end the stream (the sink writes the token at the verdict already).
    sleep 0.2
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local token
    token="$(cat "$work/token")"
    lv_report "$token" >&2
    echo "$token"
}

# The token's verdict in one line, decoded without checking the signature.
lv_report() {
    local payload="${1#*.}"
    payload="${payload%%.*}"
    payload="$(printf '%s' "$payload" | tr '_-' '/+')"
    while [ $((${#payload} % 4)) -ne 0 ]; do payload="$payload="; done
    local json
    json="$(printf '%s' "$payload" | base64 -d 2>/dev/null)" || return 0
    local ok="${json#*\"isOk\":}" errors="${json#*\"errors\":}"
    echo "verdict: isOk ${ok%%,*}, errors ${errors%%]*}]"
}
