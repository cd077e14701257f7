#!/usr/bin/env bash
# The main job: sets up (idempotent), then segments the bundled example image
# into out/. Models come from --models DIR / $ZGSEG_MODELS / ~/.cache/zgseg/models;
# when they are missing they are downloaded if the internet is reachable,
# otherwise zgseg stops with one message listing the missing files.
#
#   scripts/run_example.sh [--models DIR] [more zgseg flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

models="${ZGSEG_MODELS:-$HOME/.cache/zgseg/models}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == "--models" && $((i + 1)) -lt ${#args[@]} ]] && models="${args[$((i + 1))]}"
done

# Fetch what is missing (a no-op when everything is there). Offline, this is
# silent and zgseg below prints the one message saying what to do.
scripts/download_models.sh --offline-ok "$models" || true
exec build/zgseg segment examples/2011_000003.jpg -o out/ --models "$models" "$@"
