#!/usr/bin/env bash
# Fetches axe-core (MPL-2.0, npm registry) into .cache/axe-core: the accessibility checker
# tests/browser.rs runs in Chromium on the page. sha256 checked. Idempotent.
exec "$(dirname "$0")/fetch-npm.sh" axe-core 4.10.2 \
    9ea2d2d6917da998122bdacfd3b473e31ead53f4b87146c716a12edf89158100 axe-core axe.min.js axe.min.js LICENSE
