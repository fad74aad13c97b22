"""Learning-rate schedules as a pure function of the step (easy to test, easy to plot)."""

from __future__ import annotations

import math

ONECYCLE_WARMUP = 0.3  # fraction of the run spent ramping up, as torch's OneCycleLR
ONECYCLE_DIV = 25.0  # start at lr / 25
ONECYCLE_FINAL_DIV = 1e4  # end at lr / 25 / 1e4


def lr_at(schedule: str, lr: float, step: int, total_steps: int, steps_per_epoch: int,
          step_epochs: int = 10, step_gamma: float = 0.1) -> float:
    """Learning rate for 0-based optimizer `step` of `total_steps`."""
    if schedule == "none":
        return lr
    if schedule == "step":
        return lr * step_gamma ** ((step // steps_per_epoch) // step_epochs)
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "onecycle":
        start, end = lr / ONECYCLE_DIV, lr / ONECYCLE_DIV / ONECYCLE_FINAL_DIV
        if progress < ONECYCLE_WARMUP:
            t = progress / ONECYCLE_WARMUP
            return end_cos(start, lr, t)
        t = (progress - ONECYCLE_WARMUP) / (1 - ONECYCLE_WARMUP)
        return end_cos(lr, end, t)
    raise ValueError(f"unknown schedule {schedule!r}")


def end_cos(start: float, end: float, t: float) -> float:
    """Cosine interpolation from `start` (t=0) to `end` (t=1)."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * t))
