"""Paired seed statistics against exact enumeration and hand-computed values."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from bioevo.report.paired import coefficient_of_variation, common_target, paired_difference, verdict


def test_bootstrap_interval_matches_exact_enumeration_of_resamples():
    values, reference = [0.91, 0.95, 0.90, 0.97], [0.90, 0.92, 0.92, 0.92]
    d = np.subtract(values, reference)  # 0.01, 0.03, -0.02, 0.05
    # every one of the 4**4 resamples of the seeds is equally likely: the exact bootstrap distribution
    means = np.sort([d[list(idx)].mean() for idx in itertools.product(range(4), repeat=4)])
    exact_low, exact_high = np.quantile(means, [0.025, 0.975])
    got = paired_difference(values, reference)
    assert got["mean"] == pytest.approx(0.0175)
    # 10,000 Monte-Carlo resamples: within two atoms (0.07 / 4 / 4 apart at most) of the exact quantiles
    assert got["low"] == pytest.approx(exact_low, abs=0.0051)
    assert got["high"] == pytest.approx(exact_high, abs=0.0051)
    assert got["low"] < 0 < got["high"]  # one seed went the other way: no verdict
    assert verdict(got) == "no detectable difference at n = 4"


def test_every_seed_better_gives_an_interval_above_zero():
    got = paired_difference([0.95, 0.96, 0.97, 0.98, 0.99], [0.90, 0.90, 0.91, 0.90, 0.92])
    assert got["low"] >= 0.05 and got["high"] <= 0.08 and verdict(got, "better", "worse") == "better"
    assert verdict(paired_difference([100, 150, 120], [200, 230, 260]), "slower", "faster") == "faster"


def test_identical_differences_give_a_point_interval():
    got = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert (got["mean"], got["low"], got["high"]) == (0.5, 0.5, 0.5)
    assert verdict(paired_difference([1, 2], [1, 2])) == "no detectable difference at n = 2"


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="differ in length: 2 and 3"):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        paired_difference([1], [2])


def test_common_target_is_the_highest_step_every_run_reached():
    assert common_target([0.934, 0.97, 0.951]) == 0.90
    assert common_target([0.95, 0.96]) == 0.95  # 0.95 / 0.05 is 18.999... in floating point
    assert common_target([0.37, 0.81], step=0.1) == 0.3


def test_coefficient_of_variation_of_gamma_draws():
    assert coefficient_of_variation([10.0] * 5) == 0.0
    draws = np.random.default_rng(0).gamma(3.0, 10.0 / 3.0, 100_000)
    assert coefficient_of_variation(draws) == pytest.approx(3**-0.5, rel=0.01)


def test_sign_flip_p_matches_enumerating_every_sign_pattern():
    from bioevo.report.paired import sign_flip_p

    d = np.array([0.03, -0.01, 0.05, 0.02, 0.04])
    observed = abs(d.mean())
    flips = [abs((d * signs).mean()) for signs in itertools.product([1, -1], repeat=5)]
    exact = sum(f >= observed - 1e-12 for f in flips) / 32
    assert exact == pytest.approx(4 / 32)  # only all-positive, and -0.01 flipped, reach it (and their mirrors)
    assert sign_flip_p(d) == pytest.approx(exact)
    # five seeds all one way: the smallest p there is, 2 / 2**5
    assert paired_difference([0.95, 0.96, 0.97, 0.98, 0.99], [0.9] * 5)["p_sign_flip"] == pytest.approx(0.0625)
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0
