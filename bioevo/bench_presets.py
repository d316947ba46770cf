"""Generation time of the training presets, for ``python -m bioevo.bench``: one population
evaluated on one minibatch, as training does every generation, beside its arithmetic limit
(:mod:`bioevo.limits`).

``mnist`` and ``shd`` run on synthetic files in the official formats (nothing is downloaded):
MNIST at its full size (60,000 + 10,000 random 28x28 images with MNIST's ink density, 19% of
pixels non-zero); SHD with the real samples' size, 700 channels at 15.8 Hz each for 0.6-1.0 s,
about 8,900 spikes per sample (15.8 Hz: the mean input rate the Zenke lab's stork examples use
for SHD, ``nu = 15.8`` in examples/02_Deep_SNN_SHD.ipynb; the recordings last 0.3-1.2 s).  Real
SHD spikes crowd into fewer channels and times; spread evenly, as here, more of the pooled
128 x 100 bins are non-zero (45%), so the input costs more events than the real files would.
Only 1,000 + 200 SHD samples are written: a generation's cost does not depend on the file's length.
The files are written once into the cache folder (``$BIOEVO_CACHE/bench-data``).
"""
from __future__ import annotations

import inspect
import os
import statistics
import time
from pathlib import Path

import numpy as np

PRESETS = ("digits", "mnist", "shd", "hh-randman-2")
SHD_RATE_HZ = 15.8
SHD_CHANNELS = 700
MNIST_INK = 0.19


def synthetic_mnist(folder: Path, seed: int = 0, n_train: int = 60000, n_test: int = 10000) -> Path:
    """The four MNIST IDX files (full size by default), random images of MNIST's ink density."""
    from .data.idx import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", n_train),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", n_test)}
    rng = np.random.default_rng(seed)
    for images, labels, n in names.values():
        if (folder / images).exists() and (folder / labels).exists():
            continue
        x = rng.integers(1, 256, (n, 28, 28), dtype=np.uint8) * (rng.random((n, 28, 28)) < MNIST_INK)
        write_idx(folder / f"{images}.tmp", x.astype(np.uint8))
        write_idx(folder / f"{labels}.tmp", (np.arange(n) % 10).astype(np.uint8))
        os.replace(folder / f"{images}.tmp", folder / images)
        os.replace(folder / f"{labels}.tmp", folder / labels)
    return folder


