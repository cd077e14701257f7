#!/usr/bin/env python3
"""Writes the zgseg wheel from a staged package folder (used by scripts/build_wheel.sh).

    make_wheel.py --stage DIR --version V --torch X.Y --tag PLATFORM --license FILE --out DIR

DIR holds the package as it will lie in site-packages (DIR/zgseg/...). The
wheel gets the .dist-info (METADATA, WHEEL, entry_points.txt, LICENSE,
RECORD with sha256 of every file); file modes are kept (bin/zgseg stays
executable) and timestamps fixed, so the same inputs give the same bytes.
Only the standard library: no build backend, nothing fetched.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import stat
import sys
import zipfile
from pathlib import Path

SUMMARY = "Zero-guidance segmentation: segments an image and names every region (LibTorch), with a reader for its outputs"
DESCRIPTION = """\
# zgseg

`zgseg` segments any image into regions and names every region in free text,
with no class list and no prompt (*Zero-guidance Segmentation Using Zero
Segment Labels*, ICCV 2023), in C++ with LibTorch.

This wheel holds the `zgseg` program, linked against the LibTorch of the
`torch` wheel it depends on (install that first: CPU or CUDA build), and a
pure-Python reader for its outputs:

```python
import zgseg
r = zgseg.load("out/photo.json")        # label map, segments, masks, embeddings
for r in zgseg.load_batch("out/"): ...  # every complete image of a batch folder
```
"""
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", required=True, type=Path)
    ap.add_argument("--version", required=True)
    ap.add_argument("--torch", required=True, help="major.minor of the torch the binary is linked against")
    ap.add_argument("--tag", required=True, help="platform tag, e.g. manylinux_2_34_x86_64")
    ap.add_argument("--license", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()

    name = "zgseg"
    dist_info = f"{name}-{a.version}.dist-info"
    files: list[tuple[str, bytes, int]] = []  # (archive name, data, unix mode)
    for path in sorted(p for p in a.stage.rglob("*") if p.is_file() or p.is_symlink()):
        if path.is_symlink():
            print(f"make_wheel: {path} is a symlink; a wheel holds plain files only", file=sys.stderr)
            return 1
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        mode = 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644
        files.append((path.relative_to(a.stage).as_posix(), path.read_bytes(), mode))

    metadata = "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {a.version}",
        f"Summary: {SUMMARY}",
        "License: MIT",
        "Requires-Python: >=3.9",
        f"Requires-Dist: torch=={a.torch}.*",
        "Requires-Dist: numpy",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: C++",
        "Classifier: Programming Language :: Python :: 3",
        "Description-Content-Type: text/markdown",
        "",
        DESCRIPTION,
    ])
    wheel = "\n".join([
        "Wheel-Version: 1.0",
        "Generator: zgseg scripts/wheel/make_wheel.py",
        "Root-Is-Purelib: false",
        f"Tag: py3-none-{a.tag}",
        "",
    ])
    entry_points = "[console_scripts]\nzgseg = zgseg._launcher:main\n"
    files += [
        (f"{dist_info}/METADATA", metadata.encode(), 0o644),
        (f"{dist_info}/WHEEL", wheel.encode(), 0o644),
        (f"{dist_info}/entry_points.txt", entry_points.encode(), 0o644),
        (f"{dist_info}/LICENSE", a.license.read_bytes(), 0o644),
    ]
    record = "".join(f"{n},{digest(d)},{len(d)}\n" for n, d, _ in files) + f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode(), 0o644))

    a.out.mkdir(parents=True, exist_ok=True)
    target = a.out / f"{name}-{a.version}-py3-none-{a.tag}.whl"
    partial = target.with_suffix(".whl.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n, d, mode in files:
            info = zipfile.ZipInfo(n, date_time=FIXED_TIME)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, d)
    partial.replace(target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
