"""The before/after table of results/perf/README.md from the raw outputs of before_after.sh:
medians over the alternated rounds, ratios before/after, and the arithmetic limit (from the
after-benchmarks' own preset rows); with presets-after-<precision>.jsonl (AFTER_PRECISIONS), those
precisions' generation times and ratios too.

    python results/perf/summarise.py [FOLDER]   # default: this folder (the first round)"""
import json
import statistics
import sys
from pathlib import Path

here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent


def bench_runs(kind: str) -> list[dict]:
    return [json.loads(p.read_text().strip().splitlines()[-1]) for p in sorted(here.glob(f"bench-{kind}-*.txt"))]


def presets(kind: str, path: Path | None = None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for line in (path or here / f"presets-{kind}.jsonl").read_text().splitlines():
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
variants = {path.stem.removeprefix("presets-after-"): presets("", path)
            for path in sorted(here.glob("presets-after-*.jsonl"))}
limits = {}
for run in after:
    for row in run.get("presets", []):
        limits.setdefault(row["preset"], []).append(row["limit_s"])
print()
extra = "".join(f" after, {v}, s | before / after, {v} |" for v in variants)
print("| preset (one generation: population x minibatch) | before, s | after, s | before / after | arithmetic limit, s "
      f"| after / limit |{extra}")
print("|---|---:|---:|---:|---:|---:|" + "---:|---:|" * len(variants))
for name in old_p:
    old, new = statistics.median(old_p[name]), statistics.median(new_p[name])
    limit = statistics.median(limits[name]) if name in limits else float("nan")
    cells = "".join(f" {statistics.median(v[name]):.3f} | {old / statistics.median(v[name]):.2f}x |"
                    for v in variants.values())
    print(f"| {name} | {old:.3f} | {new:.3f} | {old / new:.2f}x | {limit:.3f} | {new / limit:.1f}x |{cells}")
