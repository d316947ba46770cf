"""An independent reference for the Morris-Lecar model: the equations of
``models/morris_lecar.toml`` (class I) and ``models/morris_lecar_class2.toml``
(class II) written out in numpy and integrated by scipy's LSODA with tight
tolerances, no Brian2; and the bifurcations of their equilibria computed from
the equations (the steady-state I-V curve and the Jacobian), no simulation.
Tests and ``results/morris_lecar/dt_error.py`` measure Brian2's exponential Euler
against it (it lives in tests/: no command needs it). The recovery variable is w here as in Rinzel & Ermentrout; the model
files call it n (w is the synapses' weight there).

Parameter sets: Rinzel & Ermentrout (1989/1998), appendix A of "Analysis of
neural excitability and oscillations" (Koch & Segev, Methods in Neuronal
Modeling); the same table in Ermentrout & Terman (2010), ch. 3."""
from __future__ import annotations

import functools

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

_SHARED = dict(C_m=20.0, g_l=2.0, g_k=8.0, E_l=-60.0, E_ca=120.0, E_k=-84.0, V_1=-1.2, V_2=18.0)
#: class I: onset at a saddle-node on an invariant circle (SNIC)
CLASS_I = {**_SHARED, "g_ca": 4.0, "V_3": 12.0, "V_4": 17.4, "phi": 1 / 15}
#: class II: onset near a subcritical Hopf point (firing starts at a fold of cycles below it)
CLASS_II = {**_SHARED, "g_ca": 4.4, "V_3": 2.0, "V_4": 30.0, "phi": 0.04}
CLASSES = {"I": CLASS_I, "II": CLASS_II}
#: the model file of each class
MODELS = {"I": "morris_lecar", "II": "morris_lecar_class2"}
#: a spike: an upward crossing of 0 mV (the model files' threshold)
SPIKE_MV = 0.0


def m_inf(v, p):
    return 0.5 * (1 + np.tanh((v - p["V_1"]) / p["V_2"]))


def w_inf(v, p):
    return 0.5 * (1 + np.tanh((v - p["V_3"]) / p["V_4"]))


def steady_state_current(v, p):
    """The constant current that holds the membrane at ``v`` with w = w_inf(v): the
    equilibria at current I are the solutions of steady_state_current(v) = I."""
    return (p["g_l"] * (v - p["E_l"]) + p["g_ca"] * m_inf(v, p) * (v - p["E_ca"])
            + p["g_k"] * w_inf(v, p) * (v - p["E_k"]))


def rest(p, i_app: float = 0.0) -> tuple[float, float]:
    """(v, w) of the lowest equilibrium at constant ``i_app`` (the resting state)."""
    grid = np.linspace(-100.0, 60.0, 16001)
    f = steady_state_current(grid, p) - i_app
    k = int(np.flatnonzero(np.sign(f[1:]) != np.sign(f[:-1]))[0])
    v = brentq(lambda x: steady_state_current(x, p) - i_app, grid[k], grid[k + 1], xtol=1e-12)
    return float(v), float(w_inf(v, p))


def jacobian(v: float, p) -> np.ndarray:
    """Jacobian of (dv/dt, dw/dt) at the equilibrium on the I-V curve at ``v`` (w = w_inf(v))."""
    h = 1e-6
    dm = (m_inf(v + h, p) - m_inf(v - h, p)) / (2 * h)
    dw = (w_inf(v + h, p) - w_inf(v - h, p)) / (2 * h)
    w = w_inf(v, p)
    rate = p["phi"] * np.cosh((v - p["V_3"]) / (2 * p["V_4"]))
    a = -(p["g_l"] + p["g_ca"] * m_inf(v, p) + p["g_ca"] * dm * (v - p["E_ca"]) + p["g_k"] * w) / p["C_m"]
    b = -p["g_k"] * (v - p["E_k"]) / p["C_m"]
    return np.array([[a, b], [rate * dw, -rate]])


def _roots(f, lo: float, hi: float, n: int = 16001) -> list[float]:
    grid = np.linspace(lo, hi, n)
    values = np.array([f(x) for x in grid])
    k = np.flatnonzero(np.sign(values[1:]) != np.sign(values[:-1]))
    return [brentq(f, grid[j], grid[j + 1], xtol=1e-12) for j in k]


def saddle_node_current(p) -> float | None:
    """The current of the lowest saddle-node of equilibria on the rest branch: the first
    knee of the steady-state I-V curve (None where the curve is monotonic, class II)."""
    h = 1e-5
    knees = _roots(lambda v: steady_state_current(v + h, p) - steady_state_current(v - h, p), -100.0, 60.0)
    return float(steady_state_current(knees[0], p)) if knees else None


def hopf_current(p) -> float | None:
    """The current of the lowest Hopf point on the rest branch: trace of the Jacobian
    zero with positive determinant, below any saddle-node (None if there is none)."""
    sn = saddle_node_current(p)
    for v in _roots(lambda x: np.trace(jacobian(x, p)), -100.0, 60.0):
        current = float(steady_state_current(v, p))
        if np.linalg.det(jacobian(v, p)) > 0 and (sn is None or current < sn):
            return current
    return None


def _rhs(_: float, y: np.ndarray, i_app: float, p: dict) -> list[float]:
    v, w = y
    dv = (i_app - p["g_l"] * (v - p["E_l"]) - p["g_ca"] * m_inf(v, p) * (v - p["E_ca"])
          - p["g_k"] * w * (v - p["E_k"])) / p["C_m"]
    return [dv, p["phi"] * np.cosh((v - p["V_3"]) / (2 * p["V_4"])) * (w_inf(v, p) - w)]


@functools.lru_cache(maxsize=None)
def lsoda_spike_times(i_app: float, duration: float, cls: str = "I", start: tuple[float, float] | None = None
                      ) -> np.ndarray:
    """Times (ms) of the upward crossings of 0 mV under a constant ``i_app`` from
    ``start`` (default: the resting state at I = 0, the model files' sample_reset)
    (LSODA, rtol = atol = 1e-9, steps <= 0.5 ms)."""
    p = CLASSES[cls]
    crossing = lambda _, y, i, q: y[0] - SPIKE_MV  # noqa: E731
    crossing.direction = 1
    y0 = list(start) if start is not None else list(rest(p))
    sol = solve_ivp(_rhs, (0, duration), y0, method="LSODA", rtol=1e-9, atol=1e-9, max_step=0.5,
                    events=crossing, args=(float(i_app), p))
    return sol.t_events[0]


def lsoda_state(i_app: float, duration: float, cls: str = "I", start: tuple[float, float] | None = None
                ) -> tuple[float, float]:
    """(v, w) after ``duration`` ms at constant ``i_app`` (same integration as :func:`lsoda_spike_times`)."""
    p = CLASSES[cls]
    y0 = list(start) if start is not None else list(rest(p))
    sol = solve_ivp(_rhs, (0, duration), y0, method="LSODA", rtol=1e-9, atol=1e-9, max_step=0.5,
                    args=(float(i_app), p))
    return float(sol.y[0, -1]), float(sol.y[1, -1])
