"""The arithmetic limit of a population evaluation: the operations the model's equations ask for
per individual-sample, and how fast these cores do them.

* Work (:func:`work_per_sample`): each layer's ``step`` statements and threshold condition once per
  neuron and integration step (plus the readout's max tracking), each synapse group's ``on_pre``
  statements once per synaptic event (a presynaptic spike, or input count, times its targets in
  the individual).  Arithmetic operators, comparisons and calls count as floating-point operations,
  except the special functions (exp, log, sqrt, ...) counted on their own (at the exp rate); memory
  operations are the loads of the per-neuron variables a step reads and the stores of the ones it
  writes, each once, and one load per synaptic variable (the weight) of every event: the least
  memory traffic the evaluation needs, every operand coming from the L1 cache.
* Rates (:func:`peak_rates`): a small C++ kernel compiled with the flags of bioevo's Brian2 builds
  measures, on every worker core at once, vector fused multiply-adds per second from registers,
  vector loads and stores per second from the L1 cache (y = a*y + x on 16 KiB), and vectorised
  exp() calls per second.

The limit is max(arithmetic time, memory time): the evaluation could be no faster with perfect
vectorisation, no time-step bookkeeping, no branch and no cache miss.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .model import ModelSpec, declared_names

#: functions timed on their own (vectorised where the C library allows), not counted as one flop
SPECIAL_FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "expm1", "exprel", "pow")


@dataclass
class Work:
    """Operations of one statement list (or their total over an evaluation)."""

    flops: float = 0.0
    memops: float = 0.0
    special: dict[str, float] = field(default_factory=dict)

    def scaled(self, factor: float) -> "Work":
        return Work(self.flops * factor, self.memops * factor, {k: v * factor for k, v in self.special.items()})

    def __add__(self, other: "Work") -> "Work":
        special = dict(self.special)
        for k, v in other.special.items():
            special[k] = special.get(k, 0.0) + v
        return Work(self.flops + other.flops, self.memops + other.memops, special)


class _OpCounter(ast.NodeVisitor):
    def __init__(self) -> None:
        self.flops, self.special = 0, {}

    def visit_BinOp(self, node):
        self.flops += 1
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        self.flops += isinstance(node.op, ast.USub)
        self.generic_visit(node)

    def visit_Compare(self, node):
        self.flops += len(node.comparators)
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        self.flops += len(node.values) - 1
        self.generic_visit(node)

    def visit_IfExp(self, node):
        self.flops += 1
        self.generic_visit(node)

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in SPECIAL_FUNCTIONS:
            self.special[name] = self.special.get(name, 0) + 1
        elif name not in ("int", "float", "bool"):  # conversions cost nothing here
            self.flops += 1
        self.generic_visit(node)


def _parse(statement: str) -> ast.stmt:
    return ast.parse(statement.replace("&&", " and ").replace("||", " or ").strip(), mode="exec").body[0]


def statement_work(code: str, arrays: set[str]) -> Work:
    """Operations of Brian2 abstract code (one statement per line or ';'-separated): flops and
    special functions of every expression, one load per array variable read before it is written
    and one store per array variable written (``arrays``: the names that live in memory, per
    neuron or per synapse; everything else is a register)."""
    counter, loads, stores, local = _OpCounter(), set(), set(), set()
    for line in (part.strip() for chunk in code.splitlines() for part in chunk.split(";")):
        if not line or line.startswith("#"):
            continue
        node = _parse(line)
        if isinstance(node, ast.Expr):  # a condition (threshold)
            targets, value, augmented = [], node.value, False
        elif isinstance(node, ast.AugAssign):
            targets, value, augmented = [node.target], node.value, True
            counter.flops += 1
        elif isinstance(node, ast.Assign):
            targets, value, augmented = node.targets, node.value, False
        else:
            raise ValueError(f"cannot count the operations of {line!r}")
        counter.visit(value)
        read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        for target in targets:
            if augmented and isinstance(target, ast.Name):
                read.add(target.id)
        loads |= {name for name in read if name in arrays and name not in local}
        for target in targets:
            if isinstance(target, ast.Name):
                local.add(target.id)
                if target.id in arrays:
                    stores.add(target.id)
    return Work(float(counter.flops), float(len(loads) + len(stores)), {k: float(v) for k, v in counter.special.items()})


def neuron_step_work(model: ModelSpec, layer_name: str) -> Work:
    """Operations of one neuron in one integration step: its step, its threshold condition and,
    for the readout layer, the tracking of the readout's maximum."""
    layer = model.layers[layer_name]
    arrays = set(declared_names(layer.equations))
    code = layer.step
    if layer.threshold:
        code += "\n" + layer.threshold
    if layer_name == model.readout_layer:
        arrays.add("readout_max")
        code += f"\nreadout_max = clip({model.readout_variable}, readout_max, inf)"
    return statement_work(code, arrays)


