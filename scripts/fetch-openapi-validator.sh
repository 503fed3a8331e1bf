#!/usr/bin/env bash
# Installs openapi-spec-validator (Apache-2.0, PyPI) and its dependencies into
# .cache/openapi-validator, where scripts/check-openapi.py finds them: the independent checker
# of the contract lpserver serves at /openapi.json (tests/openapi.rs). Idempotent.
set -euo pipefail

version=0.7.2
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.cache/openapi-validator"

if [[ -d "$target/openapi_spec_validator-$version.dist-info" ]]; then
    exit 0
fi
rm -rf "$target"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$target" "openapi-spec-validator==$version"
echo "openapi-spec-validator $version in $target"
