"""models/lif_recurrent.toml: recurrent hidden->hidden synapses in the Brian2
evaluator (runtime and cpp) against the numpy reference, with heterogeneous
neurons, binned count rasters and recurrent weights strong enough to change
the spikes; the reference's recurrent timing against hand-computed values;
the genome's recurrent segment."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo.genome import NetworkParameters, build_layout
from bioevo.model import load_model
from bioevo.sim.evaluator import PopulationEvaluator
from bioevo.sim.reference import simulate_lif

P, B, T = 3, 4, 25
SIZES = {"inputs": 5, "hidden": 8, "classes": 3}
EVOLVE = ["hidden.tau_mem", "hidden.tau_syn", "hidden.v_th", "readout.tau_mem", "readout.tau_syn"]
GAIN = {"input_hidden": 6.0, "hidden_hidden": 4.0, "hidden_readout": 2.0}


@pytest.fixture(scope="module")
def model():
    return load_model("lif_recurrent")


@pytest.fixture(scope="module")
def case(model):
    """Per-neuron parameters (gamma-spread, plus a constant drive) and a count raster (0..3 per step)."""
    lay = build_layout(model, SIZES, GAIN, evolve=EVOLVE, init="gamma")
    rng = np.random.default_rng(11)
    params = lay.decode(np.stack([lay.initial(rng) for _ in range(P)]))
    params.neurons["hidden"]["I_app"] = rng.uniform(-0.2, 0.5, (P, SIZES["hidden"]))
    raster = ((rng.random((B, T, SIZES["inputs"])) < 0.25) * rng.integers(1, 4, (B, T, SIZES["inputs"]))).astype(np.uint8)
    return lay, params, raster


@pytest.fixture(scope="module")
def reference(case):
    _, params, raster = case
    return simulate_lif(params, raster, record_trace=True)


def test_layout_has_the_recurrent_matrix(case):
    lay = case[0]
    H = SIZES["hidden"]
    seg = {s.name: s for s in lay.segments}["w.hidden_hidden"]
    assert seg.shape == (H, H) and seg.size == H * H  # self-connections included: every pair
    assert seg.gain == GAIN["hidden_hidden"] and seg.weight_scale == pytest.approx(GAIN["hidden_hidden"] / np.sqrt(H))
    assert [s.name for s in lay.segments if s.kind == "weight"] == ["w.input_hidden", "w.hidden_hidden",
                                                                    "w.hidden_readout"]
    n_params = sum(SIZES["hidden"] if name.startswith("hidden") else SIZES["classes"] for name in EVOLVE)
    assert lay.size == 5 * H + H * H + H * 3 + n_params
    assert lay.synapse_counts["hidden_hidden"] == H * H


def test_case_is_heterogeneous_with_counts_and_recurrence_matters(case, reference):
    _, params, raster = case
    assert raster.dtype == np.uint8 and raster.max() == 3 and (raster == 2).any()
    assert len(np.unique(params.neurons["hidden"]["tau_mem"])) == P * SIZES["hidden"]
    vmax, _, counts = reference
    assert (counts > 0).mean() > 0.3, "too few hidden neurons spike for the comparison to mean much"
    silent = NetworkParameters({**params.weights, "hidden_hidden": np.zeros_like(params.weights["hidden_hidden"])},
                               params.neurons)
    vmax0, _, counts0 = simulate_lif(silent, raster)
    changed = np.abs(counts - counts0).sum() / counts0.sum()
    assert changed > 0.3, f"recurrence changes only {changed:.0%} of the hidden spikes"
    assert not np.allclose(vmax, vmax0)
    # zero recurrent weights are the lif model: the reference without the group gives the same
    lif = NetworkParameters({k: w for k, w in params.weights.items() if k != "hidden_hidden"}, params.neurons)
    vmax_lif, _, counts_lif = simulate_lif(lif, raster)
    np.testing.assert_array_equal(counts_lif, counts0)
    np.testing.assert_array_equal(vmax_lif, vmax0)


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
@pytest.mark.slow
def test_backend_matches_reference(model, case, reference, backend):
    lay, params, raster = case
    vmax, trace, counts = reference
    ev = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend=backend, record_trace=True,
                             record_spikes=("hidden",))
    try:
        r = ev.evaluate(params, raster)
    finally:
        ev.close()
    np.testing.assert_array_equal(r.spike_counts["hidden"], counts)
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-9)


def _two_neurons(w_rec: list, v_th_1: float) -> NetworkParameters:
    """Input weight 10 onto neuron 0 only; tau_mem 10, tau_syn 5 (dt 1: beta = e^-0.1, alpha = e^-0.2)."""
    one = lambda x: np.full((1, 2), x, dtype=float)  # noqa: E731
    return NetworkParameters(
        {"input_hidden": np.array([[[10.0, 0.0]]]), "hidden_hidden": np.array([w_rec], dtype=float),
         "hidden_readout": np.zeros((1, 2, 1))},
        {"hidden": {"tau_mem": one(10.0), "tau_syn": one(5.0), "v_th": np.array([[0.5, v_th_1]]), "I_app": one(0.0)},
         "readout": {"tau_mem": np.full((1, 1), 10.0), "tau_syn": np.full((1, 1), 5.0)}})


def test_reference_recurrent_spike_reaches_the_next_steps_update():
    """By hand: one input spike at step 0 puts I0 = 10; step 1: v0 = (1 - beta) 10 =
    0.952 > 0.5, neuron 0 spikes and its weight 3 onto neuron 1 enters I1 in that
    step's transmission, so v1 is 0 at step 1 and (1 - beta) 3 = 0.28549 at step 2.
    Step 2 without a self-connection: I0 = 10 alpha = 8.19, v0 = 0.779, a second
    spike; a self-connection of -8 (adaptation) leaves I0 = 0.19, v0 = 0.018, none."""
    raster = np.zeros((1, 3, 1), dtype=np.uint8)
    raster[0, 0, 0] = 1
    v1 = (1 - np.exp(-0.1)) * 3
    assert 0.2854 < v1 < 0.2855
    counts = lambda w, th, steps: simulate_lif(_two_neurons(w, th), raster[:, :steps])[2][0, 0].tolist()  # noqa: E731
    plain = [[0.0, 3.0], [0.0, 0.0]]
    assert counts(plain, 1e-6, 2) == [1, 0]  # v1 = 0 through step 1
    assert counts(plain, 0.2854, 3) == [2, 1]  # v1 = 0.28549 at step 2
    assert counts(plain, 0.2855, 3) == [2, 0]
    assert counts([[-8.0, 3.0], [0.0, 0.0]], 0.2855, 3) == [1, 0]  # the autapse adapts neuron 0
    assert counts([[0.0, 0.0], [0.0, 0.0]], 1e-6, 3) == [2, 0]  # no recurrence: neuron 1 never moves


def test_reference_refuses_a_sparse_recurrent_matrix(case):
    _, params, raster = case
    sparse = NetworkParameters({**params.weights, "hidden_hidden": np.zeros((P, 5))}, params.neurons)
    with pytest.raises(ValueError, match=r"hidden_hidden weights must be a dense \(P, H, H\)"):
        simulate_lif(sparse, raster)
