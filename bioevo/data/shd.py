"""The Spiking Heidelberg Digits (SHD), read from the official HDF5 files.

Files ``shd_train.h5`` and ``shd_test.h5`` (decompressed) in ``data.path``, from
https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/ . Read:
``spikes/times`` (variable-length float arrays, seconds), ``spikes/units``
(variable-length ints, cochlea channels 0..699), ``labels`` (20 classes: the
digits 0-9 in English and German) and ``extra/speaker``; ``extra/keys`` and
``extra/meta_info`` are not needed.

Binning: bin k of ``bin_ms`` (default 10 ms, 100 bins = the first second,
which holds nearly every SHD word) holds the spikes with
k * bin_ms <= 1000 t < (k + 1) * bin_ms (float64); later spikes are dropped.
``data.channels`` pools neighbouring cochlea channels: channel u goes to
group floor(u * channels / 700), so 700 -> 128 joins 5 or 6 neighbours.
A bin keeps the COUNT of its spikes (uint8), which the network delivers as
``count_pre``; a count above 255 is an error (use shorter bins or more channels).
Each split is held as a compressed store or as a dense uint8 raster, whichever
is smaller (pooled channels can fill more than a fifth of the cells).

Validation is carved from the training file BY SPEAKER, not at random: SHD
has 12 speakers and two of them occur only in the test file. A random split
would put every validation speaker's voice in training too, so it would reward
memorising voices and overstate test accuracy; holding out whole speakers
(``val_speakers``, default 1 of the 10 training speakers, about a tenth of the
file, drawn by ``data.seed`` with scikit-learn's GroupShuffleSplit) makes
validation a stand-in for the unseen test speakers. Classes stay roughly
balanced because every speaker reads all 20 words (not enforced). The test set
is the official test file, never used for tuning. ``data.limit`` keeps a
stratified subset of each split for quick runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import MAX_SEED, DataError, float_key, int_key
from .files import data_dir, find_files
from .labels import check_split_labels, training_classes, warn_missing_classes
from .spikes import SparseRaster, SpikeData
from .splits import speaker_holdout, stratified_limit

__all__ = ["load_shd", "bin_spikes", "read_shd", "SHD_DEFAULTS", "SHD_FILES", "SHD_URL", "SHD_CHANNELS", "SHD_KEYS"]

SHD_CHANNELS = 700
SHD_FILES = ("shd_train.h5", "shd_test.h5")
SHD_URL = "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/"
SHD_KEYS = ("spikes/times", "spikes/units", "labels", "extra/speaker")
SHD_DEFAULTS: dict[str, Any] = {"path": None, "n_steps": 100, "bin_ms": 10.0, "channels": SHD_CHANNELS, "seed": 0,
                                "val_speakers": 1, "limit": 0}
_CHUNK = 512  # samples binned at once


def bin_spikes(times: np.ndarray, units: np.ndarray, lengths: np.ndarray, n_steps: int, bin_ms: float,
               channels: int, n_units: int = SHD_CHANNELS) -> SparseRaster:
    """Count raster store of spike lists: sample i owns the next ``lengths[i]`` entries of
    ``times`` (s, finite, >= 0) and ``units`` (0..n_units-1). Spikes past n_steps bins are dropped."""
    n = len(lengths)
    sample = np.repeat(np.arange(n, dtype=np.int64), lengths)
    bins = np.floor(np.asarray(times, dtype=np.float64) * (1000.0 / bin_ms))
    keep = bins < n_steps
    group = np.asarray(units, dtype=np.int64)[keep] * channels // n_units
    key = (sample[keep] * n_steps + bins[keep].astype(np.int64)) * channels + group
    key, counts = np.unique(key, return_counts=True)
    if counts.size and counts.max() > 255:
        raise DataError(f"data.bin_ms ({bin_ms:g}) / data.channels ({channels}): a bin holds {counts.max()} spikes of "
                        "one channel, more than a uint8 count (255); use shorter bins or more channels")
    cell_span = n_steps * channels
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // cell_span, minlength=n), out=offsets[1:])
    return SparseRaster(offsets, (key % cell_span).astype(np.int32), counts.astype(np.uint8), n_steps, channels)


def _check_spikes(path: Path, first: int, times: np.ndarray, units: np.ndarray, lengths: np.ndarray) -> None:
    """Times finite and >= 0, unit ids integers in 0..699; the error names the file and sample."""
    def sample_of(mask: np.ndarray) -> int:
        return first + int(np.searchsorted(np.cumsum(lengths), np.flatnonzero(mask)[0], side="right"))

    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        i = sample_of(bad)
        raise DataError(f"{path}: spike times must be finite and >= 0 (seconds), sample {i} has "
                        f"{float(times[np.flatnonzero(bad)[0]])!r}")
    bad = (units < 0) | (units >= SHD_CHANNELS)
    if bad.any():
        raise DataError(f"{path}: unit ids must lie in 0..{SHD_CHANNELS - 1} (the {SHD_CHANNELS} cochlea channels), "
                        f"sample {sample_of(bad)} has {int(units[np.flatnonzero(bad)[0]])}")


def _vlen(f: Any, path: Path, key: str, a: int, b: int, kinds: str) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated values of samples a..b of a variable-length dataset, and each sample's length."""
    rows = f[key][a:b]
    arrays = [np.asarray(r) for r in rows]
    if any(r.ndim != 1 or (r.size and r.dtype.kind not in kinds) for r in arrays):
        what = "numbers" if "f" in kinds else "integers"
        raise DataError(f"{path}: {key} must hold one variable-length array of {what} per sample")
    lengths = np.array([len(r) for r in arrays], dtype=np.int64)
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    return values, lengths


