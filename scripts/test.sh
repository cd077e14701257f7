#!/usr/bin/env bash
# The test command: sets up (idempotent), builds, and runs the whole suite.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 1800