def synthetic_shd(folder: Path, n_train: int = 1000, n_test: int = 200, seed: int = 0) -> Path:
    """shd_train.h5 / shd_test.h5 with real-size samples (module docstring)."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, n in (("shd_train.h5", n_train), ("shd_test.h5", n_test)):
        path = folder / name
        if path.exists():
            continue
        tmp = folder / f"{name}.tmp"
        with h5py.File(tmp, "w") as f:
            times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.dtype("float16")))
            units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.dtype("uint16")))
            for i in range(n):
                duration = rng.uniform(0.6, 1.0)
                k = rng.poisson(SHD_RATE_HZ * SHD_CHANNELS * duration)
                order = np.argsort(t := rng.uniform(0, duration, k))
                times[i] = t[order].astype(np.float16)
                units[i] = rng.integers(0, SHD_CHANNELS, k)[order].astype(np.uint16)
            f["labels"] = (np.arange(n) % 20).astype(np.uint8)
            speakers = np.arange(n) % 10 if name == "shd_train.h5" else np.full(n, 11)
            f["extra/speaker"] = speakers.astype(np.uint16)
            f["extra/keys"] = np.array([f"word-{i}".encode() for i in range(20)])
        os.replace(tmp, path)
    return folder


def preset_overrides(name: str, data_root: Path) -> list[str]:
    """--set strings that point a preset at the synthetic files."""
    if name == "mnist":
        return [f'data.path="{synthetic_mnist(data_root / "mnist")}"']
    if name == "shd":
        return [f'data.path="{synthetic_shd(data_root / "shd")}"']
    return []


def evaluator_options(templates: str | None, precision: str | None) -> dict:
    """Keyword arguments the evaluator takes for the A/B options (older versions have neither)."""
    from .sim.evaluator import PopulationEvaluator

    accepted = inspect.signature(PopulationEvaluator).parameters
    out = {}
    for key, value in (("templates", templates), ("precision", precision)):
        if value is not None:
            if key not in accepted:
                raise ValueError(f"this evaluator has no '{key}' option")
            out[key] = value
    return out


def presynaptic_spikes(model, layout, genomes: np.ndarray, raster: np.ndarray, options: dict) -> dict[str, float]:
    """Input counts and spikes of each spiking layer per individual-sample, measured on two of the
    genomes (a separate small network with spike monitors, so the timed one stays as trained)."""
    from .sim.evaluator import PopulationEvaluator

    spiking = tuple(name for name, layer in model.layers.items() if layer.spiking)
    ev = PopulationEvaluator(model, layout.layer_sizes, 2, len(raster), raster.shape[1],
                             record_spikes=spiking or False, **options)
    try:
        r = ev.evaluate(layout.decode(genomes[:2]), raster)
    finally:
        ev.close()
    out = {"input": float((np.asarray(raster) > 0).sum() / len(raster))}
    for name in spiking:
        out[name] = float(r.spike_counts[name].sum(axis=2).mean())
    return out


def counts_per_evaluation(model, layer_sizes: dict[str, int], population: int, batch: int, n_steps: int,
                          spikes: dict[str, float], binaries: int) -> dict[str, float]:
    """Neuron updates, synaptic events and time steps (of all binaries) of one evaluation."""
    per_input = max(1, round(model.step_ms / model.dt))
    neurons = sum(layer_sizes[name] for name in model.layers)
    namespace = model.namespace(layer_sizes)
    events = 0.0
    for syn in model.synapses.values():
        pre, _ = syn.pairs(layer_sizes[syn.source], layer_sizes[syn.target], namespace)
        events += spikes.get(syn.source, 0.0) * len(pre) / max(layer_sizes[syn.source], 1)
    return {"neuron_updates": population * batch * n_steps * per_input * neurons,
            "events": population * batch * events,
            "steps": binaries * (batch * n_steps + 1) * per_input}


def time_preset(name: str, repeats: int, data_root: Path, rates: dict[str, float] | None,
                templates: str | None = None, precision: str | None = None, profile_n: int = 0,
                overrides: list[str] = ()) -> dict:
    """Median seconds of one generation's evaluation (population x minibatch) of a preset, over
    ``repeats`` generations after one warm-up, and its arithmetic limit on the same cores; beside
    it (``strategy_s``) the strategy's generate and update of the same generations (with any
    genomes a strategy scores on top of its population, as pooling does); with
    ``profile_n``, where the time of that many more evaluations goes (``bioevo.bench_profile``).
    ``overrides``: --set strings applied to the preset (a population size, say)."""
    import bioevo
    from .assemble import assemble
    from .config import final_temperature
    from .evolve import batch_indices
    from .limits import limit_seconds, work_per_sample
    from .scoring import Scorer, recording_needs
    from .sim.evaluator import PopulationEvaluator
    from .strategies.base import deap_classes

    cfg = bioevo.load_config(name, [*preset_overrides(name, data_root), *overrides])
    options = evaluator_options(templates, precision)
    parts = assemble(cfg, build_evaluator=False)
    fit = cfg["fitness"]
    trace, spikes, stats = recording_needs(fit)
    population = int(parts.strategy.popsize)
    batch_size = cfg["evolve"]["batch_size"]
    t0 = time.perf_counter()
    ev = PopulationEvaluator(parts.model, parts.layout.layer_sizes, population, batch_size, parts.n_steps,
                             record_trace=trace, record_spikes=(parts.model.readout_layer,) if spikes else False,
                             readout_stats=stats, **options)
    build_s = time.perf_counter() - t0
    scorer = Scorer(ev, parts.layout, fit["loss"], fit["margin"], fit["l2"], fit["readout"], fit["smoothness"],
                    fit.get("last_steps", 0), final_temperature(fit))
    train = parts.splits["train"]
    _, individual = deap_classes()
    seconds, binary_wall, strategy_seconds = [], [], []
    try:
        for gen in range(repeats + 1):
            batch = train.subset(batch_indices(len(train), batch_size, cfg["evolve"]["seed"], gen))
            t_generate = time.perf_counter()
            individuals = parts.strategy.generate(individual)
            t_generate = time.perf_counter() - t_generate
            genomes = np.asarray(individuals)
            t0 = time.perf_counter()
            losses, accuracies = scorer.batch(genomes, batch)
            evaluation = time.perf_counter() - t0
            for ind, loss, acc in zip(individuals, losses, accuracies):  # as evolve.train hands them on
                ind.fitness.values = (float(loss),)
                ind.accuracy = float(acc)
            t_update = time.perf_counter()
            parts.strategy.update(individuals, evaluate=lambda extra, b=batch: scorer.batch(extra, b))
            t_update = time.perf_counter() - t_update
            if gen:
                seconds.append(evaluation)
                strategy_seconds.append(t_generate + t_update)
                servers = getattr(ev, "_servers", None)
                if servers is not None and servers.last_wall_s:
                    binary_wall.append(max(servers.last_wall_s))
        if profile_n:  # before the spike count below builds another network (which supersedes this one)
            from .bench_profile import profile, unit_costs

            where = profile(lambda: scorer.batch(genomes, batch), profile_n, ev)
        spikes_per_sample = presynaptic_spikes(parts.model, parts.layout, genomes, batch.raster, options)
        if profile_n:
            counts = counts_per_evaluation(parts.model, parts.layout.layer_sizes, population, batch_size,
                                           parts.n_steps, spikes_per_sample, ev.workers)
            where["per_unit"] = unit_costs(where["seconds"], counts["neuron_updates"], counts["events"],
                                           counts["steps"])
            where["counts"] = counts
    finally:
        ev.close()
    generation = statistics.median(seconds)
    row = {"preset": name, "P": population, "B": batch_size, "T": parts.n_steps, "workers": ev.workers,
           "build_s": round(build_s, 1), "generation_s": generation,
           # the strategy's own share of a generation (generate and update), beside the evaluation
           "strategy_s": statistics.median(strategy_seconds),
           "us_per_individual_sample": 1e6 * generation / (population * batch_size),
           "spikes_per_individual_sample": spikes_per_sample}
    if binary_wall:
        row["binary_wall_s"] = statistics.median(binary_wall)
    if profile_n:
        row["profile"] = where
    if rates is not None:
        work = work_per_sample(parts.model, parts.layout.layer_sizes, parts.n_steps, spikes_per_sample)
        limit = limit_seconds(work.scaled(population * batch_size), rates)
        row.update({"flops_per_individual_sample": work.flops, "memops_per_individual_sample": work.memops,
                    "special_per_individual_sample": work.special, **limit,
                    "times_limit": generation / limit["limit_s"]})
    return row
