"""Insight from a run's history: gradient flow, rule-based hints and their fixes, confusion, twin runs."""

import math

import numpy as np
import pytest

from mnistlab.errors import ConfigError, RunStoreError
from mnistlab.insight import (
    apply_fix,
    confusion_at,
    confusion_epochs,
    diagnose,
    diagnose_gradients,
    find_twin,
    gradient_flow,
    twin_config,
)
from mnistlab.models.spec import MLPSpec
from mnistlab.presets import PRESETS
from mnistlab.train.config import Augment, TrainConfig


def layer(name, grad, dead=0.0):
    return {"name": name, "fan_in": 1, "fan_out": 1, "grad_norm": grad, "weight_norm": 1.0, "update_ratio": 1e-3,
            "act_mean": 0.5, "act_std": 0.2, "dead_fraction": None if name == "output" else dead,
            "saturated_fraction": None}


def epoch(n, train_acc=0.9, held_acc=0.9, loss=0.3, grads=None, dead=0.0, val=True, confusion=None):
    """One history row; `grads` lists per-layer grad norms from layer 1 to the output."""
    row = {"epoch": n, "epochs": 10, "train_loss": loss, "train_accuracy": train_acc,
           "val_loss": 0.3 if val else None, "val_accuracy": held_acc if val else None,
           "test_loss": 0.3, "test_accuracy": held_acc if not val else 0.5, "lr": 0.1}
    if grads is not None:
        names = [f"layer {i + 1}" for i in range(len(grads) - 1)] + ["output"]
        row["layers"] = [layer(name, g, dead) for name, g in zip(names, grads, strict=True)]
    if confusion is not None:
        row["test_confusion"] = confusion
    return row


DEEP_SIGMOID = TrainConfig(model=MLPSpec(hidden=(50, 50, 50, 50), activation="sigmoid"), lr=0.001, epochs=10)
RELU = TrainConfig(model=MLPSpec(hidden=(64, 32)), lr=0.5, epochs=10)


def healthy(n=4, **kw):
    """Converging: losses falling, accuracies levelling off near 97%, train and validation together."""
    return [epoch(i + 1, train_acc=0.97 + 0.002 * i, held_acc=0.971 + 0.002 * i, loss=0.4 - 0.05 * i,
                  grads=[0.3, 0.2, 0.1], **kw) for i in range(n)]


def kinds(hints):
    return [h.kind for h in hints]


def test_gradient_flow_tabulates_norms_per_epoch_and_layer():
    initial = {"epoch": 0, "layers": [layer(name, None) for name in ("layer 1", "layer 2", "output")]}  # no step yet
    history = [initial, epoch(1, grads=[1e-3, 1e-2, 1e-1]), {"epoch": 2, "train_loss": 0.2},
               epoch(3, grads=[2e-3, 2e-2, None])]
    flow = gradient_flow(history)
    assert flow.epochs == [1, 3] and flow.layers == ["layer 1", "layer 2", "output"]
    np.testing.assert_array_equal(flow.grad_norm[0], [1e-3, 1e-2, 1e-1])
    assert math.isnan(flow.grad_norm[1, 2]) and flow.first_to_last(0) == pytest.approx(100)
    with pytest.raises(RunStoreError, match="train it again"):
        gradient_flow([{"epoch": 1, "train_loss": 0.3}])


def test_vanishing_gradients_are_named_with_the_ratio_and_the_activation():
    history = [epoch(1, grads=[1e-5, 1e-3, 1.3e-2])]
    assert diagnose_gradients(history, "sigmoid") == (
        "Vanishing gradients: layer 1 gets 1/1,300 of the output layer's gradient; sigmoid layers squash the "
        "signal at each layer. Try ReLU or batch normalisation.")
    assert "1/25 " in diagnose_gradients([epoch(1, grads=[4e-3, 0.1])], "relu")  # exactly at the threshold
    assert diagnose_gradients([epoch(1, grads=[4.2e-3, 0.1])], "relu") is None  # just under it
    # Judged at the last epoch: an early vanishing spell that recovered is not reported.
    assert diagnose_gradients([epoch(1, grads=[1e-4, 0.1]), epoch(2, grads=[0.05, 0.1])]) is None
    assert diagnose_gradients([epoch(1, grads=[0.0, 0.1])]).startswith("Vanishing gradients: layer 1 gets no gradient")
    assert diagnose_gradients(healthy()) is None
    assert diagnose_gradients([{"epoch": 1, "train_loss": 0.3}]) is None  # nothing recorded: nothing to say
    # Raw 0–255 pixels inflate layer 1's weight gradient 255-fold: the fade shows at the weakest hidden layer.
    assert diagnose_gradients([epoch(1, grads=[0.06, 0.0075, 0.015, 0.06, 0.2])], "sigmoid").startswith(
        "Vanishing gradients: layer 2 gets 1/27 of the output layer's gradient")


