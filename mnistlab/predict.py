"""Classify a user's image with a stored run's model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from mnistlab.imageprep import PreparedImage, prepare_image, style_for
from mnistlab.models.inputs import to_inputs
from mnistlab.models.torch_mlp import MLP, eval_mode, output_probabilities
from mnistlab.runs.store import RunStore


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class Prediction:
    """The model's answer for one 28×28 image: the top class and every class's probability."""

    label: int
    class_name: str
    probabilities: tuple[float, ...]  # one per class, sums to 1
    classes: tuple[str, ...]
    image: np.ndarray  # (28, 28) uint8, what the model saw
    prepared: PreparedImage | None = None  # the user's image before and after preparation, when one was given

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k most probable classes as (name, probability), most probable first."""
        order = np.argsort(-np.asarray(self.probabilities), kind="stable")[:k]
        return [(self.classes[i], self.probabilities[i]) for i in order]


@torch.no_grad()
def predict_image(model: MLP, image28: np.ndarray, classes: tuple[str, ...] | list[str]) -> Prediction:
    """Apply `model` to one uint8 28×28 image with the training inputs' scaling (uint8 / 255)."""
    image28 = np.asarray(image28)
    assert image28.shape == (28, 28) and image28.dtype == np.uint8, f"expected uint8 (28, 28), got {image28.dtype} {image28.shape}"
    assert len(classes) == model.spec.sizes[-1], f"{len(classes)} class names for {model.spec.sizes[-1]} outputs"
    device = next(model.parameters()).device
    x = to_inputs(torch.from_numpy(image28.copy()).to(device)).unsqueeze(0)  # (1, 28, 28)
    with eval_mode(model):  # dropout off, batch norm on its running statistics; standardisation is inside
        probs = output_probabilities(model(x), model.spec.output)[0].double().cpu().numpy()
    label = int(probs.argmax())
    return Prediction(label, classes[label], tuple(float(p) for p in probs), tuple(classes), image28)


def load_predictor(store: RunStore, run_id: str) -> tuple[MLP, tuple[str, ...]]:
    """A run's saved model (safetensors only, on the CPU) and its class names; clear errors if it has none."""
    run = store.open(run_id)
    return run.model(device="cpu"), run.classes


def predict_run(store: RunStore, run_id: str, source: str | Path | bytes | BinaryIO,
                name: str | None = None) -> Prediction:
    """Prepare an image file MNIST-style and classify it with a stored run's model."""
    model, classes = load_predictor(store, run_id)
    dataset = (store.open(run_id).config_dict.get("config") or {}).get("dataset", "mnist")
    prepared = prepare_image(source, name, style_for(dataset))
    return replace(predict_image(model, prepared.image, classes), prepared=prepared)
