"""`TrainConfig`: everything that defines a training run, validated and JSON round-trippable."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from mnistlab.configs import check_choice, check_range, from_dict, parse_json, read_json_file, to_dict
from mnistlab.data.augment_spec import AUGMENT_NAMES as AUGMENT_NAMES  # re-exported: the config's home
from mnistlab.data.augment_spec import Augment as Augment
from mnistlab.errors import ConfigError
from mnistlab.models.numpy_mlp import ACTIVATIONS as NUMPY_ENGINE_ACTIVATIONS
from mnistlab.models.spec import MLPSpec
from mnistlab.userfiles import short

DATASET_NAMES = ("mnist", "fashion-mnist")
ENGINES = ("torch", "numpy")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
LOSSES = ("ce", "mse", "bce")
DEVICES = ("auto", "cpu", "cuda")
SUBSET_MODES = ("first", "random", "stratified")
VAL_MODES = ("last", "random")
MAX_EPOCHS = 10_000
MAX_BATCH = 65_536
MAX_ITEMS = 10_000_000  # images in a split, as the IDX reader allows: a larger subset is a typo


@dataclass(frozen=True)
class TrainConfig:
    """A whole experiment: dataset, model, optimisation and data handling."""

    dataset: str = "mnist"
    model: MLPSpec = field(default_factory=MLPSpec)
    engine: str = "torch"  # "numpy" runs the from-scratch engine (SGD only)
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"  # sgd | momentum (SGD + momentum) | adam | adamw
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # only for "momentum"
    weight_decay: float = 0.0  # L2 (sgd/adam) or decoupled (adamw)
    schedule: str = "none"  # none | step | cosine | onecycle (per step, warm-up 30% for onecycle)
    step_epochs: int = 10  # "step": multiply lr by step_gamma every step_epochs epochs
    step_gamma: float = 0.1
    loss: str = "ce"  # ce | mse / bce on one-hot targets
    label_smoothing: float = 0.0  # only for ce
    augment: Augment = field(default_factory=Augment)
    train_subset: float | int | None = None  # a count (int) or a fraction (float ≤ 1) of the training set
    subset_mode: str = "first"  # first | random | stratified
    test_subset: int | None = None  # evaluate on the first N test images only
    val_split: float = 0.0  # fraction of the training data held out for validation
    val_mode: str = "last"  # "last" as Keras's validation_split does, or "random"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self):
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", MLPSpec.from_dict(self.model))
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", Augment.from_dict(self.augment))
        if not isinstance(self.model, MLPSpec):
            raise ConfigError(f"model must be an object of model settings; got {type(self.model).__name__}.")
        if not isinstance(self.augment, Augment):
            raise ConfigError(f"augment must be an object of augmentation settings; got {type(self.augment).__name__}.")
        check_choice("dataset", self.dataset, DATASET_NAMES)
        check_choice("engine", self.engine, ENGINES)
        check_range("epochs", self.epochs, 1, MAX_EPOCHS, integer=True)
        check_range("batch size", self.batch_size, 1, MAX_BATCH, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_range("learning rate", self.lr, 0, 10, low_open=True)
        check_range("momentum", self.momentum, 0, 1, high_open=True)
        check_range("weight decay", self.weight_decay, 0, 1)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_range("step_epochs", self.step_epochs, 1, MAX_EPOCHS, integer=True)
        check_range("step_gamma", self.step_gamma, 0, 1, low_open=True)
        check_choice("loss", self.loss, LOSSES)
        check_range("label smoothing", self.label_smoothing, 0, 1, high_open=True)
        if self.train_subset is not None:
            if isinstance(self.train_subset, float) and self.train_subset <= 1:
                check_range("train subset fraction", self.train_subset, 0, 1, low_open=True)
            else:
                if isinstance(self.train_subset, float) and self.train_subset.is_integer():
                    object.__setattr__(self, "train_subset", int(self.train_subset))
                check_range("train subset", self.train_subset, 1, MAX_ITEMS, integer=True)
        check_choice("subset mode", self.subset_mode, SUBSET_MODES)
        if self.test_subset is not None:
            check_range("test subset", self.test_subset, 1, MAX_ITEMS, integer=True)
        check_range("validation split", self.val_split, 0, 1, high_open=True)
        check_choice("validation mode", self.val_mode, VAL_MODES)
        check_range("seed", self.seed, 0, 2**31 - 1, integer=True)
        check_choice("device", self.device, DEVICES)
        if self.engine == "numpy":
            _check_numpy_engine(self)

    def with_(self, **changes) -> TrainConfig:
        """A copy with `changes`; keys 'model.x' or model fields by name go to the MLPSpec."""
        model_fields = set(MLPSpec.__dataclass_fields__)
        model_changes = {k: v for k, v in changes.items() if k in model_fields}
        rest = {k: v for k, v in changes.items() if k not in model_fields}
        model = self.model.with_(**model_changes) if model_changes else self.model
        return replace(self, model=model, **rest)

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return from_dict(cls, data, nested={"model": MLPSpec, "augment": Augment})

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(parse_json(text, "config"))

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """A config file a user names: a regular UTF-8 JSON file of a few KB, every field checked."""
        data = read_json_file(path, "config file")
        try:
            return cls.from_dict(data)
        except ConfigError as e:
            raise ConfigError(f"config file {short(str(path))}: {e}") from None


NUMPY_ACTIVATIONS = NUMPY_ENGINE_ACTIVATIONS  # what the from-scratch engine implements


def _check_numpy_engine(config: TrainConfig) -> None:
    """The NumPy engine covers the tutorials' subset: dense + relu/sigmoid + dropout, SGD, mse/ce."""
    spec = config.model
    problems = []
    if spec.activation not in NUMPY_ACTIVATIONS:
        problems.append(f"activation {spec.activation!r} (use relu or sigmoid)")
    if spec.norm != "none":
        problems.append(f"norm {spec.norm!r} (use none)")
    if spec.output == "softmax" and config.loss != "ce":
        problems.append("softmax output with a loss other than ce")
    if config.optimizer != "sgd":
        problems.append(f"optimizer {config.optimizer!r} (use sgd)")
    if config.loss == "bce":
        problems.append("loss 'bce' (use mse or ce)")
    if config.schedule != "none":
        problems.append(f"schedule {config.schedule!r} (use none)")
    if config.augment.active:
        problems.append("augmentation (use none)")
    if config.device == "cuda":
        problems.append("device 'cuda' (the NumPy engine runs on the CPU)")
    if problems:
        raise ConfigError("the NumPy engine does not support " + "; ".join(problems) + ".")
