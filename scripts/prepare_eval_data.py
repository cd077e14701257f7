#!/usr/bin/env python3
"""Prepare the evaluation data folders that `zgseg eval --data DIR` reads.

Output layout (one folder per ground truth):

  OUT/voc2012/JPEGImages/NAME.jpg          symlinks to the VOC 2012 val photos
  OUT/voc2012/SegmentationClass/NAME.png   the official palette PNGs (0 = background, 255 = ignore)
  OUT/voc2012/val.txt                      the 1,449 val names
  OUT/pascal_context/JPEGImages/NAME.jpg   symlinks to the VOC 2010 val photos
  OUT/pascal_context/SegmentationClass/NAME.png
                                           16-bit PNGs of the 459-class ids (the .mat files' LabelMap)
  OUT/pascal_context/val.txt               the 5,105 val names (VOC 2010 ImageSets/Main/val.txt)

`zgseg eval --dataset voc20 --data OUT/voc2012`, and `--dataset pc59` or
`--dataset pc459 --data OUT/pascal_context` (the same ground truth; the class
list decides which ids count).

Why convert .mat files here rather than read them in C++: the PASCAL-Context
annotations are MATLAB v5 files; scipy reads them reliably, and the C++ side
then needs only its PNG reader (no libmatio dependency). The conversion is
lossless (ids 0..459 fit in 16 bits) and checked on every file.

Inputs (extracted archives; README "Evaluation" says where to download them):
  --voc2012 DIR   VOCdevkit/VOC2012 from VOCtrainval_11-May-2012.tar
  --voc2010 DIR   VOCdevkit/VOC2010 from VOCtrainval_03-May-2010.tar
  --context DIR   the folder of NAME.mat files from PASCAL-Context trainval.tar.gz
                  (it extracts to trainval/)

Needs numpy, scipy and Pillow (the dev virtualenv has them).
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def fail(message):
    sys.exit(f"prepare_eval_data.py: {message}")


def read_names(path):
    if not path.is_file():
        fail(f"no image list '{path}' (is this the right VOCdevkit folder?)")
    names = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    if not names:
        fail(f"image list '{path}' is empty")
    return names


def link_or_copy(src, dst, copy):
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    if copy:
        shutil.copyfile(src, dst)
    else:
        os.symlink(src.resolve(), dst)


def write_list(path, names):
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(n + "\n" for n in names))
    tmp.replace(path)


def prepare_voc(voc2012, out, copy):
    names = read_names(voc2012 / "ImageSets" / "Segmentation" / "val.txt")
    (out / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (out / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    for n in names:
        jpg, png = voc2012 / "JPEGImages" / f"{n}.jpg", voc2012 / "SegmentationClass" / f"{n}.png"
        if not jpg.is_file() or not png.is_file():
            fail(f"'{n}': missing {jpg if not jpg.is_file() else png}")
        labels = np.array(Image.open(png))  # palette indices
        bad = sorted(set(np.unique(labels).tolist()) - set(range(21)) - {255})
        if bad:
            fail(f"'{png}': labels {bad} are not VOC labels (0..20, 255)")
        link_or_copy(jpg, out / "JPEGImages" / f"{n}.jpg", copy)
        link_or_copy(png, out / "SegmentationClass" / f"{n}.png", True)
    write_list(out / "val.txt", names)
    print(f"VOC 2012 val: {len(names)} images -> {out}")


def load_label_map(mat_path):
    import scipy.io

    try:
        m = scipy.io.loadmat(str(mat_path))
    except Exception as e:  # scipy raises several types for bad files
        fail(f"'{mat_path}': not a readable .mat file ({e})")
    if "LabelMap" not in m:
        fail(f"'{mat_path}': no LabelMap variable")
    labels = np.asarray(m["LabelMap"])
    if labels.ndim != 2 or labels.min() < 0 or labels.max() > 459:
        fail(f"'{mat_path}': LabelMap must be 2-D with ids 0..459 (got shape {labels.shape}, "
             f"range {labels.min()}..{labels.max()})")
    return labels.astype(np.uint16)


def write_png16(labels, path):
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(labels).save(tmp, format="PNG")  # uint16 array -> 16-bit greyscale PNG
    back = np.array(Image.open(tmp)).astype(np.uint16)
    if back.shape != labels.shape or not np.array_equal(back, labels):
        tmp.unlink()
        fail(f"'{path}': 16-bit PNG round trip changed the labels")
    tmp.replace(path)


def prepare_context(voc2010, context, out, copy, limit=None):
    names = read_names(voc2010 / "ImageSets" / "Main" / "val.txt")
    if limit:
        names = names[:limit]
    (out / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (out / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        jpg, mat = voc2010 / "JPEGImages" / f"{n}.jpg", context / f"{n}.mat"
        if not jpg.is_file() or not mat.is_file():
            fail(f"'{n}': missing {jpg if not jpg.is_file() else mat}")
        labels = load_label_map(mat)
        w, h = Image.open(jpg).size
        if labels.shape != (h, w):
            fail(f"'{mat}': LabelMap is {labels.shape[1]}x{labels.shape[0]} but '{jpg}' is {w}x{h}")
        write_png16(labels, out / "SegmentationClass" / f"{n}.png")
        link_or_copy(jpg, out / "JPEGImages" / f"{n}.jpg", copy)
        if (i + 1) % 500 == 0:
            print(f"  {i + 1}/{len(names)}", flush=True)
    write_list(out / "val.txt", names)
    print(f"PASCAL-Context val: {len(names)} images -> {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="where voc2012/ and pascal_context/ go")
    ap.add_argument("--voc2012", type=Path, help="VOCdevkit/VOC2012 (for --dataset voc20)")
    ap.add_argument("--voc2010", type=Path, help="VOCdevkit/VOC2010 (photos for pc59 / pc459)")
    ap.add_argument("--context", type=Path, help="folder of PASCAL-Context NAME.mat files (trainval/)")
    ap.add_argument("--copy", action="store_true", help="copy the photos instead of symlinking them")
    ap.add_argument("--limit", type=int, help="only the first N PASCAL-Context val images (for a quick try)")
    args = ap.parse_args()
    if not args.voc2012 and not (args.voc2010 and args.context):
        fail("give --voc2012, or --voc2010 with --context, or all three")
    if bool(args.voc2010) != bool(args.context):
        fail("PASCAL-Context needs both --voc2010 (photos) and --context (annotations)")
    if args.voc2012:
        prepare_voc(args.voc2012, args.out / "voc2012", args.copy)
    if args.voc2010:
        prepare_context(args.voc2010, args.context, args.out / "pascal_context", args.copy, args.limit)


if __name__ == "__main__":
    main()
