#!/usr/bin/env bash
# Builds a self-contained zgseg bundle for GPU servers that should not build it
# themselves (no OpenCV/spdlog/CLI11 there, only python3 with a torch wheel):
#
#   scripts/build_portable.sh --torch-version 2.11.0 [--jobs N]
#
# → dist/zgseg-<version>-linux-x86_64-torch<X.Y.Z>/ and the same as .tar.gz:
#     bin/zgseg                  stripped; needs only glibc, libstdc++ and LibTorch
#     run.sh                     finds LibTorch (ZGSEG_TORCH_LIB or the target's python3 torch), runs bin/zgseg
#     check                      ldd -r with that LibTorch; refuses a torch other than the one linked
#     share/zgseg/models         the repo's models/ folder
#     share/zgseg/selftest       the test data `zgseg selftest` and scripts/gpu_check.sh use
#     share/zgseg/TORCH_VERSION  the torch build the binary is linked against
#     scripts/gpu_check.sh, scripts/gpu_check_report.py
#
# What it links: LibTorch from the PyPI torch==X.Y.Z wheel (downloaded once),
# OpenCV 4.6.0 core/imgproc/imgcodecs built static from the opencv-python
# 4.6.0.66 sdist (built once: 15-25 min at -j2), Debian's static
# libjpeg/libpng/zlib/pcre2/libcrypto, header-only spdlog and fmt.
# Both are cached outside the repo in ${XDG_CACHE_HOME:-~/.cache}/zgseg/portable,
# so a second run only rebuilds zgseg itself. Installs the Debian packages it
# needs (root or sudo). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

TORCH_VERSION=""
JOBS=2
OPENCV_PY_VERSION="4.6.0.66"   # opencv-python sdist carrying OpenCV 4.6.0 sources
while (($#)); do
  case "$1" in
    --torch-version) TORCH_VERSION="${2:-}"; shift 2 ;;
    --torch-version=*) TORCH_VERSION="${1#*=}"; shift ;;
    --jobs) JOBS="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "build_portable: unknown argument '$1' (usage: scripts/build_portable.sh --torch-version X.Y.Z [--jobs N])" >&2; exit 2 ;;
  esac
