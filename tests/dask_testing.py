"""Helpers of the Dask tests: the training command, a run's outcome, and a
cluster started as by hand (`dask scheduler`, `dask worker`)."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
# cpp, the network shape of test_cli (P 4 run as 2 x 2, B 16): its build is shared through the cache
TINY = ["--preset", "randman-2", "--quiet", "--set", "data.split=[32, 16, 16]", "--set", "strategy.es.popsize=4",
        "--set", "evolve.batch_size=16", "--set", "evolve.generations=6", "--set", "evolve.eval_every=2",
        "--set", "model.hidden=8"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def train(*args: str, script: list[str] | None = None) -> subprocess.CompletedProcess:
    """The training command (or ``script`` given the same arguments) in a new process."""
    return subprocess.run([sys.executable, *(script or ["-m", "bioevo.tasks.train"]), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=ENV)


def outcome(run: Path) -> dict:
    """What a run produced that must not depend on where it was computed (wall times aside)."""
    with open(run / "metrics.csv") as f:
        rows = [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(f)]
    summary = json.loads((run / "summary.json").read_text())
    summary.pop("wall_seconds")
    summary.pop("resumed")
    with h5py.File(run / "best_genome.h5", "r") as f:
        genome = f["genome"][()]
    return {"rows": rows, "summary": summary, "genome": genome.tobytes()}


@contextlib.contextmanager
def cluster(tmp_path: Path, worker: list[str], env: dict | None = None, nworkers: int = 1):
    """A scheduler and ``nworkers`` worker processes of one thread, started as by hand;
    yields (scheduler address, scheduler process)."""
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)]
    try:
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen([sys.executable, *worker, address, "--nworkers", str(nworkers),
                                       "--nthreads", "1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env={**ENV, **(env or {})}))
        yield address, procs[0]
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=60)
