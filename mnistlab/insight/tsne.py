"""t-SNE in torch: a 2-D map that keeps each point's nearest neighbours (van der Maaten & Hinton 2008).

Affinities use each point's 3×perplexity nearest neighbours (as Barnes-Hut t-SNE does); the
repulsion is exact and O(N²), computed in row blocks that stay in cache. Meant for ≤ ~3,000 points.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mnistlab.errors import ConfigError
from mnistlab.insight.projection import as_float64, pca
from mnistlab.train.threads import cpu_threads

PCA_DIMS = 50  # neighbours are found on the top 50 principal components: same neighbours, cheaper distances
EXAGGERATION = 12.0  # P is multiplied by this for the first EXAGGERATE_ITERS steps, to form clusters early
EXAGGERATE_ITERS = 250
BLOCK = 128  # rows of the (BLOCK, N) repulsion tile: ~1 MB for N = 2,000, so it stays in cache


def _neighbour_affinities(x: torch.Tensor, perplexity: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Symmetric joint P as (rows, cols, values) over each point's k = 3×perplexity nearest neighbours."""
    n = len(x)
    k = min(n - 1, int(3 * perplexity) + 1)
    d = torch.cdist(x, x).pow_(2)  # (N, N)
    d.fill_diagonal_(math.inf)
    dist, cols = d.topk(k, dim=1, largest=False)  # (N, k), nearest first
    dist = dist - dist[:, :1]  # a per-row shift leaves that row's P unchanged and keeps exp() in range
    dist = dist / dist.mean().clamp_min(1e-12)
    target = math.log(perplexity)
    lo = torch.full((n, 1), -30.0, dtype=dist.dtype)  # bisection on log β, every row at once
    hi = torch.full((n, 1), 30.0, dtype=dist.dtype)
    for _ in range(60):
        beta = ((lo + hi) / 2).exp()
        w = torch.exp(-dist * beta)
        total = w.sum(1, keepdim=True)
        entropy = total.log() + beta * (dist * w).sum(1, keepdim=True) / total
        too_flat = entropy > target  # too many effective neighbours: sharpen (raise β)
        lo = torch.where(too_flat, (lo + hi) / 2, lo)
        hi = torch.where(too_flat, hi, (lo + hi) / 2)
    w = torch.exp(-dist * ((lo + hi) / 2).exp())
    p_cond = w / w.sum(1, keepdim=True)
    rows = torch.arange(n).repeat_interleave(k)
    # Symmetrise: P_ij = (p_j|i + p_i|j) / 2N, summing the pairs found from both ends.
    keys = torch.cat([rows * n + cols.reshape(-1), cols.reshape(-1) * n + rows])
    pairs, where = torch.unique(keys, return_inverse=True)  # sorted by row, then column
    joint = torch.zeros(len(pairs), dtype=p_cond.dtype).index_add_(0, where, p_cond.reshape(-1).repeat(2)) / (2 * n)
    return pairs // n, pairs % n, joint.float()


def _gradient(y: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, p: torch.Tensor, alpha: float) -> torch.Tensor:
    """∂KL/∂y (N, 2) = 4 [α Σ_j p_ij w_ij (y_i − y_j) − Σ_j w_ij² (y_i − y_j) / Z], w_ij = 1 / (1 + ‖y_i − y_j‖²).

    rows, cols, p: P's non-zero pairs and their joint probabilities, (M,) each.
    """
    n = len(y)
    y0, y1 = y[:, 0].contiguous(), y[:, 1].contiguous()  # 1-D gathers are ~3× faster than row gathers
    d0 = y0.index_select(0, rows) - y0.index_select(0, cols)  # (M,)
    d1 = y1.index_select(0, rows) - y1.index_select(0, cols)
    pw = p / (1 + d0 * d0 + d1 * d1)
    attract = torch.stack([y0.new_zeros(n).index_add_(0, rows, pw * d0),
                           y0.new_zeros(n).index_add_(0, rows, pw * d1)], 1)
    sq1 = y.pow(2).sum(1) + 1  # (N,)
    ones = torch.ones_like(y0)
    repel = torch.empty(n, 3, dtype=y.dtype)  # Σ_j w² y_j (2 columns) and Σ_j w², per row
    z = y.new_zeros(())
    for a in range(0, n, BLOCK):
        b = min(a + BLOCK, n)
        w = torch.addmm(sq1[None, :], y[a:b], y.T, alpha=-2).add_(sq1[a:b, None] - 1).reciprocal_()  # (B, N)
        w.diagonal(offset=a).zero_()
        z += torch.mv(w, ones).sum()
        w.mul_(w)
        # Matrix-vector products: MKL's skinny (B, N) @ (N, 3) matmul is ~5× slower than three of these.
        repel[a:b, 0], repel[a:b, 1], repel[a:b, 2] = torch.mv(w, y0), torch.mv(w, y1), torch.mv(w, ones)
    repulse = repel[:, 2:] * y - repel[:, :2]
    return 4 * (alpha * attract - repulse / z)


def tsne_2d(x, seed: int = 0, perplexity: float = 30.0, iterations: int = 500, init: str = "pca") -> np.ndarray:
    """(N, 2) float32 t-SNE embedding of x (N, D).

    init 'pca' starts from the scaled PCA map: the global layout is kept and the result depends on
    the data only. init 'random' draws the start from `seed`.
    """
    x = as_float64(x)
    n = len(x)
    if n < 5:
        raise ConfigError(f"t-SNE needs at least 5 points; got {n}.")
    if init not in ("pca", "random"):
        raise ConfigError(f"t-SNE init must be 'pca' or 'random'; got {init!r}.")
    perplexity = min(perplexity, (n - 1) / 3)  # each point needs ~3×perplexity neighbours
    # One thread: ~25 small ops per step, and with the other core busy two-thread hand-offs made it 20× slower.
    with cpu_threads(1):
        return _embed(x, seed, perplexity, iterations, init)


def _embed(x: torch.Tensor, seed: int, perplexity: float, iterations: int, init: str) -> np.ndarray:
    n = len(x)
    scores, _ = pca(x, min(PCA_DIMS, x.shape[1]))
    rows, cols, p = _neighbour_affinities(scores, perplexity)
    if init == "pca":
        y = scores[:, :2].float()
        y = y / y[:, 0].std().clamp_min(1e-12) * 1e-4
    else:
        y = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 1e-4
    lr = max(n / EXAGGERATION / 4, 50.0)  # the "auto" learning rate of Belkina et al. 2019
    update, gains = torch.zeros_like(y), torch.ones_like(y)
    for it in range(iterations):
        exaggerate = it < EXAGGERATE_ITERS
        grad = _gradient(y, rows, cols, p, EXAGGERATION if exaggerate else 1.0)
        # Delta-bar-delta gains: speed up coordinates whose gradient keeps its sign.
        gains = torch.where(torch.sign(grad) != torch.sign(update), gains + 0.2, gains * 0.8).clamp_min(0.01)
        update = (0.5 if exaggerate else 0.8) * update - lr * gains * grad
        y = y + update
    return (y - y.mean(0)).numpy()
