"""Runs that did not learn end "stalled" with the likely cause, and every diagnosis's fix really trains better."""

import threading

import pytest

from mnistlab.insight import apply_fix, diagnose
from mnistlab.insight.diagnose import DEAD_FRACTION
from mnistlab.models.spec import MLPSpec
from mnistlab.presets import PRESETS
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, RunFinished
from mnistlab.train.loop import train
from mnistlab.train.lr_ranges import LR_RANGES, lower_lr, lr_phrase
from mnistlab.train.stall import MIN_STEPS, stall_message

# The `fast` recipe shrunk to the tiny data: Adam, one-cycle, label smoothing; 5 epochs of 10 steps.
FAST = PRESETS["fast"].config.with_(hidden=(64,), batch_size=64, epochs=5, device="cpu")
SGD = TrainConfig(model=MLPSpec(hidden=(64, 32)), optimizer="sgd", lr=0.1, batch_size=32, epochs=5, device="cpu")
CHANCE = 0.1


def run(config, data_dir, **kw):
    events = []
    result = train(config, data_dir=data_dir, subscribers=[events.append], **kw)
    return result, events


def accuracy(result) -> float:
    return result.history[-1]["test_accuracy"]


def test_adam_at_lr_10_ends_stalled_naming_the_learning_rate_and_a_normal_run_finishes(tiny_data_dir):
    result, events = run(FAST.with_(lr=10.0), tiny_data_dir)
    assert result.status == "stalled" and result.model is not None and len(result.history) == 5
    assert result.message.startswith("did not learn: test accuracy stayed at chance (10% after 5 epochs")
    assert "a learning rate of 10 is far above what Adam trains with, about 0.0001 to 0.01: try 0.001" in result.message
    finished = events[-1]
    assert isinstance(finished, RunFinished) and (finished.status, finished.message) == ("stalled", result.message)

    good, events = run(FAST, tiny_data_dir)
    assert good.status == "finished" and good.message == "" and accuracy(good) > 0.9
    assert events[-1].status == "finished" and events[-1].message == ""


def test_a_stopped_run_is_never_judged(tiny_data_dir):
    cancel = threading.Event()

    def stop_after_epoch_3(event):
        if isinstance(event, EpochEnded) and event.epoch == 3:
            cancel.set()

    result = train(FAST.with_(lr=10.0, epochs=8), data_dir=tiny_data_dir, subscribers=[stop_after_epoch_3],
                   cancel=cancel)
    assert result.status == "stopped" and result.message == "" and len(result.history) == 3


def test_deep_sigmoid_stalls_with_a_message_about_vanishing_gradients(tiny_data_dir):
    config = PRESETS["seed003-vanishing"].config.with_(train_subset=None, val_split=0.0, batch_size=64, epochs=5,
                                                      device="cpu")
    result, _ = run(config, tiny_data_dir)
    assert result.status == "stalled"
    assert "the training loss barely fell" in result.message and "4 sigmoid layers" in result.message
    assert "vanishing gradients" in result.message and "learning rate" not in result.message


def history(accuracies, losses=None, key="test_accuracy"):
    losses = losses or [2.3] * len(accuracies)
    return [{"epoch": i + 1, "train_loss": loss, key: acc} for i, (acc, loss) in enumerate(zip(accuracies, losses))]


def test_slow_starters_short_runs_and_collapses():
    config = SGD
    assert stall_message(config, history([0.1, 0.1, 0.11, 0.6]), 10, 400) is None  # broke through at last
    assert stall_message(config, history([0.1, 0.1]), 10, MIN_STEPS - 1) is None  # too few steps to tell
    assert stall_message(config, history([0.1, 0.14]), 10, MIN_STEPS) is not None  # within 5 points of chance
    collapsed = stall_message(config, history([0.5, 0.12]), 10, 100)
    assert collapsed.startswith("did not learn: test accuracy reached 50% at epoch 1, then fell back to chance (12%)")
    on_val = stall_message(config, history([0.1, 0.1], key="val_accuracy"), 10, 100)
    assert on_val.startswith("did not learn: validation accuracy stayed at chance")
    partial = history([0.1, 0.1]) + [{"epoch": 3, "train_loss": 2.3, "test_accuracy": 0.9, "partial": True}]
    assert stall_message(config, partial, 10, 100) is not None  # a cut-short epoch is not judged
    fell = stall_message(config.with_(hidden=(64,)), history([0.1, 0.1], [2.3, 0.5]), 10, 100)
    assert "the training loss fell (2.300 → 0.500) but the held-out predictions did not" in fell


def test_one_table_of_usual_learning_rates():
    assert set(LR_RANGES) == {"sgd", "momentum", "adam", "adamw"}
    assert lr_phrase(FAST.with_(lr=1e-3)) is None
    assert lr_phrase(FAST.with_(lr=0.05)) == "a learning rate of 0.05 is above what Adam trains with, about 0.0001 to 0.01"
    assert lr_phrase(SGD.with_(lr=1e-5)).startswith("a learning rate of 1e-05 is far below what SGD trains with")
    assert lower_lr(FAST.with_(lr=10.0)) == 1e-3 and lower_lr(SGD.with_(lr=0.5)) == pytest.approx(0.05)
    for preset in PRESETS.values():  # every recipe trains inside its optimizer's usual range
        assert lr_phrase(preset.config) is None, preset.name


