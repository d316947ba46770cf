"""bioevo.baselines.biophysical: the HH and Morris-Lecar networks in JAX give the
Brian2 network's readouts and spike counts for the same genome, and BPTT's
gradient is exact where the dynamics are continuous."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax", reason='the baselines extra is not installed (pip install ".[baselines]")')
pytest.importorskip("optax", reason='the baselines extra is not installed (pip install ".[baselines]")')

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from bioevo.baselines import biophysical as bp  # noqa: E402
from bioevo.baselines import snn  # noqa: E402
from bioevo.genome import build_layout  # noqa: E402
from bioevo.model import load_model  # noqa: E402

#: Tolerance of the readout maxima against Brian2 (dimensionless readout units, O(1) values).
#: Both run float64 with the model file's arithmetic in the model file's order; what can differ
#: is rounding: XLA's exp/tanh/cosh against the compiled network's libm/libmvec (a few ulp)
#: and the order of the synaptic sums, carried through 800 integration steps.  Measured:
#: <= 2e-16 (hh), 1.3e-14 (morris_lecar_recurrent, hh-randman-2 sizes, 16 samples); 1e-11
#: leaves room for other libm versions and is far below what a schedule error gives (one
#: integration step earlier or later moves the maxima by ~1e-4 and more).
ATOL = 1e-11

CASES = {  # model: (overrides, evolved neuron parameters); I_app != 0: linear genes scale their reference
    "hh": ({"hidden.I_scale": 5.0, "hidden.I_app": 1.0}, ["hidden.tau_syn", "hidden.g_na", "hidden.I_app", "readout.tau_mem"]),
    "morris_lecar_recurrent": ({"hidden.I_scale": 300.0, "hidden.I_app": 5.0}, ["hidden.tau_syn", "hidden.phi", "hidden.I_app",
                                                         "readout.tau_mem"]),
    # class II held bistable (I_app 91 in the file): kicks start firing that outlasts them
    "morris_lecar_class2_recurrent": ({"hidden.I_scale": 300.0}, ["hidden.tau_syn", "readout.tau_mem"]),
}


def _case(model_name: str, seed: int = 0):
    model = load_model(model_name)
    overrides, evolve = CASES[model_name]
    gains = {"input_hidden": 3.0, "hidden_readout": 5.0}
    layout = build_layout(model, {"inputs": 10, "hidden": 6, "classes": 2}, gains, evolve, overrides=overrides)
    rng = np.random.default_rng(seed)
    genome = layout.initial(rng)
    for seg, sl in zip(layout.segments, layout.slices().values()):
        if seg.kind == "parameter":  # spread the neuron parameters
            genome[sl] = 0.2 * rng.standard_normal(seg.size)
    raster = (rng.random((4, 20, 10)) < 0.2).astype(np.uint8)
    return model, layout, genome, raster


@pytest.mark.parametrize("model_name", list(CASES))
@pytest.mark.slow
def test_forward_equals_the_brian2_network(model_name):
    """Same genome, same samples: the Brian2 network (cpp backend) and the JAX
    forward give the same readout maxima (within ATOL) and the same hidden spike counts."""
    from bioevo.sim.evaluator import PopulationEvaluator

    model, layout, genome, raster = _case(model_name)
    ev = PopulationEvaluator(model, layout.layer_sizes, 1, len(raster), raster.shape[1], backend="cpp",
                             record_spikes=("hidden",), workers=1)
    try:
        ref = ev.evaluate(layout.decode(genome[None]), raster)
    finally:
        ev.close()
    net = bp.parse_network(model)
    with jax.enable_x64(True):
        vmax, counts = bp.simulate(net, layout, snn.initial_params(layout, genome), jnp.asarray(raster, jnp.float64))
        vmax, counts = np.asarray(vmax), np.asarray(counts)
    spikes = ref.spike_counts["hidden"][0]
    assert 0 < spikes.sum() and (spikes == 0).any() or spikes.sum() > 4  # the hidden layer spikes
    np.testing.assert_array_equal(counts, spikes)
    np.testing.assert_allclose(vmax, ref.vmax[0], rtol=0, atol=ATOL)
    assert np.abs(vmax).max() > 0.01  # the readouts moved


@pytest.mark.parametrize("model_name", list(CASES))
@pytest.mark.slow
def test_gradient_is_exact_where_continuous_and_reaches_every_segment(model_name):
    """Readout parameters and weights act through continuous dynamics only: the
    autodiff gradient equals central finite differences there.  The hidden
    layer's segments reach the loss only through spike events and get the
    surrogate's gradient: finite and non-zero."""
    model, layout, genome, raster = _case(model_name, seed=1)
    net = bp.parse_network(model)
    labels = jnp.asarray([0, 1, 0, 1])
    with jax.enable_x64(True):
        x = jnp.asarray(raster, jnp.float64)

        def loss(p):
            vmax, _ = bp.simulate(net, layout, p, x)
            return bp.cross_entropy(vmax, labels)

        params = snn.initial_params(layout, genome)
        value, grads = jax.jit(jax.value_and_grad(loss))(params)
        for name, g in grads.items():
            assert np.all(np.isfinite(g)) and np.any(np.asarray(g) != 0), name
        f = jax.jit(loss)
        for name in ("w.hidden_readout", "p.readout.tau_mem"):
            direction = np.random.default_rng(2).standard_normal(params[name].shape)
            eps = 1e-6
            up = f({**params, name: params[name] + eps * direction})
            down = f({**params, name: params[name] - eps * direction})
            fd = float(up - down) / (2 * eps)
            exact = float(np.sum(np.asarray(grads[name]) * direction))
            assert exact == pytest.approx(fd, rel=1e-6, abs=1e-10), name


