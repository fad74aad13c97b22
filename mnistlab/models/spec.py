"""`MLPSpec`: the architecture of a multi-layer perceptron, validated and JSON round-trippable."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from mnistlab.configs import from_dict, parse_json, to_dict
from mnistlab.errors import ConfigError
from mnistlab.settings import Setting, check_settings, setting

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu")
NORMS = ("none", "layer", "batch")
OUTPUTS = ("none", "sigmoid", "softmax")
INITS = ("torch", "glorot_uniform", "he_normal", "he_uniform")
DROPOUT_WHERE = ("all", "first")
NORM_WHERE = ("before", "after")  # the norm before each hidden activation (the usual), or after it
INPUT_SCALES = ("unit", "raw", "standardize")
INPUT_SIZE = 784  # 28×28 pixels, flattened
NUM_CLASSES = 10  # the built-ins' classes; an imported dataset has 2 to MAX_CLASSES
MAX_CLASSES = 62  # EMNIST's largest split
MAX_WIDTH = 65_536


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of a 784 → hidden… → outputs MLP (10 outputs for the built-in datasets)."""

    hidden: tuple[int, ...] = setting((512,), Setting(  # widths of the hidden layers; () is logistic regression
        "Hidden layers", "How many hidden layers sit between the pixels and the outputs (one per class). 0 is a linear classifier "
        "(logistic regression); more layers can learn more, but deep sigmoid stacks stop learning.",
        kind="widths", low=1, high=MAX_WIDTH, ui_high=8192, step=16, widget="widths", section="model",
        flag="hidden", key="cfg_layers"))
    activation: str = setting("relu", Setting(
        "Activation", "The function each hidden unit applies. ReLU trains fast; sigmoid and tanh saturate, so "
        "gradients fade in deep nets (watch Inspect → Gradient flow).",
        kind="choice", choices=ACTIVATIONS, widget="select", section="model"))
    leaky_slope: float = setting(0.01, Setting(  # negative slope, only for leaky_relu
        "LeakyReLU slope", "LeakyReLU's slope for negative inputs: units never die completely.",
        name="leaky_relu slope", low=0, high=1, step=0.01, column=0))
    dropout: float = setting(0.0, Setting(  # probability of zeroing a hidden unit while training
        "Dropout", "Probability of zeroing a hidden unit at each step while training. Closes the gap between train "
        "and validation accuracy; too much slows learning.",
        low=0, high=1, high_open=True, widget="slider", ui_high=0.9, step=0.05, section="model"))
    dropout_where: str = setting("all", Setting(  # "all" hidden layers, or only after the "first"
        "Dropout after", "Dropout after every hidden layer, or only after the first one.",
        kind="choice", name="dropout_where", choices=DROPOUT_WHERE, widget="select", column=0))
    input_dropout: float = setting(0.0, Setting(  # probability of zeroing an input pixel while training
        "Input dropout", "Probability of zeroing each input pixel at each step while training, apart from the hidden "
        "units' dropout: the net cannot lean on single pixels. Srivastava et al. (2014) used 0.2 here and 0.5 on "
        "the hidden units; much more hides the digit.",
        name="input dropout", low=0, high=1, high_open=True, widget="slider", ui_high=0.9, step=0.05, column=0))
    norm: str = setting("none", Setting(  # normalisation after each hidden Linear, before the activation
        "Normalisation", "Normalise each hidden layer's pre-activations. Keeps signals in range, so deep and "
        "sigmoid nets train again.",
        kind="choice", name="norm", choices=NORMS, widget="select", section="model"))
    norm_where: str = setting("before", Setting(  # "before" the activation (the usual), or "after" it
        "Normalisation placed", "With normalisation on: normalise each hidden layer before its activation (the "
        "original batch-norm recipe) or after it (on the activations). Compare the two on the same seed.",
        kind="choice", name="norm_where", choices=NORM_WHERE, widget="select", column=0))
    output: str = setting("none", Setting(  # activation on the 10 outputs; "none" means raw logits
        "Output activation", "Function on the outputs. None with cross-entropy is standard; sigmoid goes with "
        "squared error or binary cross-entropy.",
        kind="choice", choices=OUTPUTS, widget="select", column=0))
    init: str = setting("torch", Setting(  # "glorot_uniform" + zero bias reproduces Keras recipes
        "Weight init", "How the first weights are drawn. Glorot suits sigmoid/tanh, He suits ReLU; a bad scale "
        "shows as a flat start.",
        kind="choice", name="init", choices=INITS, widget="select", column=0))
    input_scale: str = setting("unit", Setting(  # how pixels enter the first layer (the model keeps the scaling)
        "Input scaling", "How pixels enter the net: unit divides by 255 (0 to 1, the usual); raw feeds 0 to 255 as "
        "some old tutorials did (huge first-layer sums saturate sigmoids); standardise shifts and scales to the "
        "training set's mean 0, standard deviation 1. Stored in the model.",
        kind="choice", name="input scaling", choices=INPUT_SCALES, widget="select", column=0))
    outputs: int = setting(NUM_CLASSES, Setting(  # one unit per class: set from the dataset when a run starts
        "Output units", "One output unit per class of the dataset, set from the dataset a run trains on.",
        kind="int", name="output units", low=2, high=MAX_CLASSES, widget="none", flag=None))

    def __post_init__(self):
        hidden = self.hidden
        if isinstance(hidden, int):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)):
            raise ConfigError(f"hidden must be a list of layer widths; got {hidden!r}.")
        object.__setattr__(self, "hidden", tuple(hidden))
        check_settings(self)

    @property
    def scales_inputs(self) -> bool:
        """Whether the model rescales its [0, 1] inputs (raw or standardised) with its pixel_mean/pixel_std."""
        return self.input_scale != "unit"

    def input_scaling(self, pixels) -> tuple[float, float]:
        """(shift, scale) the model stores for training pixels in [0, 1]: x ↦ (x − shift) / scale."""
        if self.input_scale == "raw":
            return 0.0, 1 / 255  # (x − 0) / (1/255) = the 0–255 pixel value
        if self.input_scale == "standardize":
            return float(pixels.mean()), max(float(pixels.std()), 1e-6)
        return 0.0, 1.0

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer sizes from input to output, e.g. (784, 512, 10)."""
        return (INPUT_SIZE, *self.hidden, self.outputs)

    def describe(self) -> str:
        """Short human name, e.g. '784-512-10 relu'."""
        extra = [self.activation]
        if self.input_dropout:
            extra.append(f"input dropout {self.input_dropout:g}")
        if self.dropout:
            extra.append(f"dropout {self.dropout:g}")
        if self.norm != "none":
            extra.append(f"{self.norm}norm" + (" after the activation" if self.norm_where == "after" else ""))
        return "-".join(map(str, self.sizes)) + " " + ", ".join(extra)

    def parameter_count(self) -> int:
        """Number of trainable parameters (weights, biases and norm scales)."""
        sizes = self.sizes
        count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        if self.norm != "none":
            count += 2 * sum(self.hidden)
        return count

    def with_(self, **changes) -> MLPSpec:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MLPSpec:
        if isinstance(data, dict) and "standardize" in data and "input_scale" not in data:  # runs before input_scale
            data = {k: v for k, v in data.items() if k != "standardize"} | {
                "input_scale": "standardize" if data["standardize"] is True else "unit"}
        return from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> MLPSpec:
        return cls.from_dict(parse_json(text, "model spec"))
