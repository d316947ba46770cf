"""Are a competition-clicks genome's silent test trials the ones with nearly equal click counts?

    PYTHONPATH=. python results/where-gradients-fail/silent_trials.py RUN_DIR...
"""
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, "results/clicks")
from control import evaluate
from bioevo.assemble import assemble
from bioevo.rundir import load_genome
out = {}
for run in sys.argv[1:]:
    genome, _, cfg, _ = load_genome(Path(run) / "best_genome.h5")
    parts = assemble(cfg)
    test = parts.splits["test"]
    sc, scale = evaluate(parts, genome, test)
    parts.scorer.evaluator.close()
    silent = np.abs(sc[:, 1] - sc[:, 0]) <= 1e-3 * scale
    r = np.asarray(test.raster, float)  # (n, T, units): units_per_side 1 -> [left, right]
    counts = r[:, : cfg["data"]["stimulus_steps"], :].sum(axis=1)
    diff = np.abs(counts[:, 1] - counts[:, 0])
    pred_right = (np.argmax(sc, 1) == test.labels) & ~silent
    out[run] = {"silent": float(silent.mean()),
                "median |click difference| silent": float(np.median(diff[silent])) if silent.any() else None,
                "median |click difference| committed": float(np.median(diff[~silent])),
                "silent share for |diff| <= 2": float(silent[diff <= 2].mean()),
                "silent share for |diff| >= 6": float(silent[diff >= 6].mean()),
                "accuracy on committed trials": float(pred_right.sum() / (~silent).sum())}
    print(run, json.dumps(out[run]))
