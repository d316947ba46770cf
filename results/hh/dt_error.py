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
from scipy.integrate import solve_ivp

from bioevo.model import load_model
from bioevo.neuron import simulate_single

CURRENTS = (3.0, 7.0, 10.0, 20.0, 50.0, 100.0)  # uA/cm^2
DURATION = 50.0  # ms, one Randman sample (n_steps = 50 at input_dt = 1 ms)
REST = (0.0, 0.0529325, 0.5961208, 0.3176769)  # v, m, h, n of the 1952 model at rest


def _exprel(x: float) -> float:
    return 1.0 + x / 2 if abs(x) < 1e-8 else np.expm1(x) / x


def lsoda_spike_times(i_app: float, duration: float = DURATION) -> np.ndarray:
    """Upward crossings of 50 mV of the 1952 equations (as in models/hh.toml), LSODA, rtol = atol = 1e-9."""
    g_na, g_k, g_l, e_na, e_k, e_l = 120.0, 36.0, 0.3, 115.0, -12.0, 10.6

    def rhs(_, y):
        v, m, h, n = y
        am, bm = 1.0 / _exprel((25 - v) / 10), 4 * np.exp(-v / 18)
        ah, bh = 0.07 * np.exp(-v / 20), 1 / (np.exp((30 - v) / 10) + 1)
        an, bn = 0.1 / _exprel((10 - v) / 10), 0.125 * np.exp(-v / 80)
        dv = g_na * m**3 * h * (e_na - v) + g_k * n**4 * (e_k - v) + g_l * (e_l - v) + i_app
        return [dv, am * (1 - m) - bm * m, ah * (1 - h) - bh * h, an * (1 - n) - bn * n]

    crossing = lambda _, y: y[0] - 50.0  # noqa: E731
    crossing.direction = 1
    sol = solve_ivp(rhs, (0, duration), list(REST), method="LSODA", rtol=1e-9, atol=1e-9, max_step=0.05,
                    events=crossing)
    return sol.t_events[0]


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
    p.add_argument("--method", default=None, help="Brian2 method instead of the model file's (exponential_euler)")
    p.add_argument("--out", default=None, help="write the table as JSON here")
    args = p.parse_args()
    table = {}
    print("max |t - t_LSODA| in ms (max relative error in %) per I_app in uA/cm^2; spikes/ref on a count mismatch")
    print("| dt ms | " + " | ".join(f"I={i:g} ({n})" for i, n in zip(CURRENTS, [len(lsoda_spike_times(i))
                                                                       for i in CURRENTS])) + " |")
    for dt in args.dts:
        rows = spike_time_errors(dt, method=args.method)
        table[dt] = rows
        cells = [f"{r['max_abs_error_ms']:.3f} ({100 * r['max_rel_error']:.2f}%)" if np.isfinite(r["max_abs_error_ms"])
                 else f"{r['spikes']}/{r['ref_spikes']} spikes" for r in rows]
        print(f"| {dt:g} | " + " | ".join(cells) + " |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({str(k): v for k, v in table.items()}, fh, indent=1)


if __name__ == "__main__":
    main()
