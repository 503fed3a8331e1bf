#!/usr/bin/env bash
# Fetches TypeScript (Apache-2.0, npm registry) into .cache/typescript: make test checks the web
# client's typings (web/liveness-check.d.ts) with `tsc --strict` against an integrator's code
# (web/types-check.tsx). sha256 checked. Idempotent.
exec "$(dirname "$0")/fetch-npm.sh" typescript 5.6.3 \
    ef67f8d8ad895858024b7339d3e34bf112cae3c5db1f538c3079038b17ae30fa typescript lib/tsc.js lib LICENSE.txt package.json
