"""models/hh.toml: the 1952 Hodgkin-Huxley neuron in Brian2 against an
independent scipy integration of the same equations, and the accuracy of its
integration step."""
from __future__ import annotations

import numpy as np
import pytest

from hh_reference import lsoda_spike_times, with_brian_odes
from bioevo.model import load_model
from bioevo.neuron import simulate_single
from sim_testing import assert_backends_agree

CURRENTS = [0.0, 3.0, 10.0, 20.0]  # uA/cm^2: rest, a single onset spike, repetitive firing


@pytest.fixture(scope="module")
def hh():
    return load_model("hh")


def test_spikes_match_an_independent_integration(hh):
    counts, times, _ = simulate_single(hh, "hidden", np.array(CURRENTS), 100.0)
    for k, i_app in enumerate(CURRENTS):
        ref = lsoda_spike_times(i_app, 100.0)
        assert counts[k] == len(ref), f"I_app={i_app}: {counts[k]} spikes, reference {len(ref)}"
        # exponential Euler: detection one step late at most plus a drift that accumulates
        # from spike to spike (first-order method, up to about 3.5% of the elapsed time at dt 0.025 ms)
        drift = np.abs(times[k] - ref)
        assert np.all(drift <= 2 * hh.dt + 0.03 * ref), (i_app, drift)
    assert list(counts[:2]) == [0, 1] and counts[2] >= 5  # rest, onset spike, repetitive firing


#: The tolerance that chose models/hh.toml's dt (results/hh/README.md): over one
#: 50 ms Randman sample from rest, at constant currents from the single-spike
#: threshold to the strong drive of the network's synapses, the same spike counts
#: as LSODA and every spike within one input step (1 ms, the resolution of the
#: input raster and of the readout) of the LSODA time.
TOL_CURRENTS = [3.0, 7.0, 10.0, 20.0, 50.0, 100.0]
TOL_DURATION = 50.0


def _worst_spike_time_error(hh, dt: float) -> float:
    counts, times, _ = simulate_single(hh, "hidden", np.array(TOL_CURRENTS), TOL_DURATION, dt_ms=dt, target="cython")
    worst = 0.0
    for k, i_app in enumerate(TOL_CURRENTS):
        ref = lsoda_spike_times(i_app, TOL_DURATION)
        assert counts[k] == len(ref) >= 1, f"dt {dt}, I_app={i_app}: {counts[k]} spikes, reference {len(ref)}"
        worst = max(worst, float(np.abs(times[k] - ref).max()))
    return worst


def test_spike_time_error_at_the_chosen_dt_is_within_the_stated_tolerance(hh):
    """At the model file's dt the error is within one input step; at 0.04 ms, the
    next coarser decimal step that divides the input step, it is not (the
    tolerance is what picked the dt).  Exponential Euler is first order: the
    error grows in proportion to dt (about 31 ms per ms of dt at 50 uA/cm^2)."""
    assert hh.dt == 0.025 and hh.input_dt == 1.0
    at_dt = _worst_spike_time_error(hh, hh.dt)
    coarser = _worst_spike_time_error(hh, 0.04)
    assert 0.5 < at_dt <= hh.input_dt, at_dt  # 0.77 ms measured; > 0.5: a real error, not a vacuous bound
    assert coarser > hh.input_dt, coarser  # 1.23 ms measured
    assert 1.3 < coarser / at_dt < 1.9  # first order: 0.04 / 0.025 = 1.6


@pytest.mark.slow
def test_halving_dt_moves_spike_times_little_and_first_order(hh):
    """dt 0.01 ms -> 0.005 ms moves spike times by < 0.2 ms over 50 ms (about 1.5%
    of the 14.7 ms interspike interval at 10 uA/cm^2), and halving again moves
    them about half as much: exponential Euler converges at first order (the
    chosen 0.025 ms is checked against LSODA above)."""
    t = [simulate_single(hh, "hidden", np.array([10.0]), 50.0, dt_ms=dt)[1][0] for dt in (0.01, 0.005, 0.0025)]
    assert len(t[0]) == len(t[1]) == len(t[2]) >= 3
    d1, d2 = np.abs(t[0] - t[1]).max(), np.abs(t[1] - t[2]).max()
    assert d1 < 0.2
    assert 1.5 < d1 / max(d2, 1e-9) < 3.0


