#!/usr/bin/env bash
# Instructions a crop of the crops benchmark (elements/benches/crops.rs), counted by valgrind's
# callgrind: timings on a shared virtual machine swing by a fifth from run to run, instruction
# counts do not. Each crop is run 9 times alone; a run with no crop is subtracted.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v valgrind >/dev/null || { echo "crop-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cd "$root"
cargo bench -p gst-plugin-liveness --bench crops --no-run 2>/dev/null
bin="$(ls -t target/release/deps/crops-* | grep -v '\.d$' | head -1)"
count() {
    CROPS_RUNS=1 CROPS_FORMATS="$1" CROPS_ONLY="$2" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 >/dev/null |
        awk '/Collected/ { gsub(",", "", $4); print $4 }'
}
for format in I420 RGB; do
    base="$(count "$format" none)"
    line="$format:"
    for crop in "mesh 192 upright" "anti-spoof 128" "letterbox 128" "surface luma 256"; do
        line="$line  $crop $(( ($(count "$format" "$crop") - base) / 9 ))"
    done
    echo "$line instructions a crop"
done
