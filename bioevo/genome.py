"""Genome layout: named segments (synaptic weights, intrinsic neuron
parameters) <-> one flat vector per individual.

Every segment is stored in a dimensionless space so that one mutation
strength ``sigma`` means the same thing everywhere:

* weights: ``W = z * gain / sqrt(fan_in)`` with ``z ~ N(0, 1)`` at the start,
  so sigma is relative to the initial spread of the weights;
* log-transformed parameters (time constants): ``value = ref * exp(g)``;
* linear parameters (thresholds): ``value = ref * (1 + g)``;

where ``ref`` is the parameter's fixed value.  Decoded parameters are clipped
to the model's bounds.

How far a strategy moves each gene is its segment's *step scale*
(:meth:`GenomeLayout.step_scales`, the config's ``[genome.scale]``): a
multiplier of the strategy's sigma and step, by kind of segment -- ``weights``
(one gene per synapse), ``per_neuron`` (one gene per neuron) and ``shared``
(one gene for a whole layer or synapse group) -- or by name (``"hidden.tau_mem"``,
``"input_hidden"``).  A shared gene needs a small one: Adam moves every gene by
about lr per generation, and one shared time constant then moves a whole layer
as far as one weight moves one synapse.

Defaults (:data:`SCALE_DEFAULTS`), measured on the collapse of
``results/heterogeneity`` (condition c: one hidden tau_mem and tau_syn, es lr
0.03, randman-10, 60 generations, seeds 0-4; best validation accuracy, and
hidden tau_syn at generation 60 from 5 ms):

* shared 1.0: 0.33 0.23 0.11 0.28 0.12 (mean 0.21); seeds 2 and 4 collapse
  (tau_syn 1.25 / 1.43 ms, tau_mem 45 / 34 ms, every loss ln 10);
* shared 0.3: 0.41 0.37 0.20 0.39 0.21 (mean 0.31); tau_syn drifts to 3.6 ms;
* shared 0.1: 0.45 0.40 0.27 0.42 0.28 (mean 0.36); tau_syn 4.6-4.9 ms,
  better than 0.3 and 1.0 on every seed -- the default.

Weights and per-neuron genes keep 1.0: per-neuron time constants (condition
d) did not collapse, and weights-only genomes stay bit for bit as before.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .model import ModelSpec

INITS = ("homogeneous", "gamma", "uniform")
#: Default step scales by kind of segment (``[genome.scale]``; a segment's name overrides its kind).
SCALE_DEFAULTS: dict[str, float] = {"weights": 1.0, "per_neuron": 1.0, "shared": 0.1}


@dataclass(frozen=True)
class Segment:
    name: str  # 'w.<synapses>' or 'p.<layer>.<parameter>'
    shape: tuple[int, ...]
    kind: str  # 'weight' or 'parameter'
    gain: float = 1.0  # weights: gain / sqrt(fan_in)
    ref: float = 1.0  # parameters: value at g = 0
    transform: str = "linear"
    bounds: tuple[float, float] = (-math.inf, math.inf)
    init: str = "homogeneous"  # parameters: initial spread across neurons
    init_spread: float = 0.0  # gamma: 1/sqrt(k) (k=3 -> 0.577); uniform: half-width relative to ref
    fan_in: int = 0  # weights: inputs per target neuron (0: shape[0])

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def weight_scale(self) -> float:
        return self.gain / math.sqrt(self.fan_in or self.shape[0])

    def decode(self, g: np.ndarray) -> np.ndarray:
        """(P, size) genome values -> (P, *shape) natural values."""
        g = g.reshape((g.shape[0],) + self.shape)
        if self.kind == "weight":
            return g * self.weight_scale
        value = self.ref * np.exp(g) if self.transform == "log" else self.ref * (1.0 + g)
        return np.clip(value, *self.bounds)

    def encode(self, value: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`decode` (inside the bounds)."""
        value = np.asarray(value, dtype=float)
        if self.kind == "weight":
            return value / self.weight_scale
        return np.log(value / self.ref) if self.transform == "log" else value / self.ref - 1.0

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "weight":
            return rng.standard_normal(self.size)
        if self.init == "homogeneous" or self.size == 1:
            return np.zeros(self.size)
        if self.init == "gamma":
            k = 1.0 / self.init_spread**2
            values = rng.gamma(k, self.ref / k, self.size)
        else:
            values = self.ref * (1.0 + rng.uniform(-self.init_spread, self.init_spread, self.size))
        return self.encode(np.clip(values, *self.bounds))


