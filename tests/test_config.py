"""MLPSpec and TrainConfig: validation messages and JSON round trips."""

import pytest

from mnistlab.errors import ConfigError
from mnistlab.models.spec import MLPSpec
from mnistlab.presets import PRESETS
from mnistlab.train.config import Augment, TrainConfig


def test_spec_round_trips_through_json():
    spec = MLPSpec(hidden=(300, 100), activation="leaky_relu", leaky_slope=0.02, dropout=0.25, norm="batch",
                   output="softmax", init="glorot_uniform", input_scale="standardize")
    assert MLPSpec.from_json(spec.to_json()) == spec


def test_config_round_trips_through_json_with_nested_parts():
    config = TrainConfig(dataset="fashion-mnist", model=MLPSpec(hidden=(64,)), augment=Augment(rotation=10, hflip=True),
                         train_subset=0.5, subset_mode="stratified", val_split=0.1, schedule="onecycle")
    again = TrainConfig.from_json(config.to_json())
    assert again == config
    assert isinstance(again.model, MLPSpec) and isinstance(again.augment, Augment)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips(name):
    config = PRESETS[name].config
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("changes, message", [
    ({"lr": 0}, "learning rate must be in (0, 10]"),
    ({"lr": -1}, "learning rate must be in (0, 10]"),
    ({"lr": float("nan")}, "learning rate must be a number"),
    ({"lr": "fast"}, "learning rate must be a number"),
    ({"epochs": 0}, "epochs must be in [1,"),
    ({"batch_size": 0}, "batch size must be in [1,"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, momentum, adam, adamw"),
    ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
    ({"dataset": "Cifar/10"}, "dataset must be one of mnist, fashion-mnist or the name of an imported dataset"),
    ({"val_split": 1.0}, "validation split must be in [0, 1)"),
    ({"train_subset": 0}, "train subset must be in [1,"),
    ({"train_subset": 1.5}, "train subset must be an integer"),
    ({"hidden": (512, 0)}, "width of hidden layer 2 must be in [1,"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"activation": "swish"}, "activation must be one of relu, sigmoid, tanh, leaky_relu, gelu"),
])
def test_impossible_settings_are_rejected_with_the_allowed_range(changes, message):
    with pytest.raises(ConfigError) as err:
        TrainConfig().with_(**changes)
    assert message in str(err.value)


def test_unknown_json_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown TrainConfig setting"):
        TrainConfig.from_dict({"epochs": 2, "turbo": True})


def test_numpy_engine_refuses_what_it_cannot_do():
    with pytest.raises(ConfigError, match="NumPy engine does not support .*adam"):
        TrainConfig(engine="numpy", optimizer="adam")
    with pytest.raises(ConfigError, match="activation 'tanh'"):
        TrainConfig(engine="numpy", model=MLPSpec(activation="tanh"))


def test_parameter_count_matches_the_formula():
    assert MLPSpec(hidden=(512,)).parameter_count() == 784 * 512 + 512 + 512 * 10 + 10
    assert MLPSpec(hidden=()).parameter_count() == 7850
    assert MLPSpec(hidden=(100,), norm="layer").parameter_count() == 784 * 100 + 100 + 200 + 1010


def test_augment_scale_range_must_be_ordered():
    with pytest.raises(ConfigError, match="scale_min"):
        Augment(scale_min=1.2, scale_max=0.8)