@pytest.mark.slow
def test_bptt_method_writes_its_row_with_gradient_norms(tmp_path):
    """python -m bioevo.tasks.baselines --methods bptt on a tiny hh-randman-2: one
    row, one candidate per learning rate with a gradient norm per step, divergence
    recorded; a LIF preset is refused in one line."""
    import json

    from bioevo.tasks import baselines as cli

    tiny = ["data.split=[16, 8, 8]", "data.n_steps=8", "model.hidden=4", "evolve.batch_size=8",
            "baselines.epochs=1", "baselines.batch_size=8", "baselines.bptt.lr=[0.01, 0.1]"]
    out = tmp_path / "table"
    cli.main(["--preset", "hh-randman-2", "--methods", "bptt", "--out", str(out), "--quiet",
              *[x for o in tiny for x in ("--set", o)]])
    row = json.loads((out / "baselines.json").read_text())["methods"]["bptt"]
    assert [c["lr"] for c in row["candidates"]] == [0.01, 0.1] and row["lr"] in (0.01, 0.1)
    for c in row["candidates"]:
        assert c["steps"] == len(c["grad_norm"]) == len(c["train_loss"]) >= 1
        assert c["diverged"] is False and all(g > 0 for g in c["grad_norm"])
    assert set(row["divergences"]) == {"0.01", "0.1"} and 0 <= row["test_accuracy"] <= 1
    assert "BPTT" in (out / "baselines.md").read_text()
    with pytest.raises(SystemExit) as err:
        cli.main(["--preset", "randman-2", "--methods", "bptt", "--out", str(tmp_path / "lif")])
    assert err.value.code == 2 and not (tmp_path / "lif").exists()


def _competition_case(seed: int = 0, n_steps: int = 60):
    """competition-clicks' circuit (2 inputs, 2 pools of 16 exc, 8 inh) with its gains and
    evolved parameters, spread so that both pools and the inhibition spike."""
    model = load_model("competition")
    gains = {"input_hidden": 10.0, "exc_exc": 0.3, "exc_inh": 1.0, "inh_exc": 1.0}
    layout = build_layout(model, {"inputs": 2, "classes": 2}, gains, ["exc.tau_mem", "exc.v_th"], per_neuron=False)
    rng = np.random.default_rng(seed)
    genome = layout.initial(rng)
    for seg, sl in zip(layout.segments, layout.slices().values()):
        if seg.kind == "parameter":
            genome[sl] = 0.2 * rng.standard_normal(seg.size)
    raster = (rng.random((4, n_steps, 2)) < 0.15).astype(np.uint8)
    return model, layout, genome, raster


