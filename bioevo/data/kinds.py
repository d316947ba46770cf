"""The registry of data kinds: ``[data] kind = ...`` -> its keys, loader and input figure.

Each kind lists every key of its ``[data]`` table (except ``kind``) with its
default; the config module checks types from these defaults, the loaders
check ranges and files and raise :class:`DataError` naming ``data.<key>`` or
the file. Every kind has ``n_steps`` and ``seed``. ``seed`` picks the
draw/split: Randman's default None means the run's seed (each run its own
data, as before); the real data sets default to 0, a fixed split, so every
run and every baseline on a preset sees the same train/val/test samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import DataError, available_memory
from .clicks import CLICKS_DEFAULTS, clicks_describe, load_clicks
from .images import DIGITS_DEFAULTS, MNIST_DEFAULTS, load_digits, load_mnist
from .plots import plot_count_raster, plot_image_inputs, plot_raster
from .randman import RandmanConfig, make_randman
from .shd import SHD_DEFAULTS, load_shd
from .spikes import SpikeData

__all__ = ["DataError", "DataKind", "DATA_KINDS", "make_dataset", "fill_defaults", "RANDMAN_DEFAULTS"]


@dataclass(frozen=True)
class DataKind:
    """One data set: its [data] keys and defaults, loader, input figure and help line."""

    name: str
    defaults: dict[str, Any]  # every key of [data] except "kind"; None = optional, typed in optional_types
    optional_types: dict[str, type]
    load: Callable[[dict, int], dict[str, SpikeData]]  # (filled [data] table, run seed) -> train/val/test
    plot: Callable[[SpikeData, Path], list[Path]]  # input figure(s) of a few samples into a run directory
    doc: str  # one line for --help / README
    # what a run reports about the splits besides accuracy (e.g. an ideal observer's), for summary.json
    describe: Callable[[dict[str, SpikeData]], dict[str, Any]] | None = None
    # checks the kind's keys with the config, before any work (a DataError naming data.<key>); kinds
    # whose keys depend on their files check them when they load
    check: Callable[[dict], None] | None = None
    # the training set's size from the keys alone, where they say it (the batch size is checked with it)
    train_size: Callable[[dict], int] | None = None


RANDMAN_DEFAULTS: dict[str, Any] = {"n_classes": 2, "n_units": 30, "dim_manifold": 1, "alpha": 2.0, "n_steps": 50,
                                    "split": [800, 100, 100], "nb_spikes": 1, "seed": None}


def _randman_config(data: dict[str, Any], run_seed: int) -> RandmanConfig:
    """The generator's parameters from a [data] table: seed None = the run's seed."""
    seed = data["seed"] if data["seed"] is not None else run_seed
    split = tuple(data["split"]) if isinstance(data["split"], (list, tuple)) else data["split"]
    return RandmanConfig(n_classes=data["n_classes"], n_units=data["n_units"], dim_manifold=data["dim_manifold"],
                         alpha=data["alpha"], n_steps=data["n_steps"], split=split, nb_spikes=data["nb_spikes"],
                         seed=seed)


def check_randman(data: dict[str, Any]) -> None:
    """Randman's keys, named as data.<key>."""
    try:
        _randman_config(data, 0).validate(prefix="data")
    except ValueError as err:
        raise DataError(str(err)) from None


def load_randman(data: dict[str, Any], run_seed: int) -> dict[str, SpikeData]:
    """Randman as the training loop has always made it: seed None = the run's seed."""
    check_randman(data)
    raster_bytes = data["n_classes"] * sum(data["split"]) * data["n_steps"] * data["n_units"] * data["nb_spikes"]
    if raster_bytes > 0.8 * available_memory():
        raise DataError(f"the Randman rasters would take {raster_bytes / 2**30:.1f} GiB, more than the memory "
                        "available; lower data.n_steps, data.split or data.n_units")
    return make_randman(_randman_config(data, run_seed))


def _plot_randman(data: SpikeData, run_dir: Path) -> list[Path]:
    return [plot_raster(data, Path(run_dir) / "input_raster.png")]


def _plot_images(data: SpikeData, run_dir: Path) -> list[Path]:
    return [plot_image_inputs(data, Path(run_dir) / "input_raster.png")]


def _plot_clicks(data: SpikeData, run_dir: Path) -> list[Path]:
    half = data.n_units // 2  # the first half of the units is the left side, class 0
    names = [f"L{i}" for i in range(half)] + [f"R{i}" for i in range(half)] if half > 1 else ["left", "right"]
    return [plot_raster(data, Path(run_dir) / "input_raster.png", n_per_class=3, unit_labels=names,
                        class_names=["left", "right"])]


def _plot_counts(data: SpikeData, run_dir: Path) -> list[Path]:
    return [plot_count_raster(data, Path(run_dir) / "input_raster.png")]


DATA_KINDS: dict[str, DataKind] = {
    "randman": DataKind("randman", RANDMAN_DEFAULTS, {"seed": int}, load_randman, _plot_randman,
                        "Randman (Zenke & Vogels 2021): spike timing on random smooth manifolds, synthetic",
                        check=check_randman, train_size=lambda data: data["split"][0] * data["n_classes"]),
    "digits": DataKind("digits", DIGITS_DEFAULTS, {}, load_digits, _plot_images,
                       "scikit-learn's 1,797 8x8 handwritten digits, latency-coded, offline"),
    "mnist": DataKind("mnist", MNIST_DEFAULTS, {"path": str}, load_mnist, _plot_images,
                      "MNIST from the four IDX files in data.path, latency-coded"),
    "shd": DataKind("shd", SHD_DEFAULTS, {"path": str}, load_shd, _plot_counts,
                    "Spiking Heidelberg Digits from shd_train.h5/shd_test.h5 in data.path, binned spike counts"),
    "clicks": DataKind("clicks", CLICKS_DEFAULTS, {}, load_clicks, _plot_clicks,
                       "Poisson clicks (Brunton et al. 2013): which side clicks at the higher rate, "
                       "answered after a silent delay, synthetic", clicks_describe),
}


def fill_defaults(data: dict[str, Any]) -> tuple[DataKind, dict[str, Any]]:
    """The kind named by ``data["kind"]`` (default randman) and the table with its defaults filled in;
    a key the kind does not have is a DataError."""
    name = data.get("kind", "randman")
    kind = DATA_KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise DataError(f"data.kind must be one of {', '.join(DATA_KINDS)}, got {name!r}")
    unknown = sorted(set(data) - set(kind.defaults) - {"kind"})
    if unknown:
        raise DataError(f"data.{unknown[0]} is not a key of data kind {name!r}; its keys are "
                        + ", ".join(kind.defaults))
    return kind, {**kind.defaults, **{k: v for k, v in data.items() if k != "kind"}}


def make_dataset(data: dict[str, Any], run_seed: int) -> dict[str, SpikeData]:
    """{"train", "val", "test"} -> SpikeData for a [data] table (missing keys take their defaults)."""
    kind, table = fill_defaults(data)
    splits = kind.load(table, run_seed)
    train = splits["train"]
    if len(np.unique(train.labels)) < 2:  # the last guard: a one-class task scores 1.0 whatever it learns
        raise DataError(f"data kind {kind.name!r}: the training split holds a single class "
                        f"({int(train.labels[0]) if len(train) else 'none'}); a classification task needs at least 2")
    return splits
