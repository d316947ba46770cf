"""A study's independent training runs as Dask tasks: one run per task, each
in a fresh process (Brian2 holds one standalone project per process), in the
run directories the serial study uses (so the cluster needs a filesystem
shared with this machine).  A task that is run again (its worker died)
continues its run: a finished run is kept, one with a checkpoint resumes."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import RunError


def train_in_fresh_process(args: list[str], run_dir: str, cwd: str) -> tuple[int, str]:
    """``python -m bioevo.tasks.train ARGS`` (which writes ``run_dir``) on this
    worker; (exit status, last line of stderr)."""
    run = Path(cwd) / run_dir
    if (run / "summary.json").exists():
        return 0, ""
    if (run / "checkpoint.h5").exists():
        args = ["--resume", str(run), "--quiet"]
    elif run.exists():
        shutil.rmtree(run)  # an earlier attempt stopped before its first checkpoint
    res = subprocess.run([sys.executable, "-m", "bioevo.tasks.train", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    return res.returncode, (res.stderr.strip().splitlines() or [""])[-1]


def run_on_dask(client, runs: list[tuple[str, list[str], Path]]) -> None:
    """Run every (label, train arguments, run directory) as one task and print
    each as it finishes; the first failed run raises RunError (the others are
    cancelled; finished runs stay for a resume)."""
    from distributed import as_completed

    cwd = str(Path.cwd())
    futures = {client.submit(train_in_fresh_process, args, str(run_dir), cwd, pure=False): (label, run_dir)
               for label, args, run_dir in runs}
    print(f"{len(futures)} runs submitted to Dask", flush=True)
    for future in as_completed(futures):
        label, run_dir = futures[future]
        code, err = future.result()
        if code:
            for other in futures:
                other.cancel()
            raise RunError(f"run {run_dir} failed: {err or code}")
        print(f"[{label}] done on Dask", flush=True)
