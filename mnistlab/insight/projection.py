"""PCA: the linear 2-D map of a representation, with signs fixed so the picture is reproducible."""

from __future__ import annotations

import numpy as np
import torch

from mnistlab.errors import ConfigError
from mnistlab.train.threads import cpu_threads


def as_float64(x) -> torch.Tensor:
    """An (N, D) array or tensor as a float64 CPU tensor (numpy views with negative strides included)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def pca(x, k: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, k) float64 scores and the (k,) share of variance each component explains.

    Signs are fixed so each component's largest-magnitude loading is positive: same data, same picture.
    """
    x = as_float64(x)
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"PCA needs at least 2 points as an (N, D) array; got shape {tuple(x.shape)}.")
    x = x - x.mean(0)
    with cpu_threads(1):  # LAPACK on two threads ran 40× slower (10 s vs 0.2 s) with the other core busy
        _, s, vh = torch.linalg.svd(x, full_matrices=False)  # vh: (min(N, D), D), rows are components
    k_eff = min(k, vh.shape[0])
    vh = vh[:k_eff]
    flip = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))  # (k, 1)
    vh = vh * torch.where(flip == 0, torch.ones_like(flip), flip)
    scores = x @ vh.T
    total = s.pow(2).sum()
    explained = s[:k_eff].pow(2) / total if total > 0 else torch.zeros(k_eff, dtype=torch.float64)
    if k_eff < k:  # fewer points or features than components: pad with zeros
        scores = torch.cat([scores, scores.new_zeros(len(x), k - k_eff)], 1)
        explained = torch.cat([explained, explained.new_zeros(k - k_eff)])
    return scores, explained


def pca_2d(x) -> np.ndarray:
    """(N, 2) float32 coordinates on the two principal components of x (N, D)."""
    return pca(x, 2)[0].float().numpy()