def test_exploding_gradients_from_growth_nan_gradients_or_a_nan_loss():
    initial = {"epoch": 0, "layers": [layer("layer 1", None), layer("output", None)]}
    growing = [initial, epoch(1, grads=[0.1, 0.1]), epoch(2, grads=[0.5, 0.4]), epoch(3, grads=[1.2, 0.9])]
    assert diagnose_gradients(growing).startswith("Exploding gradients: the largest gradient norm grew 12×")
    assert diagnose_gradients([epoch(1, grads=[float("nan"), 0.1])]).startswith(
        "Exploding gradients: a gradient became infinite or NaN at epoch 1")
    assert "loss became nan at epoch 2" in diagnose_gradients([epoch(1), epoch(2, loss=float("nan"))])


def test_diagnose_fires_vanishing_on_tiny_first_layer_gradients_and_not_on_a_healthy_run():
    vanishing = [epoch(i + 1, train_acc=0.2, held_acc=0.2, grads=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1]) for i in range(3)]
    hints = diagnose(DEEP_SIGMOID, vanishing)
    assert kinds(hints) == ["vanishing_gradients"]
    assert "1/10,000" in hints[0].explanation and hints[0].fix == {"activation": "relu", "init": "he_normal"}
    assert diagnose(DEEP_SIGMOID, healthy()) == []


def test_without_layer_stats_a_deep_sigmoid_net_that_barely_learns_is_suspected():
    history = [epoch(i + 1, train_acc=0.2, held_acc=0.2, loss=2.3) for i in range(3)]
    assert kinds(diagnose(DEEP_SIGMOID, history)) == ["vanishing_gradients"]
    assert kinds(diagnose(DEEP_SIGMOID.with_(hidden=(50,)), history)) != ["vanishing_gradients"]


def test_diagnose_fires_overfitting_when_the_gap_is_wide_and_growing():
    history = [epoch(1, 0.92, 0.90), epoch(2, 0.96, 0.90), epoch(3, 0.99, 0.90)]
    hints = diagnose(RELU, history)
    assert kinds(hints) == ["overfitting"] and "9.0 points" in hints[0].explanation
    assert hints[0].fix == {"dropout": 0.3}
    # Test accuracy stands in when there is no validation split.
    no_val = [epoch(1, 0.92, 0.90, val=False), epoch(2, 0.99, 0.90, val=False)]
    assert "vs test 90.0%" in diagnose(RELU, no_val)[0].explanation
    # A wide gap that is not growing is left alone.
    steady = [epoch(1, 0.95, 0.90), epoch(2, 0.95, 0.90)]
    assert "overfitting" not in kinds(diagnose(RELU, steady))


def test_overfitting_fixes_follow_what_the_config_already_does():
    history = [epoch(1, 0.92, 0.90), epoch(2, 0.99, 0.90)]
    assert diagnose(RELU.with_(dropout=0.5, train_subset=1000), history)[0].fix == {"train_subset": None}
    assert diagnose(RELU.with_(dropout=0.5), history)[0].fix == {"augment": "affine"}
    numpy = PRESETS["seed002-numpy"].config
    assert diagnose(numpy.with_(train_subset=None), history)[0].fix == {"weight_decay": 5e-4}


