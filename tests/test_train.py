"""The trainer: events, determinism, cancellation, divergence, subsets and schedules."""

import math
import threading

import pytest
import torch

from mnistlab.data.load import load_split
from mnistlab.models.spec import MLPSpec
from mnistlab.train import torch_engine
from mnistlab.train.cancel import Stop, stop_status
from mnistlab.train.config import Augment, TrainConfig
from mnistlab.train.events import EpochEnded, RunFailed, RunFinished, RunStarted, StepProgress
from mnistlab.train.loop import train
from mnistlab.train.prepare import prepare_data
from mnistlab.train.schedule import lr_at

SMALL = TrainConfig(model=MLPSpec(hidden=(32,)), optimizer="adam", lr=3e-3, batch_size=64, epochs=3, device="cpu")


def collect(config, data_dir, subscribers=(), **kw):
    events = []
    result = train(config, data_dir=data_dir, subscribers=[*subscribers, events.append], **kw)
    return result, events


def test_learns_the_synthetic_task_and_reports_events_in_order(tiny_data_dir):
    result, events = collect(SMALL, tiny_data_dir)
    assert result.status == "finished"
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].test_accuracy >= 0.95
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert all(isinstance(e, (RunStarted, StepProgress, EpochEnded, RunFinished)) for e in events)
    assert len(result.epoch_seconds) == 3 and result.train_seconds > 0


def test_last_partial_batch_is_trained_on(tiny_data_dir):
    # 600 samples at batch 64: nine full batches and one of 24.
    result, events = collect(SMALL.with_(epochs=1), tiny_data_dir)
    started = events[0]
    assert started.steps_per_epoch == 10
    assert result.history[0]["samples_per_s"] > 0


def test_same_seed_gives_the_same_numbers_on_cpu(tiny_data_dir):
    a, _ = collect(SMALL.with_(epochs=2, dropout=0.2), tiny_data_dir)
    b, _ = collect(SMALL.with_(epochs=2, dropout=0.2), tiny_data_dir)
    c, _ = collect(SMALL.with_(epochs=2, dropout=0.2, seed=1), tiny_data_dir)
    keys = ("train_loss", "test_loss", "test_accuracy")
    assert [[h[k] for k in keys] for h in a.history] == [[h[k] for k in keys] for h in b.history]
    assert a.history[-1]["train_loss"] != c.history[-1]["train_loss"]


def test_cancel_stops_within_a_step_and_keeps_the_model(tiny_data_dir):
    cancel = threading.Event()
    steps = []

    def stop_on_second_epoch(event):
        if isinstance(event, EpochEnded) and event.epoch == 1:
            cancel.set()
        steps.append(event)

    result = train(SMALL.with_(epochs=50), data_dir=tiny_data_dir, subscribers=[stop_on_second_epoch], cancel=cancel)
    assert result.status == "stopped"
    assert len(result.history) == 1
    assert result.model is not None
    assert isinstance(steps[-1], RunFinished) and steps[-1].status == "stopped"


def test_a_pruned_run_ends_pruned_with_why_and_a_users_stop_still_reads_stopped(tiny_data_dir):
    stop = Stop()

    def prune_after_first_epoch(event):
        if isinstance(event, EpochEnded):
            stop.prune("pruned after epoch 1: hopeless")

    result, events = collect(SMALL.with_(epochs=50), tiny_data_dir, subscribers=[prune_after_first_epoch], cancel=stop)
    assert result.status == "pruned" and result.message == "pruned after epoch 1: hopeless"
    assert len(result.history) == 1 and not result.history[0]["partial"]  # judged whole epochs, none cut short
    assert isinstance(events[-1], RunFinished) and events[-1].status == "pruned" and events[-1].message == result.message

    user = threading.Event()
    user.set()  # the user's Stop reaches a run through its parent, and wins over a later prune
    child = Stop(parent=user)
    child.prune("too late")
    assert child.is_set() and stop_status(child) == ("stopped", "")


def test_nan_loss_ends_the_run_as_diverged_with_the_last_good_weights(tiny_data_dir, monkeypatch):
    calls = {"n": 0}
    real = torch_engine.compute_loss

    def poisoned(*args, **kw):
        calls["n"] += 1
        loss = real(*args, **kw)
        return loss * float("nan") if calls["n"] > 15 else loss  # epoch 2 of 10 steps each

    monkeypatch.setattr(torch_engine, "compute_loss", poisoned)
    result, events = collect(SMALL.with_(epochs=5), tiny_data_dir)
    assert result.status == "diverged"
    assert "loss became NaN at epoch 2: lower the learning rate" in result.message
    assert [h["epoch"] for h in result.history] == [1]
    failed = [e for e in events if isinstance(e, RunFailed)]
    assert failed and failed[0].epoch == 2
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_a_huge_learning_rate_really_diverges(tiny_data_dir):
    config = SMALL.with_(optimizer="sgd", lr=10.0, loss="mse", hidden=(256, 256), epochs=5)
    result, _ = collect(config, tiny_data_dir)
    assert result.status == "diverged"


