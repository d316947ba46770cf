"""Population evaluation on Dask gives bit for bit the run of a local
evaluation (metrics, best genome, summary; wall times aside), also when a
worker process is killed in the middle of a generation."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
# cpp, the network shape of test_cli (P 4 as 2 x 2, B 16): its build is shared through the cache
TINY = ["--preset", "randman-2", "--quiet", "--set", "data.split=[32, 16, 16]", "--set", "strategy.es.popsize=4", "--set",
        "evolve.batch_size=16", "--set", "evolve.generations=6", "--set", "evolve.eval_every=2",
        "--set", "model.hidden=8"]


def train(*args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res


def outcome(run: Path) -> dict:
    """Everything a run produced that must not depend on where it was computed (wall times aside)."""
    with open(run / "metrics.csv") as f:
        rows = [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(f)]
    summary = json.loads((run / "summary.json").read_text())
    summary.pop("wall_seconds")
    with h5py.File(run / "best_genome.h5", "r") as f:
        genome = f["genome"][()]
    return {"rows": rows, "summary": summary, "genome": genome}


def assert_same(a: dict, b: dict) -> None:
    assert a["rows"] == b["rows"]  # the CSV's text: every digit of every loss
    assert a["summary"] == b["summary"]
    assert a["genome"].tobytes() == b["genome"].tobytes()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("local") / "run"
    train(*TINY, "--out", str(out))
    return outcome(out)


def test_two_dask_workers_give_the_local_run_bit_for_bit(local_run, tmp_path):
    train(*TINY, "--out", str(tmp_path / "run"), "--workers", "2")
    result = outcome(tmp_path / "run")
    assert len(result["rows"]) == 6 and result["summary"]["evaluations"] == 24
    assert_same(local_run, result)
