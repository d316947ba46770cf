"""Everything a run is built from, made from a resolved config before any
directory exists: the model, the data splits, the genome layout, the strategy
and the compiled evaluator.  Whatever bad input can break breaks here, as a
one-line :class:`ConfigError`, so a failed start never leaves a stub run."""
from __future__ import annotations

import os

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ConfigError, check_batch_size
from . import data as data_sets
from .data.errors import available_memory
from .data.spikes import SpikeData
from .genome import GenomeLayout, build_layout
from .model import ModelSpec, load_model
from .scoring import Scorer, check_readout, make_scorer
from .sim.check import check_model_builds
from .strategies import make_strategy
from .strategies.base import Strategy


@dataclass
class Parts:
    """What :func:`assemble` builds; the strategy starts at its initial state."""

    cfg: dict
    model: ModelSpec
    layout: GenomeLayout
    splits: dict[str, SpikeData]
    strategy: Strategy
    scorer: Scorer | None = None

    @property
    def n_steps(self) -> int:
        return self.splits["train"].n_steps


def make_dataset(cfg: dict) -> dict[str, SpikeData]:
    """The train/val/test splits of the config's [data] table (any data kind)."""
    try:
        return data_sets.make_dataset(cfg["data"], cfg["evolve"]["seed"])
    except data_sets.DataError as err:
        raise ConfigError(str(err)) from None
    except MemoryError:
        raise ConfigError("the data set does not fit in memory; lower data.n_steps or the split sizes") from None


def task_sizes(cfg: dict, splits: dict[str, SpikeData] | None = None) -> dict[str, int]:
    """The sizes a model's layers may refer to: inputs, hidden, classes (from the
    data; without it, small stand-ins for checking the genome table early)."""
    if splits is not None:
        train = splits["train"]
        return {"inputs": train.n_units, "hidden": cfg["model"]["hidden"], "classes": train.n_classes}
    return {"inputs": 2, "hidden": cfg["model"]["hidden"], "classes": 2}


