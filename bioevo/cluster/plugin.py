"""Dask worker plugin: import Brian2 when a worker starts, on its main
thread.  Brian2 installs a SIGINT handler at import, which fails in Dask's
task threads; registered by the client, so hand-started workers need no flags."""
from __future__ import annotations

import logging

from distributed import WorkerPlugin


class ImportBrian2(WorkerPlugin):
    name = "bioevo-import-brian2"

    def setup(self, worker) -> None:
        from ..sim import evaluator  # noqa: F401 - imports brian2

        logging.getLogger("brian2").setLevel(logging.ERROR)
