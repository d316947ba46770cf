"""bioevo's C++ device (bioevo.sim.device, bioevo/sim/templates) against Brian2's own templates.

The readouts of a network must not depend on which templates generated the loops around
Brian2's statements: every sum is taken in the same order, so they are equal bit for bit.
The network here exercises what the templates replace: counts from the input (SHD), a spiking
recurrent layer, the readout, spike and trace monitors, tracked statistics, and a synapse group
with a delay (which keeps Brian2's spike queue).  Serving (one forked copy of an initialised
binary per evaluation) must survive a killed server.  float32 networks agree with the float32
numpy reference within a tolerance derived below.
"""
import dataclasses
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from bioevo import bench
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.sim import device
from bioevo.sim.evaluator import PopulationEvaluator
from bioevo.sim.reference import simulate_lif

P, B, T = 3, 4, 20
# runs of 41 targets take every tile width of the grouped delivery (32 + 8 + 1); the input also
# reaches the readout directly, so that the order of each target's additions shows in the readouts
# (the hidden layer shows only through its spike times)
SIZES = {"inputs": 12, "hidden": 41, "classes": 41}
GAIN = {"input_hidden": 8.0, "hidden_hidden": 2.0, "hidden_readout": 2.0, "input_readout": 2.0}
INPUT_TO_READOUT = '\n[synapses.input_readout]\nsource = "input"\ntarget = "readout"\non_pre = "I_post += w * count_pre"\n'


@pytest.fixture(scope="module")
def delayed_model(tmp_path_factory):
    """lif_recurrent with a 2 ms delay on the recurrent synapses (Brian2's queue stays for them)."""
    text = Path(load_model("lif_recurrent").source).read_text()
    marker = '[synapses.hidden_hidden]\nsource = "hidden"\ntarget = "hidden"\n'
    assert marker in text
    path = tmp_path_factory.mktemp("model") / "lif_recurrent_delayed.toml"
    path.write_text(text.replace(marker, marker + "delay = 2.0\n").replace('name = "lif_recurrent"',
                                                                           'name = "lif_recurrent_delayed"')
                    + INPUT_TO_READOUT)
    return load_model(str(path))


@pytest.fixture(scope="module")
def case(delayed_model):
    layout = build_layout(delayed_model, SIZES, GAIN, evolve=["hidden.tau_mem", "hidden.v_th"], init="gamma")
    rng = np.random.default_rng(5)
    params = layout.decode(np.stack([layout.initial(rng) for _ in range(P)]))
    # dense counts (about 6 input units per step, as SHD's bins): the input reaches the hidden layer
    # in groups of spikes delivered together (templates/synapses.cpp)
    counts = (rng.random((B, T, SIZES["inputs"])) < 0.5) * rng.integers(1, 4, (B, T, SIZES["inputs"]))
    return layout, params, counts.astype(np.uint8)


def _evaluate(model, case, templates):
    layout, params, counts = case
    ev = PopulationEvaluator(model, layout.layer_sizes, P, B, T, record_trace=True, record_spikes=True,
                             readout_stats=("final", "sum"), templates=templates)
    try:
        return ev.evaluate(params, counts)
    finally:
        ev.close()


@pytest.mark.slow
def test_readouts_equal_brians_own_templates_bit_for_bit(delayed_model, case):
    assert sum(device.TILES) + 1 == SIZES["hidden"]
    ours, brians = _evaluate(delayed_model, case, "bioevo"), _evaluate(delayed_model, case, "brian2")
    assert brians.spike_counts["hidden"].sum() > 0, "the hidden layer must spike for the comparison to mean much"
    assert brians.vmax.std() > 0
    for field in ("vmax", "trace", "finite"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(brians, field), err_msg=field)
    assert set(ours.stats) == set(brians.stats) == {"vfinal", "vsum"}
    for key in ours.stats:
        np.testing.assert_array_equal(ours.stats[key], brians.stats[key], err_msg=key)
    for field in ("spike_counts", "first_spikes"):
        np.testing.assert_array_equal(getattr(ours, field)["hidden"], getattr(brians, field)["hidden"], err_msg=field)


