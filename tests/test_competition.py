"""E/I competition circuit (models/competition.toml): the model file loads and
builds, its recurrent signs cannot be flipped by evolution, and with hand-set
weights it is winner-take-all: the pool with slightly more drive fires, the
other is silenced by the shared inhibition, and swapping the drive swaps the
winner.  Also the preset resolves and the pool-rate figure helper draws.
All runtime backend, small sizes; a few seconds in all."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo.config import resolve_config
from bioevo.assemble import assemble
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.report.competition import binned_pool_rates, plot_pool_rates, pool_rate_figure, pool_rates
from bioevo.rundir import save_genome
from bioevo.sim.evaluator import PopulationEvaluator

M = 20  # input units: 0..9 drive pool 0, 10..19 drive pool 1
T = 80  # steps (ms)
SIZES = {"inputs": M, "hidden": 1, "classes": 2}


@pytest.fixture(scope="module")
def model():
    return load_model("competition")


@pytest.fixture(scope="module")
def layout(model):
    return build_layout(model, SIZES, {"input_hidden": 10.0, "exc_exc": 0.3}, evolve=["exc.tau_mem", "exc.v_th"],
                        per_neuron=False)


@pytest.fixture(scope="module")
def pool(model):
    return int(model.constants["pool"])


def test_model_loads_and_lays_out(model, layout, pool):
    sizes = layout.layer_sizes
    assert sizes == {"input": M, "exc": 2 * pool, "inh": int(model.constants["n_inh"]), "readout": 2}
    n_exc = 2 * pool
    assert layout.synapse_counts == {"input_hidden": M * n_exc, "exc_exc": 2 * pool * (pool - 1),
                                     "exc_inh": n_exc * sizes["inh"], "inh_exc": sizes["inh"] * n_exc,
                                     "hidden_readout": n_exc}
    # one weight per input connection, one strength per recurrent pathway, one value per evolved parameter;
    # the fixed readout synapses are not in the genome
    shapes = {s.name: s.shape for s in layout.segments}
    assert shapes == {"w.input_hidden": (M, n_exc), "w.exc_exc": (1,), "w.exc_inh": (1,), "w.inh_exc": (1,),
                      "p.exc.tau_mem": (1,), "p.exc.v_th": (1,)}
    assert layout.fixed_weights == {"hidden_readout": 0.1}
    # recurrent excitation stays inside a pool, no autapses; readout c listens to pool c only
    ns = model.namespace(sizes)
    pre, post = model.synapses["exc_exc"].pairs(n_exc, n_exc, ns)
    assert np.all(pre // pool == post // pool) and np.all(pre != post)
    pre, post = model.synapses["hidden_readout"].pairs(n_exc, 2, ns)
    assert np.array_equal(post, pre // pool)
    # per_neuron = false: the evolved tau_mem / v_th are one value for the whole layer
    params = layout.decode(np.random.default_rng(0).standard_normal((2, layout.size)))
    assert params.neurons["exc"]["v_th"].shape == (2, n_exc)
    assert np.all(params.neurons["exc"]["v_th"] == params.neurons["exc"]["v_th"][:, :1])


def test_builds_and_runs_a_random_population(model, layout):
    rng = np.random.default_rng(0)
    ev = PopulationEvaluator(model, layout.layer_sizes, 2, 2, 20, backend="runtime", record_trace=True,
                             record_spikes=True)
    r = ev.evaluate(layout.decode(np.stack([layout.initial(rng) for _ in range(2)])),
                    rng.random((2, 20, M)) < 0.3)
    assert r.vmax.shape == (2, 2, 2) and r.trace.shape == (2, 2, 20, 2)
    assert np.all(np.isfinite(r.trace))
    assert set(r.spike_counts) == {"exc", "inh"}


def _drive(pool: int) -> tuple[np.ndarray, np.ndarray]:
    """Input weights (inputs 0..9 -> pool 0, 10..19 -> pool 1, equal strength,
    mildly heterogeneous) and a raster of two samples: in sample 0 the inputs of
    pool 0 fire every 8 ms, those of pool 1 every 10 ms (staggered phases);
    sample 1 swaps them."""
    W = np.zeros((M, 2 * pool))
    W[:10, :pool] = 0.6
    W[10:, pool:] = 0.6
    W *= 1 + 0.2 * np.random.default_rng(1).standard_normal(W.shape)
    t, k = np.arange(T)[:, None], np.arange(10)[None, :]
    strong, weak = (t + 3 * k) % 8 == 0, (t + 3 * k) % 10 == 0
    raster = np.stack([np.concatenate([strong, weak], axis=1), np.concatenate([weak, strong], axis=1)])
    return W, raster


def _params(layout, W, exc_exc, exc_inh, inh_exc):
    params = layout.decode(np.zeros((1, layout.size)))  # default tau_mem / v_th
    params.weights["input_hidden"] = W.reshape(1, -1)
    for name, value in (("exc_exc", exc_exc), ("exc_inh", exc_inh), ("inh_exc", inh_exc)):
        params.weights[name] = np.full_like(params.weights[name], value)
    return params


@pytest.fixture(scope="module")
def wta_eval(model, layout):
    return PopulationEvaluator(model, layout.layer_sizes, 1, 2, T, backend="runtime", record_trace=True,
                               record_spikes=True)


def _pool_counts(ev, pool: int, after_ms: float = 10.0) -> np.ndarray:
    """(sample, pool) exc spike counts after the first ``after_ms`` of each sample."""
    mon = ev.net.spike_monitors["exc"]
    t_ms, i = np.asarray(mon.t_[:]) * 1e3, np.asarray(mon.i[:])
    counts = np.zeros((2, 2), dtype=int)
    for b in range(2):
        sel = (t_ms >= b * T + after_ms) & (t_ms < (b + 1) * T)
        counts[b] = np.bincount(i[sel] // pool, minlength=2)[:2]
    return counts


def test_winner_take_all(wta_eval, layout, pool):
    W, raster = _drive(pool)
    # Without recurrence both pools fire at comparable rates: the drive differs only slightly.
    wta_eval.evaluate(_params(layout, W, 0.0, 0.0, 0.0), raster)
    free = _pool_counts(wta_eval, pool)
    assert free[0, 0] > free[0, 1] > 0.5 * free[0, 0]
    assert free[1, 1] > free[1, 0] > 0.5 * free[1, 1]
    # Self-excitation without inhibition does not choose either: the suppression is the inhibition's doing.
    wta_eval.evaluate(_params(layout, W, 0.3, 1.0, 0.0), raster)
    no_inh = _pool_counts(wta_eval, pool)
    assert no_inh[0, 1] > 0.5 * no_inh[0, 0] > 0 and no_inh[1, 0] > 0.5 * no_inh[1, 1] > 0
    # With self-excitation and strong shared inhibition the better-driven pool wins, the other is silenced.
    r = wta_eval.evaluate(_params(layout, W, 0.3, 1.0, 1.0), raster)
    wta = _pool_counts(wta_eval, pool)
    assert wta[0, 0] > 20 and wta[0, 1] < 0.2 * wta[0, 0]
    assert wta[1, 1] > 20 and wta[1, 0] < 0.2 * wta[1, 1]  # swapped drive, swapped winner
    assert r.spike_counts["inh"][0].sum(axis=1).min() > 0
    assert np.array_equal(r.vmax[0].argmax(axis=1), [0, 1])  # the readout reports the winner


def test_recurrent_signs_cannot_flip(wta_eval, layout, pool):
    """The synapse code uses abs(w): a negative evolved strength acts like its magnitude."""
    W, raster = _drive(pool)
    pos = wta_eval.evaluate(_params(layout, W, 0.3, 1.0, 1.0), raster)
    neg = wta_eval.evaluate(_params(layout, W, -0.3, -1.0, -1.0), raster)
    np.testing.assert_array_equal(pos.trace, neg.trace)
    np.testing.assert_array_equal(pos.spike_counts["exc"], neg.spike_counts["exc"])


def test_pool_rates_and_figure(model, layout, pool, tmp_path):
    W, raster = _drive(pool)
    rates = pool_rates(model, layout, _params(layout, W, 0.3, 1.0, 1.0), raster)
    assert rates.exc.shape == (2, T, 2) and rates.inh.shape == (2, T)
    assert rates.predicted.tolist() == [0, 1]
    late = rates.exc[:, 10:].mean(axis=1)
    assert late[0, 0] > 5 * late[0, 1] and late[1, 1] > 5 * late[1, 0]
    path = plot_pool_rates(rates, tmp_path / "pool_rates.png", labels=[0, 1])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="labels"):
        plot_pool_rates(rates.exc, tmp_path / "bad.png", labels=[0, 2])


def test_binned_pool_rates():
    # one neuron of pool 1 (pool size 2) spikes in step 3 of sample 1 (2 samples of 5 steps, 1 ms each)
    r = binned_pool_rates(np.array([5.0 + 3.0]), np.array([2]), 2, 5, 1.0, pool=2, n_pools=2, window_ms=1.0)
    expected = np.zeros((2, 5, 2))
    expected[1, 3, 1] = 1 / 2 / 1e-3  # Hz per neuron
    np.testing.assert_allclose(r, expected)
    # a 3 ms boxcar spreads it over steps 2..4 of that sample only
    smooth = binned_pool_rates(np.array([8.0]), np.array([2]), 2, 5, 1.0, pool=2, n_pools=2, window_ms=3.0)
    assert np.all(smooth[1, 2:5, 1] > 0) and smooth[1, :2].sum() == 0 and smooth[0].sum() == 0
    np.testing.assert_allclose(smooth[1, 2:4, 1], expected[1, 3, 1] / 3)


def test_preset_resolves_and_figure_from_run_dir(model, tmp_path):
    cfg = resolve_config("competition-2", ["data.split=[20, 5, 5]", "evolve.batch_size=8"])
    assert cfg["model"]["name"] == "competition" and cfg["fitness"]["loss"] == "membrane_hinge"
    lay = assemble(cfg, build_evaluator=False).layout
    assert {s.name for s in lay.segments} >= {"p.exc.tau_mem", "p.exc.v_th", "w.exc_exc"}
    genome = lay.initial(np.random.default_rng(0))
    save_genome(tmp_path / "best_genome.h5", genome, lay, cfg, open(model.source).read())
    path = pool_rate_figure(tmp_path, per_class=1)
    assert path == tmp_path / "pool_rates.png" and path.is_file()
