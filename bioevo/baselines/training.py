"""One training loop for every baseline: Adam on softmax cross-entropy over
shuffled minibatches, the validation split scored after every epoch, the
best-by-validation parameters kept, early stop after ``patience`` epochs
without improvement or once the validation accuracy reaches the target (the
evolved run's own stopping rule, so wall times compare).  The test split is not an argument of :func:`fit`: it
cannot take part in selection; it is scored once, afterwards."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..data.spikes import SpikeData


@dataclass
class Method:
    """A trainable model: ``init(key) -> params`` and ``logits(params, x) -> (B, C)``
    for a float batch x (B, T, M), or for ``prepare(raster)`` of the batch's
    raster when a method reads its input in another form (e.g. decoded images)."""

    name: str
    init: Callable[[jax.Array], Any]
    logits: Callable[[Any, jnp.ndarray], jnp.ndarray]
    lr: float
    architecture: str
    prepare: Callable[[np.ndarray], np.ndarray] | None = None
    weight_decay: float = 0.0

    def inputs(self, data: SpikeData) -> np.ndarray:
        """The batch ``data`` as this method reads it."""
        return data.raster if self.prepare is None else self.prepare(data.raster)

    def __post_init__(self) -> None:
        def scored(p, x, y):
            logits = self.logits(p, x.astype(jnp.float32))
            return _loss(logits, y), jnp.argmax(logits, axis=1)
        self.scored = jax.jit(scored)


@dataclass
class FitResult:
    params: Any
    best_epoch: int  # 1-based epoch whose parameters were kept
    epochs: int  # epochs run
    val_accuracy: float
    val_loss: float
    wall_seconds: float
    history: list[dict] = field(default_factory=list)  # per epoch: train_loss, val_accuracy, val_loss


def n_parameters(params: Any) -> int:
    return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(params)))


def _loss(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def evaluate(method: Method, params: Any, data: SpikeData, batch_size: int) -> tuple[float, float, np.ndarray]:
    """(accuracy, mean cross-entropy, predictions) of ``params`` on ``data``
    (ties of the logits go to the lowest class, as in bioevo.fitness).  Every
    batch is padded to ``batch_size``: validation and test share one compilation."""
    n = len(data)
    size = batch_size
    losses, preds = np.empty(n), np.empty(n, np.int64)
    for start in range(0, n, size):
        batch = data.subset(slice(start, start + size))  # a sparse store densifies one batch only
        x, y = method.inputs(batch), batch.labels
        m = len(y)
        if m < size:  # pad the last batch to the compiled shape
            x = np.concatenate([x, np.zeros((size - m, *x.shape[1:]), x.dtype)])
            y = np.concatenate([y, np.zeros(size - m, y.dtype)])
        loss, pred = method.scored(params, x, y)
        losses[start:start + m], preds[start:start + m] = np.asarray(loss)[:m], np.asarray(pred)[:m]
    return float(np.mean(preds == data.labels)), float(np.mean(losses)), preds


def fit(method: Method, train: SpikeData, val: SpikeData, settings: dict, seed: int,
        report: Callable[[str], None] | None = None) -> FitResult:
    """Train on ``train``, select on ``val`` (accuracy, ties by lower loss)."""
    t0 = time.time()
    opt = optax.chain(optax.clip_by_global_norm(settings["clip"]),
                      optax.adamw(method.lr, weight_decay=method.weight_decay))

    @jax.jit  # one compilation, not one per operation
    def initialise(key):
        p = method.init(key)
        return p, opt.init(p)

    params, state = initialise(jax.random.PRNGKey(seed))

    @jax.jit
    def step(p, s, x, y):
        loss, grads = jax.value_and_grad(lambda q: _loss(method.logits(q, x.astype(jnp.float32)), y).mean())(p)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    n = len(train)
    size = min(settings["batch_size"], n)
    best = FitResult(params, 0, 0, -1.0, np.inf, 0.0)
    history = []
    for epoch in range(1, settings["epochs"] + 1):
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        losses = []
        for start in range(0, n - size + 1, size):  # ragged tail dropped: one compiled shape
            batch = train.subset(perm[start:start + size])
            params, state, loss = step(params, state, method.inputs(batch), batch.labels)
            losses.append(float(loss))
        val_acc, val_loss, _ = evaluate(method, params, val, settings["eval_batch_size"])
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_accuracy": val_acc,
                        "val_loss": val_loss})
        if val_acc > best.val_accuracy or (val_acc == best.val_accuracy and val_loss < best.val_loss):
            best = FitResult(params, epoch, epoch, val_acc, val_loss, 0.0)
        if report is not None:
            report(f"{method.name} epoch {epoch}: train loss {history[-1]['train_loss']:.4f}, "
                   f"val {val_acc:.4f} (best {best.val_accuracy:.4f} at {best.best_epoch})")
        if (not np.isfinite(history[-1]["train_loss"]) or epoch - best.best_epoch >= settings["patience"]
                or val_acc >= settings["target_val_accuracy"]):
            break
    best.epochs, best.history, best.wall_seconds = len(history), history, time.time() - t0
    return best
