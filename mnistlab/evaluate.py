"""Evaluate a model on a split: loss, accuracy, per-class accuracy, confusion, predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnistlab.data.split import Split
from mnistlab.models.inputs import EVAL_BATCH as EVAL_BATCH  # re-exported for the callers that batch splits
from mnistlab.models.inputs import to_inputs
from mnistlab.models.torch_mlp import MLP, eval_mode, output_probabilities
from mnistlab.train.losses import compute_loss


@dataclass(frozen=True)
class Evaluation:
    """Metrics and per-sample predictions of one model on one split."""

    loss: float
    accuracy: float
    per_class_accuracy: list[float]
    confusion: np.ndarray  # (10, 10) int64, rows = true class, columns = predicted
    predictions: np.ndarray  # (N,) int64
    probabilities: np.ndarray  # (N, 10) float32, rows sum to 1
    labels: np.ndarray  # (N,) int64
    classes: tuple[str, ...]

    def summary(self) -> dict:
        """The JSON-ready metrics (no per-sample arrays)."""
        return {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion": self.confusion.tolist(),
            "classes": list(self.classes),
            "count": int(len(self.labels)),
        }

    @property
    def confidence(self) -> np.ndarray:
        """Probability the model gave its own prediction, (N,)."""
        return self.probabilities[np.arange(len(self.predictions)), self.predictions]

    def mistakes(self, limit: int | None = None) -> np.ndarray:
        """Indices of misclassified samples, most confident mistakes first."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        order = np.argsort(-self.confidence[wrong], kind="stable")
        return wrong[order][:limit]

    def cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices of samples of `true_class` predicted as `predicted_class` (a confusion cell)."""
        return cell_indices(self.labels, self.predictions, true_class, predicted_class)

    def top_k(self, index: int, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable classes for one sample, as (class, probability)."""
        probs = self.probabilities[index]
        best = np.argsort(-probs, kind="stable")[:k]
        return [(int(c), float(probs[c])) for c in best]


def cell_indices(labels: np.ndarray, predictions: np.ndarray, true_class: int, predicted_class: int) -> np.ndarray:
    """Indices of the samples whose label is `true_class` and prediction `predicted_class`."""
    return np.flatnonzero((np.asarray(labels) == true_class) & (np.asarray(predictions) == predicted_class))


def worst_cell(confusion: np.ndarray) -> tuple[int, int]:
    """(true, predicted) of the most frequent mistake; the fullest diagonal cell when there is none."""
    off = np.array(confusion, dtype=np.int64)  # a copy: the caller's matrix stays as it is
    np.fill_diagonal(off, -1)
    if off.max() <= 0:
        c = int(np.argmax(np.diag(confusion)))
        return c, c
    true, pred = np.unravel_index(int(off.argmax()), off.shape)
    return int(true), int(pred)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(num_classes, num_classes) counts, rows = true class."""
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


@torch.no_grad()
def evaluate(model: MLP, split: Split, loss: str = "ce", device: torch.device | str | None = None) -> Evaluation:
    """Run `model` over `split` in eval mode and collect every metric the dashboard shows."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    probs, loss_sum = [], 0.0
    with eval_mode(model):
        for images, labels in zip(split.images.split(EVAL_BATCH), split.labels.split(EVAL_BATCH)):
            x, y = to_inputs(images.to(device)), labels.to(device)
            logits = model(x)
            loss_sum += float(compute_loss(logits, y, loss, model.spec.output)) * len(y)
            probs.append(output_probabilities(logits, model.spec.output).float().cpu())
    probabilities = torch.cat(probs).numpy() if probs else np.zeros((0, 10), np.float32)
    labels = split.labels.cpu().numpy()
    predictions = probabilities.argmax(1).astype(np.int64)
    confusion = confusion_matrix(labels, predictions, len(split.classes))
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    n = max(len(labels), 1)
    return Evaluation(loss_sum / n, float((predictions == labels).sum() / n), per_class.tolist(), confusion,
                      predictions, probabilities, labels, split.classes)