@pytest.mark.slow
def test_delay_changes_the_readouts(delayed_model, case):
    """The delayed group is really delayed (else the comparison above would not test the queue).  The
    undelayed network runs on the runtime backend (no compile; its readouts equal cpp's, test_sim)."""
    layout, params, counts = case
    plain = load_model("lif_recurrent")
    ev = PopulationEvaluator(plain, layout.layer_sizes, P, B, T, backend="runtime")
    try:
        undelayed = ev.evaluate(params, counts)
    finally:
        ev.close()
    delayed = _evaluate(delayed_model, case, "bioevo")
    assert not np.array_equal(undelayed.vmax, delayed.vmax)


@pytest.mark.slow
def test_a_killed_server_is_an_error_then_restarts():
    model, layout, params, raster = bench.make_problem(4, 8)
    ev = PopulationEvaluator(model, layout.layer_sizes, 4, 8, bench.N_STEPS)
    try:
        first = ev.evaluate(params, raster)
        os.kill(ev._servers.procs[0].pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="serving binary stopped"):
            ev.evaluate(params, raster)
        again = ev.evaluate(params, raster)  # new servers
        np.testing.assert_array_equal(again.vmax, first.vmax)
    finally:
        ev.close()
    assert not ev._servers.procs, "close() ends the servers"


@pytest.mark.slow
def test_a_bad_argument_file_is_an_error(monkeypatch):
    model, layout, params, raster = bench.make_problem(2, 4)
    ev = PopulationEvaluator(model, layout.layer_sizes, 2, 4, bench.N_STEPS)
    try:
        ev.evaluate(params, raster)
        real = ev._dtype
        monkeypatch.setattr(ev, "_dtype", lambda group, var: np.float32 if var == "w" else real(group, var))
        with pytest.raises(RuntimeError, match="Brian2 binary"):  # half the bytes the binary expects
            ev.evaluate(params, raster)
    finally:
        ev.close()


@pytest.mark.slow
def test_float32_agrees_with_the_float32_reference():
    """float32 state: within 1e-5 of numpy's float32 version of the same dynamics (readouts of
    order 1 after ~50 steps of decays and additions in a different order: a few float32 ulps,
    1.2e-7 each); against float64 the readouts move only where a hidden neuron's threshold crossing
    moves by a step, and the predicted class stays the same for almost every sample."""
    model, layout, params, raster = bench.make_problem(8, 32)
    ev = PopulationEvaluator(model, layout.layer_sizes, 8, 32, bench.N_STEPS, precision="float32")
    try:
        ours = ev.evaluate(params, raster)
    finally:
        ev.close()
    ref32 = simulate_lif(params, raster, dtype=np.float32)[0]
    ref64 = simulate_lif(params, raster, dtype=np.float64)[0]
    assert ours.vmax.dtype == np.float64  # handed on as float64 like every readout
    assert not np.array_equal(ours.vmax, ref64), "the network must really hold float32"
    np.testing.assert_allclose(ours.vmax, ref32, rtol=0, atol=1e-5)
    close = np.abs(ours.vmax - ref64) <= 1e-5
    assert close.mean() >= 0.99
    assert (ours.vmax.argmax(-1) == ref64.argmax(-1)).mean() >= 0.99


@pytest.mark.slow
def test_float32_weights_are_the_float64_dynamics_of_rounded_weights():
    """float32-weights: only ``w`` is stored as float32, so the readouts are the float64 reference's
    for the same weights rounded to float32 (1e-12: float64 sums in the same order up to
    reassociation of one product), and not those of the unrounded weights."""
    model, layout, params, raster = bench.make_problem(8, 32)
    ev = PopulationEvaluator(model, layout.layer_sizes, 8, 32, bench.N_STEPS, precision="float32-weights")
    try:
        ours = ev.evaluate(params, raster)
        assert ev._dtype("input_hidden", "w") == np.float32
        assert ev._dtype("hidden", "v") == np.float64
    finally:
        ev.close()
    rounded = dataclasses.replace(params, weights={name: w.astype(np.float32).astype(np.float64)
                                                   for name, w in params.weights.items()})
    np.testing.assert_allclose(ours.vmax, simulate_lif(rounded, raster, dtype=np.float64)[0], rtol=0, atol=1e-12)
    assert np.abs(ours.vmax - simulate_lif(params, raster, dtype=np.float64)[0]).max() > 1e-9


