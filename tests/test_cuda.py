"""The cuda backend (brian2cuda's cuda_standalone), tested without a GPU.

Every Python: ``--backend cuda`` where brian2cuda, nvcc or a GPU is missing
stops with one line naming it, exit 2, nothing written.

Where brian2cuda imports (Python >= 3.12, ``pip install ".[cuda]"``): the
evaluator generates each model's CUDA project and compiles it with nvcc when
there is one (slow the first time: several minutes per model on 2 cores; the
build is cached under $BIOEVO_CACHE and reused afterwards), and the project
must accept every value the evaluator sends as ``run_args``.  Running it needs
a GPU; without one that test is skipped with the reason.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest

from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.sim import cuda, evaluator
from bioevo.sim.evaluator import PopulationEvaluator

SIZES = {"inputs": 5, "hidden": 8, "classes": 3}
P, B, T = 4, 3, 10
MODELS = ["lif", "lif_spiking", "hh", "competition"]


# ------------------------------------------------------------- what is missing: one line, exit 2
def _hide_nvcc(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.setattr(cuda, "STANDARD_CUDA", tmp_path / "no-cuda")


MISSING = {
    "brian2cuda": (lambda mp, d: mp.setitem(sys.modules, "brian2cuda", None), "brian2cuda is not installed"),
    "nvcc": (_hide_nvcc, "no nvcc"),
    # the driver's own switch: no device is visible, GPU machine or not
    "gpu": (lambda mp, d: mp.setenv("CUDA_VISIBLE_DEVICES", ""), "no CUDA GPU"),
}
COMMANDS = {
    "train": ("bioevo.tasks.train", lambda d: ["--preset", "randman-2", "--backend", "cuda", "--quiet",
                                               "--out", str(d / "run")], "evolve.backend 'cuda' cannot run here"),
    "bench": ("bioevo.tasks.bench", lambda d: ["--backend", "cuda", "--quick"], "--backend cuda cannot run here"),
}


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize("command", COMMANDS)
def test_backend_cuda_without_what_it_needs_is_one_line_exit_2(tmp_path, monkeypatch, capsys, command, missing):
    module, argv, prefix = COMMANDS[command]
    hide, fragment = MISSING[missing]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = argv(tmp_path)
    hide(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, err
    assert prefix in err[0] and fragment in err[0] and err[0].endswith("allowed here: cpp, runtime"), err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and not any(work.iterdir())


def test_backend_cuda_is_a_config_choice():
    from bioevo import load_config

    assert load_config("randman-2", backend="cuda")["evolve"]["backend"] == "cuda"


# --------------------------------------------------------------- the generated project (brian2cuda)
needs_brian2cuda = pytest.mark.skipif(cuda.brian2cuda_problem() is not None,
                                      reason=f"{cuda.brian2cuda_problem()}: the CUDA project cannot be generated")
can_compile = cuda.nvcc_path() is not None and cuda.curand_dirs() is not None


def _generate_only(device, project):
    """Stands in for evaluator._build_verified where there is no nvcc: write the project, compile nothing."""
    device.build(directory=str(project), compile=False, run=False, with_output=False)


def _problem(name: str, seed: int = 0):
    model = load_model(name)
    layout = build_layout(model, SIZES, {})
    rng = np.random.default_rng(seed)
    params = layout.decode(np.stack([layout.initial(rng) for _ in range(P)]))
    raster = rng.random((B, T, SIZES["inputs"])) < 0.3
    return model, layout, params, raster


def _cuda_evaluator(model, layout) -> PopulationEvaluator:
    return PopulationEvaluator(model, layout.layer_sizes, P, B, T, backend="cuda")


@needs_brian2cuda
def test_build_settings_are_restored_for_later_cpp_builds(tmp_path):
    import brian2cuda  # noqa: F401 - registers the cuda preferences
    from brian2 import prefs

    before = {k: prefs[k] for k in prefs}
    with cuda.build_settings(tmp_path / "lib") as capability:
        assert prefs["devices.cuda_standalone.cuda_backend.compute_capability"] == capability
        assert "-std=c++17" in prefs["devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"]
        assert "-std=c++11" not in prefs["codegen.cpp.extra_compile_args_gcc"]
    assert {k: prefs[k] for k in prefs} == before


@needs_brian2cuda
@pytest.mark.parametrize("name", MODELS)
def test_cuda_project_builds_once_and_takes_every_run_arg(name, monkeypatch):
    missing = "; ".join(cuda.build_problems())
    if not can_compile:
        monkeypatch.setattr(cuda, "build_problems", lambda: [])
        monkeypatch.setattr(evaluator, "_build_verified", _generate_only)
    model, layout, params, _ = _problem(name)
    ev = _cuda_evaluator(model, layout)
    project = ev.project_dir
    assert project.parent.name == "cuda" and (project / "main.cu").is_file()
    # what evaluate() sends: every weight and neuron parameter of the genome, and the input raster
    sent = [f"{group}.{var}" for group, var in ev._flat_values(params)] + ["input_raster.values"]
    assert {f"{s}.w" for s in model.synapses} <= set(sent)
    setters = (project / "objects.cu").read_text()
    assert [s for s in sent if f'if (name == "{s}")' not in setters] == []
    if not can_compile:
        pytest.skip(f"generated and checked; not compiled: {missing}")
    binary = project / "main"
    assert binary.read_bytes()[:4] == b"\x7fELF" and os.access(binary, os.X_OK)
    objects = {path.name: path.stat().st_mtime_ns for path in (project / "code_objects").glob("*.o")}
    assert len(objects) == len(list((project / "code_objects").glob("*.cu")))
    del ev  # while it lives, Brian would suffix the new code objects' names: another project
    again = _cuda_evaluator(model, layout)  # same shape in the same cache: regenerated, not recompiled
    # brian2cuda writes main.cu's clock set-up in set order (it may differ from build to build, so main.cu
    # may be recompiled and relinked); every code object stays compiled
    assert again.project_dir == project
    assert {path.name: path.stat().st_mtime_ns for path in (project / "code_objects").glob("*.o")} == objects
    again.close()


@needs_brian2cuda
@pytest.mark.parametrize("name", MODELS)
def test_cuda_readouts_equal_the_runtime_backend(name):
    """Both float64; the GPU sums synaptic input in no fixed order and fuses
    multiply-adds, so readouts may differ by rounding (far below 1e-9)."""
    problem = cuda.gpu_problem() or ("" if can_compile else "no nvcc or cuRAND to compile with")
    if problem:
        pytest.skip(f"the run step needs a CUDA GPU and nvcc: {problem}")
    model, layout, params, raster = _problem(name, seed=1)
    ev = _cuda_evaluator(model, layout)
    try:
        got = ev.evaluate(params, raster)
    finally:
        ev.close()
    ref = PopulationEvaluator(model, layout.layer_sizes, P, B, T, backend="runtime").evaluate(params, raster)
    assert np.ptp(ref.vmax) > 0  # the inputs drive the readouts
    np.testing.assert_allclose(got.vmax, ref.vmax, rtol=0, atol=1e-9)
    if ref.finite is not None:
        assert np.array_equal(got.finite, ref.finite)


@pytest.mark.parametrize("flipped, passes", [(0, True), (2, True), (3, False)])
def test_gpu_check_allows_rounding_and_at_most_one_flip_per_thousand_readouts(flipped, passes):
    from bioevo.bench_cuda import MAX_MISMATCH, TOLERANCE, agreement

    rng = np.random.default_rng(0)
    cpp = rng.random((4, 50, 10))  # 2000 readouts
    gpu = cpp + rng.uniform(-TOLERANCE, TOLERANCE, cpp.shape) * 0.5  # rounding-sized differences
    gpu.flat[rng.choice(cpp.size, flipped, replace=False)] += 0.1  # a spike more or less
    check = agreement({"vmax": gpu}, {"vmax": cpp})
    assert check["share_outside_tolerance"] == flipped / cpp.size
    assert check["pass"] is passes and (flipped / cpp.size <= MAX_MISMATCH) is passes
