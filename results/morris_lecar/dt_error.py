"""Spike-time error of models/morris_lecar*.toml (Brian2, exponential Euler) against
LSODA (tests/morris_lecar_reference.py) per dt: 200 ms from rest, constant currents.
PYTHONPATH=. python results/morris_lecar/dt_error.py"""
import numpy as np

from bioevo.model import load_model
from tests.morris_lecar_reference import MODELS, lsoda_spike_times
from bioevo.neuron import simulate_single

DURATION = 200.0
SWEEP = {"I": [42.0, 45.0, 50.0, 60.0, 80.0, 100.0], "II": [90.0, 95.0, 100.0, 120.0, 150.0, 200.0]}
for cls, name in MODELS.items():
    model = load_model(name)
    refs = [lsoda_spike_times(i, DURATION, cls) for i in SWEEP[cls]]
    print(f"class {cls}: I = {SWEEP[cls]}, LSODA spike counts {[len(r) for r in refs]}")
    for dt in (0.01, 0.025, 0.05, 0.1, 0.125, 0.2, 0.25, 0.5):
        counts, times, _ = simulate_single(model, "hidden", np.array(SWEEP[cls]), DURATION, dt_ms=dt, target="cython")
        cells = [f"{np.abs(times[k] - r).max():.3f}" if counts[k] == len(r) else f"{counts[k]}/{len(r)} spikes"
                 for k, r in enumerate(refs)]
        print(f"  dt {dt}: " + " | ".join(cells))
