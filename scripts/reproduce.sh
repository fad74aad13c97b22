#!/usr/bin/env bash
# Train every preset with its full published settings; one JSON result per preset in docs/repro/.
# Usage: scripts/reproduce.sh [PRESET ...]            (default: all presets, each at its own seed)
#        SEEDS="0 1 2" scripts/reproduce.sh PRESET ...  (one run per seed: docs/repro/PRESET.seed-K.json)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
out=docs/repro
mkdir -p "$out"
presets=("$@")
[ ${#presets[@]} -gt 0 ] || mapfile -t presets < <($PY -c "from mnistlab.presets import PRESETS; print('\n'.join(PRESETS))")
train() {  # train PRESET FILE [--seed K]: the CLI's JSON line, written whole or not at all
  local name=$1 file=$2; shift 2
  local commit; commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- mnistlab || echo +uncommitted)
  echo "== $name $* ($commit, $(date -u +%FT%TZ))" >&2
  # A run that stalls (seed003's lesson) exits 2 but still prints its JSON: keep it; anything else fails.
  $PY -m mnistlab train --preset "$name" --device cpu --runs-dir "${RUNS_DIR:-/tmp/mnistlab-repro-runs}" --json "$@" \
    | tail -n 1 > "$file.tmp" || true
  $PY -c "import json, sys; json.load(open(sys.argv[1]))['test_accuracy']" "$file.tmp"
  $PY scripts/provenance.py "$file.tmp" "$commit"  # the commit, machine and versions, in the JSON
  mv "$file.tmp" "$file"
}
for name in "${presets[@]}"; do
  if [ -n "${SEEDS:-}" ]; then
    for seed in $SEEDS; do train "$name" "$out/$name.seed-$seed.json" --seed "$seed"; done
  else
    train "$name" "$out/$name.json"
  fi
done
