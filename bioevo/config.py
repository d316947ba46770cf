"""Experiment configuration: presets (TOML) merged over defaults, ``--set``
overrides, and validation that names the bad key or value and what is allowed."""
from __future__ import annotations

import copy
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from . import resources
from .data.errors import DataError
from .data.kinds import DATA_KINDS, RANDMAN_DEFAULTS
from .fitness import LOSSES, READOUTS
from .genome import SCALE_DEFAULTS
from .strategies import REGISTRY, strategy_defaults


class ConfigError(ValueError):
    """A configuration the user can fix; the CLI prints it as one line, exit 2."""


#: Every key a preset may hold, with its default.  A default of ``None`` means
#: "optional, filled in later" (its type is given in _OPTIONAL_TYPES).  The [data]
#: table depends on data.kind: each kind's keys come from bioevo.data.DATA_KINDS
#: (Randman's are shown here).
DEFAULTS: dict[str, dict[str, Any]] = {
    "run": {"name": "run", "description": ""},
    "data": {"kind": "randman", **RANDMAN_DEFAULTS},
    "model": {"name": "lif", "hidden": 64, "params": {}},
    "genome": {
        "weight_gain": {}, "evolve": [], "heterogeneous": [],  # weight_gain: per synapse group, over the model file's gain
        "per_neuron": True,
        "init": "homogeneous", "init_spread": 0.5773502691896258,
        # step scales of the strategy by kind of segment, or by name ("hidden.tau_mem", a synapse group)
        "scale": dict(SCALE_DEFAULTS),
    },
    # last_steps: score the readout on the last N steps of every sample only (0: all its steps)
    # temperature: the cross-entropy losses divide the readout scores by it before the softmax (1: as they are),
    # for the first temperature_generations generations, then 1 (0: the temperature throughout)
    "fitness": {"loss": "max_cross_entropy", "readout": "max", "margin": 0.0, "l2": 0.0, "smoothness": 0.0,
                "last_steps": 0, "temperature": 1.0, "temperature_generations": 0},
    "strategy": {"name": "es"},  # plus one table per strategy with its hyperparameters, see defaults()
    "evolve": {
        "generations": 1000, "batch_size": 256, "eval_every": 0, "patience": 0, "target_val_accuracy": 1.0,
        "seed": 0, "backend": "cpp", "progress": True,
        # the batch's samples one after another in the network (fastest on CPUs) or side by side (for GPUs)
        "samples": "sequential",
        # the network's floating-point type: float32 halves its memory traffic (results/perf/README.md);
        # float32-weights stores only the synaptic weights as float32 (the arithmetic stays float64)
        "precision": "float64",
        # which validation figure of the strategy's mean picks the kept genome and resets the patience:
        # the highest accuracy, or the lowest loss (finer than accuracy on a small validation split)
        "keep_by": "accuracy",
        # validate (and keep) an exponential moving average of the strategy's mean instead of the mean itself:
        # the weight of a generation's mean decays by this factor per generation (0: off, the mean itself)
        "average_decay": 0.0,
    },
}
_OPTIONAL_TYPES = {f"data.{k}": t for kind in DATA_KINDS.values() for k, t in kind.optional_types.items()}
_FREE_TABLES = {"model.params", "genome.weight_gain", "genome.scale"}  # keys checked against the model, not here
_CHOICES = {"data.kind": tuple(DATA_KINDS), "evolve.backend": ("cpp", "runtime", "cuda"),
            "evolve.samples": ("sequential", "parallel"), "evolve.precision": ("float64", "float32", "float32-weights"),
            "evolve.keep_by": ("accuracy", "loss"),
            "strategy.name": tuple(REGISTRY),
            "fitness.readout": READOUTS, "fitness.loss": tuple(LOSSES)}
_POSITIVE = {"data.n_steps", "data.n_units", "data.nb_spikes", "model.hidden", "evolve.generations", "genome.init_spread",
             "evolve.batch_size", "fitness.temperature"}
