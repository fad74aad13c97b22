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
# Presets the rule changed whose three test seeds are not yet rerun on the simpler recipe (README, "How the
# records were set"): until then the preset is its recipe row, and the README's table reports that recipe.
NOT_YET_RERUN: set[str] = set()  # best-mlp and best-fashion were rerun on 2026-12-07


def flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def runs(name: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (ROOT / "docs" / "records" / name).glob("*.json")}


def last_val(run: dict) -> float:
    return run["history"][-1]["val_accuracy"]


def kept(name: str) -> str:
    """The run docs/records' rule keeps: the recipe less every ingredient whose removal did not lower validation."""
    found = runs(name)
    recipe = last_val(found["recipe"])
    alone = {variant: last_val(run) for variant, run in found.items() if variant != "recipe" and "+" not in variant}
    dropped = sorted(variant for variant, val in alone.items() if val >= recipe)
    if len(dropped) <= 1:
        return dropped[0] if dropped else "recipe"
    together = "+".join(dropped)
    assert together in found, f"{name}: the check {together} has not been run"
    return together if last_val(found[together]) >= recipe else max(dropped, key=alone.get)  # they interact


@pytest.mark.parametrize("name", ABLATIONS)
def test_the_recipe_row_is_a_validation_run_at_the_presets_length(name):
    recipe = runs(name)["recipe"]["config"]
    assert recipe["val_split"] == 0.16667 and recipe["val_mode"] == "last" and not recipe["test_every_epoch"]
    assert recipe["epochs"] == PRESETS[ABLATIONS[name]].config.epochs


@pytest.mark.parametrize("name", ABLATIONS)
def test_each_preset_is_the_run_the_rule_keeps_or_waits_for_its_reruns(name):
    """Where the rule took ingredients out, the preset changes with its three new seeds, not before."""
    chosen = "recipe" if name in NOT_YET_RERUN else kept(name)
    assert name not in NOT_YET_RERUN or kept(name) != "recipe"  # waiting for reruns the rule asked for
    config = runs(name)[chosen]["config"]
    assert TrainConfig.from_dict({**config, "val_split": 0.0, "device": "auto"}) == PRESETS[ABLATIONS[name]].config


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