done
if [[ ! "$TORCH_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "build_portable: --torch-version X.Y.Z is required (the torch the target machine has, e.g. 2.11.0)" >&2
  exit 2
fi
[[ "$(uname -m)" == x86_64 ]] || { echo "build_portable: only x86_64 Linux is supported (this is $(uname -m))" >&2; exit 1; }

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/zgseg/portable"
mkdir -p "$CACHE"
log() { echo "build_portable: $*"; }
# One run at a time per cache (a second one waits for the first).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "another build_portable.sh is using $CACHE; waiting for it"
  flock 9
fi
START=$(date +%s)

# ---- Debian packages ---------------------------------------------------------
# Static archives: libjpeg.a, libpng16.a, libz.a, libpcre2-8.a, libcrypto.a; spdlog/fmt headers.
APT_PACKAGES=(build-essential cmake pkg-config python3-venv python3-pip ninja-build
              libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
              libpcre2-dev zlib1g-dev libpng-dev libjpeg-dev libssl-dev binutils)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "build_portable: apt-get install ${missing[*]} failed; install them by hand and rerun" >&2; exit 1; }
fi
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR="/usr/lib/$MULTIARCH"
for a in libjpeg.a libpng16.a libz.a libpcre2-8.a libcrypto.a; do
  [[ -f "$LIBDIR/$a" ]] || { echo "build_portable: $LIBDIR/$a missing (static archive from the -dev package); reinstall it" >&2; exit 1; }
done

# ---- static OpenCV (cached) --------------------------------------------------
OCV_SRC="$CACHE/opencv-python-$OPENCV_PY_VERSION"
OCV_PREFIX="$CACHE/opencv-$OPENCV_PY_VERSION-static"
OCV_BUILD="$CACHE/opencv-$OPENCV_PY_VERSION-build"
build_opencv() {
  if [[ ! -f "$OCV_SRC/opencv/CMakeLists.txt" ]]; then
    log "downloading the opencv-python==$OPENCV_PY_VERSION sdist (OpenCV sources)"
    local dl="$CACHE/download"
    mkdir -p "$dl"
    # pip download prepares the sdist's metadata, which imports scikit-build:
    # a small helper venv in the cache provides it (nothing is built with it).
    local venv="$CACHE/sdist-venv"
    if [[ ! -f "$dl/opencv-python-$OPENCV_PY_VERSION.tar.gz" ]]; then
      [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv" \
        || { echo "build_portable: python3 -m venv failed; install python3-venv" >&2; exit 1; }
      "$venv/bin/pip" install -q --disable-pip-version-check scikit-build numpy setuptools wheel \
        || { echo "build_portable: pip install scikit-build failed; check access to PyPI" >&2; exit 1; }
      "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary opencv-python \
        --no-build-isolation -d "$dl" "opencv-python==$OPENCV_PY_VERSION" \
        || { echo "build_portable: pip download opencv-python==$OPENCV_PY_VERSION failed; check access to PyPI" >&2; exit 1; }
    fi
    rm -rf "$OCV_SRC"
    tar -xzf "$dl/opencv-python-$OPENCV_PY_VERSION.tar.gz" -C "$CACHE"
  fi
  log "building static OpenCV (core, imgproc, imgcodecs) in $OCV_BUILD — once; 15-25 min at -j2"
  # Image formats: PNG/JPEG/zlib from Debian's static archives (the program links
  # the same ones for its own PNG/JPEG reader); WebP and TIFF from OpenCV's copies.
  # Everything that would drag shared libraries in (GDAL, OpenEXR, IPP, OpenCL,
  # GUI, video, TBB, LAPACK, ...) is off. Dispatch: SSE4.2 baseline + AVX2.
  cmake -S "$OCV_SRC/opencv" -B "$OCV_BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$OCV_PREFIX" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF \
    -DBUILD_LIST=core,imgproc,imgcodecs \
    -DCPU_BASELINE=SSE4_2 -DCPU_DISPATCH=AVX2 \
    -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF \
    -DBUILD_opencv_apps=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF \
    -DWITH_GDAL=OFF -DWITH_OPENEXR=OFF -DWITH_IPP=OFF -DWITH_OPENCL=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF \
    -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_OPENGL=OFF -DWITH_WIN32UI=OFF \
    -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_1394=OFF \
    -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_EIGEN=OFF -DWITH_LAPACK=OFF -DWITH_ITT=OFF \
    -DWITH_PROTOBUF=OFF -DWITH_ADE=OFF -DWITH_QUIRC=OFF -DWITH_CUDA=OFF -DWITH_VTK=OFF \
    -DWITH_JASPER=OFF -DWITH_OPENJPEG=OFF -DWITH_IMGCODEC_HDR=ON \
    -DWITH_WEBP=ON -DBUILD_WEBP=ON -DWITH_TIFF=ON -DBUILD_TIFF=ON \
    -DWITH_PNG=ON -DBUILD_PNG=OFF -DWITH_JPEG=ON -DBUILD_JPEG=OFF -DBUILD_ZLIB=OFF \
    -DPNG_LIBRARY="$LIBDIR/libpng16.a" -DPNG_PNG_INCLUDE_DIR=/usr/include/libpng16 \
    -DJPEG_LIBRARY="$LIBDIR/libjpeg.a" -DJPEG_INCLUDE_DIR=/usr/include \
    -DZLIB_LIBRARY="$LIBDIR/libz.a" -DZLIB_INCLUDE_DIR=/usr/include \
    -DOPENCV_GENERATE_PKGCONFIG=OFF >"$CACHE/opencv-configure.log" 2>&1 \
    || { echo "build_portable: configuring OpenCV failed; see $CACHE/opencv-configure.log" >&2; exit 1; }
  nice -n 15 cmake --build "$OCV_BUILD" -j"$JOBS" >"$CACHE/opencv-build.log" 2>&1 \
    || { echo "build_portable: building OpenCV failed; see $CACHE/opencv-build.log" >&2; exit 1; }
  cmake --install "$OCV_BUILD" >/dev/null
  touch "$OCV_PREFIX/.complete"
}
if [[ ! -f "$OCV_PREFIX/.complete" ]]; then
  build_opencv
else
  log "static OpenCV: cached in $OCV_PREFIX"
fi
OpenCV_DIR=$(dirname "$(find "$OCV_PREFIX" -name OpenCVConfig.cmake -print -quit)")
[[ -n "$OpenCV_DIR" && "$OpenCV_DIR" != . ]] || { echo "build_portable: no OpenCVConfig.cmake under $OCV_PREFIX; delete it and rerun" >&2; exit 1; }
[[ "${ZGSEG_PORTABLE_OPENCV_ONLY:-0}" == 1 ]] && { log "OpenCV only: done"; exit 0; }

# ---- LibTorch from the PyPI torch wheel (cached) ----------------------------
# Only the wheel itself (--no-deps): torch/include and torch/lib are what we
# compile and link against; its nvidia-* dependencies are not needed to link
# (see --allow-shlib-undefined in CMakeLists.txt) and come with the target's torch.
TORCH_DIR="$CACHE/torch-$TORCH_VERSION"
if [[ ! -f "$TORCH_DIR/.complete" ]]; then
  dl="$CACHE/download"
  mkdir -p "$dl"
  whl=$(ls "$dl"/torch-"$TORCH_VERSION"-cp3*-manylinux*_x86_64.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$whl" ]]; then
    log "downloading the torch==$TORCH_VERSION wheel (LibTorch to link against)"
    # Any CPython wheel of a release carries the same LibTorch; ask for cp312
    # so the host's own python version does not matter.
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
      --python-version 3.12 --implementation cp --abi cp312 \
      --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
      -d "$dl" "torch==$TORCH_VERSION" \
      || { echo "build_portable: pip download torch==$TORCH_VERSION failed; check the version exists on PyPI and PyPI is reachable" >&2; exit 1; }
    whl=$(ls "$dl"/torch-"$TORCH_VERSION"-cp3*-manylinux*_x86_64.whl | head -n1)
  fi
  log "unpacking LibTorch from $(basename "$whl")"
  rm -rf "$TORCH_DIR.tmp"
  python3 - "$whl" "$TORCH_DIR.tmp" <<'EOF'
import sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist()
             if n.startswith(("torch/include/", "torch/lib/")) or n == "torch/version.py"]
    z.extractall(dest, names)
EOF
  rm -rf "$TORCH_DIR"
  mv "$TORCH_DIR.tmp" "$TORCH_DIR"
  touch "$TORCH_DIR/.complete"
else
  log "LibTorch: cached in $TORCH_DIR"
fi
TORCH_BUILD=$(sed -n "s/^__version__ = '\(.*\)'$/\1/p" "$TORCH_DIR/torch/version.py")
[[ -n "$TORCH_BUILD" ]] || { echo "build_portable: no __version__ in $TORCH_DIR/torch/version.py; delete $TORCH_DIR and rerun" >&2; exit 1; }
[[ "${TORCH_BUILD%%+*}" == "$TORCH_VERSION" ]] \
  || { echo "build_portable: $TORCH_DIR holds torch $TORCH_BUILD, not $TORCH_VERSION; delete it and rerun" >&2; exit 1; }

# ---- zgseg ---------------------------------------------------------------------
BUILD="$ROOT/build-portable-torch$TORCH_VERSION"
GEN=(); command -v ninja >/dev/null && [[ ! -f "$BUILD/CMakeCache.txt" || -f "$BUILD/build.ninja" ]] && GEN=(-G Ninja)
mkdir -p "$BUILD"
log "configuring $BUILD (torch $TORCH_BUILD)"
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DZGSEG_PORTABLE=ON \
  -DZGSEG_TORCH_ROOT="$TORCH_DIR/torch" -DOpenCV_DIR="$OpenCV_DIR" >"$BUILD/portable-configure.log" 2>&1 \
  || { echo "build_portable: configuring zgseg failed; see $BUILD/portable-configure.log" >&2; exit 1; }
log "building zgseg (-j$JOBS, niced)"
nice -n 15 cmake --build "$BUILD" -j"$JOBS" --target zgseg_cli >"$BUILD/portable-build.log" 2>&1 \
  || { echo "build_portable: building zgseg failed; see $BUILD/portable-build.log" >&2; exit 1; }
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
[[ -n "$VERSION" ]] || VERSION=$(sed -n 's/^project(zgseg VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")

# What the binary needs besides LibTorch must be glibc/libstdc++ only.
needed=$(readelf -d "$BUILD/zgseg" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
bad=$(grep -vE '^(libtorch|libtorch_cpu|libc10)\.so$|^(libstdc\+\+|libm|libgcc_s|libc|ld-linux-x86-64|libpthread|libdl|librt)\.so' <<<"$needed" || true)
[[ -z "$bad" ]] || { echo "build_portable: bin/zgseg needs libraries a bare target lacks: $(echo $bad); see $BUILD/portable-build.log" >&2; exit 1; }

# ---- the bundle ------------------------------------------------------------------
NAME="zgseg-$VERSION-linux-x86_64-torch$TORCH_VERSION"
DIST="$ROOT/dist"
OUT="$DIST/$NAME"
STAGE="$DIST/.$NAME.tmp"
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,lib,scripts,share/zgseg/selftest/zerocap}
strip --strip-all -o "$STAGE/bin/zgseg" "$BUILD/zgseg"
cp -r "$ROOT/models" "$STAGE/share/zgseg/models"
cp -r "$ROOT/tests/data/nets" "$ROOT/tests/data/embedding" "$ROOT/tests/data/voc-sample" "$STAGE/share/zgseg/selftest/"
cp "$ROOT/tests/data/zerocap/forbidden_ids.txt" "$STAGE/share/zgseg/selftest/zerocap/"
cp "$ROOT/scripts/gpu_check.sh" "$ROOT/scripts/gpu_check_report.py" "$STAGE/scripts/"
cp "$ROOT/scripts/portable/run.sh" "$ROOT/scripts/portable/check" "$STAGE/"
cp "$ROOT/scripts/portable/find_torch.sh" "$STAGE/share/zgseg/"
cp "$ROOT/LICENSE" "$STAGE/"
echo "$TORCH_BUILD" > "$STAGE/share/zgseg/TORCH_VERSION"
cat > "$STAGE/lib/README" <<EOF
bin/zgseg has RUNPATH \$ORIGIN/../lib: LibTorch's libraries (torch $TORCH_BUILD) may
be put here instead of using run.sh. run.sh normally takes them from the
machine's torch (ZGSEG_TORCH_LIB, or python3's torch package).
EOF
chmod +x "$STAGE/run.sh" "$STAGE/check" "$STAGE/scripts/gpu_check.sh"
rm -rf "$OUT" "$OUT.tar.gz"
mv "$STAGE" "$OUT"
tar -C "$DIST" -czf "$OUT.tar.gz.tmp" "$NAME"
mv "$OUT.tar.gz.tmp" "$OUT.tar.gz"

log "bundle: $OUT ($(du -sh "$OUT" | cut -f1)), $OUT.tar.gz ($(du -sh "$OUT.tar.gz" | cut -f1))"
log "linked against torch $TORCH_BUILD; on the target: $NAME/check, then $NAME/run.sh --help"
log "done in $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
