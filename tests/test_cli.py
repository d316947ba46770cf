"""The randman command end to end: a complete run directory from a tiny
budget, one-line errors (exit 2) on bad input, and concurrent runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from bioevo.config import ConfigError, resolve_config
from bioevo.assemble import make_configured_strategy
from bioevo.rundir import load_genome

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--set", "data.split=[24, 8, 8]", "--set", "strategy.es.popsize=4", "--set", "evolve.batch_size=16",
        "--set", "evolve.generations=3", "--set", "model.hidden=8", "--quiet"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bioevo.tasks.randman", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def assert_complete_run(run_dir: Path) -> dict:
    for name in ("config.toml", "metrics.csv", "summary.json", "best_genome.h5", "training_curves.png",
                 "confusion.png", "readout_traces.png", "hidden_spike_counts.png", "input_raster.png"):
        assert (run_dir / name).is_file() and (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("accuracy", "precision", "recall", "f1", "confusion"):
        assert key in summary["test"]
    assert summary["generations"] == 3
    assert 0 <= summary["test"]["accuracy"] <= 1 and summary["wall_seconds"] > 0
    confusion = np.array(summary["test"]["confusion"])
    assert confusion.shape == (2, 2) and confusion.sum() == 16  # 8 test samples per class
    lines = (run_dir / "metrics.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 3
    return summary


@pytest.mark.slow
def test_tiny_run_writes_complete_directory(tmp_path):
    out = tmp_path / "run"
    res = run_cli("--out", str(out), "--backend", "runtime", *TINY)
    assert res.returncode == 0, res.stderr
    summary = assert_complete_run(out)
    genome, layout, cfg, model_toml = load_genome(out / "best_genome.h5")
    assert genome.shape == (layout.size,) and cfg["evolve"]["backend"] == "runtime" and "[layers.hidden]" in model_toml
    assert summary["val"]["accuracy"] >= 0


@pytest.mark.slow
def test_two_concurrent_cpp_runs_both_succeed(tmp_path):
    """Same seed, same generated code, a fresh build cache: both processes race
    for the build; the lock and per-process results folders must hold."""
    env = {"BIOEVO_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-m", "bioevo.tasks.randman", "--out", str(tmp_path / f"run{k}"),
                               "--backend", "cpp", *TINY], cwd=ROOT, env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err
    summaries = [assert_complete_run(tmp_path / f"run{k}") for k in range(2)]
    # same seed and data: the two runs must agree exactly
    assert summaries[0]["test"] == summaries[1]["test"]


@pytest.mark.parametrize("args, fragment", [
    (["--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
    (["--set", "evolve.generatons=3"], "unknown key 'evolve.generatons'"),
    (["--set", "evolve.generations=many"], "evolve.generations must be an integer"),
    (["--set", "data.n_classes=1"], "data.n_classes must be an integer >= 2, got 1"),
    (["--set", "model.params.hidden.tau_mem=-5"], "model.params.hidden.tau_mem is a time constant (ms) and must be > 0"),
    (["--set", "model.params.hidden.tau_mem=0"], "model.params.hidden.tau_mem is a time constant (ms) and must be > 0"),
    (["--set", "evolve.batch_size=5000"], "larger than the training set"),
    (["--set", "model.name=nope"], "unknown model.name 'nope'"),
    (["--set", "fitness.loss=l1"], "fitness.loss 'l1' is not allowed; allowed: membrane_hinge"),
    (["--set", 'fitness.readout="mean"'], "fitness.readout 'mean' is not allowed; allowed: max, final, sum"),
    (["--set", 'fitness.readout="spike_count"'],
     "fitness.readout 'spike_count' needs a spiking readout layer, but layer 'readout' of model 'lif'"),
    (["--set", 'fitness.loss="spike_count_hinge"'], "fitness.loss 'spike_count_hinge' needs a spiking readout"),
    (["--set", "fitness.smoothness=-1.0"], "fitness.smoothness must be >= 0"),
    (["--backend", "gpu"], "invalid choice: 'gpu'"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragment):
    from bioevo.tasks.randman import main

    out = tmp_path / "never"
    with pytest.raises(SystemExit) as err:
        main(["--out", str(out), *args])
    assert err.value.code == 2
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], stderr
    assert "Traceback" not in stderr and not out.exists()


@pytest.mark.parametrize("args, fragment", [
    (["--set", "evolve.generatons=3"], "unknown key 'evolve.generatons'"),  # refused with the config
    (["--set", "model.params.hidden.tau_mem=-5"], "must be > 0"),  # a model parameter
    (["--set", 'fitness.loss="spike_count_hinge"'], "needs a spiking readout"),  # after Brian2 is imported
])
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_in_a_fresh_process(tmp_path, args, fragment):
    """As above, as a user meets it: nothing else (Brian2's log, warnings) reaches the terminal."""
    out = tmp_path / "never"
    res = run_cli("--out", str(out), *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


@pytest.mark.slow
def test_existing_run_is_not_overwritten(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": 1}')
    res = run_cli("--out", str(out), *TINY)
    assert res.returncode == 2 and "already exists" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert (out / "summary.json").read_text() == '{"mine": 1}' and len(list(out.iterdir())) == 1


def test_overrides_and_preset_values():
    cfg = resolve_config("randman-10", ["evolve.generations=7", "model.params.hidden.tau_mem=20",
                                        "genome.evolve=[\"hidden.tau_mem\"]"], seed=3, backend="runtime")
    assert cfg["data"]["n_classes"] == 10 and cfg["evolve"]["generations"] == 7 and cfg["evolve"]["seed"] == 3
    assert cfg["model"]["params"] == {"hidden.tau_mem": 20} and cfg["genome"]["evolve"] == ["hidden.tau_mem"]
    assert cfg["evolve"]["backend"] == "runtime"
    cfg = resolve_config("randman-2", ["strategy.es.popsize=5"])
    with pytest.raises(ConfigError, match=r"strategy\.es\.popsize"):
        make_configured_strategy(cfg, np.zeros(10), np.random.default_rng(0))


def test_user_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[data]\nn_classes = 3\n[evolve]\ngenerations = 5\n")
    cfg = resolve_config(str(path))
    assert cfg["run"]["name"] == "mine" and cfg["data"]["n_classes"] == 3


def test_shipped_preset_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    """`--preset shd` from a folder that holds the data folder `shd/` means the shipped preset;
    a path to that folder is still refused as a directory."""
    (tmp_path / "shd").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_config("shd")["data"]["kind"] == "shd"
    with pytest.raises(ConfigError, match="is a directory, not a TOML file"):
        resolve_config("./shd")
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        resolve_config("nope")


# A bad config is refused before Brian2 (about 2 s to import) is loaded; when a command does import
# it, its SIGINT handler is undone at once (a run started with SIGINT ignored must not crash on it).
LAZY_BRIAN2 = """
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from bioevo.tasks.train import main
try:
    main(["--preset", "randman-2", "--set", 'model.name="nope"'])
except SystemExit as exit:
    print(exit.code, "brian2" in sys.modules)
import brian2
print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
"""


def test_a_bad_config_fails_before_brian2_is_imported_and_brian2_sigint_is_undone_when_it_is():
    res = subprocess.run([sys.executable, "-c", LAZY_BRIAN2], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.stdout.split() == ["2", "False", "True"], res.stderr
    assert res.stderr.count("\n") == 1 and "unknown model.name 'nope'" in res.stderr
