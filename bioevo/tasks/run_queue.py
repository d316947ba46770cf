"""Many independent training runs, each a fresh ``bioevo.tasks.train`` process in
its own run directory, ``jobs`` at a time.  Whatever stopped them, running the
queue again continues it: a finished run (``summary.json``) is reused, an
interrupted one resumes from its checkpoint (and ends where an uninterrupted
run would), one that died before its first checkpoint starts again."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TRAIN = [sys.executable, "-m", "bioevo.tasks.train"]


@dataclass
class Job:
    label: str  # for progress lines, e.g. "es seed 3"
    run_dir: Path
    args: list[str]  # train arguments that start the run (without --out)


def next_step(job: Job) -> tuple[str, list[str] | None]:
    """('reuse' | 'resume' | 'start', the command to run or None)."""
    if (job.run_dir / "summary.json").exists():
        return "reuse", None
    if (job.run_dir / "checkpoint.h5").exists():
        return "resume", [*TRAIN, "--resume", str(job.run_dir), "--quiet"]
    if job.run_dir.exists():
        shutil.rmtree(job.run_dir)  # died before its first checkpoint: nothing to keep
    return "start", [*TRAIN, *job.args, "--out", str(job.run_dir), "--quiet"]


def _run(job: Job, stop: threading.Event) -> str | None:
    """Run one job to its end; the last line of its error output if it failed.
    After an interrupt (Ctrl-C reaches every child) no new job starts."""
    if stop.is_set():
        return "not started (interrupted)"
    step, cmd = next_step(job)
    if cmd is None:
        print(f"[{job.label}] finished before, reused", flush=True)
        return None
    print(f"[{job.label}] {step}: {' '.join(cmd[1:])}", flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode in (130, -signal.SIGINT):
        stop.set()
    if res.returncode:
        return (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
    print(f"[{job.label}] {(res.stdout.strip().splitlines() or ['done'])[-1]}", flush=True)
    return None


def run_jobs(jobs: list[Job], workers: int = 1) -> list[tuple[Job, str]]:
    """Run every job, ``workers`` processes at a time; (job, error line) of those that failed."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        errors = list(pool.map(lambda job: _run(job, stop), jobs))
    except BaseException:  # Ctrl-C: the running children stop at their own checkpoint; start no more
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return [(job, err) for job, err in zip(jobs, errors) if err is not None]