def event_work(model: ModelSpec, synapse_name: str) -> Work:
    """Operations of one synaptic event of a group (its on_pre statements on one synapse).  Only the
    synapse's own variables (its weight) count as memory operations: the presynaptic neuron's are read
    once per spike, and the target's can stay in registers while a step's events add to them (as
    bioevo's grouped delivery does), loaded and stored once with the neuron's update."""
    syn = model.synapses[synapse_name]
    return statement_work(syn.on_pre, set(declared_names(syn.model)))


def work_per_sample(model: ModelSpec, layer_sizes: dict[str, int], n_steps: int,
                    presynaptic_spikes: dict[str, float]) -> Work:
    """Operations of one individual on one sample of ``n_steps`` input steps.
    ``presynaptic_spikes``: per spiking source ("input" and spiking layers), spikes (input: counts
    that reach the network, i.e. non-zero raster entries) per individual-sample."""
    steps_per_input = max(1, round(model.step_ms / model.dt))
    total = Work()
    for name in model.layers:
        total += neuron_step_work(model, name).scaled(layer_sizes[name] * n_steps * steps_per_input)
    namespace = model.namespace(layer_sizes)
    for name, syn in model.synapses.items():
        pre, _ = syn.pairs(layer_sizes[syn.source], layer_sizes[syn.target], namespace)
        fan_out = len(pre) / max(layer_sizes[syn.source], 1)
        total += event_work(model, name).scaled(presynaptic_spikes.get(syn.source, 0.0) * fan_out)
    return total


