"""A study's runs as Dask tasks (one fresh process per run) give the results
and directory layout of the serial study."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dask_testing import ENV, ROOT, outcome  # noqa: E402

SETS = ["data.split=[32, 16, 16]", "strategy.es.popsize=4", "strategy.pso.popsize=4", "evolve.batch_size=16",
        "evolve.generations=4", "evolve.eval_every=2", "model.hidden=8"]


def compare(out: Path, *extra: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.compare", "--preset", "randman-2", "--strategies",
                          "es,pso", "--out", str(out), *[x for s in SETS for x in ("--set", s)], *extra],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, env=ENV)
    assert res.returncode == 0, res.stderr
    return res


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != ".lock")


@pytest.mark.slow
def test_compare_on_two_workers_equals_the_serial_compare(tmp_path):
    compare(tmp_path / "serial")
    compare(tmp_path / "dask", "--workers", "2")
    assert files(tmp_path / "serial") == files(tmp_path / "dask")
    a, b = (json.loads((tmp_path / d / "compare.json").read_text()) for d in ("serial", "dask"))
    for table in (a, b):
        for row in table["strategies"].values():
            row.pop("wall_seconds")
    assert a == b
    for name in ("es", "pso"):
        assert outcome(tmp_path / "serial" / name) == outcome(tmp_path / "dask" / name)


def test_compare_refuses_workers_below_one_before_writing(tmp_path):
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.compare", "--preset", "randman-2", "--out",
                          str(tmp_path / "out"), "--workers", "0"], cwd=ROOT, capture_output=True, text=True,
                         env=ENV, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--workers" in res.stderr
    assert not (tmp_path / "out").exists()


def test_heterogeneity_refuses_workers_with_scheduler_before_writing(tmp_path):
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.heterogeneity", "--out", str(tmp_path / "out"),
                          "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], cwd=ROOT, capture_output=True,
                         text=True, env=ENV, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "not allowed with argument --workers" in res.stderr
    assert not (tmp_path / "out").exists()
