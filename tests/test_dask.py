"""Population evaluation on Dask gives bit for bit the run of a local
evaluation (metrics, best genome, summary; wall times aside)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dask_testing import TINY, outcome, train  # noqa: E402


def ok(res):
    assert res.returncode == 0, res.stderr
    return res


def assert_same(a: dict, b: dict) -> None:
    assert a["rows"] == b["rows"]  # the CSV's text: every digit of every loss
    assert a["summary"] == b["summary"]
    assert a["genome"] == b["genome"]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("local") / "run"
    ok(train(*TINY, "--out", str(out)))
    return outcome(out)


@pytest.mark.slow
def test_two_dask_workers_give_the_local_run_bit_for_bit(local_run, tmp_path):
    ok(train(*TINY, "--out", str(tmp_path / "run"), "--workers", "2"))
    result = outcome(tmp_path / "run")
    assert len(result["rows"]) == 6 and result["summary"]["evaluations"] == 24
    assert_same(local_run, result)

