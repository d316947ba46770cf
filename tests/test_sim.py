"""Brian2 population evaluator (runtime and cpp backends) against the numpy
reference, genome layout round trips, model loading errors.

The cpp evaluator is built once for the module (about 8 s the first time,
cached under $BIOEVO_CACHE / ~/.cache/bioevo afterwards).  The test that
supersedes it with a second cpp build runs last in this file.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from bioevo.genome import GenomeLayout, build_layout
from bioevo.model import load_model
from bioevo.sim.evaluator import PopulationEvaluator
from bioevo.sim.reference import simulate_lif

P, B, T = 3, 4, 20
SIZES = {"inputs": 5, "hidden": 7, "classes": 3}
EVOLVE = ["hidden.tau_mem", "hidden.tau_syn", "hidden.v_th", "readout.tau_mem", "readout.tau_syn"]
GAIN = {"input_hidden": 8.0, "hidden_readout": 2.0}


@pytest.fixture(scope="module")
def model():
    return load_model("lif")


@pytest.fixture(scope="module")
def case(model):
    """Per-neuron, per-individual parameters (injected current too) and a raster that makes hidden neurons spike."""
    lay = build_layout(model, SIZES, GAIN, evolve=EVOLVE, init="gamma")
    rng = np.random.default_rng(1)
    genomes = np.stack([lay.initial(rng) for _ in range(P)])
    params = lay.decode(genomes)
    raster = rng.random((B, T, SIZES["inputs"])) < 0.25
    hidden = params.neurons["hidden"]
    hidden["I_app"] = rng.uniform(-0.3, 0.6, hidden["I_app"].shape)  # a constant drive, different per neuron
    return lay, genomes, params, raster


@pytest.fixture(scope="module")
def reference(case):
    _, _, params, raster = case
    return simulate_lif(params, raster, record_trace=True, dtype=np.float64)


@pytest.fixture(scope="module")
def runtime_eval(model, case):
    lay = case[0]
    return PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend="runtime",
                               record_trace=True, record_spikes=True)


@pytest.fixture(scope="module")
def runtime_result(runtime_eval, case):
    return runtime_eval.evaluate(case[2], case[3])


@pytest.fixture(scope="module")
def cpp_eval(model, case):
    ev = PopulationEvaluator(model, case[0].layer_sizes, P, B, T, backend="cpp",
                             record_trace=True, record_spikes=True)
    yield ev
    ev.close()


@pytest.fixture(scope="module")
def cpp_result(cpp_eval, case):
    return cpp_eval.evaluate(case[2], case[3])


def test_case_is_heterogeneous_and_spiking(case, reference):
    _, _, params, _ = case
    for name in ("tau_mem", "tau_syn", "v_th"):
        values = params.neurons["hidden"][name]
        assert values.shape == (P, SIZES["hidden"])
        assert len(np.unique(values)) == values.size, f"hidden.{name} should differ across neurons and individuals"
    counts = reference[2]
    assert counts.sum() > 0
    assert (counts > 0).mean() > 0.2, "too few hidden neurons spike for the comparison to mean much"
    assert (counts.sum(axis=1) > 0).any(axis=1).all(), "every individual should have spiking hidden neurons"


def test_runtime_matches_numpy_reference(runtime_result, reference):
    vmax, trace, counts = reference
    r = runtime_result
    assert r.vmax.shape == (P, B, SIZES["classes"])
    assert r.trace.shape == (P, B, T, SIZES["classes"])
    assert set(r.spike_counts) == {"hidden"}
    assert r.spike_counts["hidden"].shape == (P, B, SIZES["hidden"])
    assert counts.sum() > 0 and r.spike_counts["hidden"].sum() > 0
    np.testing.assert_array_equal(r.spike_counts["hidden"], counts)
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_cpp_matches_runtime(cpp_result, runtime_result):
    c, r = cpp_result, runtime_result
    assert c.vmax.shape == r.vmax.shape and c.trace.shape == r.trace.shape
    np.testing.assert_allclose(c.vmax, r.vmax, rtol=0, atol=1e-9)
    np.testing.assert_allclose(c.trace, r.trace, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(c.spike_counts["hidden"], r.spike_counts["hidden"])


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_trace_max_equals_vmax(backend, runtime_result, cpp_result):
    r = runtime_result if backend == "runtime" else cpp_result
    np.testing.assert_array_equal(r.trace.max(axis=2), r.vmax)


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_padding_trims_and_matches_full(backend, case, runtime_eval, runtime_result, cpp_eval, cpp_result):
    ev, full = (runtime_eval, runtime_result) if backend == "runtime" else (cpp_eval, cpp_result)
    lay, genomes, params, raster = case
    n_ind, n_samp = 2, 3
    part = lay.decode(genomes[:n_ind])
    part.neurons["hidden"]["I_app"] = params.neurons["hidden"]["I_app"][:n_ind]
    r = ev.evaluate(part, raster[:n_samp])
    O, H = SIZES["classes"], SIZES["hidden"]
    assert r.vmax.shape == (n_ind, n_samp, O)
    assert r.trace.shape == (n_ind, n_samp, T, O)
    assert r.spike_counts["hidden"].shape == (n_ind, n_samp, H)
    np.testing.assert_allclose(r.vmax, full.vmax[:n_ind, :n_samp], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.trace, full.trace[:n_ind, :n_samp], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(r.spike_counts["hidden"], full.spike_counts["hidden"][:n_ind, :n_samp])


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_input_counts_are_delivered_as_weighted_events(backend, case, runtime_eval, cpp_eval):
    """A binned raster may hold several spikes of one unit in one step (SHD): each counts,
    as in the reference (input current += w * count), not once."""
    ev = runtime_eval if backend == "runtime" else cpp_eval
    _, _, params, raster = case
    counts = raster.astype(np.uint8) * np.random.default_rng(3).integers(1, 4, raster.shape, dtype=np.uint8)
    assert counts.max() == 3
    vmax, trace, hidden = simulate_lif(params, counts, record_trace=True)
    binary_vmax = simulate_lif(params, counts > 0)[0]
    assert not np.allclose(vmax, binary_vmax), "the counts should matter for this case"
    r = ev.evaluate(params, counts)
    np.testing.assert_array_equal(r.spike_counts["hidden"], hidden)
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-9)


def test_evaluate_rejects_too_many_or_misshaped(case, runtime_eval):
    lay, genomes, params, raster = case
    with pytest.raises(ValueError, match="holds"):
        runtime_eval.evaluate(params, np.concatenate([raster, raster]))
    with pytest.raises(ValueError, match="raster must have shape"):
        runtime_eval.evaluate(params, raster[:, :-1])


# ---------------------------------------------------------------- genome
def _one_individual(case, k: int):
    lay, genomes, params, _ = case
    one = lay.decode(genomes[k:k + 1])
    one.neurons["hidden"]["I_app"] = params.neurons["hidden"]["I_app"][k:k + 1]
    return one


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_evaluate_one_splits_samples_over_the_binaries(backend, case, runtime_eval, cpp_eval):
    """One genome on more samples than a batch: each binary takes its own share,
    and the readouts equal the numpy reference of every sample (runtime has one
    process, so it takes one batch)."""
    ev = runtime_eval if backend == "runtime" else cpp_eval
    assert ev.sample_capacity == (2 * B if backend == "cpp" else B)  # cpp runs 2 binaries here
    raster = case[3]
    samples = np.concatenate([raster, raster[::-1, ::-1][:3]]) if backend == "cpp" else raster[::-1]
    one = _one_individual(case, 1)
    r = ev.evaluate_one(one, samples)
    vmax, trace, counts = simulate_lif(one, samples, record_trace=True, dtype=np.float64)
    assert r.vmax.shape == (1, len(samples), SIZES["classes"])
    assert counts.sum() > 0
    np.testing.assert_array_equal(r.spike_counts["hidden"], counts)
    np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="at most|one individual"):
        ev.evaluate_one(one, np.concatenate([samples] * 3))
    with pytest.raises(ValueError, match="one individual"):
        ev.evaluate_one(case[2], raster)


def test_decode_encode_round_trip(case):
    lay, genomes, params, _ = case
    rng = np.random.default_rng(5)
    g = genomes.copy()
    weights = [s for s in lay.segments if s.kind == "weight"]
    slices = lay.slices()
    for seg in weights:  # weights have no bounds: any value round-trips
        g[:, slices[seg.name]] = rng.standard_normal((P, seg.size))
    decoded = lay.decode(g)
    for seg in lay.segments:
        if seg.kind == "weight":
            value = decoded.weights[seg.name[2:]]
            assert value.shape == (P, *seg.shape)
        else:
            _, layer, name = seg.name.split(".")
            value = decoded.neurons[layer][name]
            assert np.all((value >= seg.bounds[0]) & (value <= seg.bounds[1]))
        back = seg.encode(value).reshape(P, -1)
        np.testing.assert_allclose(back, g[:, slices[seg.name]], rtol=0, atol=1e-12, err_msg=seg.name)


def test_layout_dict_round_trip(case):
    lay, genomes, _, _ = case
    params = lay.decode(genomes)
    d = json.loads(json.dumps(lay.to_dict()))  # as stored in a checkpoint
    lay2 = GenomeLayout.from_dict(d)
    assert lay2.size == lay.size and lay2.segments == lay.segments and lay2.fixed == lay.fixed
    p2 = lay2.decode(genomes)
    for k in params.weights:
        np.testing.assert_array_equal(p2.weights[k], params.weights[k])
    assert p2.neurons.keys() == params.neurons.keys()
    for layer in params.neurons:
        assert p2.neurons[layer].keys() == params.neurons[layer].keys()
        for k in params.neurons[layer]:
            np.testing.assert_array_equal(p2.neurons[layer][k], params.neurons[layer][k])


def test_fixed_parameters_are_broadcast(model):
    lay = build_layout(model, SIZES, GAIN, evolve=["hidden.v_th"])
    p = lay.decode(np.zeros((2, lay.size)))
    np.testing.assert_array_equal(p.neurons["hidden"]["tau_mem"], np.full((2, SIZES["hidden"]), 10.0))
    np.testing.assert_array_equal(p.neurons["readout"]["tau_syn"], np.full((2, SIZES["classes"]), 5.0))
    np.testing.assert_array_equal(p.neurons["hidden"]["v_th"], np.ones((2, SIZES["hidden"])))


@pytest.mark.parametrize("bad", ["hidden.tau_foo", "nolayer.tau_mem"])
def test_unknown_evolved_parameter_is_named(model, bad):
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")) as err:
        build_layout(model, SIZES, GAIN, evolve=[bad])
    assert "hidden.tau_mem" in str(err.value)  # lists the allowed names


@pytest.mark.parametrize("param, ref", [("hidden.tau_mem", 10.0), ("hidden.v_th", 1.0)])
def test_gamma_init_statistics(model, param, ref):
    lay = build_layout(model, {"inputs": 1, "hidden": 40000, "classes": 1}, {}, evolve=[param], init="gamma")
    g = lay.initial(np.random.default_rng(0))
    layer, name = param.split(".")
    values = lay.decode(g[None]).neurons[layer][name][0]
    assert values.shape == (40000,)
    assert abs(values.mean() / ref - 1) < 0.02
    cv = values.std() / values.mean()
    assert abs(cv - 1 / math.sqrt(3)) < 0.02  # gamma shape k = 3
    lo, hi = model.parameter(param).bounds
    assert values.min() >= lo and values.max() <= hi


# ---------------------------------------------------------------- model files
def test_unknown_model_lists_allowed():
    with pytest.raises(ValueError, match="allowed") as err:
        load_model("nope")
    assert "'nope'" in str(err.value) and "lif" in str(err.value)


def test_model_without_readout_is_rejected(tmp_path):
    from bioevo.resources import resolve

    text = resolve("models", "lif").read_text()
    head, sep, tail = text.partition("[readout]")
    assert sep, "lif.toml should have a [readout] table"
    path = Path(tmp_path) / "noreadout.toml"
    path.write_text(head)
    with pytest.raises(ValueError, match="readout"):
        load_model(path)


# ---------------------------------------------------------------- last: supersedes cpp_eval
@pytest.mark.slow
def test_second_cpp_evaluator_supersedes_first(model, case, cpp_eval, cpp_result):
    lay, _, params, raster = case
    second = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend="cpp",
                                 record_trace=True, record_spikes=True)
    try:
        with pytest.raises(RuntimeError, match="superseded"):
            cpp_eval.evaluate(params, raster)
        r = second.evaluate(params, raster)  # the new one works and gives the same answer
        np.testing.assert_allclose(r.vmax, cpp_result.vmax, rtol=0, atol=1e-12)
    finally:
        second.close()


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
@pytest.mark.slow
def test_parallel_samples_layout_matches_the_numpy_reference(backend, model, case, reference, runtime_result):
    """The GPU layout (the B samples side by side, one run of T steps) gives the
    readouts of the default layout; last in this file because a new cpp
    evaluator supersedes the module's."""
    lay, _, params, raster = case
    vmax, trace, counts = reference
    ev = PopulationEvaluator(model, lay.layer_sizes, P, B, T, backend=backend, record_trace=True,
                             record_spikes=True, readout_stats=("final", "sum"), parallel_samples=True)
    try:
        r = ev.evaluate(params, raster)
        np.testing.assert_array_equal(r.spike_counts["hidden"], counts)
        np.testing.assert_allclose(r.vmax, vmax, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.trace, trace, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.stats["vfinal"], trace[:, :, -1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.stats["vsum"], trace.sum(axis=2), rtol=0, atol=1e-9)
        # first spikes: the reference has none, the default layout (runtime) does
        np.testing.assert_array_equal(r.first_spikes["hidden"], runtime_result.first_spikes["hidden"])
        part = ev.evaluate(_one_individual(case, 2), raster[1:3])  # padding and trimming
        np.testing.assert_allclose(part.vmax, vmax[2:3, 1:3], rtol=0, atol=1e-12)
    finally:
        ev.close()


def test_argument_files_hold_what_tofile_would_write(tmp_path):
    """The evaluator rewrites its run-argument files in place through memory maps: each file must
    hold exactly the bytes ``astype(dtype).tofile`` writes, after a rewrite with other values, a
    change of shape (the map is remade, the file resized) and for an empty array."""
    from bioevo.sim.evaluator import ArgumentFiles

    rng = np.random.default_rng(0)
    files = ArgumentFiles()
    path = tmp_path / "arg.dat"
    for values, dtype in [(rng.normal(size=(4, 6)), np.float64), (rng.normal(size=(4, 6)), np.float64),
                          (rng.normal(size=(3, 5)), np.float32), (rng.random((7, 2)) > 0.5, np.float64),
                          (np.zeros((0, 3)), np.float64)]:
        files.write(path, values, dtype)
        np.asarray(values).astype(dtype).tofile(tmp_path / "expected.dat")
        assert path.read_bytes() == (tmp_path / "expected.dat").read_bytes()
