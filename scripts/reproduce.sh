#!/usr/bin/env bash
# Train every preset with its full published settings; one JSON result per preset in docs/repro/.
# Usage: scripts/reproduce.sh [PRESET ...]   (default: all presets)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
out=docs/repro
mkdir -p "$out"
presets=("$@")
[ ${#presets[@]} -gt 0 ] || mapfile -t presets < <($PY -c "from mnistlab.presets import PRESETS; print('\n'.join(PRESETS))")
for name in "${presets[@]}"; do
  echo "== $name" >&2
  $PY -m mnistlab train --preset "$name" --device cpu --runs-dir "${RUNS_DIR:-/tmp/mnistlab-repro-runs}" --json \
    | tail -n 1 > "$out/$name.json.tmp"
  mv "$out/$name.json.tmp" "$out/$name.json"
done
