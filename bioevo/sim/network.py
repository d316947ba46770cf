"""Build the Brian2 objects that simulate P individuals on B samples at once.

Layout: every layer holds P copies of its neurons (individual p owns neurons
p*n .. p*n+n-1); every synapse group connects each individual's copies
all-to-all, so the weights of individual p are the block (p, n_pre, n_post)
of one flat array.  The input layer is shared by all individuals.  The B
samples are presented one after another (time-multiplexed): sample b occupies
steps b*T .. b*T+T-1, and every layer's ``sample_reset`` runs at the start of
each sample.  This keeps the synapse count at P*(M*H + H*O) instead of
B times that, which is what made it the fastest layout we measured on CPUs.

``parallel_samples`` is the other layout, for GPUs: every individual holds B
copies of its neurons, one per sample (block q = p*B + b), the input layer
holds B copies of the input units (sample b's units are b*M .. b*M+M-1) and
one run lasts T steps.  B times the neurons and synapses, 1/B of the steps:
more work per step for a GPU to spread over its cores.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import brian2 as b2
import numpy as np

from ..model import ModelSpec
from ..readout_stats import ALWAYS_TRACKED, TRACKED_STATS, optional_stats

#: the statistic every network tracks (``readout_stats.ALWAYS_TRACKED``), recorded at every sample end
_ALWAYS = TRACKED_STATS[ALWAYS_TRACKED]
READOUT_MAX = _ALWAYS.variable


@dataclass
class BrianNetwork:
    """The Brian2 objects of one evaluator, kept referenced: a collected object
    breaks standalone ``run_args`` with a ReferenceError."""

    inputs: b2.TimedArray
    groups: dict[str, b2.NeuronGroup]
    synapses: dict[str, b2.Synapses]
    max_monitor: b2.StateMonitor
    trace_monitor: b2.StateMonitor | None
    spike_monitors: dict[str, b2.SpikeMonitor]
    # layer -> monitor of one integrated state variable at the end of every sample (blow-up check)
    state_checks: dict[str, b2.StateMonitor] = field(default_factory=dict)

    def objects(self) -> list:
        mons = [self.max_monitor, *self.spike_monitors.values(), *self.state_checks.values()]
        if self.trace_monitor is not None:
            mons.append(self.trace_monitor)
        return [*self.groups.values(), *self.synapses.values(), *mons]


def block_connections(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int, population: int,
                      shared_source: bool, source_blocks: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The within-individual connections (pre, post) repeated for every
    individual (block), ordered (block, connection) so that weights reshape to
    (P, connections) -- (P, n_pre, n_post) when all pairs are connected.  A
    shared source (the input layer) has ``source_blocks`` blocks of its own, and
    block q reads source block q % source_blocks (1: every block reads the same
    units; B in the parallel-samples layout: block p*B + b reads sample b)."""
    p = np.arange(population)[:, None]
    offset = (p % source_blocks) * n_pre if shared_source else p * n_pre
    i = np.broadcast_to(pre[None, :] + offset, (population, len(pre)))
    j = p * n_post + post[None, :]
    return i.ravel().astype(np.int32), j.ravel().astype(np.int32)


