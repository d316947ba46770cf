"""Spike-time error of models/hh.toml (exponential Euler in Brian2) against a
tight LSODA integration (scipy) of the same single-neuron equations, per dt.

Why: the HH network's cost is proportional to 1/dt, so the largest dt whose
spike times stay within a stated tolerance is the cheapest honest choice.
Constant currents from just above the single-spike threshold to the strong
drive the network's synapses deliver; 50 ms from rest (one Randman sample).

    PYTHONPATH=. python results/hh/dt_error.py [--dts 0.01 0.02 ...] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from tests.hh_reference import lsoda_spike_times
from bioevo.model import load_model
from bioevo.neuron import simulate_single

CURRENTS = (3.0, 7.0, 10.0, 20.0, 50.0, 100.0)  # uA/cm^2
DURATION = 50.0  # ms, one Randman sample (n_steps = 50 at input_dt = 1 ms)


def spike_time_errors(dt_ms: float, currents=CURRENTS, duration: float = DURATION,
                      method: str | None = None) -> list[dict]:
    """Per current: spike counts (Brian2, LSODA), the largest |t - t_ref| and the
    largest |t - t_ref| / t_ref (inf on a count mismatch)."""
    model = load_model("hh")
    if method:
        model = replace(model, layers={**model.layers, "hidden": replace(model.layers["hidden"], method=method)})
    counts, times, _ = simulate_single(model, "hidden", np.array(currents), duration, dt_ms=dt_ms)
    rows = []
    for k, i_app in enumerate(currents):
        ref = lsoda_spike_times(i_app, duration)
        if len(ref) != counts[k]:
            err = rel = float("inf")
        else:
            diff = np.abs(times[k] - ref)
            err, rel = (float(diff.max()), float((diff / ref).max())) if len(ref) else (0.0, 0.0)
        rows.append({"i_app": i_app, "spikes": int(counts[k]), "ref_spikes": len(ref), "max_abs_error_ms": err,
                     "max_rel_error": rel})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dts", type=float, nargs="+", default=[0.005, 0.01, 0.02, 0.025, 0.05, 0.1])
    p.add_argument("--currents", type=float, nargs="+", default=list(CURRENTS), help="constant I_app in uA/cm^2")
    p.add_argument("--method", default=None, help="Brian2 method instead of the model file's (exponential_euler)")
    p.add_argument("--out", default=None, help="write the table as JSON here")
    args = p.parse_args()
    table = {}
    print("max |t - t_LSODA| in ms (max relative error in %) per I_app in uA/cm^2; spikes/ref on a count mismatch")
    print("| dt ms | " + " | ".join(f"I={i:g} ({len(lsoda_spike_times(i, DURATION))})" for i in args.currents) + " |")
    for dt in args.dts:
        rows = spike_time_errors(dt, currents=tuple(args.currents), method=args.method)
        table[dt] = rows
        cells = [f"{r['max_abs_error_ms']:.3f} ({100 * r['max_rel_error']:.2f}%)" if np.isfinite(r["max_abs_error_ms"])
                 else f"{r['spikes']}/{r['ref_spikes']} spikes" for r in rows]
        print(f"| {dt:g} | " + " | ".join(cells) + " |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({str(k): v for k, v in table.items()}, fh, indent=1)


if __name__ == "__main__":
    main()
