"""One training run of a study in a fresh process, through the library.

Brian2 holds one standalone project per process, so a study (``compare``,
``heterogeneity``, the same on Dask) trains each run in a new Python process.
That process calls :func:`bioevo.run` (or :func:`bioevo.resume`) on the config
the study resolved, not the command line; the study reads the finished run
back with :meth:`bioevo.RunResult.load`.  Whatever stopped a run, launching it
again continues it: a finished run is reused, one with a checkpoint resumes
(and ends where an uninterrupted run would), one that stopped before its first
checkpoint starts again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROG = "bioevo run"  # how the fresh process names itself in its one-line errors


def next_step(run_dir: Path) -> str:
    """What launching the run in ``run_dir`` does: "reuse" a finished run, "resume" one with a
    checkpoint, or "start" (again)."""
    if (run_dir / "summary.json").exists():
        return "reuse"
    return "resume" if (run_dir / "checkpoint.h5").exists() else "start"


def train_in_fresh_process(cfg: dict, run_dir: str | Path, cwd: str | Path | None = None) -> tuple[int, str]:
    """Start, continue or reuse the run of ``cfg`` in ``run_dir`` (relative to ``cwd``, default
    here); (exit status as the train command's: 0 done, 1 failed, 2 bad input, 130 interrupted;
    one line: the test accuracy, or the error)."""
    run = Path(cwd or ".") / run_dir
    step = next_step(run)
    if step == "reuse":
        return 0, "finished before, reused"
    if step == "start" and run.exists():
        shutil.rmtree(run)  # stopped before its first checkpoint: nothing to keep
    request = json.dumps({"config": cfg, "run_dir": str(run_dir), "resume": step == "resume"})
    res = subprocess.run([sys.executable, "-m", "bioevo.launch"], input=request, cwd=cwd, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = res.stderr if res.returncode else res.stdout
    return res.returncode, (out.strip().splitlines() or [f"exit status {res.returncode}"])[-1]


def _serve() -> dict:
    """The fresh process: one request on stdin, the library's own output silenced, the result line
    on stdout."""
    import logging

    from .cli import run_command

    request = json.loads(sys.stdin.read())
    result = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # "run directory: ..." and compiler output: the parent reads only the result line
    logging.getLogger("brian2").setLevel(logging.ERROR)

    def body() -> dict:
        from .pipeline import resume, run, summary_line

        if request["resume"]:
            outcome = resume(request["run_dir"], progress=False)
        else:
            outcome = run(request["config"], request["run_dir"], progress=False)
        result.write(summary_line(outcome) + "\n")
        result.flush()
        return outcome.summary

    return run_command(PROG, body)


if __name__ == "__main__":
    _serve()
