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
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .model import ModelSpec

INITS = ("homogeneous", "gamma", "uniform")


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

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def decode(self, g: np.ndarray) -> np.ndarray:
        """(P, size) genome values -> (P, *shape) natural values."""
        g = g.reshape((g.shape[0],) + self.shape)
        if self.kind == "weight":
            return g * (self.gain / math.sqrt(self.shape[0]))
        value = self.ref * np.exp(g) if self.transform == "log" else self.ref * (1.0 + g)
        return np.clip(value, *self.bounds)

    def encode(self, value: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`decode` (inside the bounds)."""
        value = np.asarray(value, dtype=float)
        if self.kind == "weight":
            return value / (self.gain / math.sqrt(self.shape[0]))
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
    fixed: dict[str, float] = field(default_factory=dict)  # '<layer>.<param>' -> value

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
            neurons.setdefault(layer, {})[name] = np.full((n, self.layer_sizes[layer]), value)
        for seg, sl in zip(self.segments, self.slices().values()):
            decoded = seg.decode(genomes[:, sl])
            if seg.kind == "weight":
                weights[seg.name[2:]] = decoded
            else:
                _, layer, name = seg.name.split(".")
                neurons.setdefault(layer, {})[name] = np.broadcast_to(decoded, (n, self.layer_sizes[layer])).copy()
        return NetworkParameters(weights, neurons)

    def to_dict(self) -> dict:
        return {"segments": [asdict(s) for s in self.segments], "layer_sizes": self.layer_sizes, "fixed": self.fixed}

    @classmethod
    def from_dict(cls, d: dict) -> "GenomeLayout":
        segs = [Segment(**{**s, "shape": tuple(s["shape"]), "bounds": tuple(s["bounds"])}) for s in d["segments"]]
        return cls(segs, dict(d["layer_sizes"]), dict(d["fixed"]))


@dataclass
class NetworkParameters:
    weights: dict[str, np.ndarray]  # synapses name -> (P, n_pre, n_post)
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
) -> GenomeLayout:
    """Lay out the genome of ``model``: one weight segment per synapse group,
    one segment per evolved parameter ('<layer>.<param>', one value per neuron
    or one shared per layer), every other parameter fixed at its value."""
    layer_sizes = model.layer_sizes(sizes)
    overrides = dict(overrides or {})
    if init not in INITS:
        raise ValueError(f"genome.init '{init}' is not allowed; allowed: {', '.join(INITS)}")
    for key in list(overrides) + list(evolve):
        model.parameter(key)  # raises a clear error for unknown names
    unknown = set(weight_gain) - set(model.synapses)
    if unknown:
        raise ValueError(f"genome.weight_gain: unknown synapses {sorted(unknown)}; allowed: {', '.join(model.synapses)}")
    segments = []
    for syn in model.synapses.values():
        shape = (layer_sizes[syn.source], layer_sizes[syn.target])
        segments.append(Segment(f"w.{syn.name}", shape, "weight", gain=float(weight_gain.get(syn.name, 1.0))))
    fixed = {}
    for layer in model.layers.values():
        for p in layer.parameters.values():
            dotted = f"{layer.name}.{p.name}"
            value = float(overrides.get(dotted, p.value))
            if not p.bounds[0] <= value <= p.bounds[1]:
                raise ValueError(f"model parameter '{dotted}' = {value} is outside its bounds {list(p.bounds)}")
            if p.transform == "log" and value <= 0:
                raise ValueError(f"model parameter '{dotted}' must be positive, got {value}")
            if dotted in evolve:
                n = layer_sizes[layer.name] if per_neuron else 1
                segments.append(Segment(f"p.{dotted}", (n,), "parameter", ref=value, transform=p.transform,
                                        bounds=p.bounds, init=init, init_spread=init_spread))
            else:
                fixed[dotted] = value
    return GenomeLayout(segments, layer_sizes, fixed)