def test_order_free_statements_are_sorted_and_the_rest_kept():
    lines = ["a = 1;", "_array_z_clock_t[0] = 0.0;", "_array_a_clock_t[0] = 0.0;", "network.clear();",
             "network.add(&z_clock, NULL);", "network.add(&a_clock, NULL);", "network.add(&b, _run_b);",
             "_array_x_clock_t[0] = 1.0;", "_array_x_clock_t[0] = 2.0;", "set_from_command_line(args);",
             "network.run(1.0, NULL, 10.0);"]
    init, run = device.split_at_run_args(["\n".join(lines)])
    assert init == ["a = 1;", "_array_a_clock_t[0] = 0.0;", "_array_z_clock_t[0] = 0.0;", "network.clear();",
                    "network.add(&a_clock, NULL);", "network.add(&z_clock, NULL);", "network.add(&b, _run_b);",
                    "_array_x_clock_t[0] = 1.0;", "_array_x_clock_t[0] = 2.0;"]  # same name twice: order kept
    assert run == ["set_from_command_line(args);", "network.run(1.0, NULL, 10.0);"]
    assert device.split_at_run_args(["x = 1;"]) == (["x = 1;"], [])


def test_index_reads_are_rewritten_or_the_build_fails():
    code = ["const int32_t _postsynaptic_idx = _ptr_array_s__synaptic_post[_idx];",
            "const int32_t _presynaptic_idx = _ptr_array_s__synaptic_pre[_idx];", "I_post += w;"]
    out = device.contiguous_indices(code, "_ptr_array_s__synaptic_post", "_ptr_array_s__synaptic_pre")
    assert out == ["const int32_t _postsynaptic_idx = _first_target + _position;",
                   "const int32_t _presynaptic_idx = _source_neuron;", "I_post += w;"]
    with pytest.raises(RuntimeError, match="unexpected index read"):
        device.contiguous_indices(["x = _ptr_array_s__synaptic_post[_idx + 1];"], "_ptr_array_s__synaptic_post",
                                  "_ptr_array_s__synaptic_pre")


@pytest.mark.slow
def test_a_new_build_stops_the_servers_of_the_evaluator_it_supersedes():
    model, layout, params, raster = bench.make_problem(4, 8)
    old = PopulationEvaluator(model, layout.layer_sizes, 4, 8, bench.N_STEPS)
    old.evaluate(params, raster)
    procs = list(old._servers.procs)
    assert procs and all(p.poll() is None for p in procs)
    new = PopulationEvaluator(model, layout.layer_sizes, 4, 8, bench.N_STEPS)
    try:
        assert all(p.poll() is not None for p in procs)
        with pytest.raises(RuntimeError, match="superseded"):
            old.evaluate(params, raster)
        new.evaluate(params, raster)
    finally:
        new.close()
        old.close()


def test_grouped_delivery_only_where_statements_just_update_targets():
    post, pre = "_ptr_array_s__synaptic_post", "_ptr_array_s__synaptic_pre"
    head = [f"const int32_t _postsynaptic_idx = {post}[_idx];", f"const int32_t _presynaptic_idx = {pre}[_idx];"]
    update = ["double I_post = _ptr_array_t_I[_postsynaptic_idx];", "const double w = _ptr_array_s_w[_idx];",
              "I_post += w;", "_ptr_array_t_I[_postsynaptic_idx] = I_post;"]
    grouped = device.grouped_delivery(head + update, post, pre)
    assert [tile["width"] for tile in grouped["tiles"]] == list(device.TILES)
    for tile in grouped["tiles"]:
        code, last = "\n".join(tile["code"]), tile["width"] - 1
        assert code.count("double& I_post = _acc") == tile["width"]  # one register per target of the tile
        assert f"_ptr_array_t_I[_first_target + _position + {last}] = _acc{last}_I_post;" in code
    assert "_ptr_array_t_I[_first_target + _position + 0] = _acc0_I_post;" in "\n".join(grouped["tail"])
    # a write to a synaptic variable (plasticity) or to the source: spikes one at a time
    assert device.grouped_delivery(head + update + ["_ptr_array_s_w[_idx] = w;"], post, pre) is None
    assert device.grouped_delivery(head + update + ["_ptr_array_u_x[_presynaptic_idx] = 0;"], post, pre) is None
    # a target variable read through anything but its own load
    assert device.grouped_delivery(head + update + ["const double y = _ptr_array_t_y[_postsynaptic_idx + 1];"],
                                   post, pre) is None


