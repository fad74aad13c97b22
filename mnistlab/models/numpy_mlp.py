"""A from-scratch NumPy MLP: forward, hand-written backward and SGD, with torch-compatible weights.

The layers mirror `mnistlab.models.torch_mlp.MLP` one for one (Linear, activation, Dropout…), so
`state_dict()` has the same keys (`layers.0.weight`, …) and the weights load into the torch model.

Loss conventions, identical to `mnistlab.train.losses.compute_loss` (t is the one-hot target, smoothed
to t·(1 − ε) + ε/10 when label_smoothing ε > 0, as the torch engine does for every loss):
- "ce": output "none"/"softmax": mean softmax cross-entropy of the logits (`F.cross_entropy`);
  output "sigmoid": mean −Σ t_k log p_k of the normalised sigmoid p_k = σ(z_k) / Σ_j σ(z_j)
  (the probabilities `predict_proba` and `output_probabilities` report).
- "mse": mean over all B×10 elements of (o − t)², o = σ(z), softmax(z) or z by output
  (`F.mse_loss(o, t)`), so its gradient is 2(o − t)/(10B): 1/10 of the "Σ(o − t)²/2" tutorials'.
SGD's weight decay is torch's coupled L2: ∇p + wd·p.
"""

from __future__ import annotations

import numpy as np

from mnistlab.models.spec import MLPSpec

LOSSES = ("ce", "mse")
ACTIVATIONS = ("relu", "sigmoid")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) written with tanh, which never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row max for stability."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Linear:
    """y = x Wᵀ + b, with W stored (out, in) as torch does."""

    def __init__(self, fan_in: int, fan_out: int, init: str, rng: np.random.Generator, dtype):
        if init == "torch":  # nn.Linear: kaiming_uniform(a=√5) weights and biases, both ±1/√fan_in
            bound = 1 / np.sqrt(fan_in)
            weight = rng.uniform(-bound, bound, (fan_out, fan_in))
            bias = rng.uniform(-bound, bound, fan_out)
        else:
            if init == "glorot_uniform":
                bound = np.sqrt(6 / (fan_in + fan_out))
                weight = rng.uniform(-bound, bound, (fan_out, fan_in))
            elif init == "he_uniform":
                bound = np.sqrt(6 / fan_in)
                weight = rng.uniform(-bound, bound, (fan_out, fan_in))
            elif init == "he_normal":
                weight = rng.normal(0, np.sqrt(2 / fan_in), (fan_out, fan_in))
            else:
                raise AssertionError(f"unknown init {init!r}")
            bias = np.zeros(fan_out)
        self.weight = weight.astype(dtype)  # (out, in)
        self.bias = bias.astype(dtype)  # (out,)

    def __repr__(self) -> str:
        return f"Linear({self.weight.shape[1]}, {self.weight.shape[0]})"

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> np.ndarray:
        self.x = x  # (B, in), kept for the weight gradient
        return x @ self.weight.T + self.bias  # (B, out)

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Store dL/dW, dL/db from dL/dy (B, out); return dL/dx (B, in) unless `input_grad` is False."""
        # (out, in); for one sample it is an outer product, and BLAS's K=1 matmul is ~4× slower than `*`
        self.grad_weight = grad.T @ self.x if len(grad) > 1 else grad.T * self.x
        self.grad_bias = grad.sum(axis=0)  # (out,)
        return grad @ self.weight if input_grad else None

    def grads(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.weight, self.grad_weight), (self.bias, self.grad_bias)]


class ReLU:
    """max(0, x); the gradient passes where x > 0."""

    def __repr__(self) -> str:
        return "ReLU()"

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> np.ndarray:
        self.out = np.maximum(x, 0)  # (B, n)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * (self.out > 0)

    def grads(self) -> list:
        return []


class Sigmoid:
    """σ(x) = 1 / (1 + e⁻ˣ); σ' = σ(1 − σ)."""

    def __repr__(self) -> str:
        return "Sigmoid()"

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> np.ndarray:
        self.out = _sigmoid(x)  # (B, n)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.out * (1 - self.out)

    def grads(self) -> list:
        return []


