#!/usr/bin/env bash
# No behaviour change (issue 31): three presets trained for 8 generations at seed 3 by two commits of
# bioevo must give the same metrics.csv (wall-time column aside) and summary.json (wall_seconds aside).
# Usage, from the repository root: results/refactor/same_metrics.sh OLD_COMMIT [NEW_COMMIT]
set -euo pipefail
old=$1; new=${2:-HEAD}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; git worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
for side in old new; do
    git worktree add -q --detach "$work/$side" "${!side}"
    for preset in randman-2 digits hh-randman-2; do
        (cd "$work/$side" && PYTHONPATH=. python -m bioevo.tasks.train --preset $preset --seed 3 --quiet \
            --set evolve.generations=8 --out "$work/runs-$side/$preset" > /dev/null)
    done
done
for preset in randman-2 digits hh-randman-2; do
    python - "$work/runs-old/$preset" "$work/runs-new/$preset" "$preset" <<'PY'
import csv, json, sys
a, b, name = sys.argv[1:]
rows = [[{k: v for k, v in r.items() if k != "wall_seconds"} for r in csv.DictReader(open(f"{d}/metrics.csv"))]
        for d in (a, b)]
summaries = [{k: v for k, v in json.load(open(f"{d}/summary.json")).items() if k != "wall_seconds"} for d in (a, b)]
print(f"{name}: metrics {'same' if rows[0] == rows[1] else 'DIFFER'} ({len(rows[0])} generations), "
      f"summary {'same' if summaries[0] == summaries[1] else 'DIFFER'}, test accuracy {summaries[1]['test']['accuracy']:.4f}")
PY
done
