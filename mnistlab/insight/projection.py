"""PCA (scikit-learn): the linear 2-D map of a representation, with signs fixed so the picture is reproducible."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from mnistlab.errors import ConfigError


def as_float64(x) -> torch.Tensor:
    """An (N, D) array or tensor as a float64 CPU tensor (numpy views with negative strides included)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def pca(x, k: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, k) float64 scores and the (k,) share of variance each component explains.

    Signs are fixed so each component's largest-magnitude loading is positive (scikit-learn's rule):
    same data, same picture.
    """
    x = as_float64(x)
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"PCA needs at least 2 points as an (N, D) array; got shape {tuple(x.shape)}.")
    k_eff = min(k, *x.shape)
    # One thread: two took 0.7–8.7× as long (`python -m mnistlab bench --only insight`).
    with threadpool_limits(1), np.errstate(invalid="ignore"):  # constant data: 0 / 0 variance, made 0 below
        fitted = PCA(k_eff, random_state=0)
        scores = torch.from_numpy(fitted.fit_transform(x.numpy()))
    explained = torch.from_numpy(np.nan_to_num(fitted.explained_variance_ratio_))
    if k_eff < k:  # fewer points or features than components: pad with zeros
        scores = torch.cat([scores, scores.new_zeros(len(x), k - k_eff)], 1)
        explained = torch.cat([explained, explained.new_zeros(k - k_eff)])
    return scores, explained


def pca_2d(x) -> np.ndarray:
    """(N, 2) float32 coordinates on the two principal components of x (N, D)."""
    return pca(x, 2)[0].float().numpy()
