"""The training extras: input dropout, norm after the activation, max-norm, warm-up, EMA of the weights, mixup.

Each is checked where it acts (the model's modules, the stepper's step, the schedule), on a short training run,
and at the doors: a CLI flag, the NumPy engine's refusal, the population's "train it on its own".
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mnistlab.cli.main import main
from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.experiment import run_experiment
from mnistlab.insight.layers import hidden_activations
from mnistlab.models.spec import MLPSpec
from mnistlab.models.torch_mlp import build_model
from mnistlab.runs.store import RunStore
from mnistlab.train import layer_stats as stats
from mnistlab.train.config import TrainConfig
from mnistlab.train.fused_step import fused_supported
from mnistlab.train.loop import train
from mnistlab.train.losses import compute_loss
from mnistlab.train.population_key import unbatchable_reason
from mnistlab.train.prepare import prepare_data
from mnistlab.train.schedule import lr_at, scheduled_lr, warmup_steps
from mnistlab.train.torch_engine import TorchStepper, evaluate_loss_accuracy

CPU = torch.device("cpu")
BASE = TrainConfig(model=MLPSpec(hidden=(32,)), lr=0.1, batch_size=32, epochs=2, device="cpu")
FLAGS = ("--input-dropout", "--norm-where", "--max-norm", "--warmup-epochs", "--ema", "--mixup")


@pytest.fixture(scope="module")
def data(tiny_data_dir):
    return prepare_data(BASE, tiny_data_dir)


def run_steps(stepper: TorchStepper, steps: int) -> None:
    stepper.begin_epoch()
    for index in range(steps):
        stepper.step(index)


def first_linear_inputs(model, x: torch.Tensor) -> torch.Tensor:
    """What the first Linear layer receives for `x`."""
    seen = []
    hook = model.linears()[0].register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    try:
        model(x)
    finally:
        hook.remove()
    return seen[0]


# --- input dropout ---------------------------------------------------------------------------------------------

def test_input_dropout_zeroes_about_p_of_the_pixels_in_training_and_none_in_eval():
    torch.manual_seed(0)
    model = build_model(MLPSpec(hidden=(16,), input_dropout=0.3))
    assert isinstance(model.layers[0], nn.Dropout) and model.layers[0].p == 0.3
    x = torch.ones(200, 784)
    seen = first_linear_inputs(model.train(), x)
    zeroed = float((seen == 0).float().mean())
    assert zeroed == pytest.approx(0.3, abs=0.01)
    assert torch.allclose(seen[seen != 0], torch.tensor(1 / 0.7))  # kept pixels scaled up, as nn.Dropout does
    assert torch.equal(first_linear_inputs(model.eval(), x), x)  # eval: every pixel, unscaled


def test_old_configs_keep_their_state_dict_names_and_input_dropout_keeps_the_initial_weights():
    spec = MLPSpec(hidden=(32, 16), dropout=0.2, norm="batch")
    torch.manual_seed(4)
    old = build_model(spec).state_dict()
    # Linear, BatchNorm, ReLU, Dropout per hidden layer, then the output Linear: the names saved runs hold.
    norm = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(old) == ["pixel_mean", "pixel_std", "layers.0.weight", "layers.0.bias",
                         *(f"layers.1.{k}" for k in norm), "layers.4.weight", "layers.4.bias",
                         *(f"layers.5.{k}" for k in norm), "layers.8.weight", "layers.8.bias"]
    assert list(build_model(spec.with_(norm_where="before")).state_dict()) == list(old)
    torch.manual_seed(4)
    shifted = build_model(spec.with_(input_dropout=0.2)).state_dict()
    assert list(shifted) == ["pixel_mean", "pixel_std"] + [
        f"layers.{int(k.split('.')[1]) + 1}.{k.split('.', 2)[2]}" for k in list(old)[2:]]
    for name, value in old.items():  # Dropout has no parameters: the same draws, one index further on
        moved = name if not name.startswith("layers.") else f"layers.{int(name.split('.')[1]) + 1}.{name.split('.', 2)[2]}"
        assert torch.equal(shifted[moved], value), name


def test_a_leading_dropout_and_a_norm_after_the_activation_keep_insight_and_layer_stats_working():
    torch.manual_seed(0)
    model = build_model(MLPSpec(hidden=(16, 8), input_dropout=0.2, norm="layer", norm_where="after")).eval()
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8)
    x = images.float().div(255).reshape(20, -1)
    with torch.no_grad():
        first = model.layers[3](model.layers[2](model.layers[1](x)))  # Linear, ReLU, LayerNorm
        second = model.layers[6](model.layers[5](model.layers[4](first)))
    assert torch.allclose(torch.from_numpy(hidden_activations(model, images, 1)), first, atol=1e-6)
    assert torch.allclose(torch.from_numpy(hidden_activations(model, images, 2)), second, atol=1e-6)
    entries = stats.layer_stats(model, x)
    assert [e["name"] for e in entries] == ["layer 1", "layer 2", "output"]
    assert [e["shape"] for e in entries] == [[16, 784], [8, 16], [10, 8]]


# --- norm placement --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm, module", [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)])
def test_norm_where_after_puts_the_norm_after_the_activation(norm, module):
    spec = MLPSpec(hidden=(16, 8), norm=norm, dropout=0.1)
    before = [type(m) for m in build_model(spec).layers]
    after = [type(m) for m in build_model(spec.with_(norm_where="after")).layers]
    assert before == [nn.Linear, module, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    assert after == [nn.Linear, nn.ReLU, module, nn.Dropout] * 2 + [nn.Linear]
    torch.manual_seed(1)
    model = build_model(spec.with_(norm_where="after")).eval()
    x = torch.rand(6, 784)
    with torch.no_grad():
        h = model.layers[2](torch.relu(model.layers[0](x)))
        h = model.layers[6](torch.relu(model.layers[4](h)))
        assert torch.allclose(model(x), model.layers[8](h), atol=1e-6)
    assert "after the activation" in spec.with_(norm_where="after").describe()


# --- max-norm --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])  # the hand-written step, and autograd + torch.optim
def test_max_norm_caps_every_units_incoming_weights_after_each_step(data, optimizer):
    config = BASE.with_(optimizer=optimizer, lr=1.0 if optimizer == "sgd" else 0.05, max_norm=0.8, hidden=(32, 16))
    stepper = TorchStepper(config, data.train, CPU)
    assert (stepper.fused is not None) == (optimizer == "sgd")
    free = TorchStepper(config.with_(max_norm=None), data.train, CPU)
    for s in (stepper, free):
        run_steps(s, 5)
    for linear in stepper.model.linears():
        assert float(torch.linalg.vector_norm(linear.weight.detach(), dim=1).max()) <= 0.8 + 1e-6
    # Without the cap the same steps grow some rows past it: the constraint did something.
    assert max(float(torch.linalg.vector_norm(w.weight.detach(), dim=1).max()) for w in free.model.linears()) > 0.8


def test_a_tiny_max_norm_visibly_holds_training_back(tiny_data_dir):
    free = train(BASE.with_(epochs=3), data_dir=tiny_data_dir, layer_stats=False)
    capped = train(BASE.with_(epochs=3, max_norm=0.01), data_dir=tiny_data_dir, layer_stats=False)
    assert free.history[-1]["train_loss"] < 1.0 and free.history[-1]["test_accuracy"] > 0.8
    assert capped.history[-1]["train_loss"] > 2.0  # tiny weights: outputs near uniform, loss near ln 10 ≈ 2.30
    assert all(float(torch.linalg.vector_norm(w.weight.detach(), dim=1).max()) <= 0.01 + 1e-6 for w in capped.model.linears())


def test_max_norm_zero_is_off_and_reads_as_the_default():
    """0 (the CLI's and a JSON's off) and None (the default) are one config, so runs and presets compare equal."""
    for off in (0, 0.0):
        assert TrainConfig(max_norm=off) == TrainConfig() and TrainConfig(max_norm=off).max_norm is None
        assert TrainConfig.from_dict({**TrainConfig().to_dict(), "max_norm": off}) == TrainConfig()
        assert BASE.with_(max_norm=3.0).with_(max_norm=off) == BASE
    assert TrainConfig(max_norm=0.5).max_norm == 0.5


# --- warm-up ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["none", "step", "cosine"])
def test_warm_up_rises_linearly_then_follows_the_schedule(schedule):
    steps, total, lr = 10, 100, 0.3
    warm = warmup_steps(1.5, steps)
    assert warm == 15
    rates = [lr_at(schedule, lr, s, total, steps, 2, 0.5, warmup_epochs=1.5) for s in range(total)]
    plain = [scheduled_lr(schedule, lr, s, total, steps, 2, 0.5) for s in range(total)]
    assert plain == [lr_at(schedule, lr, s, total, steps, 2, 0.5) for s in range(total)]  # no warm-up: unchanged
    for s in range(warm):
        assert rates[s] == pytest.approx(plain[s] * (s + 1) / warm)
    assert rates[0] == pytest.approx(plain[0] / 15) and rates[0] < lr / 10  # from near 0 ...
    assert rates[warm:] == plain[warm:]  # ... then the schedule itself
    if schedule == "none":
        assert rates[:warm] == pytest.approx([lr * (s + 1) / warm for s in range(warm)])  # a straight line up to lr
        assert all(b - a == pytest.approx(lr / warm) for a, b in zip(rates[:warm], rates[1:warm]))


def test_the_engine_applies_the_warm_up_to_each_step_and_the_population_formula_matches(data):
    config = BASE.with_(warmup_epochs=0.5, schedule="cosine")
    stepper = TorchStepper(config, data.train, CPU)
    steps = stepper.steps_per_epoch()
    total = steps * config.epochs
    stepper.begin_epoch()
    used = []
    for index in range(steps):
        # The loop hands the stepper the schedule's rate (times a steering scale): the stepper adds the warm-up.
        stepper.set_lr(scheduled_lr("cosine", config.lr, index, total, steps))
        used.append(stepper.optimizer.param_groups[0]["lr"])
        stepper.step(index)
    assert used == [lr_at("cosine", config.lr, s, total, steps, warmup_epochs=0.5) for s in range(steps)]
    assert used[0] == pytest.approx(config.lr / warmup_steps(0.5, steps), rel=1e-3)


def test_a_run_with_a_warm_up_ends_on_the_schedule_and_learns(tiny_data_dir):
    result = train(BASE.with_(epochs=3, warmup_epochs=1, schedule="step", step_epochs=1, step_gamma=0.5),
                   data_dir=tiny_data_dir, layer_stats=False)
    assert [row["lr"] for row in result.history] == pytest.approx([0.1, 0.05, 0.025])
    assert result.history[-1]["test_accuracy"] > 0.8


def test_warm_up_refuses_onecycle_which_warms_up_by_itself():
    with pytest.raises(ConfigError, match="warm-up epochs must be 0 with the one-cycle schedule"):
        TrainConfig(schedule="onecycle", warmup_epochs=1)
    assert TrainConfig(epochs=2, warmup_epochs=3).warmup_epochs == 3  # a run to be continued past its warm-up


# --- EMA -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer, norm", [("sgd", "none"), ("momentum", "batch")])  # fused, and autograd
def test_ema_weights_are_the_moving_average_of_the_trajectory(data, optimizer, norm):
    decay = 0.6
    config = BASE.with_(optimizer=optimizer, ema=decay, norm=norm, hidden=(16,))
    stepper = TorchStepper(config, data.train, CPU)
    assert (stepper.fused is not None) == (norm == "none")
    stepper.begin_epoch()
    average = None
    for index in range(4):
        stepper.step(index)
        raw = {k: v.detach().clone() for k, v in stepper.model.state_dict().items()}
        if average is None:
            average = raw  # the first step's weights start the average
        else:
            average = {k: decay * average[k] + (1 - decay) * raw[k] if raw[k].is_floating_point() else raw[k]
                       for k in raw}
    kept = stepper.torch_model().state_dict()
    assert list(kept) == list(stepper.model.state_dict())  # the same names: saved and exported like any model
    for name, value in kept.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, average[name], rtol=1e-5, atol=1e-6)
    weight = "layers.0.weight"
    assert not torch.allclose(kept[weight], stepper.model.state_dict()[weight])  # not the raw weights
    if norm == "batch":  # batch norm's running statistics are averaged too
        assert not torch.allclose(kept["layers.1.running_mean"], stepper.model.state_dict()["layers.1.running_mean"])
    split = data.test
    assert stepper.evaluate(split) == evaluate_loss_accuracy(stepper.torch_model(), split, config, CPU)


def test_a_run_with_ema_saves_and_evaluates_the_average(tiny_data_dir, runs_dir):
    store = RunStore(runs_dir)
    config = BASE.with_(ema=0.9, epochs=2)
    outcome = run_experiment(config, store=store, data_dir=tiny_data_dir)
    run = store.open(outcome.run_id)
    saved = run.model()
    for name, value in outcome.result.model.state_dict().items():
        assert torch.equal(saved.state_dict()[name], value), name
    _, accuracy, _ = evaluate_loss_accuracy(saved, run.split("test", tiny_data_dir), config, CPU)
    assert accuracy == run.history()[-1]["test_accuracy"] > 0.8
    # A slow average (decay 0.999 over 38 steps) stays near the initial weights: what it saves is not the last step's.
    slow = run_experiment(config.with_(ema=0.999), store=store, data_dir=tiny_data_dir)
    plain = run_experiment(config.with_(ema=0.0), store=store, data_dir=tiny_data_dir)
    initial = store.open(slow.run_id).model(epoch=0).state_dict()["layers.0.weight"]
    slow_w = slow.result.model.state_dict()["layers.0.weight"]
    assert (slow_w - initial).norm() < (plain.result.model.state_dict()["layers.0.weight"] - initial).norm()


# --- mixup -----------------------------------------------------------------------------------------------------

def test_mixup_feeds_the_step_blends_and_scores_both_labels():
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 2:10], images[1, 18:26] = 200, 100  # two distinct images: a bar at the top, one at the bottom
    split = Split(images, torch.tensor([3, 7]))
    config = BASE.with_(mixup=1.0, batch_size=2, shuffle=False, seed=0, optimizer="adam", lr=1e-3)
    assert not fused_supported(config)
    stepper = TorchStepper(config, split, CPU)
    seen = []
    stepper.model.register_forward_hook(lambda _m, args, out: seen.append((args[0].detach(), out.detach())))
    stepper.begin_epoch()
    lam = float(stepper.lams[0])
    state = stepper.gen.get_state()
    stepper.step(0)
    perm = torch.randperm(2, generator=torch.Generator().set_state(state))
    (x, logits), = seen
    pixels = images.float().div(255).reshape(2, -1)
    if perm.tolist() == [0, 1]:  # the seed's draw pairs each image with itself: nothing to blend
        pytest.fail("pick another seed: this one's shuffled copy is the batch itself")
    assert 0 < lam < 1
    torch.testing.assert_close(x, lam * pixels + (1 - lam) * pixels[perm])
    assert len(torch.unique(x[0])) == 3  # a blend: both bars lit, at two different strengths, and 0 elsewhere
    y = torch.tensor([3, 7])
    expected = lam * compute_loss(logits, y, "ce", "none") + (1 - lam) * compute_loss(logits, y[perm], "ce", "none")
    assert stepper.running_loss() == pytest.approx(float(expected), rel=1e-5)
    dominant = y if lam >= 0.5 else y[perm]
    assert stepper.running_accuracy() == float((logits.argmax(1) == dominant).float().mean())


def test_mixup_draws_come_from_the_seeded_generator(data):
    config = BASE.with_(mixup=0.4)
    runs = [TorchStepper(config, data.train, CPU) for _ in range(2)]
    for stepper in runs:
        run_steps(stepper, 3)
    assert torch.equal(runs[0].lams, runs[1].lams) and 0 < float(runs[0].lams.min())
    assert runs[0].lams.std() > 0  # one share per step
    for a, b in zip(runs[0].model.state_dict().values(), runs[1].model.state_dict().values()):
        assert torch.equal(a, b)
    other = TorchStepper(config.with_(seed=1), data.train, CPU)
    other.begin_epoch()
    assert not torch.equal(other.lams, runs[0].lams)


def test_a_short_mixup_run_on_real_mnist_learns(real_data_dir):
    config = TrainConfig(model=MLPSpec(hidden=(128,)), mixup=0.2, optimizer="adam", lr=1e-3, batch_size=32, epochs=1,
                         train_subset=2000, test_subset=2000, device="cpu")
    result = train(config, data_dir=real_data_dir, layer_stats=False)
    assert result.status == "finished"
    assert result.history[-1]["test_accuracy"] > 0.75  # chance is 10%


def test_mixup_needs_cross_entropy():
    for loss in ("mse", "bce"):
        with pytest.raises(ConfigError, match=f"mixup needs the cross-entropy loss .*got loss '{loss}'"):
            TrainConfig(mixup=0.2, loss=loss)


# --- every door ------------------------------------------------------------------------------------------------

def test_train_help_lists_every_new_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in FLAGS:
        assert flag in text, flag
    assert "{before,after}" in text


@pytest.mark.parametrize("flags, allowed", [
    (("--input-dropout", "1"), "input dropout must be in [0, 1)"), (("--norm-where", "middle"), "one of before, after"),
    (("--max-norm=-2",), "max-norm must be in [0, 1000]"), (("--warmup-epochs=-1",), "warm-up epochs must be in [0, 10000]"),
    (("--ema", "1"), "ema decay must be in [0, 1)"), (("--mixup=-0.5",), "mixup must be in [0, 10]"),
    (("--mixup", "0.2", "--loss", "mse"), "mixup needs the cross-entropy loss"),
], ids=lambda v: v[0] if isinstance(v, tuple) else None)
def test_an_impossible_value_exits_2_with_one_sentence(flags, allowed, tiny_data_dir, runs_dir, capsys):
    assert main(["train", *flags, "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and allowed in err, err
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


NEW = {"input dropout 0.2": dict(input_dropout=0.2), "max-norm 3": dict(max_norm=3.0),
       "warm-up epochs 1": dict(warmup_epochs=1.0), "ema decay 0.99": dict(ema=0.99), "mixup 0.2": dict(mixup=0.2)}


@pytest.mark.parametrize("what", NEW)
def test_the_numpy_engine_refuses_each_new_feature(what):
    config = TrainConfig(model=MLPSpec(hidden=(16,)), engine="numpy", device="cpu")
    with pytest.raises(ConfigError, match=f"the NumPy engine does not support {what} \\(use 0\\)\\."):
        config.with_(**NEW[what])
    with pytest.raises(ConfigError, match="norm 'layer'"):  # a norm after the activation is still a norm
        config.with_(norm="layer", norm_where="after")


@pytest.mark.parametrize("changes, reason", [
    (dict(input_dropout=0.2), "input dropout"), (dict(norm="layer", norm_where="after"), "a norm after the activation"),
    (dict(max_norm=3.0), "max-norm is applied per model"), (dict(ema=0.99), "(EMA) is kept per model"),
    (dict(mixup=0.2), "mixup is drawn per run")])
def test_each_new_feature_trains_on_its_own_not_in_a_population(changes, reason):
    assert reason in unbatchable_reason(BASE.with_(**changes))
    assert unbatchable_reason(BASE.with_(warmup_epochs=1.0)) is None  # a per-member learning rate: batched
    assert unbatchable_reason(BASE.with_(norm="layer")) is None


def test_fused_step_is_off_for_what_changes_the_forward_pass():
    assert fused_supported(BASE)
    assert not fused_supported(BASE.with_(input_dropout=0.1)) and not fused_supported(BASE.with_(mixup=0.2))
    assert all(fused_supported(BASE.with_(**c)) for c in (dict(max_norm=3.0), dict(ema=0.9), dict(warmup_epochs=1)))


def test_describe_names_input_dropout():
    assert MLPSpec(hidden=(8,), input_dropout=0.2, dropout=0.5).describe() == "784-8-10 relu, input dropout 0.2, dropout 0.5"
    assert math.isclose(MLPSpec(input_dropout=0.2).to_dict()["input_dropout"], 0.2)
    assert MLPSpec.from_dict({"hidden": [8]}).norm_where == "before"  # a run saved before these settings


def test_a_rate_steered_during_the_warm_up_is_the_one_it_climbs_to(tiny_data_dir, monkeypatch):
    from mnistlab.train.steer import Steering

    used = []
    set_lr = TorchStepper.set_lr

    def recording(self, lr):
        set_lr(self, lr)
        used.append(self.optimizer.param_groups[0]["lr"])

    monkeypatch.setattr(TorchStepper, "set_lr", recording)
    config = TrainConfig(model=MLPSpec(hidden=(16,)), epochs=2, batch_size=50, lr=0.1, warmup_epochs=1, device="cpu")
    steer = Steering()
    steer.set_lr(0.02)  # taken at step 1, the warm-up's first
    result = train(config, data_dir=tiny_data_dir, steer=steer)
    steps = 12  # 600 images / 50: the warm-up is the first epoch
    assert result.history[0]["lr_changes"][0] == {"step": 1, "epoch": 1, "lr": 0.02, "scheduled": 0.1, "at": 0.0}
    assert used == pytest.approx([0.02 * (s + 1) / steps for s in range(steps)] + [0.02] * steps)
    assert [row["lr"] for row in result.history] == pytest.approx([0.02, 0.02])
