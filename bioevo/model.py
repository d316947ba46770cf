"""Neuron-network models as data: a TOML file of Brian2 equation strings,
default parameters, bounds and transforms.  Adding a model is a new file in
``models/``; this module only reads and checks it."""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import resources

TRANSFORMS = ("linear", "log")
#: numpy names a ``derived`` expression may use, besides ``dt`` and the layer's parameters
_DERIVED_NAMESPACE = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "pi": math.pi, "abs": np.abs}


@dataclass(frozen=True)
class ParameterSpec:
    """One neuron parameter: default value, unit (informative), bounds and the
    space it is evolved in (time constants in log space)."""

    name: str
    value: float
    unit: str = "1"
    bounds: tuple[float, float] = (-math.inf, math.inf)
    transform: str = "linear"


@dataclass(frozen=True)
class LayerSpec:
    name: str
    size: str | int  # an int, or an expression of the task's sizes and the model's constants ('classes * pool')
    equations: str
    step: str = ""
    method: str = "euler"
    threshold: str | None = None
    reset: str | None = None
    refractory: str | float | None = None
    sample_reset: str = ""
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)

    @property
    def spiking(self) -> bool:
        return self.threshold is not None

    def brian_parameters(self, values: dict[str, np.ndarray], dt: float) -> dict[str, np.ndarray]:
        """Values of the Brian2 variables fed from parameters: the parameters
        themselves when the equations declare them, plus the derived ones."""
        declared = _declared_names(self.equations)
        out = {k: v for k, v in values.items() if k in declared}
        namespace = {"__builtins__": {}, **_DERIVED_NAMESPACE, "dt": dt, **values}
        for name, expression in self.derived.items():
            out[name] = np.asarray(eval(expression, namespace), dtype=float)  # noqa: S307 - model file is the user's own
        return out


WEIGHT_KINDS = ("matrix", "shared", "fixed")


@dataclass(frozen=True)
class SynapseSpec:
    """Connections inside one individual.  ``condition`` (numpy, of the
    within-individual indices ``i``, ``j``, the sizes and the model's
    constants) selects pairs, default all.  ``weights``: 'matrix' evolves one
    weight per connection, 'shared' one per synapse group, 'fixed' none
    (``value`` for every connection)."""

    name: str
    source: str  # 'input' or a layer name
    target: str
    on_pre: str
    model: str = "w : 1"
    condition: str = ""
    weights: str = "matrix"
    value: float = 0.0
    delay: float = 0.0  # ms

    def pairs(self, n_pre: int, n_post: int, namespace: dict) -> tuple[np.ndarray, np.ndarray]:
        """(pre, post) indices of the connections inside one individual, pre-major order."""
        i, j = (a.ravel() for a in np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij"))
        if not self.condition:
            return i, j
        keep = np.broadcast_to(_evaluate(self.condition, {**namespace, "i": i, "j": j}, f"synapses.{self.name}.condition"),
                               i.shape)
        return i[keep], j[keep]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    dt: float  # ms, the integration step
    layers: dict[str, LayerSpec]
    synapses: dict[str, SynapseSpec]
    readout_layer: str
    readout_variable: str
    source: str = ""
    input_dt: float = 0.0  # ms, the input raster's step and the readout's recording step (0: dt)
    constants: dict[str, float] = field(default_factory=dict)

    @property
    def step_ms(self) -> float:
        """Duration of one input time step."""
        return self.input_dt or self.dt

    def namespace(self, sizes: dict[str, int]) -> dict:
        return {**self.constants, **sizes}

    def layer_sizes(self, sizes: dict[str, int]) -> dict[str, int]:
        """Resolve layer sizes (ints or expressions such as 'hidden', 'classes * pool')."""
        out = {"input": int(sizes["inputs"])}
        for layer in self.layers.values():
            if isinstance(layer.size, int):
                out[layer.name] = layer.size
                continue
            try:
                out[layer.name] = int(_evaluate(layer.size, self.namespace(sizes), f"layers.{layer.name}.size"))
            except ValueError:
                raise ValueError(
                    f"model '{self.name}': layer '{layer.name}' has size '{layer.size}', which needs names the task "
                    f"does not give; known: {', '.join(sorted(self.namespace(sizes)))}") from None
        return out

    def parameter_names(self) -> list[str]:
        """All '<layer>.<parameter>' names, for config validation and messages."""
        return [f"{layer.name}.{p}" for layer in self.layers.values() for p in layer.parameters]

    def parameter(self, dotted: str) -> ParameterSpec:
        layer, _, name = dotted.partition(".")
        try:
            return self.layers[layer].parameters[name]
        except KeyError:
            raise ValueError(
                f"model '{self.name}' has no parameter '{dotted}'; allowed: {', '.join(self.parameter_names())}"
            ) from None


def _evaluate(expression: str, namespace: dict, where: str):
    try:
        return eval(expression, {"__builtins__": {}, **_DERIVED_NAMESPACE, **namespace})  # noqa: S307 - user's own file
    except Exception as err:  # a bad expression in a model file is a user error
        raise ValueError(f"{where}: cannot evaluate '{expression}': {err}") from None


def _declared_names(equations: str) -> set[str]:
    names = set()
    for line in equations.splitlines():
        line = line.split("#")[0].strip()
        if ":" in line:
            lhs = line.split(":")[0].strip()
            if lhs.startswith("d") and "/dt" in lhs:
                lhs = lhs[1:].split("/")[0]
            names.add(lhs.split("=")[0].strip())
    return names


def _require(table: dict, key: str, where: str) -> Any:
    if key not in table:
        raise ValueError(f"{where}: missing required key '{key}'")
    return table[key]


def _parameter(name: str, raw: Any, where: str) -> ParameterSpec:
    if isinstance(raw, (int, float)):
        raw = {"value": raw}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}.{name}: expected a number or a table with 'value', got {raw!r}")
    unknown = set(raw) - {"value", "unit", "bounds", "transform"}
    if unknown:
        raise ValueError(f"{where}.{name}: unknown key(s) {sorted(unknown)}; allowed: value, unit, bounds, transform")
    value = float(_require(raw, "value", f"{where}.{name}"))
    lo, hi = (float(b) for b in raw.get("bounds", (-math.inf, math.inf)))
    transform = raw.get("transform", "linear")
    if transform not in TRANSFORMS:
        raise ValueError(f"{where}.{name}.transform: '{transform}' is not one of {TRANSFORMS}")
    if transform == "log" and lo <= 0:
        raise ValueError(f"{where}.{name}: a log-transformed parameter needs a positive lower bound, got {lo}")
    if not lo <= value <= hi:
        raise ValueError(f"{where}.{name}: value {value} is outside its bounds [{lo}, {hi}]")
    return ParameterSpec(name, value, str(raw.get("unit", "1")), (lo, hi), transform)


