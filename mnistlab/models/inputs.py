"""How images enter a model: uint8 pixels become floats in [0, 1], in batches of EVAL_BATCH for whole splits."""

from __future__ import annotations

import torch

EVAL_BATCH = 10_000  # forward passes over a split in chunks of this many images


def to_inputs(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 in [0, 1] on the same device (the one scaling every door uses)."""
    return images.float().div_(255.0)
