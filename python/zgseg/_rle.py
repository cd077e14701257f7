"""COCO run-length encoded masks, as zgseg writes them (the pycocotools format).

A mask of height H and width W is read column by column (column-major): the
counts are the lengths of alternating runs of 0s and 1s, starting with 0s.
In the compressed string form each count is written as a signed number in
groups of 5 bits, least significant first, each group as the character
``chr(48 + group)`` with bit 0x20 set when another group follows; from the
fourth count on, the number stored is the difference to the count two places
before it.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Sequence, Tuple, Union

import numpy as np

from ._errors import FormatError

Counts = Union[str, bytes, Sequence[int]]


def counts_from_string(text: Union[str, bytes]) -> List[int]:
    """The run lengths encoded in a compressed COCO RLE string."""
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    counts: List[int] = []
    pos = 0
    while pos < len(data):
        value = 0
        shift = 0
        while True:
            if pos >= len(data):
                raise FormatError("RLE string ends in the middle of a number")
            group = data[pos] - 48
            if group < 0 or group > 63:
                raise FormatError(f"RLE string has a character outside '0'..'o' at position {pos}")
            value |= (group & 0x1F) << shift
            pos += 1
            shift += 5
            if not group & 0x20:
                if group & 0x10:  # negative: extend the sign bit
                    value -= 1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def counts_of(rle: Mapping[str, Any]) -> List[int]:
    """The run lengths of an RLE dict whose "counts" is a string, bytes, or a list of ints."""
    counts = rle["counts"]
    if isinstance(counts, (str, bytes, bytearray)):
        return counts_from_string(counts)
    return [int(c) for c in counts]


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """The (height, width) boolean mask of a COCO RLE dict ``{"size": [h, w], "counts": ...}``."""
    height, width = (int(v) for v in rle["size"])
    counts = np.asarray(counts_of(rle), dtype=np.int64)
    if height < 0 or width < 0 or (counts < 0).any() or int(counts.sum()) != height * width:
        raise FormatError(f"RLE counts sum to {int(counts.sum())} (or hold a negative run) but the mask is "
                          f"{height}x{width} = {height * width} pixels")
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    column_major = np.repeat(values, counts)
    return np.ascontiguousarray(column_major.reshape(width, height).T)


def rle_area(rle: Mapping[str, Any]) -> int:
    """The number of pixels inside the mask."""
    return int(sum(counts_of(rle)[1::2]))


def mask_bbox(mask: np.ndarray) -> Tuple[float, float, float, float]:
    """The COCO box [x, y, width, height] of a boolean mask; all zeros when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))
