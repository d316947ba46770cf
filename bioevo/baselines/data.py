"""The preset's data exactly as training sees it: the same splits (the training
pipeline's own dataset function on the resolved config), the same encoded
rasters, and the evolved network's genome layout and initial genome."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..assemble import make_dataset, make_layout, seeded_streams, task_sizes
from ..config import ConfigError
from ..data.spikes import SpikeData
from ..genome import GenomeLayout
from ..model import ModelSpec, load_model

#: data kinds whose units are the pixels of a square image (row-major), so a CNN applies
IMAGE_KINDS = ("digits", "mnist")


def make_splits(cfg: dict) -> dict[str, SpikeData]:
    """train/val/test exactly as ``python -m bioevo.tasks.train`` makes them from ``cfg``
    (the training pipeline's own function, :func:`bioevo.assemble.make_dataset`)."""
    return make_dataset(cfg)


@dataclass
class Network:
    """The evolved network's model, genome layout and the genome training starts from."""

    model: ModelSpec
    layout: GenomeLayout
    initial: np.ndarray


def evolved_network(cfg: dict, splits: dict[str, SpikeData]) -> Network:
    """The model and genome layout of ``cfg``, and its initial genome: the same
    seeded draw the evolution strategy starts from."""
    try:
        model = load_model(cfg["model"]["name"], key="model.name")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    layout = make_layout(cfg, model, task_sizes(cfg, splits))
    return Network(model, layout, layout.initial(seeded_streams(cfg["evolve"]["seed"])["init"]))


def image_shape(cfg: dict, n_units: int) -> tuple[int, int] | None:
    """(height, width) when the preset's units are the pixels of a square image, else None."""
    if cfg["data"].get("kind") not in IMAGE_KINDS:
        return None
    side = math.isqrt(n_units)
    return (side, side) if side * side == n_units else None
