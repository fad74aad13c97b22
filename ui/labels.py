"""How the dashboard spells the settings' choice values: 'adamw' is shown as AdamW."""

from __future__ import annotations

from typing import Any

CUSTOM = "custom"  # the preset (or augmentation recipe) picker's entry for "my own settings"
LABELS = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "leaky_relu": "LeakyReLU", "gelu": "GELU",
          "none": "none", "layer": "LayerNorm", "batch": "BatchNorm", "softmax": "softmax", "sgd": "SGD",
          "momentum": "SGD + momentum", "adam": "Adam", "adamw": "AdamW", "step": "step decay", "cosine": "cosine",
          "onecycle": "one-cycle", "ce": "cross-entropy", "mse": "mean squared error", "bce": "binary cross-entropy",
          "auto": "auto", "cpu": "CPU", "cuda": "CUDA", "torch": "PyTorch", "numpy": "NumPy (from scratch)",
          "before": "before the activation", "after": "after the activation",
          "affine": "affine (rotate, shift, zoom)", "flip": "flip", "elastic": "elastic", CUSTOM: "custom"}


def label(value: Any) -> str:
    """A choice as the controls show it; anything not in the table as it is."""
    return LABELS.get(value, str(value)) if isinstance(value, str) else str(value)
