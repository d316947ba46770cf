"""A statistic of the readout variable is one entry in ``readout_stats.TRACKED_STATS``: the
config accepts it as a readout, the scorer asks the simulation for it, the evaluator tracks it
(equal to the same statistic of the recorded trace), fitness computes it from a trace when only
that was recorded, and the surrogate-gradient twin scores its trace with it."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo import fitness as F
from bioevo import load_config
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.readout_stats import TRACKED_STATS, TrackedStat, optional_stats
from bioevo.scoring import recording_needs
from bioevo.sim.evaluator import PopulationEvaluator

MIN = TrackedStat("vmin", "readout_min", "readout_min = clip({v}, -inf, readout_min)", "readout_min = inf",
                  lambda trace: trace.min(axis=-2), "min over time of the readout variable")
P, B, T = 2, 3, 20
SIZES = {"inputs": 5, "hidden": 6, "classes": 3}


@pytest.fixture
def with_min(monkeypatch):
    monkeypatch.setitem(TRACKED_STATS, "min", MIN)


def test_the_registry_is_what_readouts_and_recordings_follow():
    assert set(optional_stats()) == {"final", "sum"}
    assert {name: F.READOUTS[name] for name in TRACKED_STATS} == {"max": "vmax", "final": "vfinal", "sum": "vsum"}
    with pytest.raises(KeyError, match="declared by readout_stats.TRACKED_STATS"):
        F.READOUT_REGISTRY["final"] = F.Readout("vsum", 1.0, "a second declaration")


def test_a_new_statistic_is_one_entry(with_min):
    cfg = load_config("randman-2", ["fitness.readout=min", "fitness.loss=cross_entropy"])
    assert cfg["fitness"]["readout"] == "min"  # an allowed readout
    assert recording_needs(cfg["fitness"]) == (False, False, ("min",))  # tracked, no trace
    assert recording_needs({**cfg["fitness"], "last_steps": 5}) == (True, False, ())  # a window reads the trace
    trace = np.random.default_rng(0).normal(size=(P, B, T, 3))
    np.testing.assert_array_equal(F.scores_of("min", {"trace": trace}), trace.min(axis=2))

    model = load_model("lif")
    layout = build_layout(model, SIZES, {"input_hidden": 8.0, "hidden_readout": 6.0})
    rng = np.random.default_rng(1)
    params = layout.decode(np.stack([layout.initial(rng) for _ in range(P)]))
    raster = rng.random((B, T, SIZES["inputs"])) < 0.3
    ev = PopulationEvaluator(model, layout.layer_sizes, P, B, T, backend="runtime", record_trace=True,
                             readout_stats=("min",))
    try:
        r = ev.evaluate(params, raster)
    finally:
        ev.close()
    assert r.trace.std() > 0
    np.testing.assert_array_equal(r.stats["vmin"], r.trace.min(axis=2))


def test_the_gradient_twin_scores_a_new_statistic(with_min):
    jnp = pytest.importorskip("jax.numpy")
    from bioevo.baselines import snn
    trace = np.random.default_rng(2).normal(size=(B, T, 3))
    np.testing.assert_allclose(np.asarray(snn.scores(jnp.asarray(trace), "min")), trace.min(axis=1), rtol=1e-6)
    assert "min" in snn.READOUTS

