#!/usr/bin/env bash
# The fuzz campaign: builds the libFuzzer targets (build-fuzz/, clang-14,
# ASan + UBSan, LibTorch-free) and runs each one until it has executed
# --runs inputs or for --seconds, whichever comes first, under nice, with
# libFuzzer's -timeout=1 (a hang) and -rss_limit_mb=2048 (unbounded memory).
# --seconds is wall time: on a busy machine a niced target gets less CPU, so
# the table also gives the CPU seconds each target used.
# New inputs go to build-fuzz/work/TARGET, findings to build-fuzz/findings/TARGET/;
# the committed corpus (tests/fuzz/corpus/TARGET) is only read. Prints a
# Markdown table (target, executions, seconds, findings) and exits non-zero
# on any finding.
#
#   scripts/fuzz.sh [--runs N] [--seconds S] [--jobs J] [TARGET...]
#   (defaults: 1000000 runs, 360 s, 2 targets at a time, every target)
# Replay one input:  build-fuzz/tests/fuzz/fuzz_TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=1000000 SECONDS_CAP=360 JOBS=2
targets=()
while (($#)); do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_CAP=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
# Every target has a corpus folder.
((${#targets[@]})) || targets=($(ls tests/fuzz/corpus))

scripts/install_clang.sh
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DZGSEG_TORCH=OFF -DZGSEG_FUZZ=ON >/dev/null
nice -n 10 cmake --build build-fuzz --target fuzz_all -j2

# libFuzzer's -timeout is wall time, and a niced process on a loaded machine
# can wait over a second for a core. So a timeout input is replayed alone and
# timed in CPU seconds: at >= 0.5 s it is a finding and the target stops;
# below, it is recorded as spurious (findings/TARGET/spurious/) and fuzzing
# resumes from the grown corpus until the run or time budget is spent.
run_one() {
  local t=$1 work=build-fuzz/work/$1 found=build-fuzz/findings/$1/ log=build-fuzz/fuzz-$1.log
  local execs=0 start=$SECONDS cpu_file=build-fuzz/fuzz-$1.cpu
  mkdir -p "$work" "$found/spurious"
  : > "$log"; : > "$cpu_file"
  while ((execs < RUNS && SECONDS - start < SECONDS_CAP)); do
    /usr/bin/time -a -f "%U %S" -o "$cpu_file" nice -n 10 "build-fuzz/tests/fuzz/fuzz_$t" \
        -runs=$((RUNS - execs)) -max_total_time=$((SECONDS_CAP - (SECONDS - start))) -timeout=1 \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$found" \
        "$work" "tests/fuzz/corpus/$t" > "$log.run" 2>&1 || true
    cat "$log.run" >> "$log"
    execs=$((execs + $(sed -n 's/^stat::number_of_executed_units: *//p' "$log.run" | tail -1)))
    echo "fuzz.sh: total $execs wall $((SECONDS - start))" >> "$log"
    local timeout_input
    timeout_input=$(find "$found" -maxdepth 1 -newer "$stamp" -name 'timeout-*' | head -1)
    [[ -z "$timeout_input" ]] && break  # done, or a crash/OOM (kept in $found)
    local cpu
    cpu=$( { /usr/bin/time -f "%U %S" "build-fuzz/tests/fuzz/fuzz_$t" "$timeout_input" >/dev/null 2>&1; } 2>&1 | \
          awk '{print ($1 + $2 >= 0.5) ? "slow" : "fast"}')
    [[ "$cpu" == slow ]] && break
    mv "$timeout_input" "$found/spurious/"
  done
}
export -f run_one
export RUNS SECONDS_CAP
# Findings left by earlier campaigns stay in findings/ but are not counted:
# the table counts only files newer than this campaign's start.
mkdir -p build-fuzz/findings
stamp=build-fuzz/findings/.campaign-start
touch "$stamp"
export stamp
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

echo "| target | executions | wall s | CPU s | reached 10^6 | crashes / timeouts / OOM | spurious timeouts |"
echo "|---|---|---|---|---|---|---|"
bad=0
for t in "${targets[@]}"; do
  log=build-fuzz/fuzz-$t.log
  read -r execs secs < <(sed -n 's/^fuzz.sh: total \([0-9]*\) wall \([0-9]*\)/\1 \2/p' "$log" | tail -1)
  new=(-newer "$stamp" -type f)
  spurious=$(find "build-fuzz/findings/$t/spurious" "${new[@]}" | wc -l)
  crash=$(find "build-fuzz/findings/$t" -maxdepth 1 "${new[@]}" \( -name 'crash-*' -o -name 'leak-*' -o -name 'undefined-*' -o -name 'deadly-*' \) | wc -l)
  timeout=$(find "build-fuzz/findings/$t" -maxdepth 1 "${new[@]}" \( -name 'timeout-*' -o -name 'slow-unit-*' \) | wc -l)
  oom=$(find "build-fuzz/findings/$t" -maxdepth 1 "${new[@]}" -name 'oom-*' | wc -l)
  cpu=$(awk '{s += $1 + $2} END {printf "%d", s}' "build-fuzz/fuzz-$t.cpu" 2>/dev/null || echo "?")
  reached=no; [[ "${execs:-0}" -ge 1000000 ]] && reached=yes
  echo "| $t | ${execs:-0} | $secs | $cpu | $reached | $crash / $timeout / $oom | $spurious |"
  ((crash + timeout + oom)) && bad=1
done
exit $bad
