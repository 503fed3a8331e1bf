#!/usr/bin/env bash
# Unpacks the face-matching test photos from the PyPI sdist of `face_recognition` 1.3.0
# (MIT; official White House photographs, see tests/fixtures/README.md) into
# .cache/fixtures/. They are used in place, unchanged, and not committed. sha256 checked.
set -euo pipefail

version=1.3.0
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.cache/fixtures/face_recognition"
sums="0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6  obama.jpg
a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6  obama2.jpg
76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3  obama3.jpg
3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c  biden.jpg"

if [[ -d "$target" ]] && (cd "$target" && echo "$sums" | sha256sum --check --status); then
    exit 0
fi
download="$root/.cache/sdists"
mkdir -p "$download" "$target"
python3 -m pip download --quiet --no-deps --no-binary=:all: --dest "$download" "face_recognition==$version"
archive="$download/face_recognition-$version.tar.gz"
for name in obama.jpg obama2.jpg obama3.jpg biden.jpg; do
    tar xzf "$archive" -O "face_recognition-$version/tests/test_images/$name" > "$target/$name"
done
(cd "$target" && echo "$sums" | sha256sum --check --quiet)
echo "face-matching photos in $target"
