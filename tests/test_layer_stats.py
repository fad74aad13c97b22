"""Per-layer statistics, test confusion matrices and per-epoch snapshots, on tiny nets with known answers."""

import json
import math

import numpy as np
import pytest
import torch

from mnistlab.errors import RunStoreError
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.runs.files import load_model
from mnistlab.runs.record import RunRecorder, epochs_dir, weights_saver
from mnistlab.runs.store import RunStore
from mnistlab.train import loop
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, RunStarted
from mnistlab.train.layer_stats import histogram, layer_stats
from mnistlab.train.numpy_engine import NumpyStepper
from mnistlab.train.prepare import prepare_data
from mnistlab.train.torch_engine import TorchStepper, to_inputs

TINY = TrainConfig(model=MLPSpec(hidden=(8,)), optimizer="sgd", lr=0.1, batch_size=64, epochs=2, device="cpu")
ONE_STEP = TINY.with_(hidden=(), train_subset=32, batch_size=32, epochs=1)  # logistic regression, one full batch


def collect(config, data_dir, **kw):
    events = []
    result = loop.train(config, data_dir=data_dir, subscribers=[events.append], **kw)
    return result, events


def with_constant_hidden(spec: MLPSpec, bias: list[float]):
    """A model whose hidden units ignore the input: zero weights, so unit j outputs act(bias[j]) for every image."""
    model = build_model(spec)
    with torch.no_grad():
        first = model.linears()[0]
        first.weight.zero_()
        first.bias.copy_(torch.tensor(bias))
    return model


def test_histogram_edges_and_counts():
    h = histogram(torch.tensor([0.0, 1.0, 2.0, 3.0, float("nan")]), bins=3)
    assert h == {"edges": [0.0, 1.0, 2.0, 3.0], "counts": [1, 1, 2]}  # the maximum lands in the last bin
    constant = histogram(torch.full((5,), 2.0), bins=2)
    assert constant == {"edges": [1.5, 2.0, 2.5], "counts": [0, 5]}


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_dead_units_are_those_never_positive_on_the_probe(activation):
    spec = MLPSpec(hidden=(4,), activation=activation)
    probe = torch.rand(16, 28, 28)
    # Biases 1, −1, 0, 2: units 2 (always < 0) and 3 (always exactly 0, never > 0) are dead.
    stats = layer_stats(with_constant_hidden(spec, [1.0, -1.0, 0.0, 2.0]), probe)
    assert stats[0]["dead_fraction"] == 0.5
    assert stats[0]["saturated_fraction"] is None
    # A large negative bias kills every unit whatever the image (|Σ w·x| ≤ Σ|w| < 30 here).
    model = build_model(spec)
    with torch.no_grad():
        model.linears()[0].bias.fill_(-100.0)
    assert layer_stats(model, probe)[0]["dead_fraction"] == 1.0


