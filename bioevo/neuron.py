"""Single neurons of a model file's layer, driven by constant currents: for
the I_app demo, rheobase searches and checks of a model against references."""
from __future__ import annotations

import brian2 as b2
import numpy as np

from .model import LayerSpec, ModelSpec
from .sim.network import _unit_namespace


def simulate_single(model: ModelSpec, layer_name: str, i_app: np.ndarray, duration_ms: float,
                    dt_ms: float | None = None, record_v: bool = False, params: dict | None = None,
                    target: str = "numpy"):
    """P copies of one neuron of ``layer_name``, copy k with constant current
    ``i_app[k]`` (the layer's own ``I_app`` parameter), from the state its
    ``sample_reset`` sets.  Returns (spike counts (P,), spike times in ms per
    copy, membrane potential (P, steps) or None).  Runtime device; ``target``
    "numpy" needs no compiler, "cython" compiles once (cached by Brian2) and
    runs long simulations (HH at dt 0.01 ms) about ten times faster."""
    layer: LayerSpec = model.layers[layer_name]
    if "I_app" not in layer.parameters:
        raise ValueError(f"layer '{layer_name}' of model '{model.name}' has no I_app parameter")
    i_app = np.atleast_1d(np.asarray(i_app, dtype=float))
    dt = (dt_ms or model.dt) * b2.ms
    b2.set_device("runtime")
    b2.prefs.codegen.target = target
    kwargs = {}
    if layer.threshold is not None:
        kwargs.update(threshold=layer.threshold, reset=layer.reset or "")
    if layer.refractory is not None:
        kwargs["refractory"] = layer.refractory if isinstance(layer.refractory, str) else layer.refractory * b2.ms
    group = b2.NeuronGroup(len(i_app), layer.equations, method=layer.method, dt=dt, namespace=_unit_namespace(),
                           **kwargs)
    values = {p.name: np.full(len(i_app), p.value) for p in layer.parameters.values()}
    values.update(params or {})
    values["I_app"] = i_app
    for name, value in layer.brian_parameters(values, dt_ms or model.dt).items():
        group.variables[name].set_value(np.broadcast_to(value, len(i_app)).astype(float))
    objects = [group]
    if layer.step.strip():
        objects.append(group.run_regularly(layer.step, when="groups", order=1))
    if layer.sample_reset.strip():
        objects.append(group.run_regularly(layer.sample_reset, dt=(duration_ms + 1) * b2.ms, when="start"))
    spikes = b2.SpikeMonitor(group)
    objects.append(spikes)
    trace = b2.StateMonitor(group, "v", record=True, when="end") if record_v else None
    if trace is not None:
        objects.append(trace)
    b2.Network(objects).run(duration_ms * b2.ms, namespace={})
    times = spikes.spike_trains()
    return (np.asarray(spikes.count[:], dtype=int), [np.asarray(times[k] / b2.ms) for k in range(len(i_app))],
            np.asarray(trace.v[:]) if trace is not None else None)


def repetitive_firing_threshold(model: ModelSpec, layer_name: str, duration_ms: float, lo: float, hi: float,
                                tol: float, min_spikes: int = 2, target: str = "numpy") -> float:
    """The smallest constant I_app that gives at least ``min_spikes`` spikes in
    ``duration_ms``, by bisection on direct simulations (lo must not fire
    repetitively, hi must)."""
    def fires(i: float) -> bool:
        return simulate_single(model, layer_name, np.array([i]), duration_ms, target=target)[0][0] >= min_spikes

    if fires(lo) or not fires(hi):
        raise ValueError(f"bisection needs a silent lower bound and a firing upper bound, got [{lo}, {hi}]")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if fires(mid) else (mid, hi)
    return hi
