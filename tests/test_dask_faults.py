"""Faults on a Dask cluster: a worker process killed in the middle of a
generation has its chunk recomputed and the run ends exactly as the local
one; a lost scheduler stops the run with one line and a checkpoint from
which --resume (here: without Dask) ends exactly as the local run."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("distributed")

from dask_testing import TINY, cluster, outcome, train  # noqa: E402
from test_dask import assert_same, local_run, ok  # noqa: E402,F401 - the fixture is shared


# The training command, wrapped so that on its Nth generation it SIGKILLs the worker process that is
# running (or holds the result of) one of the generation's chunks, and writes that worker's pid to a file.
KILL_A_WORKER = """
import os, signal, sys, time
n, record, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
import bioevo.cluster.population as population
real_submit = population.DaskPopulation.submit
calls = [0]
def submit(self, genomes, indices):
    futures = real_submit(self, genomes, indices)
    calls[0] += 1
    if calls[0] == n:
        keys = {f.key for f in futures}
        pids = self.client.run(os.getpid)
        for _ in range(6000):
            where = [w for w, ks in self.client.processing().items() if keys & set(ks)]
            where += [w for ws in self.client.who_has(futures).values() for w in ws]
            if where:
                break
            time.sleep(0.005)
        os.kill(pids[where[0]], signal.SIGKILL)
        with open(record, "w") as f:
            f.write(str(pids[where[0]]))
    return futures
population.DaskPopulation.submit = submit
from bioevo.tasks.train import main
main(argv)
"""


@pytest.mark.slow
def test_a_worker_killed_mid_generation_changes_nothing(local_run, tmp_path):
    record = tmp_path / "killed_pid"
    ok(train("3", str(record), *TINY, "--out", str(tmp_path / "run"), "--workers", "2",
             script=["-c", KILL_A_WORKER]))
    pid = int(record.read_text())  # the worker was killed while its chunk of generation 2 was out
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert_same(local_run, outcome(tmp_path / "run"))


# The training command, wrapped so that it SIGKILLs the scheduler (pid given) just before its Nth generation.
KILL_THE_SCHEDULER = """
import os, signal, sys
pid, n, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
import bioevo.cluster.population as population
real_call = population.DaskPopulation.__call__
calls = [0]
def call(self, *args):
    calls[0] += 1
    if calls[0] == n:
        os.kill(pid, signal.SIGKILL)
    return real_call(self, *args)
population.DaskPopulation.__call__ = call
from bioevo.tasks.train import main
main(argv)
"""


@pytest.mark.slow
def test_lost_scheduler_stops_with_a_checkpoint_that_resumes_exactly(local_run, tmp_path):
    run = tmp_path / "run"
    with cluster(tmp_path, ["-m", "distributed.cli.dask_worker"], nworkers=2) as (address, scheduler):
        res = train(str(scheduler.pid), "5", *TINY, "--out", str(run), "--scheduler", address,
                    script=["-c", KILL_THE_SCHEDULER])
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1, res.stderr
    assert "lost the Dask scheduler" in lines[0] and f"--resume {run}" in lines[0]
    assert (run / "checkpoint.h5").exists() and not (run / "summary.json").exists()
    with open(run / "metrics.csv") as f:
        assert len(f.read().splitlines()) == 1 + 4  # generations 0-3 were done (checkpoint after generation 3)
    ok(train("--resume", str(run), "--quiet"))
    assert_same(local_run, outcome(run))
