"""`TrainConfig`: everything that defines a training run, validated and JSON round-trippable."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from mnistlab.configs import from_dict, parse_json, read_json_file, to_dict
from mnistlab.data.augment_spec import AUGMENT_NAMES as AUGMENT_NAMES  # re-exported: the config's home
from mnistlab.data.augment_spec import Augment as Augment
from mnistlab.data.manifest import NAME_PATTERN
from mnistlab.errors import ConfigError
from mnistlab.models.numpy_mlp import ACTIVATIONS as NUMPY_ENGINE_ACTIVATIONS
from mnistlab.models.spec import MLPSpec
from mnistlab.settings import Setting, check_settings, log_stops, nested, setting
from mnistlab.userfiles import short

DATASET_NAMES = ("mnist", "fashion-mnist")  # the built-ins; imported datasets are named by the user
DATASET_NAME_PATTERN = NAME_PATTERN.pattern
ENGINES = ("torch", "numpy")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
LOSSES = ("ce", "mse", "bce")
DEVICES = ("auto", "cpu", "cuda")
SUBSET_MODES = ("first", "random", "stratified", "sklearn")
NUMPY_RECIPES = ("mnistlab", "numpy-tutorial")
VAL_MODES = ("last", "random")
ADVERSARIAL_KINDS = ("none", "fgsm", "vat")  # see mnistlab.train.adversarial
MAX_EPOCHS = 10_000
MAX_BATCH = 65_536
MAX_ITEMS = 10_000_000  # images in a split, as the IDX reader allows: a larger subset is a typo
BATCH_STOPS = (1, 2, 4, 8, 16, 20, 32, 50, 64, 100, 128, 256, 512, 1024, 2048, 4096)  # the dashboard slider's stops


@dataclass(frozen=True)
class TrainConfig:
    """A whole experiment: dataset, model, optimisation and data handling."""

    dataset: str = setting("mnist", Setting(
        "Dataset", "The images to learn from: a built-in dataset or one you imported (`data import`).",
        kind="name", choices=DATASET_NAMES, pattern=DATASET_NAME_PATTERN, widget="none"))
    engine: str = setting("torch", Setting(  # "numpy" runs the from-scratch engine (SGD only)
        "Engine", "PyTorch, or the from-scratch NumPy engine whose every gradient is written by hand (SGD, "
        "ReLU/sigmoid only). Same maths, slower.", kind="choice", choices=ENGINES, widget="select", column=0))
    numpy_recipe: str = setting("mnistlab", Setting(  # "numpy-tutorial": numpy.org's MNIST tutorial, quirks included
        "NumPy recipe", "NumPy engine only. mnistlab: textbook maths in float32. numpy-tutorial: numpy.org's 'Deep "
        "learning on MNIST' to the digit: float64, its init and random stream, no biases, and its two quirks "
        "(ReLU derivative 1 everywhere, hidden error not doubled).",
        kind="choice", name="numpy recipe", choices=NUMPY_RECIPES, widget="select", column=0))
    model: MLPSpec = nested(MLPSpec)
    optimizer: str = setting("sgd", Setting(  # sgd | momentum (SGD + momentum) | adam | adamw
        "Optimizer", "How the gradient becomes a weight update. SGD is the textbook rule; momentum and Adam reach "
        "the same accuracy in fewer epochs.", kind="choice", choices=OPTIMIZERS, widget="select",
        section="optimisation"))
    lr: float = setting(0.1, Setting(  # peak learning rate
        "Learning rate (log scale)", "Step size of each update. Too high: the loss jumps or becomes NaN. Too low: "
        "the loss barely moves.", low=0, high=10, low_open=True, scale="log", widget="select_slider",
        options=log_stops(1e-5, 10), section="optimisation"))
    momentum: float = setting(0.9, Setting(  # only for "momentum"
        "Momentum", "How much of the previous update carries into the next (SGD + momentum only). 0.9 is the "
        "classic value.", low=0, high=1, high_open=True, ui_high=0.999, step=0.01, column=1))
    weight_decay: float = setting(0.0, Setting(  # L2 (sgd/adam) or decoupled (adamw)
        "Weight decay", "Pulls weights towards zero at every step: a brake on overfitting.", low=0, high=1,
        step=1e-4, column=1))
    max_norm: float | None = setting(None, Setting(  # None or 0: off; else each unit's incoming weights ≤ this
        "Max-norm (0 = off)", "After every step, shrink each unit's incoming weights back to this length (L2 norm) "
        "if longer: a cap, so a high learning rate with dropout cannot blow the weights up. Srivastava et al. "
        "(2014) used 3 to 4; tiny values stop learning.", name="max-norm", low=0, high=1000, optional=True, ui_high=100, step=0.5, column=1))
    schedule: str = setting("none", Setting(  # none | step | cosine | onecycle (per step, warm-up 30% for onecycle)
        "Schedule", "How the learning rate changes during training. One-cycle warms up then anneals: usually the "
        "fastest to a good accuracy.", kind="choice", choices=SCHEDULES, widget="select", section="optimisation"))
    step_epochs: int = setting(10, Setting(  # "step": multiply lr by step_gamma every step_epochs epochs
        "Step schedule: every N epochs", "Step schedule: the learning rate drops every this many epochs.",
        kind="int", name="step_epochs", low=1, high=MAX_EPOCHS, ui_high=1000, step=1, column=1))
    step_gamma: float = setting(0.1, Setting(
        "Step schedule: multiply by", "Step schedule: the factor applied at each drop (0.1 = ten times smaller).",
        name="step_gamma", low=0, high=1, low_open=True, ui_low=0.01, step=0.05, column=1))
    warmup_epochs: float = setting(0.0, Setting(  # linear ramp over these epochs (per step), then the schedule
        "Warm-up epochs", "Raise the learning rate step by step from almost 0 over this many epochs (fractions "
        "allowed), then follow the schedule: big steps on fresh random weights can throw a net off. One-cycle "
        "warms up by itself.",
        name="warm-up epochs", low=0, high=MAX_EPOCHS, ui_high=100, step=0.5, column=1))
    ema: float = setting(0.0, Setting(  # decay of the weights' moving average; 0 = off
        "Weight averaging (EMA decay, 0 = off)", "Keep a moving average of the weights, updated after every step "
        "with this decay (0.999: roughly the last 1,000 steps), and evaluate, save and export the average instead "
        "of the last weights: a smoother, often slightly better net. 0 turns it off.",
        name="ema decay", low=0, high=1, high_open=True, ui_high=0.9999, step=0.001, column=1))
    batch_size: int = setting(64, Setting(  # images per optimizer step
        "Batch size", "Images per update. Small batches: many noisy steps per epoch; large batches: fewer, "
        "smoother steps and faster epochs.", kind="int", low=1, high=MAX_BATCH, scale="log", widget="select_slider",
        options=BATCH_STOPS, section="optimisation"))
    epochs: int = setting(10, Setting(
        "Epochs", "Passes over the training images. Watch the validation curve: when it stops improving, more "
        "epochs only overfit.", kind="int", low=1, high=MAX_EPOCHS, ui_high=1000, step=1, section="optimisation"))
    loss: str = setting("ce", Setting(  # ce | mse / bce on one-hot targets
        "Loss", "What the network is scored on. Cross-entropy suits classification; squared error is the textbook "
        "choice and learns more slowly.", kind="choice", choices=LOSSES, widget="select", section="optimisation"))
    label_smoothing: float = setting(0.0, Setting(  # only for ce
        "Label smoothing", "Aim for 0.9 instead of 1.0 on the right class: a less over-confident net, often a "
        "slightly better test accuracy.", low=0, high=1, high_open=True, ui_high=0.5, step=0.05, column=1))
    mixup: float = setting(0.0, Setting(  # Beta(α, α) mixing of each batch with a shuffled copy; 0 = off
        "Mixup (alpha, 0 = off)", "Blend each batch with a shuffled copy of itself, λ·image + (1 − λ)·other, λ from "
        "Beta(alpha, alpha), scored on both labels in those shares. 0.2 is typical: training accuracy drops, test "
        "accuracy often rises. Cross-entropy only.",
        name="mixup", low=0, high=10, ui_high=2, step=0.1, column=2))
    adversarial: str = setting("none", Setting(  # none | fgsm | vat, see mnistlab.train.adversarial
        "Adversarial training", "Also train on each batch pushed the way that fools the net most: fgsm moves every "
        "pixel ε along the loss gradient's sign (Goodfellow et al. 2014); vat pushes by ε where the answer changes "
        "most and keeps it (Miyato et al. 2018). No image is warped.", kind="choice", choices=ADVERSARIAL_KINDS, widget="select", column=2))
    adversarial_eps: float = setting(0.1, Setting(  # fgsm: per pixel (L∞); vat: L2 length per image; 0–1 units
        "Adversarial push (ε)", "How far adversarial training pushes each image, in pixel units (0–1): per pixel "
        "for fgsm (0.1 to 0.25 typical), as the whole image's L2 length for vat (1 to 3 typical, an image is "
        "about 9 long).", name="adversarial eps", low=0, high=100, low_open=True, ui_low=0.01, ui_high=5, step=0.05,
        column=2))
    augment: Augment = nested(Augment, flag_prefix="aug-", key_prefix="aug_")
    train_subset: float | int | None = setting(None, Setting(  # a count (int) or a fraction (float ≤ 1)
        "Train subset (images, 0 = all)", "Train on only the first N images (0 = all). Few images make "
        "overfitting easy to see. On the CLI also a fraction like 0.25.", kind="subset", name="train subset",
        low=1, high=MAX_ITEMS, optional=True, step=1000, section="data"))
    subset_mode: str = setting("first", Setting(  # first | random | stratified | sklearn
        "Subset draw", "How the training subset is drawn: the first N, a random N, N balanced across classes, or "
        "scikit-learn's train_test_split(random_state=subset seed) train part, in its shuffled order.",
        kind="choice", name="subset mode", choices=SUBSET_MODES, widget="select", column=2))
    subset_seed: int | None = setting(None, Setting(  # None: the run's seed
        "Subset seed (0 = the run's seed)", "The seed of a random, stratified or scikit-learn subset, so runs "
        "with different seeds can share one subset. On Train 0 means the run's seed; the CLI takes 0 as 0.", kind="int", name="subset seed", low=0,
        high=2**32 - 1, optional=True, step=1, column=2))
    test_subset: int | None = setting(None, Setting(  # evaluate on the first N test images only
        "Test subset (first N, 0 = all)", "Score on only the first N test images (0 = all 10,000).", kind="int",
        name="test subset", low=1, high=MAX_ITEMS, optional=True, ui_high=10_000, step=1000, column=2))
    val_split: float = setting(0.0, Setting(  # fraction of the training data held out for validation
        "Validation split", "Fraction of the training images held out to watch overfitting: train accuracy far "
        "above validation accuracy means the net memorises.", low=0, high=1, high_open=True, widget="slider",
        ui_high=0.5, step=0.05, section="data"))
    val_mode: str = setting("last", Setting(  # "last" as Keras's validation_split does, or "random"
        "Validation taken from", "Validation images taken from the end of the training set (as Keras does) or at "
        "random.", kind="choice", name="validation mode", choices=VAL_MODES, widget="select", column=2))
    test_every_epoch: bool = setting(True, Setting(  # False: the test set is scored once, after the last epoch
        "Score the test set every epoch", "Score the test images after every epoch, for the curves. Off: only "
        "once, after the last epoch, as a record's protocol asks (choose on validation, look at the test once).",
        kind="bool", name="test every epoch", widget="toggle", column=2))
    shuffle: bool = setting(True, Setting(  # False: every epoch in the files' order, as a DataLoader without shuffle
        "Shuffle each epoch", "Draw a new order of the training images every epoch. Off: the fixed order of the "
        "files, as a DataLoader without shuffle=True or a plain for-loop.", kind="bool", widget="toggle",
        column=2))
    seed: int = setting(0, Setting(
        "Seed", "Fixes the initial weights, the shuffling and the augmentation. Same seed, same settings: same run.",
        kind="int", low=0, high=2**31 - 1, step=1, section="data"))
    device: str = setting("auto", Setting(  # auto | cpu | cuda
        "Device", "Where training runs. A CUDA GPU makes large nets and batches many times faster.", kind="choice",
        choices=DEVICES, widget="segmented", section="data"))

    def __post_init__(self):
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", MLPSpec.from_dict(self.model))
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", Augment.from_dict(self.augment))
        if not isinstance(self.model, MLPSpec):
            raise ConfigError(f"model must be an object of model settings; got {type(self.model).__name__}.")
        if not isinstance(self.augment, Augment):
            raise ConfigError(f"augment must be an object of augmentation settings; got {type(self.augment).__name__}.")
        if type(self.max_norm) in (int, float) and self.max_norm == 0:  # off has one form, so configs compare equal
            object.__setattr__(self, "max_norm", None)
        subset = self.train_subset
        if isinstance(subset, float) and subset > 1 and subset.is_integer():
            object.__setattr__(self, "train_subset", int(subset))
        check_settings(self)
        _check_features(self)
        if self.engine == "numpy":
            _check_numpy_engine(self)
        elif self.numpy_recipe != "mnistlab":
            raise ConfigError(f"numpy recipe {self.numpy_recipe!r} needs the NumPy engine (engine numpy).")

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


def _check_features(config: TrainConfig) -> None:
    """Combinations the settings' own ranges cannot refuse: mixup's loss, a warm-up with one-cycle.

    A warm-up longer than the run is allowed: a run of 2 epochs may be continued to the 4 it was planned for.
    """
    if config.mixup and config.loss != "ce":
        raise ConfigError(f"mixup needs the cross-entropy loss (loss ce), whose mixed targets it scores; got loss "
                          f"{config.loss!r}: use loss ce or mixup 0.")
    if config.adversarial == "vat" and (config.loss != "ce" or config.model.output == "sigmoid"):
        raise ConfigError("adversarial vat compares softmax predictions, so it needs loss ce and output none or "
                          "softmax; use those, adversarial fgsm, or adversarial none.")
    if config.warmup_epochs and config.schedule == "onecycle":
        raise ConfigError("warm-up epochs must be 0 with the one-cycle schedule, which warms up by itself (over its "
                          "first 30% of steps); use another schedule or warm-up epochs 0.")


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
    extras = [("input dropout", spec.input_dropout), ("max-norm", config.max_norm),
              ("warm-up epochs", config.warmup_epochs), ("ema decay", config.ema), ("mixup", config.mixup)]
    problems += [f"{name} {value:g} (use 0)" for name, value in extras if value]
    if config.adversarial != "none":
        problems.append(f"adversarial {config.adversarial!r} (use none)")
    if config.device == "cuda":
        problems.append("device 'cuda' (the NumPy engine runs on the CPU)")
    if problems:
        raise ConfigError("the NumPy engine does not support " + "; ".join(problems) + ".")
    if config.numpy_recipe == "numpy-tutorial":
        _check_tutorial_recipe(config)


def _check_tutorial_recipe(config: TrainConfig) -> None:
    """numpy.org's tutorial recipe fixes the parts it hand-writes: ReLU, linear outputs, squared error, dropout ½."""
    spec = config.model
    wrong = [f"{name} {value!r} (use {want!r})" for name, value, want in [
        ("activation", spec.activation, "relu"), ("output activation", spec.output, "none"),
        ("loss", config.loss, "mse"), ("input scaling", spec.input_scale, "unit")] if value != want]
    if spec.dropout not in (0, 0.5):
        wrong.append(f"dropout {spec.dropout:g} (its masks keep half the units: use 0 or 0.5)")
    if spec.dropout and spec.dropout_where != "all" and len(spec.hidden) > 1:
        wrong.append("dropout after the first layer only (use all)")
    wrong += [f"{name} {value:g} (use 0)" for name, value in [
        ("label smoothing", config.label_smoothing), ("weight decay", config.weight_decay)] if value]
    if wrong:
        raise ConfigError("numpy recipe 'numpy-tutorial' does not support " + "; ".join(wrong) + ".")
