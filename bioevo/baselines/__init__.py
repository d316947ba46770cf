"""Gradient-trained baselines on a preset's own splits and encoded inputs: an
MLP, a CNN (image presets), a vanilla RNN, a GRU and a surrogate-gradient SNN
with the evolved network's architecture, dynamics and readout, and BPTT through
the Hodgkin-Huxley and Morris-Lecar networks' own equations (``bptt``).

Needs the ``baselines`` extra (JAX on the CPU, flax, optax); the core package
never imports this subpackage, so a plain install stays free of a
deep-learning framework."""
from __future__ import annotations

#: every method, in table order
METHODS = ("mlp", "cnn", "rnn", "gru", "snn", "bptt")

EXTRA_HINT = ('the baselines need the optional extra: pip install "bioevo[baselines]" (".[baselines]" in a checkout; '
              'JAX on the CPU, flax, optax)')


def missing_extra() -> str | None:
    """The name of the first missing package of the extra, or None when all import."""
    import importlib.util

    for name in ("jax", "flax", "optax"):
        if importlib.util.find_spec(name) is None:
            return name
    return None
