#!/usr/bin/env bash
# Where the time goes, float32, and what population now costs what 64 did (results/perf/README.md).
# Run from anywhere with bioevo installed; needs Linux perf (Debian: linux-perf) for --profile.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd /tmp  # import the installed bioevo, not a source folder
python -m bioevo.bench --quick --repeats 3 --profile --templates brian2 > "$here/profile-brian2.txt"
python -m bioevo.bench --quick --repeats 3 --profile > "$here/profile-bioevo.txt"
python -m bioevo.bench --quick --precision float32 > "$here/bench-float32.txt"
for popsize in 64 128 192 256; do
    python -m bioevo.bench --quick --presets digits,mnist --set strategy.es.popsize=$popsize \
        > "$here/population-$popsize.txt"
done
