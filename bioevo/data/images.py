"""Image data sets as latency-coded spikes: scikit-learn's 8x8 digits and MNIST.

digits: the 1,797 bundled 8x8 images (values 0..16, 10 classes), offline.
Split by ``data.seed`` (stratified): test 360 (20%: 36 per class, one
error = 0.28%, fine enough to check the 95% target) and validation 180 (10%:
18 per class, one error = 0.56%, and cheap to score every few generations),
training the other 1,257 (70%).

mnist: the four IDX files of yann.lecun.com/exdb/mnist (plain or .gz) in
``data.path``. Validation (``val_size``, default 5,000, the customary
55k/5k split) is carved from the training file, stratified by ``data.seed``;
test is the official test file. ``data.limit`` keeps a stratified subset of
each split for quick runs; ``data.pool`` averages pool x pool blocks (2: 28x28
-> 14x14, a quarter of the input synapses). Any IDX files of this layout load
(Fashion-MNIST uses the same names); the number of classes is the largest
label + 1.

Both keep their rasters as a compressed spike store (one int32 per firing
pixel, see sparse.py): full MNIST at 100 steps holds about 43 MB where the dense
raster would be 4.7 GB, and loading peaks near 180 MB (measured on files of
MNIST's size and ink density, 19% of pixels non-zero).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import MAX_SEED, DataError, float_key, int_key
from .files import data_dir, find_files
from .labels import check_split_labels, training_classes, warn_missing_classes
from .idx import read_idx
from .latency import latency_encode
from .spikes import SparseRaster, SpikeData
from .splits import stratified_holdout, stratified_limit

__all__ = ["load_digits", "load_mnist", "digits_split", "DIGITS_DEFAULTS", "MNIST_DEFAULTS", "MNIST_FILES", "MNIST_URL",
           "DIGITS_SCALE", "MNIST_SCALE"]

DIGITS_SCALE = 16
MNIST_SCALE = 255
MAX_IMAGE_STEPS = 32767  # latency steps are held as int16
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
MNIST_URL = "http://yann.lecun.com/exdb/mnist/"

DIGITS_DEFAULTS: dict[str, Any] = {"n_steps": 16, "seed": 0, "val_size": 180, "test_size": 360, "threshold": 0.0}
MNIST_DEFAULTS: dict[str, Any] = {"path": None, "n_steps": 100, "seed": 0, "val_size": 5000, "limit": 0,
                                  "pool": 1, "threshold": 0.0}


def _encoding_keys(data: dict[str, Any], scale: int) -> tuple[int, int, float]:
    n_steps = int_key(data, "n_steps", 1, MAX_IMAGE_STEPS)
    seed = int_key(data, "seed", 0, MAX_SEED)
    threshold = float_key(data, "threshold", 0.0, float(scale), hi_open=True,
                          what=f" (pixel values 0..{scale}; those at or below it stay silent)")
    return n_steps, seed, threshold


def _sets(store: SparseRaster, labels: np.ndarray, parts: dict[str, np.ndarray],
          n_classes: int) -> dict[str, SpikeData]:
    return {name: SpikeData(store.take(idx).compact(), labels[idx].astype(np.int64), n_classes)
            for name, idx in parts.items()}


def load_digits(data: dict[str, Any], run_seed: int = 0) -> dict[str, SpikeData]:
    """Latency-coded 8x8 digits split into train/val/test by ``data.seed`` (``run_seed`` unused)."""
    n_steps, seed, threshold = _encoding_keys(data, DIGITS_SCALE)
    from sklearn.datasets import load_digits as sk_digits

    images, labels = sk_digits(return_X_y=True)
    n, k = len(labels), 10
    test = int_key(data, "test_size", k, n - 2 * k, what=f" (of the {n} digits; at least one per class)")
    val = int_key(data, "val_size", k, n - test - k,
                  what=f" (of the {n - test} digits left after data.test_size; at least one per class)")
    store = latency_encode(images, DIGITS_SCALE, n_steps, threshold)
    return _sets(store, labels, digits_split(labels, val, test, seed), k)


def digits_split(labels: np.ndarray, val_size: int, test_size: int, seed: int) -> dict[str, np.ndarray]:
    """Indices of the digits' train/val/test sets: test held out stratified, then val from the rest."""
    rest, test_idx = stratified_holdout(labels, test_size, seed)
    train_pos, val_pos = stratified_holdout(labels[rest], val_size, seed)
    return {"train": rest[train_pos], "val": rest[val_pos], "test": test_idx}