def test_diagnose_fires_lr_too_high_on_divergence_or_a_rising_loss():
    assert kinds(diagnose(RELU, healthy(), status="diverged")) == ["lr_too_high"]
    rising = [epoch(1, loss=0.5), epoch(2, loss=0.3), epoch(3, loss=0.6)]
    hints = diagnose(RELU, rising)
    assert kinds(hints) == ["lr_too_high"] and hints[0].fix == {"lr": pytest.approx(0.05)}
    assert "from 0.3 (epoch 2) to 0.6" in hints[0].explanation


def test_diagnose_fires_dead_relus_with_a_fix_the_engine_supports():
    history = healthy(dead=0.7)
    hints = diagnose(RELU, history)
    assert kinds(hints) == ["dead_relu"] and "70% of the units in layer 1" in hints[0].explanation
    assert hints[0].fix == {"activation": "leaky_relu"}
    assert diagnose(PRESETS["seed002-numpy"].config, history)[0].fix == {"lr": pytest.approx(0.0005)}
    assert diagnose(RELU.with_(activation="leaky_relu"), history) == []


def test_diagnose_fires_underfitting_while_accuracy_still_climbs_or_stays_low():
    climbing = [epoch(1, 0.80, 0.81), epoch(2, 0.86, 0.87)]
    hints = diagnose(RELU, climbing)
    assert kinds(hints) == ["underfitting"] and hints[0].fix == {"epochs": 20}
    flat = [epoch(1, 0.85, 0.86), epoch(2, 0.851, 0.86)]
    assert diagnose(RELU, flat)[0].fix == {"hidden": (128, 64)}
    assert diagnose(RELU.with_(hidden=()), flat)[0].fix == {"hidden": (128,)}


def test_every_fix_from_every_preset_applies_to_a_valid_new_config():
    histories = [
        [epoch(i + 1, train_acc=0.2, held_acc=0.2, grads=[1e-5, 1e-1], dead=0.9) for i in range(3)],
        [epoch(1, 0.92, 0.90, loss=0.2), epoch(2, 0.99, 0.90, loss=0.5)],
        [epoch(1, 0.80, 0.81), epoch(2, 0.86, 0.87)],
        [epoch(1, 0.85, 0.86), epoch(2, 0.851, 0.86)],
    ]
    seen = set()
    for preset in PRESETS.values():
        for history in histories:
            for status in (None, "diverged"):
                for hint in diagnose(preset.config, history, status=status):
                    seen.add(hint.kind)
                    fixed = apply_fix(preset.config, hint.fix)
                    assert isinstance(fixed, TrainConfig) and TrainConfig.from_json(fixed.to_json()) == fixed
                    assert fixed.dataset == preset.config.dataset  # only the named settings change
    assert seen == {"lr_too_high", "vanishing_gradients", "dead_relu", "overfitting", "underfitting"}


def test_apply_fix_merges_model_fields_and_named_augmentations_and_rejects_the_rest():
    fixed = apply_fix(RELU.to_dict(), {"activation": "leaky_relu", "lr": 0.01, "augment": "affine"})
    assert fixed.model.activation == "leaky_relu" and fixed.model.hidden == (64, 32) and fixed.lr == 0.01
    assert fixed.augment == Augment(rotation=15, translate=0.1, scale_min=0.9, scale_max=1.1)
    with pytest.raises(ConfigError, match="'colour'"):
        apply_fix(RELU, {"colour": "red"})
    with pytest.raises(ConfigError, match="dropout"):
        apply_fix(RELU, {"dropout": 1.5})
    with pytest.raises(ConfigError, match="augmentation"):
        apply_fix(RELU, {"augment": "wobble"})


def test_confusion_at_an_epoch_or_a_clear_message():
    m1, m2 = np.eye(10, dtype=int).tolist(), (2 * np.eye(10, dtype=int)).tolist()
    history = [epoch(1, confusion=m1), epoch(2, confusion=m2)]
    assert confusion_epochs(history) == [1, 2]
    np.testing.assert_array_equal(confusion_at(history, 1), np.eye(10))
    assert confusion_at(history).dtype == np.int64 and confusion_at(history)[0, 0] == 2
    with pytest.raises(ConfigError, match="epochs 1–2"):
        confusion_at(history, 5)
    with pytest.raises(RunStoreError, match="trained before"):
        confusion_at([epoch(1)], 1)


