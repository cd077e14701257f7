#!/usr/bin/env bash
# The test command: sets up (idempotent), builds, and runs the suite.
# Exits non-zero on any failure; the last line gives the counts and wall time.
#
#   scripts/test.sh             the default suite (labels unit, golden, e2e, slurm; not slow)
#   scripts/test.sh --all       also the `slow` tests (full-size ZeroCap golden settings)
#   scripts/test.sh --matrix    the default suite once per CPU instruction set
#                               (AVX2, and AVX-512 where the CPU has it) x 1 and 2
#                               threads, forcing MKL, oneDNN and ATen to that ISA
#                               (then scripts/tolerance_report.py build/ctest-*.xml
#                               tabulates each golden check's largest difference)
#   scripts/test.sh --slurm     only the one-node Slurm cluster test (root; ~2 min;
#                               also in the default suite): scripts/test_slurm.sh [a] [b] [c]
#   scripts/test.sh --sanitize  the LibTorch-free library, its tests, the fuzz smoke
#                               tests and the e2e tests (an instrumented CLI) under
#                               ASan + UBSan (build-asan/; scripts/test_sanitize.sh)
#   scripts/test.sh --wheel     the pip wheel: scripts/build_wheel.sh, then scripts/test_wheel.sh
#                               (a new user's fresh virtualenv: pip install torch and the wheel,
#                               selftest, segment, batch, the reader and its tests; ~5 min
#                               once the portable bundle's caches are warm)
#
# Extra arguments after the mode go to ctest (e.g. -R ZeroCap).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=default
case "${1:-}" in
  --all | --matrix | --sanitize | --slurm | --wheel) MODE="${1#--}"; shift ;;
  --help | -h) sed -n '2,22p' "$0"; exit 0 ;;
esac

if [[ "$MODE" == sanitize ]]; then
  exec scripts/test_sanitize.sh "$@"
fi
if [[ "$MODE" == wheel ]]; then
  torch=$(sed -n 's/^TORCH_VERSION="\(.*\)"$/\1/p' scripts/setup.sh)
  scripts/build_wheel.sh --torch-version "$torch"
  exec scripts/test_wheel.sh --torch-version "$torch" "$@"
fi
if [[ "$MODE" == slurm ]]; then
  scripts/setup.sh --tests
  exec env ZGSEG="$PWD/build/zgseg" scripts/test_slurm.sh "$@"
fi

scripts/setup.sh --tests

start=$(date +%s)
jobs=$(nproc)
label_args=(-LE slow)
[[ "$MODE" == all ]] && label_args=()

# run_ctest NAME [ENV=VALUE...]: one ctest run; appends its counts to $results.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
rm -f build/ctest-*.xml  # one JUnit report per run below stays for scripts/tolerance_report.py
run_ctest() {
  local name=$1; shift
  local junit="$PWD/build/ctest-$name.xml" rc=0
  echo "== tests: $name${*:+ ($*)}"
  (cd build && env "$@" ctest --output-on-failure -j"$jobs" --timeout 300 "${label_args[@]}" \
      --output-junit "$junit" "${CTEST_ARGS[@]}") || rc=$?
  python3 scripts/junit_counts.py "$junit" "$name" "$rc" >> "$results"
}
CTEST_ARGS=("$@")

if [[ "$MODE" == matrix ]]; then
  label_args=(-LE "slow|slurm")  # the cluster test has no numerics to vary
  isas=(AVX2)
  grep -q -w avx512f /proc/cpuinfo && isas+=(AVX512)
  for isa in "${isas[@]}"; do
    case $isa in
      AVX2)   mkl=AVX2;   onednn=AVX2;        aten=avx2 ;;
      AVX512) mkl=AVX512; onednn=AVX512_CORE; aten=avx512 ;;
    esac
    for threads in 1 2; do
      # With one thread per test, two tests run side by side on two cores.
      jobs=$(( $(nproc) / threads )); (( jobs < 1 )) && jobs=1
      run_ctest "$isa-${threads}thr" MKL_ENABLE_INSTRUCTIONS=$mkl ONEDNN_MAX_CPU_ISA=$onednn \
        ATEN_CPU_CAPABILITY=$aten OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
    done
  done
else
  # ctest runs $(nproc) tests side by side; each with as many LibTorch threads
  # again would oversubscribe the cores (small ops then wait on each other:
  # a 5 s ZeroCap test took 190 s that way). One thread per test, unless set.
  run_ctest "$MODE" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
fi

python3 - "$results" "$(( $(date +%s) - start ))" <<'EOF'
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
wall = int(sys.argv[2])
failed = sum(int(r[3]) for r in rows)
bad = [r[0] for r in rows if int(r[3]) or r[5] != "0"]
if len(rows) > 1:
    for r in rows:
        print(f"  {r[0]}: {r[1]} run, {r[2]} passed, {r[3]} failed, {r[4]} skipped")
p, s = sum(int(r[2]) for r in rows), sum(int(r[4]) for r in rows)
status = "FAILED" if bad else "OK"
print(f"tests {status}: {p} passed, {failed} failed, {s} skipped"
      f"{' over ' + str(len(rows)) + ' runs' if len(rows) > 1 else ''}; wall {wall // 60}m{wall % 60:02d}s")
sys.exit(1 if bad else 0)
EOF
