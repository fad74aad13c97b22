"""Which pixels matter: saliency maps, and the smallest FGSM step that changes a prediction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnistlab.errors import ConfigError
from mnistlab.insight.layers import as_inputs, eval_mode, model_device
from mnistlab.models.torch_mlp import MLP, output_probabilities
from mnistlab.train.losses import compute_loss

FGSM_GRID = 200  # ε values tried at once on [0, eps_max]; bisection then narrows the first flip
FGSM_BISECT = 24  # halvings of one grid step: 0.0025 / 2²⁴ ≈ 1.5e-10, below float32's resolution near 0.5


@dataclass(frozen=True)
class FgsmResult:
    """The smallest sign-of-gradient step that makes the model wrong, or None if none up to eps_max."""

    epsilon: float | None  # in [0, 1] pixel units; 0 when already wrong, None when never flipped
    perturbed_image: np.ndarray  # (28, 28) uint8: the image at epsilon (at eps_max when never flipped)
    new_label: int  # the prediction on the perturbed image
    new_probabilities: np.ndarray  # (10,) float32
    label: int  # the class attacked (the true label, or the original prediction)
    probabilities: np.ndarray  # (10,) float32 on the original image

    @property
    def flipped(self) -> bool:
        return self.epsilon is not None


def _one_image(image) -> torch.Tensor:
    x = as_inputs(np.asarray(image)[None] if not isinstance(image, torch.Tensor) else image[None])
    if x.shape != (1, 784):
        raise ConfigError(f"expected one 28×28 image; got shape {tuple(np.shape(image))}.")
    return x


def saliency_map(model: MLP, image28, target: int | None = None) -> np.ndarray:
    """(28, 28) float32 ∂ logit[target] / ∂ pixel, pixels in [0, 1]; target defaults to the predicted class."""
    x = _one_image(image28).to(model_device(model)).requires_grad_(True)
    with eval_mode(model):
        logits = model(x)  # (1, 10)
        target = int(logits.argmax(1)) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, target], x)
    return grad.reshape(28, 28).float().cpu().numpy()


@torch.no_grad()
def _predict(model: MLP, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(x)
    return logits.argmax(1), output_probabilities(logits, model.spec.output)


def fgsm_flip(model: MLP, image28, label: int | None = None, eps_max: float = 0.5, loss: str = "ce") -> FgsmResult:
    """Smallest ε ≤ eps_max for which clip(x + ε·sign(∇x loss), 0, 1) is predicted as anything but `label`.

    The direction is the one-step FGSM direction at x (Goodfellow et al. 2015). ε is found on a grid
    of FGSM_GRID steps, then by bisection inside the first step that flips. `label` defaults to the
    model's own prediction; if the model already gets `label` wrong, ε is 0.
    """
    if not 0 < eps_max <= 1:
        raise ConfigError(f"eps_max must be in (0, 1] (pixel units); got {eps_max}.")
    device = model_device(model)
    x0 = _one_image(image28).to(device)  # (1, 784) in [0, 1]
    with eval_mode(model):
        pred0, probs0 = _predict(model, x0)
        label = int(pred0) if label is None else int(label)
        if int(pred0) != label:
            return FgsmResult(0.0, _to_uint8(x0), int(pred0), probs0[0].cpu().numpy(), label, probs0[0].cpu().numpy())
        x = x0.clone().requires_grad_(True)
        target = torch.tensor([label], device=device)
        (grad,) = torch.autograd.grad(compute_loss(model(x), target, loss, model.spec.output), x)
        direction = grad.sign()  # (1, 784)

        def step(eps: torch.Tensor) -> torch.Tensor:  # (E,) → (E, 784) perturbed images
            return (x0 + eps[:, None] * direction).clamp(0, 1)

        grid = torch.linspace(0, eps_max, FGSM_GRID + 1, device=device, dtype=torch.float64)[1:]
        preds, _ = _predict(model, step(grid).float())
        flips = torch.nonzero(preds != label).flatten()
        if len(flips) == 0:
            last = step(grid[-1:]).float()
            pred, probs = _predict(model, last)
            return FgsmResult(None, _to_uint8(last), int(pred), probs[0].cpu().numpy(), label, probs0[0].cpu().numpy())
        i = int(flips[0])
        lo, hi = (float(grid[i - 1]) if i > 0 else 0.0), float(grid[i])  # not flipped at lo, flipped at hi
        for _ in range(FGSM_BISECT):
            mid = (lo + hi) / 2
            pred, _ = _predict(model, step(torch.tensor([mid], device=device, dtype=torch.float64)).float())
            lo, hi = (lo, mid) if int(pred) != label else (mid, hi)
        perturbed = step(torch.tensor([hi], device=device, dtype=torch.float64)).float()
        pred, probs = _predict(model, perturbed)
    return FgsmResult(hi, _to_uint8(perturbed), int(pred), probs[0].cpu().numpy(), label, probs0[0].cpu().numpy())


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 784) floats in [0, 1] → (28, 28) uint8 for display (rounding can undo a flip right at the boundary)."""
    return (x.reshape(28, 28) * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
