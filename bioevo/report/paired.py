"""Differences between conditions run on the same seeds, with the uncertainty
that five seeds leave: a condition is called better or worse only where the 95%
bootstrap interval of its mean difference excludes zero.

Runs of two conditions with the same seed share the data, the initial weights
and the minibatches, so the differences are paired by seed and the bootstrap
resamples seeds (percentile interval of the mean of the per-seed differences,
``scipy.stats.bootstrap``). Next to it, the exact two-sided sign-flip (paired
permutation) p-value of the mean difference: with n seeds its smallest possible
value is 2 / 2**n (0.0625 at n = 5), a reminder that five seeds cannot make a
difference significant at 5% by an exact test, whatever the interval says."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

NO_DIFFERENCE = "no detectable difference at n = {n}"


def paired_difference(values: list[float], reference: list[float], confidence: float = 0.95,
                      n_resamples: int = 10_000, seed: int = 0) -> dict:
    """Mean of ``values[i] - reference[i]`` and its percentile bootstrap interval (seeds resampled).

    The two lists hold one number per seed, in the same seed order."""
    if len(values) != len(reference):
        raise ValueError(f"paired lists differ in length: {len(values)} and {len(reference)}")
    d = np.asarray(values, dtype=float) - np.asarray(reference, dtype=float)
    if len(d) < 2:
        raise ValueError("a bootstrap interval needs at least 2 paired values")
    if np.all(d == d[0]):  # every resample has the same mean: the interval is that point
        low = high = float(d[0])
    else:
        res = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                              method="percentile", rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return {"mean": float(d.mean()), "low": low, "high": high, "n": len(d), "confidence": confidence,
            "p_sign_flip": sign_flip_p(d)}


def sign_flip_p(differences) -> float:
    """Exact two-sided p-value of the mean of paired differences under the null that each
    difference is as likely negative as positive (all 2**n sign patterns enumerated)."""
    d = np.asarray(differences, dtype=float)
    if np.all(d == 0):
        return 1.0
    res = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                 alternative="two-sided")
    return float(res.pvalue)


def verdict(diff: dict, higher: str = "higher", lower: str = "lower") -> str:
    """``higher`` or ``lower`` where the interval excludes zero, else 'no detectable difference at n = N'."""
    if diff["low"] > 0:
        return higher
    if diff["high"] < 0:
        return lower
    return NO_DIFFERENCE.format(n=diff["n"])


def common_target(best: list[float], step: float = 0.05) -> float:
    """The highest multiple of ``step`` that every run reached (``best``: each run's best value), so
    "generations to the target" has a number for every run instead of a count of those that got there."""
    lowest = min(best)
    target = math.floor(lowest / step + 1e-9) * step
    return round(target, 10)


def coefficient_of_variation(values: list[float]) -> float:
    """sd / mean (population sd): 0 for homogeneous time constants, 1/sqrt(k) for Gamma(k)."""
    v = np.asarray(values, dtype=float)
    return float(v.std() / v.mean())
