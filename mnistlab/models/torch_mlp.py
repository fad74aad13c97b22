"""Build a PyTorch `nn.Module` from an `MLPSpec`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from mnistlab.models.spec import MLPSpec

PIXEL_MEAN, PIXEL_STD = 0.0, 1.0  # identity until `set_standardization` is called


class MLP(nn.Module):
    """784 → hidden… → 10 perceptron. `forward` returns logits (before the output activation).

    `layers` is [Dropout(input_dropout) if any] then per hidden layer Linear, [norm,] activation, [norm,]
    [Dropout], and the output Linear; `linears()` gives the Linears whatever sits between them.
    """

    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        # Standardisation constants live in buffers so they travel with the weights.
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN))
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD))
        layers: list[nn.Module] = []
        if spec.input_dropout > 0:
            # Only when asked: every other config keeps its `layers.N` names, so saved runs still load.
            layers.append(nn.Dropout(spec.input_dropout))
        sizes = spec.sizes
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1])):
            layers.append(nn.Linear(fan_in, fan_out))
            norm = _norm(spec, fan_out)
            if norm is not None and spec.norm_where == "before":
                layers.append(norm)
            layers.append(_activation(spec))
            if norm is not None and spec.norm_where == "after":
                layers.append(norm)
            if spec.dropout > 0 and (spec.dropout_where == "all" or i == 0):
                layers.append(nn.Dropout(spec.dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.layers = nn.Sequential(*layers)
        _initialise(self, spec.init)

    def set_standardization(self, mean: float, std: float) -> None:
        self.pixel_mean.fill_(mean)
        self.pixel_std.fill_(max(std, 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 28, 28) or (B, 784) floats in [0, 1] → logits (B, 10)."""
        x = x.reshape(x.shape[0], -1)
        if self.spec.scales_inputs:
            x = (x - self.pixel_mean) / self.pixel_std
        return self.layers(x)

    def linears(self) -> list[nn.Linear]:
        """Every Linear layer in order: the hidden ones, then the output layer."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]


ACTIVATION_MODULES: dict[str, type[nn.Module]] = {  # MLPSpec.activation → its module (the one table)
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


def _norm(spec: MLPSpec, width: int) -> nn.Module | None:
    if spec.norm == "layer":
        return nn.LayerNorm(width)
    if spec.norm == "batch":
        return nn.BatchNorm1d(width)
    return None


def _activation(spec: MLPSpec) -> nn.Module:
    if spec.activation == "leaky_relu":
        return nn.LeakyReLU(spec.leaky_slope)
    return ACTIVATION_MODULES[spec.activation]()


def _initialise(model: nn.Module, scheme: str) -> None:
    if scheme == "torch":
        return  # nn.Linear's own kaiming-uniform(a=√5) weights and uniform biases
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if scheme == "glorot_uniform":
                nn.init.xavier_uniform_(m.weight)
            elif scheme == "he_normal":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif scheme == "he_uniform":
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Dropout off and batch-norm running statistics on inside the block, the previous mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def build_model(spec: MLPSpec) -> MLP:
    """A freshly initialised `MLP` (seed torch first for reproducible weights)."""
    return MLP(spec)


def output_probabilities(logits: torch.Tensor, output: str) -> torch.Tensor:
    """Class probabilities (rows sum to 1) from logits, given the spec's output activation."""
    if output == "sigmoid":
        p = torch.sigmoid(logits)
        return p / p.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.softmax(logits, dim=1)
