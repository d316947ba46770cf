"""python -m bioevo.tasks.score_checkpoint: test accuracy of the best genome so far in a run's checkpoint.

For a run still going, or stopped before its end: the number its summary.json would report as test
accuracy if it ended now (the best-by-validation genome scored on the test split), without stopping
it.  The checkpoint is copied first, so the run may write a new one meanwhile.  Prints one JSON line
per run directory."""
from __future__ import annotations

import csv
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..cli import Parser, run_command
from ..config import ConfigError

PROG = "python -m bioevo.tasks.score_checkpoint"


def wall_seconds_at(run_dir: Path, generations: int) -> float | None:
    """Wall seconds of the run when it had finished ``generations`` (from metrics.csv; None if absent)."""
    try:
        with open(run_dir / "metrics.csv", newline="") as f:
            return next((float(r["wall_seconds"]) for r in csv.DictReader(f) if int(r["gen"]) == generations - 1),
                        None)
    except FileNotFoundError:
        return None


def score_checkpoint(run_dir: str | Path) -> dict:
    """The checkpoint's generation, the run's wall time then, the best genome's generation and validation
    accuracy, and its test accuracy and loss through the scorer training uses."""
    from ..assemble import assemble
    from ..checkpoint import CHECKPOINT, read_checkpoint
    from ..config import resolve_config

    run = Path(run_dir)
    if not (run / CHECKPOINT).is_file():
        raise ConfigError(f"'{run}' holds no {CHECKPOINT}; name a run directory")
    with tempfile.TemporaryDirectory() as tmp:  # a copy: the run may write its checkpoint meanwhile
        shutil.copy(run / CHECKPOINT, Path(tmp) / CHECKPOINT)
        _, loop, _ = read_checkpoint(Path(tmp))
    parts = assemble(resolve_config(run / "config.toml"))
    try:
        test = parts.splits["test"]
        loss, pred = parts.scorer.dataset(loop.best_genome, test)
    finally:
        parts.scorer.evaluator.close()
    return {"run": str(run), "checkpoint_generation": loop.gen, "wall_seconds": wall_seconds_at(run, loop.gen),
            "best_generation": loop.best_gen, "best_val_accuracy": loop.best_val,
            "test_accuracy": float(np.mean(pred == test.labels)), "test_loss": float(loss)}


def main(argv: list[str] | None = None) -> list[dict]:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directory holding checkpoint.h5")
    args = p.parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)

    def body() -> list[dict]:
        rows = []
        for run_dir in args.run_dirs:
            rows.append(score_checkpoint(run_dir))
            print(json.dumps(rows[-1]), flush=True)
        return rows

    return run_command(PROG, body)


if __name__ == "__main__":
    main()
