"""The before/after table of results/perf/README.md from the raw outputs of before_after.sh:
medians over the alternated rounds, ratios before/after, and the arithmetic limit (from the
after-benchmarks' own preset rows).  Usage: python results/perf/summarise.py"""
import json
import statistics
from pathlib import Path

here = Path(__file__).parent


def bench_runs(kind: str) -> list[dict]:
    return [json.loads(p.read_text().strip().splitlines()[-1]) for p in sorted(here.glob(f"bench-{kind}-*.txt"))]


def presets(kind: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for line in (here / f"presets-{kind}.jsonl").read_text().splitlines():
        row = json.loads(line)
        out.setdefault(row["preset"], []).append(row["eval_s"])
    return out


before, after = bench_runs("before"), bench_runs("after")
print("| benchmark network (30 -> 64 LIF -> 10, T 50) | P·B | before, us per individual-sample | after | before / after | arithmetic limit, us | after / limit |")
print("|---|---:|---:|---:|---:|---:|---:|")
points = [(r["P"], r["B"]) for r in before[0]["sweep"]]
for p, b in points:
    def median(runs, key):
        return statistics.median(next(r[key] for r in run["sweep"] if (r["P"], r["B"]) == (p, b)) for run in runs)
    old, new, limit = median(before, "cpp_us_per_sample"), median(after, "cpp_us_per_sample"), median(after, "limit_us_per_sample")
    print(f"| P {p}, B {b} | {p * b} | {old:.2f} | {new:.2f} | {old / new:.2f}x | {limit:.2f} | {new / limit:.1f}x |")
old_p, new_p = presets("before"), presets("after")
limits = {}
for run in after:
    for row in run.get("presets", []):
        limits.setdefault(row["preset"], []).append(row["limit_s"])
print()
print("| preset (one generation: population x minibatch) | before, s | after, s | before / after | arithmetic limit, s | after / limit |")
print("|---|---:|---:|---:|---:|---:|")
for name in old_p:
    old, new = statistics.median(old_p[name]), statistics.median(new_p[name])
    limit = statistics.median(limits[name]) if name in limits else float("nan")
    print(f"| {name} | {old:.3f} | {new:.3f} | {old / new:.2f}x | {limit:.3f} | {new / limit:.1f}x |")
