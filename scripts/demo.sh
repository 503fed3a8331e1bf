#!/usr/bin/env bash
# `make demo`: a real gst-launch-1.0 pipeline (file -> decode -> lvfacedetect) on a public
# domain photo, printing each face it reports on the bus.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export GST_PLUGIN_PATH="$root/target/debug${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

photo="$root/tests/fixtures/astronaut.png"
launch=(filesrc location="$photo" ! decodebin ! videoconvert ! video/x-raw,format=I420
        ! imagefreeze num-buffers=5 ! lvfacedetect post-messages=true ! fakesink)

echo "gst-launch-1.0 -m ${launch[*]}"
echo
gst-launch-1.0 -m "${launch[@]}" | python3 -c '
import re, sys
for line in sys.stdin:
    if "(element): lvfacedetect," not in line:
        continue
    line = line.replace("\\", "")
    ts = re.search(r"timestamp=\(guint64\)(\d+)", line)
    print(f"frame at {int(ts.group(1)) / 1e9:.2f} s:" if ts else "frame:")
    for face in re.finditer(r"face, track-id=\(guint64\)(\d+), x=\(int\)(-?\d+), y=\(int\)(-?\d+), width=\(int\)(\d+), height=\(int\)(\d+), score=\(double\)([\d.]+)", line):
        track, x, y, w, h, score = face.groups()
        print(f"  face {track}: box {w}x{h} at ({x}, {y}), score {float(score):.2f}")
'
