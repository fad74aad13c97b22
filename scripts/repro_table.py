"""Print the README's reproduction table from docs/repro/<preset>.json (written by scripts/reproduce.sh)."""

import json
from pathlib import Path

from mnistlab.data.augment_spec import Augment
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
    extras = [("label smoothing", config.label_smoothing), ("warm-up epochs", config.warmup_epochs),
              ("max-norm", config.max_norm), ("EMA", config.ema), ("mixup", config.mixup)]
    parts += [f"{name} {value:g}" for name, value in extras if value]
    if config.adversarial != "none":
        parts.append(f"{config.adversarial} adversarial ε {config.adversarial_eps:g}")
    if config.augment.active:
        parts.append(augment_settings(config.augment))
    if config.train_subset:
        parts.append(f"train subset {config.train_subset}")
    if config.test_subset:
        parts.append(f"test subset {config.test_subset}")
    if config.val_split:
        parts.append(f"val split {config.val_split:g} ({config.val_mode})")
    if config.engine == "numpy":
        parts.append("NumPy engine" + (", numpy.org tutorial recipe" if config.numpy_recipe != "mnistlab" else ""))
    if not config.test_every_epoch:
        parts.append("test scored once")
    if not config.shuffle:
        parts.append("files' order (no shuffle)")
    if config.train_subset and config.subset_mode != "first":
        seed = "" if config.subset_seed is None else f" {config.subset_seed}"
        parts[parts.index(f"train subset {config.train_subset}")] += f" ({config.subset_mode}{seed})"
    return ", ".join(parts)


def augment_settings(a: Augment) -> str:
    """The augmentation's active parts, e.g. 'augment rot 25° shift 0.1 scale 0.8–1.2 + original'."""
    steps = []
    if a.affine:
        steps.append(f"rot {a.rotation:g}° shift {a.translate:g} scale {a.scale_min:g}–{a.scale_max:g}"
                     + (f" shear {a.shear:g}°" if a.shear else ""))
    if a.elastic_alpha:
        steps.append(f"elastic α {a.elastic_alpha:g} σ {a.elastic_sigma:g}")
    if a.hflip:
        steps.append("left-right flip")
    return "augment " + ", ".join(steps) + (" + original" if a.concat_original else "")


def seed_runs(name: str) -> list[dict]:
    """The preset's per-seed results (`SEEDS=… scripts/reproduce.sh`), by seed."""
    files = sorted(ROOT.glob(f"docs/repro/{name}.seed-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [json.loads(p.read_text()) for p in files]


def measured(runs: list[dict]) -> tuple[str, str]:
    """('**mean%** (min–max, seeds …)', 'mean s') over one or several runs of a preset."""
    accs = [100 * r["test_accuracy"] for r in runs]
    seconds = sum(r["train_seconds"] for r in runs) / len(runs)
    if len(runs) == 1:
        return f"**{accs[0]:.2f}%**", f"{seconds:.0f} s"
    seeds = ", ".join(str(r["config"]["seed"]) for r in runs)
    low, high = f"{min(accs):.2f}", f"{max(accs):.2f}"
    spread = f"{low}–{high}, seeds {seeds}" if low != high else f"each of seeds {seeds}"
    return f"**{sum(accs) / len(accs):.2f}%** ({spread})", f"{seconds:.0f} s each"


def main() -> None:
    print("| preset | published | measured | training time | settings |")
    print("|---|---|---|---|---|")
    for name, preset in PRESETS.items():
        path = ROOT / "docs" / "repro" / f"{name}.json"
        runs = seed_runs(name) or ([json.loads(path.read_text())] if path.exists() else [])
        if not runs:
            continue
        config = TrainConfig.from_dict(runs[0]["config"])
        published = f"{100 * preset.published:.2f}%" if preset.published is not None else "—"
        accuracy, seconds = measured(runs)
        print(f"| `{name}` | {published} | {accuracy} | {seconds} | {settings(config)} |")


if __name__ == "__main__":
    main()
