"""The tutorial presets reproduce what their tutorials printed (real data), and the recipes behind them."""

import numpy as np
import pytest
import torch

from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.experiment import run_experiment
from mnistlab.models.numpy_tutorial import TutorialNet
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.presets import get_preset
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

# numpy.org's "Deep learning on MNIST" log: "Test set accuracy" after epochs 0, 1, 2 … and 19.
PRINTED_TEST = [0.582, 0.641, 0.679]
PRINTED_FINAL = 0.784


@pytest.mark.integration
def test_seed002_numpy_prints_the_tutorials_log_to_the_digit(real_data_dir, runs_dir):
    store = RunStore(runs_dir)
    outcome = run_experiment(get_preset("seed002-numpy").config, preset="seed002-numpy", store=store,
                             data_dir=real_data_dir)
    history = store.open(outcome.run_id).history()
    tests = [round(e["test_accuracy"], 3) for e in history]
    assert tests[:3] == PRINTED_TEST
    assert tests[-1] == PRINTED_FINAL and len(tests) == 20
    assert round(outcome.evaluation.accuracy, 3) == PRINTED_FINAL  # the stored float32 model agrees
    # Its training-set lines too: error Σ(label − output)² per image, accuracy with dropout on.
    assert [round(e["train_loss"], 3) for e in history[:3]] == [0.898, 0.656, 0.592]
    assert [e["train_accuracy"] for e in history[:3]] == [0.397, 0.633, 0.68]


def _transcription(x, t, hidden, epochs, lr, seed):
    """The tutorial's loop, written out as it is printed (one hidden layer, dropout ½, per image, in order)."""
    rng = np.random.default_rng(seed)
    w1 = 0.2 * rng.random((x.shape[1], hidden)) - 0.1
    w2 = 0.2 * rng.random((hidden, t.shape[1])) - 0.1
    for _ in range(epochs):
        for i in range(len(x)):
            layer_1 = np.dot(x[i], w1)
            layer_1 = (layer_1 >= 0) * layer_1
            mask = rng.integers(low=0, high=2, size=layer_1.shape)
            layer_1 *= mask * 2
            layer_2 = np.dot(layer_1, w2)
            delta_2 = t[i] - layer_2
            delta_1 = np.dot(w2, delta_2) * (layer_1 >= 0)
            delta_1 *= mask
            w1 += lr * np.outer(x[i], delta_1)
            w2 += lr * np.outer(layer_1, delta_2)
    return w1, w2


def test_tutorial_net_is_the_tutorials_arithmetic_bit_for_bit():
    gen = np.random.default_rng(3)
    x = gen.integers(0, 256, (40, 784)) / 255
    t = np.eye(10)[gen.integers(0, 10, 40)]
    w1, w2 = _transcription(x, t, hidden=16, epochs=2, lr=0.01, seed=11)
    net = TutorialNet(MLPSpec(hidden=(16,), dropout=0.5), np.random.default_rng(11))
    for _ in range(2):
        for i in range(len(x)):
            net.train_step(x[i:i + 1], t[i:i + 1], 0.01)
    assert np.array_equal(net.weights[0], w1) and np.array_equal(net.weights[1], w2)


def test_tutorial_net_weights_load_into_the_torch_model_with_zero_biases():
    spec = MLPSpec(hidden=(16, 8), dropout=0.5)
    net = TutorialNet(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).random((5, 784))
    model = build_model(spec)
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in net.state_dict().items()})
    model.eval()
    with torch.no_grad():
        torch_out = model(torch.from_numpy(x).float()).numpy()
    assert np.allclose(torch_out, net.forward(x), atol=1e-5)
    assert all(not b.any() for k, b in net.state_dict().items() if k.endswith(".bias"))


def test_tutorial_net_trains_deeper_nets_in_batches():
    gen = np.random.default_rng(0)
    labels = gen.integers(0, 10, 400)
    centres = (gen.random((10, 784)) < 0.1) * 1.0  # a sparse pattern per class
    x = np.clip(centres[labels] + 0.1 * gen.standard_normal((400, 784)), 0, 1)
    t = np.eye(10)[labels]
    net = TutorialNet(MLPSpec(hidden=(32, 16), dropout=0.5), np.random.default_rng(5))
    before = (net.forward(x).argmax(1) == labels).mean()
    for _ in range(20):
        for i in range(0, 400, 20):
            net.train_step(x[i:i + 20], t[i:i + 20], 0.05)
    assert before < 0.3 and (net.forward(x).argmax(1) == labels).mean() > 0.85


@pytest.mark.parametrize("changes, named", [
    (dict(activation="sigmoid"), "activation 'sigmoid'"), (dict(loss="ce"), "loss 'ce'"),
    (dict(dropout=0.3), "dropout 0.3"), (dict(output="sigmoid"), "output activation 'sigmoid'"),
    (dict(label_smoothing=0.1), "label smoothing 0.1"), (dict(input_scale="raw"), "input scaling 'raw'"),
])
def test_the_tutorial_recipe_refuses_what_it_does_not_compute(changes, named):
    base = get_preset("seed002-numpy").config
    with pytest.raises(ConfigError, match="numpy-tutorial") as e:
        base.with_(**changes)
    assert named in str(e.value)
    with pytest.raises(ConfigError, match="needs the NumPy engine"):
        TrainConfig(numpy_recipe="numpy-tutorial")


def _numbered(n):
    """A split whose image i has pixel 0 = i (so an order can be read back), labels i mod 10."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    return Split.from_numpy(images, (np.arange(n) % 10).astype(np.int64), name="numbers")


def test_sklearn_subset_is_train_test_splits_train_part_in_its_order():
    from sklearn.model_selection import train_test_split
    split = _numbered(200)
    ours = split.subset(66, "sklearn", 7)
    index = np.arange(200)
    theirs, _ = train_test_split(index, test_size=134, random_state=7)
    assert ours.images[:, 0, 0].tolist() == theirs.tolist()  # same images, same shuffled order
    # The tutorial's case: test_size=0.67 of 60,000 keeps 19,800 = positions 40,200… of RandomState(7)'s permutation.
    kept, _ = train_test_split(np.arange(60_000), test_size=0.67, random_state=7)
    assert len(kept) == 19_800
    assert kept.tolist() == np.random.RandomState(7).permutation(60_000)[40_200:].tolist()


def test_subset_seed_fixes_the_subset_whatever_the_run_seed(tiny_data_dir):
    from mnistlab.train.prepare import prepare_data
    draws = [prepare_data(TrainConfig(train_subset=100, subset_mode="random", subset_seed=7, seed=s),
                          tiny_data_dir).train.images for s in (0, 1)]
    assert torch.equal(draws[0], draws[1])
    other = prepare_data(TrainConfig(train_subset=100, subset_mode="random", seed=1), tiny_data_dir).train.images
    assert not torch.equal(draws[0], other)
