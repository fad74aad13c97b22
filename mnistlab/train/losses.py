"""Loss functions on logits, matching the tutorials' conventions (one-hot targets for mse/bce)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def model_outputs(logits: torch.Tensor, output: str) -> torch.Tensor:
    """What the network emits after its output activation (logits when output is 'none')."""
    if output == "sigmoid":
        return torch.sigmoid(logits)
    if output == "softmax":
        return torch.softmax(logits, dim=1)
    return logits


def one_hot(labels: torch.Tensor, classes: int, smoothing: float = 0.0, dtype=torch.float32) -> torch.Tensor:
    """(B,) int64 → (B, classes) targets, optionally smoothed towards uniform."""
    target = F.one_hot(labels, classes).to(dtype)
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    return target


def compute_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str, output: str,
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean loss over the batch.

    ce: softmax cross-entropy on the logits (for a softmax output this equals Keras's
        categorical cross-entropy on the probabilities); with a sigmoid output the outputs are
        normalised to sum to 1 first.
    mse: mean over B×classes of (output − one-hot)², output after the output activation.
    bce: binary cross-entropy of sigmoid/softmax outputs against one-hot (logits → sigmoid).
    """
    if loss == "ce":
        if output == "sigmoid":
            probs = torch.sigmoid(logits)
            log_probs = torch.log((probs / probs.sum(1, keepdim=True)).clamp_min(1e-12))
            target = one_hot(labels, logits.shape[1], label_smoothing, log_probs.dtype)
            return -(target * log_probs).sum(1).mean()
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    target = one_hot(labels, logits.shape[1], label_smoothing, logits.dtype)
    if loss == "mse":
        return F.mse_loss(model_outputs(logits, output), target)
    if loss == "bce":
        if output == "softmax":
            return F.binary_cross_entropy(torch.softmax(logits, 1).clamp(1e-7, 1 - 1e-7), target)
        return F.binary_cross_entropy_with_logits(logits, target)
    raise ValueError(f"unknown loss {loss!r}")
