"""Integration on the real datasets (../shared/data): accuracy floors and every preset's first step."""

import pytest
import torch

from mnistlab.data.load import load_split
from mnistlab.experiment import run_experiment
from mnistlab.presets import PRESETS, get_preset
from mnistlab.runs.store import RunStore
from mnistlab.train.loop import train
from mnistlab.train.prepare import PreparedData

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mnist(real_data_dir):
    return load_split("mnist", "train", real_data_dir), load_split("mnist", "test", real_data_dir)


def test_real_files_have_the_published_label_counts(mnist):
    train_split, test_split = mnist
    assert train_split.label_counts() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_split.label_counts() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_seed000_mlp_one_epoch_reaches_95_percent(real_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = get_preset("seed000-mlp").config.with_(epochs=1, device="cpu")
    outcome = run_experiment(config, preset="seed000-mlp", store=store, data_dir=real_data_dir)
    assert outcome.evaluation.accuracy >= 0.95
    # The stored run reloads bit for bit and gives the same test predictions.
    model = store.open(outcome.run_id).model()
    test = load_split("mnist", "test", real_data_dir)
    with torch.no_grad():
        logits = model(test.images[:512].float() / 255)
    assert (logits.argmax(1).numpy() == outcome.evaluation.predictions[:512]).all()


def test_seed004_fashion_one_epoch_reaches_75_percent(real_data_dir):
    config = get_preset("seed004-fashion").config.with_(epochs=1, device="cpu")
    result = train(config, data_dir=real_data_dir)
    assert result.history[-1]["test_accuracy"] >= 0.75


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_and_takes_a_step(name, real_data_dir):
    preset = PRESETS[name]
    config = preset.config.with_(epochs=1, device="cpu")
    train_split = load_split(config.dataset, "train", real_data_dir)
    test_split = load_split(config.dataset, "test", real_data_dir)
    batch = config.batch_size
    data = PreparedData(train_split.first(batch * 2), None, test_split.first(100))
    result = train(config, data=data)
    assert result.status == "finished"
    assert result.history[0]["train_loss"] > 0
