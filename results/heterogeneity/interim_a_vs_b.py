"""Interim a-vs-b numbers of the temporal Randman quoted in README.md (State), while c and d are
still running and --report refuses an unfinished task. Delete once --report covers all 20 runs.
Usage: python results/heterogeneity/interim_a_vs_b.py (from the project root)."""
import csv, json
from bioevo.report.paired import paired_difference, common_target
from bioevo.tasks.seeds import first_generation
root = "results/heterogeneity/randman-10-temporal"
test = {c: [json.load(open(f"{root}/{c}/s{s}/summary.json"))["test"]["accuracy"] for s in range(5)] for c in "ab"}
rows = {c: [list(csv.DictReader(open(f"{root}/{c}/s{s}/metrics.csv"))) for s in range(5)] for c in "ab"}
target = common_target([max(float(r["val_acc"]) for r in rr if r["val_acc"]) for c in "ab" for rr in rows[c]])
gens = {c: [first_generation(rr, "val_acc", target) for rr in rows[c]] for c in "ab"}
print("test b - a:", paired_difference(test["b"], test["a"]))
print(f"generations to {target} val, b - a:", paired_difference(gens["b"], gens["a"]))
