"""What the Inspect figures read besides the run's history: its model at an epoch, and its dataset's splits."""

from __future__ import annotations

from pathlib import Path

from mnistlab.data.split import Split
from mnistlab.errors import RunStoreError
from mnistlab.models.torch_mlp import MLP
from mnistlab.runs.handle import Run


def last_epoch(run: Run) -> int | None:
    """The last epoch the run finished (None before its first)."""
    return max((h["epoch"] for h in run.history() if "train_loss" in h and isinstance(h.get("epoch"), int)),
               default=None)


def model_at(run: Run, epoch: int | None = None) -> MLP:
    """The model after `epoch` (its saved snapshot), else the final model.

    The final model is the last epoch's, so a run that saved no snapshots still answers for that epoch.
    """
    if epoch is not None:
        try:
            return run.model(epoch=epoch)
        except RunStoreError:
            if epoch != last_epoch(run) or not run.has_model:
                raise
    return run.model()


def full_split(run: Run, which: str, data_dir: str | Path | None = None) -> Split:
    """The whole 'train' or 'test' split of the run's dataset: the figures sample from these, not from the
    run's own subset, so two runs (or two epochs) are shown the same images."""
    return run.split(which, data_dir)
