"""A study's independent training runs as Dask tasks: one run per task, each
in a fresh process (Brian2 holds one standalone project per process), in the
run directories the serial study uses (so the cluster needs a filesystem
shared with this machine).  A task that is run again (its worker died)
continues its run: a finished run is kept, one with a checkpoint resumes."""
from __future__ import annotations

from pathlib import Path

from ..errors import RunError
from ..launch import train_in_fresh_process


def run_on_dask(client, runs: list[tuple[str, dict, Path]]) -> None:
    """Run every (label, resolved config, run directory) as one task (``bioevo.launch``) and print
    each as it finishes; the first failed run raises RunError (the others are
    cancelled; finished runs stay for a resume)."""
    from distributed import as_completed

    cwd = str(Path.cwd())
    futures = {client.submit(train_in_fresh_process, cfg, str(run_dir), cwd, pure=False): (label, run_dir)
               for label, cfg, run_dir in runs}
    print(f"{len(futures)} runs submitted to Dask", flush=True)
    for future in as_completed(futures):
        label, run_dir = futures[future]
        code, err = future.result()
        if code:
            for other in futures:
                other.cancel()
            raise RunError(f"run {run_dir} failed: {err or code}")
        print(f"[{label}] done on Dask", flush=True)
