"""Decisive test accuracy (results/clicks/README.md) of an evolved run and of the BPTT genome
trained on the same preset and seed, both scored by the Brian2 network on the test split.

    PYTHONPATH=. python results/where-gradients-fail/decisive.py ES_RUN_DIR [BPTT_DIR]

ES_RUN_DIR holds best_genome.h5 (the evolved genome, its layout and config); BPTT_DIR holds
baselines.json from `python -m bioevo.tasks.baselines --methods bptt` on the same preset and
seed: its genome has the same layout, so it is put into the evolved run's network.  An ES run
stopped before its end (no best_genome.h5) is scored from its checkpoint's best genome.  The
argmax accuracy Brian2 gives the BPTT genome must equal the test accuracy the JAX twin
reported (a check of the twin on the whole test split).  Writes decisive.json into each dir.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clicks"))
from control import evaluate, stats  # noqa: E402

from bioevo.assemble import assemble  # noqa: E402
from bioevo.checkpoint import read_checkpoint  # noqa: E402
from bioevo.config import resolve_config  # noqa: E402
from bioevo.rundir import load_genome  # noqa: E402


def kept_genome(run: Path) -> tuple[np.ndarray, dict]:
    """The run's kept genome and config: best_genome.h5, or the checkpoint of a run stopped early."""
    if (run / "best_genome.h5").exists():
        genome, _, cfg, _ = load_genome(run / "best_genome.h5")
        return genome, cfg
    _, loop, _ = read_checkpoint(run)
    return np.asarray(loop.best_genome, float), resolve_config(run / "config.toml")


def main(es_dir: str, bptt_dir: str | None = None) -> dict:
    genome, cfg = kept_genome(Path(es_dir))
    cfg["evolve"]["samples"] = cfg["evolve"].get("samples", "sequential")
    parts = assemble(cfg)
    test = parts.splits["test"]
    scores, scale = evaluate(parts, genome, test)
    out = {"es": {**stats(scores, test.labels, 1e-3 * scale), "readout_scale": scale}}
    if bptt_dir:
        row = json.loads((Path(bptt_dir) / "baselines.json").read_text())["methods"]["bptt"]
        g = np.asarray(row["genome"], float)
        assert g.shape == genome.shape, (g.shape, genome.shape)
        s2, scale2 = evaluate(parts, g, test)
        out["bptt"] = {**stats(s2, test.labels, 1e-3 * scale2), "readout_scale": scale2,
                       "jax_test_accuracy": row["test_accuracy"]}
    parts.scorer.evaluator.close()
    return out


if __name__ == "__main__":
    res = main(*sys.argv[1:3])
    print(json.dumps(res, indent=1))
    (Path(sys.argv[1]) / "decisive.json").write_text(json.dumps(res["es"], indent=1) + "\n")
    if len(sys.argv) > 2:
        (Path(sys.argv[2]) / "decisive.json").write_text(json.dumps(res["bptt"], indent=1) + "\n")
