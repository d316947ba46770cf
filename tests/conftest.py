"""Session settings that hold whichever pytest plugins are installed."""
from __future__ import annotations

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``-n`` and no other ``--dist``: work stealing, so a worker that runs out of tests takes half of
    another's queue. xdist's default ``load`` left one of two workers idle for the suite's last 190 s."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)
