#!/usr/bin/env bash
# One prepared check of zgseg on a (GPU) machine, writing one report:
#   1. selftest: the tiny models through every network and stage 2 vs the
#      reference outputs (fp32; on CUDA also fp16 and bf16)
#   2. bench: every stage at full size with random weights, ZeroCap's token steps included;
#      stage 2 with 1 and with 16 nodes a batch
#   3. segment end to end with --captioner zerocap, fp32 and (CUDA) bf16, and
#      how many segments get the same label in both
#   4. a small batch with and without --overlap (same outputs, images/min)
#
#   scripts/gpu_check.sh [--device cuda|cpu] [--out DIR] [--zgseg PATH] [--model-size full|tiny]
#
# Defaults: --device cuda, --model-size full (tiny on cpu: the CPU rehearsal
# that runs as a test, in about a minute), --out gpu-check/. Runs from a
# checkout (build/zgseg, tests/data) or from a portable bundle (bin/zgseg via
# run.sh, share/zgseg/selftest). Exits non-zero if any step fails; the report
# (report.md, and every step's JSON) is written either way.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

device=cuda out=gpu-check zgseg="" size=""
while (($#)); do
  case $1 in
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --zgseg) zgseg=$2; shift 2 ;;
    --model-size) size=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -z "$size" ]] && { [[ $device == cpu ]] && size=tiny || size=full; }

# The program: a bundle's run.sh (it finds LibTorch), else the checkout's build.
if [[ -z "$zgseg" ]]; then
  if [[ -x "$root/run.sh" ]]; then zgseg="$root/run.sh"; else zgseg="$root/build/zgseg"; fi
fi
# Data: the bundle's share/zgseg/selftest, else the checkout's tests/data.
data="$root/share/zgseg/selftest"
[[ -d "$data" ]] || data="$root/tests/data"
photos=("$data"/voc-sample/JPEGImages/*.jpg)
[[ -e "${photos[0]}" ]] || { echo "gpu_check: no photos under $data/voc-sample/JPEGImages" >&2; exit 1; }

mkdir -p "$out" || exit 1
out="$(cd "$out" && pwd)"
log="$out/log.txt"
: > "$log"
status=0
step() {  # step NAME COMMAND...: runs it, logs it, records time and exit code
  local name=$1; shift
  local t0=$(date +%s.%N) rc=0
  echo "== $name: $*" | tee -a "$log"
  "$@" >> "$log" 2>&1 || rc=$?
  local t=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  echo "$name $rc $t" >> "$out/steps.txt"
  echo "   -> exit $rc, ${t} s" | tee -a "$log"
  ((rc == 0)) || status=1
}
: > "$out/steps.txt"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(hostname); cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1); cores: $(nproc)"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$zgseg" --version
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

# 1. selftest
step selftest_fp32 "$zgseg" selftest --device "$device" --data "$data" --json "$out/selftest-fp32.json"
if [[ $device == cuda ]]; then
  for p in fp16 bf16; do
    step "selftest_$p" "$zgseg" selftest --device cuda --precision "$p" --data "$data" --json "$out/selftest-$p.json"
  done
fi

# 2. bench (its random models are made once in the cache folder; segment reuses them below)
cache="$out/bench-models"
bench_args=(--device "$device" --model-size "$size" --cache-dir "$cache"
            --stages image,dino_keys,ward,prune,crf,embedding,caption,merging,outputs,clip_text,gpt2_iteration,zerocap_steps)
[[ $size == tiny ]] && bench_args+=(--dino-stride 8 --repeat 1 --nodes 2 --clip-texts 32)
step bench "$zgseg" bench "${bench_args[@]}" -o "$out/bench.json" --overwrite
models="$cache/$size"

# 2b. stage 2's nodes a batch: one at a time (the CPU default) against 16 (the CUDA default)
eb_args=(--device "$device" --model-size "$size" --cache-dir "$cache" --stages embedding)
[[ $size == tiny ]] && eb_args+=(--repeat 1 --nodes 2)
for eb in 1 16; do
  step "bench_embed_batch_$eb" "$zgseg" bench "${eb_args[@]}" --embed-batch "$eb" -o "$out/bench-embed-batch-$eb.json" --overwrite
done

# 3. segment end to end with ZeroCap, fp32 then bf16 (CUDA)
zc=(--captioner zerocap --models "$models" --device "$device" --cache-dir "$out/vocab-cache" --overwrite)
n_photos=${#photos[@]}
if [[ $size == tiny ]]; then  # the rehearsal: short captions on one photo, two in the batch
  zc+=(--dino-stride 8 --zerocap-max-tokens 2 --zerocap-iterations 2 --zerocap-candidates 64)
  n_photos=2
fi
precisions=(fp32)
[[ $device == cuda ]] && precisions+=(bf16)
for p in "${precisions[@]}"; do
  step "segment_zerocap_$p" "$zgseg" segment "${photos[@]:0:n_photos-1}" -o "$out/segment-$p" --precision "$p" "${zc[@]}"
done

# 4. a small batch, one image at a time and overlapped
mkdir -p "$out/batch-in" && cp "${photos[@]:0:n_photos}" "$out/batch-in/"
vb=(--models "$models" --device "$device" --cache-dir "$out/vocab-cache" --captioner vocab --overwrite)
[[ $size == tiny ]] && vb+=(--dino-stride 8)
for ov in off on; do
  step "batch_overlap_$ov" "$zgseg" batch "$out/batch-in" -o "$out/batch-$ov" --overlap "$ov" "${vb[@]}"
done

python3 "$here/gpu_check_report.py" "$out" > "$out/report.md" || status=1
cat "$out/report.md"
exit $status
