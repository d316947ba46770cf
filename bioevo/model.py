"""Neuron-network models as data: a TOML file of Brian2 equation strings,
default parameters, bounds and transforms.  Adding a model is a new file in
``models/``; this module only reads and checks it."""
from __future__ import annotations

import ast
import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import resources

TRANSFORMS = ("linear", "log")
#: numpy names a ``derived`` expression may use, besides ``dt`` and the layer's parameters
_DERIVED_NAMESPACE = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "pi": math.pi, "abs": np.abs}


#: units of a time constant (``ParameterSpec.time_constant``)
TIME_UNITS = ("ms", "s")


@dataclass(frozen=True)
class ParameterSpec:
    """One neuron parameter: default value, unit (informative), bounds and the
    space it is evolved in (time constants in log space)."""

    name: str
    value: float
    unit: str = "1"
    bounds: tuple[float, float] = (-math.inf, math.inf)
    transform: str = "linear"

    @property
    def time_constant(self) -> bool:
        """A parameter in a unit of time is a time constant: it must be > 0, and heterogeneity
        studies scale it (the unit is declared in the model file)."""
        return self.unit in TIME_UNITS


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
    # a variable that must be finite at the end of every sample ("" = the layer's ODE variable v, or its
    # first ODE variable; layers without ODEs are checked only if they name one: a stiff step of their own)
    state_check: str = ""

    @property
    def spiking(self) -> bool:
        return self.threshold is not None

    def brian_parameters(self, values: dict[str, np.ndarray], dt: float) -> dict[str, np.ndarray]:
        """Values of the Brian2 variables fed from parameters: the parameters
        themselves when the equations declare them, plus the derived ones."""
        declared = declared_names(self.equations)
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
    gain: float = 1.0  # default weight gain (weights = z * gain / sqrt(fan_in)); genome.weight_gain overrides

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
    figures: tuple[str, ...] = ()  # extra figures of a finished run (bioevo.report.run_figures.MODEL_FIGURES)

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


@lru_cache(maxsize=256)
def declared_names(equations: str) -> frozenset[str]:
    """The variables Brian2 reads from ``equations`` (parsed by ``brian2.Equations``)."""
    import brian2

    return frozenset(brian2.Equations(equations).names)


def _unit_namespace() -> dict:
    import brian2
    from brian2.units import allunits

    return {k: v for module in (allunits, brian2.units) for k, v in vars(module).items()
            if isinstance(v, brian2.Unit)}


def _line_of(text: str, *needles: str) -> int | None:
    """1-based line of the first line holding ``needles[-1]`` after the lines holding the earlier needles."""
    lines, start = text.splitlines(), 0
    for needle in needles:
        for n in range(start, len(lines)):
            if needle in lines[n]:
                start = n
                break
        else:
            return None
    return start + 1


class ModelFileError(ValueError):
    """A model file Brian2 (or bioevo) cannot use; the message names the file and the line."""


def _where(source: str, text: str, *needles: str) -> str:
    line = _line_of(text, *needles) if text else None
    return f"model file '{source}'" + (f" line {line}" if line else "")


def _names_in(expression: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(expression, mode="eval")) if isinstance(node, ast.Name)}


def check_layers(model: "ModelSpec", text: str = "") -> None:
    """What bioevo can check without building a network: every layer's equations
    parse in Brian2, parameter units are Brian2 units, derived values are valid
    expressions of known names and feed declared variables, and every declared
    parameter is used by an equation or a derived value."""
    import brian2

    units = _unit_namespace()
    src = model.source or model.name
    for layer in model.layers.values():
        head = f"[layers.{layer.name}"
        try:
            names = declared_names(layer.equations)
        except (brian2.equations.equations.EquationError, SyntaxError, ValueError, TypeError) as err:
            first = " ".join(ln.strip() for ln in str(err).strip().splitlines()[:3])[:300]
            raise ModelFileError(f"{_where(src, text, head, 'equations')}: layers.{layer.name}.equations: "
                                 f"{first}") from None
        for p in layer.parameters.values():
            try:
                eval(p.unit, {"__builtins__": {}}, units)  # noqa: S307 - a unit expression of the user's own file
            except Exception:  # noqa: BLE001 - any failure means "not a unit"
                raise ModelFileError(f"{_where(src, text, head, p.name)}: layers.{layer.name}.parameters.{p.name}: "
                                     f"unit '{p.unit}' is not a Brian2 unit (e.g. ms, mV, uA/cm2, 1)") from None
        known = set(layer.parameters) | {"dt"} | set(_DERIVED_NAMESPACE)
        used = set(names)
        for name, expression in layer.derived.items():
            where = f"{_where(src, text, head, name + ' =')}: layers.{layer.name}.derived.{name}"
            try:
                refs = _names_in(expression)
            except SyntaxError:
                raise ModelFileError(f"{where}: '{expression}' is not a valid expression") from None
            unknown = sorted(refs - known)
            if unknown:
                raise ModelFileError(f"{where}: '{unknown[0]}' is not a parameter of layer '{layer.name}', dt or "
                                     f"a function ({', '.join(sorted(_DERIVED_NAMESPACE))})")
            if name not in names:
                raise ModelFileError(f"{where}: '{name}' is not a variable of the layer's equations; declare it "
                                     f"there (e.g. '{name} : 1 (constant)')")
            used |= refs
        unused = [p for p in layer.parameters if p not in used]
        if unused:
            raise ModelFileError(f"{_where(src, text, head, unused[0])}: layers.{layer.name}.parameters.{unused[0]} "
                                 "is not used by any equation or derived value (evolving it would do nothing); "
                                 "use it or remove it")


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