_NON_NEGATIVE = {"evolve.eval_every", "evolve.patience", "evolve.seed", "fitness.margin", "fitness.last_steps",
                 "fitness.l2", "fitness.smoothness", "data.seed", "fitness.temperature_generations"}


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "table"}.get(
        type(value), type(value).__name__)


def _check_type(key: str, value: Any, default: Any) -> Any:
    expected = _OPTIONAL_TYPES.get(key) if default is None else type(default)
    if default is None and value is None:  # optional and left unset
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, float) and not math.isfinite(value):
        # NaN never; infinity only where the default is infinite (an open bound)
        if math.isnan(value) or not (isinstance(default, float) and math.isinf(default)):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if expected is not None and (type(value) is not expected):
        name = _type_name(expected())
        raise ConfigError(f"{key} must be {'an' if name[0] in 'aeiou' else 'a'} {name}, got {value!r}")
    if isinstance(default, list) and default and value and type(value[0]) is not type(default[0]):
        raise ConfigError(f"{key} must be a list of {_type_name(default[0])}s, got {value!r}")
    return value


def defaults(kind: str = "randman") -> dict[str, dict[str, Any]]:
    """DEFAULTS with the [data] table of data kind ``kind`` and a [strategy.<name>]
    table of hyperparameters for every strategy."""
    out = copy.deepcopy(DEFAULTS)
    out["data"] = {"kind": kind, **copy.deepcopy(DATA_KINDS[kind].defaults)}
    for name in REGISTRY:
        out["strategy"][name] = strategy_defaults(name)
    return out


def with_defaults(cfg: dict, base: dict | None = None) -> dict:
    """``cfg`` with the keys it lacks filled in from the defaults: configs saved
    by older versions (e.g. in a run's best_genome.h5) stay usable."""
    base = defaults(_kind_of(cfg.get("data", {}))) if base is None else base
    out = copy.deepcopy(cfg)
    for key, value in base.items():
        if key not in out:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = with_defaults(out[key], value)
    return out


def merge(base: dict, update: dict, prefix: str = "") -> dict:
    """Deep-merge ``update`` into a copy of ``base``, refusing unknown keys and wrong types."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            allowed = ", ".join(base) if base else "(none)"
            where = f"[{prefix[:-1]}]" if prefix else "the top level"
            raise ConfigError(f"unknown key '{dotted}'; allowed in {where}: {allowed}")
        if dotted in _FREE_TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted} must be a table, got {value!r}")
            out[key] = {**base[key], **value}
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted} must be a table, got {value!r}")
            out[key] = merge(base[key], value, dotted + ".")
        else:
            out[key] = _check_type(dotted, value, base[key])
    return out


def parse_override(text: str) -> dict:
    """'evolve.generations=10' -> {'evolve': {'generations': 10}}; the value is read as
    TOML (numbers, booleans, lists, quoted strings), else taken as a plain string."""
    if "=" not in text:
        raise ConfigError(f"--set expects KEY=VALUE, got '{text}'")
    key, raw = (part.strip() for part in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    parts = key.split(".")
    if ".".join(parts[:2]) in _FREE_TABLES and len(parts) > 2:  # model.params.hidden.tau_mem
        parts = parts[:2] + [".".join(parts[2:])]
    nested: dict = value
    for part in reversed(parts):
        nested = {part: nested}
    return nested


#: top-level tables that make a preset belong to another command than training
PRESET_KINDS = {"study": "python -m bioevo.tasks.heterogeneity", "landscape": "python -m bioevo.tasks.landscape"}


def read_toml(path: Path, what: str) -> dict:
    """A TOML file as a table; unreadable, non-UTF-8 or invalid TOML is a ConfigError naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        raise ConfigError(f"{what} '{path}' is a directory, not a TOML file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what} '{path}' is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what} '{path}' is not valid TOML: {err}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {what} '{path}': {err.strerror}") from None


