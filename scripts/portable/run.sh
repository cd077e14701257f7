#!/usr/bin/env bash
# Runs this bundle's bin/zgseg with the machine's LibTorch:
#   ./run.sh <zgseg arguments>      e.g. ./run.sh selftest --device cuda
# LibTorch: $ZGSEG_TORCH_LIB (…/torch/lib), else the torch package of
# ${ZGSEG_PYTHON:-python3}. It must be the torch build in share/zgseg/TORCH_VERSION
# (./check verifies it); a different one is refused.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
source "$here/share/zgseg/find_torch.sh"
zgseg_find_torch "$here" || exit 1
if [[ -n "$ZGSEG_FOUND_TORCH" && "$ZGSEG_FOUND_TORCH" != "$ZGSEG_LINKED_TORCH" ]]; then
  echo "run.sh: this zgseg is linked against torch $ZGSEG_LINKED_TORCH, but $ZGSEG_LIB is torch $ZGSEG_FOUND_TORCH; use a bundle built with scripts/build_portable.sh --torch-version ${ZGSEG_FOUND_TORCH%%+*}" >&2
  exit 1
fi
export LD_LIBRARY_PATH="$ZGSEG_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/bin/zgseg" "$@"
