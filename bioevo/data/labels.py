"""Labels checked against the data before anything is sized by them.

A data kind that reads its labels from files (SHD, MNIST) takes the number of
classes from them, so a damaged label file would otherwise size the network
(a label of 1,000,000 builds a million readouts) or yield a task with one
class (every answer right: test accuracy 1.0). The rules, for every such kind:

- labels are integers >= 0;
- the training file holds every class 0..K-1 (K = its largest label + 1), and
  at least two: a class with no training sample can never be learned;
- a test label must be one of those K classes: a class only the test file
  has is an error, not a warning, because no run can learn it and every
  accuracy reported on it would be computed against a readout that was never
  trained for it.

These are checked in O(n) with the bound tested before ``np.bincount``
allocates, so an absurd label costs nothing. Surprising but legal data (a
``data.limit`` that leaves a class out of a split) is one line on stderr,
``bioevo: warning: ...`` (Python's ``warnings`` would add a source line, and
Brian2 reroutes them through its logger with a prefix and a suffix).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["warn", "training_classes", "check_split_labels", "warn_missing_classes"]


def warn(message: str) -> None:
    """One line on stderr for legal but surprising data."""
    sys.stderr.write(f"bioevo: warning: {message}\n")
    sys.stderr.flush()


def _integers(path: str | Path, labels: np.ndarray) -> None:
    if labels.ndim != 1:
        raise DataError(f"{path}: labels must be a 1-D array of class numbers, got shape {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be integers (class numbers 0..K-1), got {labels.dtype}")
    if labels.size and labels.dtype.kind == "i" and labels.min() < 0:
        i = int(np.argmin(labels))
        raise DataError(f"{path}: labels must be integers >= 0 (class numbers), sample {i} has {int(labels[i])}")


def training_classes(path: str | Path, labels: np.ndarray) -> int:
    """K, the number of classes of a training label array, after checking that its labels
    are integers >= 0 numbering the classes 0..K-1, each with a sample, and K >= 2."""
    labels = np.asarray(labels)
    _integers(path, labels)
    n = len(labels)
    if n == 0:
        raise DataError(f"{path}: holds no labels")
    top = labels.max()  # compared as the file's own type: a uint64 of 2**63 does not wrap
    if top >= n:
        i = int(np.argmax(labels))
        raise DataError(f"{path}: label {int(top)} (sample {i}) is not a class: the {n} training samples cannot hold "
                        f"every class 0..{int(top)}; labels must number the classes 0..K-1")
    counts = np.bincount(labels.astype(np.int64), minlength=int(top) + 1)
    k = len(counts)
    if np.count_nonzero(counts) < 2:
        raise DataError(f"{path}: every label is {int(top)}; a classification task needs at least 2 classes "
                        "(labels 0..K-1, each with a training sample)")
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        more = f" (and {missing.size - 1} other classes)" if missing.size > 1 else ""
        raise DataError(f"{path}: no training sample has class {int(missing[0])}{more}, though the largest label is "
                        f"{k - 1}; labels must number the classes 0..K-1, each with a training sample")
    return k


def check_split_labels(path: str | Path, labels: np.ndarray, n_classes: int, trained_on: str | Path) -> None:
    """Labels of a split read from another file (the test file) must be classes the training file has."""
    labels = np.asarray(labels)
    _integers(path, labels)
    if labels.size == 0:
        raise DataError(f"{path}: holds no labels")
    bad = labels >= n_classes
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: label {int(labels[i])} (sample {i}) is a class that {trained_on} never has "
                        f"(its classes are 0..{n_classes - 1}); no run can learn it")


def warn_missing_classes(labels: np.ndarray, n_classes: int, split: str, why: str) -> None:
    """One warning line when a split lacks some of the task's classes (legal, but surprising)."""
    present = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes) > 0
    if not present.all():
        missing = np.flatnonzero(~present)
        names = ", ".join(map(str, missing[:5])) + (", ..." if missing.size > 5 else "")
        warn(f"the {split} split has no sample of class{'es' if missing.size > 1 else ''} {names} "
             f"({missing.size} of {n_classes}); {why}")
