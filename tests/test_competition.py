"""The E/I competition circuit (models/competition.toml): it builds, and with
hand-set strengths it is winner-take-all -- the more strongly driven pool
fires, the other is silenced, and only because of the inhibition."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.sim.evaluator import PopulationEvaluator

T = 60


@pytest.fixture(scope="module")
def circuit():
    model = load_model("competition")
    layout = build_layout(model, {"inputs": 2, "hidden": 1, "classes": 2}, {})
    evaluator = PopulationEvaluator(model, layout.layer_sizes, 1, 1, T, backend="runtime", record_spikes=True)
    return model, layout, evaluator


def run(circuit, drive0: float, drive1: float, inhibition: float):
    """Input 0 drives pool 0, input 1 drives pool 1, both inputs spike every step."""
    _, layout, evaluator = circuit
    params = layout.decode(np.zeros((1, layout.size)))
    w = np.zeros((1, 2, 32))
    w[0, 0, :16], w[0, 1, 16:] = drive0, drive1
    params.weights["input_hidden"] = w
    for name, value in (("exc_exc", 0.1), ("exc_inh", 0.5), ("inh_exc", inhibition)):
        params.weights[name] = np.full_like(params.weights[name], value)
    raster = np.ones((1, T, 2), dtype=bool)
    r = evaluator.evaluate(params, raster)
    counts = r.spike_counts["exc"][0, 0]
    return counts[:16].sum(), counts[16:].sum(), r.vmax[0, 0]


def test_layout_of_the_circuit(circuit):
    model, layout, _ = circuit
    assert layout.layer_sizes == {"input": 2, "exc": 32, "inh": 8, "readout": 2}
    # self-excitation only within a pool and without autapses: 2 pools * 16 * 15
    assert layout.synapse_counts["exc_exc"] == 2 * 16 * 15
    assert layout.synapse_counts["hidden_readout"] == 32 and "hidden_readout" in layout.fixed_weights
    assert {s.name: s.size for s in layout.segments if s.name != "w.input_hidden"} == {
        "w.exc_exc": 1, "w.exc_inh": 1, "w.inh_exc": 1}


def test_stronger_pool_wins_and_suppresses_the_other(circuit):
    win, lose, readout = run(circuit, 0.5, 0.4, inhibition=2.0)
    assert win > 0 and lose <= 0.2 * win
    assert readout[0] > readout[1]
    # swapping the drive swaps the winner
    lose2, win2, readout2 = run(circuit, 0.4, 0.5, inhibition=2.0)
    assert win2 > 0 and lose2 <= 0.2 * win2 and readout2[1] > readout2[0]


def test_without_inhibition_both_pools_fire(circuit):
    strong, weak, _ = run(circuit, 0.5, 0.4, inhibition=0.0)
    assert weak >= 0.5 * strong > 0
