"""Training against held-out accuracy and loss of the kept genome of evolved digits runs, beside
the surrogate-gradient twin's (whose history holds the mean training loss of each epoch).

    python results/closing-the-gap/digits/generalisation.py RUN_DIR [RUN_DIR ...]

For each run: its best_genome.h5 scored (the network's loss and accuracy, no perturbation) on the
full training split, validation and test, through the same scorer training used.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np

from bioevo.assemble import assemble
from bioevo.rundir import load_genome


def scored(run_dir: Path) -> dict:
    genome, _, cfg, _ = load_genome(run_dir / "best_genome.h5")
    parts = assemble(cfg)
    out = {}
    for split in ("train", "val", "test"):
        data = parts.splits[split]
        loss, pred = parts.scorer.dataset(genome, data)
        out[split] = (float(loss), float(np.mean(pred == data.labels)))
    return out


def main(dirs: list[str]) -> None:
    logging.getLogger("brian2").setLevel(logging.ERROR)
    print("| run | train loss | train acc | val loss | val acc | test loss | test acc |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for d in map(Path, dirs):
        s = scored(d)
        print(f"| {d} | " + " | ".join(f"{s[k][0]:.3f} | {100 * s[k][1]:.2f}%" for k in ("train", "val", "test")) + " |")
    sg = Path(__file__).parents[2] / "digits"
    for b in sorted(sg.glob("baselines-s*/baselines.json")):
        m = json.loads(b.read_text())["methods"]["snn"]
        epoch = next(h for h in m["history"] if h["epoch"] == m["best_epoch"])
        print(f"| surrogate gradients, {b.parent.name} (mean minibatch loss of the kept epoch) | "
              f"{epoch['train_loss']:.3f} | | {m['val_loss']:.3f} | {100 * m['val_accuracy']:.2f}% | "
              f"{m['test_loss']:.3f} | {100 * m['test_accuracy']:.2f}% |")


if __name__ == "__main__":
    main(sys.argv[1:])
