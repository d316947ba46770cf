"""What every strategy shares: declared hyperparameters, their validation, rng
handling, state as a dataclass with its HDF5 round trip, and DEAP's classes.

Protocol (``deap.cma.Strategy``'s generate/update, plus what resumable evolution needs)::

    generate(ind_init) -> list        # popsize new individuals, ind_init(np.ndarray) makes one
    update(population, evaluate=None) # reads ind.fitness.values[0] (a LOSS, minimised) and ind.accuracy
                                      # (may be absent); evaluate(genomes (n, N)) -> (losses, accuracies)
                                      # scores extra candidates on the same batch (pooling)
    end_epoch()                       # once per pass over the training set (hybrid anneals)
    popsize: int                      # individuals per generate() (hybrid: at the start)
    centroid: np.ndarray              # the current estimate: what is validated and kept
    state_dict() / load_state_dict(d) # arrays, scalars, strings, None, dicts; restores exactly

A strategy subclasses :class:`Strategy`, declares ``name`` (its registry key),
``PARAMS`` and ``State`` (a dataclass of all that changes), and implements
``initial_state(centroid)``, ``generate`` and ``update``.

Step scales.  Every strategy also takes ``scale``, one positive number per gene
(default 1), and behaves as if it searched ``y = x / scale``: every width it
samples with and every step it takes is multiplied, gene by gene, by ``scale``
(sigma, Adam's step, the initial spread and velocity clamp of a swarm, the
initial covariance of CMA, a proposal width, ...).  So a gene with scale 0.1
moves a tenth as far as one with scale 1, whatever the strategy.  The genome's
segments give the scales (:meth:`bioevo.genome.GenomeLayout.step_scales`).  The
scale is kept in ``state_dict`` (a checkpoint without one means 1 everywhere),
and multiplying by 1.0 is exact, so all-ones scales reproduce a run without them
bit for bit.
"""
from __future__ import annotations

import copy
import json
import math
import operator
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import h5py
import numpy as np
from deap import base as deap_base
from deap import creator

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def deap_classes() -> tuple[type, type]:
    """DEAP's ``creator.FitnessMin`` (losses are minimised, ``weights=(-1.0,)``) and
    ``creator.Individual`` (an ndarray with that fitness), created on the first call.

    DEAP builds an ndarray individual through a Python list (``numpy.array(list(genome))``):
    0.5 ms for a 9,472-gene digits genome, so that generating a population took as long as
    evaluating it (results/perf/README.md).  The Individual here copies an ndarray directly
    (other iterables still go through a list): the same values, type and fitness; copying
    and pickling stay DEAP's."""
    if not hasattr(creator, "FitnessMin"):
        creator.create("FitnessMin", deap_base.Fitness, weights=(-1.0,))
    if not hasattr(creator, "Individual"):
        creator.create("Individual", np.ndarray, fitness=creator.FitnessMin)
    creator.Individual.__new__ = staticmethod(_individual_from)  # again after an unpickling re-created the class
    return creator.FitnessMin, creator.Individual


def _individual_from(cls: type, genome: Any) -> np.ndarray:
    """A new ``cls`` array holding a copy of ``genome`` (DEAP's ``__new__`` without the list)."""
    values = genome if isinstance(genome, np.ndarray) else list(genome)
    return np.array(values).view(cls)