def preset_kind(table: dict) -> str:
    """'training', or the kind of command a preset with a [study]/[landscape] table is for."""
    return next((kind for kind in PRESET_KINDS if kind in table), "training")


def presets(kind: str = "training") -> list[str]:
    """Names of the shipped presets read by one command ('training', 'study', 'landscape')."""
    out = []
    for name in resources.available("presets"):
        try:
            table = read_toml(resources.resolve("presets", name), "preset")
        except ConfigError:
            continue
        if preset_kind(table) == kind:
            out.append(name)
    return out


def load_preset(name_or_path: str | Path, kind: str = "training") -> tuple[dict, str]:
    """The raw preset table and its display name; a preset of another command is refused."""
    try:
        path = resources.resolve("presets", name_or_path, allowed=lambda: presets(kind))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    table = read_toml(path, "preset")
    found = preset_kind(table)
    if found != kind:
        reader = PRESET_KINDS.get(found, "python -m bioevo.tasks.train")
        raise ConfigError(f"preset '{path.stem}' is a {found} preset (for {reader}); {kind} presets: "
                          f"{', '.join(presets(kind))}")
    return table, path.stem


def _kind_of(*tables: Any) -> str:
    """The data kind the last of ``tables`` (each a [data] table or not) names, default randman."""
    kind = "randman"
    for table in tables:
        if isinstance(table, dict) and "kind" in table:
            kind = table["kind"]
    if not isinstance(kind, str) or kind not in DATA_KINDS:
        raise ConfigError(f"data.kind {kind!r} is not allowed; allowed: {', '.join(DATA_KINDS)}")
    return kind


def resolve_config(preset: str | Path, overrides: list[str] = (), seed: int | None = None,
                   backend: str | None = None, strategy: str | None = None) -> dict:
    """Defaults (of the preset's data kind) <- preset <- --set overrides <- --seed/--backend, then validated."""
    raw, name = load_preset(preset)
    updates = [parse_override(text) for text in overrides]
    kind = _kind_of(raw.get("data"), *(u.get("data") for u in updates))
    cfg = merge(defaults(kind), raw)
    if "name" not in raw.get("run", {}):
        cfg["run"]["name"] = name
    for update in updates:
        cfg = merge(cfg, update)
    if seed is not None:
        cfg = merge(cfg, {"evolve": {"seed": seed}})
    if backend is not None:
        cfg = merge(cfg, {"evolve": {"backend": backend}})
    if strategy is not None:
        cfg = merge(cfg, {"strategy": {"name": strategy}})
    validate(cfg)
    return cfg