@dataclass
class GenomeLayout:
    """Ordered segments plus the fixed (not evolved) neuron parameters, so that
    a genome alone determines every value the network needs."""

    segments: list[Segment]
    layer_sizes: dict[str, int]
    fixed: dict[str, float | list[float]] = field(default_factory=dict)  # '<layer>.<param>' -> value(s)
    synapse_counts: dict[str, int] = field(default_factory=dict)  # connections per individual, per group
    fixed_weights: dict[str, float] = field(default_factory=dict)  # 'fixed' synapse groups -> weight

    @property
    def size(self) -> int:
        return sum(s.size for s in self.segments)

    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for s in self.segments:
            out[s.name] = slice(start, start + s.size)
            start += s.size
        return out

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([s.initial(rng) for s in self.segments])

    def scale_kind(self, seg: Segment) -> str:
        """'shared' for one gene that sets a whole layer's parameter or a synapse group's weights,
        else 'weights' or 'per_neuron'."""
        if seg.kind == "weight":
            return "shared" if seg.size == 1 and self.synapse_counts.get(seg.name[2:], 1) > 1 else "weights"
        return "shared" if seg.size == 1 and self.layer_sizes[seg.name.split(".")[1]] > 1 else "per_neuron"

    def step_scales(self, table: dict[str, float] | None = None) -> np.ndarray:
        """One step scale per gene: ``table`` (``[genome.scale]``) maps a kind of segment
        (:data:`SCALE_DEFAULTS`) or a name -- ``"<layer>.<parameter>"`` or a synapse group --
        to a multiplier of the strategy's sigma and step; a name overrides its kind, a
        kind left out keeps its default, a name that is not evolved is ignored."""
        table = {**SCALE_DEFAULTS, **(table or {})}
        names = set(SCALE_DEFAULTS) | set(self.fixed) | set(self.synapse_counts) | {
            s.name.split(".", 1)[1] for s in self.segments}
        for key, value in table.items():
            if key not in names:
                raise ValueError(f"genome.scale.{key}: unknown; allowed: {', '.join(SCALE_DEFAULTS)}, a synapse "
                                 f"group ({', '.join(self.synapse_counts)}) or '<layer>.<parameter>'")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"genome.scale.{key} must be a finite number > 0, got {value!r}")
        per_segment = [table.get(s.name.split(".", 1)[1], table[self.scale_kind(s)]) for s in self.segments]
        return np.concatenate([np.full(s.size, float(v)) for s, v in zip(self.segments, per_segment)])

    def decode(self, genomes: np.ndarray) -> "NetworkParameters":
        """(P, N) genomes -> weights per synapse group and per-neuron parameters per layer."""
        genomes = np.atleast_2d(np.asarray(genomes, dtype=float))
        if genomes.shape[1] != self.size:
            raise ValueError(f"genome has {genomes.shape[1]} values, the layout needs {self.size}")
        n = genomes.shape[0]
        weights: dict[str, np.ndarray] = {}
        neurons: dict[str, dict[str, np.ndarray]] = {}
        for dotted, value in self.fixed.items():
            layer, name = dotted.split(".")
            neurons.setdefault(layer, {})[name] = np.broadcast_to(
                np.asarray(value, dtype=float), (n, self.layer_sizes[layer])).copy()
        for syn, value in self.fixed_weights.items():
            weights[syn] = np.full((n, self.synapse_counts[syn]), value)
        for seg, sl in zip(self.segments, self.slices().values()):
            decoded = seg.decode(genomes[:, sl])
            if seg.kind == "weight":
                syn = seg.name[2:]
                if seg.size == 1 and self.synapse_counts.get(syn, 1) > 1:  # one shared weight per group
                    decoded = np.repeat(decoded.reshape(n, 1), self.synapse_counts[syn], axis=1)
                weights[syn] = decoded
            else:
                _, layer, name = seg.name.split(".")
                neurons.setdefault(layer, {})[name] = np.broadcast_to(decoded, (n, self.layer_sizes[layer])).copy()
        return NetworkParameters(weights, neurons)

    def to_dict(self) -> dict:
        return {"segments": [asdict(s) for s in self.segments], "layer_sizes": self.layer_sizes, "fixed": self.fixed,
                "synapse_counts": self.synapse_counts, "fixed_weights": self.fixed_weights}

    @classmethod
    def from_dict(cls, d: dict) -> "GenomeLayout":
        segs = [Segment(**{**s, "shape": tuple(s["shape"]), "bounds": tuple(s["bounds"])}) for s in d["segments"]]
        return cls(segs, dict(d["layer_sizes"]), dict(d["fixed"]), dict(d.get("synapse_counts", {})),
                   dict(d.get("fixed_weights", {})))


