"""What the simulator tests share: the runtime and cpp backends on the same small network."""
from __future__ import annotations

import numpy as np

from bioevo.sim.evaluator import PopulationEvaluator


def assert_backends_agree(model, layout, params: dict, raster: np.ndarray) -> None:
    """runtime and cpp give the same readouts (1e-9) and hidden spike counts for 2 individuals x 2 samples,
    and the network is not silent (a silent one would agree trivially)."""
    out = {}
    for backend in ("runtime", "cpp"):
        ev = PopulationEvaluator(model, layout.layer_sizes, 2, 2, raster.shape[1], backend=backend, record_spikes=True)
        out[backend] = ev.evaluate(params, raster)
    assert out["runtime"].spike_counts["hidden"].sum() > 0
    np.testing.assert_allclose(out["cpp"].vmax, out["runtime"].vmax, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out["cpp"].spike_counts["hidden"], out["runtime"].spike_counts["hidden"])
