"""Walk an `MLP` layer by layer: layer names, inputs as the model sees them, hidden activations."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mnistlab.errors import ConfigError
from mnistlab.evaluate import EVAL_BATCH
from mnistlab.models.torch_mlp import MLP
from mnistlab.models.torch_mlp import eval_mode as eval_mode  # re-exported: insight's callers use it
from mnistlab.train.layer_stats import ACTIVATIONS, layer_names

NORMS = (nn.LayerNorm, nn.BatchNorm1d)


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def as_inputs(images, device: torch.device | None = None) -> torch.Tensor:
    """uint8 (N, 28, 28) images (tensor or array) → float32 (N, 784) in [0, 1]; floats are taken as [0, 1]."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
    return x.reshape(len(x), -1).to(device or x.device)


def linear_names(model: MLP) -> list[str]:
    """Names of the weight layers, matching the per-layer training stats: 'layer 1' … 'output'."""
    return layer_names(len(model.spec.hidden) + 1)


def representation_names(model: MLP) -> list[str]:
    """What `hidden_activations` can return: 'pixels' (layer 0), then 'layer 1' … one per hidden layer."""
    return ["pixels"] + [f"layer {i + 1}" for i in range(len(model.spec.hidden))]


@torch.no_grad()
def hidden_activations(model: MLP, images, layer: int) -> np.ndarray:
    """(N, width) float32 outputs of hidden layer `layer` (after norm and activation), in eval mode.

    layer 0 is the input pixels in [0, 1] (before standardisation), a baseline for the probes.
    """
    depth = len(model.spec.hidden)
    if not 0 <= layer <= depth:
        raise ConfigError(f"layer must be between 0 (pixels) and {depth} for {model.spec.describe()}; got {layer}.")
    device = model_device(model)
    chunks = []
    with eval_mode(model):
        for batch in as_inputs(images).split(EVAL_BATCH):
            x = batch.to(device)
            if layer > 0:
                x = (x - model.pixel_mean) / model.pixel_std if model.spec.scales_inputs else x
                seen = 0
                # A norm placed after the activation (norm_where "after") belongs to the layer it follows.
                norm_after = model.spec.norm != "none" and model.spec.norm_where == "after"
                for module in model.layers:
                    if seen == layer and not (norm_after and isinstance(module, NORMS)):
                        break
                    x = module(x)
                    if isinstance(module, ACTIVATIONS):
                        seen += 1
            chunks.append(x.float().cpu())
    if not chunks:
        return np.zeros((0, model.spec.sizes[layer]), np.float32)
    return torch.cat(chunks).numpy()
