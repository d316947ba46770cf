"""Backpropagation through time in the biophysical networks' own equations
(``hh``, ``morris_lecar``, ``morris_lecar_class2``, ``morris_lecar_recurrent``, ``morris_lecar_class2_recurrent``),
and in the E/I ``competition`` circuit's (:func:`simulate_circuit`: several LIF
layers with resets, sparse, shared and fixed synapse groups).

Scoring window: with ``fitness.last_steps`` = N the loss reads the max of the
readout trace's last N samples, sampled as Brian2's trace monitor does (once per
input step, at the end of its first integration step); without, the max over
every integration step.

The forward pass is the model file itself, run in JAX (float64): each layer's
hand-written ``step`` code is evaluated line by line, in the file's order and
with the file's arithmetic, on ``jnp`` arrays; the derived values
(``alpha_syn = exp(-dt / tau_syn)``, ...) come from the file's ``derived``
expressions; every layer starts each sample from its ``sample_reset``.  The
schedule is the Brian2 network's (``bioevo.sim.network``, Brian2 sorts its
objects by slot, order, name): per integration step (``dt``; ``input_dt / dt``
of them per input step)

1. ``not_refractory = not_refractory or not (v > theta)`` (Brian2's state
   updater of a condition refractoriness, with v before this step);
2. the hidden layer's step, then the readout layer's step, then the running
   max of the readout variable (every integration step);
3. threshold: spike where ``v > theta`` and not refractory (an upward crossing,
   counted once), which makes the neuron refractory;
4. synapses: on the first integration step of an input step the input counts
   (``I_syn += w * I_scale * count``), and every step the hidden spikes
   (``I += w`` at the readout, ``I_syn += w * I_scale`` recurrent).

Gradients.  The membrane and gating variables, the synaptic currents, the
readout and the running max are continuous functions of the parameters and get
their exact derivative (automatic differentiation of the same arithmetic).  The
spike event is not: in the model files a hidden neuron reaches its targets only
through the crossing indicator ``[v > theta] * not_refractory``, a step
function whose exact derivative is zero almost everywhere (so the exact gradient
of every hidden-layer parameter, input weights included, is zero).  The
indicator alone gets a surrogate derivative, SuperSpike's fast sigmoid
``1 / (slope |v - theta| + 1)^2`` with respect to v (the value stays the exact
step); the refractory factor is held constant in the gradient (as the reset is
in the LIF twin, :mod:`bioevo.baselines.snn`).  ``slope`` is given relative to
the distance from the resting potential to threshold (slope 10 means 10 /
|theta - v_rest| per mV; the LIF twin's slope 10 with threshold 1 and rest 0 is
the same number)."""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..config import ConfigError, final_temperature
from ..genome import GenomeLayout
from ..model import ModelSpec
from . import snn

#: models whose network this module reproduces
MODELS = ("hh", "morris_lecar", "morris_lecar_class2", "morris_lecar_recurrent",
          "morris_lecar_class2_recurrent")
LOSSES = ("max_cross_entropy",)


# ----------------------------------------------------------------- the model file, parsed
@dataclass(frozen=True)
class Synapse:
    name: str
    source: str
    target: str
    variable: str  # the target's variable that receives w
    scale: str | None  # a parameter of the target multiplying w (I_scale), or None


@dataclass(frozen=True)
class Network:
    """What the JAX forward needs from a model file."""

    model: ModelSpec
    steps: dict[str, list[tuple[str, object]]]  # layer -> [(assigned name, compiled expression)]
    states: dict[str, tuple[str, ...]]  # layer -> its state variables (declared, not constant)
    resets: dict[str, dict[str, float]]  # layer -> sample_reset values
    threshold: tuple[str, float]  # hidden layer: (variable, theta) of "variable > theta"
    synapses: tuple[Synapse, ...]
    n_sub: int  # integration steps per input step
    window: int = 0  # fitness.last_steps: score the max of the readout trace's last N samples (0: every step)
    temperature: float = 1.0  # fitness.temperature: the loss's softmax reads the maxima divided by it


