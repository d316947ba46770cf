"""Seeded splits of real data sets, by scikit-learn.

Every real data set is split by ``data.seed`` (default 0), never by the run's
seed, so every run and every baseline trained on a preset sees the same
train/val/test samples.
"""
from __future__ import annotations

import numpy as np

from .errors import DataError

__all__ = ["stratified_holdout", "stratified_limit", "speaker_holdout"]


def stratified_holdout(labels: np.ndarray, n_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) indices into ``labels``: ``n_out`` samples held out with the class
    proportions of the whole (scikit-learn's stratified ``train_test_split``); both shuffled.

    The caller checks ``n_out`` (at least one sample per class on either side).
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    kept, out = train_test_split(idx, test_size=int(n_out), stratify=labels, random_state=seed)
    return np.asarray(kept, dtype=np.int64), np.asarray(out, dtype=np.int64)


def stratified_limit(labels: np.ndarray, limit: int, seed: int, split: str) -> np.ndarray:
    """Indices of at most ``limit`` samples of one split (``data.limit``; 0 = all, in order).

    Stratified where scikit-learn can (at least one sample of each class on both
    sides), else a seeded random draw; a limit above the split's size is a DataError.
    """
    n = len(labels)
    if limit == 0 or limit == n:
        return np.arange(n)
    if limit > n:
        raise DataError(f"data.limit ({limit}) is larger than the {split} split ({n} samples); "
                        f"use 0 (all) or at most {n}")
    n_classes = len(np.unique(labels))
    if min(limit, n - limit) >= n_classes and _every_class_twice(labels):
        kept, _ = stratified_holdout(labels, n - limit, seed)
        return kept
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def _every_class_twice(labels: np.ndarray) -> bool:
    counts = np.bincount(labels)
    return bool(counts[counts > 0].min(initial=2) >= 2)


def speaker_holdout(speakers: np.ndarray, n_speakers: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices: all recordings of ``n_speakers`` speakers, drawn by ``seed``
    (scikit-learn's ``GroupShuffleSplit``), go to validation."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=int(n_speakers), random_state=seed)
    train, val = next(splitter.split(np.zeros(len(speakers)), groups=speakers))
    return np.asarray(train, dtype=np.int64), np.asarray(val, dtype=np.int64)
