"""The figures' own rules: the class-balanced projection sample, and which model an epoch means."""

import pytest
import torch

from mnistlab.errors import RunStoreError
from mnistlab.experiment import run_experiment
from mnistlab.insight import figures
from mnistlab.models.spec import MLPSpec
from mnistlab.runs.record import EPOCHS_DIR
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig


def test_balanced_sample_takes_as_many_of_each_class_seeded_and_ascending():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 5)  # class 2 has fewer than its share
    picked = figures.balanced_sample(labels, 45, seed=3)
    assert torch.bincount(labels[picked]).tolist() == [20, 20, 5]  # the small class gives all it has
    assert picked.tolist() == sorted(set(picked.tolist()))
    assert torch.equal(picked, figures.balanced_sample(labels, 45, seed=3))
    assert not torch.equal(picked, figures.balanced_sample(labels, 45, seed=4))
    assert figures.balanced_sample(labels, 100).tolist() == list(range(85))


def test_an_epoch_is_its_snapshot_and_the_last_one_is_the_final_model(tmp_path, tiny_data_dir):
    store = RunStore(tmp_path)
    config = TrainConfig(model=MLPSpec(hidden=(8,)), epochs=2, batch_size=50, device="cpu")
    run = store.open(run_experiment(config, store=store, data_dir=tiny_data_dir).run_id)
    final = figures.weights(run).images
    assert figures.last_epoch(run) == 2
    assert (figures.weights(run, 2).images == final).all()
    assert not (figures.weights(run, 0).images == final).all()  # the initial weights
    for snapshot in (run.folder / EPOCHS_DIR).iterdir():
        snapshot.unlink()  # as a run too large to save per-epoch weights
    assert (figures.weights(run, 2).images == final).all()  # the last epoch still answers, from the final model
    with pytest.raises(RunStoreError, match="no weights for epoch 1"):
        figures.weights(run, 1)
