"""Where the time of a population evaluation goes, for ``python -m bioevo.bench --profile``:
Linux ``perf`` samples this process and the simulation binaries it starts while the evaluations
run, and every sample is put in one of five places by the function it falls in:

* neurons: a layer's step, threshold, reset, sample reset and tracked statistics (not the input's);
* synaptic events: the on_pre code objects, Brian2's spike queue and its copies of synapse indices;
* time-step bookkeeping: the network's scheduler, the input group's code objects (one per step
  whatever the population), the monitors, and the system calls that read a clock (Brian2's own
  scheduler reads the process CPU clock after every step);
* process and files: the rest of the binaries (starting, loading and allocating arrays, building
  synapses, reading the run arguments, writing results, and the kernel's share of these);
* Python: bioevo and numpy in this process (writing the arguments, reading the results).

Per-unit costs divide each place's CPU seconds by what it scales with (neuron updates, synaptic
events, time steps of all binaries, evaluations).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from typing import Callable

PLACES = ("neurons", "synaptic events", "time-step bookkeeping", "process and files", "Python")
_EVENTS = re.compile(r"_pre_codeobject|_post_codeobject|push_spikes|CSpikeQueue|SynapticPathway|"
                     r"_M_default_append|_M_realloc|memmove|_M_range_insert")
_NEURONS = re.compile(r"_run_(?!input_)\w*_(step|stateupdater|spike_thresholder|spike_resetter|sample_reset|"
                      r"track_max|track_stats)_codeobject")
_STEPS = re.compile(r"Network::|_Rb_tree|_run_input_\w+_codeobject|_monitor_codeobject")
_CLOCK_CALLS = re.compile(r"clock_gettime|cpu_clock|cputime|sched_runtime")
# the C library's math functions (scalar, and libmvec's vector ones): called by neuron updates
_MATH = re.compile(r"^(__ieee754_|__)?(exp|log|pow|sin|cos|tan|sqrt|expm1|log1p)(f|_fma\w*|@\S*)?$|^_ZGV\w+_(exp|log|pow|sin|cos)")
FREQUENCY = 4999  # samples per second of CPU time


def available() -> str | None:
    """None if ``perf`` can sample here, else why not."""
    if shutil.which("perf") is None:
        return "perf is not installed (Debian: linux-perf)"
    probe = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", os.devnull, "true"],
                           capture_output=True, text=True)
    return None if probe.returncode == 0 else f"perf cannot sample: {probe.stderr.strip()[:200]}"


def place(comm: str, frames: list[str]) -> str:
    """The place of one sample: its process name and its call stack, innermost frame first."""
    if comm != "main":
        return "Python"
    symbol = frames[0] if frames else ""
    if any(_CLOCK_CALLS.search(f) for f in frames[:12]):
        return "time-step bookkeeping"
    for f in frames[:8]:  # library code called from a code object belongs to it
        if _NEURONS.search(f):
            return "neurons"
        if _EVENTS.search(f):
            return "synaptic events"
        if _STEPS.search(f):
            return "time-step bookkeeping"
    if _EVENTS.search(symbol):
        return "synaptic events"
    if _MATH.search(symbol):
        return "neurons"
    return "process and files"


def _parse(script: str) -> Counter:
    places, comm, frames = Counter(), None, []
    for line in script.splitlines() + [""]:
        if not line.strip():
            if comm is not None:
                places[place(comm, frames)] += 1
            comm, frames = None, []
        elif comm is None:
            comm = line.split()[0]
        else:
            parts = line.split(None, 1)
            frames.append(parts[1].split("+0x")[0] if len(parts) > 1 else "")
    return places


def profile(run: Callable[[], None], n: int, evaluator=None) -> dict:
    """CPU seconds per evaluation in each place, from ``n`` calls of ``run`` sampled by perf (this
    process, the processes it starts, and ``evaluator``'s serving binaries with their copies)."""
    servers = getattr(evaluator, "_servers", None)
    pids = [os.getpid(), *(proc.pid for proc in (servers.procs if servers is not None else []))]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", str(FREQUENCY), "-o", data,
                                 "-p", ",".join(map(str, pids))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # perf attaches
        t0 = time.perf_counter()
        for _ in range(n):
            run()
        wall = (time.perf_counter() - t0) / n
        perf.send_signal(signal.SIGINT)
        perf.wait()
        script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], capture_output=True,
                                text=True).stdout
    places = _parse(script)
    total = sum(places.values())
    seconds = {p: places.get(p, 0) / FREQUENCY / n for p in PLACES}
    return {"wall_s": wall, "cpu_s": total / FREQUENCY / n, "seconds": seconds,
            "fraction": {p: (places.get(p, 0) / total if total else 0.0) for p in PLACES}}


def unit_costs(seconds: dict[str, float], neuron_updates: float, events: float, steps: float,
               evaluations: float = 1.0) -> dict[str, float]:
    """Nanoseconds of CPU per neuron update, per synaptic event and per time step (of all binaries
    together), and milliseconds per evaluation for the process and Python parts."""
    return {"ns_per_neuron_update": 1e9 * seconds["neurons"] / max(neuron_updates, 1),
            "ns_per_event": 1e9 * seconds["synaptic events"] / max(events, 1),
            "ns_per_step": 1e9 * seconds["time-step bookkeeping"] / max(steps, 1),
            "ms_process_per_evaluation": 1e3 * seconds["process and files"] / evaluations,
            "ms_python_per_evaluation": 1e3 * seconds["Python"] / evaluations}
