"""Figures that run test images through the network: projections, linear probes, saliency and FGSM.

Each samples the dataset's full splits (see `source.full_split`), with a fixed seed: the same images for
every run and every epoch, so pictures can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.evaluate import Evaluation, evaluate
from mnistlab.insight.confusion import confusion_at
from mnistlab.insight.figures.source import model_at
from mnistlab.insight.layers import hidden_activations, representation_names
from mnistlab.insight.probes import ProbeResult, probe_layers
from mnistlab.insight.projection import pca_2d
from mnistlab.insight.saliency import FgsmResult, fgsm_flip, saliency_map
from mnistlab.insight.tsne import tsne_2d
from mnistlab.runs.handle import Run

PROJECTION_POINTS = 2000  # test images in a PCA / t-SNE plot: enough to see clusters, t-SNE in seconds
MIN_POINTS = 5
PROBE_TRAIN, PROBE_TEST = 5000, 2000  # class-balanced samples a linear probe is fitted and scored on
METHODS = ("pca", "tsne")


def representations(run: Run, epoch: int | None = None) -> list[str]:
    """What a projection or probe can look at: 'pixels' (layer 0), then 'layer 1' … one per hidden layer."""
    return representation_names(model_at(run, epoch))


def balanced_sample(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Ascending indices of `n` items, as many of every class as it has to give (±1), drawn with `seed`."""
    labels = labels.cpu()
    if n >= len(labels):
        return torch.arange(len(labels))
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    shuffled = labels[perm]
    rank = torch.empty_like(perm)  # each shuffled item's place among the items of its class
    for c in shuffled.unique():
        members = shuffled == c
        rank[members] = torch.arange(int(members.sum()))
    # Every class's first item, then every class's second, …: ties keep the shuffled order.
    return perm[torch.argsort(rank, stable=True)][:n].sort().values


@dataclass(frozen=True)
class ProjectionFigure:
    """A 2-D map of one representation of a class-balanced sample of the test images."""

    epoch: int | None  # None: the final model
    layer: int  # 0 = pixels
    name: str  # "pixels", "layer 1", …
    method: str  # "pca" | "tsne"
    points: np.ndarray  # (N, 2) float32
    labels: np.ndarray  # (N,) int64 true classes
    indices: np.ndarray  # (N,) int64 test-image numbers, ascending
    classes: list[str]


def projection(run: Run, test: Split, epoch: int | None = None, layer: int | None = None, method: str = "pca",
               points: int = PROJECTION_POINTS, seed: int = 0) -> ProjectionFigure:
    """PCA or t-SNE of hidden layer `layer` (default the last; 0 = pixels) on `points` test images."""
    if method not in METHODS:
        raise ConfigError(f"projection method must be one of {', '.join(METHODS)}; got {method!r}.")
    if points < MIN_POINTS:
        raise ConfigError(f"a projection needs at least {MIN_POINTS} points; got {points}.")
    model = model_at(run, epoch)
    layer = len(model.spec.hidden) if layer is None else layer
    indices = balanced_sample(test.labels, points, seed)
    sample = test.take(indices)
    feats = hidden_activations(model, sample.images, layer)  # (N, width); ConfigError for a layer it lacks
    xy = tsne_2d(feats, seed=seed) if method == "tsne" else pca_2d(feats)
    return ProjectionFigure(epoch, layer, representation_names(model)[layer], method, xy,
                            sample.labels.cpu().numpy(), indices.numpy(), list(test.classes))


@dataclass(frozen=True)
class ProbesFigure:
    """A linear probe per representation: how linearly separable the classes are at each layer."""

    epoch: int | None
    probes: list[ProbeResult]  # pixels first, then each hidden layer
    train_images: int  # class-balanced sample of the full training split each probe is fitted on (seed 0)
    test_images: int  # class-balanced sample of the full test split it is scored on (seed 0)


def probes(run: Run, train: Split, test: Split, epoch: int | None = None, n_train: int = PROBE_TRAIN,
           n_test: int = PROBE_TEST, seed: int = 0) -> ProbesFigure:
    """Linear probes of the model after `epoch` on class-balanced samples of the full train and test splits."""
    results = probe_layers(model_at(run, epoch), train, test, n_train, n_test, seed=seed)
    return ProbesFigure(epoch, results, min(n_train, len(train)), min(n_test, len(test)))


@dataclass(frozen=True)
class SaliencyFigure:
    """One test image: the model's answer, which pixels drive it, and the smallest FGSM step that fools it."""

    epoch: int | None
    index: int  # test-image number
    label: int  # true class
    prediction: int
    probabilities: np.ndarray  # (classes,) float32 on the image
    image: np.ndarray  # (28, 28) uint8
    saliency: np.ndarray  # (28, 28) float32 ∂ logit[prediction] / ∂ pixel, pixels in [0, 1]
    fgsm: FgsmResult  # attacking the true class along the gradient of the run's own loss

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable classes as (class, probability), most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(c), float(self.probabilities[c])) for c in order]


def saliency(run: Run, test: Split, index: int, epoch: int | None = None) -> SaliencyFigure:
    """Saliency and FGSM of test image `index` for the model after `epoch` (None: the final model).

    FGSM steps along the gradient of the loss the run was trained on (cross-entropy, or squared error):
    the direction that most hurts the model by its own measure.
    """
    if not 0 <= index < len(test):
        raise ConfigError(f"the test image number must be between 0 and {len(test) - 1}; got {index}.")
    model = model_at(run, epoch)
    image, label = test.images[index].cpu().numpy(), int(test.labels[index])
    attack = fgsm_flip(model, image, label, loss=run.config.loss)
    return SaliencyFigure(epoch, index, label, int(np.argmax(attack.probabilities)), attack.probabilities, image,
                          saliency_map(model, image), attack)


def epoch_evaluation(run: Run, test: Split, epoch: int) -> Evaluation:
    """The model after `epoch` on the test images the run scored then (as many as its recorded confusion counts)."""
    n = int(confusion_at(run.history(layer_stats=True), epoch).sum())
    scored = test.first(n) if 0 < n < len(test) else test
    return evaluate(model_at(run, epoch), scored, loss=run.config.loss)
