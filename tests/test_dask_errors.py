"""Bad requests for a Dask cluster end in one line, exit 2, with nothing
written: --workers below 1, --workers with --scheduler, an address where no
scheduler answers, and clusters whose workers lack bioevo or a compiler."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bioevo
from bioevo.config import ConfigError

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--preset", "randman-2", "--quiet", "--set", "data.split=[32, 16, 16]", "--set", "strategy.es.popsize=4",
        "--set", "evolve.batch_size=16", "--set", "evolve.generations=2", "--set", "model.hidden=8"]
# a worker process on which bioevo cannot be imported (as on a machine where it is not installed);
# --no-nanny keeps the worker in this process, where the import is blocked
NO_BIOEVO = ("import sys; sys.modules['bioevo'] = None; from distributed.cli.dask_worker import main; "
             "sys.argv[0] = 'dask-worker'; sys.argv.append('--no-nanny'); main()")


def train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bioevo.tasks.train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def one_line(res: subprocess.CompletedProcess, fragment: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def cluster(tmp_path: Path, worker: list[str], env: dict | None = None):
    """A `dask scheduler` and one worker started as by hand; yields the scheduler's address."""
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen([sys.executable, *worker, address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env={**os.environ, **(env or {})}))
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_workers_below_one(value, tmp_path):
    line = one_line(train(*TINY, "--out", str(tmp_path / "run"), "--workers", value), f"--workers")
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


def test_unreachable_scheduler(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    line = one_line(train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address), "no Dask scheduler reachable")
    assert address in line
    assert not (tmp_path / "run").exists()


def test_workers_without_bioevo(tmp_path):
    with cluster(tmp_path, ["-c", NO_BIOEVO]) as address:
        res = train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address)
    line = one_line(res, "cannot import bioevo")
    assert address in line
    assert not (tmp_path / "run").exists()


def test_workers_without_a_compiler(tmp_path):
    # an empty build cache and no make or g++ on the PATH: the worker must compile and cannot
    env = {"PATH": str(tmp_path / "empty"), "BIOEVO_CACHE": str(tmp_path / "cache")}
    with cluster(tmp_path, ["-m", "distributed.cli.dask_worker"], env) as address:
        res = train(*TINY, "--out", str(tmp_path / "run"), "--scheduler", address)
    line = one_line(res, "cannot build the run's network")
    assert "C++ compiler" in line
    assert not (tmp_path / "run").exists()
