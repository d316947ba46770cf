"""A vectorised numpy implementation of the ``lif`` model's discrete dynamics
(also ``lif_spiking`` and ``lif_recurrent``).

It exists to check the Brian2 network (tests) and to measure it against
(``python -m bioevo.bench``).  Per step, in Brian2's schedule order:
state update (v with the previous step's current, then current decay),
threshold, synaptic transmission (input counts and, with recurrent weights,
this step's hidden spikes add to the current used by the next step's
update), reset.
"""
from __future__ import annotations

import numpy as np

from ..genome import NetworkParameters


def simulate_lif(params: NetworkParameters, raster: np.ndarray, dt: float = 1.0,
                 dtype: type = np.float64, record_trace: bool = False,
                 readout_spikes: dict | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Run P individuals on B samples.  Returns (vmax (P,B,O), trace (P,B,T,O)
    or None, hidden spike counts (P,B,H)).

    If the readout has a threshold ``v_th`` (model ``lif_spiking``) it spikes
    and resets like the hidden layer; pass a dict as ``readout_spikes`` to get
    its spike counts and first-spike steps (T where silent) in it under
    "counts" and "first"."""
    w_in = params.weights["input_hidden"].astype(dtype)  # (P, M, H)
    w_out = params.weights["hidden_readout"].astype(dtype)  # (P, H, O)
    hid, out = params.neurons["hidden"], params.neurons["readout"]
    P, _, H = w_in.shape
    w_rec = params.weights.get("hidden_hidden")
    if w_rec is not None:
        if w_rec.shape != (P, H, H):
            raise ValueError(f"hidden_hidden weights must be a dense (P, H, H) = {(P, H, H)} matrix, "
                             f"got {w_rec.shape}")
        w_rec = w_rec.astype(dtype)
    O = w_out.shape[2]
    B, T, _ = raster.shape
    beta_h = np.exp(-dt / hid["tau_mem"]).astype(dtype)[:, None, :]
    alpha_h = np.exp(-dt / hid["tau_syn"]).astype(dtype)[:, None, :]
    th = hid["v_th"].astype(dtype)[:, None, :]
    # constant injected current, added as a precomputed drive (1 - beta) I_app: no cost when it is 0
    drive = (1 - beta_h) * hid["I_app"].astype(dtype)[:, None, :] if "I_app" in hid else None
    if drive is not None and not np.any(drive):
        drive = None
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
    th_o = out["v_th"].astype(dtype)[:, None, :] if "v_th" in out else None
    counts_o = np.zeros((P, B, O), np.int64)
    first_o = np.full((P, B, O), T, np.int64)
    for n in range(T):
        v *= beta_h
        v += (1 - beta_h) * i_h
        if drive is not None:
            v += drive
        i_h *= alpha_h
        vo *= beta_o
        vo += (1 - beta_o) * i_o
        i_o *= alpha_o
        np.maximum(vmax, vo, out=vmax)
        spikes = v > th
        i_h += np.matmul(x[:, n], w_in)
        s = spikes.astype(dtype)
        i_o += np.matmul(s, w_out)
        if w_rec is not None:  # this step's spikes reach the hidden current like input spikes
            i_h += np.matmul(s, w_rec)
        v[spikes] = 0
        counts += spikes
        if th_o is not None:
            spikes_o = vo > th_o
            vo[spikes_o] = 0
            first_o[spikes_o & (first_o == T)] = n
            counts_o += spikes_o
        if record_trace:
            trace[:, :, n] = vo
    if readout_spikes is not None:
        readout_spikes.update(counts=counts_o, first=first_o)
    return vmax, trace, counts
