#!/usr/bin/env bash
# Downloads the four default networks from the Hugging Face hub into a model
# directory (default: $ZGSEG_MODELS, else ~/.cache/zgseg/models):
#
#   scripts/download_models.sh [--offline-ok] [DIR]
#
# --offline-ok: exit 3 silently when the hub is unreachable (used by run_example.sh).
#
# Downloads resume after an interruption (curl -C -), land under a temporary
# name and are renamed into place only after their size (and, for large files,
# sha256 from the hub's listing) checks out. A repository without
# model.safetensors gets its pytorch_model.bin converted by
# scripts/convert_to_safetensors.py (needs Python with torch: .venv from setup.sh).
# Exit codes: 0 all present, 1 a download or check failed, 3 the hub is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE_OK=0
[[ "${1:-}" == "--offline-ok" ]] && { OFFLINE_OK=1; shift; }
DEST="${1:-${ZGSEG_MODELS:-$HOME/.cache/zgseg/models}}"
HUB="${HF_ENDPOINT:-https://huggingface.co}"
PY=".venv/bin/python"; [[ -x "$PY" ]] || PY=python3

# folder  repository  files (model.safetensors last: it may fall back to pytorch_model.bin)
MODELS=(
  "dino-vits8|facebook/dino-vits8|config.json preprocessor_config.json model.safetensors"
  "clip-vit-large-patch14-336|openai/clip-vit-large-patch14-336|config.json vocab.json merges.txt tokenizer_config.json special_tokens_map.json preprocessor_config.json model.safetensors"
  "gpt2-medium|openai-community/gpt2-medium|config.json vocab.json merges.txt model.safetensors"
  "all-mpnet-base-v2|sentence-transformers/all-mpnet-base-v2|config.json vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json modules.json sentence_bert_config.json 1_Pooling/config.json model.safetensors"
)

if ! curl -fsS --max-time 10 -o /dev/null "$HUB/api/models/gpt2" 2>/dev/null; then
  ((OFFLINE_OK)) && exit 3
  echo "download_models: cannot reach $HUB (no internet?). Copy the model folders into $DEST from a machine that can, or point --models/ZGSEG_MODELS at them." >&2
  exit 3
fi

# The hub's file listing: size and (for LFS files) sha256 of every file.
listing() { curl -fsS --max-time 30 "$HUB/api/models/$1/tree/main?recursive=true"; }
# field FILE {size|sha256} from a listing on stdin
field() {
  "$PY" -c '
import json, sys
name, key = sys.argv[1], sys.argv[2]
for e in json.load(sys.stdin):
    if e.get("path") == name:
        if key == "size": print(e.get("lfs", {}).get("size", e.get("size", "")))
        else: print(e.get("lfs", {}).get("oid", ""))
' "$1" "$2"
}

fetch() {  # repo file target expected_size expected_sha256
  local repo=$1 file=$2 target=$3 size=$4 sha=$5
  if [[ -f "$target" ]] && [[ -z "$size" || $(stat -c %s "$target") == "$size" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  echo "  $repo/$file"
  curl -fL --retry 3 -C - --progress-bar -o "$target.part" "$HUB/$repo/resolve/main/$file"
  if [[ -n "$size" && $(stat -c %s "$target.part") != "$size" ]]; then
    echo "download_models: $target.part has the wrong size (expected $size); run the script again to resume" >&2
    return 1
  fi
  if [[ -n "$sha" ]] && ! echo "$sha  $target.part" | sha256sum -c --quiet -; then
    echo "download_models: sha256 mismatch for $repo/$file; deleting it, run the script again" >&2
    rm -f "$target.part"; return 1
  fi
  mv -f "$target.part" "$target"
}

for entry in "${MODELS[@]}"; do
  IFS='|' read -r folder repo files <<<"$entry"
  echo "$folder ($repo)"
  tree=$(listing "$repo")
  for f in $files; do
    target="$DEST/$folder/$f"
    if [[ "$f" == model.safetensors ]] && [[ -z "$(field "$f" size <<<"$tree")" ]]; then
      # No safetensors in the repository: fetch the PyTorch pickle and convert it.
      [[ -f "$target" ]] && continue
      fetch "$repo" pytorch_model.bin "$DEST/$folder/pytorch_model.bin" \
            "$(field pytorch_model.bin size <<<"$tree")" "$(field pytorch_model.bin sha256 <<<"$tree")"
      "$PY" scripts/convert_to_safetensors.py "$DEST/$folder/pytorch_model.bin" "$target"
      continue
    fi
    fetch "$repo" "$f" "$target" "$(field "$f" size <<<"$tree")" "$(field "$f" sha256 <<<"$tree")"
  done
done
echo "download_models: all models are in $DEST"