def read_shd(path: Path, n_steps: int, bin_ms: float, channels: int) -> tuple[SparseRaster, np.ndarray, np.ndarray]:
    """(binned count store, labels as stored, speakers int64) of one SHD file; any problem is a DataError."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            missing = [k for k in SHD_KEYS if k not in f]
            if missing:
                raise DataError(f"{path}: missing the dataset {missing[0]!r} (the SHD layout has "
                                + ", ".join(SHD_KEYS) + ")")
            for key in ("spikes/times", "spikes/units"):
                if not isinstance(f[key], h5py.Dataset) or h5py.check_vlen_dtype(f[key].dtype) is None:
                    raise DataError(f"{path}: {key} must be a variable-length dataset (one array per sample)")
            labels, speakers = np.asarray(f["labels"][()]), np.asarray(f["extra/speaker"][()])
            n = len(f["spikes/times"])
            sizes = {"spikes/times": n, "spikes/units": len(f["spikes/units"]), "labels": labels.shape,
                     "extra/speaker": speakers.shape}
            if any(v not in (n, (n,)) for v in sizes.values()):
                raise DataError(f"{path}: datasets must have one entry per sample, got "
                                + ", ".join(f"{k} {v}" for k, v in sizes.items()))
            for key, arr in (("labels", labels), ("extra/speaker", speakers)):
                if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0):
                    raise DataError(f"{path}: {key} must be integers >= 0, got {arr.dtype} "
                                    f"values {arr.min()}..{arr.max()}")
            parts, n_spikes, first_ms = [], 0, np.inf
            for a in range(0, n, _CHUNK):
                b = min(n, a + _CHUNK)
                times, lt = _vlen(f, path, "spikes/times", a, b, "fiu")
                units, lu = _vlen(f, path, "spikes/units", a, b, "iu")
                if not np.array_equal(lt, lu):
                    i = a + int(np.flatnonzero(lt != lu)[0])
                    raise DataError(f"{path}: sample {i} has {lt[i - a]} spike times but {lu[i - a]} unit ids")
                times = times.astype(np.float64)
                _check_spikes(path, a, times, units, lt)
                n_spikes += len(times)
                first_ms = min(first_ms, 1000.0 * times.min(initial=np.inf))
                parts.append(bin_spikes(times, units, lt, n_steps, bin_ms, channels))
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:
        raise DataError(f"{path}: cannot read it as an SHD HDF5 file ({type(err).__name__}: {err})") from None
    if n == 0 or n_spikes == 0:
        raise DataError(f"{path}: holds no {'samples' if n == 0 else 'spikes'}")
    store = SparseRaster.concatenate(parts)
    if len(store.cells) == 0:
        raise DataError(f"data.n_steps x data.bin_ms = {n_steps} x {bin_ms:g} ms ends before the first spike of "
                        f"{path} (at {first_ms:.3f} ms): every spike is cut; lengthen them")
    return store, labels, speakers.astype(np.int64)  # labels in the file's type: checked by the caller


def load_shd(data: dict[str, Any], run_seed: int = 0) -> dict[str, SpikeData]:
    """Binned SHD: train/val (held-out speakers) from shd_train.h5, test from shd_test.h5 (``run_seed`` unused)."""
    n_steps = int_key(data, "n_steps", 1)
    bin_ms = float_key(data, "bin_ms", 0.0, lo_open=True)
    channels = int_key(data, "channels", 1, SHD_CHANNELS, what=" (neighbouring cochlea channels are pooled)")
    if n_steps * channels >= 2**31:
        raise DataError(f"data.n_steps x data.channels must stay below 2**31, got {n_steps} x {channels}")
    seed = int_key(data, "seed", 0, MAX_SEED)
    n_val = int_key(data, "val_speakers", 1, what=" (training speakers held out for validation)")
    limit = int_key(data, "limit", 0, what=" (samples per split; 0 = all)")
    wanted = " and ".join(SHD_FILES)
    d = data_dir(data["path"], "shd", wanted, SHD_URL)
    gz = [name for name in SHD_FILES if not (d / name).is_file() and (d / (name + ".gz")).is_file()]
    if gz:
        raise DataError(f"data.path: {d} holds {gz[0]}.gz: decompress it first (gunzip {d / gz[0]}.gz)")
    f_train, f_test = find_files(d, SHD_FILES, ("",), wanted, SHD_URL)
    train_store, train_y, speakers = read_shd(f_train, n_steps, bin_ms, channels)
    test_store, test_y, _ = read_shd(f_test, n_steps, bin_ms, channels)
    n_classes = training_classes(f_train, train_y)  # before anything is sized by a label
    check_split_labels(f_test, test_y, n_classes, f_train)
    train_y, test_y = train_y.astype(np.int64), test_y.astype(np.int64)
    n_speakers = len(np.unique(speakers))
    if n_val >= n_speakers:
        raise DataError(f"data.val_speakers must be an integer in 1..{n_speakers - 1} ({f_train} has "
                        f"{n_speakers} speaker{'s' if n_speakers != 1 else ''}), got {n_val}")
    train_idx, val_idx = speaker_holdout(speakers, n_val, seed)
    out = {}
    for name, store, y, idx in (("train", train_store, train_y, train_idx), ("val", train_store, train_y, val_idx),
                                ("test", test_store, test_y, np.arange(len(test_y)))):
        idx = idx[stratified_limit(y[idx], limit, seed, name)]
        out[name] = SpikeData(store.take(idx).compact(), y[idx], n_classes)
    if limit:
        warn_missing_classes(out["train"].labels, n_classes, "training", f"data.limit {limit} is too small to keep "
                             "every class; raise it")
    return out
