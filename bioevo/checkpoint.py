"""Epoch checkpoints: the strategy's state, the loop's state, the logbook and
the best genome in one HDF5 file, replaced atomically so that a crash while
writing leaves the previous checkpoint intact."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .strategies.base import read_state, write_state

CHECKPOINT = "checkpoint.h5"


@dataclass
class LoopState:
    """Everything the loop needs besides the strategy to continue exactly."""

    gen: int = 0  # the next generation to run
    best_val: float = -1.0
    best_gen: int = -1
    stale: int = 0  # validations without improvement
    stop_reason: str = ""
    best_genome: np.ndarray | None = None
    hof_genome: np.ndarray | None = None
    hof_loss: float = float("inf")
    records: list[dict] = field(default_factory=list)  # the DEAP logbook's records


def save_checkpoint(run_dir: Path, strategy_state: dict, loop: LoopState) -> None:
    path = run_dir / CHECKPOINT
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        write_state(f.create_group("strategy"), strategy_state)
        scalars = {k: v for k, v in asdict(loop).items() if k not in ("best_genome", "hof_genome", "records")}
        f.attrs["loop"] = json.dumps(scalars)
        f.attrs["records"] = json.dumps(loop.records)
        for name in ("best_genome", "hof_genome"):
            value = getattr(loop, name)
            if value is not None:
                f.create_dataset(name, data=value)
        f.flush()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(run_dir: Path) -> tuple[dict, LoopState]:
    with h5py.File(run_dir / CHECKPOINT, "r") as f:
        state = read_state(f["strategy"])
        loop = LoopState(**json.loads(f.attrs["loop"]), records=json.loads(f.attrs["records"]))
        loop.best_genome = f["best_genome"][()] if "best_genome" in f else None
        loop.hof_genome = f["hof_genome"][()] if "hof_genome" in f else None
    return state, loop
