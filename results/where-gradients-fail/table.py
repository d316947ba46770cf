"""The comparison table of results/where-gradients-fail/README.md, read from the run folders:
ES (summary.json, decisive.json) and BPTT (baselines.json, decisive.json) per preset and seed.

    PYTHONPATH=. python results/where-gradients-fail/table.py
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def rows() -> list[str]:
    out = ["| preset | method | seed | test acc (argmax) | decisive test acc | wall s | lr kept | diverged lrs | gradient norm range |",
           "|---|---|---:|---:|---:|---:|---|---|---|"]
    for preset_dir in sorted(p for p in HERE.iterdir() if p.is_dir()):
        for run in sorted(preset_dir.glob("es-s*"), key=lambda p: int(p.name.split("-s")[1])):
            s, d = _load(run / "summary.json"), _load(run / "decisive.json")
            if s is None:
                continue
            out.append(f"| `{preset_dir.name}` | ES | {s['seed']} | {100 * s['test']['accuracy']:.1f}% | "
                       f"{'' if d is None else format(100 * d['accuracy_ties_below_tol'], '.1f') + '%'} | "
                       f"{s['wall_seconds']:.0f} | | | |")
        for run in sorted(preset_dir.glob("bptt-s*"), key=lambda p: (p.name.rsplit("-s", 1)[0], int(p.name.rsplit("-s", 1)[1]))):
            b, d = _load(run / "baselines.json"), _load(run / "decisive.json")
            if b is None:
                continue
            r = b["methods"]["bptt"]
            div = [k for k, v in r["divergences"].items() if v]
            lo = min(c["grad_norm_range"][0] for c in r["candidates"] if c["grad_norm_range"]) if any(
                c["grad_norm_range"] for c in r["candidates"]) else None
            hi = max(c["grad_norm_range"][1] for c in r["candidates"] if c["grad_norm_range"]) if lo is not None else None
            rng = "" if lo is None else f"{lo:.1e} - {hi:.1e}"
            out.append(f"| `{preset_dir.name}` | BPTT ({run.name}) | {b['seed']} | {100 * r['test_accuracy']:.1f}% | "
                       f"{'' if d is None else format(100 * d['accuracy_ties_below_tol'], '.1f') + '%'} | "
                       f"{r['wall_seconds']:.0f} | {r['lr']:g} | {', '.join(div) or 'none'} of {len(r['divergences'])} | {rng} |")
    return out


if __name__ == "__main__":
    print("\n".join(rows()))
