"""Poisson clicks: evidence integration with working memory (Brunton, Botvinick & Brody 2013).

Brunton, Botvinick & Brody, "Rats and humans can optimally accumulate evidence
for decision-making", Science 340:95 (2013). Two channels (left, right) emit
Poisson clicks for a stimulus period; one side's rate is higher. The rates
satisfy ``r_L + r_R = rate_sum`` and ``log(r_high / r_low) = difficulty`` (the
paper's gamma; rate_sum 40 Hz as there). A trial is three periods of input
steps: the stimulus (``stimulus_steps``), a delay with no input
(``delay_steps``) and a response window (the remaining ``n_steps -
stimulus_steps - delay_steps`` steps, also silent), where a preset scores the
readout (``fitness.last_steps``), so the network must hold its decision
through the delay.

The label is the side with the higher *underlying rate* (0 = left, 1 = right),
as in Brunton et al., not the side that happened to click more: with the
latter the ideal observer (count every click, pick the larger count) would
score 100% minus ties and say nothing about difficulty. With the generative
side it scores below 100% because of Poisson noise, and that accuracy is the
ceiling a network can reach on average; it is reported per split
(:func:`ideal_observer_accuracy`, ties counted as half right, the expected
score of a fair guess) and equals, in expectation, the Skellam probability
``P(N_high > N_low) + P(N_high = N_low) / 2`` with ``N ~ Poisson(rate *
stimulus duration * units_per_side)``.

Each side has ``units_per_side`` input units, each an independent Poisson
train at the side's rate (the evidence grows with it); units
``0..units_per_side-1`` are the left side, the next ``units_per_side`` the
right. A raster step lasts ``dt_ms`` (it must equal the model's input step,
checked when a run is assembled); clicks are drawn per step as Poisson counts
(uint8 raster, so two clicks in one step are both delivered). Trials are
balanced per class (``split``: train, val, test trials per class), shuffled,
and depend on ``data.seed`` alone (default 0: every run sees the same trials).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import MAX_SEED, DataError, available_memory, float_key, int_key
from .spikes import SpikeData

__all__ = ["CLICKS_DEFAULTS", "load_clicks", "side_rates", "ideal_observer_accuracy", "clicks_describe"]

SPLITS = ("train", "val", "test")

#: difficulty 1.0 at 40 Hz over 300 ms: the ideal observer's expected accuracy is 94.8%
CLICKS_DEFAULTS: dict[str, Any] = {"n_steps": 550, "stimulus_steps": 300, "delay_steps": 200, "dt_ms": 1.0,
                                   "rate_sum": 40.0, "difficulty": 1.0, "units_per_side": 1,
                                   "split": [800, 200, 500], "seed": 0}


def side_rates(rate_sum: float, difficulty: float) -> tuple[float, float]:
    """(high, low) rates in Hz with high + low = rate_sum and log(high / low) = difficulty."""
    high = rate_sum / (1.0 + math.exp(-difficulty))
    return high, rate_sum - high


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    n_steps = int_key(data, "n_steps", 2, 1_000_000)
    stim = int_key(data, "stimulus_steps", 1, n_steps - 1, what=" (at most data.n_steps - 1)")
    delay = int_key(data, "delay_steps", 0, n_steps - stim,
                    what=" (data.n_steps - data.stimulus_steps - data.delay_steps steps are left for the response)")
    dt_ms = float_key(data, "dt_ms", 0.0, lo_open=True, what=" (ms per input step)")
    rate_sum = float_key(data, "rate_sum", 0.0, 1000.0 / dt_ms, lo_open=True,
                         what=f" (Hz, both sides together; at most one click per step on average at dt_ms {dt_ms:g})")
    difficulty = float_key(data, "difficulty", 0.0, 20.0, lo_open=True,
                           what=" (log of the high to the low rate; 0 would be no signal)")
    units = int_key(data, "units_per_side", 1, 1000)
    split = data["split"]
    if not isinstance(split, (list, tuple)) or len(split) != 3:
        raise DataError(f"data.split must be 3 integers (train, val, test trials per class), got {split!r}")
    for name, v in zip(SPLITS, split):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise DataError(f"data.split ({name}) must be an integer >= 1 (trials per class), got {v!r}")
    seed = int_key(data, "seed", 0, MAX_SEED)
    return {"n_steps": n_steps, "stimulus_steps": stim, "delay_steps": delay, "dt_ms": dt_ms, "rate_sum": rate_sum,
            "difficulty": difficulty, "units_per_side": units, "split": [int(v) for v in split], "seed": seed}


def load_clicks(data: dict[str, Any], run_seed: int = 0) -> dict[str, SpikeData]:
    """Train/val/test Poisson-click trials from a filled ``[data]`` table (``run_seed`` unused)."""
    d = _checked(data)
    # the rasters (one byte a cell) and the largest split's Poisson draw (8 bytes a cell), before any of it
    cells = [2 * per_class * d["n_steps"] * 2 * d["units_per_side"] for per_class in d["split"]]
    need = sum(cells) + 8 * max(cells) * d["stimulus_steps"] // d["n_steps"]
    if need > 0.8 * available_memory():
        raise DataError(f"the clicks rasters would take {need / 2**30:.1f} GiB, more than the memory available; "
                        "lower data.split, data.n_steps or data.units_per_side")
    high, low = side_rates(d["rate_sum"], d["difficulty"])
    per_step = np.array([high, low]) * d["dt_ms"] / 1000.0  # mean clicks per unit and step
    u, T, S = d["units_per_side"], d["n_steps"], d["stimulus_steps"]
    rng = np.random.default_rng(d["seed"])
    out = {}
    for name, per_class in zip(SPLITS, d["split"]):
        n = 2 * per_class
        labels = rng.permutation(np.repeat(np.arange(2, dtype=np.int64), per_class))
        # mean per left unit / right unit: the labelled side gets the high rate
        lam = np.where(labels[:, None] == np.arange(2)[None, :], per_step[0], per_step[1])  # (n, 2)
        lam = np.repeat(lam, u, axis=1)  # (n, 2u)
        raster = np.zeros((n, T, 2 * u), dtype=np.uint8)
        raster[:, :S, :] = np.minimum(rng.poisson(lam[:, None, :], size=(n, S, 2 * u)), 255)
        out[name] = SpikeData(raster, labels, 2)
    return out


def ideal_observer_accuracy(data: SpikeData) -> float:
    """Accuracy of the observer that counts every click of each side (first half of the units
    left, second half right) and picks the larger count; a tie counts as half right."""
    if data.n_units % 2 or data.n_classes != 2:
        raise ValueError(f"clicks data has 2 classes and an even number of units, got {data!r}")
    counts = data.raster.sum(axis=1, dtype=np.int64)  # (n, units)
    half = data.n_units // 2
    diff = counts[:, half:].sum(axis=1) - counts[:, :half].sum(axis=1)  # right minus left
    signed = np.where(data.labels == 1, diff, -diff)  # labelled side minus the other
    return float(np.mean((signed > 0) + 0.5 * (signed == 0))) if len(signed) else float("nan")


def clicks_describe(splits: dict[str, SpikeData]) -> dict[str, Any]:
    """What a run reports about its clicks data: the ideal observer's accuracy per split."""
    return {"ideal_observer_accuracy": {name: ideal_observer_accuracy(s) for name, s in splits.items()}}
