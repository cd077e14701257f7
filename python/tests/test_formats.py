"""The reader's decoders against the fixtures the C++ tests use (made with pycocotools, PIL and safetensors)."""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

import zgseg  # noqa: E402
from zgseg._png import decode_label_png  # noqa: E402
from zgseg._rle import counts_from_string, decode_rle, mask_bbox, rle_area  # noqa: E402


def encode_png(values: np.ndarray, depth: int, colour: int, filters: list) -> bytes:
    """A minimal PNG encoder applying the given filter type to each row (test input for the decoder)."""
    height, width = values.shape
    if depth == 16:
        rows = values.astype(">u2").view(np.uint8).reshape(height, width * 2)
    else:
        rows = values.astype(np.uint8)
    bpp = max(1, depth // 8)
    out = bytearray()
    previous = np.zeros(rows.shape[1], dtype=np.int64)
    for y in range(height):
        cur = rows[y].astype(np.int64)
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upper_left = np.concatenate([np.zeros(bpp, np.int64), previous[:-bpp]])
        kind = filters[y % len(filters)]
        if kind == 0:
            pred = np.zeros_like(cur)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = previous
        elif kind == 3:
            pred = (left + previous) // 2
        else:
            p = left + previous - upper_left
            pa, pb, pc = abs(p - left), abs(p - previous), abs(p - upper_left)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, previous, upper_left))
        out.append(kind)
        out += ((cur - pred) % 256).astype(np.uint8).tobytes()
        previous = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
    if colour == 3:
        png += chunk(b"PLTE", bytes(range(256)) * 3)
    return png + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")


class LabelPng(unittest.TestCase):
    cases = json.loads((DATA / "label_png" / "cases.json").read_text())

    def test_fixtures_grey_and_palette(self) -> None:
        for key, dtype in (("gray8", np.uint8), ("gray16", np.uint16), ("palette4", np.uint8)):
            case = self.cases[key]
            got = zgseg.read_label_png(DATA / "label_png" / case["file"])
            want = np.array(case["values"]).reshape(case["height"], case["width"])
            self.assertEqual(got.dtype, dtype, key)
            np.testing.assert_array_equal(got, want, err_msg=key)

    def test_voc_palette_indices(self) -> None:
        case = self.cases["voc"]
        got = zgseg.read_label_png(DATA / "label_png" / case["file"])
        grey = zgseg.read_label_png(DATA / "label_png" / case["indices"])  # the same indices, as 8-bit grey
        self.assertEqual(got.shape, (case["height"], case["width"]))
        np.testing.assert_array_equal(got, grey)
        self.assertEqual(sorted(np.unique(got).tolist()), case["values"])

    def test_every_filter_type(self) -> None:
        rng = np.random.default_rng(7)
        for depth, colour in ((8, 3), (8, 0), (16, 0)):
            values = rng.integers(0, 256 if depth == 8 else 65536, size=(11, 13))
            for filters in ([0], [1], [2], [3], [4], [0, 1, 2, 3, 4]):
                got = decode_label_png(encode_png(values, depth, colour, filters))
                np.testing.assert_array_equal(got, values, err_msg=f"depth {depth} filters {filters}")

    def test_refusals_name_the_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp, "x.png")
            bad.write_bytes(b"not a png")
            with self.assertRaisesRegex(zgseg.FormatError, "x.png is not a PNG file"):
                zgseg.read_label_png(bad)
            good = encode_png(np.zeros((4, 4)), 8, 0, [0])
            bad.write_bytes(good[:-20])
            with self.assertRaisesRegex(zgseg.FormatError, "truncated"):
                zgseg.read_label_png(bad)
        with self.assertRaisesRegex(zgseg.FormatError, "colour PNG"):
            zgseg.read_label_png(DATA / "label_png" / "rgb.png")


class Rle(unittest.TestCase):
    def test_pycocotools_cases(self) -> None:
        cases = json.loads((DATA / "rle" / "cases.json").read_text())
        self.assertGreater(len(cases), 5)
        for case in cases:
            name = case["name"]
            self.assertEqual(counts_from_string(case["string"]), case["counts"], name)
            rle = {"size": [case["height"], case["width"]], "counts": case["string"]}
            mask = decode_rle(rle)
            want = zgseg.read_label_png(DATA / "rle" / case["file"]) != 0
            np.testing.assert_array_equal(mask, want, err_msg=name)
            self.assertEqual(rle_area(rle), case["area"], name)
            self.assertEqual(list(mask_bbox(mask)), case["bbox"], name)
            # bytes (pycocotools' own form) and plain count lists decode the same
            np.testing.assert_array_equal(decode_rle({"size": rle["size"], "counts": case["string"].encode()}), mask)
            np.testing.assert_array_equal(decode_rle({"size": rle["size"], "counts": case["counts"]}), mask)

    def test_bad_counts(self) -> None:
        with self.assertRaisesRegex(zgseg.FormatError, "sum to"):
            decode_rle({"size": [3, 3], "counts": [1, 2]})
        with self.assertRaisesRegex(zgseg.FormatError, "middle of a number"):
            counts_from_string("o")  # a continuation bit with nothing after it


class Safetensors(unittest.TestCase):
    def test_all_dtypes(self) -> None:
        want = json.loads((DATA / "safetensors" / "all_dtypes.json").read_text())
        tensors, _ = zgseg.read_safetensors(DATA / "safetensors" / "all_dtypes.safetensors")
        self.assertEqual(set(tensors), set(want))
        for name, case in want.items():
            got = tensors[name]
            self.assertEqual(list(got.shape), case["shape"], name)
            np.testing.assert_allclose(got.astype(np.float64).ravel(), np.array(case["values"], dtype=np.float64),
                                       rtol=1e-6, err_msg=name)

    def test_truncated(self) -> None:
        data = (DATA / "safetensors" / "all_dtypes.safetensors").read_bytes()
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp, "t.safetensors")
            for cut in (4, 20, len(data) - 3):
                p.write_bytes(data[:cut])
                with self.assertRaises(zgseg.FormatError):
                    zgseg.read_safetensors(p)


class LazyImport(unittest.TestCase):
    def test_package_import_does_not_load_numpy_readers(self) -> None:
        import subprocess

        code = ("import sys, zgseg, zgseg._launcher; "
                "print(any(m.startswith('zgseg._reader') for m in sys.modules), 'numpy' in sys.modules)")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        self.assertEqual(out.stdout.split(), ["False", "False"])


if __name__ == "__main__":
    unittest.main()
