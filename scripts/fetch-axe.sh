#!/usr/bin/env bash
# Fetches axe-core (MPL-2.0, npm registry) into .cache/axe-core: the accessibility checker
# tests/browser.rs runs in Chromium on the page. sha256 checked. Idempotent.
set -euo pipefail

version=4.10.2
sum=9ea2d2d6917da998122bdacfd3b473e31ead53f4b87146c716a12edf89158100
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.cache/axe-core"

if [[ -f "$target/axe.min.js" && "$(cat "$target/VERSION" 2>/dev/null)" == "$version" ]]; then
    exit 0
fi
mkdir -p "$target"
archive="$target/axe-core-$version.tgz"
curl -sSfL -o "$archive" "https://registry.npmjs.org/axe-core/-/axe-core-$version.tgz"
echo "$sum  $archive" | sha256sum --check --quiet
tar xzf "$archive" -C "$target" --strip-components=1 package/axe.min.js package/LICENSE
echo "$version" > "$target/VERSION"
rm "$archive"
echo "axe-core $version in $target"
