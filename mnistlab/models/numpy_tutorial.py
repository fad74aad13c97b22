"""numpy.org's "Deep learning on MNIST" network, computed exactly as that tutorial computes it.

The tutorial (numpy/numpy-tutorials, content/tutorial-deep-learning-on-mnist.md) trains 784-100-10 in
float64, one image at a time, with one generator `rng = np.random.default_rng(seed)` that draws
`weights_1 = 0.2 * rng.random((784, 100)) - 0.1`, then `weights_2` the same way, then a dropout mask
`rng.integers(low=0, high=2, size=100)` per image. Its arithmetic, kept here operation for operation so
that its printed log comes out to the digit:

- no biases; hidden `relu(x @ W)`, then `*= mask * 2`; output `h @ W` with no activation;
- output error `label − output` (the gradient of ½Σ(label − output)², no factor 2, no mean);
- hidden error `(W_next @ error) * relu2deriv(h)` where `relu2deriv(h) = h >= 0`: 1 for *every* unit,
  since ReLU outputs are never negative (quirk 1), then `*= mask` without the ×2 (quirk 2);
- every layer's update `W += lr * outer(input, error)` from errors computed with the old weights.

Weights are kept as the tutorial keeps them, (in, out); `state_dict()` gives torch_mlp.MLP's (out, in)
keys with zero biases, so the run saves, evaluates and exports like any other. Deeper nets and batches
generalise it the obvious way (a mask per hidden layer with dropout; a batch's mean update).
"""

from __future__ import annotations

import numpy as np

from mnistlab.models.spec import MLPSpec


class TutorialNet:
    """The tutorial's bias-free ReLU perceptron in float64, trained by its own hand-written rule."""

    def __init__(self, spec: MLPSpec, rng: np.random.Generator):
        sizes = spec.sizes
        self.spec = spec
        self.rng = rng  # the tutorial's one generator: the init now, a dropout mask per image later
        self.weights = [0.2 * rng.random((fan_in, fan_out)) - 0.1 for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        hidden = len(spec.hidden)
        self.dropped = [spec.dropout > 0 and (spec.dropout_where == "all" or i == 0) for i in range(hidden)]
        self.last_grad_norms: list[float] = [0.0] * len(self.weights)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs (B, outputs) for pixels x (B, 784) in [0, 1], no dropout: the tutorial's evaluation."""
        h = x
        for w in self.weights[:-1]:
            h = np.dot(h, w)
            h = (h >= 0) * h
        return h @ self.weights[-1]

    def train_step(self, x: np.ndarray, target: np.ndarray, lr: float) -> tuple[float, np.ndarray]:
        """One update on x (B, 784) with one-hot targets (B, outputs); (summed squared error, outputs).

        A single image (B = 1) runs on 1-D vectors exactly as the tutorial's loop body does.
        """
        single = len(x) == 1
        h = x[0] if single else x
        inputs, masks = [], []
        for w, drop in zip(self.weights[:-1], self.dropped):
            inputs.append(h)
            h = np.dot(h, w)
            h = (h >= 0) * h
            mask = self.rng.integers(low=0, high=2, size=h.shape) if drop else None
            if mask is not None:
                h *= mask * 2
            masks.append(mask)
        inputs.append(h)
        out = np.dot(h, self.weights[-1])
        t = target[0] if single else target
        error = t - out
        loss = float(np.sum(error ** 2))
        errors = [error]
        for w, h_in, mask in zip(self.weights[:0:-1], inputs[:0:-1], masks[::-1]):
            delta = (np.dot(w, errors[-1]) if single else errors[-1] @ w.T) * (h_in >= 0)
            if mask is not None:
                delta *= mask
            errors.append(delta)
        errors.reverse()
        for i, (w, h_in, delta) in enumerate(zip(self.weights, inputs, errors)):
            step = np.outer(h_in, delta) if single else h_in.T @ delta / len(x)
            self.last_grad_norms[i] = float(np.linalg.norm(step))
            w += lr * step
        return loss, out[None] if single else out

    def state_dict(self) -> dict[str, np.ndarray]:
        """torch_mlp.MLP's keys and (out, in) shapes, float64, zero biases, identity pixel scaling."""
        state = {"pixel_mean": np.array(0.0), "pixel_std": np.array(1.0)}
        for index, w in zip(self.layer_indices(), self.weights):
            state[f"layers.{index}.weight"] = w.T.copy()
            state[f"layers.{index}.bias"] = np.zeros(w.shape[1])
        return state

    def load_state_dict(self, state: dict) -> None:
        """Weights back from `state_dict()` (arrays or tensors); biases must be zero: the tutorial has none."""
        for i, index in enumerate(self.layer_indices()):
            weight = np.asarray(state[f"layers.{index}.weight"], dtype=np.float64)
            if weight.shape != self.weights[i].T.shape:
                raise ValueError(f"layers.{index}.weight has shape {weight.shape}, expected {self.weights[i].T.shape}.")
            if np.any(np.asarray(state[f"layers.{index}.bias"]) != 0):
                raise ValueError("the numpy-tutorial recipe has no biases, but this state has non-zero ones.")
            self.weights[i] = weight.T.copy()

    def layer_indices(self) -> list[int]:
        """Positions of the Linear layers in torch_mlp.MLP.layers (Linear, ReLU[, Dropout] per hidden layer)."""
        indices, position = [], 0
        for drop in self.dropped:
            indices.append(position)
            position += 3 if drop else 2
        return [*indices, position]
