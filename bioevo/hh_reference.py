"""An independent reference for the Hodgkin-Huxley model: the 1952 squid-axon
equations of ``models/hh.toml`` (voltage relative to rest, mV; uA/cm^2) written
out in numpy and integrated by scipy's LSODA with tight tolerances, no Brian2.
Tests and ``results/hh/dt_error.py`` measure Brian2's exponential Euler
against it."""
from __future__ import annotations

import functools

import numpy as np
from scipy.integrate import solve_ivp

#: v, m, h, n of the 1952 model at rest
REST = (0.0, 0.0529325, 0.5961208, 0.3176769)
G_NA, G_K, G_L, E_NA, E_K, E_L = 120.0, 36.0, 0.3, 115.0, -12.0, 10.6


def _exprel(x: float) -> float:
    return 1.0 + x / 2 if abs(x) < 1e-8 else float(np.expm1(x) / x)


def _rhs(_: float, y: np.ndarray, i_app: float) -> list[float]:
    v, m, h, n = y
    am, bm = 1.0 / _exprel((25 - v) / 10), 4 * np.exp(-v / 18)
    ah, bh = 0.07 * np.exp(-v / 20), 1 / (np.exp((30 - v) / 10) + 1)
    an, bn = 0.1 / _exprel((10 - v) / 10), 0.125 * np.exp(-v / 80)
    dv = G_NA * m**3 * h * (E_NA - v) + G_K * n**4 * (E_K - v) + G_L * (E_L - v) + i_app
    return [dv, am * (1 - m) - bm * m, ah * (1 - h) - bh * h, an * (1 - n) - bn * n]


@functools.lru_cache(maxsize=None)
def lsoda_spike_times(i_app: float, duration: float) -> np.ndarray:
    """Times (ms) of the upward crossings of 50 mV from rest under a constant ``i_app``
    (LSODA, rtol = atol = 1e-9, steps <= 0.05 ms)."""
    crossing = lambda _, y, i: y[0] - 50.0  # noqa: E731
    crossing.direction = 1
    sol = solve_ivp(_rhs, (0, duration), list(REST), method="LSODA", rtol=1e-9, atol=1e-9, max_step=0.05,
                    events=crossing, args=(float(i_app),))
    return sol.t_events[0]