_ON_PRE = re.compile(r"^(\w+)_post\s*\+=\s*w(?:\s*\*\s*(\w+)_post)?(?:\s*\*\s*count_pre)?$")
_THRESHOLD = re.compile(r"^\s*(\w+)\s*>\s*([-+0-9.eE]+)\s*$")


def _assignments(code: str, what: str) -> list[tuple[str, str]]:
    out = []
    for line in filter(None, (s.strip() for s in re.split(r"[;\n]", code))):
        name, sep, expr = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or expr.startswith("="):
            raise ConfigError(f"method bptt: cannot read the line '{line}' of {what}")
        out.append((name, expr.strip()))
    return out


def _written_step(model: ModelSpec, name: str) -> tuple[list, tuple[str, ...], dict[str, float]]:
    """A layer's written-out step (compiled assignments), its state variables and their per-sample
    reset values; refused unless the model file writes the step and resets every state."""
    layer = model.layers[name]
    if layer.method != "euler" and not layer.step.strip():
        raise ConfigError(f"method bptt: layer {name} is integrated by Brian2 ({layer.method}), not a step")
    steps = [(n, compile(e, f"<{model.name}.{name}.step>", "eval"))
             for n, e in _assignments(layer.step, f"layers.{name}.step")]
    states = _states(layer.equations)
    resets = {n: float(e) for n, e in _assignments(layer.sample_reset, f"layers.{name}.sample_reset")}
    if set(resets) != set(states):
        raise ConfigError(f"method bptt: layers.{name}.sample_reset must set every state variable "
                          f"{', '.join(states)}")
    return steps, states, resets


def _states(equations: str) -> tuple[str, ...]:
    out = []
    for line in equations.splitlines():
        line = line.split("#")[0].strip()
        if "=" in line.split(":")[0]:
            raise ConfigError(f"method bptt: only hand-written steps (no ODEs), got '{line}'")
        if ":" in line and "(constant)" not in line:
            out.append(line.split(":")[0].strip())
    return tuple(out)


def parse_network(model: ModelSpec) -> Network:
    """Read ``model``'s layers and synapses; refuse what this module would not
    reproduce exactly (one line naming it)."""
    if model.name not in MODELS:
        raise ConfigError(f"method bptt reproduces model.name {', '.join(MODELS)} only, got '{model.name}'")
    if set(model.layers) != {"hidden", "readout"} or model.readout_layer != "readout":
        raise ConfigError("method bptt needs exactly a hidden and a readout layer")
    steps, states, resets = {}, {}, {}
    for name, layer in model.layers.items():
        if layer.reset or (name == "readout" and layer.threshold):
            raise ConfigError(f"method bptt: layer {name} has a reset or threshold it does not implement")
        steps[name], states[name], resets[name] = _written_step(model, name)
    hidden = model.layers["hidden"]
    match = _THRESHOLD.match(hidden.threshold or "")
    if not match or hidden.refractory != hidden.threshold:
        raise ConfigError("method bptt needs a hidden threshold 'v > theta' with refractory equal to it "
                          f"(an upward crossing), got threshold {hidden.threshold!r}, refractory {hidden.refractory!r}")
    synapses = []
    for syn in model.synapses.values():
        m = _ON_PRE.match(syn.on_pre.strip())
        if (not m or syn.delay or syn.condition or syn.weights != "matrix"
                or (syn.source, syn.target) not in {("input", "hidden"), ("hidden", "readout"), ("hidden", "hidden")}
                or ("count_pre" in syn.on_pre) != (syn.source == "input")):
            raise ConfigError(f"method bptt: synapses {syn.name} ({syn.on_pre!r}) are not a dense, undelayed "
                              "'X_post += w [* P_post]' it implements")
        synapses.append(Synapse(syn.name, syn.source, syn.target, m.group(1), m.group(2)))
    n_sub = model.step_ms / model.dt
    if abs(n_sub - round(n_sub)) > 1e-9:
        raise ConfigError(f"method bptt: input_dt {model.step_ms} is not a whole number of dt {model.dt}")
    return Network(model, steps, states, resets, (match.group(1), float(match.group(2))), tuple(synapses),
                   int(round(n_sub)))