def parse_model(data: dict, source: str = "") -> ModelSpec:
    """Build a :class:`ModelSpec` from the parsed TOML, checking what Brian2 would
    otherwise only report deep inside code generation."""
    where = f"model {source or data.get('name', '?')}"
    layers = {}
    for lname, raw in _require(data, "layers", where).items():
        lwhere = f"{where}: layers.{lname}"
        params = {p: _parameter(p, v, f"{lwhere}.parameters") for p, v in raw.get("parameters", {}).items()}
        layers[lname] = LayerSpec(
            name=lname,
            size=_require(raw, "size", lwhere),
            equations=_require(raw, "equations", lwhere),
            step=raw.get("step", ""),
            method=raw.get("method", "euler"),
            threshold=raw.get("threshold"),
            reset=raw.get("reset"),
            refractory=raw.get("refractory"),
            sample_reset=raw.get("sample_reset", ""),
            parameters=params,
            derived=dict(raw.get("derived", {})),
        )
    synapses = {}
    for sname, raw in data.get("synapses", {}).items():
        swhere = f"{where}: synapses.{sname}"
        spec = SynapseSpec(
            sname, _require(raw, "source", swhere), _require(raw, "target", swhere),
            _require(raw, "on_pre", swhere), raw.get("model", "w : 1"), raw.get("condition", ""),
            raw.get("weights", "matrix"), float(raw.get("value", 0.0)), float(raw.get("delay", 0.0)),
        )
        if spec.weights not in WEIGHT_KINDS:
            raise ValueError(f"{swhere}.weights: '{spec.weights}' is not one of {WEIGHT_KINDS}")
        for end in (spec.source, spec.target):
            if end != "input" and end not in layers:
                raise ValueError(f"{swhere}: unknown layer '{end}'; layers: input, {', '.join(layers)}")
        synapses[sname] = spec
    readout = _require(data, "readout", where)
    readout_layer = _require(readout, "layer", f"{where}: readout")
    if readout_layer not in layers:
        raise ValueError(f"{where}: readout.layer '{readout_layer}' is not a layer; layers: {', '.join(layers)}")
    return ModelSpec(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        dt=float(data.get("dt", 1.0)),
        layers=layers,
        synapses=synapses,
        readout_layer=readout_layer,
        readout_variable=readout.get("variable", "v"),
        source=source,
        input_dt=float(data.get("input_dt", 0.0)),
        constants={k: float(v) for k, v in data.get("constants", {}).items()},
    )


def load_model(name_or_path: str | Path) -> ModelSpec:
    """Load a shipped model by name ('lif') or the user's own TOML file."""
    path = resources.resolve("models", name_or_path)
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"model file '{path}' is not valid TOML: {err}") from None
    return parse_model(data, str(path))
