"""Test accuracy of the best-so-far genome in a run's checkpoint, while the run goes on: how far an
evolved run had come at a wall-time limit (the issue's 60 minutes), without stopping it.

    python results/closing-the-gap/mnist-6k/score_checkpoint.py RUN_DIR
"""
from __future__ import annotations

import csv
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bioevo.assemble import assemble
from bioevo.checkpoint import read_checkpoint
from bioevo.config import resolve_config


def main(run_dir: str) -> None:
    logging.getLogger("brian2").setLevel(logging.ERROR)
    out = Path(run_dir)
    with tempfile.TemporaryDirectory() as tmp:  # a copy: the run may write its checkpoint meanwhile
        shutil.copy(out / "checkpoint.h5", Path(tmp) / "checkpoint.h5")
        _, loop, _ = read_checkpoint(Path(tmp))
    cfg = resolve_config(out / "config.toml")
    with open(out / "metrics.csv") as f:
        wall = next(float(r["wall_seconds"]) for r in csv.DictReader(f) if int(r["gen"]) == loop.gen - 1)
    parts = assemble(cfg)
    test = parts.splits["test"]
    loss, pred = parts.scorer.dataset(loop.best_genome, test)
    print(json.dumps({"checkpoint_generation": loop.gen, "wall_seconds": wall, "best_generation": loop.best_gen,
                      "best_val_accuracy": loop.best_val, "test_accuracy": float(np.mean(pred == test.labels)),
                      "test_loss": loss}))


if __name__ == "__main__":
    main(sys.argv[1])