# ------------------------------------------------------------------------------------------ rates
_KERNEL = r"""
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include "bioevo_vector_math.h"
typedef double v4d __attribute__((vector_size(32)));
static double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
__attribute__((noinline)) void triad(double* __restrict y, const double* __restrict x, double a, int n)
{ for (int i = 0; i < n; i++) y[i] = a * y[i] + x[i]; }
__attribute__((noinline)) void vexp(double* __restrict y, const double* __restrict x, int n)
{ for (int i = 0; i < n; i++) y[i] = exp(x[i]); }
int main(int argc, char** argv) {
    const double budget = argc > 1 ? atof(argv[1]) : 0.3;  // seconds per measurement
    // 1. fused multiply-adds from registers: 12 independent chains of 4-wide vectors
    v4d acc[12]; const v4d m = {0.999999, 0.999999, 0.999999, 0.999999}, c = {1e-9, 1e-9, 1e-9, 1e-9};
    for (int k = 0; k < 12; k++) acc[k] = (v4d){1.0 + k, 2.0, 3.0, 4.0};
    long iters = 0; double t0 = seconds(), t = t0;
    while (t - t0 < budget) {
        for (int r = 0; r < 100000; r++)
            for (int k = 0; k < 12; k++) acc[k] = acc[k] * m + c;
        iters += 100000; t = seconds();
    }
    double sink = 0; for (int k = 0; k < 12; k++) sink += acc[k][0] + acc[k][3];
    const double flops = iters * 12.0 * 4 * 2 / (t - t0);
    // 2. loads and stores from L1: y = a*y + x on 2 x 8 KiB (2 loads, 1 store per element)
    const int n = 1024; double* x = (double*)aligned_alloc(64, n * 8); double* y = (double*)aligned_alloc(64, n * 8);
    for (int i = 0; i < n; i++) { x[i] = 1e-3 * i; y[i] = 1.0; }
    iters = 0; t0 = seconds(); t = t0;
    while (t - t0 < budget) { for (int r = 0; r < 1000; r++) triad(y, x, 0.999, n); iters += 1000; t = seconds(); }
    const double memops = iters * 3.0 * n / (t - t0);
    sink += y[7];
    // 3. exp(), vectorised where the C library allows it
    for (int i = 0; i < n; i++) x[i] = -5.0 + 10.0 * i / n;
    iters = 0; t0 = seconds(); t = t0;
    while (t - t0 < budget) { for (int r = 0; r < 1000; r++) vexp(y, x, n); iters += 1000; t = seconds(); }
    const double exps = iters * (double)n / (t - t0);
    sink += y[3];
    printf("{\"flops_per_s\": %.6g, \"memops_per_s\": %.6g, \"exp_per_s\": %.6g, \"sink\": %g}\n", flops, memops, exps, sink);
    return 0;
}
"""


def _kernel_binary(compiler: str = "g++") -> Path:
    """Compile the rate kernel once (cached next to the compiled projects) with bioevo's build flags."""
    from .sim.device import GCC_VECTOR_WIDTH, TEMPLATES
    from .sim.cache import cache_root

    flags = ["-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", GCC_VECTOR_WIDTH, "-std=c++11",
             f"-I{TEMPLATES}"]
    key = hashlib.sha256((_KERNEL + " ".join(flags) + (TEMPLATES / "bioevo_vector_math.h").read_text())
                         .encode()).hexdigest()[:12]
    folder = cache_root() / "limits"
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / f"rates-{key}"
    if not binary.exists():
        source = folder / f"rates-{key}.cpp"
        source.write_text(_KERNEL)
        tmp = folder / f"rates-{key}.{os.getpid()}"
        subprocess.run([compiler, *flags, str(source), "-o", str(tmp)], check=True, capture_output=True)
        os.replace(tmp, binary)
    return binary


def peak_rates(workers: int, budget_s: float = 0.3, rounds: int = 3) -> dict[str, float]:
    """Rates of all ``workers`` cores together, each running the kernel at the same time (as the
    evaluator's binaries do): flops/s, memory operations/s (8-byte loads and stores), exp()/s; the
    best of ``rounds`` measurements (a peak: on a shared machine any round may be slowed down)."""
    binary = _kernel_binary()
    best: dict[str, float] = {}
    for _ in range(rounds):
        with ThreadPoolExecutor(workers) as pool:
            runs = list(pool.map(lambda _: json.loads(subprocess.run([str(binary), str(budget_s)], check=True,
                                                                     capture_output=True, text=True).stdout),
                                 range(workers)))
        for key in ("flops_per_s", "memops_per_s", "exp_per_s"):
            best[key] = max(best.get(key, 0.0), sum(run[key] for run in runs))
    return best


def limit_seconds(work: Work, rates: dict[str, float]) -> dict[str, float]:
    """Time of ``work`` at ``rates``: arithmetic (flops, and special functions at the exp rate),
    memory, and the limit, the larger of the two."""
    arithmetic = work.flops / rates["flops_per_s"] + sum(work.special.values()) / rates["exp_per_s"]
    memory = work.memops / rates["memops_per_s"]
    return {"arithmetic_s": arithmetic, "memory_s": memory, "limit_s": max(arithmetic, memory)}