# Cases that trigger each rule by really training the broken config on the tiny data:
# (name, broken config, the hint kind expected first, its fix).
TRAINED = [
    ("adam lr 10", FAST.with_(lr=10.0), "lr_too_high", {"lr": 1e-3}),
    ("adam lr 1e-6", FAST.with_(lr=1e-6, schedule="none"), "lr_too_low", {"lr": 1e-3}),
    ("deep sigmoid", SGD.with_(hidden=(50,) * 4, activation="sigmoid", lr=0.05), "vanishing_gradients",
     {"activation": "relu", "init": "he_normal"}),
    ("deep relu, default init", SGD.with_(hidden=(50,) * 4, lr=0.05, batch_size=64), "no_learning",
     {"init": "he_normal"}),
    ("too short", SGD.with_(hidden=(64,), lr=0.01, batch_size=64, epochs=2), "underfitting", {"epochs": 4}),
]


def same_fix(fix: dict, expected: dict) -> bool:
    """Equal keys and values, floats within a relative 1e-9."""
    return fix.keys() == expected.keys() and all(
        fix[k] == pytest.approx(v) if isinstance(v, float) else fix[k] == v for k, v in expected.items())


@pytest.mark.parametrize("name, broken, kind, fix", TRAINED, ids=[c[0] for c in TRAINED])
def test_the_first_hint_of_a_real_broken_run_fixes_it(name, broken, kind, fix, tiny_data_dir):
    before, _ = run(broken, tiny_data_dir)
    hints = diagnose(broken, before.history, status=before.status)
    assert hints and hints[0].kind == kind and same_fix(hints[0].fix, fix), [h.explanation for h in hints]
    if kind in ("lr_too_high", "lr_too_low"):  # the learning rate explains the rest: no hint keeps it
        assert [h.kind for h in hints] == [kind]
    after, _ = run(apply_fix(broken, hints[0].fix), tiny_data_dir)
    assert after.status == "finished"
    assert accuracy(after) > max(CHANCE + 0.25, accuracy(before) + 0.1)


def test_dead_units_from_a_too_large_momentum_step_get_a_smaller_lr_not_leaky_relu(tiny_data_dir):
    broken = FAST.with_(optimizer="momentum", lr=0.5, schedule="none")
    before, _ = run(broken, tiny_data_dir)
    dead = max(la["dead_fraction"] or 0 for la in before.history[-1]["layers"])
    assert dead > DEAD_FRACTION
    hints = diagnose(broken, before.history, status=before.status)
    assert [h.kind for h in hints] == ["lr_too_high"] and hints[0].fix == {"lr": pytest.approx(0.05)}
    assert "is above what SGD with momentum trains with" in hints[0].explanation
    after, _ = run(apply_fix(broken, hints[0].fix), tiny_data_dir)
    assert max(la["dead_fraction"] or 0 for la in after.history[-1]["layers"]) < DEAD_FRACTION
    assert accuracy(after) >= accuracy(before) and accuracy(after) > 0.9


def epoch(n, train_acc, held_acc, loss=0.3, dead=None):
    row = {"epoch": n, "train_loss": loss, "train_accuracy": train_acc, "val_loss": None, "val_accuracy": None,
           "test_loss": 0.3, "test_accuracy": held_acc}
    if dead is not None:
        row["layers"] = [{"name": "layer 1", "dead_fraction": dead, "grad_norm": 0.1, "update_ratio": 1e-3},
                         {"name": "output", "dead_fraction": None, "grad_norm": 0.1, "update_ratio": 1e-3}]
    return row


OVERFIT = [epoch(1, 0.90, 0.85), epoch(2, 0.99, 0.85)]  # train climbs, held-out stays: memorising
DEAD = [epoch(1, 0.85, 0.85, dead=0.8), epoch(2, 0.86, 0.85, dead=0.8)]
FLAT = [epoch(1, 0.85, 0.85), epoch(2, 0.851, 0.85)]
NUMPY = TrainConfig(engine="numpy", model=MLPSpec(hidden=(64,)), lr=0.5, batch_size=16, epochs=3, device="cpu")

# Rules that real training on the (easy) tiny data cannot trigger: the history describes the broken run.
# (name, config, history, kind, fix). Augmentation is left out: the synthetic classes are told apart by
# where their block sits, which is exactly what shifting the images scrambles.
DESCRIBED = [
    ("dead relu (torch)", SGD, DEAD, "dead_relu", {"activation": "leaky_relu"}),
    ("dead relu (numpy)", NUMPY, DEAD, "dead_relu", {"lr": 0.05}),
    ("overfit: dropout", SGD, OVERFIT, "overfitting", {"dropout": 0.3}),
    ("overfit: all the data", SGD.with_(dropout=0.5, train_subset=100, epochs=3), OVERFIT, "overfitting",
     {"train_subset": None}),
    ("overfit: weight decay", NUMPY.with_(lr=0.05, dropout=0.5), OVERFIT, "overfitting", {"weight_decay": 5e-4}),
    ("too small", SGD.with_(hidden=(8,), lr=0.05), FLAT, "underfitting", {"hidden": (16,)}),
]


@pytest.mark.parametrize("name, config, rows, kind, fix", DESCRIBED, ids=[c[0] for c in DESCRIBED])
def test_every_other_fix_trains_better_than_the_run_it_was_offered_for(name, config, rows, kind, fix, tiny_data_dir):
    hints = diagnose(config, rows)
    assert hints and hints[0].kind == kind and same_fix(hints[0].fix, fix), [h.explanation for h in hints]
    after, _ = run(apply_fix(config, hints[0].fix), tiny_data_dir)
    assert after.status == "finished" and accuracy(after) > rows[-1]["test_accuracy"]
