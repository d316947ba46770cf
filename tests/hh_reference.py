"""An independent reference for the Hodgkin-Huxley model: the 1952 squid-axon
equations of ``models/hh.toml`` (voltage relative to rest, mV; uA/cm^2) written
out in numpy and integrated by scipy's LSODA with tight tolerances, no Brian2.
Tests and ``results/hh/dt_error.py`` measure Brian2's exponential Euler
against it; it lives in tests/ because no command needs it (scripts under results/ import
``tests.hh_reference`` with ``PYTHONPATH=.``)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from scipy.integrate import solve_ivp

if TYPE_CHECKING:
    from bioevo.model import ModelSpec

#: v, m, h, n of the 1952 model at rest
REST = (0.0, 0.0529325, 0.5961208, 0.3176769)
G_NA, G_K, G_L, E_NA, E_K, E_L = 120.0, 36.0, 0.3, 115.0, -12.0, 10.6


#: The same equations as Brian2 ODEs (the hidden layer's ``equations`` before
#: models/hh.toml wrote its exponential Euler step out by hand), for Brian2's own
#: ``exponential_euler``: tests check the hand-written step against it and
#: ``results/hh/step_cost.py`` times both.
BRIAN_ODES = """
dv/dt = (g_na * m**3 * h * (E_na - v) + g_k * n**4 * (E_k - v) + g_l * (E_l - v) + I_app + I_syn) / C_m / ms : 1
dm/dt = (alpha_m * (1 - m) - beta_m * m) / ms : 1
dh/dt = (alpha_h * (1 - h) - beta_h * h) / ms : 1
dn/dt = (alpha_n * (1 - n) - beta_n * n) / ms : 1
dI_syn/dt = -I_syn / (tau_syn * ms) : 1
alpha_m = 1.0 / exprel((25 - v) / 10) : 1
beta_m = 4 * exp(-v / 18) : 1
alpha_h = 0.07 * exp(-v / 20) : 1
beta_h = 1 / (exp((30 - v) / 10) + 1) : 1
alpha_n = 0.1 / exprel((10 - v) / 10) : 1
beta_n = 0.125 * exp(-v / 80) : 1
C_m : 1 (constant)
g_na : 1 (constant)
g_k : 1 (constant)
g_l : 1 (constant)
E_na : 1 (constant)
E_k : 1 (constant)
E_l : 1 (constant)
tau_syn : 1 (constant)
I_app : 1 (constant)
I_scale : 1 (constant)
"""


def with_brian_odes(model: "ModelSpec", layer: str = "hidden", **changes) -> "ModelSpec":
    """``model`` (models/hh.toml's ModelSpec) with ``layer`` integrated by Brian2's
    exponential Euler of :data:`BRIAN_ODES` instead of the hand-written step
    (``changes``: further LayerSpec fields, e.g. another ``sample_reset``)."""
    import dataclasses

    odes = dataclasses.replace(model.layers[layer], equations=BRIAN_ODES, step="", method="exponential_euler",
                               derived={}, **changes)
    return dataclasses.replace(model, layers={**model.layers, layer: odes})


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