def test_saturation_mean_and_std_of_a_sigmoid_layer():
    spec = MLPSpec(hidden=(4,), activation="sigmoid")
    stats = layer_stats(with_constant_hidden(spec, [10.0, -10.0, 0.0, 0.0]), torch.rand(16, 28, 28))[0]
    s10 = 1 / (1 + math.exp(-10))
    assert stats["saturated_fraction"] == 0.5  # σ(±10) is within 0.01 of 1 / 0; σ(0) = 0.5 is not
    assert stats["act_mean"] == pytest.approx(0.5)  # σ(10) + σ(−10) = 1
    assert stats["act_std"] == pytest.approx((s10 - 0.5) / math.sqrt(2), rel=1e-5)  # population std
    assert stats["dead_fraction"] is None
    assert sum(stats["act_hist"]["counts"]) == 16 * 4


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_huge_weights_saturate_sigmoid_and_tanh(activation):
    torch.manual_seed(0)
    model = build_model(MLPSpec(hidden=(32,), activation=activation))
    with torch.no_grad():
        model.linears()[0].weight.normal_(0, 1000.0)  # pre-activations of order 10⁴
    stats = layer_stats(model, torch.rand(64, 28, 28))
    assert stats[0]["saturated_fraction"] > 0.99
    assert [s["name"] for s in stats] == ["layer 1", "output"]
    assert stats[1]["act_mean"] is None and stats[1]["saturated_fraction"] is None


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_one_step_grad_norm_update_ratio_and_weight_norm_match_a_hand_computation(tiny_data_dir, tmp_path, engine):
    config = ONE_STEP.with_(engine=engine)
    result, events = collect(config, tiny_data_dir, save_weights=weights_saver(tmp_path))
    w0 = load_model(tmp_path / "epoch-000.safetensors")  # the initial weights
    weight, bias = (p.detach().double().numpy() for p in (w0.layers[0].weight, w0.layers[0].bias))
    train = prepare_data(config, tiny_data_dir).train
    x = to_inputs(train.images).reshape(32, -1).double().numpy()  # (32, 784)
    z = x @ weight.T + bias  # (32, 10)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(32), train.labels.numpy()] -= 1  # softmax − one-hot
    grad = p.T @ x / 32  # dL/dW of the mean cross-entropy, (10, 784)
    [out] = [e for e in events if isinstance(e, EpochEnded)][0].layers
    assert out["name"] == "output" and out["shape"] == [10, 784]
    assert out["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-4)
    assert out["update_ratio"] == pytest.approx(0.1 * np.linalg.norm(grad) / np.linalg.norm(weight), rel=1e-3)
    assert out["weight_norm"] == pytest.approx(float(torch.linalg.norm(result.model.layers[0].weight.detach())), rel=1e-6)
    [initial] = events[0].initial_layers
    assert initial["grad_norm"] is None and initial["update_ratio"] is None  # no step taken yet
    assert initial["weight_norm"] == pytest.approx(np.linalg.norm(weight), rel=1e-6)
    assert sum(initial["weight_hist"]["counts"]) == 10 * 784


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_test_confusion_sums_to_the_test_size_and_its_trace_is_the_accuracy(tiny_data_dir, engine):
    result, events = collect(TINY.with_(engine=engine, test_subset=150), tiny_data_dir)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert len(epochs) == 2
    for event in epochs:
        matrix = np.array(event.test_confusion)
        assert matrix.shape == (10, 10) and matrix.sum() == 150
        assert np.trace(matrix) / 150 == pytest.approx(event.test_accuracy)
        labels = prepare_data(TINY.with_(test_subset=150), tiny_data_dir).test.labels.numpy()
        assert matrix.sum(1).tolist() == np.bincount(labels, minlength=10).tolist()  # rows are true labels


def test_numpy_and_torch_engines_agree_on_the_same_weights(tiny_data_dir):
    config = TINY.with_(train_subset=48, batch_size=48)  # one full-batch step: the order does not matter
    data = prepare_data(config, tiny_data_dir)
    numpy_stepper = NumpyStepper(config.with_(engine="numpy"), data.train)
    torch_stepper = TorchStepper(config, data.train, torch.device("cpu"))
    torch_stepper.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in
                                         numpy_stepper.net.state_dict().items()})
    before = [torch_stepper.layer_stats(), numpy_stepper.layer_stats()]
    for stepper in (torch_stepper, numpy_stepper):
        stepper.begin_epoch()
        stepper.step(0)
    after = [torch_stepper.layer_stats(), numpy_stepper.layer_stats()]
    for ours, theirs in (before, after):
        assert [s["name"] for s in ours] == [s["name"] for s in theirs] == ["layer 1", "output"]
        for a, b in zip(ours, theirs):
            for key in ("grad_norm", "update_ratio", "weight_norm", "act_mean", "act_std", "dead_fraction"):
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-7), (a["name"], key)
            assert a["weight_hist"]["counts"] == b["weight_hist"]["counts"]
            assert a["weight_hist"]["edges"] == pytest.approx(b["weight_hist"]["edges"], abs=1e-6)
    assert after[0][0]["grad_norm"] > 0 and after[0][0]["update_ratio"] > 0
    t_eval, n_eval = torch_stepper.evaluate(data.test), numpy_stepper.evaluate(data.test)
    assert t_eval[0] == pytest.approx(n_eval[0], rel=1e-5) and t_eval[2] == n_eval[2]


def test_stats_can_be_switched_off(tiny_data_dir):
    result, events = collect(TINY.with_(epochs=1), tiny_data_dir, layer_stats=False)
    assert events[0].initial_layers == () and result.history[0]["layers"] == ()
    assert len(result.history[0]["test_confusion"]) == 10  # the confusion matrix comes with evaluation anyway


def recorded_run(config, data_dir, runs_dir):
    store = RunStore(runs_dir)
    run_id = store.create(config.to_dict())
    result = loop.train(config, data_dir=data_dir, subscribers=[RunRecorder(store, run_id)], run_id=run_id,
                        save_weights=weights_saver(epochs_dir(store, run_id)))
    return store, run_id, result


