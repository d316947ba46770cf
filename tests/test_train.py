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


def test_tiny_digits_run_writes_a_complete_directory(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", "--preset", "digits", "--out", str(out),
                          "--backend", "runtime", "--quiet", "--set", "model.hidden=8", "--set",
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


@pytest.mark.parametrize("preset, files", [("mnist", "train-images-idx3-ubyte"), ("shd", "shd_train.h5")])
def test_missing_data_files_are_one_line_and_create_nothing(tmp_path, preset, files):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", "--preset", preset, "--out", str(out),
                          "--set", f'data.path="{tmp_path / "nowhere"}"'], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and files in lines[0] and "nothing is downloaded" in lines[0]
    assert not out.exists()
