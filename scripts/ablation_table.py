"""Print an ablation table from docs/records/NAME/*.json (written by scripts/ablate.sh).

Usage: python scripts/ablation_table.py NAME            one recipe: a row per variant, with its best epoch and time
       python scripts/ablation_table.py NAME NAME ...   several recipes side by side: a column each (the README's)
A variant's number is its validation accuracy after the last epoch, and its change from its recipe's; a variant
joined by + (no-ema+no-max-norm) has several ingredients off at once. Validation only: the test set is not what
an ablation measures.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# variant (scripts/ablate.sh's) → whether a recipe's config has the ingredient that variant turns off
HAS = {
    "no-adversarial": lambda c: c["adversarial"] != "none", "no-ema": lambda c: c["ema"] > 0,
    "no-max-norm": lambda c: c["max_norm"] > 0, "no-warm-up": lambda c: c["warmup_epochs"] > 0,
    "no-mixup": lambda c: c["mixup"] > 0, "no-label-smoothing": lambda c: c["label_smoothing"] > 0,
    "no-hflip": lambda c: c["augment"]["hflip"], "no-dropout": lambda c: c["model"]["dropout"] > 0,
    "no-input-dropout": lambda c: c["model"]["input_dropout"] > 0,
    "no-augment": lambda c: any(c["augment"][k] for k in ("rotation", "translate", "shear", "hflip", "elastic_alpha"))
    or c["augment"]["scale_min"] != 1 or c["augment"]["scale_max"] != 1,
}


def load(name: str) -> dict[str, dict]:
    """Variant → run JSON, the recipe first."""
    runs = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "docs" / "records" / name).glob("*.json"))}
    if "recipe" not in runs:
        sys.exit(f"no docs/records/{name}/recipe.json: run scripts/ablate.sh {name} … first")
    return dict(sorted(runs.items(), key=lambda kv: (kv[0] != "recipe", kv[0])))


def last_val(run: dict) -> float:
    return run["history"][-1]["val_accuracy"]


def has(config: dict, variant: str) -> bool:
    """Whether the recipe has every ingredient the variant turns off (no-ema+no-max-norm: both)."""
    return all(HAS[part](config) for part in variant.split("+"))


def cell(runs: dict[str, dict], variant: str) -> str:
    if variant not in runs:
        return "not run" if has(runs["recipe"]["config"], variant) else "(not in the recipe)"
    val = last_val(runs[variant])
    return f"{100 * val:.2f}%" if variant == "recipe" else f"{100 * val:.2f}% ({100 * (val - last_val(runs['recipe'])):+.2f})"


def one(name: str) -> None:
    runs = load(name)
    print("| variant | validation accuracy (last epoch) | change | best epoch | training time |")
    print("|---|---|---|---|---|")
    for variant, run in runs.items():
        history = run["history"]
        best = max(history, key=lambda h: h["val_accuracy"])
        change = "—" if variant == "recipe" else f"{100 * (last_val(run) - last_val(runs['recipe'])):+.2f}"
        print(f"| {variant} | {100 * last_val(run):.2f}% | {change} | {best['epoch']} ({100 * best['val_accuracy']:.2f}%) | "
              f"{run['train_seconds'] / 60:.1f} min |")


def side_by_side(names: list[str]) -> None:
    recipes = {name: load(name) for name in names}
    variants = ["recipe"] + sorted({v for runs in recipes.values() for v in runs} - {"recipe"})
    print("| variant | " + " | ".join(f"`{name}`" for name in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for variant in variants:
        print(f"| {variant} | " + " | ".join(cell(recipes[name], variant) for name in names) + " |")


if __name__ == "__main__":
    if len(sys.argv) == 2:
        one(sys.argv[1])
    else:
        side_by_side(sys.argv[1:])
