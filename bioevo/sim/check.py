"""Let Brian2 itself check a model file: build a tiny copy of the network (one
individual, one sample, two steps) with the numpy target and run it.  Every
equation, code line, synapse, unit and name is then resolved by Brian2, in
under a second and before any directory or compiled project exists."""
from __future__ import annotations

import gc
import logging
import warnings

import numpy as np

from ..model import ModelFileError, ModelSpec

_checked: set[str] = set()


def _one_line(err: BaseException) -> str:
    """The most specific line of a Brian2 error (they nest the cause under the object's history)."""
    while getattr(err, "__cause__", None) is not None or getattr(err, "original_error", None) is not None:
        err = getattr(err, "original_error", None) or err.__cause__
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return " ".join(lines[-2:] if lines and lines[-1][-1:] not in ".'\"" else lines[-1:])[:300] or type(err).__name__


def check_model_builds(model: ModelSpec) -> None:
    """Raise ModelFileError (one line naming the file) if Brian2 cannot build or run ``model``."""
    import brian2 as b2

    from .network import build_network, run_duration

    key = repr(model)
    if key in _checked:
        return
    sizes = {"inputs": 2, "hidden": 2, "classes": 2}
    previous = b2.get_device()
    logger = logging.getLogger("brian2")
    level = logger.level
    try:
        layer_sizes = model.layer_sizes(sizes)
        b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"
        logger.setLevel(logging.CRITICAL)
        net = build_network(model, layer_sizes, 1, 1, 2, record_trace=True, record_spikes=True)
        for layer in model.layers.values():
            values = {name: np.full(layer_sizes[layer.name], p.value) for name, p in layer.parameters.items()}
            for name, value in layer.brian_parameters(values, model.dt).items():
                net.groups[layer.name].variables[name].set_value(np.broadcast_to(value, layer_sizes[layer.name]))
        network = b2.Network(net.objects())
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            network.run(run_duration(model, 1, 2), namespace={})
    except Exception as err:  # noqa: BLE001 - whatever Brian2 reports is a problem of the model file
        raise ModelFileError(f"model file '{model.source or model.name}': Brian2 cannot build it: "
                             f"{_one_line(err)}") from None
    finally:
        net = network = None  # noqa: F841 - let the objects go before a standalone build names its own
        gc.collect()
        logger.setLevel(level)
        if previous is not b2.get_device():
            b2.set_device(previous)
    _checked.add(key)
