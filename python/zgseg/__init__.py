"""zgseg: zero-guidance segmentation — the program (the ``zgseg`` command) and a reader for its outputs.

>>> import zgseg
>>> r = zgseg.load("out/photo.json")
>>> r.label_map.shape, [(s.id, s.label, s.area) for s in r.segments]
>>> for r in zgseg.load_batch("out/"): ...

The reader needs numpy only; it is imported on first use, so the ``zgseg``
command starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["load", "load_batch", "Result", "Segment", "Node", "Candidate", "Batch", "Summary", "Incomplete",
           "FormatError", "decode_rle", "read_label_png", "read_safetensors", "__version__"]

if TYPE_CHECKING:
    from ._errors import FormatError
    from ._png import read_label_png
    from ._reader import Batch, Candidate, Incomplete, Node, Result, Segment, Summary, load, load_batch
    from ._rle import decode_rle
    from ._safetensors import read_safetensors

_WHERE = {
    "FormatError": "_errors", "read_label_png": "_png", "decode_rle": "_rle", "read_safetensors": "_safetensors",
    "load": "_reader", "load_batch": "_reader", "Result": "_reader", "Segment": "_reader", "Node": "_reader",
    "Candidate": "_reader", "Batch": "_reader", "Summary": "_reader", "Incomplete": "_reader",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'zgseg' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