EVALUATE_IN_A_NEW_PROCESS = """
import sys
from pathlib import Path
from bioevo import bench
from bioevo.sim import device
from bioevo.sim.evaluator import PopulationEvaluator
if len(sys.argv) > 1:
    device.TEMPLATES = Path(sys.argv[1])
model, layout, params, raster = bench.make_problem(2, 4)
ev = PopulationEvaluator(model, layout.layer_sizes, 2, 4, bench.N_STEPS)
print(repr(ev.evaluate(params, raster).vmax.sum()))
ev.close()
"""


@pytest.mark.slow
def test_a_build_made_by_bioevo_installed_elsewhere_is_not_reused(tmp_path):
    """A compiled project's make dependencies name the vector-math header by its absolute path. A build
    made by a copy of bioevo installed elsewhere (since removed) must not be picked up: make would fail
    on the missing header, print its error, and the project would be rebuilt from scratch.  Separate
    processes, as in use."""
    import shutil
    import subprocess
    import sys

    env = {**os.environ, "BIOEVO_CACHE": str(tmp_path / "cache")}
    elsewhere = tmp_path / "elsewhere" / "templates"
    shutil.copytree(device.TEMPLATES, elsewhere)
    run = [sys.executable, "-c", EVALUATE_IN_A_NEW_PROCESS]
    before = subprocess.run([*run, str(elsewhere)], env=env, capture_output=True, text=True, check=True)
    shutil.rmtree(elsewhere)
    after = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert "No rule to make target" not in after.stderr, after.stderr
    assert after.stdout == before.stdout


# Brian2 names a new object name_1 while an older one called name lives; code object names are part
# of the build key, so a process that had built other evaluators used to compile its own copy.
SAME_PROJECT_WHATEVER_CAME_BEFORE = """
import sys, numpy as np
from bioevo.model import load_model
from bioevo.genome import build_layout
from bioevo.sim.evaluator import PopulationEvaluator
m = load_model("lif"); lay = build_layout(m, {"inputs": 3, "hidden": 4, "classes": 2}, {})
older = []
if sys.argv[1] == "after_others":  # a live runtime evaluator and a superseded cpp one of another shape
    older = [PopulationEvaluator(m, lay.layer_sizes, 2, 2, 5, backend="runtime"),
             PopulationEvaluator(m, lay.layer_sizes, 2, 3, 5)]
ev = PopulationEvaluator(m, lay.layer_sizes, 2, 2, 5)
r = ev.evaluate(lay.decode(np.ones((2, lay.size))), np.ones((2, 5, 3), bool))
print(ev.project_dir, repr(r.vmax.tolist()))
"""


def test_an_evaluator_built_after_others_reuses_the_project_a_fresh_process_builds():
    import subprocess
    import sys

    def run(case: str) -> str:
        res = subprocess.run([sys.executable, "-c", SAME_PROJECT_WHATEVER_CAME_BEFORE, case], capture_output=True,
                             text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        return res.stdout

    assert run("after_others") == run("first")


def test_the_cache_key_follows_the_code_that_rewrites_generated_code(tmp_path, monkeypatch):
    """A change to bioevo.sim.device (a tile width, an index rewrite) must not reuse builds made
    before it: the templates' digest covers the module as well as the template files."""
    before = device.templates_digest()
    assert device.templates_digest() == before  # deterministic
    edited = tmp_path / "device.py"
    edited.write_text(Path(device.__file__).read_text() + "\n# any edit, a tile width say\n")
    monkeypatch.setattr(device, "__file__", str(edited))
    assert device.templates_digest() != before
