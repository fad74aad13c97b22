"""t-SNE (scikit-learn's Barnes-Hut): a 2-D map that keeps each point's nearest neighbours.

The points are first reduced to their top 50 principal components, as scikit-learn advises for dense
data: the same neighbours, cheaper distances.
"""

from __future__ import annotations

import numpy as np
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from mnistlab.errors import ConfigError
from mnistlab.insight.projection import as_float64, pca

PCA_DIMS = 50
MIN_ITERATIONS = 250  # scikit-learn's floor: the first 250 steps are the early-exaggeration phase


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
    if iterations < MIN_ITERATIONS:
        raise ConfigError(f"t-SNE needs at least {MIN_ITERATIONS} iterations; got {iterations}.")
    scores = pca(x, min(PCA_DIMS, x.shape[1]))[0].numpy()
    start = scores[:, :2] / max(scores[:, 0].std(), 1e-12) * 1e-4 if init == "pca" else "random"
    # One thread: two took 0.5–2× as long as the load moved (2.9–21.6 s a call at N = 2,000, against 4.0–6.4 s),
    # and give a different map per thread count (`python -m mnistlab bench --only insight`).
    with threadpool_limits(1):
        y = TSNE(2, perplexity=min(perplexity, (n - 1) / 3), init=start, learning_rate="auto", max_iter=iterations,
                 random_state=seed).fit_transform(scores)
    return (y - y.mean(0)).astype(np.float32)
