"""Loop pieces: a blown-up individual (NaN readouts, as a diverging HH
neuron gives) gets the worst fitness instead of stopping the run; batches
depend only on (seed, generation)."""
from __future__ import annotations

import numpy as np

from bioevo.data.spikes import SpikeData
from bioevo.evolve import batch_indices
from bioevo.scoring import Scorer
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.sim.evaluator import Readouts


class NaNForSecond:
    """Stands in for the Brian2 evaluator: individual 1 blows up."""

    population, n_steps, model = 3, 5, load_model("lif")

    def evaluate(self, params, raster):
        vmax = np.tile(np.array([[1.0, 0.0]]), (params.population, raster.shape[0], 1))
        vmax[1] = np.nan
        return Readouts(vmax)


def test_nan_individual_gets_worst_loss():
    layout = build_layout(load_model("lif"), {"inputs": 3, "hidden": 2, "classes": 2}, {})
    scorer = Scorer(NaNForSecond(), layout, "max_cross_entropy", 0.0, 0.0)
    data = SpikeData(np.zeros((4, 5, 3), dtype=bool), np.array([0, 0, 1, 0]), 2)
    loss, acc = scorer.batch(np.zeros((3, layout.size)), data)
    assert np.isinf(loss[1]) and np.all(np.isfinite(loss[[0, 2]])) and loss[0] == loss[2]
    assert acc[0] == 0.75


def test_batches_depend_only_on_seed_and_generation():
    a = [batch_indices(100, 32, 7, g) for g in range(7)]
    b = [batch_indices(100, 32, 7, g) for g in range(7)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    epoch0 = np.concatenate(a[:3])  # 3 batches per epoch: no sample twice
    assert len(set(epoch0)) == 96
    assert not np.array_equal(batch_indices(100, 32, 8, 0), a[0])
