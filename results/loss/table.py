"""Per run of results/loss/README.md: (generations to 95% validation accuracy, wall seconds then,
test accuracy).  Usage: python results/loss/table.py RUNS_DIR (where the runs were written)."""
import csv
import glob
import json
import sys


def row(run: str) -> tuple:
    summary = json.load(open(run + "/summary.json"))
    metrics = list(csv.DictReader(open(run + "/metrics.csv")))
    hit = next((r for r in metrics if r["val_acc"] and float(r["val_acc"]) >= 0.95), None)
    return (int(hit["gen"]) + 1 if hit else None, round(float(hit["wall_seconds"])) if hit else None,
            summary["test"]["accuracy"])


if __name__ == "__main__":
    runs_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    for prefix in ["ce", "hinge", "r10-ce", "r10-hinge"]:
        runs = sorted(glob.glob(f"{runs_dir}/{prefix}-s[0-9]"))
        print(prefix, [row(r) for r in runs if glob.glob(r + "/summary.json")])
