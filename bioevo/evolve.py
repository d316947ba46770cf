"""The training loop: minibatches, DEAP bookkeeping, validation of the
strategy's mean, best-by-validation model, early stop."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from deap import base, creator, tools
from tqdm import tqdm

from . import fitness
from .config import DEFAULTS, ConfigError
from .data.randman import RandmanConfig, make_randman
from .data.spikes import SpikeData
from .genome import GenomeLayout, build_layout
from .model import ModelSpec, load_model
from .rundir import MetricsLog
from .sim.evaluator import PopulationEvaluator, Readouts
from .checkpoint import LoopState, save_checkpoint
from .strategies import make_strategy
from .strategies.base import Strategy

if not hasattr(creator, "FitnessMin"):
    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "Individual"):
    creator.create("Individual", np.ndarray, fitness=creator.FitnessMin)


def make_dataset(cfg: dict) -> dict[str, SpikeData]:
    d = cfg["data"]
    seed = d["seed"] if d["seed"] is not None else cfg["evolve"]["seed"]
    try:
        return make_randman(RandmanConfig(
            n_classes=d["n_classes"], n_units=d["n_units"], dim_manifold=d["dim_manifold"], alpha=d["alpha"],
            n_steps=d["n_steps"], split=tuple(d["split"]), nb_spikes=d["nb_spikes"], seed=seed))
    except ValueError as err:
        raise ConfigError(str(err).replace("randman.", "data.")) from None


def make_layout(cfg: dict, model: ModelSpec) -> GenomeLayout:
    g = cfg["genome"]
    sizes = {"inputs": cfg["data"]["n_units"], "hidden": cfg["model"]["hidden"], "classes": cfg["data"]["n_classes"]}
    try:
        # fixed heterogeneous values are part of the network, drawn from the run's seed
        rng = np.random.default_rng([cfg["evolve"]["seed"], 7])
        # the defaults name the lif synapses; a model without them just ignores them
        default_keys = set(DEFAULTS["genome"]["weight_gain"])
        gains = {k: v for k, v in g["weight_gain"].items() if k in model.synapses or k not in default_keys}
        return build_layout(model, sizes, gains, list(g["evolve"]), g["per_neuron"], g["init"],
                            g["init_spread"], cfg["model"]["params"], list(g["heterogeneous"]), rng)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def make_configured_strategy(cfg: dict, centroid: np.ndarray, rng: np.random.Generator) -> Strategy:
    name = cfg["strategy"]["name"]
    try:
        return make_strategy(name, centroid, rng, cfg["strategy"][name])
    except ValueError as err:
        raise ConfigError(f"strategy.{name}: {err}") from None


@dataclass
class Scorer:
    """Loss and accuracy of genomes on samples, through one evaluator.

    The loss reads what ``fitness.LOSSES`` says (trace, max over time, last
    step, the readout's scores or the readout layer's spike counts); predictions and
    accuracy come from the configured ``readout``; optional L2 on the genome
    and smoothness of the readout trace are added with their weights."""

    evaluator: PopulationEvaluator
    layout: GenomeLayout
    loss_name: str
    margin: float
    l2: float
    readout: str = "max"
    smoothness: float = 0.0

    def __post_init__(self) -> None:
        self.loss_fn, self.loss_input = fitness.get_loss(self.loss_name)
        self.readout_layer = self.evaluator.model.readout_layer

    def scores(self, r: Readouts) -> np.ndarray:
        """Per-class scores (P, B, O) of the configured readout."""
        spikes = lambda d: None if d is None else d.get(self.readout_layer)  # noqa: E731
        return fitness.readout_scores(self.readout, vmax=r.vmax, trace=r.trace, spike_counts=spikes(r.spike_counts),
                                      first_spike=spikes(r.first_spikes), vfinal=r.vfinal, vsum=r.vsum)

    def _loss(self, r: Readouts, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        kind = self.loss_input
        if kind == "trace":
            loss = self.loss_fn(r.trace, labels, margin=self.margin)
        elif kind == "vfinal":  # tracked in the simulation, else the trace's last step
            loss = self.loss_fn(r.vfinal if r.vfinal is not None else r.trace, labels, margin=self.margin)
        elif kind == "spike_counts":
            loss = self.loss_fn(r.spike_counts[self.readout_layer], labels, margin=self.margin)
        else:
            loss = self.loss_fn(r.vmax if kind == "vmax" else scores, labels)
        if self.smoothness:
            loss = loss + fitness.smoothness_penalty(r.trace, self.smoothness)
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

    def dataset(self, genome: np.ndarray, data: SpikeData) -> tuple[float, np.ndarray]:
        """(mean loss without the L2 term, predictions) of one genome on a whole split, in evaluator-sized chunks."""
        params = self.layout.decode(genome[None])
        B = self.evaluator.batch
        losses, preds = [], []
        for start in range(0, len(data), B):
            chunk = data.subset(slice(start, start + B))
            r = self.evaluator.evaluate(params, chunk.raster)
            scores = self.scores(r)
            losses.append(float(self._loss(r, scores, chunk.labels)[0]) * len(chunk))
            preds.append(fitness.predictions(scores)[0])
        return sum(losses) / len(data), np.concatenate(preds)


def batch_indices(n: int, batch_size: int, seed: int, gen: int) -> np.ndarray:
    """The samples of generation ``gen``: epochs are fresh permutations drawn
    from (seed, epoch) alone, so a resumed run sees the same batches."""
    per_epoch = n // batch_size
    epoch, k = divmod(gen, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * batch_size:(k + 1) * batch_size]


@dataclass
class TrainingResult:
    best_genome: np.ndarray
    best_val_acc: float
    best_gen: int
    generations: int
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    stop_reason: str
    history: list[dict] = field(default_factory=list)


def train(cfg: dict, splits: dict[str, SpikeData], scorer: Scorer, strategy: Strategy, batch_seed: int,
          metrics: MetricsLog | None = None, run_dir: Path | None = None, loop: LoopState | None = None) -> TrainingResult:
    """Run the strategy until the generation budget, the target validation
    accuracy, or the patience (in validations without improvement) ends it.
    With ``run_dir`` a checkpoint is written after every validation; ``loop``
    continues from one."""
    ev = cfg["evolve"]
    train_data, val = splits["train"], splits["val"]
    per_epoch = len(train_data) // ev["batch_size"]
    eval_every = ev["eval_every"] or per_epoch  # default: once per epoch
    toolbox = base.Toolbox()
    toolbox.register("generate", strategy.generate, creator.Individual)
    toolbox.register("update", strategy.update)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    for name, fn in (("avg", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
        stats.register(name, fn)
    loop = loop or LoopState(best_genome=strategy.centroid.copy())
    logbook = tools.Logbook()
    for rec in loop.records:
        logbook.record(**rec)
    hof = tools.HallOfFame(1, similar=np.array_equal)
    if loop.hof_genome is not None:
        ind = creator.Individual(loop.hof_genome)
        ind.fitness.values = (loop.hof_loss,)
        hof.insert(ind)
    t0 = time.time()
    bar = tqdm(range(loop.gen, ev["generations"]), disable=not ev["progress"], desc=cfg["run"]["name"], unit="gen",
               dynamic_ncols=True, initial=loop.gen, total=ev["generations"])
    for gen in bar:
        batch = train_data.subset(batch_indices(len(train_data), ev["batch_size"], batch_seed, gen))
        population = toolbox.generate()
        losses, accs = scorer.batch(np.asarray(population), batch)
        for ind, loss, acc in zip(population, losses, accs):
            ind.fitness.values = (float(loss),)
            ind.accuracy = float(acc)
        hof.update(population)
        extra = []  # genomes scored on top of the population (pooling offspring)

        def evaluate_extra(genomes: np.ndarray, b=batch) -> tuple[np.ndarray, np.ndarray]:
            extra.append(len(genomes))
            return scorer.batch(genomes, b)

        toolbox.update(population, evaluate=evaluate_extra)
        if (gen + 1) % per_epoch == 0:
            strategy.end_epoch()
        record = stats.compile(population)
        row = {"gen": gen, "loss_mean": record["avg"], "loss_min": record["min"], "loss_max": record["max"],
               "loss_std": record["std"], "train_acc": float(accs.mean()), "best_train_acc": float(accs.max()),
               "val_acc": None, "val_loss": None, "evaluations": len(population) + sum(extra)}
        validate = (gen + 1) % eval_every == 0 or gen == ev["generations"] - 1
        if validate:
            val_loss, val_pred = scorer.dataset(strategy.centroid, val)
            row.update(val_acc=float(np.mean(val_pred == val.labels)), val_loss=val_loss)
            if row["val_acc"] > loop.best_val:
                loop.best_genome, loop.best_val, loop.best_gen, loop.stale = (
                    strategy.centroid.copy(), row["val_acc"], gen, 0)
            else:
                loop.stale += 1
        row["wall_seconds"] = time.time() - t0
        logbook.record(gen=gen, avg=record["avg"], min=record["min"], train_acc=row["train_acc"],
                       val_acc=row["val_acc"])
        if metrics is not None:
            metrics.append(row)
        bar.set_postfix(loss=f"{record['avg']:.4f}", train=f"{row['train_acc']:.3f}",
                        val=f"{loop.best_val:.3f}" if loop.best_val >= 0 else "-", refresh=False)
        loop.gen = gen + 1
        if row["val_acc"] is not None and row["val_acc"] >= ev["target_val_accuracy"]:
            loop.stop_reason = f"validation accuracy reached {ev['target_val_accuracy']}"
        elif validate and ev["patience"] and loop.stale >= ev["patience"]:
            loop.stop_reason = f"no validation improvement in {ev['patience']} validations"
        elif loop.gen == ev["generations"]:
            loop.stop_reason = "generation budget"
        if validate and run_dir is not None:
            loop.records = list(logbook)
            loop.hof_genome, loop.hof_loss = np.asarray(hof[0]).copy(), float(hof[0].fitness.values[0])
            save_checkpoint(run_dir, strategy.state_dict(), loop)
        if loop.stop_reason:
            break
    bar.close()
    return TrainingResult(loop.best_genome, loop.best_val, loop.best_gen, loop.gen, logbook, hof, loop.stop_reason,
                          metrics.rows if metrics else [])


def setup(cfg: dict) -> tuple[ModelSpec, GenomeLayout, dict[str, SpikeData]]:
    """Everything that can fail on bad input, before any directory is created."""
    try:
        model = load_model(cfg["model"]["name"])
    except ValueError as err:
        raise ConfigError(str(err).replace("unknown model", "unknown model.name")) from None
    check_readout(cfg, model)  # fitness.loss and fitness.readout names were checked with the config
    layout = make_layout(cfg, model)
    splits = make_dataset(cfg)
    return model, layout, splits


def recording_needs(fit: dict) -> tuple[bool, bool, tuple[str, ...]]:
    """What a ``[fitness]`` table needs the simulation to record: (the readout
    trace, the readout layer's spikes, the readout statistics besides the max
    to track inside the simulation: "final", "sum")."""
    _, loss_input = fitness.get_loss(fit["loss"])
    reads = {fitness.READOUTS[fit["readout"]], loss_input}
    stats = tuple(name for name in ("final", "sum") if f"v{name}" in reads)
    return ("trace" in reads or fit["smoothness"] > 0, bool(reads & set(fitness.SPIKE_INPUTS)), stats)


def check_readout(cfg: dict, model: ModelSpec) -> None:
    """Spike readouts and the spike-count hinge need a readout layer that spikes."""
    layer = model.layers[model.readout_layer]
    if layer.threshold is None and recording_needs(cfg["fitness"])[1]:
        what = (f"fitness.readout '{cfg['fitness']['readout']}'"
                if fitness.READOUTS[cfg["fitness"]["readout"]] in fitness.SPIKE_INPUTS
                else f"fitness.loss '{cfg['fitness']['loss']}'")
        allowed = ", ".join(k for k, reads in fitness.READOUTS.items() if reads not in fitness.SPIKE_INPUTS)
        raise ConfigError(f"{what} needs a spiking readout layer, but layer '{layer.name}' of model "
                          f"'{model.name}' has no threshold; readouts allowed for this model: {allowed} "
                          "(model lif_spiking has a spiking readout)")


def make_scorer(cfg: dict, model: ModelSpec, layout: GenomeLayout, population: int) -> Scorer:
    """The evaluator holds ``population`` individuals (the strategy's popsize);
    larger requests are evaluated in chunks."""
    f = cfg["fitness"]
    trace, spikes, stats = recording_needs(f)
    evaluator = PopulationEvaluator(model, layout.layer_sizes, population,
                                    cfg["evolve"]["batch_size"], cfg["data"]["n_steps"],
                                    backend=cfg["evolve"]["backend"], record_trace=trace,
                                    record_spikes=(model.readout_layer,) if spikes else False,
                                    readout_stats=stats)
    return Scorer(evaluator, layout, f["loss"], f["margin"], f["l2"], f["readout"], f["smoothness"])


def seeded_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for initialisation and the strategy (minibatches
    are drawn from (seed, epoch), see :func:`batch_indices`)."""
    init, strat = np.random.SeedSequence(seed).spawn(2)
    return {"init": np.random.default_rng(init), "strategy": np.random.default_rng(strat)}


def model_text(model: ModelSpec) -> str:
    return Path(model.source).read_text() if model.source else ""
