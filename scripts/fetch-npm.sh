#!/usr/bin/env bash
# Fetches one npm registry package into .cache/<folder>: its tarball, sha256 checked, and the
# listed paths of it. Idempotent (a VERSION file marks what is there).
#   scripts/fetch-npm.sh <package> <version> <sha256> <folder> <marker> <path in package>...
set -euo pipefail

package=$1 version=$2 sum=$3 folder=$4 marker=$5
shift 5
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.cache/$folder"

if [[ -f "$target/$marker" && "$(cat "$target/VERSION" 2>/dev/null)" == "$version" ]]; then
    exit 0
fi
mkdir -p "$target"
archive="$target/$package-$version.tgz"
curl -sSfL -o "$archive" "https://registry.npmjs.org/$package/-/$package-$version.tgz"
echo "$sum  $archive" | sha256sum --check --quiet
tar xzf "$archive" -C "$target" --strip-components=1 "${@/#/package/}"
echo "$version" > "$target/VERSION"
rm "$archive"
echo "$package $version in $target"
