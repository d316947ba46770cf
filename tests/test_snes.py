"""SNES: one update computed by hand, and its defaults (the shared checks are in
test_strategy_conformance.py)."""
import math

import numpy as np
import pytest

from bioevo.strategies.snes import SNES, utilities
from strategy_testing import population


def test_defaults_follow_wierstra_2014():
    s = SNES(np.zeros(2000), 0)
    assert s.popsize == 4 + math.floor(3 * math.log(2000)) == 26
    assert s.eta_sigma == pytest.approx((3 + math.log(2000)) / (5 * math.sqrt(2000)), rel=1e-15)
    np.testing.assert_array_equal(s.std, np.full(2000, 0.1))


def test_one_update_hand_computed():
    # N = 2, lambda = 4: utilities (ln 3 - ln k)+ / (ln 3 + ln 1.5) - 1/4 for ranks k = 1..4
    s = SNES(np.zeros(2), 0, popsize=4, sigma=0.5, lr=0.8, lr_sigma=0.2)
    pop = population([[1.0, 0.0], [0.0, 0.5], [-1.0, -1.0], [0.5, 0.5]], [0.3, 0.1, 0.9, 0.2])
    total = math.log(3) + math.log(1.5)
    u = [math.log(3) / total - 0.25, math.log(1.5) / total - 0.25, -0.25, -0.25]
    np.testing.assert_allclose(utilities(4), u, rtol=1e-12)
    # ranked by loss: rows 1 (0.1), 3 (0.2), 0 (0.3), 2 (0.9); s = x / sigma
    ranked = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [-2.0, -2.0]])
    s.update(pop)
    grad_mu = u[0] * ranked[0] + u[1] * ranked[1] + u[2] * ranked[2] + u[3] * ranked[3]
    grad_sigma = sum(uk * (r**2 - 1) for uk, r in zip(u, ranked))
    np.testing.assert_allclose(s.centroid, 0.8 * 0.5 * grad_mu, rtol=1e-14)
    np.testing.assert_allclose(s.std, 0.5 * np.exp(0.1 * grad_sigma), rtol=1e-14)
    # by hand: grad_mu = (u_2, 1), grad_sigma = (-u_1 - 1.5, -0.5): both widths shrink
    np.testing.assert_allclose(grad_mu, [u[1], 1.0], rtol=1e-14)
    np.testing.assert_allclose(grad_sigma, [-u[0] - 1.5, -0.5], rtol=1e-14)
    assert np.all(s.std < 0.5) and s.generation == 1
