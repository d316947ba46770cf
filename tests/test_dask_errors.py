"""Bad requests for a Dask cluster end in one line, exit 2, with nothing
written: --workers below 1, --workers with --scheduler, an address where no
scheduler answers, and clusters whose workers lack bioevo or a compiler."""
from __future__ import annotations

import socket

import pytest

import bioevo
from bioevo.config import ConfigError

pytest.importorskip("distributed")

from dask_testing import cluster, train  # noqa: E402

TINY = ["--preset", "randman-2", "--quiet", "--set", "data.split=[32, 16, 16]", "--set", "strategy.es.popsize=4",
        "--set", "evolve.batch_size=16", "--set", "evolve.generations=2", "--set", "model.hidden=8"]
# a worker process on which bioevo cannot be imported (as on a machine where it is not installed);
# --no-nanny keeps the worker in this process, where the import is blocked
NO_BIOEVO = ("import sys; sys.modules['bioevo'] = None; from distributed.cli.dask_worker import main; "
             "sys.argv[0] = 'dask-worker'; sys.argv.append('--no-nanny'); main()")


def one_line(res, fragment: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("value", ["0", "-1"])
def test_workers_below_one(value, tmp_path):
    line = one_line(train(*TINY, "--out", str(tmp_path / "run"), "--workers", value), "--workers")
    assert f"got {value}" in line and ">= 1" in line
    assert not (tmp_path / "run").exists()


def test_workers_with_scheduler(tmp_path):
    one_line(train(*TINY, "--out", str(tmp_path / "run"), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"),
             "--scheduler: not allowed with argument --workers")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kwargs, fragment", [({"dask_workers": 0}, "--workers must be an integer >= 1"),
                                              ({"dask_workers": 2, "scheduler": "tcp://h:1"}, "exclude each other"),
                                              ({"scheduler": ""}, "--scheduler must be a Dask scheduler address")])
def test_api_refuses_bad_cluster_options(kwargs, fragment, tmp_path):
    with pytest.raises(ConfigError, match=fragment):
        bioevo.run("randman-2", tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_unreachable_scheduler(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    line = one_line(train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address), "no Dask scheduler reachable")
    assert address in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_workers_without_bioevo(tmp_path):
    with cluster(tmp_path, ["-c", NO_BIOEVO]) as (address, _):
        res = train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address)
    line = one_line(res, "cannot import bioevo")
    assert address in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_workers_without_a_compiler(tmp_path):
    # an empty build cache and no make or g++ on the PATH: the worker must compile and cannot
    env = {"PATH": str(tmp_path / "empty"), "BIOEVO_CACHE": str(tmp_path / "cache")}
    with cluster(tmp_path, ["-m", "distributed.cli.dask_worker"], env) as (address, _):
        res = train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address)
    line = one_line(res, "cannot build the run's network")
    assert "C++ compiler" in line
    assert not (tmp_path / "run").exists()
