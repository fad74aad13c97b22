#!/usr/bin/env bash
# Screening on the validation split: one candidate recipe, its JSON kept without per-epoch layer statistics.
# The last 10,000 training images are held out (--val-split 0.16667 --val-mode last); the test set is scored
# once at the end and is not what screening looks at (its progress lines hide it). Result: docs/records/NAME/VARIANT.json.
# Usage: scripts/screen.sh NAME VARIANT FLAGS...   e.g. scripts/screen.sh best-fashion-screen vat2 --preset best-mlp
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
name=$1 variant=$2; shift 2
out=docs/records/$name
mkdir -p "$out"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- mnistlab || echo +uncommitted)
echo "== $name $variant ($commit, $(date -u +%FT%TZ)): $*" >&2
{ $PY -m mnistlab train "$@" --val-split 0.16667 --val-mode last --no-test-every-epoch \
    --device cpu --runs-dir "${RUNS_DIR:-/tmp/mnistlab-screen-runs}" --json 2>&1 1>&3 \
    | sed -uE 's/test (accuracy )?[0-9.]+%/test (not shown)/g' >&2; } 3>&1 | tail -n 1 > "$out/$variant.json.tmp" || true
$PY - "$out/$variant.json.tmp" <<'PY'
import json, sys
path = sys.argv[1]
run = json.load(open(path))
for epoch in run["history"]:
    epoch.pop("layers", None)
json.dump(run, open(path, "w"), indent=1)
PY
$PY scripts/provenance.py "$out/$variant.json.tmp" "$commit"  # the commit, machine and versions, in the JSON
mv "$out/$variant.json.tmp" "$out/$variant.json"
