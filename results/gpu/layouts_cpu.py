"""The two sample layouts (sequential, parallel) on cpp at three sizes, one JSON line each
(the table in results/gpu/README.md).

    PYTHONPATH=. python results/gpu/layouts_cpu.py
"""
import json
import os

from bioevo.bench import bench_point, quiet_brian

quiet_brian()
for p, b in ((8, 32), (16, 64), (32, 128)):
    for parallel in (False, True):
        r = bench_point(p, b, 3, with_numpy=False, check=True, parallel_samples=parallel)
        print(json.dumps({"P": p, "B": b, "layout": "parallel" if parallel else "sequential", "cpp_s": r["cpp_s"],
                          "build_s": r["build_s"], "max_abs_diff_vs_numpy64": r["vmax_max_abs_diff_cpp_numpy64"],
                          "load": os.getloadavg()[0]}), flush=True)
