"""Evaluate a population of genomes on a batch of samples in one Brian2 run.

The network is built once per (model, sizes, P, B, T); each evaluation only
feeds new weights, neuron parameters and input raster.  Backends:

* ``cpp`` (default): cpp_standalone.  The project is compiled once into a
  cache folder keyed by everything that shapes the generated code, so a second
  process reuses it; new values travel as ``run_args`` files.  A file lock
  keeps a build from rewriting the project while another process runs it.
* ``runtime``: Brian2's numpy target.  No compiler, slow; for tests and tiny runs.
* ``cuda``: brian2cuda's cuda_standalone, built, cached and rerun with
  ``run_args`` exactly like ``cpp`` (brian2cuda copies each value set from the
  command line to the GPU before the run), one binary per GPU.  Building needs
  brian2cuda and nvcc, not a GPU (``bioevo.sim.cuda``); running needs one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import brian2 as b2
import numpy as np

from ..genome import NetworkParameters
from ..model import ModelSpec
from ..readout_stats import TRACKED_STATS
from .cache import cache_root, project_lock
from .network import READOUT_MAX, build_network, run_duration

BACKENDS = ("cpp", "runtime", "cuda")
TEMPLATES = ("bioevo", "brian2")  # the cpp backend's code templates (bioevo.sim.device)
# float32-weights: the synaptic weights stored as float32 numbers, everything else (state, sums) float64:
# the readouts are exactly the float64 dynamics of a network whose weights are float32 numbers
PRECISIONS = ("float64", "float32", "float32-weights")
_DEVICES = {"cpp": "cpp_standalone", "cuda": "cuda_standalone"}  # the backends built as standalone projects
_BUILD_FORMAT = 2  # bump when the generated network changes shape


@dataclass
class Readouts:
    """What the fitness functions read, shaped (P, B, ...)."""

    vmax: np.ndarray  # (P, B, O) max over time of the readout variable
    trace: np.ndarray | None = None  # (P, B, T, O)
    spike_counts: dict[str, np.ndarray] | None = None  # layer -> (P, B, n)
    first_spikes: dict[str, np.ndarray] | None = None  # layer -> (P, B, n) step of the first spike, T if none
    finite: np.ndarray | None = None  # (P, B) False where an ODE-integrated layer blew up (None: no such layer)
    # the statistics tracked besides the max (``readout_stats``), keyed as ``TRACKED_STATS[name].key``
    # ("vfinal", "vsum"), each (P, B, O)
    stats: dict[str, np.ndarray] = field(default_factory=dict)


# Brian2 has one standalone device of each kind per process; a new build resets it and invalidates
# earlier evaluators built with it.  This counts builds per device to say so clearly.
_builds: dict[str, int] = {}
_servers_of: dict[str, "weakref.WeakSet[_Servers]"] = {}  # device -> serving binaries of its evaluators


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
        record_spikes: bool | tuple[str, ...] = False,
        workers: int | None = None,
        readout_stats: tuple[str, ...] = (),
        parallel_samples: bool = False,
        templates: str = "bioevo",
        precision: str = "float64",
    ) -> None:
        """``record_spikes``: True for every spiking layer, or a tuple of layer
        names.  ``readout_stats``: names in ``readout_stats.TRACKED_STATS`` besides the
        max ("final": the readout variable at the last step, "sum": summed over the steps
        of each sample), tracked inside the simulation (equal to those statistics of the
        trace, without its cost).  ``workers``: cpp only, how many copies of the compiled binary run at
        once, each on its share of the population (default: 2 on machines with
        two or more cores, which measured ~1.7x faster than one; 1 for runtime
        and cuda, which has one GPU).  ``parallel_samples``: the B samples side
        by side in one run of T steps instead of one after another
        (``network`` module docstring); the readouts are the same.  ``templates``: cpp only,
        "bioevo" (default; ``bioevo.sim.device``, faster, the same readouts) or "brian2" (Brian2's
        own C++ templates, for comparison).  ``precision``: the floating-point type of the network's
        state and parameters, "float64" (default) or "float32" (Brian2's ``core.default_float_dtype``;
        half the memory traffic and twice the numbers per vector instruction), or "float32-weights"
        (only the synaptic weights float32: half the bytes of the weight tables a spike streams, the
        arithmetic still float64)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend '{backend}' is not allowed; allowed: {', '.join(BACKENDS)}")
        if templates not in TEMPLATES:
            raise ValueError(f"templates '{templates}' is not allowed; allowed: {', '.join(TEMPLATES)}")
        self.templates = templates
        if precision not in PRECISIONS:
            raise ValueError(f"precision '{precision}' is not allowed; allowed: {', '.join(PRECISIONS)}")
        self.precision = precision
        if population < 1 or batch < 1 or n_steps < 1:
            raise ValueError(f"population, batch and n_steps must be >= 1, got {population}, {batch}, {n_steps}")
        self.model, self.layer_sizes = model, dict(layer_sizes)
        if workers is None:
            workers = min(2, os.cpu_count() or 1) if backend == "cpp" else 1
        if workers < 1 or (backend != "cpp" and workers != 1):
            raise ValueError(f"workers must be >= 1 (and 1 for the {backend} backend), got {workers}")
        self.workers = min(workers, population)
        self._per_worker = -(-population // self.workers)  # individuals in the built network
        population = self._per_worker * self.workers
        self.population, self.batch, self.n_steps = population, batch, n_steps
        if not isinstance(record_spikes, bool):
            record_spikes = tuple(sorted(record_spikes))
        self.readout_stats = tuple(sorted(set(readout_stats)))  # build_network checks the names
        self.backend, self.record_trace, self.record_spikes = backend, record_trace, record_spikes
        self.parallel_samples = parallel_samples
        self.n_out = self.layer_sizes[model.readout_layer]
        if backend in _DEVICES:
            self._build_standalone()
        else:
            self._build_runtime()

    # ------------------------------------------------------------------ build
    def _build_key(self) -> str:
        spec = {"model": asdict(self.model) | {"source": ""}, "sizes": self.layer_sizes, "P": self._per_worker,
                "B": self.batch, "T": self.n_steps, "trace": self.record_trace, "spikes": self.record_spikes,
                "brian2": b2.__version__, "format": _BUILD_FORMAT,
                "code_objects": sorted(b2.get_device().code_objects)}  # as a fresh process names them
        if self.readout_stats:  # only then, so that the default network keeps its cached build
            # with their declarations: an edited or new statistic gets a build of its own
            spec["stats"] = {name: asdict(TRACKED_STATS[name]) | {"of_trace": ""} for name in self.readout_stats}
        if self.parallel_samples:  # likewise
            spec["parallel_samples"] = True
        if self.precision != "float64":  # only then, so that float64 builds keep their cached keys
            spec["precision"] = self.precision
        if self._fast:
            from .device import TEMPLATES, templates_digest
            spec["templates"] = templates_digest()
            # the project's make dependencies name the header by its absolute path: a build made by a
            # copy of bioevo installed elsewhere (another checkout, a removed virtual environment)
            # fails make and is rebuilt from scratch, with make's error on stderr
            spec["templates_dir"] = str(TEMPLATES)
        if self.backend == "cuda":  # only then, so that cpp builds keep their cached keys
            import brian2cuda
            spec |= {"brian2cuda": brian2cuda.__version__, "compute_capability": self._capability}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        layout = "-par" if self.parallel_samples else ""
        return f"{self.model.name}-P{self._per_worker}-B{self.batch}-T{self.n_steps}{layout}-{digest}"

    def _build_standalone(self) -> None:
        kind = self.backend
        fast = self._fast = kind == "cpp" and self.templates == "bioevo"  # bioevo.sim.device
        settings = nullcontext(None)
        if fast:
            from .device import build_preferences
            settings = build_preferences()
        if kind == "cuda":
            from . import cuda

            problems = cuda.build_problems()
            if problems:
                raise RuntimeError("cannot build for the cuda backend: " + "; ".join(problems))
            import brian2cuda  # noqa: F401 - registers the cuda_standalone device
            settings = cuda.build_settings(cache_root() / "cuda" / "lib")
        if fast:
            from .device import register
            self._device_name = register()
        else:
            self._device_name = _DEVICES[kind]
        b2.set_device(self._device_name, build_on_run=False)
        device = b2.get_device()
        if _builds.get(self._device_name):
            device.reinit()
            device.activate(build_on_run=False)
        _builds[self._device_name] = self._build_number = _builds.get(self._device_name, 0) + 1
        for servers in _servers_of.pop(self._device_name, []):  # superseded: they can serve nothing more
            servers.stop()
        self._device = device
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
        float_dtype = b2.prefs.core.default_float_dtype
        b2.prefs.core.default_float_dtype = self._state_dtype()
        try:
            with settings as self._capability, _names_as_in_a_fresh_process():
                self.net = build_network(self.model, self.layer_sizes, self._per_worker, self.batch, self.n_steps,
                                         self.record_trace, self.record_spikes, self.readout_stats,
                                         on_defaultclock=kind == "cuda", parallel_samples=self.parallel_samples,
                                         fast_templates=fast, weight_dtype=self._weight_dtype())
                network = b2.Network(self.net.objects())
                network.run(self._duration(), namespace={})
                self._network = network
                if fast:  # what a served run writes: the arrays _collect reads
                    from .device import results_writer
                    device.insert_code("before_end", results_writer(device, self._result_variables()))
                self.project_dir = cache_root() / kind / self._build_key()
                self._lock = self.project_dir.with_suffix(".lock")
                with project_lock(self._lock, exclusive=True):
                    _build_verified(device, self.project_dir)
        finally:
            b2.prefs.core.default_float_dtype = float_dtype
            b2.set_device("runtime")  # leave the global device usable for runtime networks
        # Each evaluator (and process) keeps its own results and input files, one folder per worker,
        # in memory (/dev/shm) where there is one: the binary rereads them every generation.
        shm = Path("/dev/shm")
        scratch = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        _remove_orphaned_scratch(Path(scratch or tempfile.gettempdir()))
        self._results_dir = Path(tempfile.mkdtemp(prefix=f"bioevo-{os.getpid()}-", dir=scratch))
        self._worker_dirs = [self._results_dir / f"w{k}" for k in range(self.workers)]
        for d in self._worker_dirs:
            d.mkdir(parents=True, exist_ok=True)
        self._argument_files = ArgumentFiles()
        self._servers = _Servers()  # started at the first evaluation (bioevo templates only)
        _servers_of.setdefault(self._device_name, weakref.WeakSet()).add(self._servers)
        self._finalizer = weakref.finalize(self, _clean_up, self._servers, str(self._results_dir))

    def _result_variables(self) -> list:
        """The Brian2 variables whose recorded values ``_collect`` reads."""
        net, out = self.net, [self.net.max_monitor.variables[READOUT_MAX]]
        out += [net.max_monitor.variables[TRACKED_STATS[name].variable] for name in self.readout_stats]
        out += [mon.variables[next(iter(mon.record_variables))] for mon in net.state_checks.values()]
        if net.trace_monitor is not None:
            out.append(net.trace_monitor.variables[self.model.readout_variable])
        for mon in net.spike_monitors.values():
            out += [mon.variables["i"], mon.variables["t"]]
        return out

    def _build_runtime(self) -> None:
        b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"
        float_dtype = b2.prefs.core.default_float_dtype
        b2.prefs.core.default_float_dtype = self._state_dtype()
        try:
            self.net = build_network(self.model, self.layer_sizes, self.population, self.batch, self.n_steps,
                                     self.record_trace, self.record_spikes, self.readout_stats,
                                     parallel_samples=self.parallel_samples, weight_dtype=self._weight_dtype())
        finally:
            b2.prefs.core.default_float_dtype = float_dtype
        self._network = b2.Network(self.net.objects())
        self._network.store("initial")

    def _state_dtype(self) -> type:
        """Brian2's default float type for this precision (the state's and parameters')."""
        return np.float32 if self.precision == "float32" else np.float64

    def _weight_dtype(self) -> type | None:
        """The synaptic weights' type where it differs from the state's (None: the default)."""
        return np.float32 if self.precision == "float32-weights" else None

    def _duration(self) -> b2.Quantity:
        return run_duration(self.model, self.batch, self.n_steps, self.parallel_samples)

    def _network_values(self, value: np.ndarray) -> np.ndarray:
        """Per-individual rows as the network holds them: B copies of each side by side."""
        return np.repeat(value, self.batch, axis=0) if self.parallel_samples else value

    def _network_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """The (B*T, M) raster of the samples one after another as the network reads it."""
        if not self.parallel_samples:
            return inputs
        M = self.layer_sizes["input"]
        return np.ascontiguousarray(inputs.reshape(self.batch, self.n_steps, M).transpose(1, 0, 2)
                                    .reshape(self.n_steps, self.batch * M))

    def close(self) -> None:
        """Remove this evaluator's results folder (the compiled project stays cached)."""
        if self.backend in _DEVICES:
            self._finalizer()

    # --------------------------------------------------------------- evaluate
    def _flat_values(self, params: NetworkParameters) -> dict[tuple[str, str], np.ndarray]:
        """(group name, variable) -> float64 array (P, values per individual) in
        Brian's neuron/synapse order; an individual's rows are contiguous."""
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
            value = np.ascontiguousarray(value, dtype=np.float64)
            expected = self.population * self._per_individual(*key)
            if value.size != expected:
                raise ValueError(f"{key[0]}.{key[1]}: got {value.size} values, the network needs {expected}")
            out[key] = value.reshape(self.population, -1)
        return out

    def _per_individual(self, group: str, var: str) -> int:
        if group in self.model.synapses:
            syn = self.model.synapses[group]
            pre, _ = syn.pairs(self.layer_sizes[syn.source], self.layer_sizes[syn.target],
                               self.model.namespace(self.layer_sizes))
            return len(pre)
        return self.layer_sizes[group]

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
        if n_ind < self.population:
            params = _pad_population(params, self.population)
        inputs = self._batch_inputs(raster)
        values = self._flat_values(params)
        if self.backend in _DEVICES:
            self._run_standalone(values, [inputs])
        else:
            self._run_runtime(values, inputs)
        return self._collect(n_ind, n_samples)

    def _batch_inputs(self, raster: np.ndarray) -> np.ndarray:
        """Up to a batch of samples (b, T, M) as the (B*T, M) input raster, silent after the b samples."""
        if raster.shape[1:] != (self.n_steps, self.layer_sizes["input"]):
            raise ValueError(f"raster must have shape (b, {self.n_steps}, {self.layer_sizes['input']}), "
                             f"got {raster.shape}")
        inputs = np.zeros((self.batch * self.n_steps, self.layer_sizes["input"]))
        inputs[: len(raster) * self.n_steps] = raster.reshape(len(raster) * self.n_steps, -1)
        return inputs

    @property
    def sample_capacity(self) -> int:
        """How many samples ``evaluate_one`` takes at once: a batch per binary."""
        return self.batch * (self.workers if self.backend in _DEVICES else 1)

    def evaluate_one(self, params: NetworkParameters, raster: np.ndarray) -> Readouts:
        """Simulate one individual on up to ``sample_capacity`` samples, each
        binary on its own consecutive share of them (``evaluate`` would run
        every binary on the same samples).  Scoring a genome on a whole split
        (validation, test) this way takes 1/workers of the time; the readouts
        equal ``evaluate`` on each share, since every sample starts from the
        sample reset."""
        if params.population != 1:
            raise ValueError(f"evaluate_one takes one individual, got {params.population}")
        raster = np.asarray(raster)
        if len(raster) > self.sample_capacity:
            raise ValueError(f"evaluate_one takes at most {self.sample_capacity} samples, got {len(raster)}")
        if len(raster) <= self.batch:
            return self.evaluate(params, raster)
        shares = [raster[k:k + self.batch] for k in range(0, len(raster), self.batch)]
        inputs = [self._batch_inputs(share) for share in shares]
        self._run_standalone(self._flat_values(_pad_population(params, self.population)), inputs)
        parts = [self._collect(1, len(share), workers=[k]) for k, share in enumerate(shares)]
        return _concat_samples(parts)

    def _run_standalone(self, values: dict, inputs: list[np.ndarray]) -> None:
        """Start one binary per worker on its slice of the population, then wait
        for all; the binary reports bad argument files only on stderr, so any
        stderr output is an error.  ``inputs``: one raster for every worker, or
        one per worker for the first ``len(inputs)`` workers."""
        kind = self.backend
        if self._build_number != _builds[self._device_name]:
            raise RuntimeError(f"this {kind} evaluator was superseded by a newer {kind} build in the same process "
                               "(Brian2 holds one standalone project per process)")
        if kind == "cuda":
            from .cuda import gpu_problem

            problem = gpu_problem()
            if problem:
                raise RuntimeError(f"the cuda evaluator cannot run: {problem}")
        binary = str(self.project_dir / "main")
        if len(inputs) == 1:
            input_files = [self._results_dir / "input_raster.dat"] * self.workers  # shared by all workers
        else:
            input_files = [wdir / "input_raster.dat" for wdir in self._worker_dirs[: len(inputs)]]
        files = self._argument_files
        for x, path in zip(inputs, input_files):
            files.write(path, self._network_inputs(x), np.float64)
        run_args = []
        for k, (wdir, input_file) in enumerate(zip(self._worker_dirs, input_files)):
            share = slice(k * self._per_worker, (k + 1) * self._per_worker)
            args = [f"input_raster.values={input_file}"]
            for (group, var), value in values.items():
                path = wdir / f"arg_{group}_{var}.dat"
                files.write(path, self._network_values(value[share]), self._dtype(group, var))
                args.append(f"{group}.{var}={path}")
            run_args.append(args)
        with project_lock(self._lock, exclusive=False):
            if self._fast:
                errors = self._servers.run(binary, self.project_dir, self._worker_dirs, run_args)
            else:
                procs = [subprocess.Popen([binary, "--results_dir", f"{wdir}/", *args], cwd=self.project_dir,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                         for wdir, args in zip(self._worker_dirs, run_args)]
                errors = [(p.wait(), p.stderr.read().decode(errors="replace").strip()) for p in procs]
                for p in procs:
                    p.stderr.close()
        for code, err in errors:
            if code or err:
                raise RuntimeError(f"Brian2 binary in {self.project_dir} failed (exit {code}): {err[:500]}")

    def _dtype(self, group: str, var: str) -> np.dtype:
        """The network's type of a parameter (its run_args file is read as that type)."""
        obj = self.net.synapses.get(group) or self.net.groups[group]
        return obj.variables[var].dtype

    def _run_runtime(self, values: dict, inputs: np.ndarray) -> None:
        self._network.restore("initial")
        for (group, var), value in values.items():
            obj = self.net.synapses.get(group) or self.net.groups[group]
            obj.variables[var].set_value(self._network_values(value).ravel())
        self.net.inputs.values[:] = self._network_inputs(inputs)
        self._network.run(self._duration(), namespace={})

    def _read(self, variable, worker: int) -> np.ndarray:
        """A recorded array of one worker: from its results files (cpp) or memory (runtime)."""
        if self.backend == "runtime":
            values = np.asarray(variable.get_value())
        else:
            path = self._worker_dirs[worker] / self._device.get_array_filename(variable)
            values = np.fromfile(path, dtype=variable.dtype)
        return values.astype(np.float64, copy=False) if values.dtype.kind == "f" else values  # float32 networks too

    def _at_sample_ends(self, raw: np.ndarray, width: int) -> np.ndarray:
        """(Pw, B, width) from a monitor recorded at every sample boundary
        (row 0 is the start of the run, before any input)."""
        Pw, B = self._per_worker, self.batch
        if self.parallel_samples:  # one boundary after the start; columns (individual, sample, value)
            return raw.reshape(-1, Pw, B, width)[1]
        return raw.reshape(-1, Pw * width)[1 : B + 1].reshape(B, Pw, width).transpose(1, 0, 2)

    def _collect(self, n_ind: int, n_samples: int, workers: list[int] | None = None) -> Readouts:
        """The readouts of the given workers' individuals (default: all), in worker order."""
        Pw, B, T, O = self._per_worker, self.batch, self.n_steps, self.n_out
        vmax, trace, finite = [], [], []
        stats = {name: [] for name in self.readout_stats}
        counts, firsts = {name: [] for name in self.net.spike_monitors}, {name: [] for name in self.net.spike_monitors}
        for k in range(self.workers) if workers is None else workers:
            vmax.append(self._at_sample_ends(self._read(self.net.max_monitor.variables[READOUT_MAX], k), O))
            for name, values in stats.items():  # recorded with the max, at every sample boundary
                var = self.net.max_monitor.variables[TRACKED_STATS[name].variable]
                values.append(self._at_sample_ends(self._read(var, k), O))
            ok = np.ones((Pw, B), dtype=bool)
            for name, mon in self.net.state_checks.items():
                var = next(iter(mon.record_variables))
                state = self._at_sample_ends(self._read(mon.variables[var], k), self.layer_sizes[name])
                ok &= np.isfinite(state).all(axis=2)
            finite.append(ok)
            if self.net.trace_monitor is not None:
                raw = self._read(self.net.trace_monitor.variables[self.model.readout_variable], k)
                if self.parallel_samples:  # rows: steps; columns: (individual, sample, readout)
                    trace.append(raw.reshape(-1, Pw, B, O)[:T].transpose(1, 2, 0, 3))
                else:  # rows: (sample, step); columns: (individual, readout)
                    trace.append(raw.reshape(-1, Pw * O)[: B * T].reshape(B, T, Pw, O).transpose(2, 0, 1, 3))
            for name, mon in self.net.spike_monitors.items():
                n = self.layer_sizes[name]
                idx = self._read(mon.variables["i"], k)
                step = np.floor(self._read(mon.variables["t"], k) / (self.model.step_ms * 1e-3) + 1e-9).astype(np.int64)
                if self.parallel_samples:  # neuron index (individual, sample, neuron); step within the sample
                    keep = step < T
                    idx, step = idx[keep], step[keep]
                    where, at = (idx // (B * n), (idx // n) % B, idx % n), step
                else:  # neuron index (individual, neuron); step (sample, step)
                    keep = step < B * T
                    idx, step = idx[keep], step[keep]
                    where, at = (idx // n, step // T, idx % n), step % T
                c = np.zeros((Pw, B, n), dtype=np.int64)
                np.add.at(c, where, 1)
                counts[name].append(c)
                first = np.full((Pw, B, n), T, dtype=np.int64)
                np.minimum.at(first, where, at)
                firsts[name].append(first)
        def trimmed(parts: list[np.ndarray]) -> np.ndarray:
            """One array of the workers' parts, cut to the individuals and samples asked for (a copy
            only when cut: a view would keep the whole array alive)."""
            whole = np.concatenate(parts)
            return whole if whole.shape[:2] == (n_ind, n_samples) else whole[:n_ind, :n_samples].copy()

        return Readouts(
            trimmed(vmax),
            trimmed(trace) if trace else None,
            {name: np.concatenate(c)[:n_ind, :n_samples] for name, c in counts.items()} or None,
            {name: np.concatenate(c)[:n_ind, :n_samples] for name, c in firsts.items()} or None,
            np.concatenate(finite)[:n_ind, :n_samples] if self.net.state_checks else None,
            {TRACKED_STATS[name].key: trimmed(values) for name, values in stats.items()},
        )


MANIFEST = "bioevo_build.json"
_UNHASHED = ("results", "static_arrays")  # rewritten by every build or run


def _manifest(project: Path) -> dict[str, str]:
    """sha256 of every file of a compiled project but its per-run folders."""
    out = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if path.is_file() and rel.parts[0] not in _UNHASHED and rel.name != MANIFEST:
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _intact(project: Path) -> bool:
    """True if ``project`` was built completely and nothing in it changed since."""
    try:
        recorded = json.loads((project / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return (project / "main").is_file() and _manifest(project) == recorded


@contextmanager
def _names_as_in_a_fresh_process():
    """Brian2 names a new object ``name_1`` when a live one (of an older evaluator of any backend
    in this process) is called ``name``; the code objects' names are part of the build key, so a
    process that had built anything else compiled its own copy of a cached project.  Here names
    are made unique only among the objects created inside the block, as a fresh process would."""
    from brian2.core import names

    brian_device = sys.modules["brian2.devices.device"]  # the module (brian2.devices.device is the device)

    older = [ref() for ref in names.Nameable.__instances__()]  # kept alive: their ids stay theirs
    older_ids = {id(obj) for obj in older if obj is not None}
    original = names.find_name

    def find_name(name: str, taken=None) -> str:
        if taken is None and name.endswith("*"):
            taken = {obj().name for obj in names.Nameable.__instances__()
                     if obj() is not None and id(obj()) not in older_ids and hasattr(obj(), "name")}
        return original(name, taken)

    names.find_name = brian_device.find_name = find_name
    try:
        yield
    finally:
        names.find_name = brian_device.find_name = original


def _build_verified(device, project: Path) -> None:
    """Build into ``project``, reusing a cached build only if its manifest
    matches: a damaged cache (a truncated binary or object file, an interrupted
    build) is removed and built again instead of failing every later run."""
    if project.exists() and not _intact(project):
        shutil.rmtree(project, ignore_errors=True)
    try:
        device.build(directory=str(project), compile=True, run=False, with_output=False)
    except Exception:  # noqa: BLE001 - one clean rebuild, then a real error propagates
        shutil.rmtree(project, ignore_errors=True)
        device.build(directory=str(project), compile=True, run=False, with_output=False)
    manifest = _manifest(project)
    tmp = project / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, project / MANIFEST)


def _remove_orphaned_scratch(root: Path) -> None:
    """Scratch folders of processes that died without cleaning up (SIGKILL)."""
    for path in root.glob("bioevo-*-*"):
        try:
            pid = int(path.name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue


class ArgumentFiles:
    """The run-argument files of one evaluator, rewritten in place every evaluation through a
    memory map kept open: ``ndarray.tofile`` truncates the file and writes it anew, so the kernel
    frees and then faults in and zeroes every page again (0.9 ms for 2.4 MB in /dev/shm against
    0.06 ms to overwrite it mapped). The binaries read the same bytes either way."""

    def __init__(self) -> None:
        self._maps: dict[Path, np.memmap] = {}

    def write(self, path: Path, values: np.ndarray, dtype) -> None:
        """Store ``values`` as ``dtype`` (the cast of ``astype``) in ``path``, raw, as ``tofile`` would."""
        values = np.asarray(values)
        if values.size == 0:  # nothing to map
            values.astype(dtype).tofile(path)
            return
        mapped = self._maps.get(path)
        if mapped is None or mapped.dtype != np.dtype(dtype) or mapped.shape != values.shape:
            mapped = self._maps[path] = np.memmap(path, dtype=dtype, mode="w+", shape=values.shape)
        mapped[...] = values


class _Servers:
    """The serving binaries of one evaluator, one per worker (``templates/main.cpp``): started at the
    first request, each kept running with the network initialised; one request per evaluation."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        # per worker of the last request: CPU and wall seconds of its run (fork to exit)
        self.last_cpu_s: list[float] = []
        self.last_wall_s: list[float] = []

    def run(self, binary: str, cwd: Path, worker_dirs: list[Path], run_args: list[list[str]]) -> list[tuple[int, str]]:
        """Send every worker its run arguments, wait for all; (exit status, error text) per worker."""
        if not self.procs:
            for wdir in worker_dirs:
                log = open(wdir / "server_stderr.txt", "w")
                self.procs.append(subprocess.Popen([binary, "--results_dir", f"{wdir}/", "--serve"], cwd=cwd,
                                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                                   text=True, bufsize=1))
                log.close()
        busy, self.last_cpu_s, self.last_wall_s = [], [], []
        for proc, wdir, args in zip(self.procs, worker_dirs, run_args):
            (wdir / "stderr.txt").unlink(missing_ok=True)
            try:
                proc.stdin.write(" ".join(args) + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # the server died: its answer below is empty
            busy.append((proc, wdir))
        errors, lost = [], False
        for proc, wdir in busy:
            answer = proc.stdout.readline().strip()
            if not answer:  # the server died (killed, out of memory): start afresh at the next request
                proc.wait()
                log = (wdir / "server_stderr.txt").read_text(errors="replace").strip()
                errors.append((proc.returncode or -1, "the serving binary stopped: " + (log or "no message")))
                lost = True
                continue
            code, cpu, wall = answer.split()
            self.last_cpu_s.append(float(cpu))
            self.last_wall_s.append(float(wall))
            err = wdir / "stderr.txt"
            errors.append((int(code), err.read_text(errors="replace").strip() if err.exists() else ""))
        if lost:
            self.stop()
        return errors

    def stop(self) -> None:
        """End every server (closing its input ends it) and wait for it."""
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        self.procs = []


def _clean_up(servers: _Servers, results_dir: str) -> None:
    servers.stop()
    shutil.rmtree(results_dir, ignore_errors=True)


def _pad_population(params: NetworkParameters, population: int) -> NetworkParameters:
    def pad(a: np.ndarray) -> np.ndarray:
        extra = np.repeat(a[-1:], population - a.shape[0], axis=0)
        return np.concatenate([a, extra], axis=0)

    return NetworkParameters({k: pad(v) for k, v in params.weights.items()},
                             {layer: {k: pad(v) for k, v in d.items()} for layer, d in params.neurons.items()})


def _concat_samples(parts: list[Readouts]) -> Readouts:
    """Join readouts of the same individuals on consecutive samples (axis 1)."""
    def join(arrays):
        if arrays[0] is None:
            return None
        if isinstance(arrays[0], dict):
            return {key: np.concatenate([a[key] for a in arrays], axis=1) for key in arrays[0]}
        return np.concatenate(arrays, axis=1)

    return Readouts(*(join([getattr(p, f.name) for p in parts]) for f in fields(Readouts)))
