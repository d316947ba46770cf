"""Test accuracy of the best-by-validation genome in a run's checkpoint, for a run still going
(or stopped before its end): what the run's summary.json would report as test accuracy if it
ended now.  Usage: PYTHONPATH=. python results/hh/test_of_checkpoint.py RUN_DIR"""
import sys
import tomllib
from pathlib import Path

from bioevo.assemble import assemble
from bioevo.checkpoint import read_checkpoint
from bioevo.report.metrics import classification_metrics

run = Path(sys.argv[1])
_, loop, _ = read_checkpoint(run)
cfg = tomllib.loads((run / "config.toml").read_text())
parts = assemble(cfg)
test = parts.splits["test"]
loss, pred = parts.scorer.dataset(loop.best_genome, test)
acc = classification_metrics(test.labels, pred, test.n_classes)["accuracy"]
print(f"{run}: best validation {loop.best_val:.4f} at generation {loop.best_gen + 1}, "
      f"checkpoint at generation {loop.gen}; test accuracy {acc:.4f}")
