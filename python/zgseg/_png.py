"""Reads the label maps zgseg writes (NAME.png) with zlib and numpy only.

zgseg writes an 8-bit palette PNG (the VOC colours; the pixel values are the
segment ids) when it has at most 255 segments, else a 16-bit greyscale PNG,
never interlaced (src/io/label_png.cpp). This decoder reads any
non-interlaced greyscale or palette PNG of bit depth 1, 2, 4, 8 or 16 and
returns the sample values, not colours.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Union

import numpy as np

from ._errors import FormatError

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PIXELS = 500_000_000  # the limit of zgseg's own reader
_GREY, _PALETTE = 0, 3


def read_label_png(path: Union[str, os.PathLike]) -> np.ndarray:
    """The label map in ``path`` as an (height, width) uint8 or uint16 array."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FormatError(f"label map {name} does not exist") from None
    except IsADirectoryError:
        raise FormatError(f"label map {name} is a folder, not a PNG file") from None
    return decode_label_png(data, name)


def decode_label_png(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decodes PNG bytes holding a label map; see :func:`read_label_png`."""
    if not data.startswith(_SIGNATURE):
        raise FormatError(f"label map {name} is not a PNG file")
    header = None
    idat = []
    pos = len(_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise FormatError(f"label map {name} is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 8 + length
        if end + 4 > len(data):
            raise FormatError(f"label map {name} is truncated (chunk {kind!r} runs past the end)")
        body = data[pos + 8:end]
        (crc,) = struct.unpack(">I", data[end:end + 4])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise FormatError(f"label map {name} is corrupt (bad CRC in chunk {kind!r})")
        pos = end + 4
        if kind == b"IHDR":
            if length != 13:
                raise FormatError(f"label map {name} is corrupt (IHDR of {length} bytes)")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise FormatError(f"label map {name} is corrupt (no IHDR chunk)")
    width, height, depth, colour, compression, filtering, interlace = header
    if colour not in (_GREY, _PALETTE):
        raise FormatError(f"label map {name} is a colour PNG (colour type {colour}); a label map is a palette "
                          "or greyscale PNG holding segment ids")
    if depth not in (1, 2, 4, 8, 16) or (colour == _PALETTE and depth == 16):
        raise FormatError(f"label map {name} has an invalid bit depth {depth}")
    if compression != 0 or filtering != 0:
        raise FormatError(f"label map {name} uses an unknown compression or filter method")
    if interlace != 0:
        raise FormatError(f"label map {name} is interlaced; zgseg never writes interlaced label maps")
    if width == 0 or height == 0 or width * height > _MAX_PIXELS:
        raise FormatError(f"label map {name} has an invalid size {width}x{height}")

    stride = (width * depth + 7) // 8
    expected = height * (stride + 1)
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(b"".join(idat), expected)
    except zlib.error as e:
        raise FormatError(f"label map {name} is corrupt (zlib: {e})") from None
    if len(raw) < expected:
        raise FormatError(f"label map {name} is truncated ({len(raw)} of {expected} bytes of pixel data)")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    pixels = _unfilter(rows, max(1, depth // 8), name)

    if depth == 16:
        return pixels.view(">u2").astype(np.uint16)
    if depth == 8:
        return pixels
    per_byte = 8 // depth  # samples packed most significant bits first
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    samples = (pixels[:, :, None] >> shifts) & np.uint8((1 << depth) - 1)
    return np.ascontiguousarray(samples.reshape(height, stride * per_byte)[:, :width])


def _unfilter(rows: np.ndarray, bpp: int, name: str) -> np.ndarray:
    """Reverses the PNG row filters (types 0-4); ``bpp`` is the filter's byte distance."""
    kinds = rows[:, 0]
    filtered = rows[:, 1:]
    if kinds.size and int(kinds.max()) > 4:
        raise FormatError(f"label map {name} is corrupt (unknown row filter {int(kinds.max())})")
    if not kinds.any():  # zgseg's palette maps: no filtering at all
        return filtered.copy()
    out = np.empty_like(filtered)
    previous = np.zeros(filtered.shape[1], dtype=np.uint8)
    for y in range(filtered.shape[0]):
        kind, line = int(kinds[y]), filtered[y]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum (mod 256) within each of the bpp byte lanes
            row = np.empty_like(line)
            for lane in range(bpp):
                row[lane::bpp] = np.cumsum(line[lane::bpp], dtype=np.uint8)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average and Paeth depend on the byte just reconstructed: byte by byte
            row = np.frombuffer(_unfilter_sequential(kind, line.tobytes(), previous.tobytes(), bpp),
                                dtype=np.uint8)
        out[y] = row
        previous = out[y]
    return out


def _unfilter_sequential(kind: int, line: bytes, up: bytes, bpp: int) -> bytearray:
    row = bytearray(line)
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        above = up[i]
        if kind == 3:
            predictor = (left + above) >> 1
        else:
            upper_left = up[i - bpp] if i >= bpp else 0
            estimate = left + above - upper_left
            d_left, d_above, d_upper_left = abs(estimate - left), abs(estimate - above), abs(estimate - upper_left)
            if d_left <= d_above and d_left <= d_upper_left:
                predictor = left
            elif d_above <= d_upper_left:
                predictor = above
            else:
                predictor = upper_left
        row[i] = (row[i] + predictor) & 0xFF
    return row