_TOP_KEYS = {"name", "description", "dt", "input_dt", "constants", "layers", "synapses", "readout", "figures"}
_LAYER_KEYS = {"size", "equations", "step", "method", "threshold", "reset", "refractory", "sample_reset",
               "parameters", "derived", "state_check"}
_SYNAPSE_KEYS = {"source", "target", "on_pre", "model", "condition", "weights", "value", "delay", "gain"}


def _known_keys(table: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table, got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key '{unknown[0]}'; allowed: {', '.join(sorted(allowed))}")
    return table


def _number(raw: Any, where: str, low: float = -math.inf, low_open: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ValueError(f"{where} must be a finite number, got {raw!r}")
    if raw < low or (low_open and raw == low):
        raise ValueError(f"{where} must be {'>' if low_open else '>='} {low:g}, got {raw!r}")
    return float(raw)


#: figures a model file may ask for, drawn into every run directory (see bioevo.report.run_figures)
MODEL_FIGURES = ("pool_rates",)


def _figures(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or any(f not in MODEL_FIGURES for f in raw):
        raise ValueError(f"{where}: figures must be a list of {', '.join(MODEL_FIGURES)}, got {raw!r}")
    return tuple(raw)


def _state_check(raw: dict, where: str) -> str:
    name = raw.get("state_check", "")
    if not name:
        return ""
    declared = declared_names(str(raw.get("equations", "")))  # parse errors are reported with the equations
    if not isinstance(name, str) or name not in declared:
        raise ValueError(f"{where}: state_check {name!r} is not a variable of the layer's equations; "
                         f"allowed: {', '.join(sorted(declared))}")
    return name


def parse_model(data: dict, source: str = "") -> ModelSpec:
    """Build a :class:`ModelSpec` from the parsed TOML, checking what Brian2 would
    otherwise only report deep inside code generation."""
    where = f"model {source or data.get('name', '?')}"
    _known_keys(data, _TOP_KEYS, where)
    dt = _number(data.get("dt", 1.0), f"{where}: dt (ms)", 0.0, low_open=True)
    input_dt = _number(data.get("input_dt", 0.0), f"{where}: input_dt (ms)", 0.0)
    if input_dt and abs(input_dt / dt - round(input_dt / dt)) > 1e-9:
        raise ValueError(f"{where}: input_dt {input_dt} ms must be a whole number of integration steps dt {dt} ms")
    constants = {k: _number(v, f"{where}: constants.{k}") for k, v in data.get("constants", {}).items()}
    layers = {}
    for lname, raw in _require(data, "layers", where).items():
        lwhere = f"{where}: layers.{lname}"
        _known_keys(raw, _LAYER_KEYS, lwhere)
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
            state_check=_state_check(raw, lwhere),
        )
    synapses = {}
    for sname, raw in data.get("synapses", {}).items():
        swhere = f"{where}: synapses.{sname}"
        _known_keys(raw, _SYNAPSE_KEYS, swhere)
        spec = SynapseSpec(
            sname, _require(raw, "source", swhere), _require(raw, "target", swhere),
            _require(raw, "on_pre", swhere), raw.get("model", "w : 1"), raw.get("condition", ""),
            raw.get("weights", "matrix"), _number(raw.get("value", 0.0), f"{swhere}.value"),
            _number(raw.get("delay", 0.0), f"{swhere}.delay (ms)", 0.0), _number(raw.get("gain", 1.0), f"{swhere}.gain"),
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
        dt=dt,
        layers=layers,
        synapses=synapses,
        readout_layer=readout_layer,
        readout_variable=readout.get("variable", "v"),
        source=source,
        input_dt=input_dt,
        constants=constants,
        figures=_figures(data.get("figures", []), where),
    )


def load_model(name_or_path: str | Path, key: str = "model") -> ModelSpec:
    """Load a shipped model by name ('lif') or the user's own TOML file; ``key`` is what an error
    calls the name (e.g. "model.name" for a config's key)."""
    path = resources.resolve("models", name_or_path, key)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ModelFileError(f"model file '{path}' is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ModelFileError(f"model file '{path}' is not valid TOML: {err}") from None
    except OSError as err:
        raise ModelFileError(f"cannot read model file '{path}': {err.strerror}") from None
    model = parse_model(data, str(path))
    check_layers(model, text)
    return model
