"""The training command on real data and the Python API: a tiny digits run
end to end, the README's API example as written, missing data files."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tiny_digits_run_writes_a_complete_directory(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", "--preset", "digits", "--out", str(out),
                          "--backend", "cpp", "--quiet", "--set", "model.hidden=8", "--set",
                          "strategy.es.popsize=4", "--set", "evolve.generations=2", "--set", "evolve.batch_size=64"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    for name in ("config.toml", "metrics.csv", "summary.json", "best_genome.h5", "checkpoint.h5",
                 "training_curves.png", "confusion.png", "readout_traces.png", "input_raster.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    confusion = np.array(summary["test"]["confusion"])
    assert summary["data"] == "digits" and summary["generations"] == 2
    assert confusion.shape == (10, 10) and confusion.sum() == 360  # the fixed stratified test split
    assert summary["n_parameters"] == 64 * 8 + 8 * 10  # 8x8 pixels -> 8 hidden -> 10 classes


@pytest.mark.slow
def test_readme_python_api_example_runs_as_written(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.run_dir.is_dir() and (result.run_dir / "summary.json").is_file()
    assert 0 <= result.summary["test"]["accuracy"] <= 1 and len(result.history) == result.summary["generations"]


@pytest.mark.slow
def test_parallel_samples_train_like_sequential_ones(tmp_path):
    """evolve.samples = "parallel" (the GPU layout) changes where the samples sit
    in the network, not the run: the same losses, validations and test."""
    import bioevo

    runs = {}
    for samples in ("sequential", "parallel"):
        cfg = bioevo.load_config("randman-2", ["model.hidden=8", "strategy.es.popsize=4", "evolve.generations=3",
                                               "evolve.batch_size=16", "evolve.eval_every=1", "data.split=[32,8,8]",
                                               f"evolve.samples={samples}"], backend="runtime")
        runs[samples] = bioevo.run(cfg, run_dir=tmp_path / samples, progress=False)
    seq, par = runs["sequential"], runs["parallel"]
    assert len(seq.history) == len(par.history) == 3
    for a, b in zip(seq.history, par.history):
        for key in ("loss_mean", "loss_min", "val_loss"):
            assert b[key] == pytest.approx(a[key], rel=0, abs=1e-12), key
        assert (a["train_acc"], a["val_acc"]) == (b["train_acc"], b["val_acc"])
    assert seq.summary["test"]["confusion"] == par.summary["test"]["confusion"]
    np.testing.assert_allclose(par.best_genome, seq.best_genome, rtol=0, atol=1e-12)


@pytest.mark.parametrize("preset, files", [("mnist", "train-images-idx3-ubyte"), ("shd", "shd_train.h5")])
@pytest.mark.slow
def test_missing_data_files_are_one_line_and_create_nothing(tmp_path, preset, files):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", "--preset", preset, "--out", str(out),
                          "--set", f'data.path="{tmp_path / "nowhere"}"'], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and files in lines[0] and "nothing is downloaded" in lines[0]
    assert not out.exists()
