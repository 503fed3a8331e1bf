#!/usr/bin/env bash
# The liveness chain on a V4L2 camera, MJPEG or raw.
#   v4l2src ! (image/jpeg ! jpegdec | video/x-raw) ! queue leaky=downstream ! videoconvert
#     ! lvfacedetect ! ... ! lvjwtsink
set -euo pipefail
LV_NAME=camera.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<'TEXT'
Usage: camera.sh [--device /dev/videoN] [--format auto|mjpeg|raw] [--size WxH] [--framerate N]
                 [chain options]

Runs the whole liveness chain on a camera and prints the verdict token. --display shows the
video with the challenge prompts, mirrored like a selfie view when --mirrored is given.

  --device PATH       the camera (default /dev/video0; v4l2-ctl --list-devices lists them)
  --format F          auto (default: the camera's own choice of format and size, decoded by
                      decodebin; --size and --framerate apply to the other two), mjpeg
                      (compressed: large sizes at full rate on USB 2) or raw
  --size WxH          frame size to ask for (default 640x480)
  --framerate N       frames a second to ask for (default 30)
TEXT
    lv_chain_help
}

device=/dev/video0 format=auto size=640x480 framerate=30
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --device) [ $# -ge 2 ] || lv_die "--device needs a path"; device="$2"; shift 2 ;;
        --format) [ $# -ge 2 ] || lv_die "--format needs auto, mjpeg or raw"; format="$2"; shift 2 ;;
        --size) [ $# -ge 2 ] || lv_die "--size needs WxH"; size="$2"; shift 2 ;;
        --framerate) [ $# -ge 2 ] || lv_die "--framerate needs a number"; framerate="$2"; shift 2 ;;
        *) lv_chain_option "$@"; shift "$LV_SHIFT" ;;
    esac
done
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || lv_die "--size must be WIDTHxHEIGHT, e.g. 1280x720"
width="${BASH_REMATCH[1]}" height="${BASH_REMATCH[2]}"
[[ "$framerate" =~ ^[0-9]+$ ]] || lv_die "--framerate must be a number"
lv_check_word "$device" --device
if [ "$LV_DRY_RUN" != true ]; then
    [ -e "$device" ] || lv_die "no camera at $device (v4l2-ctl --list-devices lists the cameras; --device picks one)" 3
    [ -c "$device" ] || lv_die "$device is not a video device" 3
    [ -r "$device" ] || lv_die "no permission to open $device (add yourself to the video group)" 3
fi
caps="width=$width,height=$height,framerate=$framerate/1"
case "$format" in
    auto) LV_SOURCE=(v4l2src "device=$device" ! decodebin) ;;
    mjpeg) LV_SOURCE=(v4l2src "device=$device" ! "image/jpeg,$caps" ! jpegdec) ;;
    raw) LV_SOURCE=(v4l2src "device=$device" ! "video/x-raw,$caps") ;;
    *) lv_die "--format is auto, mjpeg or raw" ;;
esac
LV_LIVE=true
lv_run v4l2src decodebin jpegdec
