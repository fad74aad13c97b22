#!/usr/bin/env bash
# Ablation on the validation split: a recipe, then the recipe with one of its ingredients turned off at a time.
# The last 10,000 training images are held out (--val-split 0.16667 --val-mode last); the test set is scored
# once at the end and is not what this measures. Results: docs/records/NAME/<variant>.json (scripts/screen.sh's).
# Usage: scripts/ablate.sh NAME RECIPE-FLAGS...   e.g. scripts/ablate.sh best-mlp --preset best-mlp
#        ONLY="recipe no-ema" scripts/ablate.sh …    runs just those variants (PY, RUNS_DIR: see screen.sh);
#        a variant joined by + (no-ema+no-max-norm) turns several ingredients off at once.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; shift
# variant → the flags that turn its ingredient off (a later flag overrides the recipe's)
declare -A OFF=(
  [recipe]="" [no-input-dropout]="--input-dropout 0" [no-dropout]="--dropout 0" [no-max-norm]="--max-norm 0"
  [no-ema]="--ema 0" [no-warm-up]="--warmup-epochs 0" [no-label-smoothing]="--label-smoothing 0"
  [no-mixup]="--mixup 0" [no-augment]="--augment none" [no-adversarial]="--adversarial none"
  [no-hflip]="--no-aug-hflip"
)
variants=${ONLY:-recipe no-input-dropout no-dropout no-max-norm no-ema no-warm-up no-label-smoothing no-mixup no-augment no-adversarial no-hflip}
for variant in $variants; do
  flags=""
  for part in ${variant//+/ }; do  # no-ema+no-max-norm: both off at once
    [[ -v "OFF[$part]" ]] || { echo "unknown variant: $part (known: ${!OFF[*]})" >&2; exit 2; }
    flags+=" ${OFF[$part]}"
  done
  # shellcheck disable=SC2086  # the flags are meant to split
  scripts/screen.sh "$name" "$variant" "$@" $flags
done
