#!/usr/bin/env bash
# Tests the zgseg wheel as a new user would install it:
#
#   scripts/test_wheel.sh [--torch-version 2.15.0] [--wheel FILE] [--python /usr/bin/python3] [--keep]
#
# As a non-root user (zgseg-wheeltest, created when missing; the current
# user when not root), in a clean environment (env -i HOME=… PATH=/usr/bin:/bin),
# in a fresh virtualenv: pip install torch==X.Y.Z, then the wheel — both with
# --no-index from a local wheelhouse — then
#   zgseg --version, zgseg selftest, zgseg segment and zgseg batch on the tiny
#   test networks, the reader on those outputs (masks against the label maps),
#   the reader's test suite (python/tests, against the installed package),
#   bin/zgseg run directly (its RUNPATH finds the torch beside it),
#   a torch of another minor version refused by the `zgseg` command.
# Prints "test_wheel: N passed, M failed"; exit 0 only when all pass.
#
# The wheelhouse, ${XDG_CACHE_HOME:-~/.cache}/zgseg/wheelhouse/cpXY/, holds torch==X.Y.Z for
# that python with its dependencies (the CUDA wheel from PyPI and its nvidia-*
# packages, about 3 GB: libtorch_cpu.so itself needs libcudart): filled once
# from PyPI with pip download, reusing build_portable.sh's torch wheel when its
# python tag matches. The wheel: dist/wheels-torchX.Y.Z/ (scripts/build_wheel.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

TORCH_VERSION=2.15.0
WHEEL=""
PY=/usr/bin/python3
KEEP=0
while (($#)); do
  case "$1" in
    --torch-version) TORCH_VERSION="${2:-}"; shift 2 ;;
    --wheel) WHEEL="${2:-}"; shift 2 ;;
    --python) PY="${2:-}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "test_wheel: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
log() { echo "test_wheel: $*"; }
START=$(date +%s)
if [[ -z "$WHEEL" ]]; then
  WHEEL=$(ls "$ROOT"/dist/wheels-torch"$TORCH_VERSION"/zgseg-*.whl 2>/dev/null | head -n1 || true)
  [[ -n "$WHEEL" ]] || { echo "test_wheel: no wheel in dist/wheels-torch$TORCH_VERSION/; run scripts/build_wheel.sh --torch-version $TORCH_VERSION" >&2; exit 1; }
fi
[[ -f "$WHEEL" ]] || { echo "test_wheel: $WHEEL does not exist" >&2; exit 1; }
WHEEL=$(readlink -f "$WHEEL")
[[ -x "$PY" ]] || { echo "test_wheel: $PY is not an executable python" >&2; exit 1; }
CP=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

# ---- the wheelhouse: torch and its dependencies for this python --------------------
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/zgseg"
WH="$CACHE/wheelhouse/$CP"
mkdir -p "$WH"
if [[ ! -f "$WH/.complete-torch$TORCH_VERSION" ]]; then
  for w in "$CACHE"/portable/download/torch-"$TORCH_VERSION"-"$CP"-*.whl; do
    [[ -f "$w" && ! -f "$WH/$(basename "$w")" ]] && { ln "$w" "$WH/" 2>/dev/null || cp "$w" "$WH/"; }
  done
  log "filling the wheelhouse $WH (torch==$TORCH_VERSION for $CP with its dependencies, numpy) from PyPI — once"
  "$PY" -m pip download -q --disable-pip-version-check --only-binary :all: -d "$WH" "torch==$TORCH_VERSION" numpy \
    || { echo "test_wheel: pip download torch==$TORCH_VERSION failed; check access to PyPI" >&2; exit 1; }
  touch "$WH/.complete-torch$TORCH_VERSION"
fi

# ---- a non-root user and a folder it owns -----------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
  USER_NAME=zgseg-wheeltest
  id "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
  as_user() { runuser -u "$USER_NAME" -- "$@"; }
else
  USER_NAME=$(id -un)
  as_user() { "$@"; }
