#!/usr/bin/env bash
# zgseg under a real one-node Slurm cluster started on this machine (config,
# state, logs and munge in a temporary folder; no systemd): job arrays through
# scripts/slurm_array.sh, preemption in the middle of an image and its
# requeue, and the array shapes --shard slurm accepts or refuses.
# Needs root, build/zgseg (or ZGSEG=/path/to/zgseg) and the Debian packages
# below (installed when missing). Details: tests/slurm/test_slurm.py.
#
#   scripts/test_slurm.sh          all three tests (a: array = one batch,
#                                  b: preempt + requeue, c: array shapes)
#   scripts/test_slurm.sh a c      some of them
#   KEEP=1 scripts/test_slurm.sh   keep the temporary folder (logs, outputs)
#
# Prints each step's time and ends with one PASS/FAIL line; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "test_slurm: skipped: needs root (munged runs as user munge, slurmd as root)" >&2
  exit 77  # ctest: skipped
fi

# Debian's packages; python3-opencv writes the test images (Debian's python3, not a venv's).
PACKAGES=(slurmctld slurmd slurm-client munge python3-opencv)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test_slurm: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # policy-rc.d or no systemd: the packages' own services stay stopped; we start ours.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 tests/slurm/test_slurm.py "$@"
