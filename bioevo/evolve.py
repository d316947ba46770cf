"""The training loop: minibatches, DEAP bookkeeping, validation of the
strategy's mean, best-by-validation model, early stop, checkpoints."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from deap import base, tools
from tqdm import tqdm

from . import interrupt
from .checkpoint import CHECKPOINT, LoopState, save_checkpoint
from .config import temperature_at
from .data.spikes import SpikeData
from .errors import RunError
from .rundir import MetricsLog
from .scoring import Scorer
from .strategies.base import Strategy, deap_classes


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
    best_val_loss: float
    generations: int
    stop_reason: str
    wall_seconds: float
    history: list[dict] = field(default_factory=list)


def _statistics() -> tools.Statistics:
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    for name, fn in (("avg", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
        stats.register(name, fn)
    return stats


def _stop_reason(ev: dict, loop: LoopState, val_acc: float | None, validated: bool) -> str:
    if val_acc is not None and val_acc >= ev["target_val_accuracy"]:
        return f"validation accuracy reached {ev['target_val_accuracy']}"
    if validated and ev["patience"] and loop.stale >= ev["patience"]:
        return f"no validation improvement in {ev['patience']} validations"
    if loop.gen == ev["generations"]:
        return "generation budget"
    return ""


def moving_average(average: np.ndarray | None, mean: np.ndarray, decay: float, updates: int) -> np.ndarray:
    """The bias-corrected exponential moving average of the strategy's mean after ``updates`` updates
    (Adam's correction: the weights of the means seen so far sum to one, so the first is the first mean).
    Why: the mean of an ES jitters by about one step per generation around where the estimate's noise
    lets it settle; averaging the last ~1 / (1 - decay) means cancels part of that jitter."""
    if average is None:
        return mean.copy()
    weight = (1.0 - decay) / (1.0 - decay ** updates)
    return average + weight * (mean - average)


#: scores genomes on the training samples at the given indices: (loss, accuracy) per genome
PopulationScorer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def train(cfg: dict, splits: dict[str, SpikeData], scorer: Scorer, strategy: Strategy, batch_seed: int,
          metrics: MetricsLog | None = None, run_dir: Path | None = None, loop: LoopState | None = None,
          population_scorer: PopulationScorer | None = None) -> TrainingResult:
    """Run the strategy until the generation budget, the target validation
    accuracy, or the patience (in validations without improvement) ends it.
    The kept genome is the strategy's mean (or its moving average,
    ``evolve.average_decay``) at the validation of the highest accuracy
    (``evolve.keep_by = "accuracy"``, the first on ties) or of the lowest loss
    (``"loss"``); the same figure resets the patience.
    With ``run_dir`` a checkpoint is written after every validation; ``loop``
    continues from one (a loop that had already stopped runs nothing).
    ``population_scorer`` scores the generations elsewhere (a Dask cluster,
    bioevo.cluster) from the batch indices; validation stays with ``scorer``."""
    ev = cfg["evolve"]
    train_data, val = splits["train"], splits["val"]
    per_epoch = len(train_data) // ev["batch_size"]
    eval_every = ev["eval_every"] or per_epoch  # default: once per epoch
    toolbox = base.Toolbox()
    _, individual = deap_classes()
    toolbox.register("generate", strategy.generate, individual)
    toolbox.register("update", strategy.update)
    stats = _statistics()
    loop = loop or LoopState(best_genome=strategy.centroid.copy())
    t0 = time.time() - loop.wall_seconds  # training time sums over resumed segments
    bar = tqdm(range(loop.gen, ev["generations"]), disable=not ev["progress"] or bool(loop.stop_reason),
               desc=cfg["run"]["name"], unit="gen", dynamic_ncols=True, initial=loop.gen, total=ev["generations"])
    for gen in bar:
        interrupt.raise_if_pending()  # a Ctrl-C the garbage collector swallowed stops the run here
        if loop.stop_reason:  # resumed after the run had stopped (target or patience) but before it finished
            break
        indices = batch_indices(len(train_data), ev["batch_size"], batch_seed, gen)
        scorer.temperature = temperature_at(cfg["fitness"], gen)  # training and validation alike
        if population_scorer is None:
            batch = train_data.subset(indices)
            score = lambda genomes, b=batch: scorer.batch(genomes, b)  # noqa: E731
        else:
            score = lambda genomes, i=indices: population_scorer(genomes, i)  # noqa: E731
        with np.errstate(over="ignore", invalid="ignore"):  # an extreme knob: non-finite losses are handled below
            population = toolbox.generate()
            losses, accs = score(np.asarray(population))
        if not np.isfinite(losses).any():
            kept = (f"the last checkpoint (generation {loop.gen}) is kept"
                    if run_dir is not None and (Path(run_dir) / CHECKPOINT).exists()
                    else "no checkpoint had been written, so nothing is kept")
            raise RunError(f"every individual of generation {gen} has a non-finite loss: the network blows up or "
                           f"a knob is extreme (weight gains, time constants, fitness weights, strategy sigma); {kept}")
        for ind, loss, acc in zip(population, losses, accs):
            ind.fitness.values = (float(loss),)
            ind.accuracy = float(acc)
        extra = []  # genomes scored on top of the population (pooling offspring)

        def evaluate_extra(genomes: np.ndarray, score=score) -> tuple[np.ndarray, np.ndarray]:
            extra.append(len(genomes))
            return score(genomes)

        with np.errstate(over="ignore", invalid="ignore"):
            toolbox.update(population, evaluate=evaluate_extra)
        if (gen + 1) % per_epoch == 0:
            strategy.end_epoch()
        if ev["average_decay"]:
            loop.average = moving_average(loop.average, strategy.centroid, ev["average_decay"], gen + 1)
        validated_genome = strategy.centroid if loop.average is None else loop.average
        record = stats.compile(population)
        row = {"gen": gen, "loss_mean": record["avg"], "loss_min": record["min"], "loss_max": record["max"],
               "loss_std": record["std"], "train_acc": float(accs.mean()), "best_train_acc": float(accs.max()),
               "val_acc": None, "val_loss": None, "evaluations": len(population) + sum(extra)}
        validated = (gen + 1) % eval_every == 0 or gen == ev["generations"] - 1
        if validated:
            val_loss, val_pred = scorer.dataset(validated_genome, val)
            row.update(val_acc=float(np.mean(val_pred == val.labels)), val_loss=val_loss)
            if (row["val_loss"] < loop.best_val_loss if ev["keep_by"] == "loss" else row["val_acc"] > loop.best_val):
                loop.best_genome, loop.best_val, loop.best_val_loss, loop.best_gen, loop.stale = (
                    validated_genome.copy(), row["val_acc"], float(val_loss), gen, 0)
            else:
                loop.stale += 1
        row["wall_seconds"] = time.time() - t0
        if metrics is not None:
            metrics.append(row)
        bar.set_postfix(loss=f"{record['avg']:.4f}", train=f"{row['train_acc']:.3f}",
                        val=f"{loop.best_val:.3f}" if loop.best_val >= 0 else "-", refresh=False)
        loop.gen = gen + 1
        loop.stop_reason = _stop_reason(ev, loop, row["val_acc"], validated)
        if validated and run_dir is not None:
            loop.wall_seconds = time.time() - t0
            save_checkpoint(run_dir, strategy.state_dict(), loop, cfg)
        if loop.stop_reason:
            break
    bar.close()
    return TrainingResult(loop.best_genome, loop.best_val, loop.best_gen, loop.best_val_loss, loop.gen,
                          loop.stop_reason, time.time() - t0, metrics.rows if metrics else [])