def build_network(
    model: ModelSpec,
    layer_sizes: dict[str, int],
    population: int,
    batch: int,
    n_steps: int,
    record_trace: bool = False,
    record_spikes: bool | tuple[str, ...] = False,
    readout_stats: tuple[str, ...] = (),
    on_defaultclock: bool = False,
    parallel_samples: bool = False,
    fast_templates: bool = False,
    weight_dtype: type | None = None,
) -> BrianNetwork:
    """Create (not run) the network on the currently active Brian2 device.

    ``on_defaultclock``: put the layers and synapses on Brian2's ``defaultclock``
    (set to the model's dt) instead of a clock of their own; brian2cuda's
    synapse code assumes synapses run on ``defaultclock``.  The cpp and runtime
    backends keep their own clocks, so their generated code is unchanged.

    ``readout_stats`` (names in ``readout_stats.TRACKED_STATS`` besides the max,
    which is always tracked): statistics of the readout variable tracked at every
    integration step or sampled like the trace (once per input step, after the
    step's updates and resets), so that they equal their ``of_trace`` of the
    trace (e.g. ``trace[:, :, -1]``, ``trace.sum(axis=2)``) without recording it.

    ``parallel_samples``: the B samples side by side instead of one after
    another (module docstring); the input raster is then (T, B*M).

    ``weight_dtype``: the type of every synapse group's ``w`` if not Brian2's default float
    (float32 weights with float64 state: half the bytes a spike streams, float64 sums)."""
    unknown = set(readout_stats) - set(optional_stats())
    if unknown:
        raise ValueError(f"unknown readout statistic(s) {sorted(unknown)}; allowed: {', '.join(optional_stats())}")
    tracked = [TRACKED_STATS[name] for name in sorted(readout_stats)]
    stats = [stat.variable for stat in tracked]
    dt = model.dt * b2.ms
    if on_defaultclock:
        b2.defaultclock.dt = dt
    timing = {"clock": b2.defaultclock} if on_defaultclock else {"dt": dt}
    step = model.step_ms * b2.ms  # one input time step (several integration steps for stiff models)
    n_in = layer_sizes["input"]
    # the parallel layout: P*B blocks of every layer, B blocks of input units, one sample's duration
    if parallel_samples:
        blocks, in_blocks, rows = population * batch, batch, n_steps
    else:
        blocks, in_blocks, rows = population, 1, batch * n_steps
    inputs = b2.TimedArray(np.zeros((rows, in_blocks * n_in)), dt=step, name="input_raster")
    # An input unit spikes in a step where the raster holds a count >= 1; synapses from the input
    # read the count as ``count_pre`` (``on_pre = "I_post += w * count_pre"``), so a binned raster
    # with several spikes of one unit in one step (SHD) delivers all of them.
    input_group = b2.NeuronGroup(in_blocks * n_in, "count : 1", threshold="count > 0.5", reset="", name="input",
                                 namespace={"input_raster": inputs}, dt=step)
    input_group.run_regularly("count = input_raster(t, i)", when="start", name="input_count")
    groups = {"input": input_group}
    sample_dt = n_steps * step
    for layer in model.layers.values():
        is_readout = layer.name == model.readout_layer
        equations = layer.equations + ("".join(f"\n{name} : 1" for name in [READOUT_MAX, *stats])
                                       if is_readout else "")
        kwargs = {}
        if layer.threshold is not None:
            kwargs.update(threshold=layer.threshold, reset=layer.reset or "")
        if layer.refractory is not None:
            kwargs["refractory"] = layer.refractory if isinstance(layer.refractory, str) else layer.refractory * b2.ms
        group = b2.NeuronGroup(blocks * layer_sizes[layer.name], equations, method=layer.method,
                               name=layer.name, namespace=unit_namespace(), **timing, **kwargs)
        if layer.step.strip():
            group.run_regularly(layer.step, when="groups", order=1, name=f"{layer.name}_step")
        reset = layer.sample_reset.strip()
        if is_readout:
            every_dt = [_ALWAYS, *(stat for stat in tracked if stat.every_integration_step)]
            every_step = [stat for stat in tracked if not stat.every_integration_step]
            group.run_regularly("\n".join(stat.update.format(v=model.readout_variable) for stat in every_dt),
                                when="groups", order=2, name=f"{layer.name}_track_max")
            if every_step:  # at the end of every input step, as the trace monitor samples
                group.run_regularly("\n".join(stat.update.format(v=model.readout_variable) for stat in every_step),
                                    dt=step, when="end", name=f"{layer.name}_track_stats")
            reset = "; ".join(filter(None, [reset, _ALWAYS.reset, *(stat.reset for stat in tracked)]))
        if reset:
            group.run_regularly(reset, dt=sample_dt, when="start", name=f"{layer.name}_sample_reset")
        groups[layer.name] = group
    synapses = {}
    namespace = model.namespace(layer_sizes)
    for syn in model.synapses.values():
        extra = {}
        if fast_templates and syn.delay:
            from .device import synapse_code_class
            extra["codeobj_class"] = synapse_code_class(True)
        if weight_dtype is not None:
            extra["dtype"] = {"w": weight_dtype}
        s = b2.Synapses(groups[syn.source], groups[syn.target], syn.model, on_pre=syn.on_pre, name=syn.name,
                        namespace=unit_namespace(), **timing, **extra)
        n_pre, n_post = layer_sizes[syn.source], layer_sizes[syn.target]
        pre, post = syn.pairs(n_pre, n_post, namespace)
        i, j = block_connections(pre, post, n_pre, n_post, blocks, syn.source == "input", in_blocks)
        s.connect(i=i, j=j)
        if syn.delay:
            s.delay = syn.delay * b2.ms
        synapses[syn.name] = s
    readout = groups[model.readout_layer]
    # Recorded before the sample reset of the next sample: the max of the sample just ended.
    max_monitor = b2.StateMonitor(readout, [READOUT_MAX, *stats] if stats else READOUT_MAX, record=True,
                                  dt=sample_dt, when="before_start", name="readout_max_monitor")
    trace_monitor = (b2.StateMonitor(readout, model.readout_variable, record=True, when="end", dt=step,
                                     name="readout_trace_monitor")
                     if record_trace else None)
    wanted = set(groups) - {"input"} if record_spikes is True else set(record_spikes or ())
    spike_monitors = {name: b2.SpikeMonitor(g, name=f"{name}_spikes") for name, g in groups.items()
                      if name in wanted and g.events}
    # Layers integrated by Brian2's ODE solvers, or by a step of their own that names a state_check
    # (stiff models such as HH), can blow up; a non-finite state at the end of a sample marks the
    # individual (its neurons may simply fall silent otherwise).
    state_checks = {}
    for name, g in groups.items():
        if name == "input":
            continue
        diff = sorted(g.equations.diff_eq_names)
        var = model.layers[name].state_check or ("v" if "v" in diff else diff[0] if diff else "")
        if var:
            state_checks[name] = b2.StateMonitor(g, var, record=True, dt=sample_dt, when="before_start",
                                                 name=f"{name}_state_check")
    return BrianNetwork(inputs, groups, synapses, max_monitor, trace_monitor, spike_monitors, state_checks)


def run_duration(model: ModelSpec, batch: int, n_steps: int, parallel_samples: bool = False) -> b2.Quantity:
    """One input step beyond the batch (or, side by side, the one sample) so
    that the last sample's maximum is recorded."""
    return ((n_steps if parallel_samples else batch * n_steps) + 1) * model.step_ms * b2.ms


def unit_namespace() -> dict:
    """Units model files may use in equations and code (Brian2's own names)."""
    return {name: getattr(b2, name) for name in ("ms", "mV", "nA", "uA", "pA", "nF", "uF", "pF", "mS", "uS", "nS",
                                                 "cm", "cm2", "umetre", "um2", "msiemens", "siemens", "volt",
                                                 "amp", "farad", "second", "Hz", "ohm", "metre")}