def test_snapshots_of_every_epoch_reload_and_history_round_trips(tiny_data_dir, runs_dir):
    config = TINY.with_(epochs=3)
    store, run_id, result = recorded_run(config, tiny_data_dir, runs_dir)
    assert store.open(run_id).saved_epochs == [0, 1, 2, 3]
    last = store.open(run_id).model(epoch=3)
    for (name, a), b in zip(result.model.state_dict().items(), last.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    torch.manual_seed(config.seed)  # the torch engine seeds, then builds: the same initial weights
    initial = build_model(config.model).state_dict()
    assert all(torch.equal(initial[k], v) for k, v in store.open(run_id).model(epoch=0).state_dict().items())
    with pytest.raises(RunStoreError, match="has no weights for epoch 4; choose one of its saved epochs: 0–3."):
        store.open(run_id).model(epoch=4)

    history = store.open(run_id).history(layer_stats=True)
    assert [row["epoch"] for row in history] == [0, 1, 2, 3]
    assert history[0]["layers"][0]["grad_norm"] is None  # epoch 0: the initial weights, no steps
    assert history[1:] == json.loads(json.dumps(result.history))  # tuples come back as lists, nothing lost
    light = store.history(run_id)  # history.json: one small row per epoch; the statistics are appended apart
    assert [row["epoch"] for row in light] == [1, 2, 3] and not any("layers" in row for row in light)
    assert history[3]["layers"][0]["weight_norm"] == pytest.approx(
        float(torch.linalg.norm(last.layers[0].weight.detach())), rel=1e-6)


def test_models_above_the_cap_save_no_snapshots(tiny_data_dir, runs_dir, monkeypatch):
    monkeypatch.setattr(loop, "MAX_SNAPSHOT_PARAMS", TINY.model.parameter_count() - 1)
    store, run_id, result = recorded_run(TINY.with_(epochs=1), tiny_data_dir, runs_dir)
    assert result.status == "finished"
    assert store.open(run_id).saved_epochs == [] and not epochs_dir(store, run_id).exists()
    with pytest.raises(RunStoreError, match="saved no per-epoch weights"):
        store.open(run_id).model(epoch=0)


def test_long_runs_keep_an_even_stride_of_snapshots_within_the_byte_budget(tiny_data_dir, runs_dir, monkeypatch):
    config = TINY.with_(epochs=6)
    monkeypatch.setattr(loop, "MAX_SNAPSHOT_BYTES", 4 * 4 * config.model.parameter_count())  # room for 4 snapshots
    store, run_id, result = recorded_run(config, tiny_data_dir, runs_dir)
    assert result.status == "finished"
    assert store.open(run_id).saved_epochs == [0, 2, 4, 6]
    with pytest.raises(RunStoreError, match="choose one of its saved epochs: 0, 2, 4, 6."):
        store.open(run_id).model(epoch=3)


def test_run_started_carries_the_initial_statistics(tiny_data_dir):
    _, events = collect(TINY.with_(epochs=1, hidden=(8, 6)), tiny_data_dir)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert [s["name"] for s in started.initial_layers] == ["layer 1", "layer 2", "output"]
    assert [s["shape"] for s in started.initial_layers] == [[8, 784], [6, 8], [10, 6]]
    json.dumps(started.initial_layers)  # JSON-ready as it is


def test_recording_stats_does_not_change_training(tiny_data_dir):
    """No random numbers are drawn for the statistics: with dropout, the same seed trains the same either way."""
    config = TINY.with_(dropout=0.3, epochs=2)
    on, _ = collect(config, tiny_data_dir)
    off, _ = collect(config, tiny_data_dir, layer_stats=False)
    keys = ("train_loss", "test_loss", "test_accuracy", "test_confusion")
    assert [[h[k] for k in keys] for h in on.history] == [[h[k] for k in keys] for h in off.history]


def test_a_torn_last_statistics_line_is_skipped(tiny_data_dir, runs_dir):
    """A writer killed mid-append leaves half a line: the epochs before it keep their statistics."""
    from mnistlab.runs.record import LAYER_STATS

    store, run_id, _ = recorded_run(TINY.with_(epochs=2), tiny_data_dir, runs_dir)
    with open(store.path(run_id) / LAYER_STATS, "a") as f:
        f.write('{"epoch": 3, "layers": [{"name": "lay')
    history = store.open(run_id).history(layer_stats=True)
    assert [row["epoch"] for row in history] == [0, 1, 2] and all(row["layers"] for row in history)
