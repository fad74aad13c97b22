"""The from-scratch NumPy training step, behind the same interface as the PyTorch one."""

from __future__ import annotations

import math

import numpy as np
import torch

from mnistlab.data.split import Split
from mnistlab.models.numpy_mlp import NumpyMLP
from mnistlab.models.torch_mlp import MLP, build_model
from mnistlab.train.config import TrainConfig
from mnistlab.train.torch_engine import evaluate_loss_accuracy


class NumpyStepper:
    """Owns a `NumpyMLP` and its float32 copy of the training data (CPU only)."""

    def __init__(self, config: TrainConfig, train: Split):
        self.config = config
        self.net = NumpyMLP(config.model, seed=config.seed, dtype=np.float32)
        self.x = train.images.numpy().reshape(len(train), -1).astype(np.float32) / 255.0  # (N, 784)
        self.y = train.labels.numpy()
        if config.model.standardize:
            self.net.set_standardization(float(self.x.mean()), float(self.x.std()))
        self.rng = np.random.default_rng(config.seed)
        self.lr = config.lr
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self._snapshot: dict[str, np.ndarray] | None = None

    @property
    def samples_per_epoch(self) -> int:
        return len(self.x)

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x) / self.config.batch_size)

    def begin_epoch(self) -> None:
        self.order = self.rng.permutation(len(self.x))
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def step(self, index: int) -> None:
        batch = self.config.batch_size
        idx = self.order[index * batch:(index + 1) * batch]
        x, y = self.x[idx], self.y[idx]
        loss = self.net.train_step(x, y, self.config.loss, self.lr, self.rng, self.config.label_smoothing,
                                   self.config.weight_decay)
        self.loss_sum += loss * len(y)
        self.correct += int((self.net.last_logits.argmax(1) == y).sum())
        self.seen += len(y)

    def running_loss(self) -> float:
        return self.loss_sum / max(self.seen, 1)

    def epoch_stats(self) -> tuple[float, float]:
        return self.running_loss(), self.correct / max(self.seen, 1)

    def evaluate(self, split: Split) -> tuple[float, float]:
        return evaluate_loss_accuracy(self.torch_model(), split, self.config, torch.device("cpu"))

    def snapshot(self) -> None:
        self._snapshot = self.net.state_dict()

    def restore(self) -> bool:
        if self._snapshot is None:
            return False
        self.net.load_state_dict(self._snapshot)
        return True

    def torch_model(self) -> MLP:
        """The same weights in the PyTorch module (for evaluation, saving and the dashboard)."""
        model = build_model(self.config.model)
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in self.net.state_dict().items()})
        return model
