#!/usr/bin/env bash
# Installs the independent checkers of face-match proofs into .cache/zk: snarkjs (GPL-3.0,
# `groth16 verify`), solc (MIT, the Solidity compiler) and @ethereumjs/evm (MPL-2.0, an EVM with
# the BN254 precompiles), from the npm registry at the versions and integrity hashes of
# tests/zk/package-lock.json (`npm ci`). Idempotent: reinstalls only when the lock changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.cache/zk"
lock="$root/tests/zk/package-lock.json"

if [[ -f "$target/node_modules/.package-lock.json" ]] && cmp -s "$lock" "$target/package-lock.json"; then
    exit 0
fi
mkdir -p "$target"
cp "$root/tests/zk/package.json" "$lock" "$target/"
(cd "$target" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "zk checkers (snarkjs, solc, @ethereumjs/evm) in $target"
