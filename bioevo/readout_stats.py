"""The statistics of the readout variable over a sample: the one place that declares each.

A statistic (max over time, value at the last step, sum over the steps) is
tracked inside the Brian2 simulation, so the fitness can read it without the
cost of recording the whole trace (about 2x).  Its entry here says how Brian2
tracks it and what the same statistic of a recorded trace is; from the
entries follow what the evaluator records (``sim.network``, ``Readouts.stats``),
the readouts a config may name (``fitness.READOUT_REGISTRY``), what the scorer
asks the simulation for (``scoring.recording_needs``) and how the
surrogate-gradient twin scores its trace (``baselines.snn``).  A new statistic
is one entry in ``TRACKED_STATS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class TrackedStat:
    """One statistic of the readout variable ``{v}`` over a sample.

    ``key``: its name in recorded dicts and ``Readouts.stats``; ``variable``: the Brian2 variable
    that holds it; ``update``: code run at every integration step (``every_integration_step``) or
    at the end of every input step, as the trace is sampled; ``reset``: code run at every sample
    start; ``of_trace``: the same statistic of a trace ``(..., T, O)`` along its time axis (numpy
    or jax.numpy arrays); ``windowed``: whether a scoring window (``fitness.last_steps``) changes it;
    ``doc``: what it is, for the readout's description."""

    key: str
    variable: str
    update: str
    reset: str
    of_trace: Callable[[Any], Any]
    doc: str
    windowed: bool = True
    every_integration_step: bool = False


#: readout statistic name -> declaration; the name is also the readout's (``fitness.readout``)
TRACKED_STATS: dict[str, TrackedStat] = {
    "max": TrackedStat("vmax", "readout_max", "readout_max = clip({v}, readout_max, inf)", "readout_max = -inf",
                       lambda trace: trace.max(axis=-2), "max over time of the readout variable",
                       every_integration_step=True),
    "final": TrackedStat("vfinal", "readout_final", "readout_final = {v}", "",
                         lambda trace: trace[..., -1, :], "its value at the last step", windowed=False),
    "sum": TrackedStat("vsum", "readout_sum", "readout_sum += {v}", "readout_sum = 0",
                       lambda trace: trace.sum(axis=-2), "its sum over the steps of the sample"),
}
#: tracked in every network (the default readout's statistic), whatever the fitness reads
ALWAYS_TRACKED = "max"


def optional_stats() -> tuple[str, ...]:
    """The statistics tracked only when asked for (``readout_stats``)."""
    return tuple(name for name in TRACKED_STATS if name != ALWAYS_TRACKED)


def stat_of_key(key: str) -> str | None:
    """The statistic recorded under ``key`` ("vfinal" -> "final"); None for other keys."""
    return next((name for name, stat in TRACKED_STATS.items() if stat.key == key), None)