def test_hh_network_builds_and_backends_agree(hh):
    """As the hidden layer of the Randman network (100 integration steps per
    input step): runtime and cpp give the same readouts."""
    from bioevo.genome import build_layout

    layout = build_layout(hh, {"inputs": 3, "hidden": 4, "classes": 2}, {"input_hidden": 3.0, "hidden_readout": 5.0})
    rng = np.random.default_rng(0)
    params = layout.decode(np.stack([layout.initial(rng) for _ in range(2)]))
    raster = np.zeros((2, 10, 3), dtype=bool)
    raster[:, [1, 2, 3], [0, 1, 2]] = True
    assert_backends_agree(hh, layout, params, raster)


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
@pytest.mark.slow
def test_blown_up_individual_gets_the_worst_loss_and_others_are_untouched(hh, backend):
    """Input weights of 1e306 overflow individual 1's HH state to inf/NaN.  Its
    neurons then never cross threshold, so its readouts stay quiet and finite:
    only the end-of-sample state check can tell, and it must give the worst
    loss while individual 0 scores as usual."""
    from bioevo.data.spikes import SpikeData
    from bioevo.scoring import Scorer
    from bioevo.genome import build_layout
    from bioevo.sim.evaluator import PopulationEvaluator

    layout = build_layout(hh, {"inputs": 3, "hidden": 4, "classes": 2}, {"input_hidden": 3.0, "hidden_readout": 5.0})
    rng = np.random.default_rng(0)
    genomes = np.stack([layout.initial(rng) for _ in range(2)])
    genomes[1, :12] *= 1e306  # the 3 x 4 input weights
    raster = np.zeros((2, 10, 3), dtype=bool)
    raster[:, [1, 2, 3], [0, 1, 2]] = True
    data = SpikeData(raster, np.array([0, 1]), 2)
    ev = PopulationEvaluator(hh, layout.layer_sizes, 2, 2, 10, backend=backend)
    try:
        r = ev.evaluate(layout.decode(genomes), raster)
        loss, _ = Scorer(ev, layout, "max_cross_entropy", 0.0, 0.0).batch(genomes, data)
        alone, _ = Scorer(ev, layout, "max_cross_entropy", 0.0, 0.0).batch(genomes[:1], data)
    finally:
        ev.close()
    assert np.all(np.isfinite(r.vmax))  # the readouts alone would not show it
    np.testing.assert_array_equal(r.finite, [[True, True], [False, False]])
    assert np.isinf(loss[1]) and np.isfinite(loss[0]) and loss[0] == alone[0]


def test_written_out_step_equals_brians_exponential_euler_of_the_odes(hh):
    """The hand-written step (shared exponentials) is Brian2's exponential Euler of
    the same ODEs up to rounding: the same spikes and membrane potential from
    hyperpolarising currents through repetitive firing to depolarisation block,
    and through v = 25 and 10 mV, where the rates' 0/0 points lie."""
    generated = with_brian_odes(hh)
    currents = np.array([-50.0, 0.0, 3.0, 10.0, 50.0, 90.0, 200.0])
    ours = simulate_single(hh, "hidden", currents, 50.0, record_v=True)
    brians = simulate_single(generated, "hidden", currents, 50.0, record_v=True)
    np.testing.assert_array_equal(ours[0], brians[0])
    assert ours[0].sum() > 10 and ours[2].max() > 90 and ours[2].min() < -10  # spikes, and both 0/0 points crossed
    for mine, theirs in zip(ours[1], brians[1]):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(ours[2], brians[2], rtol=0, atol=1e-6)  # mV


@pytest.mark.parametrize("v0", [25.0, 10.0])
def test_written_out_step_is_finite_at_the_rates_0_0_points(hh, v0):
    """Started exactly at v = 25 (alpha_m's 0/0) or 10 mV (alpha_n's): the guard gives
    the limit, so the state stays finite and follows Brian2's exprel-based step."""
    import dataclasses

    start = hh.layers["hidden"].sample_reset.replace("v = 0", f"v = {v0}")
    ours_layer = dataclasses.replace(hh.layers["hidden"], sample_reset=start)
    ours = simulate_single(dataclasses.replace(hh, layers={**hh.layers, "hidden": ours_layer}), "hidden",
                           np.array([0.0]), 1.0, record_v=True)[2]
    brians = simulate_single(with_brian_odes(hh, sample_reset=start), "hidden", np.array([0.0]), 1.0,
                             record_v=True)[2]
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, brians, rtol=0, atol=1e-5)
