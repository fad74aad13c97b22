"""The hand-written SGD step gives the same weights as autograd + torch.optim.SGD, step for step."""

from __future__ import annotations

import pytest
import torch

from mnistlab.models.spec import MLPSpec
from mnistlab.train.config import TrainConfig
from mnistlab.train.fused_step import fused_supported
from mnistlab.train.loop import train
from mnistlab.train.prepare import prepare_data
from mnistlab.train.torch_engine import TorchStepper

BASE = TrainConfig(model=MLPSpec(hidden=(24, 16)), optimizer="sgd", lr=0.1, batch_size=32, epochs=1, device="cpu")


def steppers(config: TrainConfig, data):
    fused = TorchStepper(config, data.train, torch.device("cpu"))
    plain = TorchStepper(config, data.train, torch.device("cpu"))
    plain.fused = None  # the autograd + torch.optim path, same initial weights (same seed)
    assert fused.fused is not None
    return fused, plain


@pytest.mark.parametrize("changes", [
    {}, {"activation": "leaky_relu"}, {"activation": "sigmoid"}, {"activation": "tanh"},
    {"label_smoothing": 0.1}, {"weight_decay": 1e-2}, {"input_scale": "standardize"}, {"input_scale": "raw"}, {"hidden": ()},
    {"output": "softmax", "batch_size": 7},
    {"max_norm": 0.6, "lr": 0.5}, {"ema": 0.9},  # applied by the stepper after either step
])
def test_same_weights_and_statistics_as_autograd(tiny_data_dir, changes):
    config = BASE.with_(**changes)
    data = prepare_data(config, tiny_data_dir)
    fused, plain = steppers(config, data)
    for stepper in (fused, plain):
        stepper.begin_epoch()
        for index in range(stepper.steps_per_epoch()):  # the last batch is partial: 600 = 18×32 + 24
            stepper.step(index)
    for a, b in zip(fused.model.state_dict().values(), plain.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(fused.torch_model().state_dict().values(), plain.torch_model().state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)  # the weights' average, with EMA on
    assert fused.epoch_stats() == pytest.approx(plain.epoch_stats(), rel=1e-5)
    grads_f, ratios_f = fused.step_stats.means()
    grads_p, ratios_p = plain.step_stats.means()
    assert grads_f == pytest.approx(grads_p, rel=1e-4) and ratios_f == pytest.approx(ratios_p, rel=1e-3)


@pytest.mark.parametrize("changes", [{"optimizer": "momentum"}, {"optimizer": "adam"}, {"dropout": 0.2},
                                     {"norm": "batch"}, {"loss": "mse"}, {"activation": "gelu"},
                                     {"output": "sigmoid"}, {"engine": "numpy"}, {"input_dropout": 0.2},
                                     {"mixup": 0.2}])
def test_other_settings_use_autograd(changes):
    assert not fused_supported(BASE.with_(**changes))


def test_a_fused_run_learns(tiny_data_dir):
    result = train(BASE.with_(epochs=10, hidden=(64,)), data_dir=tiny_data_dir)
    assert result.status == "finished" and result.history[-1]["test_accuracy"] > 0.9