@pytest.mark.slow
def test_circuit_forward_equals_the_brian2_network():
    """The competition circuit (three layers, resets, sparse / shared / fixed / abs(w)
    synapses) in JAX: the Brian2 network's exc spike counts exactly, its readout maxima
    and the max of its recorded readout trace over a window (fitness.last_steps) within
    ATOL (measured 1.1e-16)."""
    from dataclasses import replace

    from bioevo.sim.evaluator import PopulationEvaluator

    model, layout, genome, raster = _competition_case()
    ev = PopulationEvaluator(model, layout.layer_sizes, 1, len(raster), raster.shape[1], backend="cpp",
                             record_trace=True, record_spikes=("exc",), workers=1)
    try:
        ref = ev.evaluate(layout.decode(genome[None]), raster)
    finally:
        ev.close()
    net = bp.parse_circuit(model)
    with jax.enable_x64(True):
        x, params = jnp.asarray(raster, jnp.float64), snn.initial_params(layout, genome)
        vmax, counts = (np.asarray(a) for a in bp.simulate(net, layout, params, x))
        wmax = np.asarray(bp.simulate(replace(net, window=20), layout, params, x)[0])
    spikes = ref.spike_counts["exc"][0]
    assert spikes.sum() > 20
    np.testing.assert_array_equal(counts, spikes)
    np.testing.assert_allclose(vmax, ref.vmax[0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(wmax, ref.trace[0][:, -20:].max(axis=1), rtol=0, atol=ATOL)
    assert np.abs(vmax).max() > 0.01


@pytest.mark.slow
def test_window_is_the_max_of_the_brian2_trace():
    """fitness.last_steps with sub-stepping (Morris-Lecar, 20 integration steps per input
    step): the JAX window max equals the max of the Brian2 trace's last samples, which the
    trace monitor takes at the end of each input step's first integration step (measured 1e-14)."""
    from dataclasses import replace

    from bioevo.sim.evaluator import PopulationEvaluator

    model, layout, genome, raster = _case("morris_lecar_recurrent")
    ev = PopulationEvaluator(model, layout.layer_sizes, 1, len(raster), raster.shape[1], backend="cpp",
                             record_trace=True, workers=1)
    try:
        ref = ev.evaluate(layout.decode(genome[None]), raster)
    finally:
        ev.close()
    net = replace(bp.parse_network(model), window=7)
    with jax.enable_x64(True):
        wmax = np.asarray(bp.simulate(net, layout, snn.initial_params(layout, genome),
                                      jnp.asarray(raster, jnp.float64))[0])
    expected = ref.trace[0][:, -7:].max(axis=1)
    np.testing.assert_allclose(wmax, expected, rtol=0, atol=ATOL)
    assert np.abs(expected - ref.vmax[0]).max() > 1e-3  # the window is not the whole trial's max


def test_circuit_gradient_reaches_every_segment():
    """Every segment of the competition circuit acts through spikes only: the surrogate
    gives each a finite, non-zero gradient."""
    model, layout, genome, raster = _competition_case(seed=1, n_steps=30)
    net = bp.parse_circuit(model)
    labels = jnp.asarray([0, 1, 0, 1])
    with jax.enable_x64(True):
        x = jnp.asarray(raster, jnp.float64)
        grads = jax.grad(lambda p: bp.cross_entropy(bp.simulate(net, layout, p, x)[0], labels))(
            snn.initial_params(layout, genome))
        for name, g in grads.items():
            assert np.all(np.isfinite(g)) and np.any(np.asarray(g) != 0), name
