"""Evaluate a population of genomes on a batch of samples in one Brian2 run.

The network is built once per (model, sizes, P, B, T); each evaluation only
feeds new weights, neuron parameters and input raster.  Backends:

* ``cpp`` (default): cpp_standalone.  The project is compiled once into a
  cache folder keyed by everything that shapes the generated code, so a second
  process reuses it; new values travel as ``run_args`` files.  A file lock
  keeps a build from rewriting the project while another process runs it.
* ``runtime``: Brian2's numpy target.  No compiler, slow; for tests and tiny runs.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import brian2 as b2
import numpy as np

from ..genome import NetworkParameters
from ..model import ModelSpec
from .network import BrianNetwork, build_network, run_duration

BACKENDS = ("cpp", "runtime")
_BUILD_FORMAT = 1  # bump when the generated network changes shape


@dataclass
class Readouts:
    """What the fitness functions read, shaped (P, B, ...)."""

    vmax: np.ndarray  # (P, B, O) max over time of the readout variable
    trace: np.ndarray | None = None  # (P, B, T, O)
    spike_counts: dict[str, np.ndarray] | None = None  # layer -> (P, B, n)


def cache_root() -> Path:
    """Where compiled projects live: $BIOEVO_CACHE, else ~/.cache/bioevo."""
    root = os.environ.get("BIOEVO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "bioevo")
    return Path(root)


@contextmanager
def _locked(path: Path, exclusive: bool):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# Brian2 has one standalone device per process; a new build resets it and
# invalidates earlier cpp evaluators.  This counts builds to say so clearly.
_cpp_builds = 0


class PopulationEvaluator:
    """Runs P individuals on B samples of T steps; see the module docstring."""

    def __init__(
        self,
        model: ModelSpec,
        layer_sizes: dict[str, int],
        population: int,
        batch: int,
        n_steps: int,
        backend: str = "cpp",
        record_trace: bool = False,
        record_spikes: bool = False,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend '{backend}' is not allowed; allowed: {', '.join(BACKENDS)}")
        if population < 1 or batch < 1 or n_steps < 1:
            raise ValueError(f"population, batch and n_steps must be >= 1, got {population}, {batch}, {n_steps}")
        self.model, self.layer_sizes = model, dict(layer_sizes)
        self.population, self.batch, self.n_steps = population, batch, n_steps
        self.backend, self.record_trace, self.record_spikes = backend, record_trace, record_spikes
        self.n_out = self.layer_sizes[model.readout_layer]
        if backend == "cpp":
            self._build_cpp()
        else:
            self._build_runtime()

    # ------------------------------------------------------------------ build
    def _build_key(self) -> str:
        spec = {"model": asdict(self.model) | {"source": ""}, "sizes": self.layer_sizes, "P": self.population,
                "B": self.batch, "T": self.n_steps, "trace": self.record_trace, "spikes": self.record_spikes,
                "brian2": b2.__version__, "format": _BUILD_FORMAT,
                "code_objects": sorted(b2.get_device().code_objects)}  # get _1 suffixes while older Brian objects live
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{self.model.name}-P{self.population}-B{self.batch}-T{self.n_steps}-{digest}"

    def _build_cpp(self) -> None:
        global _cpp_builds
        b2.set_device("cpp_standalone", build_on_run=False)
        device = b2.get_device()
        if _cpp_builds:
            device.reinit()
            device.activate(build_on_run=False)
        _cpp_builds += 1
        self._build_number = _cpp_builds
        self._device = device
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
        self.net = build_network(self.model, self.layer_sizes, self.population, self.batch, self.n_steps,
                                 self.record_trace, self.record_spikes)
        network = b2.Network(self.net.objects())
        network.run(run_duration(self.model, self.batch, self.n_steps), namespace={})
        self._network = network
        self.project_dir = cache_root() / "cpp" / self._build_key()
        self._lock = self.project_dir.with_suffix(".lock")
        with _locked(self._lock, exclusive=True):
            device.build(directory=str(self.project_dir), compile=True, run=False, with_output=False)
        b2.set_device("runtime")  # leave the global device usable for runtime networks
        # Each evaluator (and process) keeps its own results and input files.
        self._results_name = f"results-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._results_dir = self.project_dir / self._results_name
        self._results_dir.mkdir(parents=True, exist_ok=True)
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._results_dir), True)

    def _build_runtime(self) -> None:
        b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"
        self.net = build_network(self.model, self.layer_sizes, self.population, self.batch, self.n_steps,
                                 self.record_trace, self.record_spikes)
        self._network = b2.Network(self.net.objects())
        self._network.store("initial")

    def close(self) -> None:
        """Remove this evaluator's results folder (the compiled project stays cached)."""
        if self.backend == "cpp":
            self._finalizer()

    # --------------------------------------------------------------- evaluate
    def _flat_values(self, params: NetworkParameters) -> dict[tuple[str, str], np.ndarray]:
        """(group name, variable) -> flat float64 array in Brian's neuron/synapse order."""
        values = {}
        for syn in self.model.synapses:
            values[(syn, "w")] = params.weights[syn]
        dt = self.model.dt
        for layer in self.model.layers.values():
            given = params.neurons.get(layer.name, {})
            for name, value in layer.brian_parameters(given, dt).items():
                values[(layer.name, name)] = value
        out = {}
        for key, value in values.items():
            value = np.ascontiguousarray(value, dtype=np.float64).reshape(-1)
            expected = self._size_of(*key)
            if value.size != expected:
                raise ValueError(f"{key[0]}.{key[1]}: got {value.size} values, the network has {expected}")
            out[key] = value
        return out

    def _size_of(self, group: str, var: str) -> int:
        if group in self.net.synapses:
            layer = self.model.synapses[group]
            return self.population * self.layer_sizes[layer.source] * self.layer_sizes[layer.target]
        return self.population * self.layer_sizes[group]

    def evaluate(self, params: NetworkParameters, raster: np.ndarray) -> Readouts:
        """Simulate every individual of ``params`` on every sample of ``raster``
        (bool, shape (b, T, M)); fewer individuals or samples than the network
        holds are padded (with copies of the last individual / silent samples)
        and trimmed from the result."""
        n_ind = params.population
        raster = np.asarray(raster)
        n_samples = raster.shape[0]
        if n_ind > self.population or n_samples > self.batch:
            raise ValueError(f"evaluator holds {self.population} individuals x {self.batch} samples, "
                             f"got {n_ind} x {n_samples}")
        if raster.shape[1:] != (self.n_steps, self.layer_sizes["input"]):
            raise ValueError(f"raster must have shape (b, {self.n_steps}, {self.layer_sizes['input']}), "
                             f"got {raster.shape}")
        if n_ind < self.population:
            params = _pad_population(params, self.population)
        inputs = np.zeros((self.batch * self.n_steps, self.layer_sizes["input"]))
        inputs[: n_samples * self.n_steps] = raster.reshape(n_samples * self.n_steps, -1)
        values = self._flat_values(params)
        if self.backend == "cpp":
            self._run_cpp(values, inputs)
        else:
            self._run_runtime(values, inputs)
        return self._collect(n_ind, n_samples)

    def _run_cpp(self, values: dict, inputs: np.ndarray) -> None:
        if self._build_number != _cpp_builds:
            raise RuntimeError("this cpp evaluator was superseded by a newer cpp build in the same process "
                               "(Brian2 holds one standalone project per process)")
        args = []
        for (group, var), value in [*values.items(), (("input_raster", "values"), inputs.ravel())]:
            path = self._results_dir / f"arg_{group}_{var}.dat"
            value.astype(np.float64).tofile(path)
            args.append(f"{group}.{var}={path}")
        with _locked(self._lock, exclusive=False):
            self._device.run(directory=str(self.project_dir), results_directory=self._results_name,
                             with_output=False, run_args=args)

    def _run_runtime(self, values: dict, inputs: np.ndarray) -> None:
        self._network.restore("initial")
        for (group, var), value in values.items():
            obj = self.net.synapses.get(group) or self.net.groups[group]
            obj.variables[var].set_value(value)
        self.net.inputs.values[:] = inputs
        self._network.run(run_duration(self.model, self.batch, self.n_steps), namespace={})

    def _collect(self, n_ind: int, n_samples: int) -> Readouts:
        P, B, T, O = self.population, self.batch, self.n_steps, self.n_out
        raw = np.asarray(self.net.max_monitor.variables["readout_max"].get_value())  # (t, P*O)
        vmax = raw[1 : B + 1].reshape(B, P, O).transpose(1, 0, 2)
        trace = None
        if self.net.trace_monitor is not None:
            var = self.model.readout_variable
            raw = np.asarray(self.net.trace_monitor.variables[var].get_value())[: B * T]
            trace = raw.reshape(B, T, P, O).transpose(2, 0, 1, 3)[:n_ind, :n_samples]
        counts = None
        if self.net.spike_monitors:
            counts = {}
            for name, mon in self.net.spike_monitors.items():
                n = self.layer_sizes[name]
                idx = np.asarray(mon.variables["i"].get_value())
                step = np.round(np.asarray(mon.variables["t"].get_value()) / (self.model.dt * 1e-3)).astype(np.int64)
                keep = step < B * T
                c = np.zeros((P, B, n), dtype=np.int64)
                np.add.at(c, (idx[keep] // n, step[keep] // T, idx[keep] % n), 1)
                counts[name] = c[:n_ind, :n_samples]
        return Readouts(vmax[:n_ind, :n_samples].copy(), trace, counts)


def _pad_population(params: NetworkParameters, population: int) -> NetworkParameters:
    def pad(a: np.ndarray) -> np.ndarray:
        extra = np.repeat(a[-1:], population - a.shape[0], axis=0)
        return np.concatenate([a, extra], axis=0)

    return NetworkParameters({k: pad(v) for k, v in params.weights.items()},
                             {layer: {k: pad(v) for k, v in d.items()} for layer, d in params.neurons.items()})
