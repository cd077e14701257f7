#!/usr/bin/env bash
# Installs clang-14 with its sanitizer and libFuzzer runtimes (Debian 12) when
# missing; used by scripts/test_sanitize.sh and scripts/fuzz.sh.
set -euo pipefail
PACKAGES=(clang-14 libclang-rt-14-dev cmake ccache pkg-config libopencv-dev nlohmann-json3-dev libspdlog-dev
          libgtest-dev libpcre2-dev zlib1g-dev libpng-dev libjpeg-dev)
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_clang: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