fi
T=$(mktemp -d /tmp/zgseg-wheeltest.XXXXXX)
cleanup() { if ((KEEP)); then log "kept $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT
mkdir -p "$T/wheelhouse" "$T/data" "$T/home" "$T/tests"
cp "$WHEEL" "$T/"
for w in "$WH"/*.whl; do ln "$w" "$T/wheelhouse/" 2>/dev/null || cp "$w" "$T/wheelhouse/"; done
for d in nets models-tiny voc-sample label_png rle safetensors; do cp -r "$ROOT/tests/data/$d" "$T/data/"; done
cp "$ROOT"/python/tests/*.py "$T/tests/"
chown -R "$USER_NAME" "$T"
chmod 755 "$T"
# The user's shell: a clean environment, the system PATH, the test folder as HOME.
run() { as_user env -i HOME="$T/home" PATH="$T/venv/bin:/usr/bin:/bin" LANG=C.UTF-8 bash -c "cd '$T' && $1"; }

PASS=0; FAIL=0
check() {  # check NAME COMMAND: runs COMMAND as the user, times it
  local name=$1 t0=$(date +%s%N) rc=0
  run "$2" >"$T/$name.log" 2>&1 || rc=$?
  local tenths=$(( ($(date +%s%N) - t0) / 100000000 )) dt
  dt="$((tenths / 10)).$((tenths % 10))"
  if ((rc == 0)); then PASS=$((PASS + 1)); log "PASS $name (${dt} s)"
  else FAIL=$((FAIL + 1)); log "FAIL $name (${dt} s, exit $rc):"; tail -n 30 "$T/$name.log" | sed 's/^/    /'; fi
}

WHL_NAME=$(basename "$WHEEL")
MODELS="--models data/m --vocab data/models-tiny/vocab.txt --cache-dir cache --device cpu --threads 2"
log "as $USER_NAME in $T with $("$PY" --version) ($PY), wheel $WHL_NAME"
check venv "'$PY' -m venv venv && pip --version"
check install_torch "pip install -q --disable-pip-version-check --no-index --find-links wheelhouse 'torch==$TORCH_VERSION'"
check install_zgseg "pip install -q --disable-pip-version-check --no-index --find-links wheelhouse '$WHL_NAME' && pip show zgseg | grep -E '^(Version|Requires)' && pip check"
check version "zgseg --version"
check startup "python -c 'import time, subprocess; t = time.time(); subprocess.run([\"zgseg\", \"--version\"], check=True, capture_output=True); print(f\"zgseg --version: {time.time() - t:.2f} s\")'"
check runpath_direct "SP=\$(python -c 'import sysconfig; print(sysconfig.get_paths()[\"platlib\"])') && ldd \$SP/zgseg/bin/zgseg | grep -E 'libtorch|libc10|not found' && ! ldd \$SP/zgseg/bin/zgseg | grep -q 'not found' && \$SP/zgseg/bin/zgseg --version"
check selftest "zgseg selftest --device cpu --threads 2"
run "mkdir -p data/m/dino-vits8 data/m/clip-vit-large-patch14-336 in/sub && \
  for f in config.json model.safetensors; do ln -s ../../nets/dino-vits8-tiny/\$f data/m/dino-vits8/\$f; \
    ln -s ../../nets/clip-vit-l14-336-tiny/\$f data/m/clip-vit-large-patch14-336/\$f; done && \
  for f in vocab.json merges.txt; do ln -s ../../models-tiny/clip-tokenizer/\$f data/m/clip-vit-large-patch14-336/\$f; done && \
  cp data/voc-sample/JPEGImages/2011_000003.jpg in/ && cp data/voc-sample/JPEGImages/2011_000006.jpg in/sub/"
check segment "zgseg segment data/voc-sample/JPEGImages/2011_000025.jpg -o out-segment $MODELS && ls out-segment"
check batch "zgseg batch in -o out-batch $MODELS && cat out-batch/summary.json"
check reader "python - <<'EOF'
import numpy as np, zgseg
r = zgseg.load('out-segment/2011_000025.json')
print(r.width, r.height, [(s.id, s.label, s.area) for s in r.segments])
for s in r.segments:
    assert (s.mask == (r.label_map == s.id)).all() and s.area == s.mask.sum() and s.image_embedding.shape == (s.image_embedding.size,)
b = zgseg.load_batch('out-batch')
names = [x.name for x in b]
assert names == ['2011_000003', 'sub/2011_000006'], names
assert b.summaries[0].done == 2 and b.summaries[0].failures == [], b.summaries
for x in b:
    for s in x.segments:
        assert (s.mask == (x.label_map == s.id)).all(), (x.name, s.id)
print('reader: OK,', len(names), 'batch images')
EOF"
check reader_tests "ZGSEG_BINARY=zgseg ZGSEG_TEST_DATA=\$PWD/data python -m unittest discover -s tests -v"
# Another minor version of torch: the command refuses it with one line (and runs nothing).
check other_torch_refused "VP=\$(python -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec(\"torch\").origin), \"version.py\"))') && \
  cp \$VP \$VP.orig && sed -i \"s/^__version__ = .*/__version__ = '2.99.1+cpu'/\" \$VP && \
  { zgseg --version > refused.out 2>&1; rc=\$?; mv \$VP.orig \$VP; cat refused.out; \
    test \$rc -eq 1 && test \$(wc -l < refused.out) -eq 1 && grep -q 'built for torch ${TORCH_VERSION%.*}.*torch 2.99.1+cpu.*pip install .torch==${TORCH_VERSION%.*}\\.\\*' refused.out; }"
check patch_release_accepted "VP=\$(python -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec(\"torch\").origin), \"version.py\"))') && \
  cp \$VP \$VP.orig && sed -i \"s/^__version__ = .*/__version__ = '${TORCH_VERSION%.*}.9+cpu'/\" \$VP && \
  { zgseg --version; rc=\$?; mv \$VP.orig \$VP; test \$rc -eq 0; }"
check no_torch_refused "python -m venv --without-pip bare && SP=\$(python -c 'import zgseg, os; print(os.path.dirname(zgseg.__file__))') && \
  mkdir -p only && cp -r \$SP only/ && { PYTHONPATH=only bare/bin/python -m zgseg --version > none.out 2>&1; rc=\$?; cat none.out; \
  test \$rc -eq 1 && test \$(wc -l < none.out) -eq 1 && grep -q 'torch is not installed' none.out; }"

log "$(( $(date +%s) - START )) s in all"
echo "test_wheel: $PASS passed, $FAIL failed"
((FAIL == 0))
