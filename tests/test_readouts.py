"""Readouts other than max-over-time through the real evaluator: a spiking
readout (model lif_spiking) against the numpy reference, and the Scorer's
final/sum readouts and smoothness term against the recorded trace."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo import fitness as F
from bioevo.data.spikes import SpikeData
from bioevo.evolve import Scorer
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.sim.evaluator import PopulationEvaluator
from bioevo.sim.reference import simulate_lif

P, B, T = 3, 4, 25
SIZES = {"inputs": 5, "hidden": 7, "classes": 3}
GAIN = {"input_hidden": 8.0, "hidden_readout": 6.0}  # strong enough for readout spikes


@pytest.fixture(scope="module")
def spiking_case():
    model = load_model("lif_spiking")
    lay = build_layout(model, SIZES, GAIN, evolve=["hidden.tau_mem", "readout.tau_mem", "readout.v_th"],
                       init="gamma")
    rng = np.random.default_rng(5)
    genomes = np.stack([lay.initial(rng) for _ in range(P)])
    raster = rng.random((B, T, SIZES["inputs"])) < 0.3
    spikes: dict = {}
    reference = simulate_lif(lay.decode(genomes), raster, record_trace=True, readout_spikes=spikes)
    return model, lay, genomes, raster, reference, spikes


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_spiking_readout_matches_numpy_reference(spiking_case, backend):
    model, lay, genomes, raster, (vmax, trace, hidden_counts), spikes = spiking_case
    assert spikes["counts"].sum() > 0 and (spikes["first"] == T).any()  # some readouts spike, some stay silent
    ev = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend=backend, record_trace=True,
                             record_spikes=("readout",))
    try:
        r = ev.evaluate(lay.decode(genomes), raster)
    finally:
        ev.close()
    assert set(r.spike_counts) == {"readout"}  # only the layer asked for
    np.testing.assert_array_equal(r.spike_counts["readout"], spikes["counts"])
    np.testing.assert_array_equal(r.first_spikes["readout"], spikes["first"])
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-9)
    # the spike readouts as the Scorer computes them
    scores = F.readout_scores("first_spike", first_spike=r.first_spikes["readout"], n_steps=T)
    assert np.all((scores <= 0) & (scores >= -T))


@pytest.fixture(scope="module")
def lif_scorer_case():
    model = load_model("lif")
    lay = build_layout(model, SIZES, {"input_hidden": 8.0, "hidden_readout": 2.0})
    rng = np.random.default_rng(2)
    genomes = np.stack([lay.initial(rng) for _ in range(P)])
    data = SpikeData(rng.random((B, T, SIZES["inputs"])) < 0.3, np.array([0, 1, 2, 1]), n_classes=3)
    ev = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend="runtime", record_trace=True)
    trace = ev.evaluate(lay.decode(genomes), data.raster).trace
    return ev, lay, genomes, data, trace


@pytest.mark.parametrize("readout, expected", [
    ("final", lambda tr: tr[:, :, -1]), ("sum", lambda tr: tr.sum(axis=2)), ("max", lambda tr: tr.max(axis=2))])
def test_scorer_readouts_equal_statistics_of_the_recorded_trace(lif_scorer_case, readout, expected):
    ev, lay, genomes, data, trace = lif_scorer_case
    scorer = Scorer(ev, lay, "cross_entropy", 0.0, 0.0, readout=readout, smoothness=0.5)
    loss, acc = scorer.batch(genomes, data)
    scores = expected(trace)
    np.testing.assert_allclose(loss, F.cross_entropy(scores, data.labels) + 0.5 * F.smoothness_penalty(trace, 1.0),
                               rtol=1e-12)
    np.testing.assert_array_equal(acc, (scores.argmax(axis=-1) == data.labels).mean(axis=1))
    _, preds = scorer.dataset(genomes[1], data)
    np.testing.assert_array_equal(preds, scores[1].argmax(axis=-1))
