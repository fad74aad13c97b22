"""The record presets build, train and record: one epoch of each on a subset (the full runs are scripts/reproduce.sh's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnistlab.experiment import run_experiment
from mnistlab.lessons import LESSONS
from mnistlab.presets import PRESETS, preset_changes
from mnistlab.record_presets import BEST_FASHION, BEST_MLP, BEST_MLP_AUGMENT, BEST_MLP_SHORT, PROTOCOL, RECORDS
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

RECORDS_DIR = Path(__file__).resolve().parents[1] / "docs" / "records"


@pytest.mark.parametrize("preset", RECORDS, ids=lambda p: p.name)
def test_each_record_preset_trains_one_epoch_on_a_subset_and_is_stored(preset, tiny_data_dir, runs_dir):
    config = preset.config.with_(epochs=1, train_subset=300, device="cpu")
    store = RunStore(runs_dir)
    result = run_experiment(config, preset=preset.name, store=store, data_dir=tiny_data_dir)
    run = store.open(result.run_id)
    assert run.info.status == "finished" and run.info.preset == preset.name
    assert list(run.info.preset_changes) == preset_changes(config, preset.name)
    # A changed run is not the record.
    assert f"epochs {preset.config.epochs} → 1" in run.info.preset_changes and not run.info.is_preset
    (epoch,) = run.history()
    assert epoch["train_loss"] > 0 and 0 < epoch["test_accuracy"] <= 1  # the one test score, after the last epoch
    assert run.model().spec == preset.config.model


@pytest.mark.parametrize("preset", RECORDS, ids=lambda p: p.name)
def test_each_record_preset_follows_the_protocol_and_says_so(preset):
    assert PRESETS[preset.name] is preset
    assert not preset.config.test_every_epoch and preset.config.val_split == 0  # all 60,000 images, test once
    assert PROTOCOL in preset.lesson
    assert not preset.config.augment.active or preset.name != "best-mlp"  # best-mlp: no augmentation


def test_the_guided_path_ends_on_the_short_record_run():
    last = LESSONS[-1]
    assert last.title == "How far can an MLP go?" and last.presets == ("best-mlp-short",)
    assert "best-mlp" in last.watch and "README" in last.watch
    # The shortened preset is best-mlp with fewer epochs and the test scored every epoch, for the curve.
    assert preset_changes(BEST_MLP_SHORT.config, "best-mlp") == ["epochs 60 → 4", "test_every_epoch False → True"]
    assert BEST_MLP_SHORT.config.with_(epochs=BEST_MLP.config.epochs, test_every_epoch=False) == BEST_MLP.config


def test_best_fashion_starts_from_the_screened_recipe():
    """The recipe that won on validation (docs/records) is the ablation's recipe row; test_record_ablations checks
    that the preset is that row less what the ablation took out."""
    screened = json.loads((RECORDS_DIR / "best-fashion-screen" / "2x2048-mixup0.2-flip-60.json").read_text())
    recipe_row = json.loads((RECORDS_DIR / "best-fashion-60" / "recipe.json").read_text())
    assert screened["config"] == recipe_row["config"]
    assert BEST_FASHION.config.dataset == "fashion-mnist" and BEST_FASHION.config.augment.hflip
    assert BEST_FASHION.config.mixup == screened["config"]["mixup"] and BEST_FASHION.config.model.hidden == (2048, 2048)
    # It beat every other 60-epoch screening run on validation at the last epoch.
    last_val = {path.stem: json.loads(path.read_text())["history"][-1]["val_accuracy"]
                for path in (RECORDS_DIR / "best-fashion-screen").glob("*-60.json")}
    assert max(last_val, key=last_val.get) == "2x2048-mixup0.2-flip-60" and len(last_val) >= 10


def test_best_mlp_augment_is_the_cheapest_screened_recipe_within_005_of_the_best():
    """docs/records' rule: the best last-epoch validation accuracy; within 0.05 point of it, the cheapest."""
    runs = {path.stem: json.loads(path.read_text()) for path in (RECORDS_DIR / "best-mlp-augment-screen").glob("*.json")}
    last_val = {name: run["history"][-1]["val_accuracy"] for name, run in runs.items()}
    close = [name for name, val in last_val.items() if val >= max(last_val.values()) - 0.0005]
    cost = {name: runs[name]["config"]["epochs"] * TrainConfig.from_dict(runs[name]["config"]).model.parameter_count()
            * (2 if runs[name]["config"]["adversarial"] == "vat" else 1) for name in close}
    chosen = min(close, key=lambda name: (cost[name], -last_val[name]))  # at equal cost, the higher
    assert len(runs) >= 5 and len(close) >= 2  # a choice among several, not one run
    screened = runs[chosen]["config"]
    assert BEST_MLP_AUGMENT.config == TrainConfig.from_dict({**screened, "val_split": 0.0, "device": "auto"})
    assert BEST_MLP_AUGMENT.config.augment.elastic_alpha > 0 and BEST_MLP_AUGMENT.config.adversarial == "none"
    # best-mlp's optimiser and net, keeping the EMA and max-norm best-mlp lost, elastic distortions for VAT.
    assert preset_changes(BEST_MLP_AUGMENT.config, "best-mlp") == ["max_norm none → 3.5", "ema 0 → 0.999", "adversarial vat → none",
                                                                   "elastic_alpha 0 → 34"]
