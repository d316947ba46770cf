"""A vectorised numpy implementation of the ``lif`` model's discrete dynamics.

It exists to check the Brian2 network (tests) and to measure it against
(``python -m bioevo.bench``).  Per step, in Brian2's schedule order:
state update (v with the previous step's current, then current decay),
threshold, synaptic transmission, reset.
"""
from __future__ import annotations

import numpy as np

from ..genome import NetworkParameters


def simulate_lif(params: NetworkParameters, raster: np.ndarray, dt: float = 1.0,
                 dtype: type = np.float64, record_trace: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Run P individuals on B samples.  Returns (vmax (P,B,O), trace (P,B,T,O)
    or None, hidden spike counts (P,B,H))."""
    w_in = params.weights["input_hidden"].astype(dtype)  # (P, M, H)
    w_out = params.weights["hidden_readout"].astype(dtype)  # (P, H, O)
    hid, out = params.neurons["hidden"], params.neurons["readout"]
    P, _, H = w_in.shape
    O = w_out.shape[2]
    B, T, _ = raster.shape
    beta_h = np.exp(-dt / hid["tau_mem"]).astype(dtype)[:, None, :]
    alpha_h = np.exp(-dt / hid["tau_syn"]).astype(dtype)[:, None, :]
    th = hid["v_th"].astype(dtype)[:, None, :]
    i_app = hid["I_app"].astype(dtype)[:, None, :] if "I_app" in hid else dtype(0)  # injected current
    beta_o = np.exp(-dt / out["tau_mem"]).astype(dtype)[:, None, :]
    alpha_o = np.exp(-dt / out["tau_syn"]).astype(dtype)[:, None, :]
    x = raster.astype(dtype)
    v = np.zeros((P, B, H), dtype)
    i_h = np.zeros_like(v)
    vo = np.zeros((P, B, O), dtype)
    i_o = np.zeros_like(vo)
    vmax = np.full_like(vo, -np.inf)
    counts = np.zeros((P, B, H), np.int64)
    trace = np.empty((P, B, T, O), dtype) if record_trace else None
    for n in range(T):
        v *= beta_h
        v += (1 - beta_h) * (i_h + i_app)
        i_h *= alpha_h
        vo *= beta_o
        vo += (1 - beta_o) * i_o
        i_o *= alpha_o
        np.maximum(vmax, vo, out=vmax)
        if record_trace:
            trace[:, :, n] = vo
        spikes = v > th
        i_h += np.matmul(x[:, n], w_in)
        i_o += np.matmul(spikes.astype(dtype), w_out)
        v[spikes] = 0
        counts += spikes
    return vmax, trace, counts