def _read_mnist(path: Path, ndim: int, kind: str) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != ndim:
        magic = "0x00000803" if ndim == 3 else "0x00000801"
        raise DataError(f"{path}: expected {kind} as a {ndim}-D unsigned-byte IDX array (magic {magic}), "
                        f"got {arr.ndim}-D {arr.dtype}")
    return arr


def _pooled(images: np.ndarray, pool: int) -> np.ndarray:
    """(n, H/pool * W/pool) block sums (uint8 unchanged for pool 1)."""
    n, h, w = images.shape
    if pool == 1:
        return images.reshape(n, h * w)
    blocks = images.reshape(n, h // pool, pool, w // pool, pool)
    return blocks.sum(axis=(2, 4), dtype=np.int32).reshape(n, -1)


def load_mnist(data: dict[str, Any], run_seed: int = 0) -> dict[str, SpikeData]:
    """Latency-coded MNIST from ``data.path``: train/val from the training file, test the test file."""
    n_steps, seed, threshold = _encoding_keys(data, MNIST_SCALE)
    pool = int_key(data, "pool", 1)
    limit = int_key(data, "limit", 0, what=" (samples per split; 0 = all)")
    val_size = int_key(data, "val_size", 1)
    wanted = ", ".join(MNIST_FILES) + " (plain or .gz)"
    d = data_dir(data["path"], "mnist", wanted, MNIST_URL)
    f_xtr, f_ytr, f_xte, f_yte = find_files(d, MNIST_FILES, ("", ".gz"), wanted, MNIST_URL)
    xtr, ytr = _read_mnist(f_xtr, 3, "images"), _read_mnist(f_ytr, 1, "labels")
    xte, yte = _read_mnist(f_xte, 3, "images"), _read_mnist(f_yte, 1, "labels")
    for (fx, x), (fy, y) in (((f_xtr, xtr), (f_ytr, ytr)), ((f_xte, xte), (f_yte, yte))):
        if len(x) != len(y):
            raise DataError(f"{fx} holds {len(x)} images but {fy} holds {len(y)} labels; they must match")
        if len(x) == 0:
            raise DataError(f"{fx} holds no images")
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"{f_xtr} has {xtr.shape[1]}x{xtr.shape[2]} images but {f_xte} has "
                        f"{xte.shape[1]}x{xte.shape[2]}; they must match")
    h, w = xtr.shape[1:]
    if h == 0 or w == 0:
        raise DataError(f"{f_xtr}: images of {h}x{w} pixels hold nothing to encode; each side must be >= 1")
    if h % pool or w % pool:
        sides = [p for p in range(1, min(h, w) + 1) if h % p == 0 and w % p == 0]
        raise DataError(f"data.pool ({pool}) must divide the image size {h}x{w}: one of "
                        + ", ".join(map(str, sides)))
    n_classes = training_classes(f_ytr, ytr)  # before anything is sized by a label
    check_split_labels(f_yte, yte, n_classes, f_ytr)
    n = len(ytr)
    if val_size > n - n_classes or val_size < n_classes:
        raise DataError(f"data.val_size must be an integer in {n_classes}..{n - n_classes} (one sample per class "
                        f"on either side of the {n} training images), got {val_size}")
    try:
        train_idx, val_idx = stratified_holdout(ytr, val_size, seed)
    except ValueError as err:  # a class with a single training image cannot be stratified
        raise DataError(f"data.val_size: cannot stratify {f_ytr} ({err})") from None
    scale, thr = MNIST_SCALE * pool * pool, threshold * pool * pool
    picks = {name: idx[stratified_limit(ytr[idx], limit, seed, name)]
             for name, idx in (("train", train_idx), ("val", val_idx))}
    picks_te = stratified_limit(yte, limit, seed, "test")
    sets = {}
    for name, x, y, idx in (("train", xtr, ytr, picks["train"]), ("val", xtr, ytr, picks["val"]),
                            ("test", xte, yte, picks_te)):
        store = latency_encode(_pooled(x[idx], pool), scale, n_steps, thr)
        sets[name] = SpikeData(store.compact(), y[idx].astype(np.int64), n_classes)
    if limit:
        warn_missing_classes(sets["train"].labels, n_classes, "training", f"data.limit {limit} is too small to keep "
                             "every class; raise it")
    return sets
