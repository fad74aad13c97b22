"""The 60-epoch ablations in docs/records: each run is its preset's recipe with its ingredients off, nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnistlab.data.augment_spec import Augment
from mnistlab.presets import PRESETS
from mnistlab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ABLATIONS = {"best-mlp-60": "best-mlp", "best-mlp-augment-60": "best-mlp-augment", "best-fashion-60": "best-fashion"}
# scripts/ablate.sh's variants → what each must change in the recipe's config (flattened keys); a+b: both
TURNED_OFF = {
    "no-adversarial": {"adversarial": "none"}, "no-ema": {"ema": 0.0}, "no-max-norm": {"max_norm": 0.0},
    "no-warm-up": {"warmup_epochs": 0.0}, "no-mixup": {"mixup": 0.0}, "no-hflip": {"augment.hflip": False},
    "no-augment": {f"augment.{k}": v for k, v in Augment().__dict__.items()},
}


def flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def runs(name: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (ROOT / "docs" / "records" / name).glob("*.json")}


@pytest.mark.parametrize("name", ABLATIONS)
def test_the_recipe_row_is_the_preset_on_the_validation_split(name):
    recipe = runs(name)["recipe"]["config"]
    assert recipe["val_split"] == 0.16667 and recipe["val_mode"] == "last" and not recipe["test_every_epoch"]
    assert TrainConfig.from_dict({**recipe, "val_split": 0.0, "device": "auto"}) == PRESETS[ABLATIONS[name]].config


@pytest.mark.parametrize("name", ABLATIONS)
def test_each_variant_turns_off_its_ingredients_and_changes_nothing_else(name):
    found = runs(name)
    recipe = flat(found.pop("recipe")["config"])
    for variant, run in found.items():
        config = flat(run["config"])
        changed = {key: config[key] for key in config if config[key] != recipe[key]}
        off = {key: value for part in variant.split("+") for key, value in TURNED_OFF[part].items()}
        expected = {key: value for key, value in off.items() if recipe[key] != value}
        assert changed == expected and expected, f"{name}/{variant}: {changed}"
        assert len(run["history"]) == recipe["epochs"]  # the preset's full length, not a shortened screen


def test_the_readme_holds_the_table_the_script_prints():
    table = subprocess.run([sys.executable, "scripts/ablation_table.py", *ABLATIONS], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    assert table.count("\n") >= 3 and table in (ROOT / "README.md").read_text()
