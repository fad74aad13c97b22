"""Confusion over time: the test confusion matrix recorded at each epoch of a run."""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ConfigError, RunStoreError


def confusion_epochs(history: list[dict]) -> list[int]:
    """The epochs whose test confusion matrix was recorded (empty for runs that predate recording)."""
    return [int(h["epoch"]) for h in history if h.get("test_confusion")]


def confusion_at(history: list[dict], epoch: int | None = None) -> np.ndarray:
    """(10, 10) int64 test confusion at `epoch` (default the last recorded), rows = true class."""
    recorded = confusion_epochs(history)
    if not recorded:
        raise RunStoreError("this run has no per-epoch confusion matrices (it was trained before they were "
                            "recorded); train it again to watch the confusion change.")
    if epoch is None:
        epoch = recorded[-1]
    if epoch not in recorded:
        raise ConfigError(f"epoch {epoch} has no recorded confusion matrix; choose one of epochs "
                          f"{recorded[0]}–{recorded[-1]}.")
    row = next(h for h in history if h.get("epoch") == epoch and h.get("test_confusion"))
    matrix = np.asarray(row["test_confusion"], dtype=np.int64)
    assert matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1], f"confusion of shape {matrix.shape}"
    return matrix
