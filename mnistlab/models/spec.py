"""`MLPSpec`: the architecture of a multi-layer perceptron, validated and JSON round-trippable."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from mnistlab.configs import check_choice, check_range, from_dict, parse_json, to_dict
from mnistlab.errors import ConfigError

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu")
NORMS = ("none", "layer", "batch")
OUTPUTS = ("none", "sigmoid", "softmax")
INITS = ("torch", "glorot_uniform", "he_normal", "he_uniform")
DROPOUT_WHERE = ("all", "first")
INPUT_SIZE = 784  # 28×28 pixels, flattened
NUM_CLASSES = 10
MAX_WIDTH = 65_536


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of a 784 → hidden… → 10 MLP."""

    hidden: tuple[int, ...] = (512,)  # widths of the hidden layers; () is logistic regression
    activation: str = "relu"
    leaky_slope: float = 0.01  # negative slope, only for leaky_relu
    dropout: float = 0.0  # probability of zeroing a hidden unit while training
    dropout_where: str = "all"  # "all" hidden layers, or only after the "first"
    norm: str = "none"  # normalisation after each hidden Linear, before the activation
    output: str = "none"  # activation on the 10 outputs; "none" means raw logits
    init: str = "torch"  # "glorot_uniform" + zero bias reproduces Keras recipes
    standardize: bool = False  # subtract the training set's pixel mean, divide by its std

    def __post_init__(self):
        hidden = self.hidden
        if isinstance(hidden, int):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)):
            raise ConfigError(f"hidden must be a list of layer widths; got {hidden!r}.")
        object.__setattr__(self, "hidden", tuple(hidden))
        for i, width in enumerate(self.hidden):
            check_range(f"width of hidden layer {i + 1}", width, 1, MAX_WIDTH, integer=True)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_range("leaky_relu slope", self.leaky_slope, 0, 1)
        check_range("dropout", self.dropout, 0, 1, high_open=True)
        check_choice("dropout_where", self.dropout_where, DROPOUT_WHERE)
        check_choice("norm", self.norm, NORMS)
        check_choice("output activation", self.output, OUTPUTS)
        check_choice("init", self.init, INITS)
        if not isinstance(self.standardize, bool):
            raise ConfigError(f"standardize must be true or false; got {self.standardize!r}.")

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer sizes from input to output, e.g. (784, 512, 10)."""
        return (INPUT_SIZE, *self.hidden, NUM_CLASSES)

    def describe(self) -> str:
        """Short human name, e.g. '784-512-10 relu'."""
        extra = [self.activation]
        if self.dropout:
            extra.append(f"dropout {self.dropout:g}")
        if self.norm != "none":
            extra.append(f"{self.norm}norm")
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
        return from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> MLPSpec:
        return cls.from_dict(parse_json(text, "model spec"))
