"""The IDX file format of MNIST (yann.lecun.com/exdb/mnist), plain or gzip.

Layout: magic number = two zero bytes, a type code (0x08 unsigned byte,
0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the
number of dimensions; then each dimension's size as a big-endian uint32; then
the data, big-endian, C order. Every reading problem (missing, unreadable,
bad gzip, wrong magic number, truncated or overlong data) is a DataError
naming the file.
"""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["read_idx", "write_idx", "IDX_TYPES"]

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read it ({type(err).__name__}: {err})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (native byte order); a ``.gz`` name is read through gzip."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(raw)} bytes, shorter than the 4-byte magic number)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_TYPES or ndim < 1:
        raise DataError(f"{path}: wrong magic number 0x{raw[:4].hex()} for an IDX file (expected 0x0000TTDD: "
                        "type TT in 08,09,0B,0C,0D,0E and DD >= 1 dimensions, e.g. 0x00000803 for MNIST images)")
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{path}: truncated IDX file (the header of {ndim} dimensions needs {head} bytes, "
                        f"the file has {len(raw)})")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    dtype = IDX_TYPES[code]
    need = math.prod(dims) * dtype.itemsize  # Python ints: a header of 4 x 2**32-1 must not wrap
    have = len(raw) - head
    if have != need:
        shape = "x".join(map(str, dims))
        word = "truncated IDX file" if have < need else "IDX file longer than its header says"
        raise DataError(f"{path}: {word} (header: {shape} of {dtype.name}, {need} data bytes; found {have})")
    arr = np.frombuffer(raw, dtype=dtype, offset=head).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.byteorder == ">" else arr


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip when the name ends in .gz); the dtype must be an IDX type."""
    path = Path(path)
    arr = np.asarray(array)
    code = next((c for c, dt in IDX_TYPES.items()
                 if (dt.kind, dt.itemsize) == (arr.dtype.kind, arr.dtype.itemsize)), None)
    if code is None or arr.ndim < 1 or arr.ndim > 255:
        raise ValueError(f"write_idx: dtype {arr.dtype} with {arr.ndim} dimensions is not an IDX array")
    body = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body += np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(body)
    return path
