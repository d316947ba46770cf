"""No-memory control for the clicks presets: the best genome of a run, evaluated on the test split
(a) as trained, (b) with the hidden layer's recurrence removed (the recurrent weight genes set to 0:
`hidden_hidden`; for the competition circuit its self-excitation `exc_exc`, and separately all three
recurrent pathways).  The inputs are silent after the stimulus, so without recurrence nothing but the
hidden neurons' own decaying currents can carry the decision into the response window.

Besides the accuracy (argmax of the readout's max over the response window, what summary.json
reports) it reports the median |score difference| between the two readouts in the window and the
"decisive" accuracy, in which a difference below 1e-3 of the readout's scale (the median over test
trials of the largest |readout| anywhere in the trial, i.e. during the stimulus) counts as a tie
(half right).  A linear leaky readout with shared time constants keeps the ORDER of its two traces
through any delay in exact arithmetic (both decay by the same factor), so a plain argmax stays above
chance on a trace decayed to e^-10 of its size: the decisive accuracy is the honest one.

    PYTHONPATH=. python results/clicks/control.py results/clicks/lif-clicks-s0 [...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from bioevo.assemble import assemble
from bioevo.rundir import load_genome

RECURRENT = {"w.hidden_hidden": "recurrence", "w.exc_exc": "self-excitation"}
ALL_RECURRENT = ("w.hidden_hidden", "w.exc_exc", "w.exc_inh", "w.inh_exc")


def evaluate(parts, genome, data):
    scores, peak = [], []
    for _, r in parts.scorer.chunks(genome, data):
        scores.append(parts.scorer.scores(r)[0])
        peak.append(np.abs(np.asarray(r.trace)[0]).max(axis=(1, 2)))  # largest |readout| in each trial
    return np.concatenate(scores), float(np.median(np.concatenate(peak)))  # (n, 2), the readout's scale


def stats(scores, labels, tol):
    diff = scores[:, 1] - scores[:, 0]
    pred = np.argmax(scores, axis=1)
    signed = np.where(labels == 1, diff, -diff)
    tied = (signed > tol) + 0.5 * (np.abs(signed) <= tol)
    return {"accuracy": float(np.mean(pred == labels)), "median_abs_diff": float(np.median(np.abs(diff))),
            "accuracy_ties_below_tol": float(np.mean(tied)), "tie_fraction": float(np.mean(np.abs(signed) <= tol))}


def main(run_dir: str) -> dict:
    run = Path(run_dir)
    genome, layout, cfg, _ = load_genome(run / "best_genome.h5")
    cfg["evolve"]["samples"] = cfg["evolve"].get("samples", "sequential")
    parts = assemble(cfg)
    test = parts.splits["test"]
    sl = parts.layout.slices()
    out = {}
    intact, scale = evaluate(parts, genome, test)
    tol = 1e-3 * scale
    out["intact"] = stats(intact, test.labels, tol)
    variants = {f"no {RECURRENT[k]}": (k,) for k in RECURRENT if k in sl}
    if "w.exc_exc" in sl:
        variants["no recurrent pathway"] = tuple(k for k in ALL_RECURRENT if k in sl)
    for name, keys in variants.items():
        g = genome.copy()
        for k in keys:
            g[sl[k]] = 0.0
        out[name] = stats(evaluate(parts, g, test)[0], test.labels, tol)
    out["readout_scale"], out["tol"] = scale, tol
    parts.scorer.evaluator.close()
    return out


if __name__ == "__main__":
    for d in sys.argv[1:]:
        res = main(d)
        print(d, json.dumps(res, indent=1), flush=True)
        (Path(d) / "control.json").write_text(json.dumps(res, indent=1) + "\n")
