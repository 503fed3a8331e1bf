#!/usr/bin/env bash
# Unpacks the face photos of `make eval` that are not committed, from PyPI sdists, into
# .cache/eval-faces/ (sha256 checked), used in place and never redistributed:
#   face_recognition 1.3.0 (MIT package; the photos are official White House photographs,
#     works of the US federal government): obama.jpg, biden.jpg (scripts/fetch-fixtures.sh)
#   insightface 2.1 (MIT package; the photos' licence is not stated): data/images/t1.jpg, a
#     group photo of six people, and Tom_Hanks_54745.png, an aligned 112x112 face.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/fetch-fixtures.sh"
target="$root/.cache/eval-faces"
sums="47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489  t1.jpg
8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083  Tom_Hanks_54745.png"

if [[ -d "$target" ]] && (cd "$target" && echo "$sums" | sha256sum --check --status); then
    exit 0
fi
download="$root/.cache/sdists"
mkdir -p "$download" "$target"
python3 -m pip download --quiet --no-deps --no-binary=:all: --dest "$download" "insightface==2.1"
for name in t1.jpg Tom_Hanks_54745.png; do
    tar xzf "$download/insightface-2.1.tar.gz" -O "insightface-2.1/insightface/data/images/$name" > "$target/$name"
done
(cd "$target" && echo "$sums" | sha256sum --check --quiet)
echo "evaluation faces in $target"
