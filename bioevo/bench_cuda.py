"""The GPU check behind ``python -m bioevo.bench --backend cuda``.

1. Agreement: the cuda and cpp evaluators on the same genomes and inputs
   (network of ``bioevo.bench``: 30 inputs -> 64 LIF -> 10 readouts, T=50,
   P=32, B=256).  Both simulate in float64 (brian2cuda keeps Brian2's
   ``core.default_float_dtype``, float64; checked below), so the readouts may
   differ only by rounding: nvcc contracts multiply-adds (``-use_fast_math``
   implies ``--fmad=true``) and sums synaptic input with atomic adds in no
   fixed order; each step rounds at ~1e-16, and 50 steps of leaky integration
   keep that far below ``TOLERANCE`` (1e-9 absolute, readouts are of order 1).
   A spike whose membrane lands within rounding of threshold can still flip
   and change a readout by O(0.1), so up to ``MAX_MISMATCH`` of the readouts
   may lie outside the tolerance.
2. Timing: median seconds per evaluation of P individuals x B samples for
   hidden 64, 256, 1024 and P*B = 8192, 131072, 1048576, against the 2-core
   cpp evaluator (2 workers, as on the development machine) at P*B = 8192 for
   every hidden size and at the largest point for hidden 64.

Every sweep point is a new cuda build (compiled into the cache, reused by
later runs).  Without brian2cuda, nvcc or a GPU it stops with one line, exit
2.  The last line of stdout is one JSON object.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np

from .bench import EVOLVE, N_STEPS, SIZES, WEIGHT_GAIN, environment, make_problem

TOLERANCE = 1e-9  # absolute, on the readout maxima
MAX_MISMATCH = 1e-3  # share of readouts allowed outside TOLERANCE (flipped threshold crossings)
AGREE_POINT = (64, 32, 256)  # hidden, P, B
HIDDEN = (64, 256, 1024)
POINTS = ((32, 256), (128, 1024), (1024, 1024))  # P*B = 8192, 131072, 1048576
QUICK_HIDDEN = (64, 1024)
QUICK_POINTS = ((32, 256), (1024, 1024))


def _timed(ev, params, raster, repeats: int) -> tuple[float, object]:
    """One warm-up evaluation, then the median of ``repeats``; returns (seconds, readouts)."""
    readouts = ev.evaluate(params, raster)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ev.evaluate(params, raster)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), readouts


def _point(backend: str, hidden: int, population: int, batch: int, repeats: int, parallel: bool = False) -> dict:
    from .sim.evaluator import PopulationEvaluator

    model, layout, params, raster = make_problem(population, batch, hidden=hidden)
    t0 = time.perf_counter()
    ev = PopulationEvaluator(model, layout.layer_sizes, population, batch, N_STEPS, backend=backend,
                             workers=2 if backend == "cpp" else None, parallel_samples=parallel)
    build_s = time.perf_counter() - t0
    try:
        seconds, readouts = _timed(ev, params, raster, repeats)
    finally:
        ev.close()
    return {"backend": backend, "hidden": hidden, "P": population, "B": batch, "PB": population * batch,
            "seconds": seconds, "us_per_sample": 1e6 * seconds / (population * batch),
            "build_s": round(build_s, 2), "vmax": readouts.vmax}


def agreement(cuda_row: dict, cpp_row: dict) -> dict:
    """How far the cuda readouts are from the cpp ones, and whether that is within the stated tolerance."""
    diff = np.abs(cuda_row["vmax"] - cpp_row["vmax"])
    outside = float((diff > TOLERANCE).mean())
    return {"tolerance_abs": TOLERANCE, "max_mismatch_share": MAX_MISMATCH,
            "max_abs_diff": float(diff.max()), "share_outside_tolerance": outside,
            "median_abs_diff": float(np.median(diff)), "pass": bool(outside <= MAX_MISMATCH)}


def _gpu_name() -> str | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    res = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return res.stdout.strip().splitlines()[0] if res.returncode == 0 and res.stdout.strip() else None


def run(repeats: int, quick: bool, parallel: bool = False) -> dict:
    """The check and the sweep; prints progress and, last, one JSON line.  ``parallel``:
    cuda with the samples side by side (the cpp reference keeps them one after another)."""
    import brian2 as b2

    from .sim.cuda import compute_capability

    dtype = np.dtype(b2.prefs.core.default_float_dtype).name
    if dtype != "float64":
        raise RuntimeError(f"core.default_float_dtype is {dtype}; the agreement check assumes float64")
    hidden_sizes, points = (QUICK_HIDDEN, QUICK_POINTS) if quick else (HIDDEN, POINTS)
    print(f"bioevo.bench --backend cuda: lif {SIZES['inputs']}->hidden->{SIZES['classes']}, T={N_STEPS}, "
          f"{dtype}, GPU {_gpu_name()} (compute capability {compute_capability()})", flush=True)
    rows, cpp_rows = [], []
    for hidden in hidden_sizes:
        for p, b in points:
            row = _point("cuda", hidden, p, b, repeats, parallel)
            rows.append(row)
            print(f"  cuda hidden={hidden:>4} P={p:>4} B={b:>4}: {row['seconds']:.4f} s "
                  f"({row['us_per_sample']:.3f} us per individual-sample; build {row['build_s']} s)", flush=True)
            first, largest = (p, b) == points[0], (p, b) == points[-1] and hidden == hidden_sizes[0]
            if first or largest:
                cpp = _point("cpp", hidden, p, b, repeats if first else 1)
                cpp_rows.append(cpp)
                row["cpp_seconds"] = cpp["seconds"]
                row["speedup_vs_cpp_2_workers"] = cpp["seconds"] / row["seconds"]
                print(f"  cpp  hidden={hidden:>4} P={p:>4} B={b:>4}: {cpp['seconds']:.4f} s "
                      f"-> cuda is {row['speedup_vs_cpp_2_workers']:.1f}x faster", flush=True)
                if (hidden, p, b) == AGREE_POINT:
                    check = agreement(row, cpp)
                    print(f"  agreement at hidden={hidden} P={p} B={b}: max |cuda - cpp| = "
                          f"{check['max_abs_diff']:.3g}, {100 * check['share_outside_tolerance']:.3f}% of readouts "
                          f"outside {TOLERANCE:g} (allowed {100 * MAX_MISMATCH:g}%): "
                          f"{'pass' if check['pass'] else 'FAIL'}", flush=True)
    keep = ("hidden", "P", "B", "PB", "seconds", "us_per_sample", "build_s", "cpp_seconds", "speedup_vs_cpp_2_workers")
    result = {
        "backend": "cuda", "network": {**SIZES, "hidden": list(hidden_sizes), "T": N_STEPS, "weight_gain": WEIGHT_GAIN,
                                       "evolve": EVOLVE},
        "float": dtype, "repeats": repeats, "layout": "parallel" if parallel else "sequential", "gpu": _gpu_name(), "compute_capability": compute_capability(),
        "agreement": check,
        "speedup_at_8192": {str(r["hidden"]): r["speedup_vs_cpp_2_workers"] for r in rows
                            if r["PB"] == 8192 and "speedup_vs_cpp_2_workers" in r},
        "speedup_at_largest": next(r["speedup_vs_cpp_2_workers"] for r in rows
                                   if r["PB"] == points[-1][0] * points[-1][1] and "cpp_seconds" in r),
        "sweep": [{k: r[k] for k in keep if k in r} for r in rows],
        "environment": environment(),
    }
    print(json.dumps(result, separators=(",", ":")))
    if not check["pass"]:
        sys.exit(1)
    return result
