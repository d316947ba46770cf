"""Epoch checkpoints: the strategy's state, the loop's state and the best
genome in one HDF5 file, replaced atomically so that a crash (or a
full disk) while writing leaves the previous checkpoint intact.  The resolved
config is stored too, so a resume can refuse a config.toml edited since."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import h5py
import numpy as np

from .config import ConfigError
from .rundir import write_hdf5
from .strategies.base import read_state, write_state

CHECKPOINT = "checkpoint.h5"


@dataclass
class LoopState:
    """Everything the loop needs besides the strategy to continue exactly."""

    gen: int = 0  # the next generation to run
    best_val: float = -1.0  # validation accuracy of the kept genome
    best_gen: int = -1
    # validation loss of the kept genome (inf before the first record, and in checkpoints written before
    # evolve.keep_by existed: a run kept by accuracy then records it at its next improvement)
    best_val_loss: float = math.inf
    stale: int = 0  # validations without improvement
    stop_reason: str = ""
    best_genome: np.ndarray | None = None
    average: np.ndarray | None = None  # the moving average of the strategy's mean (evolve.average_decay > 0)
    wall_seconds: float = 0.0  # training time of the segments before this checkpoint, summed


#: the LoopState fields stored as datasets, not in the "loop" attribute's JSON
ARRAYS = ("best_genome", "average")


def save_checkpoint(run_dir: Path, strategy_state: dict, loop: LoopState, config: dict | None = None) -> None:
    def fill(f: h5py.File) -> None:
        write_state(f.create_group("strategy"), strategy_state)
        f.attrs["loop"] = json.dumps({k: v for k, v in asdict(loop).items() if k not in ARRAYS})
        if config is not None:
            f.attrs["config"] = json.dumps(config)
        for name in ARRAYS:
            if getattr(loop, name) is not None:
                f.create_dataset(name, data=getattr(loop, name))

    write_hdf5(run_dir / CHECKPOINT, fill, sync=True)


def read_checkpoint(run_dir: Path) -> tuple[dict, LoopState, dict | None]:
    """(strategy state, loop state, the config it was written with or None for
    checkpoints of older versions).  Nothing is modified."""
    path = Path(run_dir) / CHECKPOINT
    try:
        with h5py.File(path, "r") as f:
            state = read_state(f["strategy"])
            scalars = json.loads(f.attrs["loop"])
            known = {fl.name for fl in fields(LoopState)}  # older checkpoints also held a logbook and hall of fame
            loop = LoopState(**{k: v for k, v in scalars.items() if k in known})
            for name in ARRAYS:
                setattr(loop, name, f[name][()] if name in f else None)
            config = json.loads(f.attrs["config"]) if "config" in f.attrs else None
    except FileNotFoundError:
        raise ConfigError(f"'{path}' is missing") from None
    except (OSError, KeyError, TypeError, ValueError) as err:  # truncated, not HDF5, keys missing, bad JSON
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise ConfigError(f"'{path}' is damaged and cannot be read ({reason}); nothing was changed. "
                       "Start the run again with a new --out") from None
    if not isinstance(loop.gen, int) or loop.gen < 0:
        raise ConfigError(f"'{path}' is damaged (generation {loop.gen!r}); nothing was changed")
    return state, loop, config
