"""What the weights look like: the first layer's units as 28×28 images, and a histogram per layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.insight.layers import linear_names
from mnistlab.models.torch_mlp import MLP

COLOUR_QUANTILE = 0.99  # colour limit = this quantile of |w|: a few outliers must not wash the rest out to grey


@dataclass(frozen=True)
class WeightImages:
    """The weights into each unit of the first layer, one 28×28 image per unit."""

    layer: str  # "layer 1", or "output" for a model with no hidden layer (one image per class)
    images: np.ndarray  # (units, 28, 28) float32; row i is the weight vector of unit i
    limit: float  # symmetric colour range: draw from -limit (one colour) through 0 to +limit (the other)


@dataclass(frozen=True)
class WeightHistogram:
    """Distribution of one layer's weights."""

    layer: str  # "layer 1" … "output"
    fan_in: int
    fan_out: int
    edges: np.ndarray  # (bins + 1,) float64
    counts: np.ndarray  # (bins,) int64
    mean: float
    std: float


def first_layer_images(model: MLP) -> WeightImages:
    """The first Linear layer's weight rows (each 784 wide) as images, with a symmetric colour limit."""
    first = model.linears()[0]  # the output layer when there is no hidden layer: still 784 → 10
    weights = first.weight.detach().float().cpu().numpy()  # (units, 784)
    limit = float(np.quantile(np.abs(weights), COLOUR_QUANTILE))  # numpy: torch.quantile caps its input at 16M
    return WeightImages(linear_names(model)[0], weights.reshape(-1, 28, 28), limit)


def weight_histograms(model: MLP, bins: int = 40) -> list[WeightHistogram]:
    """A histogram of the weights (not the biases) of every Linear layer, input to output."""
    histograms = []
    for name, linear in zip(linear_names(model), model.linears(), strict=True):
        w = linear.weight.detach().double().cpu().flatten().numpy()
        counts, edges = np.histogram(w, bins=bins)
        histograms.append(WeightHistogram(name, linear.in_features, linear.out_features, edges, counts.astype(np.int64),
                                          float(w.mean()), float(w.std())))
    return histograms