@dataclass(frozen=True)
class Param:
    """One hyperparameter, typed by its default (bool, int, float or str); numbers are
    finite and within ``gt``/``ge``/``lt``/``le``, unless ``bound`` (a box bound:
    ±inf or None unbounded, one number or one per dimension)."""

    name: str
    default: Any
    doc: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    bound: bool = False

    def allowed(self) -> str:
        """What the value may be, in words."""
        if isinstance(self.default, bool):
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.bound:
            return "None or a number (±inf: unbounded), or one number per dimension"
        limits = " and ".join(f"{sym} {lim:g}" for sym, _, lim in self._limits())
        return ("an integer " if isinstance(self.default, int) else "a finite number ") + limits

    def _limits(self) -> list[tuple[str, Callable, float]]:
        return [(sym, op, lim) for sym, op, lim in ((">", operator.gt, self.gt), (">=", operator.ge, self.ge),
                                                    ("<", operator.lt, self.lt), ("<=", operator.le, self.le))
                if lim is not None]

    def check(self, value: Any, key: str) -> Any:
        """``value`` as this parameter's type, or ValueError naming ``key``, the value and what is allowed."""
        value = value.item() if isinstance(value, np.generic) else value
        refuse = ValueError(f"{key} must be {self.allowed()}, got {show(value)}")
        if self.bound:
            return self.default if value is None else _bound(value, refuse)
        if isinstance(self.default, bool) or self.choices:
            if value not in (self.choices or (True, False)) or type(value) is not type(self.default):
                raise refuse
            return value
        if isinstance(value, bool) or not isinstance(value, int if isinstance(self.default, int) else (int, float)):
            raise refuse
        value = type(self.default)(value)
        if not (math.isfinite(value) and all(op(value, lim) for _, op, lim in self._limits())):
            raise refuse
        return value


def show(value: Any) -> str:
    """A value for a one-line message."""
    if isinstance(value, np.ndarray):
        return repr(value.tolist()) if value.size <= 8 else f"an array of shape {value.shape}"
    return repr(value)


def _bound(value: Any, refuse: ValueError) -> float | np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise refuse from None
    if isinstance(value, (bool, str)) or arr.ndim > 1 or arr.size == 0 or np.any(np.isnan(arr)):
        raise refuse
    return float(arr) if arr.ndim == 0 else arr


class Strategy:
    """Hyperparameters in ``params``, the state in ``state``; both read as attributes
    (``self.sigma``, the state first), and state fields are set as attributes."""

    name: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]]
    DEFAULTS: ClassVar[dict[str, Any]]
    State: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "PARAMS" in vars(cls):
            cls.DEFAULTS = {p.name: p.default for p in cls.PARAMS}

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *, scale: Any = None,
                 **params: Any) -> None:
        self.params = self.validate(params)
        self.rng = np.random.default_rng(rng)
        centroid = np.array(centroid, dtype=np.float64).ravel()
        if centroid.size == 0 or not np.all(np.isfinite(centroid)):
            raise ValueError(f"centroid must be a non-empty array of finite numbers, got {show(centroid)}")
        self.scale = step_scale(scale, centroid.size)
        self.setup(centroid.size)
        self.state = self.initial_state(centroid)

    @classmethod
    def validate(cls, params: dict[str, Any]) -> dict[str, Any]:
        """All hyperparameters (defaults filled in) checked and typed; ValueError, one line, for a bad one."""
        unknown = sorted(set(params) - set(cls.DEFAULTS))
        if unknown:
            raise ValueError(f"strategy.{cls.name}.{unknown[0]} is not a hyperparameter of {cls.name}; "
                             f"allowed: {', '.join(cls.DEFAULTS)}")
        out = {p.name: p.check(params.get(p.name, p.default), f"strategy.{cls.name}.{p.name}") for p in cls.PARAMS}
        cls.check(out)
        return out

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        """Constraints between hyperparameters (override, raising :meth:`refuse`)."""

    @classmethod
    def refuse(cls, param: str, value: Any, allowed: str) -> ValueError:
        return ValueError(f"strategy.{cls.name}.{param} must be {allowed}, got {show(value)}")

    def setup(self, dim: int) -> None:
        """Derived constants and transient attributes, also after a restore (override)."""

    def end_epoch(self) -> None:
        """Once per pass over the training set; nothing unless a strategy anneals per epoch."""

    @property
    def popsize(self) -> int:
        return self.params["popsize"]

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "state" in d and name in d["state"].__dataclass_fields__:
            return getattr(d["state"], name)
        if "params" in d and name in d["params"]:
            return d["params"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__.get("state")
        if state is not None and name in state.__dataclass_fields__ and not hasattr(type(self), name):
            setattr(state, name, value)
        else:
            object.__setattr__(self, name, value)

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, state and rng: arrays, scalars, strings and None only."""
        return copy.deepcopy({"kind": self.name, "params": self.params, "state": vars(self.state),
                              "rng_state": rng_state_to_json(self.rng), "scale": self.scale})

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore exactly from :meth:`state_dict` (also as read back by :func:`read_state`)."""
        _require(d, ("kind", "params", "state", "rng_state"), self.name)
        if d["kind"] != self.name:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.name!r}")
        self.params = self.validate(dict(d["params"]))
        self.rng = rng_from_json(d["rng_state"])
        self.state = _restore(self.State, d["state"], self.name)
        self.scale = step_scale(d.get("scale"), self.dim)  # saved before step scales existed: all ones
        self.setup(self.dim)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "Strategy":
        obj = cls.__new__(cls)
        obj.load_state_dict(d)
        return obj


