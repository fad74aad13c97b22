#!/usr/bin/env bash
# Ablation on the validation split: a recipe, then the recipe with one of its ingredients turned off at a time.
# The last 10,000 training images are held out (--val-split 0.16667 --val-mode last); the test set is scored
# once at the end and is not what this measures. Results: docs/records/NAME/<variant>.json (the CLI's JSON).
# Usage: scripts/ablate.sh NAME RECIPE-FLAGS...   e.g. scripts/ablate.sh best-mlp --preset best-mlp
#        ONLY="recipe ema" scripts/ablate.sh …    runs just those variants.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
name=$1; shift
out=docs/records/$name
mkdir -p "$out"
# variant → the flags that turn its ingredient off (a later flag overrides the recipe's)
declare -A OFF=(
  [recipe]="" [no-input-dropout]="--input-dropout 0" [no-dropout]="--dropout 0" [no-max-norm]="--max-norm 0"
  [no-ema]="--ema 0" [no-warm-up]="--warmup-epochs 0" [no-label-smoothing]="--label-smoothing 0"
  [no-mixup]="--mixup 0" [no-augment]="--augment none" [no-adversarial]="--adversarial none"
  [no-hflip]="--no-aug-hflip"
)
variants=${ONLY:-recipe no-input-dropout no-dropout no-max-norm no-ema no-warm-up no-label-smoothing no-mixup no-augment no-adversarial}
for variant in $variants; do
  echo "== $name $variant ($(git rev-parse --short HEAD), $(date -u +%FT%TZ))" >&2
  # shellcheck disable=SC2086  # OFF's flags are meant to split
  $PY -m mnistlab train "$@" ${OFF[$variant]} --val-split 0.16667 --val-mode last --no-test-every-epoch \
    --device cpu --runs-dir "${RUNS_DIR:-/tmp/mnistlab-ablation-runs}" --json | tail -n 1 > "$out/$variant.json.tmp" || true
  $PY -c "import json, sys; json.load(open(sys.argv[1]))['history']" "$out/$variant.json.tmp"
  mv "$out/$variant.json.tmp" "$out/$variant.json"
done