def configured_popsize(cfg: dict) -> int:
    """The popsize the config gives its strategy (1 where the strategy derives its own)."""
    name = cfg["strategy"]["name"]
    value = cfg["strategy"].get(name, {}).get("popsize") if isinstance(cfg["strategy"].get(name), dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def check_sizes(cfg: dict, model: ModelSpec, sizes: dict[str, int]) -> None:
    """Refuse layer sizes, connection counts and populations whose arrays cannot fit in memory,
    from the numbers alone: nothing is allocated (the genome layout lists every candidate pair
    of a synapse group, and a strategy holds its population's genomes)."""
    try:
        layers = model.layer_sizes(sizes)
    except ValueError:
        return  # build_layout names the problem
    bad = next((f"{name} ({n})" for name, n in layers.items() if n < 1), None)
    if bad is not None:
        raise ConfigError(f"model '{model.name}': layer size {bad} must be >= 1 (layers.<name>.size)")
    pairs = {name: layers[s.source] * layers[s.target] for name, s in model.synapses.items()}
    neurons = sum(n for name, n in layers.items() if name != "input")
    population = configured_popsize(cfg)
    parts = {"candidate connections": 40 * sum(pairs.values()),  # index pairs, the condition mask, segments
             "genomes": 4 * population * (sum(pairs.values()) + 4 * neurons) * 8}
    need, have = sum(parts.values()), available_memory()
    if need > 0.8 * have:
        widest = max(pairs, key=pairs.get) if pairs else "-"
        raise ConfigError(
            f"model '{model.name}' with model.hidden={cfg['model']['hidden']} and popsize {population} needs about "
            f"{need / 2**30:.3g} GiB (layers " + ", ".join(f"{k} {v}" for k, v in layers.items())
            + f"; synapses {widest} {pairs.get(widest, 0)} candidate pairs), more than the {have / 2**30:.1f} GiB "
            "available; lower the popsize, model.hidden or the layer sizes")


def make_layout(cfg: dict, model: ModelSpec, sizes: dict[str, int] | None = None) -> GenomeLayout:
    g = cfg["genome"]
    sizes = sizes or task_sizes(cfg)
    check_sizes(cfg, model, sizes)
    try:
        # fixed heterogeneous values are part of the network, drawn from the run's seed
        rng = np.random.default_rng([cfg["evolve"]["seed"], 7])
        return build_layout(model, sizes, g["weight_gain"], list(g["evolve"]), g["per_neuron"], g["init"],
                            g["init_spread"], cfg["model"]["params"], list(g["heterogeneous"]), rng)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def step_scales(cfg: dict, layout: GenomeLayout) -> np.ndarray:
    """The step scale of every gene of ``layout`` from the config's ``[genome.scale]``."""
    try:
        return layout.step_scales(cfg["genome"].get("scale"))
    except ValueError as err:
        raise ConfigError(str(err)) from None  # the message names genome.scale.<key>


def make_configured_strategy(cfg: dict, centroid: np.ndarray, rng: np.random.Generator,
                             layout: GenomeLayout | None = None) -> Strategy:
    """The configured strategy at ``centroid``; with ``layout``, its genes' step scales from ``[genome.scale]``
    (without: 1 for every gene)."""
    name = cfg["strategy"]["name"]
    scale = None if layout is None else step_scales(cfg, layout)
    try:
        return make_strategy(name, centroid, rng, cfg["strategy"][name], scale)
    except ValueError as err:
        raise ConfigError(str(err)) from None  # the message names strategy.<name>.<key>


def seeded_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for initialisation and the strategy (minibatches
    are drawn from (seed, epoch), see :func:`bioevo.evolve.batch_indices`)."""
    init, strat = np.random.SeedSequence(seed).spawn(2)
    return {"init": np.random.default_rng(init), "strategy": np.random.default_rng(strat)}


def population_size(strategy: Strategy) -> int:
    """Individuals per generation (the strategy protocol's ``popsize``)."""
    return int(strategy.popsize)


def memory_estimate(cfg: dict, layout: GenomeLayout, population: int, n_steps: int, trace: bool) -> dict[str, int]:
    """Rough bytes of the big arrays of a run, by what they are (an upper-ish
    bound: Brian2 keeps about 40 bytes per synapse, the strategy a few copies of
    the population's genomes, the input raster is float64 in the network)."""
    synapses = sum(layout.synapse_counts.values())
    neurons = sum(n for name, n in layout.layer_sizes.items() if name != "input")
    batch = cfg["evolve"]["batch_size"]
    n_out = max(layout.layer_sizes.values())  # bounds the readout size without knowing its layer
    copies = batch if cfg["evolve"]["samples"] == "parallel" else 1  # of every neuron and synapse per individual
    return {
        "genomes": 4 * population * layout.size * 8,
        "network": population * copies * (synapses * 40 + neurons * 200),
        "inputs": 2 * batch * n_steps * layout.layer_sizes["input"] * 8,
        "trace": 2 * population * batch * n_steps * n_out * 8 if trace else 0,
    }


def check_memory(cfg: dict, layout: GenomeLayout, population: int, n_steps: int, trace: bool) -> None:
    parts = memory_estimate(cfg, layout, population, n_steps, trace)
    need, have = sum(parts.values()), available_memory()
    if need > 0.8 * have:
        biggest = max(parts, key=parts.get)
        raise ConfigError(
            f"this run needs about {need / 2**30:.1f} GiB (the {biggest} {parts[biggest] / 2**30:.1f} GiB; "
            f"{population} individuals x {layout.size} parameters, batch {cfg['evolve']['batch_size']}, "
            f"{n_steps} steps), more than the {have / 2**30:.1f} GiB available; lower the popsize, "
            "model.hidden, evolve.batch_size or data.n_steps")


def check_cache() -> None:
    """The compiled-project cache ($BIOEVO_CACHE, else ~/.cache/bioevo) must be a folder bioevo can
    write in: found out here, before a build that would fail half-way with a traceback."""
    import tempfile

    from .sim.cache import cache_root

    root = cache_root()
    where = f"BIOEVO_CACHE={root}" if os.environ.get("BIOEVO_CACHE") else f"the compile cache {root}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as err:
        raise ConfigError(f"{where}: cannot write there ({err.strerror or err}); point BIOEVO_CACHE at a "
                          "writable folder") from None


def check_step(cfg: dict, model: ModelSpec) -> None:
    """A data kind that states its step in ms (``data.dt_ms``, rates in Hz) needs the model's input step."""
    dt_ms = cfg["data"].get("dt_ms")
    if dt_ms is not None and abs(dt_ms - model.step_ms) > 1e-9 * model.step_ms:
        raise ConfigError(f"data.dt_ms ({dt_ms:g}) must equal the input step of model '{model.name}' "
                          f"({model.step_ms:g} ms): the click rates are in Hz; set data.dt_ms = {model.step_ms:g}")


def model_text(model: ModelSpec) -> str:
    return Path(model.source).read_text() if model.source else ""


def assemble(cfg: dict, build_evaluator: bool = True) -> Parts:
    """Model, data, layout, strategy and (unless ``build_evaluator`` is False)
    the compiled evaluator, in that order; any user error is a ConfigError."""
    if cfg["evolve"]["backend"] == "cuda":  # brian2cuda, nvcc and a GPU: say what is missing before any work
        from .sim.cuda import unavailable

        problem = unavailable()
        if problem:
            raise ConfigError(problem)
    try:
        model = load_model(cfg["model"]["name"], key="model.name")
        check_model_builds(model)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    check_readout(cfg, model)  # fitness.loss and fitness.readout names were checked with the config
    step_scales(cfg, make_layout(cfg, model))  # a bad genome table fails before the data is made
    splits = make_dataset(cfg)
    check_readout(cfg, model, splits["train"].n_steps)
    check_step(cfg, model)
    check_batch_size(cfg, len(splits["train"]))
    layout = make_layout(cfg, model, task_sizes(cfg, splits))
    rng = seeded_streams(cfg["evolve"]["seed"])
    strategy = make_configured_strategy(cfg, layout.initial(rng["init"]), rng["strategy"], layout)
    parts = Parts(cfg, model, layout, splits, strategy)
    if build_evaluator:
        from .scoring import recording_needs
        check_memory(cfg, layout, population_size(strategy), parts.n_steps, recording_needs(cfg["fitness"])[0])
        if cfg["evolve"]["backend"] != "runtime":
            check_cache()
        try:
            parts.scorer = make_scorer(cfg, model, layout, population_size(strategy), parts.n_steps)
        except MemoryError:
            raise ConfigError("the network does not fit in memory; lower the popsize, model.hidden or "
                              "evolve.batch_size") from None
    return parts
