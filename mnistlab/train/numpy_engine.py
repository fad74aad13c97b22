"""The from-scratch NumPy training step, behind the same interface as the PyTorch one."""

from __future__ import annotations

import math

import numpy as np
import torch

from mnistlab.data.split import Split
from mnistlab.models.numpy_mlp import Linear, NumpyMLP
from mnistlab.models.numpy_tutorial import TutorialNet
from mnistlab.models.torch_mlp import MLP, build_model
from mnistlab.train.config import TrainConfig
from mnistlab.train.layer_stats import PROBE_SIZE, StepStats, layer_stats
from mnistlab.train.torch_engine import evaluate_loss_accuracy, to_inputs


class NumpyStepper:
    """Owns a `NumpyMLP` (or the numpy-tutorial recipe's `TutorialNet`) and its copy of the data (CPU only)."""

    def __init__(self, config: TrainConfig, train: Split, record_stats: bool = True):
        self.config = config
        self.tutorial = config.numpy_recipe == "numpy-tutorial"
        dtype = np.float64 if self.tutorial else np.float32
        self.x = train.images.numpy().reshape(len(train), -1).astype(dtype) / 255.0  # (N, 784)
        self.y = train.labels.numpy()
        if self.tutorial:  # one generator, as the tutorial: the init, then the masks (and any shuffles)
            self.rng = np.random.default_rng(config.seed)
            self.net = TutorialNet(config.model, self.rng)
            self.targets = np.eye(config.model.outputs)[self.y]  # (N, outputs) one-hot float64
        else:
            self.net = NumpyMLP(config.model, seed=config.seed, dtype=np.float32)
            if config.model.scales_inputs:
                self.net.set_standardization(*config.model.input_scaling(self.x))
            self.rng = np.random.default_rng(config.seed)
        self.lr = config.lr
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self._snapshot: dict[str, np.ndarray] | None = None
        self.linears = [] if self.tutorial else [layer for layer in self.net.layers if isinstance(layer, Linear)]
        self.before = [np.empty_like(layer.weight) for layer in self.linears] if record_stats else []
        self.probe = to_inputs(train.images[:PROBE_SIZE])  # (P, 28, 28), summarised through the torch twin
        self.step_stats = StepStats(len(config.model.hidden) + 1, enabled=record_stats)

    @property
    def samples_per_epoch(self) -> int:
        return len(self.x)

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x) / self.config.batch_size)

    def begin_epoch(self) -> None:
        self.order = self.rng.permutation(len(self.x)) if self.config.shuffle else np.arange(len(self.x))
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self.step_stats.reset()

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def step(self, index: int) -> None:
        batch = self.config.batch_size
        idx = self.order[index * batch:(index + 1) * batch]
        x, y = self.x[idx], self.y[idx]
        if self.tutorial:
            self._tutorial_step(index, x, y, self.targets[idx])
            return
        sample_update = self.step_stats.wants_update(index)
        if sample_update:  # sgd_step updates in place: keep W in preallocated buffers (no 1.6 MB allocation)
            for layer, buffer in zip(self.linears, self.before):
                np.copyto(buffer, layer.weight)
        loss = self.net.train_step(x, y, self.config.loss, self.lr, self.rng, self.config.label_smoothing,
                                   self.config.weight_decay)
        if self.step_stats.wants_grads(index):
            # grad_weight is the loss gradient of this step (weight decay is added inside sgd_step), as torch's .grad
            norms = [np.linalg.norm(layer.grad_weight) for layer in self.linears]
            self.step_stats.add_grad_norms(torch.tensor(norms, dtype=torch.float64))
        if sample_update:
            norms = [np.linalg.norm(buffer) for buffer in self.before]
            deltas = [np.subtract(buffer, layer.weight, out=buffer) for layer, buffer in zip(self.linears, self.before)]
            ratios = [np.linalg.norm(d) / max(n, 1e-30) for d, n in zip(deltas, norms)]
            self.step_stats.add_update_ratios(torch.tensor(ratios, dtype=torch.float64))
        self.loss_sum += loss * len(y)
        self.correct += int((self.net.last_logits.argmax(1) == y).sum())
        self.seen += len(y)

    def _tutorial_step(self, index: int, x: np.ndarray, y: np.ndarray, target: np.ndarray) -> None:
        """The tutorial's update; the loss summed as it prints it (Σ over outputs of (label − output)²)."""
        norms_before = [np.linalg.norm(w) for w in self.net.weights] if self.step_stats.wants_update(index) else None
        loss, out = self.net.train_step(x, target, self.lr)
        steps = self.net.last_grad_norms
        if self.step_stats.wants_grads(index):
            self.step_stats.add_grad_norms(torch.tensor(steps, dtype=torch.float64))
        if norms_before is not None:  # ‖ΔW‖ / ‖W‖ with ΔW = lr · step
            ratios = [self.lr * s / max(n, 1e-30) for s, n in zip(steps, norms_before)]
            self.step_stats.add_update_ratios(torch.tensor(ratios, dtype=torch.float64))
        self.loss_sum += loss
        self.correct += int((out.argmax(1) == y).sum())
        self.seen += len(x)

    def running_loss(self) -> float:
        return self.loss_sum / max(self.seen, 1)

    def running_accuracy(self) -> float:
        """Training accuracy over the epoch so far."""
        return self.correct / max(self.seen, 1)

    def epoch_stats(self) -> tuple[float, float]:
        """(mean training loss, training accuracy) over the epoch so far."""
        return self.running_loss(), self.running_accuracy()

    def evaluate(self, split: Split) -> tuple[float, float, list[list[int]]]:
        """(mean loss, accuracy, confusion matrix) on a split: through the torch twin, or for the tutorial's
        recipe in its own float64 arithmetic (loss: Σ (label − output)² per image, as it prints it)."""
        if not self.tutorial:
            return evaluate_loss_accuracy(self.torch_model(), split, self.config, torch.device("cpu"))
        x = split.images.numpy().reshape(len(split), -1) / 255
        y = split.labels.numpy()
        out = self.net.forward(x)
        classes = self.config.model.outputs
        loss = float(np.sum((np.eye(classes)[y] - out) ** 2)) / max(len(y), 1)
        confusion = np.bincount(y * classes + out.argmax(1), minlength=classes * classes).reshape(classes, classes)
        return loss, float(np.trace(confusion)) / max(len(y), 1), confusion.tolist()

    def layer_stats(self) -> list[dict]:
        """Per-layer statistics now: step means from NumPy's own gradients, probe and weights via the torch twin."""
        return layer_stats(self.torch_model(), self.probe, self.step_stats)

    def snapshot(self) -> None:
        self._snapshot = self.net.state_dict()

    def restore(self) -> bool:
        if self._snapshot is None:
            return False
        self.net.load_state_dict(self._snapshot)
        return True

    def training_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Weights and the generator's state (plain SGD keeps nothing else)."""
        tensors = {f"model.{k}": torch.from_numpy(np.array(v)) for k, v in self.net.state_dict().items()}
        return tensors, {"engine": "numpy", "numpy_rng": self.rng.bit_generator.state}

    def load_training_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Continue from `training_state()`'s output."""
        self.net.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
        self.rng.bit_generator.state = meta["numpy_rng"]

    def torch_model(self) -> MLP:
        """The same weights in the PyTorch module (for evaluation, saving and the dashboard), in float32."""
        model = build_model(self.config.model)
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in self.net.state_dict().items()})
        return model
