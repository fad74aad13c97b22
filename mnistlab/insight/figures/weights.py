"""Figures of the weights themselves: the first layer as images, and a histogram per layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.insight.figures.source import last_epoch, model_at
from mnistlab.insight.weights import WeightHistogram, first_layer_images, weight_histograms
from mnistlab.runs.handle import Run

HISTOGRAM_BINS = 40


@dataclass(frozen=True)
class WeightsFigure:
    """The weights into each unit of the first layer, one 28×28 image per unit."""

    epoch: int | None  # the epoch whose weights these are; None: the final model
    layer: str  # "layer 1", or "output" for a model with no hidden layer (one image per class)
    images: np.ndarray  # (units, 28, 28) float32; image i is the weight vector of unit i
    limit: float  # symmetric colour range: -limit (one colour) through 0 to +limit (the other)


def weights(run: Run, epoch: int | None = None) -> WeightsFigure:
    """The first-layer weight images of the model after `epoch` (None: the final model)."""
    images = first_layer_images(model_at(run, epoch))
    return WeightsFigure(epoch, images.layer, images.images, images.limit)


@dataclass(frozen=True)
class ActivationHistogram:
    """Distribution of one hidden layer's outputs, recorded by the trainer on its probe batch of training images."""

    layer: str
    edges: np.ndarray  # (bins + 1,) float64
    counts: np.ndarray  # (bins,) int64
    mean: float | None
    std: float | None


@dataclass(frozen=True)
class HistogramsFigure:
    """Weight histograms of every layer (from the model itself) and the recorded activation histograms."""

    epoch: int | None  # None: the final model
    layers: list[WeightHistogram]  # input to output
    activations: list[ActivationHistogram]  # hidden layers; [] when the run recorded none for this epoch


def _recorded_activations(run: Run, epoch: int | None) -> list[ActivationHistogram]:
    epoch = last_epoch(run) if epoch is None else epoch
    row = next((h for h in run.history(layer_stats=True) if h.get("epoch") == epoch
                and isinstance(h.get("layers"), list)), None)
    out = []
    for la in row["layers"] if row else []:
        hist = la.get("act_hist") if isinstance(la, dict) else None
        if isinstance(hist, dict) and "edges" in hist and "counts" in hist:
            out.append(ActivationHistogram(str(la.get("name")), np.asarray(hist["edges"], dtype=np.float64),
                                           np.asarray(hist["counts"], dtype=np.int64), la.get("act_mean"),
                                           la.get("act_std")))
    return out


def histograms(run: Run, epoch: int | None = None, bins: int = HISTOGRAM_BINS) -> HistogramsFigure:
    """Histograms of the model after `epoch` (None: the final model).

    Weights are counted from the model, so every saved epoch has them; activations need data, so they
    are the ones the trainer recorded at that epoch.
    """
    return HistogramsFigure(epoch, weight_histograms(model_at(run, epoch), bins), _recorded_activations(run, epoch))