def step_scale(scale: Any, dim: int) -> np.ndarray:
    """``scale`` as ``dim`` positive finite float64 numbers (None: ones; one number: the same for every gene)."""
    refuse = ValueError(f"scale must be a finite number > 0 or {dim} of them (one per gene), got {show(scale)}")
    if scale is None:
        return np.ones(dim)
    try:
        out = np.array(scale, dtype=np.float64)
    except (TypeError, ValueError):
        raise refuse from None
    if isinstance(scale, (bool, str)) or out.ndim > 1 or out.size not in (1, dim):
        raise refuse
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise refuse
    return np.broadcast_to(out.ravel(), (dim,)).copy()


def _require(d: dict[str, Any], keys: Any, name: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise ValueError(f"the state of {name} lacks '{missing[0]}' (saved by another version of bioevo?)")


def _restore(state_cls: type, d: dict[str, Any], name: str) -> Any:
    """A ``state_cls`` from a dict, each value converted to its field's annotated type."""
    hints = typing.get_type_hints(state_cls)
    _require(d, hints, name)
    return state_cls(**{key: _as_type(hint, d[key]) for key, hint in hints.items()})


def _as_type(hint: Any, value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(hint, types.UnionType):  # X | None
        if value is None:
            return None
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    return np.array(value, dtype=np.float64) if hint is np.ndarray else hint(value)


def losses_of(population: list) -> np.ndarray:
    """The losses of an evaluated population, refusing unevaluated individuals."""
    if any(not ind.fitness.valid for ind in population):
        raise ValueError("every individual needs a fitness before update()")
    return np.array([ind.fitness.values[0] for ind in population], dtype=np.float64)


def accuracies_of(population: list) -> np.ndarray:
    """Batch accuracies (``ind.accuracy``), NaN where absent."""
    return np.array([getattr(ind, "accuracy", np.nan) for ind in population], dtype=np.float64)


def genomes_of(population: list, dim: int) -> np.ndarray:
    """The genomes of a population as an (n, dim) float64 array."""
    x = np.asarray([np.asarray(ind, dtype=np.float64).ravel() for ind in population])
    if len(population) == 0 or x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"update() needs individuals of {dim} genes, got an array of shape {x.shape}")
    return x


def matching_genomes(population: list, expected: np.ndarray | None, atol: float) -> np.ndarray:
    """The genomes of ``population``, refused unless they are ``expected`` (the last generate()'s)."""
    if expected is None:
        raise RuntimeError("update() called without a preceding generate()")
    if len(population) != expected.shape[0]:
        raise ValueError(f"expected {expected.shape[0]} individuals, got {len(population)}")
    x = genomes_of(population, expected.shape[1])
    if not np.allclose(x, expected, rtol=1e-6, atol=atol):
        raise ValueError("population does not match the last generate() (reordered, modified or stale individuals?)")
    return x


def breed(rng: np.random.Generator, parents: np.ndarray, n: int, sigma: float | np.ndarray,
          evaluate: Evaluate) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` offspring ``parents[j % k] + sigma * e_j`` (``sigma``: one number or one per gene; ``e``: one
    ``rng.standard_normal((n, N))`` draw) scored by ``evaluate`` on the current batch: (offspring, e, losses,
    accuracies)."""
    noise = rng.standard_normal((n, parents.shape[1]))
    offspring = parents[np.arange(n) % len(parents)] + sigma * noise
    result = evaluate(offspring.copy())
    try:
        losses, accuracies = result
    except (TypeError, ValueError):
        raise ValueError("evaluate must return (losses, accuracies)") from None
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if losses.shape != (n,):
        raise ValueError(f"evaluate returned {losses.shape[0]} losses for {n} offspring")
    return offspring, noise, losses, np.asarray(accuracies, dtype=np.float64).ravel()


def elite_indices(losses: np.ndarray, n_elite: int) -> np.ndarray:
    """Indices of the ``n_elite`` lowest losses, best first; NaN sorts last, ties by position."""
    losses = np.asarray(losses, dtype=np.float64)
    order = np.argsort(np.where(np.isnan(losses), np.inf, losses), kind="stable")
    return order[:n_elite]


def gaussian_individuals(ind_init: Callable[[np.ndarray], Any], rng: np.random.Generator, n: int,
                         centroid: np.ndarray, scale: Any) -> list:
    """``n`` individuals ``centroid + scale * z_k`` from one ``rng.standard_normal((n, N))`` draw."""
    return [ind_init(centroid + scale * z) for z in rng.standard_normal((n, centroid.size))]


def mirrored_noise(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """``n`` standard-normal rows ``+e0, -e0, +e1, -e1, ...`` (the last unpaired if n is odd)
    from one ``rng.standard_normal((ceil(n / 2), dim))`` draw."""
    half = rng.standard_normal(((n + 1) // 2, dim))
    noise = np.empty((n, dim))
    noise[0::2] = half
    noise[1::2] = -half[: n // 2]
    return noise


def adam_update(m: np.ndarray, v: np.ndarray, t: int, grad: np.ndarray, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bias-corrected Adam step on an ascent direction ``grad`` (``t`` counts
    steps, this one included): returns the new moments and ``m_hat / (sqrt(v_hat) + eps)``,
    a per-entry normalised direction the caller scales by its learning rate."""
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad**2
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return m, v, m_hat / (np.sqrt(v_hat) + eps)


def rng_state_to_json(rng: np.random.Generator | np.random.RandomState) -> str:
    """A generator's (or a legacy RandomState's) state as JSON."""
    state = rng.get_state(legacy=False) if isinstance(rng, np.random.RandomState) else rng.bit_generator.state
    return json.dumps(state, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else int(o))


def rng_from_json(s: str | bytes) -> Any:
    """Inverse of :func:`rng_state_to_json`: a Generator, or a RandomState for a legacy state."""
    state = json.loads(s.decode("utf-8") if isinstance(s, bytes) else str(s))
    if "key" in state.get("state", {}):  # MT19937 wants an array key
        state["state"]["key"] = np.asarray(state["state"]["key"], dtype=np.uint32)
    if "has_gauss" in state:
        legacy = np.random.RandomState()
        legacy.set_state(state)
        return legacy
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    return np.random.Generator(bitgen)


def write_state(group: h5py.Group, state: dict[str, Any]) -> None:
    """Store a state_dict in an HDF5 group: arrays as datasets, dicts as subgroups, the rest as attributes."""
    for key, value in state.items():
        if isinstance(value, dict):
            write_state(group.create_group(key), value)
        elif isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        elif value is None:
            group.attrs[key] = "__none__"
        else:
            group.attrs[key] = value


def read_state(group: h5py.Group) -> dict[str, Any]:
    """Inverse of :func:`write_state`."""
    out: dict[str, Any] = {key: read_state(item) if isinstance(item, h5py.Group) else item[()]
                           for key, item in group.items()}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = None if value == "__none__" else value
    return out
