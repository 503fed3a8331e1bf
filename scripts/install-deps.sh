#!/usr/bin/env bash
# Installs the Debian 12 packages gst-liveness builds and tests with. Idempotent: packages
# already installed are skipped, and apt is not touched at all when nothing is missing.
set -euo pipefail

packages=(
    # build
    pkg-config meson
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
    # lpserver decodes LPProto frames with libjpeg-turbo
    libturbojpeg0-dev
    # run and test
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    redis-server python3 python3-pip
    # key pairs for the RS256 and ES256 token tests; make demo-server's relying party
    openssl curl
    # the browser page's test (headless, fake camera); the web client's type and import checks
    chromium nodejs
    # the scale-out test: deploy/nginx-lpserver.conf in front of three lpservers
    nginx
    # the opencv facedetect element the benchmark compares against, and its cascade files
    gstreamer1.0-opencv opencv-data
    # pipelines/: the RTSP test server, and the Python appsrc example (PyGObject)
    libgstrtspserver-1.0-dev python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
    # make test-busy: the suite beside two CPU-bound processes
    stress-ng
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

as_root=()
if [[ "$(id -u)" != 0 ]]; then
    as_root=(sudo)
fi
echo "installing: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}"
