"""A surrogate-gradient twin of the evolved ``lif`` / ``lif_recurrent`` network.

Same layers, same per-step order as :func:`bioevo.sim.reference.simulate_lif`
(and so as the Brian2 network), same readout, and the same trainable values:
the genome's segments in their dimensionless space (weights ``z`` with
``W = z * gain / sqrt(fan_in)``, log or linear neuron parameters), decoded here
in JAX so that gradients reach them.  Only the spike's derivative is replaced,
by the fast-sigmoid surrogate (SuperSpike, Zenke & Ganguli 2018); the reset
is kept out of the gradient, as usual for SG training."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..config import ConfigError, final_temperature
from ..genome import GenomeLayout
from ..readout_stats import TRACKED_STATS

#: models whose dynamics this module implements
MODELS = ("lif", "lif_recurrent")
#: readouts of the non-spiking readout layer it can score: the tracked statistics of its readout variable
READOUTS = TRACKED_STATS


def check_supported(cfg: dict, layout: GenomeLayout) -> None:
    """Refuse a preset whose network this module would not reproduce exactly."""
    name = cfg["model"]["name"]
    if name not in MODELS:
        raise ConfigError(f"method snn reproduces model.name {', '.join(MODELS)} only, got '{name}'")
    readout = cfg["fitness"]["readout"]
    if readout not in READOUTS:
        raise ConfigError(f"method snn scores fitness.readout {', '.join(READOUTS)}, got '{readout}'")
    if final_temperature(cfg["fitness"]) != 1.0:  # the loss an ES run ends on
        raise ConfigError("method snn trains the plain cross-entropy; fitness.temperature must be 1 (or apply only "
                          f"to the first fitness.temperature_generations), got {cfg['fitness']['temperature']}")
    for seg in layout.segments:
        if seg.kind != "weight":
            continue
        if seg.shape != (layout.layer_sizes[source_layer(seg)], layout.layer_sizes[target_layer(seg)]):
            raise ConfigError(f"method snn needs dense weight matrices, segment {seg.name} has shape {seg.shape}")


def source_layer(seg) -> str:
    """Presynaptic layer of a weight segment (``w.input_hidden`` -> ``input``)."""
    return seg.name[2:].split("_")[0]


def target_layer(seg) -> str:
    """Postsynaptic layer of a weight segment (``w.input_hidden`` -> ``hidden``)."""
    return seg.name[2:].split("_")[1]


def initial_params(layout: GenomeLayout, genome: np.ndarray) -> dict[str, jnp.ndarray]:
    """The trainable values: one array per genome segment, in genome space."""
    out = {}
    for seg, sl in zip(layout.segments, layout.slices().values()):
        out[seg.name] = jnp.asarray(np.asarray(genome[sl]).reshape(seg.shape))
    return out


def to_genome(layout: GenomeLayout, params: dict[str, jnp.ndarray]) -> np.ndarray:
    """The flat genome of ``params`` (inverse of :func:`initial_params`)."""
    return np.concatenate([np.asarray(params[seg.name], dtype=float).ravel() for seg in layout.segments])


def decode(layout: GenomeLayout, params: dict[str, jnp.ndarray]) -> tuple[dict, dict]:
    """Genome-space params -> (weights by synapse group, parameters by layer), as
    :meth:`bioevo.genome.GenomeLayout.decode` does in numpy, differentiably."""
    weights, neurons = {}, {}
    for dotted, value in layout.fixed.items():
        layer, name = dotted.split(".")
        neurons.setdefault(layer, {})[name] = jnp.broadcast_to(jnp.asarray(value), (layout.layer_sizes[layer],))
    for seg in layout.segments:
        g = params[seg.name]
        if seg.kind == "weight":
            weights[seg.name[2:]] = g * seg.weight_scale
            continue
        value = seg.ref * jnp.exp(g) if seg.transform == "log" else seg.ref * (1.0 + g)
        _, layer, name = seg.name.split(".")
        neurons.setdefault(layer, {})[name] = jnp.broadcast_to(jnp.clip(value, *seg.bounds),
                                                               (layout.layer_sizes[layer],))
    return weights, neurons


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def spike(x: jnp.ndarray, slope: float) -> jnp.ndarray:
    """Heaviside step (x > 0) forward; derivative 1 / (slope |x| + 1)^2 backward."""
    return (x > 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike(x, slope), dx / (slope * jnp.abs(x) + 1.0) ** 2


def simulate(layout: GenomeLayout, params: dict, x: jnp.ndarray, slope: float = 10.0,
             dt: float = 1.0) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Run a batch ``x`` (B, T, M) of input counts.  Returns the readout membrane
    trace (B, T, O) and the hidden spikes (B, T, H).

    Per step, as in the reference: v with the previous step's current (and
    I_app), current decay, readout likewise, threshold, synaptic input
    (input counts, this step's hidden spikes to readout and, if recurrent, to
    the hidden layer), reset."""
    weights, neurons = decode(layout, params)
    hid, out = neurons["hidden"], neurons["readout"]
    w_in, w_out, w_rec = weights["input_hidden"], weights["hidden_readout"], weights.get("hidden_hidden")
    dtype = x.dtype
    beta_h, alpha_h = jnp.exp(-dt / hid["tau_mem"]).astype(dtype), jnp.exp(-dt / hid["tau_syn"]).astype(dtype)
    beta_o, alpha_o = jnp.exp(-dt / out["tau_mem"]).astype(dtype), jnp.exp(-dt / out["tau_syn"]).astype(dtype)
    th = hid["v_th"].astype(dtype)
    drive = (1 - beta_h) * hid.get("I_app", jnp.zeros_like(th)).astype(dtype)
    B, H, O = x.shape[0], w_in.shape[1], w_out.shape[1]
    feed = jnp.einsum("btm,mh->tbh", x, w_in.astype(dtype))  # the input's synaptic kicks, one per step

    def step(carry, kick):
        v, i_h, vo, i_o = carry
        v = beta_h * v + (1 - beta_h) * i_h + drive
        i_h = alpha_h * i_h
        vo = beta_o * vo + (1 - beta_o) * i_o
        i_o = alpha_o * i_o
        s = spike(v - th, slope)
        i_h = i_h + kick
        i_o = i_o + s @ w_out.astype(dtype)
        if w_rec is not None:
            i_h = i_h + s @ w_rec.astype(dtype)
        v = v * (1 - jax.lax.stop_gradient(s))
        return (v, i_h, vo, i_o), (vo, s)

    zeros_h, zeros_o = jnp.zeros((B, H), dtype), jnp.zeros((B, O), dtype)
    _, (trace, spikes) = jax.lax.scan(step, (zeros_h, zeros_h, zeros_o, zeros_o), feed)
    return jnp.swapaxes(trace, 0, 1), jnp.swapaxes(spikes, 0, 1)


def scores(trace: jnp.ndarray, readout: str) -> jnp.ndarray:
    """(B, T, O) readout trace -> (B, O) class scores, as bioevo.fitness reads them."""
    return TRACKED_STATS[readout].of_trace(trace)
