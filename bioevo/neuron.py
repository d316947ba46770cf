"""Single neurons of a model file's layer, driven by constant currents: for
the I_app demo, rheobase searches and checks of a model against references."""
from __future__ import annotations

from typing import Callable

import brian2 as b2
import numpy as np

from .model import LayerSpec, ModelSpec
from .sim.network import unit_namespace


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
    group = b2.NeuronGroup(len(i_app), layer.equations, method=layer.method, dt=dt, namespace=unit_namespace(),
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


#: sustained firing: a spike in the last quarter of the window
TAIL = 0.25


def fires_to_the_end(spike_times_ms: np.ndarray, duration_ms: float, tail: float = TAIL) -> bool:
    """Sustained (repetitive) firing: at least one spike in the last ``tail`` of a
    ``duration_ms`` window.  Transient spikes after a current step (HH fires one to
    a few below the onset of repetitive firing, then rests) end long before it."""
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail!r}")
    return bool(np.any(np.asarray(spike_times_ms, dtype=float) >= (1.0 - tail) * duration_ms))


def onset_threshold(fires: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, tol: float,
                    points: int = 1) -> float:
    """The smallest current at which ``fires`` (currents -> one bool per current) is
    true, to within ``tol``, by bisection of ``[lo, hi]`` (``lo`` must not fire, ``hi``
    must; both are tried with the first round).  ``points`` currents are tried per
    round (one simulation; 1 is plain bisection): the bracket shrinks to the first
    firing one and its neighbour below, ``points + 1`` times per round.  Returns the
    upper end of the last bracket, which fires."""
    if tol <= 0 or not lo < hi or points < 1:
        raise ValueError(f"bisection needs lo < hi, tol > 0 and points >= 1, got [{lo}, {hi}], tol {tol}, "
                         f"points {points}")
    first = True
    while first or hi - lo > tol:
        grid = np.linspace(lo, hi, points + 2)
        firing = np.asarray(fires(grid if first else grid[1:-1]), dtype=bool)
        if first:
            if firing[0] or not firing[-1]:
                raise ValueError(f"bisection needs a non-firing lower bound and a firing upper bound, got [{lo}, {hi}]")
            firing = firing[1:-1]
            first = False
        j = int(np.argmax(firing)) if firing.any() else points  # the first firing interior point
        lo, hi = grid[j], grid[j + 1]
    return float(hi)


def sustained_firing_threshold(model: ModelSpec, layer_name: str, duration_ms: float, lo: float, hi: float,
                               tol: float, dt_ms: float | None = None, points: int = 1,
                               target: str = "numpy") -> float:
    """Onset of sustained repetitive firing from rest: the smallest constant I_app
    whose neuron, started at rest (the layer's ``sample_reset``), still fires in the
    last quarter of ``duration_ms`` (:func:`fires_to_the_end`); bisection to ``tol``
    (:func:`onset_threshold`)."""
    def fires(currents: np.ndarray) -> np.ndarray:
        times = simulate_single(model, layer_name, currents, duration_ms, dt_ms=dt_ms, target=target)[1]
        return np.array([fires_to_the_end(t, duration_ms) for t in times])

    return onset_threshold(fires, lo, hi, tol, points)


def transient_threshold(model: ModelSpec, layer_name: str, duration_ms: float, lo: float, hi: float, tol: float,
                        min_spikes: int = 2, dt_ms: float | None = None, points: int = 1,
                        target: str = "numpy") -> float:
    """The smallest constant I_app giving at least ``min_spikes`` spikes in
    ``duration_ms`` from rest, transient or not (bisection to ``tol``).  For HH
    this lies below the onset of sustained firing: a step from rest fires a few
    spikes before the neuron settles."""
    def fires(currents: np.ndarray) -> np.ndarray:
        return simulate_single(model, layer_name, currents, duration_ms, dt_ms=dt_ms, target=target)[0] >= min_spikes

    return onset_threshold(fires, lo, hi, tol, points)
