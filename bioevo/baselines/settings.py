"""Training settings of the baselines: defaults, and ``--set baselines.KEY=VALUE``
overrides checked like preset keys (unknown key or wrong type: one line)."""
from __future__ import annotations

import copy
from typing import Any

from ..config import ConfigError, merge, parse_override
from . import METHODS

PREFIX = "baselines."
CNN_INPUTS = ("decoded", "raster")


def defaults(cfg: dict) -> dict[str, Any]:
    """The default settings; the recurrent networks get as many hidden units as
    the evolved network (``model.hidden``), so width is not what differs."""
    hidden = int(cfg["model"]["hidden"])
    return {
        "epochs": 150,  # at most; early stopping on the validation split usually ends sooner
        "patience": 30,  # epochs without a better validation result before stopping
        # stop once validation accuracy reaches this, like the evolved run (its evolve.target_val_accuracy)
        "target_val_accuracy": float(cfg["evolve"]["target_val_accuracy"]),
        "batch_size": 64,
        "eval_batch_size": 512,
        "clip": 1.0,  # global gradient-norm clip (keeps the vanilla RNN and the SNN stable)
        # weight_decay: candidates of decoupled (AdamW) decay, one training run each, the best
        # on validation kept (1.0 helped MLP/RNN/GRU on digits, hurt the RNNs on Randman-10)
        "mlp": {"hidden": [128, 128], "lr": 1e-3, "weight_decay": [0.0, 1.0]},
        # input: "decoded" = the image the latency code encodes (bioevo.data.latency.latency_decode,
        # lossless for the digits), "raster" = the raster itself, one channel per time step
        "cnn": {"channels": [32, 64], "dense": 128, "lr": 1e-3, "weight_decay": [0.0], "input": "decoded"},
        "rnn": {"hidden": hidden, "lr": 1e-3, "weight_decay": [0.0, 1.0]},
        "gru": {"hidden": hidden, "lr": 1e-3, "weight_decay": [0.0, 1.0]},
        # lr acts in the genome's dimensionless space (weights z with W = z * gain / sqrt(fan_in))
        "snn": {"lr": 5e-3, "weight_decay": [0.0], "surrogate_slope": 10.0},
        # BPTT in the hh / Morris-Lecar equations (bioevo.baselines.biophysical): one Adam run per lr,
        # the best on validation kept; clip: global gradient-norm clip, 0 = off; surrogate_slope
        # relative to |threshold - resting potential|; time_budget: wall seconds for the whole lr grid
        # (split equally; 0 = epochs and patience only), e.g. the evolved run's wall time
        "bptt": {"lr": [1e-3, 3e-3, 1e-2, 3e-2], "clip": 1.0, "surrogate_slope": 10.0, "time_budget": 0.0},
    }


_POSITIVE = ("epochs", "patience", "batch_size", "eval_batch_size", "clip", "mlp.lr", "cnn.lr", "rnn.lr", "gru.lr",
             "snn.lr", "snn.surrogate_slope", "bptt.surrogate_slope", "cnn.dense", "rnn.hidden", "gru.hidden")


def split_overrides(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(preset overrides, baseline overrides): ``baselines.*`` keys are ours."""
    ours = [o for o in overrides if o.strip().startswith(PREFIX)]
    return [o for o in overrides if o not in ours], ours


def _float_lists(update: dict, base: dict) -> dict:
    """Integers in a list of floats become floats ([0, 1.0] means [0.0, 1.0])."""
    out = {}
    for key, value in update.items():
        default = base.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            value = _float_lists(value, default)
        elif (isinstance(value, list) and isinstance(default, list) and default and isinstance(default[0], float)
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            value = [float(v) for v in value]
        out[key] = value
    return out


def resolve_settings(cfg: dict, overrides: list[str]) -> dict[str, Any]:
    """Defaults <- ``baselines.KEY=VALUE`` overrides, then range checks."""
    out = defaults(cfg)
    for text in overrides:
        update = parse_override(text).get("baselines")
        if not isinstance(update, dict):
            raise ConfigError(f"--set {text}: name a setting, e.g. baselines.epochs=20")
        out = merge(out, _float_lists(update, out), PREFIX)
    for dotted in _POSITIVE:
        table = out
        *path, key = dotted.split(".")
        for part in path:
            table = table[part]
        if not table[key] > 0:
            raise ConfigError(f"{PREFIX}{dotted} must be > 0, got {table[key]}")
    if not 0 < out["target_val_accuracy"] <= 1:
        raise ConfigError(f"{PREFIX}target_val_accuracy must be in (0, 1], got {out['target_val_accuracy']}")
    bptt = out["bptt"]
    if not bptt["lr"] or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 for v in bptt["lr"]):
        raise ConfigError(f"{PREFIX}bptt.lr must be a non-empty list of numbers > 0 (a grid), got {bptt['lr']}")
    for key in ("clip", "time_budget"):
        if isinstance(bptt[key], bool) or not isinstance(bptt[key], (int, float)) or not bptt[key] >= 0:
            raise ConfigError(f"{PREFIX}bptt.{key} must be a number >= 0 (0: off), got {bptt[key]}")
    for method in METHODS:
        if method == "bptt":
            continue
        decays = out[method]["weight_decay"]
        if not decays or any(not isinstance(d, (int, float)) or isinstance(d, bool) or not d >= 0 for d in decays):
            raise ConfigError(f"{PREFIX}{method}.weight_decay must be a non-empty list of numbers >= 0 "
                              f"(candidates, the best on validation kept), got {decays}")
    if out["cnn"]["input"] not in CNN_INPUTS:
        raise ConfigError(f"{PREFIX}cnn.input '{out['cnn']['input']}' is not allowed; allowed: {', '.join(CNN_INPUTS)}")
    for dotted in ("mlp.hidden", "cnn.channels"):
        section, key = dotted.split(".")
        sizes = out[section][key]
        if not sizes or any(not isinstance(n, int) or n < 1 for n in sizes):
            raise ConfigError(f"{PREFIX}{dotted} must be a non-empty list of integers >= 1, got {sizes}")
    return copy.deepcopy(out)
