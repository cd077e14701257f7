#!/usr/bin/env bash
# Builds zgseg (incrementally) and runs the default benchmark: full-size
# random-weight models made once in ~/.cache/zgseg/bench-models (3.6 GB),
# every stage timed on the VOC sample photo. Writes bench.json and the table
# as bench.md (names from OUT). Extra arguments go to `zgseg bench`, e.g.
#   scripts/bench.sh --threads 2
#   scripts/bench.sh --quick --stages dino_keys,ward
#   OUT=gpu.json scripts/bench.sh --device cuda
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-bench.json}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD" -j"${JOBS:-2}" --target zgseg_cli
echo "uptime before the run: $(uptime)" >&2
"$BUILD/zgseg" bench -o "$OUT" --overwrite "$@" | tee "${OUT%.json}.md"
