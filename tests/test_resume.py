"""A run killed with SIGKILL and resumed ends exactly where the uninterrupted
run ends, and its metrics file holds every generation once."""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from bioevo.checkpoint import CHECKPOINT, load_checkpoint

from strategy_testing import assert_same_state

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--backend", "runtime", "--quiet", "--set", "data.split=[48, 8, 8]", "--set", "evolve.batch_size=16",
        "--set", "evolve.generations=24", "--set", "evolve.eval_every=2", "--set", "model.hidden=8"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bioevo.tasks.randman", *args]


@pytest.mark.parametrize("strategy, extra", [
    ("es", ["--set", "strategy.es.popsize=6"]),
    ("hybrid", ["--set", "strategy.hybrid.popsize=6", "--set", "strategy.hybrid.popsize_final=3"]),
])
def test_killed_and_resumed_run_matches_uninterrupted(tmp_path, strategy, extra):
    args = [*ARGS, "--strategy", strategy, *extra]
    whole = tmp_path / "whole"
    subprocess.run(cli("--out", str(whole), *args), cwd=ROOT, check=True, capture_output=True, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(cli("--out", str(killed), *args), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (killed / CHECKPOINT).exists() and load_checkpoint(killed)[1].gen >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists(), "the run finished before it could be killed"
    gen_at_kill = load_checkpoint(killed)[1].gen
    assert 0 < gen_at_kill < 24

    res = subprocess.run(cli("--resume", str(killed), "--quiet"), cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    with h5py.File(whole / "best_genome.h5") as a, h5py.File(killed / "best_genome.h5") as b:
        np.testing.assert_array_equal(a["genome"][()], b["genome"][()])
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (whole, killed))
    assert sa["test"] == sb["test"] and sa["val"] == sb["val"] and sa["generations"] == sb["generations"]
    state_a, _ = load_checkpoint(whole)
    state_b, _ = load_checkpoint(killed)
    assert_same_state(state_a, state_b)
    rows = {d: list(csv.DictReader(open(d / "metrics.csv"))) for d in (whole, killed)}
    assert [int(r["gen"]) for r in rows[killed]] == list(range(sa["generations"]))
    for ra, rb in zip(rows[whole], rows[killed]):
        for key in ("gen", "loss_mean", "loss_min", "train_acc", "val_acc"):
            assert float(ra[key] or "nan") == pytest.approx(float(rb[key] or "nan"), nan_ok=True, rel=0, abs=0)


def test_resume_refuses_complete_or_foreign_dirs(tmp_path):
    res = subprocess.run(cli("--resume", str(tmp_path)), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "not a run directory" in res.stderr
    (tmp_path / "config.toml").write_text("")
    (tmp_path / "summary.json").write_text("{}")
    res = subprocess.run(cli("--resume", str(tmp_path)), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "already complete" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_genome_saved_by_an_older_version_loads_with_defaults(tmp_path):
    """A config saved before [fitness] had readout/smoothness gets their defaults."""
    from bioevo.config import resolve_config
    from bioevo.assemble import assemble
    from bioevo.rundir import load_genome, save_genome

    cfg = resolve_config("randman-2", ["model.hidden=4"])
    layout = assemble(cfg, build_evaluator=False).layout
    old = {**cfg, "fitness": {"loss": "max_cross_entropy", "margin": 0.0, "l2": 0.0}}
    save_genome(tmp_path / "g.h5", np.zeros(layout.size), layout, old, "")
    _, _, loaded, _ = load_genome(tmp_path / "g.h5")
    assert loaded["fitness"] == {**cfg["fitness"], "readout": "max", "smoothness": 0.0}
    assert loaded["evolve"] == cfg["evolve"]
