#!/usr/bin/env bash
# Unpacks the ONNX Runtime shared library from the PyPI `onnxruntime` wheel into .ort/.
# Nothing else of the wheel is used; the library's sha256 is checked.
set -euo pipefail

version=1.32.0
sha256=6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.ort/libonnxruntime.so.$version"

if [[ -f "$target" ]] && echo "$sha256  $target" | sha256sum --check --status; then
    exit 0
fi

download="$root/.cache/wheels"
mkdir -p "$download" "$root/.ort"
python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
    --dest "$download" "onnxruntime==$version"
wheel="$(ls "$download"/onnxruntime-"$version"-*.whl | head -n1)"
python3 - "$wheel" "$target" "$version" <<'PY'
import sys, zipfile
wheel, target, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    data = archive.read(f"onnxruntime/capi/libonnxruntime.so.{version}")
with open(target + ".part", "wb") as out:
    out.write(data)
PY
mv "$target.part" "$target"
echo "$sha256  $target" | sha256sum --check --quiet
echo "ONNX Runtime $version in $target"
