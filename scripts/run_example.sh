#!/usr/bin/env bash
# The main job: sets up (idempotent), then segments the bundled example image
# into out/. Models come from --models DIR / $ZGSEG_MODELS / ~/.cache/zgseg/models;
# when they are missing they are downloaded if the internet is reachable,
# otherwise zgseg stops with one message listing the missing files.
#
#   scripts/run_example.sh [--models DIR] [-o DIR] [more zgseg segment flags]
#
# Your -o/--out and --models replace the defaults (out/, and $ZGSEG_MODELS or
# ~/.cache/zgseg/models); every other flag goes to `zgseg segment` as given.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

models="${ZGSEG_MODELS:-$HOME/.cache/zgseg/models}"
own_models=0 own_out=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --models) own_models=1; ((i + 1 < ${#args[@]})) && models="${args[$((i + 1))]}" ;;
    --models=*) own_models=1; models="${args[$i]#--models=}" ;;
    -o | --out | --out=* | -o?*) own_out=1 ;;
  esac
done
defaults=()
((own_out)) || defaults+=(-o out/)
((own_models)) || defaults+=(--models "$models")

# Fetch what is missing (a no-op when everything is there). Offline, this is
# silent and zgseg below prints the one message saying what to do.
scripts/download_models.sh --offline-ok "$models" || true
exec build/zgseg segment examples/2011_000003.jpg "${defaults[@]}" "$@"
