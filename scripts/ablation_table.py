"""Print an ablation table from docs/records/NAME/*.json (written by scripts/ablate.sh).

Usage: python scripts/ablation_table.py NAME
Each row: the variant, its validation accuracy after the last epoch, the change from the recipe, its best epoch
and its training time. Validation only: the test set is not what an ablation measures.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    name = sys.argv[1]
    runs = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "docs" / "records" / name).glob("*.json"))}
    if "recipe" not in runs:
        sys.exit(f"no docs/records/{name}/recipe.json: run scripts/ablate.sh {name} … first")
    base = runs["recipe"]["history"][-1]["val_accuracy"]
    print("| variant | validation accuracy (last epoch) | change | best epoch | training time |")
    print("|---|---|---|---|---|")
    for variant, run in sorted(runs.items(), key=lambda kv: (kv[0] != "recipe", kv[0])):
        history = run["history"]
        last = history[-1]["val_accuracy"]
        best = max(history, key=lambda h: h["val_accuracy"])
        change = "—" if variant == "recipe" else f"{100 * (last - base):+.2f}"
        print(f"| {variant} | {100 * last:.2f}% | {change} | {best['epoch']} ({100 * best['val_accuracy']:.2f}%) | "
              f"{run['train_seconds'] / 60:.1f} min |")


if __name__ == "__main__":
    main()
