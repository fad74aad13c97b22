"""Print the README's reproduction table from docs/repro/<preset>.json (written by scripts/reproduce.sh)."""

import json
from pathlib import Path

from mnistlab.presets import PRESETS
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def settings(config: TrainConfig) -> str:
    """The settings that matter, in one short line."""
    m = config.model
    parts = [config.dataset, m.describe(), f"{config.optimizer} lr {config.lr:g}", f"batch {config.batch_size}",
             f"{config.epochs} epochs", f"loss {config.loss}"]
    if m.output != "none":
        parts.append(f"{m.output} output")
    if m.init != "torch":
        parts.append(m.init)
    if m.input_scale != "unit":
        parts.append({"raw": "raw 0–255 inputs", "standardize": "standardised inputs"}[m.input_scale])
    if config.schedule != "none":
        parts.append(f"{config.schedule} schedule")
    if config.label_smoothing:
        parts.append(f"label smoothing {config.label_smoothing:g}")
    if config.augment.active:
        a = config.augment
        parts.append(f"augment rot {a.rotation:g}° shift {a.translate:g} scale {a.scale_min:g}–{a.scale_max:g}"
                     + (" + original" if a.concat_original else ""))
    if config.train_subset:
        parts.append(f"train subset {config.train_subset}")
    if config.test_subset:
        parts.append(f"test subset {config.test_subset}")
    if config.val_split:
        parts.append(f"val split {config.val_split:g} ({config.val_mode})")
    if config.engine == "numpy":
        parts.append("NumPy engine")
    return ", ".join(parts)


def main() -> None:
    print("| preset | published | measured | training time | settings |")
    print("|---|---|---|---|---|")
    for name, preset in PRESETS.items():
        path = ROOT / "docs" / "repro" / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        config = TrainConfig.from_dict(result["config"])
        published = f"{100 * preset.published:.2f}%" if preset.published is not None else "—"
        print(f"| `{name}` | {published} | **{100 * result['test_accuracy']:.2f}%** | "
              f"{result['train_seconds']:.0f} s | {settings(config)} |")


if __name__ == "__main__":
    main()
