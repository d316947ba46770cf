"""Readouts other than max-over-time through the real evaluator: a spiking
readout (model lif_spiking) against the numpy reference, the final/sum
statistics tracked inside the simulation against the recorded trace (also
for HH, whose integration step is finer than the input step), the Scorer's
readouts and losses on them, and what a [fitness] table makes the simulation
record."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo import fitness as F
from bioevo.data.spikes import SpikeData
from bioevo.scoring import Scorer, recording_needs
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
                             record_spikes=("readout",), readout_stats=("sum", "final"))
    try:
        r = ev.evaluate(lay.decode(genomes), raster)
    finally:
        ev.close()
    assert set(r.spike_counts) == {"readout"}  # only the layer asked for
    np.testing.assert_array_equal(r.spike_counts["readout"], spikes["counts"])
    np.testing.assert_array_equal(r.first_spikes["readout"], spikes["first"])
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-9)
    # tracked like the trace is sampled: after the step's reset of a spiking readout
    np.testing.assert_array_equal(r.stats["vfinal"], r.trace[:, :, -1])
    np.testing.assert_allclose(r.stats["vsum"], r.trace.sum(axis=2), rtol=1e-12, atol=1e-12)
    # the spike readouts as the Scorer computes them
    scores = F.scores_of("first_spike", dict(first_spikes=r.first_spikes["readout"]))
    assert np.all((scores <= 0) & (scores >= -T))


@pytest.fixture(scope="module")
def lif_scorer_case():
    model = load_model("lif")
    lay = build_layout(model, SIZES, {"input_hidden": 8.0, "hidden_readout": 2.0})
    rng = np.random.default_rng(2)
    genomes = np.stack([lay.initial(rng) for _ in range(P)])
    data = SpikeData(rng.random((B, T, SIZES["inputs"])) < 0.3, np.array([0, 1, 2, 1]), n_classes=3)
    # final and sum tracked in the simulation; the trace only to check them (and for smoothness)
    ev = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend="runtime", record_trace=True,
                             readout_stats=("final", "sum"))
    r = ev.evaluate(lay.decode(genomes), data.raster)
    np.testing.assert_array_equal(r.stats["vfinal"], r.trace[:, :, -1])
    np.testing.assert_allclose(r.stats["vsum"], r.trace.sum(axis=2), rtol=1e-12, atol=1e-12)
    return ev, lay, genomes, data, r.trace


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


def test_final_step_hinge_reads_the_tracked_last_step(lif_scorer_case):
    ev, lay, genomes, data, trace = lif_scorer_case
    loss, _ = Scorer(ev, lay, "final_step_hinge", 0.5, 0.0, readout="final").batch(genomes, data)
    np.testing.assert_array_equal(loss, F.final_step_hinge(trace, data.labels, margin=0.5))
    assert loss.max() > 0


def test_hh_tracked_final_and_sum_follow_the_input_steps():
    """HH integrates at 0.025 ms, reads out at 1 ms steps: the tracked statistics
    sample the readout as the trace does, once per input step."""
    hh = load_model("hh")
    lay = build_layout(hh, {"inputs": 3, "hidden": 2, "classes": 2}, {"input_hidden": 10.0, "hidden_readout": 5.0})
    rng = np.random.default_rng(0)
    raster = rng.random((2, 6, 3)) < 0.5
    ev = PopulationEvaluator(hh, lay.layer_sizes, 1, 2, 6, backend="runtime", record_trace=True,
                             readout_stats=("final", "sum"))
    r = ev.evaluate(lay.decode(lay.initial(rng)[None]), raster)
    assert np.abs(r.trace).max() > 0
    np.testing.assert_array_equal(r.stats["vfinal"], r.trace[:, :, -1])
    np.testing.assert_allclose(r.stats["vsum"], r.trace.sum(axis=2), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fit, needs", [
    ({}, (False, False, ())),  # the default: max over time only, as before
    ({"readout": "final", "loss": "cross_entropy"}, (False, False, ("final",))),
    ({"readout": "sum"}, (False, False, ("sum",))),
    ({"readout": "sum", "loss": "final_step_hinge"}, (False, False, ("final", "sum"))),
    ({"loss": "membrane_hinge"}, (True, False, ())),
    ({"readout": "final", "smoothness": 0.1}, (True, False, ("final",))),
    ({"readout": "spike_count", "loss": "spike_count_hinge"}, (False, True, ())),
    ({"readout": "first_spike", "loss": "cross_entropy"}, (False, True, ())),
    ({"loss": "spike_count_hinge"}, (False, True, ())),
])
def test_only_what_readout_and_loss_read_is_recorded(fit, needs):
    assert recording_needs({"readout": "max", "loss": "max_cross_entropy", "smoothness": 0.0, **fit}) == needs


def test_unknown_readout_statistic_is_refused():
    with pytest.raises(ValueError, match="unknown readout statistic\\(s\\) \\['mean'\\]; allowed: final, sum"):
        PopulationEvaluator(load_model("lif"), {"input": 3, "hidden": 2, "readout": 2}, 1, 1, 5,
                            backend="runtime", readout_stats=("mean",))
