"""Loss and accuracy of genomes: one evaluator, the configured readout and
loss, and what the simulation must record for them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import fitness
from .config import ConfigError, final_temperature
from .data.spikes import SpikeData
from .genome import GenomeLayout
from .model import ModelSpec
from .readout_stats import ALWAYS_TRACKED, TRACKED_STATS, optional_stats

if TYPE_CHECKING:  # imported where an evaluator is built: Brian2 takes ~2 s to import, a bad config fails before
    from .sim.evaluator import PopulationEvaluator, Readouts


@dataclass
class Scorer:
    """Loss and accuracy of genomes on samples, through one evaluator.

    The loss and the readout read what their entries in ``fitness.LOSSES`` and
    ``fitness.READOUT_REGISTRY`` say (trace, max over time, last step, the
    readout's scores or the readout layer's spikes); predictions and
    accuracy come from the configured ``readout``; optional L2 on the genome
    and smoothness of the readout trace are added with their weights.

    ``last_steps`` > 0 scores only the last ``last_steps`` steps of every sample
    (e.g. a response window after a delay): the max, the sum, the trace the
    hinge and smoothness read all come from those steps of the recorded trace
    (so the trace is recorded, see :func:`recording_needs`); the last step is
    the last step either way.  Spike readouts cannot be windowed (refused by
    :func:`check_readout`)."""

    evaluator: PopulationEvaluator
    layout: GenomeLayout
    loss_name: str
    margin: float
    l2: float
    readout: str = "max"
    smoothness: float = 0.0
    last_steps: int = 0
    temperature: float = 1.0  # fitness.temperature: the softmax losses divide the scores by it

    def __post_init__(self) -> None:
        fitness.get_loss(self.loss_name)  # an unknown name fails here, not at the first batch
        self.readout_layer = self.evaluator.model.readout_layer

    def recorded(self, r: Readouts) -> dict:
        """What the evaluator recorded, keyed as ``fitness.RECORDED`` (the readout layer's spikes only)."""
        spikes = lambda d: None if d is None else d.get(self.readout_layer)  # noqa: E731
        out = {TRACKED_STATS[ALWAYS_TRACKED].key: r.vmax, **r.stats, "trace": r.trace,
               "spike_counts": spikes(r.spike_counts), "first_spikes": spikes(r.first_spikes)}
        if self.last_steps:  # the window's statistics, from its steps of the trace
            if r.trace is None:
                raise ValueError("fitness.last_steps needs the readout trace, which the simulation did not record")
            trace = np.asarray(r.trace)[:, :, -self.last_steps:, :]
            out["trace"] = trace
            for stat in TRACKED_STATS.values():  # a statistic the window leaves alone stays as tracked
                if stat.windowed or out.get(stat.key) is None:
                    out[stat.key] = stat.of_trace(trace)
        return out

    def scores(self, r: Readouts) -> np.ndarray:
        """Per-class scores (P, B, O) of the configured readout."""
        return fitness.scores_of(self.readout, self.recorded(r))

    def _loss(self, r: Readouts, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        recorded = self.recorded(r)
        loss = fitness.loss_values(self.loss_name, recorded, scores, labels, self.margin, self.temperature)
        if self.smoothness:
            loss = loss + fitness.smoothness_penalty(recorded["trace"], self.smoothness)
        return loss

    def batch(self, genomes: np.ndarray, data: SpikeData) -> tuple[np.ndarray, np.ndarray]:
        """(loss, accuracy) per genome on one batch, in evaluator-sized chunks of genomes."""
        genomes = np.atleast_2d(np.asarray(genomes, dtype=np.float64))
        P = self.evaluator.population
        if len(genomes) > P:
            parts = [self.batch(genomes[k:k + P], data) for k in range(0, len(genomes), P)]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        r = self.evaluator.evaluate(self.layout.decode(genomes), data.raster)
        scores = self.scores(r)
        loss = self._loss(r, scores, data.labels)
        if self.l2:
            loss = loss + fitness.l2_penalty(genomes, self.l2)
        if r.finite is not None:  # a blown-up (non-finite) state anywhere in the batch: worst loss
            loss = np.where(r.finite.all(axis=1), loss, np.inf)
        return np.where(np.isfinite(loss), loss, np.inf), fitness.accuracy(scores, data.labels)

    def chunks(self, genome: np.ndarray, data: SpikeData):
        """(chunk, readouts) of one genome over a whole split, in evaluator-sized chunks."""
        params = self.layout.decode(genome[None])
        size = self.evaluator.sample_capacity
        for start in range(0, len(data), size):
            chunk = data.subset(slice(start, start + size))
            yield chunk, self.evaluator.evaluate_one(params, chunk.raster)

    def dataset(self, genome: np.ndarray, data: SpikeData) -> tuple[float, np.ndarray]:
        """(mean loss without the L2 term, predictions) of one genome on a whole split, in evaluator-sized chunks."""
        losses, preds = [], []
        for chunk, r in self.chunks(genome, data):
            scores = self.scores(r)
            losses.append(float(self._loss(r, scores, chunk.labels)[0]) * len(chunk))
            preds.append(fitness.predictions(scores)[0])
        return sum(losses) / len(data), np.concatenate(preds)


def recording_needs(fit: dict) -> tuple[bool, bool, tuple[str, ...]]:
    """What a ``[fitness]`` table needs the simulation to record: (the readout
    trace, the readout layer's spikes, the readout statistics besides the max
    to track inside the simulation: names in ``readout_stats.TRACKED_STATS``)."""
    reads = {fitness.READOUT_REGISTRY[fit["readout"]].reads, fitness.get_loss(fit["loss"]).reads}
    if fit.get("last_steps", 0):  # a window's statistics come from the trace (the last step needs no window)
        windowed = {stat.key for stat in TRACKED_STATS.values() if stat.windowed}
        reads = {"trace" if r in windowed else r for r in reads}
    stats = tuple(name for name in optional_stats() if TRACKED_STATS[name].key in reads)
    return ("trace" in reads or fit["smoothness"] > 0, bool(reads & set(fitness.SPIKE_INPUTS)), stats)


def check_readout(cfg: dict, model: ModelSpec, n_steps: int | None = None) -> None:
    """Spike readouts and the spike-count hinge need a readout layer that spikes; a scoring
    window (fitness.last_steps) reads the readout variable and fits in a sample of ``n_steps``."""
    window = cfg["fitness"].get("last_steps", 0)
    if window:
        spiking = [f"fitness.{key} '{cfg['fitness'][key]}'" for key, reads in
                   (("readout", fitness.READOUTS[cfg["fitness"]["readout"]]),
                    ("loss", fitness.get_loss(cfg["fitness"]["loss"]).reads)) if reads in fitness.SPIKE_INPUTS]
        if spiking:
            raise ConfigError(f"fitness.last_steps ({window}) windows the readout variable, not spikes: "
                              f"{spiking[0]} reads the readout layer's spikes; use fitness.last_steps = 0 or a "
                              "readout among " + ", ".join(k for k, r in fitness.READOUTS.items()
                                                           if r not in fitness.SPIKE_INPUTS))
        if n_steps is not None and window > n_steps:
            raise ConfigError(f"fitness.last_steps ({window}) is longer than a sample ({n_steps} steps); "
                              f"allowed: 0..{n_steps}")
    layer = model.layers[model.readout_layer]
    if layer.threshold is None and recording_needs(cfg["fitness"])[1]:
        what = (f"fitness.readout '{cfg['fitness']['readout']}'"
                if fitness.READOUTS[cfg["fitness"]["readout"]] in fitness.SPIKE_INPUTS
                else f"fitness.loss '{cfg['fitness']['loss']}'")
        allowed = ", ".join(k for k, reads in fitness.READOUTS.items() if reads not in fitness.SPIKE_INPUTS)
        raise ConfigError(f"{what} needs a spiking readout layer, but layer '{layer.name}' of model "
                          f"'{model.name}' has no threshold; readouts allowed for this model: {allowed} "
                          "(model lif_spiking has a spiking readout)")


def make_scorer(cfg: dict, model: ModelSpec, layout: GenomeLayout, population: int, n_steps: int,
                binaries: int | None = None) -> Scorer:
    """The evaluator holds ``population`` individuals (the strategy's popsize);
    larger requests are evaluated in chunks.  ``binaries``: copies of the
    compiled binary run at once (the evaluator's ``workers``; default: its own)."""
    from .sim.evaluator import PopulationEvaluator

    f = cfg["fitness"]
    trace, spikes, stats = recording_needs(f)
    evaluator = PopulationEvaluator(model, layout.layer_sizes, population,
                                    cfg["evolve"]["batch_size"], n_steps,
                                    backend=cfg["evolve"]["backend"], record_trace=trace,
                                    record_spikes=(model.readout_layer,) if spikes else False,
                                    readout_stats=stats, workers=binaries,
                                    parallel_samples=cfg["evolve"]["samples"] == "parallel",
                                    precision=cfg["evolve"]["precision"])
    return Scorer(evaluator, layout, f["loss"], f["margin"], f["l2"], f["readout"], f["smoothness"],
                  f.get("last_steps", 0), final_temperature(f))  # training sets each generation's
