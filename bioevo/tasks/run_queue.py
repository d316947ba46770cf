"""Many independent training runs, each in a fresh process (``bioevo.launch``) in its
own run directory, ``jobs`` at a time.  Whatever stopped them, running the queue
again continues it: a finished run (``summary.json``) is reused, an interrupted
one resumes from its checkpoint (and ends where an uninterrupted run would), one
that died before its first checkpoint starts again."""
from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..launch import next_step, train_in_fresh_process


@dataclass
class Job:
    label: str  # for progress lines, e.g. "es seed 3"
    run_dir: Path
    config: dict  # the run's resolved config (bioevo.load_config)


def _run(job: Job, stop: threading.Event) -> str | None:
    """Run one job to its end; the last line of its error output if it failed.
    After an interrupt (Ctrl-C reaches every child) no new job starts."""
    if stop.is_set():
        return "not started (interrupted)"
    step = next_step(job.run_dir)
    if step != "reuse":
        print(f"[{job.label}] {step}: {job.run_dir}", flush=True)
    code, line = train_in_fresh_process(job.config, job.run_dir)
    if code in (130, -signal.SIGINT):
        stop.set()
    if code:
        return line
    print(f"[{job.label}] {line}", flush=True)
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
