"""zgseg.load / zgseg.load_batch: the outputs of `zgseg segment` and `zgseg batch` as numpy arrays."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from ._errors import FormatError
from ._png import read_label_png
from ._rle import decode_rle
from ._safetensors import read_safetensors

PathLike = Union[str, "os.PathLike[str]"]

SCHEMA_VERSION = 1
_JSON, _PNG, _EMBEDDINGS, _OVERLAY = ".json", ".png", ".embeddings.safetensors", ".overlay.jpg"
_MAX_JSON_PEEK = 64 * 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    """One caption the captioner considered for a node."""

    text: str
    score: float
    clip_score: float


@dataclass
class Node:
    """A node of the pruned Ward tree (``heap_id``: root 0, children of t are 2t+1 and 2t+2).

    ``parent`` is -1 for the root; ``children`` is empty unless the node's two
    children were merged into it. Embeddings are None when the file lacks them.
    """

    id: Optional[int]  # the segment id for a final node, else None
    label: str
    heap_id: int
    parent: int
    children: Tuple[int, ...]
    leaves: Tuple[int, ...]
    merged: bool
    merge_similarity: Optional[float]
    final: bool
    raw_caption: str
    clip_score: float
    candidates: List[Candidate] = field(repr=False)
    image_embedding: Optional[np.ndarray] = field(repr=False)
    text_embedding: Optional[np.ndarray] = field(repr=False)
    raw: Dict[str, Any] = field(repr=False)


@dataclass
class Segment(Node):
    """A final segment: its pixels are where the label map equals ``id``.

    ``bbox`` is COCO's [x, y, width, height] in pixels of the original image;
    ``rle`` is the mask as stored ({"size": [height, width], "counts": str});
    ``mask`` decodes it (a (height, width) boolean array, computed on first use).
    """

    area: int = 0
    bbox: Tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    rle: Dict[str, Any] = field(default_factory=dict, repr=False)
    _mask: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            self._mask = decode_rle(self.rle)
        return self._mask


@dataclass
class Result:
    """Everything zgseg wrote for one image.

    ``label_map``: (height, width) uint8 or uint16 array of segment ids (0 = no
    segment). ``segments``: the final segments in id order. ``tree``: every
    node the merging stage computed (only with ``--save-tree``, else empty).
    ``embeddings``: every tensor of NAME.embeddings.safetensors by name (empty
    when loaded with ``embeddings=False``). ``doc``: the parsed NAME.json.
    """

    name: str
    json_path: Path
    input_path: str
    width: int
    height: int
    label_map: np.ndarray = field(repr=False)
    segments: List[Segment] = field(repr=False)
    tree: List[Node] = field(repr=False)
    embeddings: Dict[str, np.ndarray] = field(repr=False)
    doc: Dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return (f"Result({self.name!r}, {self.width}x{self.height}, "
                f"segments={[(s.id, s.label) for s in self.segments]}, {len(self.tree)} tree nodes)")

    def segment(self, segment_id: int) -> Segment:
        """The segment with this id (KeyError when there is none)."""
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(f"{self.json_path}: no segment {segment_id}")

    @property
    def labels(self) -> Dict[int, str]:
        """Segment id → label."""
        return {s.id: s.label for s in self.segments}


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(f"{what} {path} does not exist") from None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise FormatError(f"{what} {path} is not a JSON file ({e.__class__.__name__})") from None
    try:
        return json.loads(text)
    except ValueError:
        raise FormatError(f"{what} {path} is truncated or not valid JSON; redo the image with "
                          "zgseg batch SRC -o OUT --resume (or delete its files)") from None


def _is_output_doc(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("schema_version") == SCHEMA_VERSION
            and isinstance(doc.get("segments"), list))


def _json_path_of(path: PathLike) -> Path:
    p = Path(path)
    if p.name.endswith(_JSON):
        return p
    for suffix in (_EMBEDDINGS, _OVERLAY, _PNG):  # any of the image's files, or its base name
        if p.name.endswith(suffix):
            return p.with_name(p.name[: -len(suffix)] + _JSON)
    return p.with_name(p.name + _JSON)


def _sibling(json_path: Path, doc: Dict[str, Any], key: str, suffix: str) -> Path:
    files = doc.get("files")
    name = files.get(key) if isinstance(files, dict) else None
    if isinstance(name, str) and name and "/" not in name:
        return json_path.with_name(name)
    return json_path.with_name(json_path.name[: -len(_JSON)] + suffix)


def _node(raw: Dict[str, Any], embeddings: Dict[str, np.ndarray], where: str) -> Dict[str, Any]:
    keys = raw.get("embedding_keys") or {}
    try:
        return dict(
            heap_id=int(raw["heap_id"]),
            parent=int(raw.get("parent_heap_id", -1)),
            children=tuple(int(c) for c in raw.get("children_heap_ids", ())),
            leaves=tuple(int(c) for c in raw.get("leaves", ())),
            merged=bool(raw.get("merged", False)),
            merge_similarity=float(raw["merge_similarity"]) if raw.get("merge_similarity") is not None else None,
            final=bool(raw.get("final", True)),
            label=str(raw.get("label", "")),
            raw_caption=str(raw.get("raw_caption", "")),
            clip_score=float(raw.get("clip_score", float("nan"))),
            candidates=[Candidate(str(c["text"]), float(c["score"]), float(c["clip_score"]))
                        for c in raw.get("candidates", ())],
            image_embedding=embeddings.get(keys.get("image", "")),
            text_embedding=embeddings.get(keys.get("text", "")),
            id=int(raw["id"]) if raw.get("id") is not None else None,
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{where} is malformed ({e.__class__.__name__}: {e}); redo the image with "
                          "zgseg batch --resume") from None


def load(path: PathLike, *, embeddings: bool = True, name: Optional[str] = None) -> Result:
    """Reads one image's outputs: ``zgseg.load("out/photo.json")``.

    ``path`` is NAME.json, or any of the image's files, or NAME itself. The
    label map (NAME.png) and, unless ``embeddings=False``, the embeddings
    (NAME.embeddings.safetensors) must be there. Raises :class:`FormatError`
    (one line naming the file) when anything is missing, truncated or not a
    zgseg output, and when the label map, the masks and the JSON disagree in size.
    """
    json_path = _json_path_of(path)
    doc = _read_json(json_path, "zgseg output")
    if not _is_output_doc(doc):
        raise FormatError(f"{json_path} is not a zgseg output (schema_version {SCHEMA_VERSION} with a segments array)")
    image = doc.get("input") if isinstance(doc.get("input"), dict) else {}
    label_path = _sibling(json_path, doc, "label_map", _PNG)
    if not label_path.is_file():
        raise FormatError(f"{json_path}: its label map {label_path} is missing; the image is incomplete "
                          "(redo it with zgseg batch SRC -o OUT --resume)")
    label_map = read_label_png(label_path)
    height, width = label_map.shape
    if (image.get("width", width), image.get("height", height)) != (width, height):
        raise FormatError(f"{label_path} is {width}x{height} but {json_path} says the image is "
                          f"{image.get('width')}x{image.get('height')}; the files are from different runs")
    tensors: Dict[str, np.ndarray] = {}
    if embeddings:
        emb_path = _sibling(json_path, doc, "embeddings", _EMBEDDINGS)
        if not emb_path.is_file():
            raise FormatError(f"{json_path}: its embeddings file {emb_path} is missing; the image is incomplete "
                              "(redo it with zgseg batch SRC -o OUT --resume)")
        tensors, _ = read_safetensors(emb_path)

    segments: List[Segment] = []
    for i, raw in enumerate(doc["segments"]):
        where = f"{json_path}: segment {i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("mask"), dict) or raw.get("id") is None:
            raise FormatError(f"{where} has no id or mask; redo the image with zgseg batch --resume")
        fields = _node(raw, tensors, where)
        rle = raw["mask"]
        size = [int(v) for v in rle.get("size", ())]
        if size != [height, width]:
            raise FormatError(f"{where}: mask size {size} differs from the label map's [{height}, {width}]")
        bbox = raw.get("bbox") or (0, 0, 0, 0)
        segments.append(Segment(**fields, area=int(raw.get("area", 0)),
                                bbox=tuple(float(v) for v in bbox), rle=rle))  # type: ignore[arg-type]
    segments.sort(key=lambda s: s.id or 0)
    tree = [Node(**_node(raw, tensors, f"{json_path}: tree node {i}"))
            for i, raw in enumerate(doc.get("tree") or []) if isinstance(raw, dict)]
    return Result(
        name=name if name is not None else json_path.name[: -len(_JSON)],
        json_path=json_path,
        input_path=str(image.get("path", "")),
        width=width,
        height=height,
        label_map=label_map,
        segments=segments,
        tree=tree,
        embeddings=tensors,
        doc=doc,
    )


# ---- batches -------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """One summary file of ``zgseg batch`` (summary.json, or summary-shard-I.json per shard).

    Read defensively: a field an older zgseg did not write is None (counts,
    flags) or empty (lists). ``raw`` is the whole parsed file.
    """

    path: Path
    inputs: Optional[int]
    shard: str
    done: Optional[int]
    done_inputs: List[str]
    skipped_complete: Optional[int]
    redone_other_settings: Optional[int]
    redone_invalid: Optional[int]
    failed: Optional[int]
    failures: List[Dict[str, str]]
    interrupted: Optional[bool]
    signal: Optional[Any]
    not_done: List[str]
    abandoned: List[str]
    seconds: Optional[float]
    parameters: Optional[Dict[str, Any]]
    models: Optional[Dict[str, Any]]
    raw: Dict[str, Any] = field(repr=False)


def _summary(path: Path) -> Summary:
    raw = _read_json(path, "batch summary")
    if not isinstance(raw, dict):
        raise FormatError(f"batch summary {path} is not a JSON object; re-run zgseg batch SRC -o OUT --resume "
                          "to rewrite it")

    def number(key: str, kind: type) -> Any:
        v = raw.get(key)
        return kind(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def strings(key: str) -> List[str]:
        v = raw.get(key)
        return [str(x) for x in v] if isinstance(v, list) else []

    failures = []
    for f in raw.get("failures") or []:
        if isinstance(f, dict):
            failures.append({"input": str(f.get("input", "")), "error": str(f.get("error", ""))})
    interrupted = raw.get("interrupted")
    return Summary(
        path=path,
        inputs=number("inputs", int),
        shard=str(raw.get("shard") or ""),
        done=number("done", int),
        done_inputs=strings("done_inputs"),
        skipped_complete=number("skipped_complete", int),
        redone_other_settings=number("redone_other_settings", int),
        redone_invalid=number("redone_invalid", int),
        failed=number("failed", int) if "failed" in raw else len(failures) if "failures" in raw else None,
        failures=failures,
        interrupted=interrupted if isinstance(interrupted, bool) else None,
        signal=raw.get("signal"),
        not_done=strings("not_done"),
        abandoned=strings("abandoned"),
        seconds=number("seconds", float),
        parameters=raw.get("parameters") if isinstance(raw.get("parameters"), dict) else None,
        models=raw.get("models") if isinstance(raw.get("models"), dict) else None,
        raw=raw,
    )


def _is_summary_name(filename: str) -> bool:
    return filename == "summary.json" or (filename.startswith("summary-shard-") and filename.endswith(_JSON))


@dataclass(frozen=True)
class Incomplete:
    """An image of the batch that is not (fully) there, and why."""

    name: str
    reason: str


class Batch:
    """The output folder of ``zgseg batch``; iterate over it for each complete image's :class:`Result`.

    ``names``: the complete images (NAME relative to the folder, without
    extension), sorted. ``incomplete``: those skipped and why (found while
    scanning; an image whose JSON turns out truncated is added while
    iterating, with a warning). ``summaries``: the summary files, sorted by name.
    """

    def __init__(self, root: Path, names: List[str], incomplete: List[Incomplete], summaries: List[Summary],
                 embeddings: bool) -> None:
        self.root = root
        self.names = names
        self.incomplete = incomplete
        self.summaries = summaries
        self._embeddings = embeddings

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Result]:
        for name in self.names:
            try:
                yield self.load(name)
            except FormatError as e:
                if not any(i.name == name for i in self.incomplete):
                    self.incomplete.append(Incomplete(name, str(e)))
                warnings.warn(f"zgseg: skipping {name}: {e}", stacklevel=2)

    def __repr__(self) -> str:
        return (f"Batch({str(self.root)!r}, {len(self.names)} complete images, {len(self.incomplete)} incomplete, "
                f"{len(self.summaries)} summaries)")

    def load(self, name: str) -> Result:
        """One image by NAME (as in ``names``)."""
        return load(self.root / (name + _JSON), embeddings=self._embeddings, name=name)

    @property
    def failures(self) -> List[Dict[str, str]]:
        """Every failure ({"input", "error"}) listed by the summaries."""
        return [f for s in self.summaries for f in s.failures]


def load_batch(folder: PathLike, *, embeddings: bool = True) -> Batch:
    """Scans the ``-o`` folder of ``zgseg batch`` (with its sub-folders).

    An image counts when its NAME.json, NAME.png and NAME.embeddings.safetensors
    are there; one whose JSON, label map or embeddings are missing is listed
    in ``Batch.incomplete`` instead. Raises :class:`FormatError` for a path
    that is not a folder, or a folder with neither images nor summary files.
    """
    root = Path(folder)
    if not root.exists():
        raise FormatError(f"batch folder {root} does not exist; give the -o folder of zgseg batch")
    if not root.is_dir():
        raise FormatError(f"{root} is not a folder; give the -o folder of zgseg batch (zgseg.load reads one image)")
    found: Dict[str, set] = {}
    summary_paths: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir + os.sep
        for filename in filenames:
            if prefix == "" and _is_summary_name(filename):
                summary_paths.append(root / filename)
                continue
            for suffix in (_EMBEDDINGS, _OVERLAY, _JSON, _PNG):  # longest first: NAME.embeddings.safetensors
                if filename.endswith(suffix) and len(filename) > len(suffix):
                    found.setdefault(prefix + filename[: -len(suffix)], set()).add(suffix)
                    break

    names: List[str] = []
    incomplete: List[Incomplete] = []
    for name in sorted(found):
        files = found[name]
        if _EMBEDDINGS in files or _OVERLAY in files:
            is_image = True
        elif _JSON in files:
            # A JSON alone (or with a PNG, maybe a photo) is an image's only if it is a zgseg output:
            # the batch folder may also hold e.g. a COCO export.
            path = root / (name + _JSON)
            try:
                is_image = path.stat().st_size <= _MAX_JSON_PEEK and _is_output_doc(
                    json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                is_image = False
        else:
            is_image = False
        if not is_image:
            continue
        needed = [_JSON, _PNG] + ([_EMBEDDINGS] if embeddings else [])
        missing = [name + suffix for suffix in needed if suffix not in files]
        if missing:
            incomplete.append(Incomplete(name, "missing " + ", ".join(missing)))
        else:
            names.append(name)
    if not names and not incomplete and not summary_paths:
        raise FormatError(f"{root} is not a zgseg batch folder (no NAME.json beside NAME.png and "
                          "NAME.embeddings.safetensors, no summary.json); give the -o folder of zgseg batch")
    summaries = [_summary(p) for p in sorted(summary_paths)]
    return Batch(root, names, incomplete, summaries, embeddings)
