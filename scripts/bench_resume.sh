#!/usr/bin/env bash
# What `batch --resume` and `zgseg status` cost per finished image, measured
# on a batch of N finished images (README "Batches on a cluster"):
#
#   scripts/bench_resume.sh [N]        N = 10000 by default
#
# Makes real outputs for the three VOC photos with the tiny test models, then a
# batch folder of N images by hard links (each input with its four outputs;
# the same bytes a real batch holds, in the page cache), and times on one core
# (taskset -c 0, --threads 1):
#   batch --resume    every image's outputs checked, all skipped (nothing to do)
#   status            one stat and NAME.json's head per image
#   status --check    the full --resume check per image
# minus the same commands over an empty source (start-up: loading LibTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
ZGSEG=${ZGSEG:-$PWD/build/zgseg}
DATA=$PWD/tests/data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Tiny models laid out like the real model directory.
M=$WORK/models
mkdir -p "$M/dino-vits8" "$M/clip-vit-large-patch14-336"
for f in config.json model.safetensors; do
  ln -s "$DATA/nets/dino-vits8-tiny/$f" "$M/dino-vits8/$f"
  ln -s "$DATA/nets/clip-vit-l14-336-tiny/$f" "$M/clip-vit-large-patch14-336/$f"
done
for f in vocab.json merges.txt; do ln -s "$DATA/models-tiny/clip-tokenizer/$f" "$M/clip-vit-large-patch14-336/$f"; done
OPTS=(--models "$M" --vocab "$DATA/models-tiny/vocab.txt" --cache-dir "$WORK/cache" --device cpu --threads 1 -q)

mkdir -p "$WORK/seed" "$WORK/empty"
cp -p "$DATA"/voc-sample/JPEGImages/*.jpg "$WORK/seed/"
"$ZGSEG" batch "$WORK/seed" -o "$WORK/seed-out" "${OPTS[@]}"

# N images: in/NNNNNN.jpg and out/NNNNNN.{json,png,embeddings.safetensors,overlay.jpg},
# hard links of the three real ones in turn (a link shares the size and mtime
# NAME.json records, so the input reads as unchanged).
mkdir -p "$WORK/in" "$WORK/out"
python3 - "$WORK" "$N" <<'EOF'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
seeds = sorted(f[:-4] for f in os.listdir(f"{work}/seed") if f.endswith(".jpg"))
for i in range(n):
    s, name = seeds[i % len(seeds)], f"{i:06d}"
    os.link(f"{work}/seed/{s}.jpg", f"{work}/in/{name}.jpg")
    for ext in (".json", ".png", ".embeddings.safetensors", ".overlay.jpg"):
        os.link(f"{work}/seed-out/{s}{ext}", f"{work}/out/{name}{ext}")
EOF
cp "$WORK/seed-out/summary.json" "$WORK/out/summary.json"  # records the run's settings (status compares them)
echo "bench_resume: $N images, $(ls "$WORK/out" | wc -l) files in out/ (hard links of 3 real outputs: $(du -shc "$WORK"/seed-out/*.json | tail -1 | cut -f1) of JSON for 3 images)"

seconds() {  # seconds of one command, on core 0
  local t0 t1
  t0=$(date +%s.%N)
  taskset -c 0 "$@" >/dev/null
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}
report() {  # NAME SECONDS_N SECONDS_0
  python3 -c "n=$N; a=$2; b=$3; print(f'bench_resume: {\"$1\":<16} {a:8.2f} s for {n} images, start-up {b:.2f} s: {(a-b)/n*1e3:.3f} ms per image')"
}
# The resume run rewrites summary.json; the status runs read it.
r0=$(seconds "$ZGSEG" batch "$WORK/empty" -o "$WORK/out-empty" --resume "${OPTS[@]}")
rN=$(seconds "$ZGSEG" batch "$WORK/in" -o "$WORK/out" --resume "${OPTS[@]}")
python3 -c "import json,sys; s=json.load(open('$WORK/out/summary.json')); assert s['skipped_complete']==$N and s['done']==0, s; print('bench_resume: --resume skipped all', $N)"
s0=$(seconds "$ZGSEG" status "$WORK/empty" -o "$WORK/out" -q)
sN=$(seconds "$ZGSEG" status "$WORK/in" -o "$WORK/out" -q)
c0=$(seconds "$ZGSEG" status "$WORK/empty" -o "$WORK/out" --check -q)
cN=$(seconds "$ZGSEG" status "$WORK/in" -o "$WORK/out" --check -q)
"$ZGSEG" status "$WORK/in" -o "$WORK/out" | sed 's/^/bench_resume: status: /' | head -3
report "batch --resume" "$rN" "$r0"
report "status" "$sN" "$s0"
report "status --check" "$cN" "$c0"