def test_twin_config_swaps_only_the_dataset_and_find_twin_matches_the_rest():
    config = TrainConfig(model=MLPSpec(hidden=(32,)), epochs=3, device="cpu")
    twin = twin_config(config)
    assert twin.dataset == "fashion-mnist" and twin.with_(dataset="mnist") == config
    assert twin_config(twin.to_dict()) == config
    runs = [
        {"run_id": "r-running", "status": "running", "config": twin.to_dict()},
        {"run_id": "r-other-epochs", "status": "finished", "config": twin.with_(epochs=4).to_dict()},
        {"run_id": "r-same-dataset", "status": "finished", "config": config.to_dict()},
        {"run_id": "r-twin-on-gpu", "status": "finished", "config": twin.with_(device="cuda").to_dict()},
        {"run_id": "r-twin-older", "status": "finished", "config": twin.to_dict()},
    ]
    assert find_twin(runs, config) == "r-twin-on-gpu"  # the device changes speed, not the experiment
    assert find_twin(runs, config.to_dict(), statuses=("running",)) == "r-running"
    assert find_twin(runs[:3], config) is None
    old = {k: v for k, v in twin.to_dict().items() if k != "subset_mode"}  # a config from before a field existed
    assert find_twin([{"run_id": "r-old", "config": old}], config) == "r-old"


ADAM_LR10 = TrainConfig(model=MLPSpec(hidden=(1024,)), optimizer="adam", lr=10.0, schedule="onecycle", epochs=3)


def test_a_learning_rate_far_above_its_range_comes_first_and_hides_the_hints_it_explains():
    # The run: one hidden layer, Adam at lr 10, every unit dead, accuracy at chance.
    history = [epoch(i + 1, train_acc=0.1, held_acc=0.1, loss=2.3, grads=[1e-7, 1e-3], dead=1.0) for i in range(3)]
    hints = diagnose(ADAM_LR10, history, status="stalled")
    assert kinds(hints) == ["lr_too_high"] and hints[0].fix == {"lr": 1e-3}  # not LeakyReLU, not batch norm
    assert hints[0].explanation.startswith("A learning rate of 10 is far above what Adam trains with")
    assert "100% of the units in layer 1 died" in hints[0].explanation
    assert "in Adam's usual range (0.001)" in hints[0].explanation
    # A high learning rate in a run that learned well is not nagged about.
    assert diagnose(ADAM_LR10.with_(lr=0.05), healthy()) == []


def test_steps_that_blow_the_weights_up_in_epoch_1_blame_the_learning_rate():
    history = healthy(2)
    history[0]["layers"][0]["update_ratio"] = 19.4
    hints = diagnose(RELU, history)
    assert kinds(hints) == ["lr_too_high"] and "changed the weights of layer 1 by 19.4× their own size" in \
        hints[0].explanation and hints[0].fix == {"lr": pytest.approx(0.05)}


def test_a_learning_rate_far_below_its_range_is_named_when_the_loss_barely_falls():
    history = [epoch(i + 1, train_acc=0.16, held_acc=0.16, loss=2.30 - 0.001 * i) for i in range(3)]
    hints = diagnose(ADAM_LR10.with_(lr=1e-6), history)
    assert kinds(hints) == ["lr_too_low"] and hints[0].fix == {"lr": 1e-3}


def test_a_run_at_chance_is_not_told_to_grow_or_train_longer():
    history = [epoch(i + 1, train_acc=0.1, held_acc=0.1, loss=2.3) for i in range(3)]
    deep_relu = RELU.with_(hidden=(50, 50, 50, 50), lr=0.05)
    assert kinds(diagnose(deep_relu, history)) == ["no_learning"]
    assert diagnose(deep_relu, history)[0].fix == {"init": "he_normal"}
    assert diagnose(RELU.with_(hidden=(64,), lr=0.01), history)[0].fix == {"lr": 0.05}
    assert diagnose(RELU.with_(hidden=(64,)), history, status="stalled")[0].fix == {}
