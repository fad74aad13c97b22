"""One population member's bookkeeping: what a normal run's loop keeps in its locals, kept per member."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mnistlab.models.torch_mlp import MLP
from mnistlab.train.config import TrainConfig
from mnistlab.train.loop import TrainResult, _Bus, _Snapshots


@dataclass(eq=False)
class Member:
    """One trial's bookkeeping; `model` holds its weights as a normal MLP (initial, then each epoch's end)."""

    config: TrainConfig
    emit: _Bus
    cancel: threading.Event | None
    run_id: str
    snapshots: _Snapshots
    model: MLP
    order_gen: torch.Generator
    result: TrainResult
    lr: float
    elapsed: float = 0.0  # training seconds so far, evaluation excluded
    epochs: int = 0  # epochs recorded (the last one's weights are in `model`: the restore point)

    def torch_model(self) -> MLP:  # what _Snapshots saves and _diverged returns
        return self.model

    def restore(self) -> bool:
        """Whether `model` holds a last good epoch (a normal stepper's `restore()`: none before epoch 1 ends)."""
        return self.epochs > 0

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def each(values: Sequence, k: int, default, name: str) -> list:
    """`values` as a list of one per member, or `default` (called if callable) for each when empty."""
    if not values:
        return [default() if callable(default) else default for _ in range(k)]
    assert len(values) == k, f"{name}: one per member expected, got {len(values)} for {k} members"
    return list(values)
