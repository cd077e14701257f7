# Sourced by a portable bundle's run.sh and check (scripts/build_portable.sh puts
# it in share/zgseg/). Sets:
#   ZGSEG_LIB            the LibTorch library folder (…/torch/lib)
#   ZGSEG_LINKED_TORCH   the torch build bin/zgseg is linked against
#   ZGSEG_FOUND_TORCH    that folder's torch build ("" when it cannot be told)
# LibTorch: $ZGSEG_TORCH_LIB, else the torch package of ${ZGSEG_PYTHON:-python3}
# (located without importing it, so this costs milliseconds).
zgseg_find_torch() {
  local bundle=$1 py="${ZGSEG_PYTHON:-python3}" pkg=""
  ZGSEG_LINKED_TORCH=$(cat "$bundle/share/zgseg/TORCH_VERSION")
  ZGSEG_LIB="${ZGSEG_TORCH_LIB:-}"
  if [[ -z "$ZGSEG_LIB" ]]; then
    pkg=$("$py" -c 'import importlib.util, os; s = importlib.util.find_spec("torch"); print(os.path.dirname(s.origin) if s else "")' 2>/dev/null || true)
    if [[ -z "$pkg" ]]; then
      echo "zgseg: no LibTorch: set ZGSEG_TORCH_LIB=<torch>/lib, or install torch==$ZGSEG_LINKED_TORCH for $py (ZGSEG_PYTHON picks another python)" >&2
      return 1
    fi
    ZGSEG_LIB="$pkg/lib"
  fi
  if [[ ! -f "$ZGSEG_LIB/libtorch_cpu.so" ]]; then
    echo "zgseg: $ZGSEG_LIB has no libtorch_cpu.so; point ZGSEG_TORCH_LIB at the lib/ folder of torch $ZGSEG_LINKED_TORCH" >&2
    return 1
  fi
  # The version: the wheel's torch/version.py, or a LibTorch archive's build-version.
  ZGSEG_FOUND_TORCH=""
  if [[ -f "$ZGSEG_LIB/../version.py" ]]; then
    ZGSEG_FOUND_TORCH=$(sed -n "s/^__version__ = '\(.*\)'\$/\1/p" "$ZGSEG_LIB/../version.py")
  elif [[ -f "$ZGSEG_LIB/../build-version" ]]; then
    ZGSEG_FOUND_TORCH=$(head -n1 "$ZGSEG_LIB/../build-version")
  fi
  return 0
}