def check_supported(cfg: dict, layout: GenomeLayout) -> "Network | Circuit":
    from dataclasses import replace

    from ..model import load_model

    model = load_model(cfg["model"]["name"])
    net = parse_circuit(model) if model.name in CIRCUITS else parse_network(model)
    if cfg["fitness"]["readout"] != "max" or cfg["fitness"]["loss"] not in LOSSES:
        raise ConfigError(f"method bptt scores fitness.readout 'max' with fitness.loss {', '.join(LOSSES)}, got "
                          f"'{cfg['fitness']['readout']}' / '{cfg['fitness']['loss']}'")
    if cfg["fitness"].get("l2", 0) or cfg["fitness"].get("smoothness", 0):
        raise ConfigError("method bptt: fitness.l2 and smoothness must be 0")
    # BPTT trains the loss the ES run ends on (a temperature_generations switch: the plain one)
    net = replace(net, window=int(cfg["fitness"].get("last_steps", 0)), temperature=final_temperature(cfg["fitness"]))
    if isinstance(net, Circuit):
        return net
    for seg in layout.segments:
        if seg.kind != "weight":
            continue
        if seg.shape != (layout.layer_sizes[snn.source_layer(seg)], layout.layer_sizes[snn.target_layer(seg)]):
            raise ConfigError(f"method bptt needs dense weight matrices, segment {seg.name} has shape {seg.shape}")
    return net


# ----------------------------------------------------------------- circuits of LIF layers with resets
#: models read as a circuit: several spiking layers with a reset, sparse / shared / fixed synapse groups
CIRCUITS = ("competition",)

