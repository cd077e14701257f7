"""Reads safetensors files (NAME.embeddings.safetensors) with numpy only.

The format: 8 bytes of little-endian header length N, N bytes of JSON
({tensor name: {"dtype", "shape", "data_offsets": [begin, end]}, optional
"__metadata__": {str: str}}), then the data area the offsets point into.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Tuple, Union

import numpy as np

from ._errors import FormatError

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors(path: Union[str, os.PathLike]) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """(tensors by name, metadata) of a safetensors file. BF16 tensors come back as float32."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FormatError(f"embeddings file {name} does not exist") from None

    def fail(what: str) -> FormatError:
        return FormatError(f"embeddings file {name}: {what} (the file is truncated or not a safetensors file)")

    if len(data) < 8:
        raise fail(f"{len(data)} bytes, shorter than the 8-byte header length")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > _MAX_HEADER or header_len > len(data) - 8:
        raise fail(f"header length {header_len} runs past the end of the {len(data)}-byte file")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise fail(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise fail("header is not a JSON object")
    base = 8 + header_len
    data_size = len(data) - base
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise fail("__metadata__ is not an object")
    tensors: Dict[str, np.ndarray] = {}
    for key, entry in header.items():
        try:
            dtype_name = entry["dtype"]
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
            dtype = _DTYPES[dtype_name]
        except (KeyError, TypeError, ValueError):
            raise fail(f"tensor '{key}' has no valid dtype, shape and data_offsets") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if min(shape, default=0) < 0 or not 0 <= begin <= end <= data_size or count * dtype.itemsize != end - begin:
            raise fail(f"tensor '{key}' ({dtype_name} {list(shape)}) does not fit data_offsets [{begin}, {end}]")
        array = np.frombuffer(data, dtype=dtype, count=count, offset=base + begin).reshape(shape)
        if dtype_name == "BF16":  # the upper half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[key] = array.copy()
    return tensors, {str(k): str(v) for k, v in metadata.items()}