@dataclass
class NetworkParameters:
    weights: dict[str, np.ndarray]  # synapses name -> (P, n_pre, n_post), or (P, connections) with a condition
    neurons: dict[str, dict[str, np.ndarray]]  # layer -> parameter -> (P, n_neurons)

    @property
    def population(self) -> int:
        return next(iter(self.weights.values())).shape[0]


def build_layout(
    model: ModelSpec,
    sizes: dict[str, int],
    weight_gain: dict[str, float],
    evolve: list[str] = (),
    per_neuron: bool = True,
    init: str = "homogeneous",
    init_spread: float = 1 / math.sqrt(3),
    overrides: dict[str, float] | None = None,
    heterogeneous: list[str] = (),
    rng: np.random.Generator | None = None,
) -> GenomeLayout:
    """Lay out the genome of ``model``: one weight segment per evolved synapse
    group, one segment per evolved parameter ('<layer>.<param>', one value per
    neuron or one shared per layer), every other parameter fixed at its value
    -- or, for those in ``heterogeneous``, fixed per neuron at values drawn
    once from ``init`` with ``rng``."""
    layer_sizes = model.layer_sizes(sizes)
    overrides = dict(overrides or {})
    if init not in INITS:
        raise ValueError(f"genome.init '{init}' is not allowed; allowed: {', '.join(INITS)}")
    for key in list(overrides) + list(evolve) + list(heterogeneous):
        model.parameter(key)  # raises a clear error for unknown names
    both = set(evolve) & set(heterogeneous)
    if both:
        raise ValueError(f"{sorted(both)[0]} is both evolved and fixed-heterogeneous; choose one")
    if heterogeneous and init == "homogeneous":
        raise ValueError("genome.heterogeneous needs genome.init 'gamma' or 'uniform' to draw the fixed values")
    unknown = set(weight_gain) - set(model.synapses)
    if unknown:
        raise ValueError(f"genome.weight_gain: unknown synapses {sorted(unknown)}; allowed: {', '.join(model.synapses)}")
    segments, counts, fixed_weights = [], {}, {}
    namespace = model.namespace(layer_sizes)  # conditions see constants and layer sizes by layer name
    for syn in model.synapses.values():
        n_pre, n_post = layer_sizes[syn.source], layer_sizes[syn.target]
        pre, _ = syn.pairs(n_pre, n_post, namespace)
        counts[syn.name] = len(pre)
        if syn.weights == "fixed":
            fixed_weights[syn.name] = syn.value
            continue
        gain = float(weight_gain.get(syn.name, syn.gain))
        if syn.weights == "shared":
            segments.append(Segment(f"w.{syn.name}", (1,), "weight", gain=gain, fan_in=1))
        elif syn.condition:
            segments.append(Segment(f"w.{syn.name}", (len(pre),), "weight", gain=gain,
                                    fan_in=max(1, round(len(pre) / n_post))))
        else:
            segments.append(Segment(f"w.{syn.name}", (n_pre, n_post), "weight", gain=gain))
    fixed = {}
    for layer in model.layers.values():
        for p in layer.parameters.values():
            dotted = f"{layer.name}.{p.name}"
            value = float(overrides.get(dotted, p.value))
            if p.time_constant and not value > 0:
                raise ValueError(f"model.params.{dotted} is a time constant ({p.unit}) and must be > 0, got {value}")
            if not p.bounds[0] <= value <= p.bounds[1]:
                raise ValueError(f"model parameter '{dotted}' = {value} is outside its bounds {list(p.bounds)}")
            if p.transform == "log" and value <= 0:
                raise ValueError(f"model parameter '{dotted}' must be positive, got {value}")
            n = layer_sizes[layer.name] if per_neuron or dotted in heterogeneous else 1
            segment = Segment(f"p.{dotted}", (n,), "parameter", ref=value, transform=p.transform,
                              bounds=p.bounds, init=init, init_spread=init_spread)
            if dotted in evolve:
                segments.append(segment)
            elif dotted in heterogeneous:
                if rng is None:
                    raise ValueError("fixed heterogeneous parameters need an rng to draw them")
                fixed[dotted] = [float(x) for x in segment.decode(segment.initial(rng)[None])[0]]
            else:
                fixed[dotted] = value
    return GenomeLayout(segments, layer_sizes, fixed, counts, fixed_weights)
