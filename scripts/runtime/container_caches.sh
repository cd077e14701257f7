# Sourced (POSIX sh) by the Containerfile's build steps: which caches
# scripts/build_portable.sh (OpenCV, the torch and NVIDIA wheels) and ccache use.
#   podman build -v HOST_DIR:/root/.cache/zgseg/portable -v HOST_DIR2:/root/.cache/ccache
# → the host's caches; otherwise the builder's cache mounts under /var/cache/zgseg
# (Docker BuildKit and Podman keep those between builds).
if mountpoint -q /root/.cache/zgseg/portable; then
  export XDG_CACHE_HOME=/root/.cache
else
  export XDG_CACHE_HOME=/var/cache
fi
if mountpoint -q /root/.cache/ccache; then
  export CCACHE_DIR=/root/.cache/ccache
else
  export CCACHE_DIR=/var/cache/zgseg/ccache
fi
echo "container build: portable cache $XDG_CACHE_HOME/zgseg/portable, ccache $CCACHE_DIR"