def test_augmentation_and_concatenated_copy_train(tiny_data_dir):
    config = SMALL.with_(epochs=1, augment=Augment(rotation=10, translate=0.1, concat_original=True))
    result, events = collect(config, tiny_data_dir)
    assert events[0].steps_per_epoch == math.ceil(1200 / 64)
    assert result.status == "finished"


def test_subsets_and_keras_style_validation_split(tiny_data_dir):
    config = TrainConfig(train_subset=300, val_split=0.3, val_mode="last", test_subset=50, batch_size=10)
    data = prepare_data(config, tiny_data_dir)
    full = load_split("mnist", "train", tiny_data_dir)
    assert (len(data.train), len(data.val), len(data.test)) == (210, 90, 50)
    assert torch.equal(data.val.labels, full.labels[210:300])  # the tail, unshuffled, as Keras does


def test_stratified_subset_keeps_class_balance(tiny_data_dir):
    full = load_split("mnist", "train", tiny_data_dir)
    sub = full.subset(0.5, mode="stratified", seed=3)
    assert len(sub) == 300
    assert sub.label_counts() == [c // 2 for c in full.label_counts()]


def test_batch_larger_than_the_data_is_refused(tiny_data_dir):
    from mnistlab.errors import ConfigError

    with pytest.raises(ConfigError, match="batch size 1000 is larger than the 600 training samples"):
        prepare_data(TrainConfig(batch_size=1000), tiny_data_dir)


def test_schedules():
    total, per_epoch = 1000, 100
    assert lr_at("none", 0.1, 500, total, per_epoch) == 0.1
    assert lr_at("step", 0.1, 250, total, per_epoch, step_epochs=2) == pytest.approx(0.01)
    assert lr_at("cosine", 0.1, 0, total, per_epoch) == pytest.approx(0.1)
    assert lr_at("cosine", 0.1, 500, total, per_epoch) == pytest.approx(0.05)
    assert lr_at("onecycle", 0.1, 300, total, per_epoch) == pytest.approx(0.1)
    assert lr_at("onecycle", 0.1, 0, total, per_epoch) == pytest.approx(0.1 / 25)
    assert lr_at("onecycle", 0.1, 1000, total, per_epoch) < 1e-6


@pytest.mark.parametrize("loss,output", [("ce", "none"), ("ce", "softmax"), ("ce", "sigmoid"), ("mse", "sigmoid"),
                                         ("mse", "none"), ("bce", "sigmoid"), ("bce", "softmax")])
def test_every_loss_and_output_pair_trains(tiny_data_dir, loss, output):
    config = SMALL.with_(loss=loss, output=output, epochs=2)
    result, _ = collect(config, tiny_data_dir)
    assert result.status == "finished"
    assert result.history[-1]["test_accuracy"] > 0.5


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_progress_carries_the_running_training_accuracy(tiny_data_dir, monkeypatch, engine):
    from mnistlab.train import loop

    monkeypatch.setattr(loop, "PROGRESS_EVERY_S", 0.0)  # a progress event after every step
    config = SMALL.with_(epochs=2) if engine == "torch" else SMALL.with_(engine="numpy", optimizer="sgd", lr=0.1,
                                                                         epochs=2)
    result, events = collect(config, tiny_data_dir)
    progress = [e for e in events if isinstance(e, StepProgress)]
    assert progress and all(e.accuracy is not None and 0 <= e.accuracy <= 1 for e in progress)
    # The last step's running figure is the epoch's training accuracy.
    last_of_epoch_1 = [e for e in progress if e.epoch == 1][-1]
    assert last_of_epoch_1.step == last_of_epoch_1.steps_per_epoch
    assert last_of_epoch_1.accuracy == pytest.approx(result.history[0]["train_accuracy"])


def test_a_steered_learning_rate_rescales_the_schedule_from_its_step(tiny_data_dir):
    """With a cosine schedule, a new rate asked for at step 1 scales every later scheduled rate by new/scheduled."""
    from mnistlab.train.schedule import lr_at
    from mnistlab.train.steer import Steering

    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=3, batch_size=50, optimizer="sgd", lr=0.1,
                         schedule="cosine", device="cpu")
    steer = Steering()
    steer.set_lr(0.01)  # before the first step: taken at step 1
    result = train(config, data_dir=tiny_data_dir, steer=steer)
    steps = 12  # 600 images / 50
    (change,) = result.history[0]["lr_changes"]
    assert change == {"step": 1, "epoch": 1, "lr": 0.01, "scheduled": 0.1, "at": 0.0}
    for row in result.history:  # an epoch's lr is its last step's: the scheduled rate × 0.01 / 0.1
        last = row["epoch"] * steps - 1
        assert row["lr"] == pytest.approx(lr_at("cosine", 0.1, last, 3 * steps, steps) * 0.1)