def validate_resolved(cfg: dict) -> dict:
    """A config built or edited in Python, checked like a preset: unknown keys,
    types and ranges (a copy with defaults filled in is returned)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"a config must be a table (dict), got {type(cfg).__name__}")
    out = merge(defaults(_kind_of(cfg.get("data"))), cfg)
    validate(out)
    return out


_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def validate(cfg: dict) -> None:
    """Checks that span keys or need ranges; types were checked while merging."""
    if not _RUN_NAME.fullmatch(cfg["run"]["name"]) or len(cfg["run"]["name"]) > 100:
        raise ConfigError(f"run.name {cfg['run']['name']!r} must be a plain folder name (letters, digits, '.', '_', "
                          "'+', '-'; no path separators), at most 100 characters")
    for key, allowed in _CHOICES.items():
        section, name = key.split(".")
        if cfg[section][name] not in allowed:
            raise ConfigError(f"{key} '{cfg[section][name]}' is not allowed; allowed: {', '.join(allowed)}")
    for key in _POSITIVE | _NON_NEGATIVE:
        section, name = key.split(".")
        value = cfg[section].get(name)  # data keys depend on the kind
        if value is None:
            continue
        if key in _POSITIVE and not value > 0:
            raise ConfigError(f"{key} must be > 0, got {value}")
        if key in _NON_NEGATIVE and value < 0:
            raise ConfigError(f"{key} must be >= 0, got {value}")
    kind = DATA_KINDS[cfg["data"]["kind"]]
    if kind.check is not None:  # the other kinds check their keys when they load (bioevo.data)
        try:
            kind.check(cfg["data"])
        except DataError as err:
            raise ConfigError(str(err)) from None
    if kind.train_size is not None:
        check_batch_size(cfg, kind.train_size(cfg["data"]))
    check_temperature(cfg)
    if not 0 <= cfg["evolve"]["average_decay"] < 1:
        raise ConfigError(f"evolve.average_decay must be in [0, 1) (0: off), got {cfg['evolve']['average_decay']}")
    if not 0 < cfg["evolve"]["target_val_accuracy"] <= 1:
        raise ConfigError(f"evolve.target_val_accuracy must be in (0, 1], got {cfg['evolve']['target_val_accuracy']}")
    scale = cfg["genome"]["scale"]  # an unquoted `hidden.tau_mem = 0.2` in TOML is a nested table
    for key in [k for k, v in scale.items() if isinstance(v, dict)]:
        scale.update({f"{key}.{sub}": v for sub, v in scale.pop(key).items()})
    for table in ("model.params", "genome.weight_gain", "genome.scale"):
        section, name = table.split(".")
        for key, value in cfg[section][name].items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"{table}.{key} must be a finite number, got {value!r}")
    for key, value in cfg["genome"]["scale"].items():
        if not value > 0:
            raise ConfigError(f"genome.scale.{key} must be a finite number > 0 (a multiplier of the strategy's "
                              f"sigma and step), got {value!r}")


def check_temperature(cfg: dict) -> None:
    """fitness.temperature scales the softmax of the cross-entropy losses; any other loss would ignore it.
    Validation losses before and after a temperature_generations switch are on different scales."""
    fit = cfg["fitness"]
    if fit["temperature"] != 1.0 and not LOSSES[fit["loss"]].takes_temperature:
        takes = ", ".join(name for name, loss in LOSSES.items() if loss.takes_temperature)
        raise ConfigError(f"fitness.temperature applies to the losses {takes}; fitness.loss '{fit['loss']}' "
                          f"does not use it (leave it at 1)")
    if temperature_switches(fit) and cfg["evolve"]["keep_by"] == "loss":
        raise ConfigError("evolve.keep_by 'loss' compares validation losses across generations, and "
                          "fitness.temperature_generations changes their scale midway; keep by 'accuracy', or "
                          "set fitness.temperature_generations = 0")


def temperature_at(fit: dict, gen: int) -> float:
    """The softmax temperature of generation ``gen``: fitness.temperature for the first
    fitness.temperature_generations generations (all of them if 0), then 1."""
    schedule = fit.get("temperature_generations", 0)
    return float(fit.get("temperature", 1.0)) if not schedule or gen < schedule else 1.0


def final_temperature(fit: dict) -> float:
    """The temperature a run ends on (what a gradient baseline trains)."""
    return temperature_at(fit, math.inf)


def temperature_switches(fit: dict) -> bool:
    """Whether the temperature changes during a run."""
    return temperature_at(fit, 0) != final_temperature(fit)


def check_batch_size(cfg: dict, n_train: int) -> None:
    """A batch is drawn from the training set, so it cannot be larger."""
    if cfg["evolve"]["batch_size"] > n_train:
        raise ConfigError(f"evolve.batch_size {cfg['evolve']['batch_size']} is larger than the training set "
                          f"({n_train} samples); allowed: 1..{n_train}")


def to_toml(cfg: dict) -> str:
    """Write the resolved config back as TOML (flat tables, the shapes used here)."""
    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {fmt(x)}' for k, x in v.items()) + " }"
        return repr(v)

    lines = []
    for section, table in cfg.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {fmt(v)}" for k, v in table.items() if v is not None]
        lines.append("")
    return "\n".join(lines)
