"""The data error and the range checks shared by the loaders.

Types of ``[data]`` keys are checked by the config module from each kind's
defaults; these checks cover ranges (and types too, so a loader called
directly, e.g. by the baselines, still fails with one clear line).
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = ["DataError", "int_key", "float_key", "MAX_SEED"]

#: scikit-learn's random_state (a numpy RandomState) takes seeds in 0..2**32-1.
MAX_SEED = 2**32 - 1


class DataError(ValueError):
    """A one-line user error naming data.<key> or the file and what is allowed."""


def int_key(data: dict[str, Any], key: str, lo: int, hi: int | None = None, what: str = "") -> int:
    """``data[key]`` as an int in lo..hi (hi None = no upper bound), else DataError naming data.<key>."""
    v = data[key]
    ok = not isinstance(v, bool) and isinstance(v, Integral) and v >= lo and (hi is None or v <= hi)
    if not ok:
        span = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise DataError(f"data.{key} must be an integer {span}{what}, got {v!r}")
    return int(v)


def float_key(data: dict[str, Any], key: str, lo: float, hi: float | None = None, lo_open: bool = False,
              hi_open: bool = False, what: str = "") -> float:
    """``data[key]`` as a finite float within the bounds, else DataError naming data.<key>."""
    v = data[key]
    ok = not isinstance(v, bool) and isinstance(v, Real) and math.isfinite(v)
    if ok:
        ok = (v > lo if lo_open else v >= lo) and (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        left = "(" if lo_open else "["
        right = (")" if hi_open else "]") if hi is not None else ")"
        span = f"in {left}{lo:g}, {'inf' if hi is None else f'{hi:g}'}{right}"
        raise DataError(f"data.{key} must be a finite number {span}{what}, got {v!r}")
    return float(v)


def available_memory() -> int:
    """Bytes available to a new allocation (MemAvailable; a large number where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62