class Dropout:
    """Inverted dropout: zero each unit with probability p while training, scale the rest by 1/(1−p)."""

    def __init__(self, p: float):
        self.p = p
        self.mask: np.ndarray | None = None  # (B, n) of 0 or 1/(1−p), drawn by the last training forward

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> np.ndarray:
        if not train:
            self.mask = None
            return x
        self.mask = (rng.random(x.shape, dtype=x.dtype) >= self.p) / x.dtype.type(1 - self.p)
        return x * self.mask

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad if self.mask is None else grad * self.mask

    def grads(self) -> list:
        return []


class NumpyMLP:
    """784 → hidden… → 10 perceptron in NumPy; `forward` returns logits (before the output activation)."""

    def __init__(self, spec: MLPSpec, seed: int = 0, dtype=np.float64):
        assert spec.activation in ACTIVATIONS, f"the NumPy engine supports {ACTIVATIONS}, not {spec.activation!r}"
        assert spec.norm == "none", f"the NumPy engine has no normalisation layers, got norm {spec.norm!r}"
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.pixel_mean, self.pixel_std = 0.0, 1.0  # identity until `set_standardization` is called
        rng = np.random.default_rng(seed)
        sizes = spec.sizes
        self.layers: list = []  # same order (and so same state_dict indices) as torch_mlp.MLP.layers
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1])):
            self.layers.append(Linear(fan_in, fan_out, spec.init, rng, self.dtype))
            self.layers.append(ReLU() if spec.activation == "relu" else Sigmoid())
            if spec.dropout > 0 and (spec.dropout_where == "all" or i == 0):
                self.layers.append(Dropout(spec.dropout))
        self.layers.append(Linear(sizes[-2], sizes[-1], spec.init, rng, self.dtype))
        self.rng = rng  # dropout masks come from here when no rng is passed

    def __repr__(self) -> str:
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        head = (
            f"NumpyMLP({self.spec.describe()}; output {self.spec.output}, {self.dtype}, "
            f"{self.parameter_count():,} parameters)"
        )
        return "\n".join([head, *lines])

    def set_standardization(self, mean: float, std: float) -> None:
        """Subtract `mean` and divide by `std` (floored at 1e-6) when the spec standardises."""
        self.pixel_mean, self.pixel_std = float(mean), max(float(std), 1e-6)

    def parameter_count(self) -> int:
        """Number of weights and biases."""
        return sum(p.size for layer in self.layers if isinstance(layer, Linear) for p in (layer.weight, layer.bias))

    def forward(self, x: np.ndarray, train: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """x: (B, 28, 28) or (B, 784) floats in [0, 1] → logits (B, 10); caches what `backward` needs."""
        x = np.asarray(x)
        assert x.dtype.kind == "f", f"images must be floats in [0, 1] (divide uint8 by 255), got {x.dtype}"
        x = x.reshape(len(x), -1).astype(self.dtype, copy=False)  # (B, 784)
        if self.spec.scales_inputs:
            x = (x - self.pixel_mean) / self.pixel_std
        rng = rng if rng is not None else self.rng
        for layer in self.layers:
            x = layer.forward(x, train, rng)
        return x  # (B, 10)

    def loss_and_grads(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: str,
        train: bool = True,
        rng: np.random.Generator | None = None,
        label_smoothing: float = 0.0,
    ) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        """Mean loss on (x, integer labels y) and [(parameter, gradient), …] by hand-written backprop."""
        logits = self.forward(x, train=train, rng=rng)  # (B, 10)
        self.last_logits = logits  # kept so a trainer can count correct predictions without a second pass
        value, grad = loss_and_grad(logits, np.asarray(y), loss, self.spec.output, label_smoothing)
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        self.layers[0].backward(grad, input_grad=False)  # nobody needs dL/dx of the pixels
        return value, [pair for layer in self.layers for pair in layer.grads()]

    def sgd_step(self, grads: list[tuple[np.ndarray, np.ndarray]], lr: float, weight_decay: float = 0.0) -> None:
        """Plain SGD, in place: p ← p − lr·(∇p + weight_decay·p), as torch.optim.SGD."""
        for p, g in grads:
            if weight_decay:
                g = g + weight_decay * p
            p -= lr * g

    def train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: str,
        lr: float,
        rng: np.random.Generator | None = None,
        label_smoothing: float = 0.0,
        weight_decay: float = 0.0,
    ) -> float:
        """One SGD step on a batch (dropout active); returns the batch's mean loss before the step."""
        value, grads = self.loss_and_grads(x, y, loss, train=True, rng=rng, label_smoothing=label_smoothing)
        self.sgd_step(grads, lr, weight_decay)
        return value

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (B, 10), rows summing to 1: softmax, or normalised sigmoid for output sigmoid."""
        return probabilities(self.forward(x, train=False), self.spec.output)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the weights under torch_mlp.MLP's keys and shapes (pixel buffers are 0-dim)."""
        state = {
            "pixel_mean": np.array(self.pixel_mean, dtype=self.dtype),
            "pixel_std": np.array(self.pixel_std, dtype=self.dtype),
        }
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Linear):
                state[f"layers.{i}.weight"] = layer.weight.copy()
                state[f"layers.{i}.bias"] = layer.bias.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Load weights from `state_dict()` or torch_mlp.MLP's (arrays or CPU tensors), cast to our dtype."""
        ours = self.state_dict()
        if set(state) != set(ours):
            missing, extra = sorted(set(ours) - set(state)), sorted(set(state) - set(ours))
            raise ValueError(f"state dict does not fit {self.spec.describe()}: missing {missing}, unexpected {extra}.")
        arrays = {k: np.asarray(v) for k, v in state.items()}
        for key, value in arrays.items():
            if value.shape != ours[key].shape:
                raise ValueError(f"state dict {key} has shape {value.shape}, expected {ours[key].shape}.")
        self.pixel_mean, self.pixel_std = float(arrays["pixel_mean"]), float(arrays["pixel_std"])
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Linear):
                layer.weight = arrays[f"layers.{i}.weight"].astype(self.dtype)  # astype copies
                layer.bias = arrays[f"layers.{i}.bias"].astype(self.dtype)