_CIRCUIT_ON_PRE = re.compile(r"^(\w+)_post\s*\+=\s*(abs\(w\)|w)(\s*\*\s*count_pre)?$")
_NAMED_THRESHOLD = re.compile(r"^\s*(\w+)\s*>\s*(\w+)\s*$")
_RESET = re.compile(r"^\s*(\w+)\s*=\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class CircuitSynapse:
    name: str
    source: str
    target: str
    variable: str  # the target's variable that receives w (or |w|)
    weights: str  # matrix | shared | fixed
    absolute: bool  # on_pre adds abs(w): the pathway's sign is fixed


@dataclass(frozen=True)
class Circuit:
    """What the JAX forward needs from a model of several spiking layers (the
    competition circuit): every layer's step code, its threshold ``v > theta``
    (theta a parameter or a number) and reset ``v = value``, no refractoriness,
    one integration step per input step."""

    model: ModelSpec
    steps: dict[str, list[tuple[str, object]]]
    states: dict[str, tuple[str, ...]]
    resets: dict[str, dict[str, float]]  # sample_reset
    spiking: dict[str, tuple[str, str, tuple[str, float]]]  # layer -> (variable, theta, (reset variable, value))
    synapses: tuple[CircuitSynapse, ...]
    n_sub: int = 1
    window: int = 0
    temperature: float = 1.0


def parse_circuit(model: ModelSpec) -> Circuit:
    """Read a circuit model file (:data:`CIRCUITS`); refuse what the forward would not
    reproduce exactly (one line naming it)."""
    if model.name not in CIRCUITS:
        raise ConfigError(f"method bptt reads model.name {', '.join(CIRCUITS)} as a circuit, got '{model.name}'")
    if abs(model.step_ms - model.dt) > 1e-12:
        raise ConfigError("method bptt: a circuit integrates one step per input step")
    steps, states, resets, spiking = {}, {}, {}, {}
    for name, layer in model.layers.items():
        if layer.refractory:
            raise ConfigError(f"method bptt: layer {name}'s refractoriness is not implemented for circuits")
        steps[name], states[name], resets[name] = _written_step(model, name)
        if layer.threshold:
            th, rs = _NAMED_THRESHOLD.match(layer.threshold), _RESET.match(layer.reset or "")
            if not th or not rs or rs.group(1) != th.group(1):
                raise ConfigError(f"method bptt: layer {name} needs a threshold 'v > theta' and a reset 'v = value', "
                                  f"got {layer.threshold!r} / {layer.reset!r}")
            spiking[name] = (th.group(1), th.group(2), (rs.group(1), float(rs.group(2))))
        elif layer.reset:
            raise ConfigError(f"method bptt: layer {name} has a reset without a threshold")
    if model.readout_layer in spiking:
        raise ConfigError("method bptt: the readout layer must not spike")
    synapses = []
    for syn in model.synapses.values():
        m = _CIRCUIT_ON_PRE.match(syn.on_pre.strip())
        if (not m or syn.delay or (syn.source == "input") != bool(m.group(3))
                or (syn.source != "input" and syn.source not in spiking) or syn.weights not in ("matrix", "shared", "fixed")):
            raise ConfigError(f"method bptt: synapses {syn.name} ({syn.on_pre!r}) are not an undelayed "
                              "'X_post += w' or 'X_post += abs(w)' it implements")
        synapses.append(CircuitSynapse(syn.name, syn.source, syn.target, m.group(1), syn.weights,
                                       m.group(2) == "abs(w)"))
    return Circuit(model, steps, states, resets, spiking, tuple(synapses))


def _circuit_matrices(net: Circuit, layout: GenomeLayout, weights: dict, dtype) -> dict[str, jnp.ndarray]:
    """Every synapse group as a dense (n_pre, n_post) matrix of what one presynaptic spike adds."""
    sizes = layout.layer_sizes
    namespace = net.model.namespace(sizes)
    out = {}
    for s in net.synapses:
        spec = net.model.synapses[s.name]
        n_pre, n_post = sizes[s.source], sizes[s.target]
        if spec.weights == "matrix" and not spec.condition:
            w = weights[s.name].astype(dtype).reshape(n_pre, n_post)
            out[s.name] = jnp.abs(w) if s.absolute else w
            continue
        pre, post = spec.pairs(n_pre, n_post, namespace)  # the genome's order of a condition's synapses
        if spec.weights == "fixed":
            values = jnp.full(len(pre), float(spec.value), dtype)
        elif spec.weights == "shared":
            values = jnp.broadcast_to(weights[s.name].astype(dtype).reshape(-1)[0], (len(pre),))
        else:
            values = weights[s.name].astype(dtype).reshape(-1)
        if s.absolute:
            values = jnp.abs(values)
        out[s.name] = jnp.zeros((n_pre, n_post), dtype).at[np.asarray(pre), np.asarray(post)].add(values)
    return out


def simulate_circuit(net: Circuit, layout: GenomeLayout, params: dict, x: jnp.ndarray, slope: float = 10.0,
                     checkpoint: bool = True) -> tuple[jnp.ndarray, jnp.ndarray]:
    """A batch ``x`` (B, T, M) of input counts through the circuit; returns (readout
    maxima (B, O): over every step, or over the last ``net.window`` steps, spike counts
    of the first spiking layer, the one the inputs drive (B, N)).  Brian2's schedule,
    per step: every layer's step code; the readout's running max; thresholds
    ``v > theta`` (surrogate derivative with ``slope`` per unit of |theta - reset|, theta
    at its model-file value); synapses (input counts, this step's spikes); resets
    (kept out of the gradient, as in the LIF twin); the trace sample (when 'end')."""
    model = net.model
    dtype = x.dtype
    weights, values = layer_values(net, layout, params)
    matrices = _circuit_matrices(net, layout, weights, dtype)
    sizes = layout.layer_sizes
    B = x.shape[0]
    readout, readout_var = model.readout_layer, model.readout_variable
    slopes = {}
    for layer, (var, theta, (_, reset)) in net.spiking.items():
        ref = model.layers[layer].parameters[theta].value if theta in model.layers[layer].parameters else float(theta)
        slopes[layer] = slope / abs(ref - reset)
    first = next(s.target for s in net.synapses if s.source == "input")

    def threshold_of(layer: str):
        theta = net.spiking[layer][1]
        return values[layer][theta].astype(dtype) if theta in values[layer] else float(theta)

    run_step = _layer_stepper(net, values, dtype)

    def step(carry, x_n):
        state, vmax, counts = carry
        state = {layer: run_step(layer, st) for layer, st in state.items()}
        vmax = jnp.maximum(vmax, state[readout][readout_var])
        spikes = {layer: crossing(state[layer][var] - threshold_of(layer), slopes[layer])
                  for layer, (var, _, _) in net.spiking.items()}
        state = {layer: dict(st) for layer, st in state.items()}
        for s in net.synapses:
            pre = x_n if s.source == "input" else spikes[s.source]
            state[s.target][s.variable] = state[s.target][s.variable] + pre @ matrices[s.name]
        for layer, (_, _, (rvar, rvalue)) in net.spiking.items():
            fired = jax.lax.stop_gradient(spikes[layer])
            state[layer][rvar] = state[layer][rvar] * (1 - fired) + rvalue * fired
        counts = counts + jax.lax.stop_gradient(spikes[first])
        return (state, vmax, counts), state[readout][readout_var]

    body = jax.checkpoint(step) if checkpoint else step
    state0 = {layer: {k: jnp.full((B, sizes[layer]), v, dtype) for k, v in net.resets[layer].items()}
              for layer in model.layers}
    carry = (state0, jnp.full((B, sizes[readout]), -jnp.inf, dtype), jnp.zeros((B, sizes[first]), dtype))
    (_, vmax, counts), trace = jax.lax.scan(body, carry, jnp.swapaxes(x, 0, 1))
    if net.window:
        vmax = jnp.max(trace[-net.window:], axis=0)
    return vmax, counts


# ----------------------------------------------------------------- the forward pass
@partial(jax.custom_jvp, nondiff_argnums=(1,))
def crossing(x: jnp.ndarray, slope: float) -> jnp.ndarray:
    """(x > 0) forward; fast-sigmoid derivative 1 / (slope |x| + 1)^2 backward."""
    return (x > 0).astype(x.dtype)


@crossing.defjvp
def _crossing_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return crossing(x, slope), dx / (slope * jnp.abs(x) + 1.0) ** 2


def _functions(dtype) -> dict:
    return {"__builtins__": {}, "exp": jnp.exp, "sqrt": jnp.sqrt, "tanh": jnp.tanh, "cosh": jnp.cosh,
            "sinh": jnp.sinh, "log": jnp.log, "abs": jnp.abs, "pi": math.pi,
            "int": lambda b: jnp.where(b, jnp.asarray(1.0, dtype), jnp.asarray(0.0, dtype))}


def _layer_stepper(net, values: dict, dtype) -> Callable[[str, dict], dict]:
    """One integration step of a layer: the model file's own step code run in JAX, with Brian2's
    dt and ms in seconds and the layer's parameter values (for the HH/ML path and the circuit)."""
    namespace = {**_functions(dtype), "dt": net.model.dt * 1e-3, "ms": 1e-3}

    def run_step(layer: str, state: dict) -> dict:
        ns = {**namespace, **values[layer], **state}
        for name, code in net.steps[layer]:
            ns[name] = eval(code, ns)  # noqa: S307 - the model file's own step code
        return {k: ns[k] for k in net.states[layer]}

    return run_step


def layer_values(net: Network, layout: GenomeLayout, params: dict) -> tuple[dict, dict]:
    """(weights by synapse group, per-layer namespaces of parameters and derived values)."""
    weights, neurons = snn.decode(layout, params)
    model = net.model
    values = {}
    for name, layer in model.layers.items():
        given = dict(neurons.get(name, {}))
        ns = {**_functions(jnp.float64), "dt": model.dt, **given}
        for d, expr in layer.derived.items():
            given[d] = eval(expr, ns)  # noqa: S307 - the model file's own expression, as LayerSpec does
            ns[d] = given[d]
        values[name] = given
    return weights, values


def rest_potential(net: Network) -> float:
    return net.resets["hidden"][net.threshold[0]]


def simulate(net: Network, layout: GenomeLayout, params: dict, x: jnp.ndarray, slope: float = 10.0,
             checkpoint: bool = True) -> tuple[jnp.ndarray, jnp.ndarray]:
    """A batch ``x`` (B, T, M) of input counts through the network of ``params``
    (genome segments).  Returns (max over every integration step of the readout
    variable (B, O), hidden spike counts (B, H)); ``slope`` is relative to
    |theta - v_rest| (module docstring)."""
    if isinstance(net, Circuit):
        return simulate_circuit(net, layout, params, x, slope, checkpoint)
    model = net.model
    dtype = x.dtype
    weights, values = layer_values(net, layout, params)
    sizes = layout.layer_sizes
    B = x.shape[0]
    var, theta = net.threshold
    per_mv = slope / abs(theta - rest_potential(net))
    readout_var = model.readout_variable
    syn = {s.name: s for s in net.synapses}

    def scaled(s: Synapse) -> jnp.ndarray:
        w = weights[s.name].astype(dtype)
        return w * values[s.target][s.scale][None, :].astype(dtype) if s.scale else w

    w_of = {name: scaled(s) for name, s in syn.items()}
    inputs = [s for s in net.synapses if s.source == "input"]
    from_hidden = [s for s in net.synapses if s.source == "hidden"]

    run_step = _layer_stepper(net, values, dtype)

    def substep(carry, kick):
        hid, out, ready, vmax, counts = carry
        ready = jnp.maximum(ready, (hid[var] <= theta).astype(dtype))  # not_refractory or not (v > theta)
        hid = run_step("hidden", hid)
        out = run_step("readout", out)
        vmax = jnp.maximum(vmax, out[readout_var])
        s = crossing(hid[var] - theta, per_mv) * jax.lax.stop_gradient(ready)
        ready = ready * (1 - jax.lax.stop_gradient(s))
        hid = dict(hid)
        out = dict(out)
        for k, (s_in, amount) in enumerate(zip(inputs, kick)):
            hid[s_in.variable] = hid[s_in.variable] + amount
        for s_h in from_hidden:
            target = hid if s_h.target == "hidden" else out
            target[s_h.variable] = target[s_h.variable] + s @ w_of[s_h.name]
        return (hid, out, ready, vmax, counts + jax.lax.stop_gradient(s))

    def input_step(carry, x_n):
        kicks = tuple(x_n @ w_of[s.name] for s in inputs)
        carry = substep(carry, kicks)  # the input spikes arrive in the first integration step only
        # the readout trace is sampled once per input step, at the end of its first integration step
        # (Brian2's StateMonitor with dt = input_dt, when 'end'), which is what fitness.last_steps windows
        sample = carry[1][readout_var]
        zero = tuple(jnp.zeros_like(k) for k in kicks)
        carry, _ = jax.lax.scan(lambda c, _: (substep(c, zero), None), carry, None, length=net.n_sub - 1)
        return carry, sample

    body = jax.checkpoint(input_step) if checkpoint else input_step
    hid0 = {k: jnp.full((B, sizes["hidden"]), v, dtype) for k, v in net.resets["hidden"].items()}
    out0 = {k: jnp.full((B, sizes["readout"]), v, dtype) for k, v in net.resets["readout"].items()}
    carry = (hid0, out0, jnp.ones((B, sizes["hidden"]), dtype), jnp.full((B, sizes["readout"]), -jnp.inf, dtype),
             jnp.zeros((B, sizes["hidden"]), dtype))
    (hid, out, _, vmax, counts), trace = jax.lax.scan(body, carry, jnp.swapaxes(x, 0, 1))
    if net.window:  # fitness.last_steps: the max of the trace's last samples
        vmax = jnp.max(trace[-net.window:], axis=0)
    return vmax, counts


def cross_entropy(vmax: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    """Mean softmax cross-entropy of the readout maxima: fitness.max_cross_entropy."""
    lse = jax.nn.logsumexp(vmax, axis=1)
    return jnp.mean(lse - jnp.take_along_axis(vmax, labels[:, None], axis=1)[:, 0])


# ----------------------------------------------------------------- training
def _evaluate(score: Callable, params: dict, data, batch_size: int) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on ``data``, batches padded to one compiled shape
    (argmax ties go to the lowest class, as in bioevo.fitness)."""
    n = len(data)
    correct, total = 0, 0.0
    for start in range(0, n, batch_size):
        batch = data.subset(slice(start, start + batch_size))
        x, y, m = batch.raster, batch.labels, len(batch)
        if m < batch_size:
            x = np.concatenate([x, np.zeros((batch_size - m, *x.shape[1:]), x.dtype)])
            y = np.concatenate([y, np.zeros(batch_size - m, y.dtype)])
        losses, preds = score(params, jnp.asarray(x, jnp.float64), jnp.asarray(y))
        correct += int(np.sum(np.asarray(preds)[:m] == batch.labels))
        total += float(np.sum(np.asarray(losses)[:m]))
    return correct / n, total / n


def _fit_one(lr: float, net: Network, layout: GenomeLayout, initial: np.ndarray, splits: dict, settings: dict,
             s: dict, seed: int, budget: float, report: Callable[[str], None] | None) -> dict:
    """Adam at one learning rate from the evolution strategy's initial genome: per step the
    loss and the gradient's global norm (before clipping); divergence = a non-finite loss or
    gradient, which ends the run; the parameters best on validation are kept."""
    import optax

    slope = float(s["surrogate_slope"])
    chain = [optax.clip_by_global_norm(float(s["clip"]))] if s["clip"] > 0 else []
    opt = optax.chain(*chain, optax.adam(lr))

    def loss_fn(p, x, y):
        return cross_entropy(simulate(net, layout, p, x, slope)[0] / net.temperature, y)

    @jax.jit
    def step(p, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        norm = optax.global_norm(grads)
        updates, new_state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), new_state, loss, norm

    @jax.jit
    def score(p, x, y):
        vmax = simulate(net, layout, p, x, slope, checkpoint=False)[0] / net.temperature
        lse = jax.nn.logsumexp(vmax, axis=1)
        return lse - jnp.take_along_axis(vmax, y[:, None], axis=1)[:, 0], jnp.argmax(vmax, axis=1)

    params = {k: jnp.asarray(v, jnp.float64) for k, v in snn.initial_params(layout, initial).items()}
    state = opt.init(params)
    train, val = splits["train"], splits["val"]
    n, size = len(train), min(settings["batch_size"], len(train))
    t0 = time.time()
    acc, vloss = _evaluate(score, params, val, settings["eval_batch_size"])
    best = {"params": params, "val_accuracy": acc, "val_loss": vloss, "epoch": 0}
    history, norms, losses = [{"epoch": 0, "val_accuracy": acc, "val_loss": vloss}], [], []
    diverged, out_of_time, epoch = None, False, 0
    for epoch in range(1, settings["epochs"] + 1):
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        for start in range(0, n - size + 1, size):
            batch = train.subset(perm[start:start + size])
            new, new_state, loss, norm = step(params, state, jnp.asarray(batch.raster, jnp.float64),
                                              jnp.asarray(batch.labels))
            loss, norm = float(loss), float(norm)
            losses.append(loss)
            norms.append(norm)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                diverged = {"step": len(norms), "epoch": epoch, "loss": loss, "grad_norm": norm}
                break
            params, state = new, new_state
            if budget and time.time() - t0 > budget:
                out_of_time = True
                break
        acc, vloss = _evaluate(score, params, val, settings["eval_batch_size"])
        history.append({"epoch": epoch, "val_accuracy": acc, "val_loss": vloss,
                        "train_loss": float(np.mean(losses[-max(1, n // size):]))})
        if acc > best["val_accuracy"] or (acc == best["val_accuracy"] and vloss < best["val_loss"]):
            best = {"params": params, "val_accuracy": acc, "val_loss": vloss, "epoch": epoch}
        if report is not None:
            report(f"bptt lr {lr:g} epoch {epoch}: val {acc:.4f} (best {best['val_accuracy']:.4f} at "
                   f"{best['epoch']}), grad norm {min(norms[-n // size:]):.3g}-{max(norms[-n // size:]):.3g}"
                   + (", DIVERGED" if diverged else ""))
        if (diverged or out_of_time or epoch - best["epoch"] >= settings["patience"]
                or acc >= settings["target_val_accuracy"]):
            break
    finite = [g for g in norms if math.isfinite(g)]
    return {"lr": lr, "best": best, "epochs": epoch, "best_epoch": best["epoch"], "steps": len(norms),
            "val_accuracy": best["val_accuracy"], "val_loss": best["val_loss"], "diverged": diverged is not None,
            "divergence": diverged, "out_of_time": out_of_time, "wall_seconds": time.time() - t0,
            "grad_norm": norms, "train_loss": losses, "history": history, "score": score,
            "grad_norm_range": [min(finite), max(finite)] if finite else None}


def run(cfg: dict, settings: dict, splits: dict, network, report: Callable[[str], None] | None = None) -> dict:
    """BPTT on the preset's network: one Adam run per learning rate of ``bptt.lr``, the
    run best on validation (accuracy, then loss) kept and scored once on test."""
    s = settings["bptt"]
    net = check_supported(cfg, network.layout)
    seed = cfg["evolve"]["seed"]
    lrs = [float(v) for v in s["lr"]]
    budget = float(s["time_budget"]) / len(lrs) if s["time_budget"] else 0.0
    t0 = time.time()
    with jax.enable_x64(True):
        candidates = [_fit_one(lr, net, network.layout, np.asarray(network.initial, float), splits, settings, s,
                               seed, budget, report) for lr in lrs]
        chosen = max(candidates, key=lambda c: (c["val_accuracy"], -c["val_loss"]))
        wall = time.time() - t0
        test_acc, test_loss = _evaluate(chosen["score"], chosen["best"]["params"], splits["test"],
                                        settings["eval_batch_size"])
    keep = ("lr", "val_accuracy", "val_loss", "best_epoch", "epochs", "steps", "diverged", "divergence", "out_of_time",
            "wall_seconds", "grad_norm_range", "grad_norm", "train_loss", "history")
    layout = network.layout
    window = (f"max of the readout trace's last {net.window} samples" if net.window else "max over time")
    if isinstance(net, Circuit):
        shape = " -> ".join(f"{layout.layer_sizes[n]} {n}" for n in ("input", *net.model.layers))
        what = (f"{cfg['model']['name']} (the model file's step code in JAX, float64, dt {net.model.dt:g} ms, "
                f"Brian2's schedule): {shape}, {window}; BPTT, exact gradient between spikes, fast-sigmoid "
                f"surrogate for each crossing of {', '.join(f'{n}.{v} > {t}' for n, (v, t, _) in net.spiking.items())} "
                f"(slope {s['surrogate_slope']:g} / |theta - reset|), resets kept out of the gradient")
    else:
        readout_rest = rest_potential(net)
        what = (f"{cfg['model']['name']} (the model file's step code in JAX, float64, dt {net.model.dt:g} ms, "
                f"{net.n_sub} integration steps per input step, Brian2's schedule): "
                f"{layout.layer_sizes['input']} inputs -> {layout.layer_sizes['hidden']} hidden -> "
                f"{layout.layer_sizes['readout']} leaky readouts, {window}; BPTT, exact gradient of the continuous "
                f"dynamics, fast-sigmoid surrogate for the crossing of {net.threshold[0]} > {net.threshold[1]:g} "
                f"(slope {s['surrogate_slope']:g} / |theta - v_rest| = "
                f"{s['surrogate_slope'] / abs(net.threshold[1] - readout_rest):.3g} per mV)")
    return {
        "test_accuracy": test_acc, "test_loss": test_loss, "val_accuracy": chosen["val_accuracy"],
        "val_loss": chosen["val_loss"], "wall_seconds": wall, "n_parameters": layout.size,
        "epochs": chosen["epochs"], "best_epoch": chosen["best_epoch"], "lr": chosen["lr"], "weight_decay": 0.0,
        "clip": float(s["clip"]), "time_budget_per_lr": budget,
        "divergences": {f"{c['lr']:g}": c["diverged"] for c in candidates},
        "candidates": [{k: c[k] for k in keep} for c in candidates],
        "history": chosen["history"], "genome": snn.to_genome(layout, chosen["best"]["params"]).tolist(),
        "architecture": (
            f"{what}; Adam, lr grid {lrs} chosen on validation, clip "
            f"{'off' if not s['clip'] else format(s['clip'], 'g')}; trains the genome's segments "
            f"({', '.join(g.name for g in layout.segments)}) from the evolution strategy's initial genome"),
    }
