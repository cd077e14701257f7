"""The reader on outputs made by the real zgseg binary with the tiny test networks.

ZGSEG_BINARY names the program (a path, or `zgseg` for the wheel's command);
without it these tests are skipped. Every mask must equal (label map == id),
and area and bbox must agree with the mask.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

import zgseg  # noqa: E402
from zgseg._rle import mask_bbox  # noqa: E402

BINARY = os.environ.get("ZGSEG_BINARY", "")
PHOTOS = ["2011_000003.jpg", "2011_000006.jpg"]

try:
    from pycocotools import mask as coco_mask  # type: ignore
except ImportError:  # optional: a second opinion on the RLE decoding
    coco_mask = None


def make_tiny_models(root: Path) -> Path:
    """A model folder laid out like the real one, pointing at the tiny fixtures (as tests/e2e/cli_harness.hpp)."""
    dino, clip = root / "dino-vits8", root / "clip-vit-large-patch14-336"
    dino.mkdir(parents=True)
    clip.mkdir(parents=True)
    for f in ("config.json", "model.safetensors"):
        (dino / f).symlink_to(DATA / "nets" / "dino-vits8-tiny" / f)
        (clip / f).symlink_to(DATA / "nets" / "clip-vit-l14-336-tiny" / f)
    for f in ("vocab.json", "merges.txt"):
        (clip / f).symlink_to(DATA / "models-tiny" / "clip-tokenizer" / f)
    return root


@unittest.skipUnless(BINARY, "set ZGSEG_BINARY to the zgseg program to run these tests")
class Outputs(unittest.TestCase):
    tmp: tempfile.TemporaryDirectory
    root: Path

    @classmethod
    def run_zgseg(cls, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        binary = shutil.which(BINARY) or BINARY
        common = ["--models", str(cls.root / "models"), "--vocab", str(DATA / "models-tiny" / "vocab.txt"),
                  "--cache-dir", str(cls.root / "cache"), "--device", "cpu", "--threads", "2"]
        r = subprocess.run([binary, *args, *common], capture_output=True, text=True)
        if r.returncode != expect:
            raise AssertionError(f"zgseg {' '.join(args)} exited {r.returncode}, expected {expect}:\n{r.stderr}")
        return r

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="zgseg_reader_")
        cls.root = Path(cls.tmp.name)
        make_tiny_models(cls.root / "models")
        photos = DATA / "voc-sample" / "JPEGImages"
        cls.run_zgseg("segment", str(photos / PHOTOS[0]), "-o", str(cls.root / "single"), "--save-tree")
        src = cls.root / "in"
        (src / "sub").mkdir(parents=True)
        shutil.copy(photos / PHOTOS[0], src / PHOTOS[0])
        shutil.copy(photos / PHOTOS[1], src / "sub" / PHOTOS[1])
        (src / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
        cls.batch = cls.root / "batch"
        cls.run_zgseg("batch", str(src), "-o", str(cls.batch), expect=1)  # broken.jpg fails
        # Shard 0 of 2 (the two photos) over the finished folder: summary-shard-0.json, both skipped as complete.
        cls.run_zgseg("batch", str(src), "-o", str(cls.batch), "--resume", "--shard", "0/2")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def check_result(self, r: "zgseg.Result") -> None:
        doc = json.loads(r.json_path.read_text())
        self.assertEqual(r.label_map.shape, (doc["input"]["height"], doc["input"]["width"]))
        self.assertEqual((r.height, r.width), r.label_map.shape)
        self.assertGreater(len(r.segments), 0)
        self.assertEqual([s.id for s in r.segments], sorted(s["id"] for s in doc["segments"]))
        ids = set(np.unique(r.label_map).tolist()) - {0}
        self.assertEqual(ids, {s.id for s in r.segments}, "label map ids = segment ids")
        for s, raw in zip(r.segments, sorted(doc["segments"], key=lambda x: x["id"])):
            where = f"{r.name} segment {s.id}"
            self.assertEqual(s.mask.shape, r.label_map.shape, where)
            self.assertEqual(s.mask.dtype, np.bool_, where)
            np.testing.assert_array_equal(s.mask, r.label_map == s.id, err_msg=where)
            self.assertEqual(s.area, int(s.mask.sum()), where)
            self.assertEqual(s.area, raw["area"], where)
            self.assertEqual(s.bbox, mask_bbox(s.mask), where)
            self.assertEqual(list(s.bbox), [float(v) for v in raw["bbox"]], where)
            self.assertEqual((s.label, s.heap_id, s.parent), (raw["label"], raw["heap_id"], raw["parent_heap_id"]))
            self.assertEqual(s.parent, (s.heap_id - 1) // 2 if s.heap_id > 0 else -1, where)
            self.assertEqual(s.children, (2 * s.heap_id + 1, 2 * s.heap_id + 2) if s.merged else (), where)
            self.assertEqual(len(s.candidates), len(raw["candidates"]), where)
            for emb, key in ((s.image_embedding, "image"), (s.text_embedding, "text")):
                self.assertIsNotNone(emb, where)
                self.assertEqual(emb.dtype, np.float32, where)
                self.assertEqual(emb.ndim, 1, where)
                np.testing.assert_array_equal(emb, r.embeddings[raw["embedding_keys"][key]])
            if coco_mask is not None:
                rle = {"size": raw["mask"]["size"], "counts": raw["mask"]["counts"].encode()}
                with warnings.catch_warnings():  # pycocotools 2.0.11 under numpy 2: a DeprecationWarning of its own
                    warnings.simplefilter("ignore", DeprecationWarning)
                    coco = coco_mask.decode(rle)
                np.testing.assert_array_equal(coco.astype(bool), s.mask, err_msg=where)
        self.assertIs(r.segment(r.segments[0].id), r.segments[0])
        # Every pixel belongs to exactly one segment.
        self.assertEqual(sum(int(s.area) for s in r.segments), r.label_map.size)

    def test_single_image_with_tree(self) -> None:
        r = zgseg.load(self.root / "single" / "2011_000003.json")
        self.check_result(r)
        self.assertEqual(r.name, "2011_000003")
        self.assertTrue(r.input_path.endswith(PHOTOS[0]))
        self.assertGreaterEqual(len(r.tree), len(r.segments))
        by_heap = {n.heap_id: n for n in r.tree}
        for s in r.segments:
            self.assertIn(s.heap_id, by_heap)
            self.assertTrue(by_heap[s.heap_id].final)
        for n in r.tree:
            self.assertIsNotNone(n.image_embedding, f"tree node {n.heap_id}")
        # Any of the image's files, or its base name, reads the same.
        for other in ("2011_000003.png", "2011_000003.embeddings.safetensors", "2011_000003"):
            self.assertEqual(zgseg.load(self.root / "single" / other).json_path, r.json_path)
        lean = zgseg.load(r.json_path, embeddings=False)
        self.assertEqual(lean.embeddings, {})
        self.assertIsNone(lean.segments[0].image_embedding)

    def test_batch(self) -> None:
        batch = zgseg.load_batch(self.batch)
        self.assertEqual(batch.names, ["2011_000003", "sub/2011_000006"])
        self.assertEqual(batch.incomplete, [])
        results = list(batch)
        self.assertEqual([r.name for r in results], batch.names)
        for r in results:
            self.check_result(r)
        self.assertEqual([s.path.name for s in batch.summaries], ["summary-shard-0.json", "summary.json"])
        whole = batch.summaries[1]
        self.assertEqual((whole.inputs, whole.shard, whole.done, whole.failed), (3, "", 2, 1))
        self.assertEqual(len(whole.failures), 1)
        self.assertTrue(whole.failures[0]["input"].endswith("broken.jpg"))
        self.assertTrue(whole.failures[0]["error"])
        self.assertEqual([f["input"] for f in batch.failures], [whole.failures[0]["input"]])
        shard = batch.summaries[0]
        self.assertEqual((shard.shard, shard.inputs, shard.done, shard.skipped_complete, shard.failed),
                         ("0/2", 2, 0, 2, 0))
        self.assertIsNotNone(shard.seconds)

    def test_incomplete_images_are_skipped(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "out")
            shutil.copytree(self.batch, out)
            (out / "2011_000003.json").unlink()  # killed before its JSON
            batch = zgseg.load_batch(out)
            self.assertEqual(batch.names, ["sub/2011_000006"])
            self.assertEqual([i.name for i in batch.incomplete], ["2011_000003"])
            self.assertIn("2011_000003.json", batch.incomplete[0].reason)
            shutil.rmtree(out)
            shutil.copytree(self.batch, out)
            (out / "sub" / "2011_000006.embeddings.safetensors").unlink()
            (out / "2011_000003.png").unlink()
            batch = zgseg.load_batch(out)
            self.assertEqual(batch.names, [])
            self.assertEqual({i.name: i.reason for i in batch.incomplete},
                             {"2011_000003": "missing 2011_000003.png",
                              "sub/2011_000006": "missing sub/2011_000006.embeddings.safetensors"})
            self.assertEqual(len(zgseg.load_batch(out, embeddings=False)), 1)
            with self.assertRaisesRegex(zgseg.FormatError, "label map .*2011_000003.png is missing"):
                zgseg.load(out / "2011_000003.json")
            with self.assertRaisesRegex(zgseg.FormatError, "embeddings file .*is missing"):
                zgseg.load(out / "sub" / "2011_000006.json")
            # A truncated JSON is found while iterating: skipped with a warning and listed.
            shutil.rmtree(out)
            shutil.copytree(self.batch, out)
            text = (out / "2011_000003.json").read_text()
            (out / "2011_000003.json").write_text(text[: len(text) // 2])
            batch = zgseg.load_batch(out)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                names = [r.name for r in batch]
            self.assertEqual(names, ["sub/2011_000006"])
            self.assertEqual(len(caught), 1)
            self.assertIn("truncated or not valid JSON", str(caught[0].message))
            self.assertEqual([i.name for i in batch.incomplete], ["2011_000003"])

    def test_not_a_batch(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            empty = Path(tmp, "empty")
            empty.mkdir()
            (empty / "photo.png").write_bytes(b"x")
            (empty / "coco.json").write_text('{"images": []}')
            with self.assertRaisesRegex(zgseg.FormatError, "is not a zgseg batch folder"):
                zgseg.load_batch(empty)
            with self.assertRaisesRegex(zgseg.FormatError, "does not exist"):
                zgseg.load_batch(Path(tmp, "nowhere"))
            with self.assertRaisesRegex(zgseg.FormatError, "is not a folder"):
                zgseg.load_batch(empty / "photo.png")
            with self.assertRaisesRegex(zgseg.FormatError, "is not a zgseg output"):
                zgseg.load(empty / "coco.json")

    def test_old_summary_fields(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            (out / "summary.json").write_text(json.dumps(
                {"inputs": 2, "done": 1, "skipped_complete": 0, "failed": 1, "shard": "",
                 "failures": [{"input": "a.jpg", "error": "truncated"}], "seconds": 1.5}))
            (out / "summary-shard-0.json").write_text(json.dumps(
                {"inputs": 1, "shard": "0/2", "done": 1, "done_inputs": ["b.jpg"], "interrupted": True,
                 "signal": "SIGTERM", "not_done": ["c.jpg"], "abandoned": [], "redone_invalid": 0,
                 "redone_other_settings": 0, "failed": 0, "failures": [], "seconds": 2,
                 "parameters": {"preset": "paper"}, "models": {"folder": "/m"}}))
            batch = zgseg.load_batch(out)
            new, old = batch.summaries
            self.assertEqual((old.done_inputs, old.interrupted, old.not_done, old.redone_invalid), ([], None, [], None))
            self.assertEqual(old.failures, [{"input": "a.jpg", "error": "truncated"}])
            self.assertEqual((new.done_inputs, new.interrupted, new.signal, new.not_done), (["b.jpg"], True, "SIGTERM",
                                                                                            ["c.jpg"]))
            self.assertEqual((new.parameters, new.models["folder"], new.seconds), ({"preset": "paper"}, "/m", 2.0))
            self.assertEqual(len(batch), 0)


if __name__ == "__main__":
    unittest.main()