def probabilities(logits: np.ndarray, output: str) -> np.ndarray:
    """Rows summing to 1 from logits (B, 10): normalised sigmoid for output "sigmoid", else softmax."""
    if output == "sigmoid":
        s = _sigmoid(logits)
        return s / np.maximum(s.sum(axis=1, keepdims=True), 1e-12)
    return _softmax(logits)


def loss_and_grad(
    logits: np.ndarray, y: np.ndarray, loss: str, output: str, label_smoothing: float = 0.0
) -> tuple[float, np.ndarray]:
    """Mean loss over the batch and its gradient dL/dlogits (B, 10); conventions in the module docstring."""
    assert loss in LOSSES, f"the NumPy engine supports losses {LOSSES}, not {loss!r}"
    B = len(logits)
    target = np.zeros_like(logits)
    target[np.arange(B), y] = 1  # (B, 10) one-hot
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / target.shape[1]
    if loss == "ce" and output == "sigmoid":
        # −Σ t log(σ/Σσ) = Σ t·softplus(−z) + log Σσ (as Σt = 1); d/dz_k = −t_k (1 − σ_k) + σ_k (1 − σ_k) / Σσ
        s = _sigmoid(logits)
        total = s.sum(axis=1, keepdims=True)  # (B, 1)
        value = (target * np.logaddexp(0, -logits)).sum(axis=1).mean() + np.log(total).mean()
        grad = (s * (1 - s) / total - target * (1 - s)) / B
        return float(value), grad
    if loss == "ce":
        # softmax cross-entropy on the logits; d/dz = softmax − t
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (B, 10)
        value = -(target * log_p).sum(axis=1).mean()
        return float(value), (np.exp(log_p) - target) / B
    # mse: mean over B×10 of (o − t)², then back through the output activation
    o = _sigmoid(logits) if output == "sigmoid" else _softmax(logits) if output == "softmax" else logits
    diff = o - target
    value = (diff**2).mean()
    grad_o = 2 * diff / diff.size  # (B, 10)
    if output == "sigmoid":
        grad = grad_o * o * (1 - o)
    elif output == "softmax":  # Jacobian-vector product: o ⊙ (g − Σ g·o)
        grad = o * (grad_o - (grad_o * o).sum(axis=1, keepdims=True))
    else:
        grad = grad_o
    return float(value), grad
