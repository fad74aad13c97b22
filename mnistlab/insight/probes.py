"""Linear probes: how linearly separable the classes are in each layer's representation."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mnistlab.data.split import Split
from mnistlab.errors import ConfigError
from mnistlab.insight.layers import hidden_activations, representation_names
from mnistlab.insight.projection import as_float64
from mnistlab.models.torch_mlp import MLP

PROBE_STEPS = 100  # L-BFGS iterations: on MNIST features the test accuracy stops changing before 100
# Ridge on the weights (per sample): keeps the optimum finite when classes separate, and stops the pixel probe
# memorising rare pixels (MNIST, 5,000 images: 96% train / 91% test, against 99.5% / 90.5% at 1e-3).
PROBE_L2 = 1e-2


@dataclass(frozen=True)
class ProbeResult:
    """Accuracy of a linear classifier trained on one layer's activations."""

    layer: int  # 0 = pixels
    name: str  # "pixels", "layer 1", …
    width: int  # features at that layer
    train_accuracy: float
    test_accuracy: float


@dataclass(frozen=True)
class LinearProbe:
    """A fitted multinomial logistic regression on standardised features."""

    mean: torch.Tensor  # (D,)
    std: torch.Tensor  # (D,)
    weight: torch.Tensor  # (D, C)
    bias: torch.Tensor  # (C,); -inf for a class absent from the training labels

    def predict(self, feats) -> np.ndarray:
        x = (as_float64(feats) - self.mean) / self.std
        return (x @ self.weight + self.bias).argmax(1).numpy()

    def accuracy(self, feats, labels) -> float:
        labels = np.asarray(labels)
        return float((self.predict(feats) == labels).mean()) if len(labels) else 0.0


def fit_probe(feats, labels, steps: int = PROBE_STEPS, l2: float = PROBE_L2, num_classes: int = 10) -> LinearProbe:
    """Fit softmax regression (scikit-learn, L-BFGS) on standardised features; convex, so deterministic."""
    x = as_float64(feats).numpy()
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ConfigError(f"probe features must be (N, D) with one label each; "
                          f"got {tuple(x.shape)} and {len(y)} labels.")
    if len(np.unique(y)) < 2:
        raise ConfigError(f"a probe needs images of at least 2 classes; got only class {y[0]}.")
    # Standardise so one penalty suits pixels, ReLU and sigmoid features alike; constant (dead) units get scale 1.
    scaler = StandardScaler().fit(x)
    # The objective is mean cross-entropy + l2/2 ‖W‖²; scikit-learn's C multiplies the summed loss: C = 1 / (l2 N).
    model = LogisticRegression(C=1 / (l2 * len(x)), max_iter=steps)
    # One thread: two took 2.2–18× as long (medians; `python -m mnistlab bench --only insight`).
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # `steps` caps the fit on purpose
        model.fit(scaler.transform(x), y)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # scikit-learn keeps one logit for two classes: the second's, against 0
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weight = np.zeros((x.shape[1], num_classes))
    bias = np.full(num_classes, -np.inf)
    weight[:, model.classes_], bias[model.classes_] = coef.T, intercept
    return LinearProbe(torch.from_numpy(scaler.mean_), torch.from_numpy(scaler.scale_), torch.from_numpy(weight),
                       torch.from_numpy(bias))


def linear_probe(train_feats, train_labels, test_feats, test_labels, steps: int = PROBE_STEPS) -> float:
    """Test accuracy of a linear classifier fitted on `train_feats`.

    It measures how linearly separable the classes are in that representation: pixels already give
    ~91% on MNIST (5,000 training images), and a trained network's hidden layers give more (~97%).
    """
    return fit_probe(train_feats, train_labels, steps).accuracy(test_feats, test_labels)


def _sample(split: Split, n: int, seed: int) -> Split:
    return split.subset(min(n, len(split)), "stratified", seed) if n < len(split) else split


def probe_layers(model: MLP, train_split: Split, test_split: Split, n_train: int = 5000, n_test: int = 2000,
                 steps: int = PROBE_STEPS, seed: int = 0) -> list[ProbeResult]:
    """A linear probe per representation (pixels, then each hidden layer) on class-balanced samples."""
    if n_train < 10 or n_test < 1:
        raise ConfigError(f"probes need at least 10 training and 1 test image; got {n_train} and {n_test}.")
    train, test = _sample(train_split, n_train, seed), _sample(test_split, n_test, seed)
    results = []
    for layer, name in enumerate(representation_names(model)):
        train_x = hidden_activations(model, train.images, layer)
        test_x = hidden_activations(model, test.images, layer)
        probe = fit_probe(train_x, train.labels.cpu().numpy(), steps)
        results.append(ProbeResult(layer, name, train_x.shape[1], probe.accuracy(train_x, train.labels.cpu().numpy()),
                                   probe.accuracy(test_x, test.labels.cpu().numpy())))
    return results
